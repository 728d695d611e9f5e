package hazard_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// dataDir is ../shared/data relative to the repository root.
func dataDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("real data not found at %s (../shared/data beside the repository): %v", d, err)
	}
	return d
}

// skypilotTypes maps the traces' file-name tags to instance types (from
// the traces' README).
var skypilotTypes = map[string]string{
	"v100_1":   "p3.2xlarge",
	"intel_64": "r5.16xlarge",
}

var traceDir = regexp.MustCompile(`^aws-(\d\d)-(\d\d)-(\d{4})$`)

// parseSkypilot turns one skypilot trace file into events: data[i] is the
// number of running instances at start + i·gap; decreases are
// preemptions, increases launches. The start is the directory's date at
// 00:00 UTC (the files carry no timestamps).
func parseSkypilot(path string) (hazard.Trace, error) {
	dir := filepath.Base(filepath.Dir(path))
	m := traceDir.FindStringSubmatch(dir)
	if m == nil {
		return hazard.Trace{}, fmt.Errorf("%s: directory %q is not aws-MM-DD-YYYY", path, dir)
	}
	start, err := time.Parse("2006-01-02", m[3]+"-"+m[1]+"-"+m[2])
	if err != nil {
		return hazard.Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	zone, tag, ok := strings.Cut(base, "_")
	if !ok {
		return hazard.Trace{}, fmt.Errorf("%s: name is not ZONE_TYPE", path)
	}
	typ, ok := skypilotTypes[tag]
	if !ok {
		return hazard.Trace{}, fmt.Errorf("%s: unknown type tag %q", path, tag)
	}
	region, err := market.RegionOfZone(zone)
	if err != nil {
		return hazard.Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return hazard.Trace{}, err
	}
	var doc struct {
		Metadata struct {
			GapSeconds float64 `json:"gap_seconds"`
		} `json:"metadata"`
		Data []int `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return hazard.Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Metadata.GapSeconds <= 0 || len(doc.Data) == 0 {
		return hazard.Trace{}, fmt.Errorf("%s: no gap_seconds or no data", path)
	}
	gap := time.Duration(doc.Metadata.GapSeconds * float64(time.Second))
	key := market.PoolKey{Cloud: market.AWS, Region: region, Zone: zone, InstanceType: typ, Product: "Linux/UNIX"}
	ev := func(i int, kind string, count int) market.Event {
		return market.Event{Time: start.Add(time.Duration(i) * gap), Cloud: market.AWS, Region: region, Zone: zone,
			InstanceType: typ, Kind: kind, Count: count, Source: "file:" + filepath.Base(path)}
	}
	evs := []market.Event{ev(0, market.EventObservationStart, doc.Data[0])}
	for i := 1; i < len(doc.Data); i++ {
		switch d := doc.Data[i] - doc.Data[i-1]; {
		case d < 0:
			evs = append(evs, ev(i, market.EventPreempted, -d))
		case d > 0:
			evs = append(evs, ev(i, market.EventLaunched, d))
		}
	}
	evs = append(evs, ev(len(doc.Data), market.EventObservationEnd, 0))
	return hazard.Trace{Pool: key, Events: evs}, nil
}

// loadAdvisor reads one Spot Advisor snapshot's Linux rows for the types
// asked.
func loadAdvisor(t testing.TB, path string, snapshot time.Time) map[[2]string]market.AdvisorRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SpotAdvisor map[string]map[string]map[string]struct {
			R int `json:"r"`
			S int `json:"s"`
		} `json:"spot_advisor"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[[2]string]market.AdvisorRow{}
	for region, oss := range doc.SpotAdvisor {
		for typ, v := range oss["Linux"] {
			out[[2]string{region, typ}] = market.AdvisorRow{Region: region, OS: "Linux", InstanceType: typ,
				Bucket: v.R, SavingsPct: v.S, Snapshot: snapshot, Source: "file:" + filepath.Base(path)}
		}
	}
	return out
}

// loadSkypilotAWS loads every AWS preemption trace (1-node and 4-node)
// with its advisor row from the given snapshot.
func loadSkypilotAWS(t testing.TB, advisorFile string, snapshot time.Time) []hazard.Trace {
	t.Helper()
	d := dataDir(t)
	files, err := filepath.Glob(filepath.Join(d, "traces", "skypilot-spot-traces", "preemption", "*-node", "aws-*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no skypilot AWS preemption traces under %s", d)
	}
	adv := loadAdvisor(t, filepath.Join(d, "aws", "spot-advisor", advisorFile), snapshot)
	var out []hazard.Trace
	for _, f := range files {
		tr, err := parseSkypilot(f)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := adv[[2]string{tr.Pool.Region, tr.Pool.InstanceType}]; ok {
			tr.Advisor = &a
		}
		out = append(out, tr)
	}
	return out
}

func TestTracesBeatBaselines(t *testing.T) {
	for _, snap := range []struct {
		file string
		date time.Time
	}{
		{"spot-advisor-data_2021-02.json", time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"spot-advisor-data_2025-07.json", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(snap.file, func(t *testing.T) {
			traces := loadSkypilotAWS(t, snap.file, snap.date)
			if len(traces) != 10 {
				t.Fatalf("loaded %d AWS preemption traces, want 10", len(traces))
			}
			ev, err := hazard.EvaluateTraces(traces, hazard.EvalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.MarshalIndent(ev, "", "  ")
			t.Logf("%s", b)
			if ev.Model.Brier >= ev.ConstantRate.Brier || ev.Model.Brier >= ev.AdvisorOnly.Brier {
				t.Errorf("Brier: model %.4f, constant rate %.4f, advisor only %.4f: model must beat both",
					ev.Model.Brier, ev.ConstantRate.Brier, ev.AdvisorOnly.Brier)
			}
			if ev.Model.LogLoss >= ev.ConstantRate.LogLoss || ev.Model.LogLoss >= ev.AdvisorOnly.LogLoss {
				t.Errorf("log loss: model %.4f, constant rate %.4f, advisor only %.4f: model must beat both",
					ev.Model.LogLoss, ev.ConstantRate.LogLoss, ev.AdvisorOnly.LogLoss)
			}
		})
	}
}

// TestTracesSensitivity logs the evaluation under other model settings.
func TestTracesSensitivity(t *testing.T) {
	if testing.Short() {
		t.Skip("sensitivity table: not in -short")
	}
	traces := loadSkypilotAWS(t, "spot-advisor-data_2021-02.json", time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC))
	for _, c := range []struct {
		name string
		o    hazard.Options
	}{
		{"default", hazard.Options{}},
		{"poisson", hazard.Options{Dispersion: -1}},
		{"no-discount", hazard.Options{HalfLife: -1}},
		{"halflife-24h", hazard.Options{HalfLife: 24 * time.Hour}},
		{"halflife-6h", hazard.Options{HalfLife: 6 * time.Hour}},
		{"no-siblings", hazard.Options{SiblingHours: -1}},
		{"siblings-500h", hazard.Options{SiblingHours: 500}},
		{"spread-1", hazard.Options{PriorSpread: 1}},
		{"spread-3", hazard.Options{PriorSpread: 3}},
	} {
		ev, err := hazard.EvaluateTraces(traces, hazard.EvalOptions{Options: c.o})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-14s brier %.4f log loss %.4f | constant %.4f/%.4f advisor %.4f/%.4f hourly-freq %.4f/%.4f",
			c.name, ev.Model.Brier, ev.Model.LogLoss, ev.ConstantRate.Brier, ev.ConstantRate.LogLoss,
			ev.AdvisorOnly.Brier, ev.AdvisorOnly.LogLoss, ev.HourlyFrequency.Brier, ev.HourlyFrequency.LogLoss)
	}
}
