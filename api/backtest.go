package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Rolling backtest of the watched pools, for the forecast-quality metrics.
const (
	backtestHorizon = 24 * time.Hour
	backtestOrigins = 7
)

// Backtest returns the newest backtest of the watched pools (nil before
// the first).
func (s *Service) Backtest() *forecast.BacktestReport { return s.bt.Load() }

// RunBacktest scores the price models on the watched pools' recent history:
// a forecast a day for the last backtestOrigins days, each judged on the
// day that followed (forecast.BacktestSeries: nothing after an origin is
// used for its forecast).
func (s *Service) RunBacktest(ctx context.Context) (*forecast.BacktestReport, error) {
	now := s.now().UTC()
	type hist struct {
		p   storage.PoolInfo
		pts []market.PricePoint
	}
	var hs []hist
	var newest time.Time
	for _, key := range s.Watch() {
		p, err := s.resolve(ctx, Ref(key), "")
		var e *Error
		if errors.As(err, &e) && e.Code == CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		last := now
		if p.Last.Before(last) {
			last = p.Last
		}
		pts, err := s.store.SeriesOf(ctx, p.PoolKey, p.Resolution, last.Add(-history(p.Resolution)), now)
		if err != nil {
			return nil, fmt.Errorf("backtest %s: %w", p.PoolKey, err)
		}
		if len(pts) == 0 {
			continue
		}
		hs = append(hs, hist{p, pts})
		if t := pts[len(pts)-1].Time; t.After(newest) {
			newest = t
		}
	}
	// The backtest ends where the data ends: on a stale store (historical
	// files) the days before now would only score flat extrapolations.
	end := now
	if newest.Before(end) {
		end = newest
	}
	var series []forecast.Series
	for _, h := range hs {
		g, err := forecast.ToGrid(h.pts, forecast.StepFor(h.p.Resolution), end)
		if err != nil {
			continue // no usable point
		}
		series = append(series, forecast.Series{Key: h.p.PoolKey, Resolution: h.p.Resolution, Grid: g})
	}
	if len(series) == 0 {
		return nil, errors.New("backtest: no watched pool has prices")
	}
	to := end.Truncate(time.Hour).Add(-backtestHorizon)
	rep, err := forecast.BacktestSeries(ctx, series, forecast.BacktestOptions{
		Horizon: backtestHorizon, To: to, From: to.Add(-(backtestOrigins - 1) * 24 * time.Hour), Every: 24 * time.Hour,
		Workers: 1, Now: s.now,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	s.bt.Store(&rep)
	return &rep, nil
}
