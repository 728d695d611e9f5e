package api

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// defaultMaxAge is hazard.Options.MaxAge's documented default.
const defaultMaxAge = 90 * 24 * time.Hour

// hazards forecasts the interruption hazard of many pools of one cloud at
// once, with the inputs hazard.ForPool reads, but each query made once for
// all pools instead of once per pool: the events of the cloud (ForPool
// reads them twice per pool, which dominates its cost), the placement
// scores per region and type. Forecasts already cached are reused, and the
// new ones are cached under the keys interruptionForecast uses, with the
// default horizon and level.
func (s *Service) hazards(ctx context.Context, pools []storage.PoolInfo, now time.Time) (map[market.PoolKey]hazard.Forecast, error) {
	out := make(map[market.PoolKey]hazard.Forecast, len(pools))
	var todo []storage.PoolInfo
	for _, p := range pools {
		if v, ok := s.hazardCache.peek(hazardKey(p.PoolKey, DefaultInterruptionHorizon, DefaultLevel, now)); ok {
			out[p.PoolKey] = v.(InterruptionForecastResponse).Forecast
			continue
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return out, nil
	}
	byCloud := map[string][]storage.PoolInfo{}
	for _, p := range todo {
		byCloud[p.Cloud] = append(byCloud[p.Cloud], p)
	}
	opts := hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel}
	for cloud, ps := range byCloud {
		events, err := s.store.Events(ctx, storage.EventFilter{Cloud: cloud, To: now})
		if err != nil {
			return nil, err
		}
		var recent []market.Event
		byType := map[string][]market.Event{}
		for _, e := range events {
			byType[e.InstanceType] = append(byType[e.InstanceType], e)
			if !e.Time.Before(now.Add(-defaultMaxAge)) {
				recent = append(recent, e)
			}
		}
		prof, st := hazard.EstimateProfile(recent, now, hazard.ProfileOptions{MaxAge: defaultMaxAge})
		scores := map[[2]string][]market.PlacementScore{}
		for _, p := range ps {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			in := hazard.Inputs{Pool: p.PoolKey}
			if !st.Flat {
				in.Profile = &prof
			}
			adv, err := s.store.Advisor(ctx, p.Region, advisorOS(p.Product), p.InstanceType, now)
			switch {
			case err == nil:
				in.Advisor = &adv
			case !isNotFound(err):
				return nil, err
			}
			sk := [2]string{p.Region, p.InstanceType}
			sc, ok := scores[sk]
			if !ok {
				if sc, err = s.store.PlacementScores(ctx, p.Region, p.InstanceType); err != nil {
					return nil, err
				}
				scores[sk] = sc
			}
			in.Score = pickScore(sc, p.Zone, now)
			if !p.Last.After(now) {
				in.SpotPrice = p.LastPrice
			} else if pts, err := s.store.SeriesOf(ctx, p.PoolKey, p.Resolution, now.Add(-7*24*time.Hour), now.Add(time.Nanosecond)); err == nil && len(pts) > 0 {
				in.SpotPrice = pts[len(pts)-1].Price
			}
			if od, err := s.store.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, now); err == nil {
				in.OnDemand = od.Price
			} else if !isNotFound(err) {
				return nil, err
			}
			for _, e := range byType[p.InstanceType] {
				if e.Region == p.Region && (p.Zone == "" || e.Zone == p.Zone) {
					in.Events = append(in.Events, e)
				} else {
					in.Siblings = append(in.Siblings, e)
				}
			}
			f, err := hazard.Estimate(in, now, opts)
			if err != nil {
				return nil, fmt.Errorf("hazard %s: %w", p.PoolKey, err)
			}
			if st.Flat {
				f.Prior += fmt.Sprintf("; weekly profile flat (%d events in %d pools, too few)", st.Events, st.Pools)
			} else {
				f.Prior += fmt.Sprintf("; weekly profile from %d events in %d pools", st.Events, st.Pools)
			}
			out[p.PoolKey] = f
			s.hazardCache.set(hazardKey(p.PoolKey, DefaultInterruptionHorizon, DefaultLevel, now), interruptionResponse(f))
		}
	}
	return out, nil
}

func hazardKey(key market.PoolKey, horizon time.Duration, level float64, asOf time.Time) string {
	return fmt.Sprintf("hazard|%s|%d|%g|%d", key, horizon, level, asOf.UnixNano())
}

// advisorOS maps a product description to the advisor's OS column, as
// hazard.ForPool does.
func advisorOS(product string) string {
	switch {
	case product == "":
		return ""
	case strings.Contains(strings.ToLower(product), "windows"):
		return "Windows"
	default:
		return "Linux"
	}
}

// pickScore chooses the placement score that speaks most directly about
// the pool, as hazard.ForPool does: its zone over its region, a request for
// fewer types over more, then the newest; scores after now are not known.
func pickScore(scores []market.PlacementScore, zone string, now time.Time) *market.PlacementScore {
	var best *market.PlacementScore
	rank := func(p market.PlacementScore) (int, int) {
		z := 2
		switch {
		case zone != "" && p.Zone == zone:
			z = 0
		case p.Zone == "":
			z = 1
		}
		return z, len(p.InstanceTypes)
	}
	for i, p := range scores {
		if p.Time.After(now) || (p.Zone != "" && p.Zone != zone) {
			continue
		}
		if best == nil {
			best = &scores[i]
			continue
		}
		z1, n1 := rank(p)
		z0, n0 := rank(*best)
		if z1 < z0 || (z1 == z0 && (n1 < n0 || (n1 == n0 && p.Time.After(best.Time)))) {
			best = &scores[i]
		}
	}
	return best
}
