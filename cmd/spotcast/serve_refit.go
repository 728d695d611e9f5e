package main

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
)

// refitJob is serve's refit: at start, on its schedule and whenever
// trigger receives (after an ingest), it refits the pools whose data
// changed, drops the cached answers and recomputes the snapshot. The
// week forecasts persisted are those of the watched pools and of the
// pools the configured workloads rank when their runs last past a day;
// the snapshot tells which those are, and when it names pools whose week
// forecasts are not served, the job asks (ask) for one more refit to
// persist them. A restart finds them served from the earlier run: no
// second refit.
//
// The refit fits on every core but one, so that one stays free for the
// requests served meanwhile; it is a Heavy job (one at a time with the
// backtest).
func refitJob(eng *engine.Engine, svc *api.Service, watch []market.PoolKey, every time.Duration,
	trigger <-chan struct{}, ask func(), log *slog.Logger) api.Job {
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	return api.Job{Name: "refit", Every: every, AtStart: true, Heavy: true, Trigger: trigger, Run: func(ctx context.Context) error {
		week := append(slices.Clone(watch), svc.WeekPools()...)
		res, err := eng.Refit(ctx, engine.RefitOptions{Changed: true, Week: week, Workers: workers})
		if err != nil {
			return err
		}
		log.Info("refit", "run", res.RunID, "pools", res.Pools, "refit", res.Refit, "kept", res.Kept, "failed", res.Failed,
			"seconds", res.Seconds)
		svc.Invalidate()
		if _, err = svc.UpdateSnapshot(ctx); err != nil {
			return err
		}
		covered := map[market.PoolKey]bool{}
		for _, k := range week {
			covered[k] = true
		}
		var more []market.PoolKey
		for _, k := range svc.WeekPools() {
			if !covered[k] {
				more = append(more, k)
			}
		}
		if !eng.HasWeek(more) {
			ask() // a refit persists their week forecasts
		}
		return nil
	}}
}
