package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spotcast/spotcast/engine"
)

func runRefit(ctx context.Context, e env, args []string) error {
	var c common
	var changed bool
	var workers int
	fs := newFlags(e, "refit", "refit [--db PATH] [--changed] [--workers N] [--json]", &c)
	fs.BoolVar(&changed, "changed", false, "fit only the pools whose prices changed since their persisted forecast (or older than 6h); the others keep theirs")
	fs.IntVar(&workers, "workers", 0, "pools fitted at once (default: the number of CPUs)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if workers < 0 {
		return fmt.Errorf("--workers %d: must be >= 0", workers)
	}
	s, cfg, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	eng := engine.New(s, engine.Options{})
	watch, err := watchList(ctx, cfg.Watch, eng, slog.New(slog.NewTextHandler(e.stderr, nil)))
	if err != nil {
		return err
	}
	res, err := eng.Refit(ctx, engine.RefitOptions{Changed: changed, Week: watch, Workers: workers, Progress: e.stderr})
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "refit run %d: %d pools, %d fitted, %d kept, %d failed in %.1fs (%.0f pools/s), forecasts as of %s\n",
		res.RunID, res.Pools, res.Refit, res.Kept, res.Failed, res.Seconds, res.PoolsPerSecond, res.AsOf.Format("2006-01-02T15:04:05Z"))
	for _, f := range res.Failures {
		fmt.Fprintf(e.stdout, "  failed %s (%s): %s\n", f.Pool, f.Resolution, f.Error)
	}
	return nil
}
