package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func TestCapacitySignalsAndZoneIDs(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	at := t0.Add(48 * time.Hour)
	sig := func(h int, lo, hi float64, label string) market.CapacitySignal {
		return market.CapacitySignal{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_D2s_v4",
			Kind: market.SignalEvictionRate, Value: lo, ValueHigh: hi, Label: label, Time: t0.Add(time.Duration(h) * time.Hour)}
	}
	gcp := market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: "us-central1-a", InstanceType: "a2-highgpu-1g",
		Kind: market.SignalPreemptionRate, Value: 0.12, ValueHigh: 0.12, Label: "0.12", Start: t0, Time: t0.Add(24 * time.Hour)}
	fill := func(w *Writer) error {
		for _, c := range []market.CapacitySignal{sig(0, 0, 0.05, "0-5"), sig(24, 0.2, 1, "20+"), sig(72, 0.05, 0.1, "5-10"), gcp} {
			if err := w.AddCapacitySignal(c); err != nil {
				return err
			}
		}
		for _, z := range []market.ZoneID{
			{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", ZoneID: "use1-az4"},
			{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1b", ZoneID: "use1-az6"},
		} {
			if err := w.AddZoneID(z); err != nil {
				return err
			}
		}
		return w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", Zone: "use1-az4", InstanceTypes: []string{"p5.48xlarge"},
			TargetCapacity: 1, CapacityUnit: "units", Score: 3, ScaleMax: 3, Time: t0})
	}
	run := RunInfo{Kind: "file", Source: "file:x.json"}
	st, err := s.Import(ctx, run, fill)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tables["capacity_signals"] != (TableStats{Added: 4, Stored: 4}) || st.Tables["zone_ids"] != (TableStats{Added: 2, Stored: 2}) {
		t.Fatalf("first import: %+v", st.Tables)
	}
	st, err = s.Import(ctx, run, fill)
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored() != 0 {
		t.Fatalf("re-import stored %d rows: %+v", st.Stored(), st.Tables)
	}
	c := counts(t, s)
	if c["capacity_signals"] != 4 || c["zone_ids"] != 2 {
		t.Fatalf("counts %v", c)
	}

	got, err := s.CapacitySignals(ctx, SignalFilter{Cloud: market.Azure, At: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Label != "20+" || got[0].ValueHigh != 1 || !got[0].Start.Equal(got[0].Time) || got[0].Source != "file:x.json" {
		t.Fatalf("newest Azure signal at %s = %+v, want the 20+ bucket", at, got)
	}
	got, err = s.CapacitySignals(ctx, SignalFilter{Cloud: market.GCP, Zone: "us-central1-a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Start.Equal(t0) || got[0].Value != 0.12 {
		t.Fatalf("GCP signals = %+v", got)
	}
	ids, err := s.ZoneIDs(ctx, market.AWS, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0].Zone != "us-east-1a" || ids[0].ZoneID != "use1-az4" {
		t.Fatalf("zone ids = %+v", ids)
	}
	scores, err := s.PlacementScores(ctx, "us-east-1", "p5.48xlarge")
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 1 || scores[0].ScaleMax != 3 {
		t.Fatalf("scores = %+v, want scale 3 kept", scores)
	}
}

func TestSourceRowsRefused(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	ok := market.CapacitySignal{Cloud: market.Azure, Region: "eastus", InstanceType: "x", Kind: market.SignalEvictionRate,
		Value: 0, ValueHigh: 0.05, Time: t0}
	for _, tc := range []struct {
		name string
		fill func(w *Writer) error
		want string
	}{
		{"signal kind", func(w *Writer) error { c := ok; c.Kind = ""; return w.AddCapacitySignal(c) }, "kind"},
		{"signal range", func(w *Writer) error { c := ok; c.ValueHigh = -1; return w.AddCapacitySignal(c) }, "value_high"},
		{"signal time", func(w *Writer) error { c := ok; c.Time = time.Time{}; return w.AddCapacitySignal(c) }, "time"},
		{"signal start", func(w *Writer) error { c := ok; c.Start = t0.Add(time.Hour); return w.AddCapacitySignal(c) }, "start"},
		{"zone id", func(w *Writer) error {
			return w.AddZoneID(market.ZoneID{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a"})
		}, "zone_id"},
		{"score above scale", func(w *Writer) error {
			return w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", InstanceTypes: []string{"p5.48xlarge"},
				TargetCapacity: 1, Score: 4, ScaleMax: 3, Time: t0})
		}, "score"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Import(ctx, RunInfo{Kind: "file", Source: "file:x"}, tc.fill)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	if c := counts(t, s); c["capacity_signals"] != 0 || c["zone_ids"] != 0 || c["placement_scores"] != 0 {
		t.Fatalf("refused rows were stored: %v", c)
	}
}
