package files

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

func TestGCPCapacityHistory(t *testing.T) {
	c, res, err := parseFile(t, td("gcp_capacity_history.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatGCPCapacityHistory {
		t.Fatalf("format %s", res.Format)
	}
	b, err := os.ReadFile(td("gcp_capacity_history.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		PreemptionHistory []json.RawMessage
		PriceHistory      []json.RawMessage
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(c.Signals) != len(doc.PreemptionHistory) || len(c.Prices) != len(doc.PriceHistory) {
		t.Fatalf("signals %d prices %d; the document has %d and %d", len(c.Signals), len(c.Prices), len(doc.PreemptionHistory), len(doc.PriceHistory))
	}
	want := market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: "us-central1-a", InstanceType: "a2-highgpu-1g",
		Kind: market.SignalPreemptionRate, Value: 0.27, ValueHigh: 0.27, Label: "0.27",
		Start: time.Date(2025, 11, 8, 0, 0, 0, 0, time.UTC), Time: time.Date(2025, 11, 15, 0, 0, 0, 0, time.UTC),
		Source: "file:gcp_capacity_history.json", FetchedAt: fixedNow}
	if c.Signals[1] != want {
		t.Errorf("second record\n got %+v\nwant %+v", c.Signals[1], want)
	}
	// units "1" and nanos 101920000: $1.10192, in the region's pool.
	if p := c.Prices[0]; p.Pool != (market.PoolKey{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-1g"}) ||
		math.Abs(p.Price-1.10192) > 1e-12 || !p.Time.Equal(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("price %+v", p)
	}

	c, _, err = parseFile(t, td("gcp_capacity_history_list.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Signals) != 2 || c.Signals[0].Zone != "" || c.Signals[0].Region != "europe-west4" || c.Signals[0].InstanceType != "g2-standard-8" ||
		c.Signals[1].Zone != "us-east1-c" || len(c.Prices) != 1 || math.Abs(c.Prices[0].Price-0.3431) > 1e-12 {
		t.Fatalf("list: signals %+v prices %+v", c.Signals, c.Prices)
	}
}

func TestGCPCapacityAdvice(t *testing.T) {
	snap := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	c, res, err := parseFile(t, td("gcp_capacity_advice.json"), Options{SnapshotDate: snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatGCPCapacityAdvice {
		t.Fatalf("format %s", res.Format)
	}
	// Two scores per SPOT shard, counted off the document.
	b, err := os.ReadFile(td("gcp_capacity_advice.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Recommendations []struct{ Shards []json.RawMessage }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	shards := 0
	for _, r := range doc.Recommendations {
		shards += len(r.Shards)
	}
	if len(c.Signals) != 2*shards {
		t.Fatalf("signals %d, the document has %d shards", len(c.Signals), shards)
	}
	up := c.Signals[1]
	if up.Kind != market.SignalEstimatedUptime || up.Value != 12 || up.Zone != "us-central1-a" || up.TargetCapacity != 8 || !up.Time.Equal(snap) {
		t.Errorf("uptime %+v; want 12 h for the 8 instances of the recommendation", up)
	}
	if o := c.Signals[4]; o.Kind != market.SignalObtainability || o.Value != 0.35 || o.Zone != "us-central1-f" {
		t.Errorf("second recommendation %+v", o)
	}
}

func TestGCPAdviceBad(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int64
		word string
	}{
		{"bad/gcp_capacity_history_bad_rate.json", 6, "preemptionRate"},
		{"bad/gcp_capacity_advice_bad_uptime.json", 3, "estimatedUptime"},
	} {
		_, _, err := parseFile(t, td(tc.file), Options{SnapshotDate: fixedNow})
		var re *ingest.RowError
		if !errors.As(err, &re) || re.Line != tc.line || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("%s: err = %v, want line %d naming %s", tc.file, err, tc.line, tc.word)
		}
		c, res, err := parseFile(t, td(tc.file), Options{SnapshotDate: fixedNow, SkipBad: true})
		if err != nil || res.Bad != 1 || len(c.Signals) == 0 {
			t.Errorf("%s skip-bad: %v bad %d signals %d", tc.file, err, res.Bad, len(c.Signals))
		}
	}
	for _, in := range []string{
		`{"machineType":"a2-highgpu-1g","preemptionHistory":[]}`,
		`{"location":"zones/mars-1a","machineType":"x","preemptionHistory":[]}`,
		`{"location":"zones/us-central1-a","machineType":"x","priceHistory":[{"interval":{"startTime":"2025-11-01T00:00:00Z","endTime":"2025-11-02T00:00:00Z"},"listPrice":{"currencyCode":"EUR","units":"1"}}]}`,
	} {
		_, err := Parse(context.Background(), strings.NewReader(in), "h.json", &collect{}, Options{Format: FormatGCPCapacityHistory, Now: clock})
		if !errors.Is(err, ingest.ErrBadInput) {
			t.Errorf("%s: err = %v, want bad input", in, err)
		}
	}
}

func TestGCPAdviceImport(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	paths := []string{td("gcp_capacity_history.json"), td("gcp_capacity_history_list.json"), td("gcp_capacity_advice.json")}
	rep, err := Import(ctx, s, paths, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// 3 + 2 preemption signals, 2 + 1 prices, 6 advice signals.
	if rep.RowsStored != 14 {
		t.Fatalf("stored %d: %+v", rep.RowsStored, rep.Files)
	}
	if rep, err = Import(ctx, s, paths, Options{Now: clock}); err != nil || rep.RowsStored != 0 {
		t.Fatalf("re-import stored %d (%v)", rep.RowsStored, err)
	}
}
