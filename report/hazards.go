package report

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// profileMaxAge is hazard.Options.MaxAge's documented default: the window
// the weekly profile and the pools' evidence come from.
const profileMaxAge = 90 * 24 * time.Hour

// hazards forecasts the interruption hazard of the report's pools through
// one engine.HazardBatch: each cloud's events are read once for all pools.
type hazards struct {
	batch *engine.HazardBatch
	now   time.Time
	done  map[market.PoolKey]hazard.Forecast
}

func newHazards(eng *engine.Engine, now time.Time) *hazards {
	return &hazards{batch: eng.HazardBatch(now, hazard.Options{}), now: now, done: map[market.PoolKey]hazard.Forecast{}}
}

// forecast returns the pool's hazard forecast for the week from now, from
// the snapshot's price and on-demand price (which it resolves for the
// sections after it).
func (h *hazards) forecast(ctx context.Context, s *snapshot, p *poolSnap) (hazard.Forecast, error) {
	if f, ok := h.done[p.PoolKey]; ok {
		return f, nil
	}
	od, _, err := s.onDemand(ctx, p)
	if err != nil {
		return hazard.Forecast{}, err
	}
	price := p.Price
	in, err := h.batch.Inputs(ctx, engine.HazardInput{Key: p.PoolKey, SpotPrice: &price, OnDemand: &od})
	if err != nil {
		return hazard.Forecast{}, err
	}
	// Estimate, not Batch.Forecast: the interruptions section states the
	// weekly profile once, so a pool's prior does not repeat it.
	f, err := hazard.Estimate(in, h.now, hazard.Options{})
	if err != nil {
		return hazard.Forecast{}, fmt.Errorf("hazard %s: %w", p.PoolKey, err)
	}
	h.done[p.PoolKey] = f
	return f, nil
}
