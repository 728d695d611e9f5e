package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// serve's refit job asks for one more refit only when the snapshot names
// week pools whose week forecasts are not served: the first start asks
// once (the workload's pools are known only after the first snapshot),
// and a restart on the same store, where nothing changed, asks none and
// writes no run.
func TestRefitJobAsksNoSecondRefitWhenNothingChanged(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 3, 4, 15, 30, 0, 0, time.UTC)
	clock := func() time.Time { return end }
	st, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
		func(w *storage.Writer) error {
			_, err := sim.Generate(sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1"}}, w)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	watch := []market.PoolKey{{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}}
	// A week-long run: its ranked pools need week forecasts.
	workloads := []api.Workload{{Name: "week", Placement: engine.PlacementRequest{GPUModel: "V100", RunLength: 7 * 24 * time.Hour}}}
	log := slog.New(slog.DiscardHandler)

	// start is serve's start on st: load the persisted forecasts, then
	// run the refit job once; it returns how many more refits it asked
	// for and how many runs the store holds.
	start := func() (asked, runs int) {
		t.Helper()
		eng := engine.New(st, engine.Options{Now: clock})
		if _, err := eng.Load(ctx); err != nil {
			t.Fatal(err)
		}
		svc := api.New(eng, api.Options{Now: clock, Logger: log})
		svc.SetWatch(watch)
		svc.SetWorkloads(workloads)
		job := refitJob(eng, svc, watch, 0, nil, func() { asked++ }, log)
		if !job.Heavy || !job.AtStart {
			t.Fatalf("refit job: heavy %v, at start %v; want both", job.Heavy, job.AtStart)
		}
		if err := job.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if len(svc.WeekPools()) == 0 {
			t.Fatal("the workload ranked no pool: the test checks nothing")
		}
		// What a second run of the job (the refit asked for) would do.
		if asked > 0 {
			if err := job.Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := st.ForecastRuns(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return asked, len(rs)
	}
	asked, runs := start()
	if asked != 1 || runs != 2 {
		t.Fatalf("first start: asked for %d more refits, %d runs; want 1 (the workload's week forecasts), 2", asked, runs)
	}
	asked, runs = start()
	if asked != 0 || runs != 2 {
		t.Fatalf("restart with nothing changed: asked for %d more refits, %d runs; want 0, still 2", asked, runs)
	}
}
