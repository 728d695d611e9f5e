package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// profileMaxAge is hazard.Options.MaxAge's documented default: the window
// the weekly profile and the pools' evidence come from.
const profileMaxAge = 90 * 24 * time.Hour

// hazards forecasts the interruption hazard of many pools with the inputs
// hazard.ForPool reads, but with each cloud's events read once for all
// pools instead of twice per pool.
type hazards struct {
	store *storage.Store
	now   time.Time
	// per cloud
	events  map[string]map[string][]market.Event // cloud -> type -> events
	profile map[string]*hazard.Profile
	stats   map[string]hazard.ProfileStats
	recent  map[string][]market.Event
	scores  map[[2]string][]market.PlacementScore
	done    map[market.PoolKey]hazard.Forecast
}

func newHazards(st *storage.Store, now time.Time) *hazards {
	return &hazards{store: st, now: now, events: map[string]map[string][]market.Event{}, profile: map[string]*hazard.Profile{},
		stats: map[string]hazard.ProfileStats{}, recent: map[string][]market.Event{}, scores: map[[2]string][]market.PlacementScore{},
		done: map[market.PoolKey]hazard.Forecast{}}
}

// load reads a cloud's events before now and estimates its weekly profile.
func (h *hazards) load(ctx context.Context, cloud string) error {
	if _, ok := h.events[cloud]; ok {
		return nil
	}
	evs, err := h.store.Events(ctx, storage.EventFilter{Cloud: cloud, To: h.now})
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	byType := map[string][]market.Event{}
	var recent []market.Event
	for _, e := range evs {
		byType[e.InstanceType] = append(byType[e.InstanceType], e)
		if !e.Time.Before(h.now.Add(-profileMaxAge)) {
			recent = append(recent, e)
		}
	}
	prof, st := hazard.EstimateProfile(recent, h.now, hazard.ProfileOptions{MaxAge: profileMaxAge})
	h.events[cloud] = byType
	h.recent[cloud] = recent
	h.stats[cloud] = st
	if !st.Flat {
		h.profile[cloud] = &prof
	}
	return nil
}

// forecast returns the pool's hazard forecast for the week from now.
func (h *hazards) forecast(ctx context.Context, s *snapshot, p *poolSnap) (hazard.Forecast, error) {
	if f, ok := h.done[p.PoolKey]; ok {
		return f, nil
	}
	if err := h.load(ctx, p.Cloud); err != nil {
		return hazard.Forecast{}, err
	}
	in := hazard.Inputs{Pool: p.PoolKey, Profile: h.profile[p.Cloud], SpotPrice: p.price}
	adv, err := h.store.Advisor(ctx, p.Region, advisorOS(p.Product), p.InstanceType, h.now)
	switch {
	case err == nil:
		in.Advisor = &adv
	case !errors.Is(err, storage.ErrNotFound):
		return hazard.Forecast{}, err
	}
	sk := [2]string{p.Region, p.InstanceType}
	sc, ok := h.scores[sk]
	if !ok {
		if sc, err = h.store.PlacementScores(ctx, p.Region, p.InstanceType); err != nil {
			return hazard.Forecast{}, err
		}
		h.scores[sk] = sc
	}
	in.Score = pickScore(sc, p.Zone, h.now)
	if in.OnDemand, _, err = s.onDemand(ctx, p); err != nil {
		return hazard.Forecast{}, err
	}
	for _, e := range h.events[p.Cloud][p.InstanceType] {
		if e.Region == p.Region && (p.Zone == "" || e.Zone == p.Zone) {
			in.Events = append(in.Events, e)
		} else {
			in.Siblings = append(in.Siblings, e)
		}
	}
	f, err := hazard.Estimate(in, h.now, hazard.Options{})
	if err != nil {
		return hazard.Forecast{}, fmt.Errorf("hazard %s: %w", p.PoolKey, err)
	}
	h.done[p.PoolKey] = f
	return f, nil
}

// advisorOS maps a product description to the advisor's OS column, as
// hazard.ForPool does.
func advisorOS(product string) string {
	switch {
	case product == "":
		return ""
	case strings.Contains(strings.ToLower(product), "windows"):
		return "Windows"
	}
	return "Linux"
}

// pickScore chooses the placement score that speaks most directly about
// the pool, as hazard.ForPool does: its zone over its region, a request
// for fewer types over more, then the newest; later scores are unknown.
func pickScore(scores []market.PlacementScore, zone string, now time.Time) *market.PlacementScore {
	var best *market.PlacementScore
	rank := func(p market.PlacementScore) (int, int) {
		z := 1
		if zone != "" && p.Zone == zone {
			z = 0
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
		bz, bn := rank(*best)
		z, n := rank(p)
		if z < bz || (z == bz && (n < bn || (n == bn && p.Time.After(best.Time)))) {
			best = &scores[i]
		}
	}
	return best
}
