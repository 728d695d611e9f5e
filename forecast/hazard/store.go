package hazard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// ForPool reads a pool's inputs from the store and forecasts its hazard
// from now on:
//   - the newest advisor row at or before now for the pool's region, OS
//     (from the product: Windows or Linux) and type;
//   - the placement score for the pool's zone (else its region), from a
//     request for this type alone if there is one, newest at or before now;
//   - price pressure: the pool's spot price at now over the on-demand
//     price in effect at now (unknown if either is missing);
//   - the pool's own events before now, and as siblings the events of the
//     same instance type in every other zone;
//   - the weekly profile estimated from all of the cloud's events of the
//     last Options.MaxAge (flat when there are too few).
func ForPool(ctx context.Context, store *storage.Store, key market.PoolKey, now time.Time, opts Options) (Forecast, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Forecast{}, err
	}
	if key.InstanceType == "" {
		return Forecast{}, fmt.Errorf("pool %s: no instance type: %w", key, ErrInput)
	}
	if key.Cloud == "" {
		key.Cloud = market.AWS
	}
	region := key.Region
	if region == "" && key.Zone != "" {
		if region, err = market.RegionOfZone(key.Zone); err != nil {
			return Forecast{}, fmt.Errorf("pool %s: %w: %w", key, err, ErrInput)
		}
	}
	in := Inputs{Pool: key}

	adv, err := store.Advisor(ctx, region, advisorOS(key.Product), key.InstanceType, now)
	switch {
	case err == nil:
		in.Advisor = &adv
	case !errors.Is(err, storage.ErrNotFound):
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}

	scores, err := store.PlacementScores(ctx, region, key.InstanceType)
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}
	in.Score = pickScore(scores, key.Zone, now)

	if pts, err := store.Series(ctx, key, now.Add(-7*24*time.Hour), now.Add(time.Nanosecond)); err == nil && len(pts) > 0 {
		in.SpotPrice = pts[len(pts)-1].Price
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}
	if od, err := store.OnDemand(ctx, key.Cloud, region, key.InstanceType, key.Product, now); err == nil {
		in.OnDemand = od.Price
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}

	// All history up to now: an observation that started long ago still
	// says how many instances are running.
	typed, err := store.Events(ctx, storage.EventFilter{Cloud: key.Cloud, InstanceType: key.InstanceType, To: now})
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}
	for _, e := range typed {
		own := e.Region == region && (key.Zone == "" || e.Zone == key.Zone)
		if own {
			in.Events = append(in.Events, e)
		} else {
			in.Siblings = append(in.Siblings, e)
		}
	}

	all, err := store.Events(ctx, storage.EventFilter{Cloud: key.Cloud, From: now.Add(-o.MaxAge), To: now})
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}
	p, st := EstimateProfile(all, now, ProfileOptions{MaxAge: o.MaxAge})
	if !st.Flat {
		in.Profile = &p
	}
	f, err := Estimate(in, now, opts)
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", key, err)
	}
	if st.Flat {
		f.Prior += fmt.Sprintf("; weekly profile flat (%d events in %d pools, too few)", st.Events, st.Pools)
	} else {
		f.Prior += fmt.Sprintf("; weekly profile from %d events in %d pools", st.Events, st.Pools)
	}
	return f, nil
}

// advisorOS maps a product description to the advisor's OS column: the
// advisor has only Linux and Windows; "" lets the store prefer Linux.
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
// the pool: its zone over its region, a request for fewer types over
// more, then the newest; scores after now are not known yet.
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
