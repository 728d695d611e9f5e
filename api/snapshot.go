package api

import (
	"context"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
)

// Snapshot is the watched pools' status at one time: what the exporter
// publishes, so that a scrape never computes a forecast.
type Snapshot struct {
	Generated time.Time           `json:"generated"`
	Seconds   float64             `json:"seconds"`
	Pools     []engine.PoolStatus `json:"pools"`
	Simulated bool                `json:"simulated"`
	// Recommended: the configured workloads' best pools.
	Recommended []RecommendedPool `json:"recommended,omitempty"`
}

// Snapshot returns the newest snapshot (nil before the first).
func (s *Service) Snapshot() *Snapshot { return s.snap.Load() }

// UpdateSnapshot recomputes the status of every watched pool and
// publishes it as the snapshot the exporter reads. A pool that fails is
// reported in its Errors; only a cancelled ctx fails the update.
func (s *Service) UpdateSnapshot(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	snap := &Snapshot{Generated: s.now().UTC()}
	for _, key := range s.Watch() {
		ps, err := s.eng.PoolStatus(ctx, key)
		if err != nil {
			return nil, err
		}
		snap.Simulated = snap.Simulated || ps.Simulated
		snap.Pools = append(snap.Pools, ps)
	}
	rec, err := s.recommended(ctx)
	if err != nil {
		return nil, err
	}
	snap.Recommended = rec
	snap.Seconds = time.Since(start).Seconds()
	s.snap.Store(snap)
	return snap, nil
}

// Backtest returns the newest backtest of the watched pools (nil before
// the first).
func (s *Service) Backtest() *forecast.BacktestReport { return s.bt.Load() }

// RunBacktest scores the price models on the watched pools' recent
// history (engine.BacktestPools) and keeps the result for the exporter.
func (s *Service) RunBacktest(ctx context.Context) (*forecast.BacktestReport, error) {
	rep, err := s.eng.BacktestPools(ctx, s.Watch(), engine.PoolBacktestOptions{})
	if err != nil {
		return nil, err
	}
	s.bt.Store(rep)
	return rep, nil
}
