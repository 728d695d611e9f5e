package report

import (
	"context"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
)

// poolSnap is one pool's prices around the report's time.
type poolSnap struct {
	engine.PoolAt
	onDemand   float64 // 0: unknown
	odSource   string
	odResolved bool
}

type poolID struct {
	key        market.PoolKey
	resolution string
}

// snapshot is every pool's price at the report's time (engine.MarketAt).
type snapshot struct {
	asOf time.Time
	// forecastAsOf is the origin asked of the engine: zero (the persisted
	// forecasts of the last refit) for a report of now on fresh data,
	// else asOf (computed for the report).
	forecastAsOf time.Time
	pools        []*poolSnap // pools with a price within MaxAge of asOf
	byID         map[poolID]*poolSnap
	stale        int // pools left out for an old price
	eng          *engine.Engine
}

func loadSnapshot(ctx context.Context, eng *engine.Engine, asOf time.Time, maxAge time.Duration) (*snapshot, error) {
	m, err := eng.MarketAt(ctx, asOf, maxAge)
	if err != nil {
		return nil, err
	}
	s := &snapshot{asOf: m.AsOf, byID: map[poolID]*poolSnap{}, stale: m.Stale, eng: eng}
	for _, p := range m.Pools {
		ps := &poolSnap{PoolAt: p}
		s.pools = append(s.pools, ps)
		s.byID[poolID{p.PoolKey, p.Resolution}] = ps
	}
	return s, nil
}

// onDemand returns the pool's on-demand price at the report's time (0 if
// none is stored), reading each pool once.
func (s *snapshot) onDemand(ctx context.Context, p *poolSnap) (float64, string, error) {
	if p.odResolved {
		return p.onDemand, p.odSource, nil
	}
	od, err := s.eng.OnDemandPrice(ctx, p.PoolKey, s.asOf)
	if err != nil {
		return 0, "", err
	}
	p.onDemand, p.odSource, p.odResolved = od.Price, od.Source, true
	return p.onDemand, p.odSource, nil
}

// find resolves a watched key: an exact pool, else (no product given) the
// Linux/UNIX pool or any product, preferring the change series.
func (s *snapshot) find(k market.PoolKey) *poolSnap {
	if k.Cloud == "" {
		k.Cloud = market.AWS
	}
	if k.Region == "" && k.Zone != "" {
		if r, err := market.RegionOfZone(k.Zone); err == nil {
			k.Region = r
		}
	}
	var best *poolSnap
	score := func(p *poolSnap) int {
		n := 0
		if p.Product == "Linux/UNIX" {
			n += 2
		}
		if p.Resolution == market.ResolutionChange {
			n++
		}
		return n
	}
	for _, p := range s.pools {
		if p.Cloud != k.Cloud || p.Region != k.Region || p.Zone != k.Zone || p.InstanceType != k.InstanceType {
			continue
		}
		if k.Product != "" && p.Product != k.Product {
			continue
		}
		if best == nil || score(p) > score(best) {
			best = p
		}
	}
	return best
}
