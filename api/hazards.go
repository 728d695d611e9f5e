package api

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// hazards forecasts the interruption hazard of many pools at once with
// hazard.ForPools: the inputs hazard.ForPool reads, but each query made
// once for all pools instead of once per pool. Forecasts already cached
// are reused, and the new ones are cached under the keys
// interruptionForecast uses, with the default horizon and level.
func (s *Service) hazards(ctx context.Context, pools []storage.PoolInfo, now time.Time) (map[market.PoolKey]hazard.Forecast, error) {
	out := make(map[market.PoolKey]hazard.Forecast, len(pools))
	var todo []hazard.PoolInput
	for _, p := range pools {
		if v, ok := s.hazardCache.peek(hazardKey(p.PoolKey, DefaultInterruptionHorizon, DefaultLevel, now)); ok {
			out[p.PoolKey] = v.(InterruptionForecastResponse).Forecast
			continue
		}
		in := hazard.PoolInput{Key: p.PoolKey, Resolution: p.Resolution}
		if !p.Last.After(now) {
			// The pool's newest price is its price at now: no need to
			// read the series.
			price := p.LastPrice
			in.SpotPrice = &price
		}
		todo = append(todo, in)
	}
	if len(todo) == 0 {
		return out, nil
	}
	fs, err := hazard.ForPools(ctx, s.store, todo, now, hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel})
	if err != nil {
		return nil, err
	}
	for k, f := range fs {
		out[k] = f
		s.hazardCache.set(hazardKey(k, DefaultInterruptionHorizon, DefaultLevel, now), interruptionResponse(f))
	}
	return out, nil
}

func hazardKey(key market.PoolKey, horizon time.Duration, level float64, asOf time.Time) string {
	return fmt.Sprintf("hazard|%s|%d|%g|%d", key, horizon, level, asOf.UnixNano())
}
