package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Horizons of the persisted forecasts.
const (
	// PrecomputedHorizon is the price forecast every pool gets at each
	// refit; a request for a shorter horizon gets its first steps.
	PrecomputedHorizon = 24 * time.Hour
	// WeekHorizon is the price forecast watched pools also get (the
	// exporter's 168 h quantiles, the reports' 7-day charts).
	WeekHorizon = 7 * 24 * time.Hour
)

// servedPool is one pool's persisted forecasts as served: the encoded
// documents are decoded per request (microseconds), which keeps a
// 33,000-pool set in a few hundred MB.
type servedPool struct {
	info storage.PoolInfo // with the statistics of the refit that fitted it
	row  storage.PoolForecast
	// asOf is the origin of the run that fitted it.
	asOf time.Time
}

// served is the set of persisted forecasts a server answers from,
// replaced as a whole after each refit.
type served struct {
	run   storage.ForecastRun // the newest run
	byID  map[int64]*servedPool
	byKey map[market.PoolKey][]*servedPool // also under the key without product
	pools []*servedPool
}

func newServed(run storage.ForecastRun, n int) *served {
	return &served{run: run, byID: make(map[int64]*servedPool, n), byKey: make(map[market.PoolKey][]*servedPool, 2*n)}
}

func (s *served) add(p *servedPool) {
	s.byID[p.info.ID] = p
	s.pools = append(s.pools, p)
	k := p.info.PoolKey
	s.byKey[k] = append(s.byKey[k], p)
	if k.Product != "" {
		k.Product = ""
		s.byKey[k] = append(s.byKey[k], p)
	}
}

func (s *served) infos(list []*servedPool) []storage.PoolInfo {
	out := make([]storage.PoolInfo, len(list))
	for i, p := range list {
		out[i] = p.info
	}
	return out
}

// poolInfo rebuilds a pool's statistics from its persisted row.
func poolInfo(cat storage.PoolInfo, row storage.PoolForecast) storage.PoolInfo {
	p := cat
	p.Points, p.First, p.Last, p.LastPrice, p.Source = row.Points, row.FirstTS, row.LastTS, row.LastPrice, row.Source
	return p
}

// Load reads the persisted forecasts of every pool into memory (and
// replaces those held), so that answers need no model fit and no store
// query. A store without persisted forecasts loads an empty set: every
// forecast is then computed on demand until the first refit.
func (e *Engine) Load(ctx context.Context) (int, error) {
	runs, err := e.store.ForecastRuns(ctx, 1)
	if err != nil {
		return 0, err
	}
	var run storage.ForecastRun
	if len(runs) > 0 {
		run = runs[0]
	}
	cat, err := e.store.PoolCatalog(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[int64]storage.PoolInfo, len(cat))
	for _, p := range cat {
		byID[p.ID] = p
	}
	asOf := map[int64]time.Time{}
	set := newServed(run, len(cat))
	err = e.store.Forecasts(ctx, func(row storage.PoolForecast) error {
		c, ok := byID[int64(row.PoolID)]
		if !ok {
			return nil // a pool deleted since: nothing to serve
		}
		t, ok := asOf[row.RunID]
		if !ok {
			r, err := e.store.ForecastRunOf(ctx, row.RunID)
			if err != nil {
				return err
			}
			t, asOf[row.RunID] = r.AsOf, r.AsOf
		}
		set.add(&servedPool{info: poolInfo(c, row), row: row, asOf: t})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("load forecasts: %w", err)
	}
	e.served.Store(set)
	return len(set.pools), nil
}

// ServedRun is the newest refit the served forecasts come from (ok false
// before any is loaded).
func (e *Engine) ServedRun() (storage.ForecastRun, int, bool) {
	s := e.served.Load()
	if s == nil || s.run.ID == 0 {
		return storage.ForecastRun{}, 0, false
	}
	return s.run, len(s.pools), true
}

// persisted returns the pool's persisted forecasts: from the set in
// memory when one is loaded, else read from the store (a command line
// answering one question need not load every pool's).
func (e *Engine) persisted(ctx context.Context, p storage.PoolInfo) (*servedPool, bool) {
	if s := e.served.Load(); s != nil {
		sp, ok := s.byID[p.ID]
		return sp, ok
	}
	if e.store == nil || p.ID == 0 {
		return nil, false
	}
	row, err := e.store.ForecastOf(ctx, int32(p.ID))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			e.log.Warn("read persisted forecast", "pool", p.PoolKey.String(), "err", err)
		}
		return nil, false
	}
	r, err := e.store.ForecastRunOf(ctx, row.RunID)
	if err != nil {
		return nil, false
	}
	return &servedPool{info: poolInfo(p, row), row: row, asOf: r.AsOf}, true
}

// precomputedPrice answers a price forecast from the persisted ones: the
// 24 h forecast (or the watched pools' week) cut to horizon, when horizon
// is a whole number of steps within it.
func (sp *servedPool) precomputedPrice(horizon time.Duration) (PriceForecastResponse, bool, error) {
	step := forecast.StepFor(sp.info.Resolution)
	if horizon%step != 0 || horizon < step {
		return PriceForecastResponse{}, false, nil
	}
	doc := sp.row.Price
	if horizon > PrecomputedHorizon {
		doc = sp.row.Week
		if horizon > WeekHorizon {
			return PriceForecastResponse{}, false, nil
		}
	}
	if doc == nil {
		return PriceForecastResponse{}, false, nil
	}
	f, err := decodePrice(doc, sp.info.PoolKey)
	if errors.Is(err, errCodec) {
		return PriceForecastResponse{}, false, nil // as for the hazard below
	}
	if err != nil {
		return PriceForecastResponse{}, false, err
	}
	n := int(horizon / step)
	if n > len(f.Steps) {
		return PriceForecastResponse{}, false, nil
	}
	f.Steps = f.Steps[:n]
	return priceResponse(f, sp.asOf, sp.row.DataUntil, true), true, nil
}

// precomputedHazard answers the default interruption forecast (the
// coming week at the default level) from the persisted one.
func (sp *servedPool) precomputedHazard() (InterruptionForecastResponse, bool, error) {
	if sp.row.Hazard == nil {
		return InterruptionForecastResponse{}, false, nil
	}
	f, err := decodeHazard(sp.row.Hazard, sp.info.PoolKey)
	if errors.Is(err, errCodec) {
		// Written by an older codec (or damaged): computed on demand
		// until the next refit rewrites it.
		return InterruptionForecastResponse{}, false, nil
	}
	if err != nil {
		return InterruptionForecastResponse{}, false, err
	}
	return interruptionResponse(f, Basis{ForecastGenerated: f.Generated, DataUntil: sp.row.DataUntil, Precomputed: true}), true, nil
}

// HasWeek reports whether the served forecasts hold the week-long price
// forecast (WeekHorizon) of every pool of keys: when they do, a refit
// naming these pools in RefitOptions.Week would have nothing to add, so
// serve asks for none (at a restart, the workloads' pools are known only
// once the first snapshot ranks them, after the start-up refit; their
// week forecasts persisted by an earlier run are still served).
func (e *Engine) HasWeek(keys []market.PoolKey) bool {
	s := e.served.Load()
	if s == nil {
		return len(keys) == 0
	}
	for _, k := range keys {
		if k.Cloud == "" {
			k.Cloud = market.AWS
		}
		best := bestPool(s.infos(s.byKey[k]), k.Zone, "")
		if best == nil {
			return false // not fitted yet
		}
		if sp := s.byID[best.ID]; sp == nil || sp.row.Week == nil {
			return false
		}
	}
	return true
}
