package engine

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/spotcast/spotcast/storage"
)

// scaleDB names a whole-market store for the scale benchmarks (the
// year-long, 33,000-pool market of BENCHMARKS.md); they skip without it.
var scaleDB = flag.String("scaledb", "", "whole-market store for the scale benchmarks (they skip without it)")

// long runs the tests at full size (every pool where the default run
// checks a sample).
var long = flag.Bool("long", false, "run the tests at full size instead of a sample")

func scaleStore(b *testing.B) *storage.Store {
	b.Helper()
	if *scaleDB == "" {
		b.Skip("needs -scaledb PATH (a whole-market store, see BENCHMARKS.md)")
	}
	st, err := storage.Open(context.Background(), *scaleDB, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// loadedEngine is an engine over the scale store with its persisted
// forecasts loaded (refitting first if it has none).
func loadedEngine(b *testing.B, st *storage.Store) *Engine {
	b.Helper()
	ctx := context.Background()
	e := New(st, Options{})
	if _, err := e.Load(ctx); err != nil {
		b.Fatal(err)
	}
	if _, _, ok := e.ServedRun(); !ok {
		if _, err := e.Refit(ctx, RefitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// servedPools are up to n pools of the loaded set, spread over it.
func servedPools(e *Engine, n int) []storage.PoolInfo {
	s := e.served.Load()
	var out []storage.PoolInfo
	for i := 0; i < len(s.pools) && len(out) < n; i += max(1, len(s.pools)/n) {
		if s.pools[i].row.Price != nil {
			out = append(out, s.pools[i].info)
		}
	}
	return out
}

// BenchmarkRefit fits every pool of the store in one pass on every core
// and persists the forecasts (the goal: >= 500 pools/s on 2
// cores). BenchmarkOnDemandForecast is the reference: the same forecasts
// one pool at a time, as answered before they were precomputed.
func BenchmarkRefit(b *testing.B) {
	st := scaleStore(b)
	for b.Loop() {
		res, err := New(st, Options{}).Refit(context.Background(), RefitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Refit+res.Failed), "pools")
		b.ReportMetric(float64(res.Failed), "failed")
		b.ReportMetric(res.PoolsPerSecond, "pools/s")
	}
}

// BenchmarkOnDemandForecast computes the 24 h price and the week's
// interruption forecast of pools one by one from the store (what every
// forecast cost before the refit), over 100 pools spread over the store.
func BenchmarkOnDemandForecast(b *testing.B) {
	st := scaleStore(b)
	e := loadedEngine(b, st)
	pools := servedPools(e, 100)
	cold := New(st, Options{})
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Hour)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, p := range pools {
			if _, err := cold.computePrice(ctx, p, PrecomputedHorizon, "auto", at); err != nil {
				b.Fatal(err)
			}
			if _, err := HazardForPool(ctx, st, p.PoolKey, at, hazardDefaults()); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pools/s")
}

// BenchmarkLoad is a restart: the persisted forecasts of every pool read
// into memory, after which every precomputed answer needs no store query.
func BenchmarkLoad(b *testing.B) {
	st := scaleStore(b)
	loadedEngine(b, st) // a refit first, if the store has none
	for b.Loop() {
		n, err := New(st, Options{}).Load(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "pools")
	}
}

// BenchmarkServedForecast answers the default price and interruption
// forecasts of 5,000 distinct pools from the loaded set, round robin (the
// work behind GET /v1/forecast/price and /interruption, JSON aside).
func BenchmarkServedForecast(b *testing.B) {
	st := scaleStore(b)
	e := loadedEngine(b, st)
	pools := servedPools(e, 5000)
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p := pools[i%len(pools)]
		i++
		f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(p.PoolKey)})
		if err != nil || !f.Precomputed {
			b.Fatalf("%s: precomputed %v, %v", p.PoolKey, f.Precomputed, err)
		}
		if _, err := e.InterruptionForecast(ctx, InterruptionForecastRequest{Pool: Ref(p.PoolKey)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pools)), "pools")
}

// BenchmarkPlacement ranks every A100 pool of the store for a 24 h run
// (cold: no cache) from the persisted forecasts ("precomputed", the goal:
// <= 100 ms) and, as the reference, with every candidate's forecasts
// computed on demand ("on-demand", an as_of of now).
func BenchmarkPlacement(b *testing.B) {
	st := scaleStore(b)
	e := loadedEngine(b, st)
	ctx := context.Background()
	for _, mode := range []string{"precomputed", "on-demand"} {
		b.Run(mode, func(b *testing.B) {
			req := PlacementRequest{GPUModel: "A100"}
			if mode == "on-demand" {
				req.AsOf = time.Now().UTC().Truncate(time.Minute)
			}
			for b.Loop() {
				res, err := e.Placement(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if res.Precomputed != (mode == "precomputed") {
					b.Fatalf("precomputed %v", res.Precomputed)
				}
				b.ReportMetric(float64(res.Candidates), "candidates")
			}
		})
	}
}
