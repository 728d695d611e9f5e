package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// What PoolStatus reports for a watched pool (and the exporter publishes).
var (
	// StatusHorizons are the horizons of the published price quantiles.
	StatusHorizons = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	// StatusLevels are the published quantile levels (a 90% band and the
	// median).
	StatusLevels = []float64{0.05, 0.5, 0.95}
)

// The job behind a status's recommendations: a max price for a 24 h run
// at 95% confidence, and the checkpoint interval of a job that takes
// DefaultCheckpointCost to checkpoint and DefaultRestartCost to restart.
const statusRun = 24 * time.Hour

// Quantile is one published price quantile.
type Quantile struct {
	// Horizon in seconds.
	Horizon float64 `json:"horizon_seconds"`
	Level   float64 `json:"level"`
	Value   float64 `json:"value_usd_per_hour"`
}

// PoolStatus is what is known and forecast for one pool.
type PoolStatus struct {
	Pool      market.PoolKey `json:"pool"`
	Source    string         `json:"source"`
	Simulated bool           `json:"simulated"`
	// Found is false when the pool is not stored; nothing else is set.
	Found         bool       `json:"found"`
	Price         float64    `json:"price_usd_per_hour"`
	PriceTime     time.Time  `json:"price_time"`
	OnDemand      float64    `json:"on_demand_usd_per_hour"`
	Quantiles     []Quantile `json:"quantiles"`
	ProbWithin1h  float64    `json:"prob_interrupted_within_1h"`
	ProbWithin24h float64    `json:"prob_interrupted_within_24h"`
	// ByHourOfWeek[k] is the probability that one instance is
	// interrupted during hour k of the week (hazard.HourOfWeek), from the
	// coming week's forecast.
	ByHourOfWeek []float64 `json:"interruption_probability_by_hour_of_week,omitempty"`
	// PlacementScore 0 and AdvisorBucket -1 mean unknown.
	PlacementScore     int     `json:"placement_score"`
	AdvisorBucket      int     `json:"advisor_bucket"`
	MaxPrice           float64 `json:"max_price_usd_per_hour"`
	CheckpointInterval float64 `json:"checkpoint_interval_seconds"`
	Basis
	// Errors lists what could not be computed.
	Errors []string `json:"errors,omitempty"`
}

// PoolStatus computes what the exporter publishes for one watched pool:
// its price, the price quantiles at StatusHorizons, the interruption
// probabilities, the advisor band and placement score, the max price for
// a 24 h run and the checkpoint interval. What cannot be computed is
// listed in Errors; only a cancelled ctx fails it.
func (e *Engine) PoolStatus(ctx context.Context, key market.PoolKey) (PoolStatus, error) {
	now := e.now().UTC()
	ps := PoolStatus{Pool: key, AdvisorBucket: -1}
	fail := func(what string, err error) {
		ps.Errors = append(ps.Errors, fmt.Sprintf("%s: %v", what, err))
	}
	p, err := e.resolve(ctx, Ref(key), "")
	if err != nil {
		fail("pool", err)
		return ps, ctx.Err()
	}
	ps.Found, ps.Pool = true, p.PoolKey
	ps.Price, ps.PriceTime = p.LastPrice, p.Last
	srcs := []string{p.Source}
	first := true
	maxH := StatusHorizons[len(StatusHorizons)-1]
	if pf, err := e.priceForecast(ctx, p, maxH, "", time.Time{}); err != nil {
		fail("price forecast", err)
	} else {
		srcs = append(srcs, pf.Source)
		ps.Price = pf.LastPrice
		ps.Basis.merge(pf.Basis, first)
		first = false
		for _, h := range StatusHorizons {
			i := int(h/pf.PriceForecast.StepSize) - 1
			if i < 0 || i >= len(pf.Steps) {
				continue
			}
			for _, l := range StatusLevels {
				ps.Quantiles = append(ps.Quantiles, Quantile{Horizon: h.Seconds(), Level: l, Value: pf.QuantileAt(l, i)})
			}
		}
	}
	if f, err := e.interruptionForecast(ctx, p, DefaultInterruptionHorizon, DefaultLevel, time.Time{}); err != nil {
		fail("interruption forecast", err)
	} else {
		srcs = append(srcs, f.Source)
		ps.ProbWithin1h, ps.ProbWithin24h = f.ProbWithin1h, f.ProbWithin24h
		ps.ByHourOfWeek = hourlyProbabilities(f.Forecast)
		ps.Basis.merge(f.Basis, first)
		first = false
	}
	if od, err := e.onDemandPrice(ctx, p.PoolKey, now); err != nil {
		fail("on-demand price", err)
	} else {
		ps.OnDemand = od.Price
	}
	if adv, err := e.store.Advisor(ctx, p.Region, hazard.AdvisorOS(p.Product), p.InstanceType, now); err == nil {
		ps.AdvisorBucket = adv.Bucket
		srcs = append(srcs, adv.Source)
	} else if !isNotFound(err) {
		fail("advisor", err)
	}
	if sc, err := e.store.PlacementScores(ctx, p.Region, p.InstanceType); err != nil {
		fail("placement score", err)
	} else if best := hazard.PickScore(sc, p.Zone, now); best != nil {
		ps.PlacementScore = best.Score
	}
	if b, err := e.bid(ctx, p, BidRequest{RunLength: statusRun, Confidence: DefaultConfidence}); err != nil {
		fail("max price", err)
	} else {
		ps.MaxPrice = b.MaxPrice
	}
	ref := Ref(p.PoolKey)
	if c, err := e.Checkpoint(ctx, CheckpointRequest{Pool: &ref, CheckpointCost: DefaultCheckpointCost,
		RestartCost: DefaultRestartCost, RunLength: statusRun}); err != nil {
		fail("checkpoint interval", err)
	} else {
		ps.CheckpointInterval = c.IntervalSeconds
	}
	pv := provenance(srcs...)
	ps.Source, ps.Simulated = pv.Source, pv.Simulated
	return ps, ctx.Err()
}

// DefaultWatch picks the pools to watch when none are configured: for
// each GPU model, the stored zone pool (change series, Linux/UNIX) with
// the lowest price per GPU, up to n, so the dashboard shows a spread of
// prices and risks.
func (e *Engine) DefaultWatch(ctx context.Context, n int) ([]market.PoolKey, error) {
	if s := e.served.Load(); s != nil && len(s.pools) > 0 {
		// The persisted forecasts' pools: no scan of the prices.
		var ps []storage.PoolInfo
		for _, p := range s.pools {
			if p.info.Product == "Linux/UNIX" {
				ps = append(ps, p.info)
			}
		}
		return cheapestPerGPUModel(ps, n), nil
	}
	ps, err := e.store.Pools(ctx, storage.PoolFilter{Product: "Linux/UNIX"})
	if err != nil {
		return nil, err
	}
	return cheapestPerGPUModel(ps, n), nil
}

func cheapestPerGPUModel(ps []storage.PoolInfo, n int) []market.PoolKey {
	best := map[string]storage.PoolInfo{}
	for _, p := range ps {
		if p.Zone == "" || p.Resolution != market.ResolutionChange || p.Points == 0 || p.LastPrice <= 0 {
			continue
		}
		t, ok := gpuFit(p, "", 0)
		if !ok {
			continue
		}
		p.Type = t
		perGPU := p.LastPrice / float64(t.GPUCount)
		if b, ok := best[t.GPUModel]; !ok || perGPU < b.LastPrice/float64(b.Type.GPUCount) {
			best[t.GPUModel] = p
		}
	}
	models := make([]string, 0, len(best))
	for m := range best {
		models = append(models, m)
	}
	slices.Sort(models)
	out := make([]market.PoolKey, 0, min(n, len(models)))
	for _, m := range models[:min(n, len(models))] {
		out = append(out, best[m].PoolKey)
	}
	slices.SortFunc(out, func(a, b market.PoolKey) int { return cmp.Compare(a.String(), b.String()) })
	return out
}

// Rolling backtest of the watched pools, for the forecast-quality metrics.
const (
	watchBacktestHorizon = 24 * time.Hour
	watchBacktestOrigins = 7
)

// PoolBacktestOptions tune BacktestPools.
type PoolBacktestOptions struct {
	// End: nothing after it is read (zero: now).
	End time.Time
	// Models scored (nil: every model of forecast.Models).
	Models []string
}

// BacktestPools scores the price models on the given pools' recent
// history: a 24 h forecast a day for the last 7 days, each judged on the
// day that followed (forecast.BacktestSeries: nothing after an origin is
// used for its forecast). The backtest ends where the data ends, so a
// store of historical files is scored on its own last week.
func (e *Engine) BacktestPools(ctx context.Context, keys []market.PoolKey, opts PoolBacktestOptions) (*forecast.BacktestReport, error) {
	now := opts.End
	if now.IsZero() {
		now = e.now().UTC()
	}
	type hist struct {
		p   storage.PoolInfo
		pts []market.PricePoint
	}
	var hs []hist
	var newest time.Time
	for _, key := range keys {
		p, err := e.resolve(ctx, Ref(key), "")
		var ee *Error
		if errors.As(err, &ee) && ee.Code == CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		last := now
		if p.Last.Before(last) {
			last = p.Last
		}
		pts, err := e.store.SeriesOf(ctx, p.PoolKey, p.Resolution, last.Add(-history(p.Resolution)), now)
		if err != nil {
			return nil, fmt.Errorf("backtest %s: %w", p.PoolKey, err)
		}
		if pts, _ = plausiblePoints(pts); len(pts) == 0 {
			continue
		}
		hs = append(hs, hist{p, pts})
		if t := pts[len(pts)-1].Time; t.After(newest) {
			newest = t
		}
	}
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
		return nil, errors.New("backtest: no pool has usable prices")
	}
	to := end.Truncate(time.Hour).Add(-watchBacktestHorizon)
	rep, err := forecast.BacktestSeries(ctx, series, forecast.BacktestOptions{
		Horizon: watchBacktestHorizon, To: to, From: to.Add(-(watchBacktestOrigins - 1) * 24 * time.Hour), Every: 24 * time.Hour,
		Models: opts.Models, Workers: 1, Now: e.now,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	return &rep, nil
}
