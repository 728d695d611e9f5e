package report

import (
	"context"
	"testing"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// A workload placed on GCP pools is planned with GCP's 30-second notice,
// not AWS's two minutes: the placement's checkpoint model and the best
// pool's checkpoint policy both say so.
func TestWorkloadUsesItsCloudsNotice(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := clock()
	_, err = st.Import(ctx, storage.RunInfo{Kind: "file", Source: "file:gcp-test.csv"}, func(w *storage.Writer) error {
		for _, m := range []struct {
			typ   string
			gpus  int
			price float64
		}{{"a2-highgpu-1g", 1, 1.10}, {"a2-highgpu-2g", 2, 2.30}} {
			if err := w.AddInstanceType(market.InstanceType{Cloud: market.GCP, Name: m.typ, VCPU: 12 * m.gpus, MemoryGiB: 85 * float64(m.gpus),
				GPUModel: "A100", GPUManufacturer: "NVIDIA", GPUCount: m.gpus, GPUMemoryGiB: 40, Source: "file:gcp-test.json", FetchedAt: now}); err != nil {
				return err
			}
			for _, region := range []string{"us-central1", "europe-west4"} {
				if err := w.AddOnDemand(market.OnDemandPrice{Cloud: market.GCP, Region: region, InstanceType: m.typ, Date: now.Add(-30 * 24 * time.Hour),
					Price: 3.67 * float64(m.gpus), Source: "file:gcp-test.csv", FetchedAt: now}); err != nil {
					return err
				}
				for d := 30; d >= 0; d-- {
					p := market.PricePoint{Pool: market.PoolKey{Cloud: market.GCP, Region: region, InstanceType: m.typ},
						Time: now.Add(-time.Duration(d) * 24 * time.Hour), Price: m.price * (1 + 0.01*float64(d%3)),
						Source: "file:gcp-test.csv", FetchedAt: now}
					if err := w.AddPrice(p); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := []Workload{{Name: "a100 on gcp", Cloud: market.GCP, GPUModel: "A100", CheckpointCost: time.Minute, RestartCost: time.Minute}}
	r, err := Generate(ctx, engine.New(st, engine.Options{Now: clock}), Options{Now: clock, Workloads: ws, Backtest: &forecast.BacktestReport{}})
	if err != nil {
		t.Fatal(err)
	}
	w := r.Recommendations.Workloads[0]
	if w.Error != "" || len(w.Placement) == 0 || w.Checkpoint == nil {
		t.Fatalf("no recommendation: error %q, %d pools, checkpoint %v", w.Error, len(w.Placement), w.Checkpoint)
	}
	if c := w.Placement[0].Pool.Cloud; c != market.GCP {
		t.Fatalf("best pool is on %q, want gcp", c)
	}
	want := recommend.NoticeGCP.Seconds()
	if got := w.Checkpoint.Explain.Inputs["notice_window_seconds"]; got != want {
		t.Errorf("checkpoint notice window %v s, want GCP's %v s", got, want)
	}
	// A 1 min checkpoint fits in AWS's 2 min notice but not in GCP's 30 s:
	// no emergency checkpoint on notice.
	if w.Checkpoint.EmergencyCheckpoint {
		t.Error("a 1 min checkpoint does not fit in a 30 s notice, yet an emergency checkpoint on notice is recommended")
	}
}

// On a refitted store with fresh data, the report's forecasts are the
// persisted ones (the watched pools' 7-day forecasts are precomputed).
func TestReportReadsPersistedForecasts(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		_, err := sim.Generate(sim.Config{Seed: 3, Days: 14, Now: clock, Regions: []string{"us-east-1"}}, w)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(st, engine.Options{Now: clock})
	watch, err := eng.DefaultWatch(ctx, 3)
	if err != nil || len(watch) == 0 {
		t.Fatalf("default watch: %v, %v", watch, err)
	}
	if _, err := eng.Refit(ctx, engine.RefitOptions{Week: watch}); err != nil {
		t.Fatal(err)
	}
	r, err := Generate(ctx, eng, Options{Now: clock, Watch: watch, Backtest: &forecast.BacktestReport{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Forecasts.Pools) != len(watch) {
		t.Fatalf("%d forecasts for %d watched pools", len(r.Forecasts.Pools), len(watch))
	}
	for _, p := range r.Forecasts.Pools {
		if !p.Precomputed || len(p.Steps) != 168 || !p.Generated.Equal(clock()) {
			t.Errorf("%s: precomputed %v, %d steps, generated %v", p.Pool, p.Precomputed, len(p.Steps), p.Generated)
		}
	}
}
