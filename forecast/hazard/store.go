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
//
// For many pools at once, ForPools reads the same inputs with fewer
// queries.
func ForPool(ctx context.Context, store *storage.Store, key market.PoolKey, now time.Time, opts Options) (Forecast, error) {
	b := NewBatch(store, now, opts)
	// One pool needs only its type's events and the cloud's recent ones,
	// not the whole history of every type.
	b.perType = true
	return b.Forecast(ctx, PoolInput{Key: key})
}

// ForPools forecasts the hazard of many pools from now on, each as ForPool
// would, through one Batch: each cloud's events are read once for all its
// pools (ForPool reads them twice per pool, which dominates its cost) and
// each region and type's placement scores once. The map is keyed by each
// PoolInput's Key as given.
func ForPools(ctx context.Context, store *storage.Store, pools []PoolInput, now time.Time, opts Options) (map[market.PoolKey]Forecast, error) {
	b := NewBatch(store, now, opts)
	out := make(map[market.PoolKey]Forecast, len(pools))
	for _, p := range pools {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := b.Forecast(ctx, p)
		if err != nil {
			return nil, err
		}
		out[p.Key] = f
	}
	return out, nil
}

// PoolInput names a pool to forecast, with what its caller already knows
// of it at the batch's instant.
type PoolInput struct {
	Key market.PoolKey
	// Resolution of the series the spot price is read from when SpotPrice
	// is nil ("" prefers the change series, as storage.Store.Series).
	Resolution string
	// SpotPrice and OnDemand, when not nil, are the pool's spot price and
	// on-demand price at now as the caller read them (0: unknown); nil
	// reads them from the store.
	SpotPrice, OnDemand *float64
}

// CloudProfile is a cloud's weekly interruption profile at a batch's
// instant.
type CloudProfile struct {
	// Profile is nil when there are too few events (Stats.Flat).
	Profile *Profile
	Stats   ProfileStats
	// Recent are the cloud's events of the last Options.MaxAge before now,
	// in time order: what the profile is estimated from.
	Recent []market.Event
}

// Batch reads the hazard inputs of many pools of one store at one instant
// (see ForPool for what they are), reading each cloud's events and each
// region and type's placement scores once and keeping them for the next
// pool. A Batch is for one pass over a store that does not change under
// it; it is not safe for concurrent use.
type Batch struct {
	store  *storage.Store
	now    time.Time
	opts   Options
	maxAge time.Duration
	err    error // from invalid options: every method returns it
	// perType reads the events of one instance type at a time (and the
	// cloud's recent ones for the profile) instead of all of the cloud's.
	perType bool
	clouds  map[string]*cloudEvents
	typed   map[[2]string][]market.Event // perType: (cloud, type) -> events
	scores  map[[2]string][]market.PlacementScore
}

type cloudEvents struct {
	CloudProfile
	byType map[string][]market.Event // every event before now; nil when perType
}

// NewBatch starts a batch of forecasts from now with opts. Invalid options
// are reported by every method.
func NewBatch(store *storage.Store, now time.Time, opts Options) *Batch {
	o, err := opts.withDefaults()
	return &Batch{store: store, now: now, opts: opts, maxAge: o.MaxAge, err: err,
		clouds: map[string]*cloudEvents{}, typed: map[[2]string][]market.Event{}, scores: map[[2]string][]market.PlacementScore{}}
}

// Forecast forecasts p's hazard from the batch's instant on, with the
// batch's options; its Prior ends with a note on the cloud's weekly
// profile.
func (b *Batch) Forecast(ctx context.Context, p PoolInput) (Forecast, error) {
	in, err := b.Inputs(ctx, p)
	if err != nil {
		return Forecast{}, err
	}
	cp, err := b.Profile(ctx, in.Pool.Cloud)
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", in.Pool, err)
	}
	f, err := Estimate(in, b.now, b.opts)
	if err != nil {
		return Forecast{}, fmt.Errorf("hazard %s: %w", in.Pool, err)
	}
	if st := cp.Stats; st.Flat {
		f.Prior += fmt.Sprintf("; weekly profile flat (%d events in %d pools, too few)", st.Events, st.Pools)
	} else {
		f.Prior += fmt.Sprintf("; weekly profile from %d events in %d pools", st.Events, st.Pools)
	}
	return f, nil
}

// Inputs reads what Estimate needs to know of p at the batch's instant.
// An empty cloud is AWS; an empty region is the zone's.
func (b *Batch) Inputs(ctx context.Context, p PoolInput) (Inputs, error) {
	if b.err != nil {
		return Inputs{}, b.err
	}
	key := p.Key
	if key.InstanceType == "" {
		return Inputs{}, fmt.Errorf("pool %s: no instance type: %w", key, ErrInput)
	}
	if key.Cloud == "" {
		key.Cloud = market.AWS
	}
	region := key.Region
	if region == "" && key.Zone != "" {
		var err error
		if region, err = market.RegionOfZone(key.Zone); err != nil {
			return Inputs{}, fmt.Errorf("pool %s: %w: %w", key, err, ErrInput)
		}
	}
	in := Inputs{Pool: key}
	fail := func(err error) (Inputs, error) { return Inputs{}, fmt.Errorf("hazard %s: %w", key, err) }

	adv, err := b.store.Advisor(ctx, region, AdvisorOS(key.Product), key.InstanceType, b.now)
	switch {
	case err == nil:
		in.Advisor = &adv
	case !errors.Is(err, storage.ErrNotFound):
		return fail(err)
	}

	sk := [2]string{region, key.InstanceType}
	scores, ok := b.scores[sk]
	if !ok {
		if scores, err = b.store.PlacementScores(ctx, region, key.InstanceType); err != nil {
			return fail(err)
		}
		b.scores[sk] = scores
	}
	in.Score = PickScore(scores, key.Zone, b.now)

	if p.SpotPrice != nil {
		in.SpotPrice = *p.SpotPrice
	} else if pts, err := b.store.SeriesOf(ctx, key, p.Resolution, b.now.Add(-7*24*time.Hour), b.now.Add(time.Nanosecond)); err == nil && len(pts) > 0 {
		in.SpotPrice = pts[len(pts)-1].Price
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fail(err)
	}
	if p.OnDemand != nil {
		in.OnDemand = *p.OnDemand
	} else if od, err := b.store.OnDemand(ctx, key.Cloud, region, key.InstanceType, key.Product, b.now); err == nil {
		in.OnDemand = od.Price
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fail(err)
	}

	typed, err := b.events(ctx, key.Cloud, key.InstanceType)
	if err != nil {
		return fail(err)
	}
	for _, e := range typed {
		if e.Region == region && (key.Zone == "" || e.Zone == key.Zone) {
			in.Events = append(in.Events, e)
		} else {
			in.Siblings = append(in.Siblings, e)
		}
	}
	cp, err := b.Profile(ctx, key.Cloud)
	if err != nil {
		return fail(err)
	}
	in.Profile = cp.Profile
	return in, nil
}

// Profile is the cloud's weekly profile estimated from its events of the
// last Options.MaxAge before the batch's instant.
func (b *Batch) Profile(ctx context.Context, cloud string) (CloudProfile, error) {
	c, err := b.cloud(ctx, cloud)
	if err != nil {
		return CloudProfile{}, err
	}
	return c.CloudProfile, nil
}

// cloud reads the cloud's events once: all of them before now, or with
// perType only the recent ones the profile needs.
func (b *Batch) cloud(ctx context.Context, cloud string) (*cloudEvents, error) {
	if b.err != nil {
		return nil, b.err
	}
	if c, ok := b.clouds[cloud]; ok {
		return c, nil
	}
	from := b.now.Add(-b.maxAge)
	c := &cloudEvents{}
	if b.perType {
		evs, err := b.store.Events(ctx, storage.EventFilter{Cloud: cloud, From: from, To: b.now})
		if err != nil {
			return nil, err
		}
		c.Recent = evs
	} else {
		evs, err := b.store.Events(ctx, storage.EventFilter{Cloud: cloud, To: b.now})
		if err != nil {
			return nil, err
		}
		c.byType = map[string][]market.Event{}
		for _, e := range evs {
			c.byType[e.InstanceType] = append(c.byType[e.InstanceType], e)
			if !e.Time.Before(from) {
				c.Recent = append(c.Recent, e)
			}
		}
	}
	p, st := EstimateProfile(c.Recent, b.now, ProfileOptions{MaxAge: b.maxAge})
	c.Stats = st
	if !st.Flat {
		c.Profile = &p
	}
	b.clouds[cloud] = c
	return c, nil
}

// events are the cloud's events of one instance type before now, all
// history: an observation that started long ago still says how many
// instances are running.
func (b *Batch) events(ctx context.Context, cloud, instanceType string) ([]market.Event, error) {
	if !b.perType {
		c, err := b.cloud(ctx, cloud)
		if err != nil {
			return nil, err
		}
		return c.byType[instanceType], nil
	}
	k := [2]string{cloud, instanceType}
	if evs, ok := b.typed[k]; ok {
		return evs, nil
	}
	evs, err := b.store.Events(ctx, storage.EventFilter{Cloud: cloud, InstanceType: instanceType, To: b.now})
	if err != nil {
		return nil, err
	}
	b.typed[k] = evs
	return evs, nil
}

// AdvisorOS maps a product description to the advisor's OS column: the
// advisor has only Linux and Windows; "" lets the store prefer Linux.
func AdvisorOS(product string) string {
	switch {
	case product == "":
		return ""
	case strings.Contains(strings.ToLower(product), "windows"):
		return "Windows"
	default:
		return "Linux"
	}
}

// PickScore chooses the placement score that speaks most directly about
// the pool in zone: its zone over its region, a request for fewer types
// over more, then the newest; scores after now are not known yet, and
// scores for other zones say nothing of this one.
func PickScore(scores []market.PlacementScore, zone string, now time.Time) *market.PlacementScore {
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
