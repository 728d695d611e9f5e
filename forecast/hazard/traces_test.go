package hazard_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// -realdata adds the long trace sets (availability traces) to the
// real-data evaluations.
var realData = flag.Bool("realdata", false, "evaluate every trace set, not only the preemption traces")

// dataDir is ../shared/data relative to the repository root.
func dataDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("real data not found at %s (../shared/data beside the repository): %v", d, err)
	}
	return d
}

// skypilotTypes maps the traces' file-name tags to instance types per
// cloud (from the traces' README and SkyPilot's catalogue, as the
// ingester does).
var skypilotTypes = map[string]string{
	"aws/v100_1":   "p3.2xlarge",
	"aws/v100_8":   "p3.16xlarge",
	"aws/k80_1":    "p2.xlarge",
	"aws/k80_8":    "p2.8xlarge",
	"aws/intel_64": "r5.16xlarge",
	"gcp/c3-88":    "c3-highcpu-88",
}

// skypilotStarts are the start dates the traces' README gives per folder
// (the folder's own date is not always the start).
var skypilotStarts = map[string]string{
	"availability/1-node/aws-10-26-2022":  "2022-10-26",
	"availability/1-node/aws-02-15-2023":  "2023-02-15",
	"availability/16-node/aws-08-27-2023": "2023-08-27",
	"preemption/1-node/aws-04-22-2023":    "2023-04-22",
	"preemption/1-node/gcp-04-30-2023":    "2023-04-30",
	"preemption/1-node/aws-04-19-2023":    "2023-05-01",
	"preemption/4-node/aws-08-03-2023":    "2023-08-03",
}

// parseSkypilot turns one skypilot trace file into events: data[i] is the
// number of running (preemption traces) or available (availability
// traces) nodes at start + i·gap; in preemption traces decreases are
// preemptions and increases launches, in availability traces every change
// is a capacity event. The start is the README's date at 00:00 UTC (the
// files carry no timestamps). The trace's set is its folder.
func parseSkypilot(path string) (hazard.Trace, error) {
	parts := strings.Split(filepath.ToSlash(path), "/")
	if len(parts) < 4 {
		return hazard.Trace{}, fmt.Errorf("%s: not .../<kind>/<N-node>/<cloud-date>/<file>", path)
	}
	kind, folder := parts[len(parts)-4], strings.Join(parts[len(parts)-4:len(parts)-1], "/")
	day, ok := skypilotStarts[folder]
	if !ok {
		return hazard.Trace{}, fmt.Errorf("%s: folder %q has no known start", path, folder)
	}
	start, err := time.Parse("2006-01-02", day)
	if err != nil {
		return hazard.Trace{}, err
	}
	cloud, _, _ := strings.Cut(parts[len(parts)-2], "-")
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	zone, tag, ok := strings.Cut(base, "_")
	if !ok {
		return hazard.Trace{}, fmt.Errorf("%s: name is not ZONE_TYPE", path)
	}
	typ, ok := skypilotTypes[cloud+"/"+tag]
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
	key := market.PoolKey{Cloud: cloud, Region: region, Zone: zone, InstanceType: typ}
	ev := func(i int, kind string, count int) market.Event {
		return market.Event{Time: start.Add(time.Duration(i) * gap), Cloud: cloud, Region: region, Zone: zone,
			InstanceType: typ, Kind: kind, Count: count, Source: "file:" + filepath.Base(path)}
	}
	evs := []market.Event{ev(0, market.EventObservationStart, doc.Data[0])}
	for i := 1; i < len(doc.Data); i++ {
		d := doc.Data[i] - doc.Data[i-1]
		switch {
		case d != 0 && kind == "availability":
			evs = append(evs, ev(i, market.EventCapacity, doc.Data[i]))
		case d < 0:
			evs = append(evs, ev(i, market.EventPreempted, -d))
		case d > 0:
			evs = append(evs, ev(i, market.EventLaunched, d))
		}
	}
	evs = append(evs, ev(len(doc.Data), market.EventObservationEnd, 0))
	return hazard.Trace{Pool: key, Events: evs, Set: "skypilot " + folder}, nil
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

// loadSkypilot loads the skypilot traces of the given kinds
// ("preemption", "availability"), each with its advisor row from the
// given snapshot (AWS only; GCP has no advisor).
func loadSkypilot(t testing.TB, advisorFile string, snapshot time.Time, kinds ...string) []hazard.Trace {
	t.Helper()
	d := dataDir(t)
	adv := loadAdvisor(t, filepath.Join(d, "aws", "spot-advisor", advisorFile), snapshot)
	var out []hazard.Trace
	for _, kind := range kinds {
		files, err := filepath.Glob(filepath.Join(d, "traces", "skypilot-spot-traces", kind, "*-node", "*-*", "*.json"))
		if err != nil || len(files) == 0 {
			t.Skipf("no skypilot %s traces under %s", kind, d)
		}
		for _, f := range files {
			tr, err := parseSkypilot(f)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := adv[[2]string{tr.Pool.Region, tr.Pool.InstanceType}]; ok && tr.Pool.Cloud == market.AWS {
				tr.Advisor = &a
			}
			out = append(out, tr)
		}
	}
	return out
}

var advisor2021 = time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC)

// TestTracesBeatBaselines: on the skypilot preemption traces the model
// beats every baseline on Brier score and log loss, over all traces and
// in every trace set with at least 100 scored hours, and its calibration
// error stays small. -realdata adds the availability traces (minutes).
func TestTracesBeatBaselines(t *testing.T) {
	kinds := []string{"preemption"}
	if *realData {
		kinds = append(kinds, "availability")
	}
	traces := loadSkypilot(t, "spot-advisor-data_2021-02.json", advisor2021, kinds...)
	ev, err := hazard.EvaluateTraces(traces, hazard.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logEvaluation(t, ev)
	if lost := ev.NotBeaten(); len(lost) > 0 {
		t.Errorf("all traces: the model does not beat %v", lost)
	}
	for _, s := range ev.Sets {
		if s.Model.Forecasts < 100 {
			continue
		}
		if lost := s.NotBeaten(); len(lost) > 0 {
			t.Errorf("%s: the model does not beat %v", s.Set, lost)
		}
	}
	if ev.Model.ECE > 0.05 {
		t.Errorf("model ECE %.3f over all traces, want <= 0.05", ev.Model.ECE)
	}
}

// logEvaluation logs the scorecards (the figures BENCHMARKS.md quotes).
func logEvaluation(t testing.TB, ev hazard.Evaluation) {
	t.Helper()
	var b strings.Builder
	row := func(name string, s hazard.Scores) {
		fmt.Fprintf(&b, "  %-24s %6d %5d  %.4f  %.4f  %.3f\n", name, s.Forecasts, s.Positives, s.Brier, s.LogLoss, s.ECE)
	}
	card := func(title string, c hazard.Scorecard) {
		fmt.Fprintf(&b, "%s\n  %-24s %6s %5s  %6s  %6s  %5s\n", title, "forecaster", "hours", "pos", "Brier", "logloss", "ECE")
		row("model", c.Model)
		for _, x := range c.Baselines() {
			row(x.Name, x.Scores)
		}
		fmt.Fprintf(&b, "  reliability (bin: n, forecast, observed):")
		for _, bin := range c.Model.Bins {
			fmt.Fprintf(&b, " [%.1f,%.1f): %d %.3f %.3f;", bin.Lo, bin.Hi, bin.Count, bin.MeanForecast, bin.Observed)
		}
		b.WriteString("\n")
	}
	card(fmt.Sprintf("all %d traces", ev.Traces), ev.Scorecard)
	for _, s := range ev.Sets {
		card(fmt.Sprintf("%s (%d traces)", s.Set, s.Traces), s.Scorecard)
	}
	for _, f := range ev.Fits {
		fmt.Fprintf(&b, "%s %s fit before %s: %d hours, %d positive: %+v (log loss %.4f, defaults %.4f)\n",
			f.Cloud, f.Kind, f.Before.Format(time.RFC3339), f.Origins, f.Positives, f.Params, f.LogLoss, f.DefaultLogLoss)
	}
	t.Log(b.String())
}
