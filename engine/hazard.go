package engine

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

// HazardForPool reads a pool's inputs from the store and forecasts its hazard
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
// For many pools at once, HazardForPools reads the same inputs with fewer
// queries.
func HazardForPool(ctx context.Context, store *storage.Store, key market.PoolKey, now time.Time, opts hazard.Options) (hazard.Forecast, error) {
	b := NewHazardBatch(store, now, opts)
	// One pool needs only its type's events and the cloud's recent ones,
	// not the whole history of every type.
	b.perType = true
	return b.Forecast(ctx, HazardInput{Key: key})
}

// HazardForPools forecasts the hazard of many pools from now on, each as
// HazardForPool would, through one HazardBatch: each cloud's events are
// read once for all its pools (HazardForPool reads them twice per pool, which dominates its cost) and
// each region and type's placement scores once. The map is keyed by each
// HazardInput's Key as given.
func HazardForPools(ctx context.Context, store *storage.Store, pools []HazardInput, now time.Time, opts hazard.Options) (map[market.PoolKey]hazard.Forecast, error) {
	b := NewHazardBatch(store, now, opts)
	out := make(map[market.PoolKey]hazard.Forecast, len(pools))
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

// HazardInput names a pool to forecast, with what its caller already knows
// of it at the batch's instant.
type HazardInput struct {
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
	Profile *hazard.Profile
	Stats   hazard.ProfileStats
	// Recent are the cloud's events of the last Options.MaxAge before now,
	// in time order: what the profile is estimated from.
	Recent []market.Event
}

// HazardBatch reads the hazard inputs of many pools of one store at one
// instant (see HazardForPool for what they are), reading each cloud's events and each
// region and type's placement scores once and keeping them for the next
// pool. A HazardBatch is for one pass over a store that does not change under
// it; it is not safe for concurrent use.
type HazardBatch struct {
	store  *storage.Store
	now    time.Time
	opts   hazard.Options
	maxAge time.Duration
	err    error // from invalid options: every method returns it
	// perType reads the events of one instance type at a time (and the
	// cloud's recent ones for the profile) instead of all of the cloud's.
	perType bool
	// bulk holds the advisor rows, on-demand prices and placement scores
	// of the whole store at now (Preload); nil reads them per pool.
	bulk   *hazardBulk
	clouds map[string]*cloudEvents
	typed  map[[2]string][]market.Event // perType: (cloud, type) -> events
	scores map[[2]string][]market.PlacementScore
	// signals: (cloud, region) -> the capacity signals at or before now
	// (other clouds than AWS); zones: (cloud, region) -> its zone names
	// and IDs. Both are read once per region, or all at once by Preload.
	signals map[[2]string][]market.CapacitySignal
	zones   map[[2]string]zoneNames
}

type cloudEvents struct {
	CloudProfile
	byType map[string][]market.Event // every event before now; nil when perType
}

// HazardBatch starts a batch of hazard forecasts from now over the
// engine's store.
func (e *Engine) HazardBatch(now time.Time, opts hazard.Options) *HazardBatch {
	return NewHazardBatch(e.store, now, opts)
}

// NewHazardBatch starts a batch of forecasts from now with opts. Invalid options
// are reported by every method.
func NewHazardBatch(store *storage.Store, now time.Time, opts hazard.Options) *HazardBatch {
	maxAge, err := opts.EvidenceAge()
	return &HazardBatch{store: store, now: now, opts: opts, maxAge: maxAge, err: err,
		clouds: map[string]*cloudEvents{}, typed: map[[2]string][]market.Event{}, scores: map[[2]string][]market.PlacementScore{},
		signals: map[[2]string][]market.CapacitySignal{}, zones: map[[2]string]zoneNames{}}
}

// Forecast forecasts p's hazard from the batch's instant on, with the
// batch's options; its Prior ends with a note on the cloud's weekly
// profile.
func (b *HazardBatch) Forecast(ctx context.Context, p HazardInput) (hazard.Forecast, error) {
	return b.forecastWith(ctx, p, b.opts)
}

// forecastWith is Forecast with other options for hazard.Estimate.
func (b *HazardBatch) forecastWith(ctx context.Context, p HazardInput, opts hazard.Options) (hazard.Forecast, error) {
	in, err := b.Inputs(ctx, p)
	if err != nil {
		return hazard.Forecast{}, err
	}
	return b.estimate(ctx, in, opts)
}

// estimate is hazard.Estimate of inputs read by Inputs, its prior noting
// the cloud's weekly profile.
func (b *HazardBatch) estimate(ctx context.Context, in hazard.Inputs, opts hazard.Options) (hazard.Forecast, error) {
	cp, err := b.Profile(ctx, in.Pool.Cloud)
	if err != nil {
		return hazard.Forecast{}, fmt.Errorf("hazard %s: %w", in.Pool, err)
	}
	f, err := hazard.Estimate(in, b.now, opts)
	if err != nil {
		return hazard.Forecast{}, fmt.Errorf("hazard %s: %w", in.Pool, err)
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
func (b *HazardBatch) Inputs(ctx context.Context, p HazardInput) (hazard.Inputs, error) {
	if b.err != nil {
		return hazard.Inputs{}, b.err
	}
	key := p.Key
	if key.InstanceType == "" {
		return hazard.Inputs{}, fmt.Errorf("pool %s: no instance type: %w", key, hazard.ErrInput)
	}
	if key.Cloud == "" {
		key.Cloud = market.AWS
	}
	region := key.Region
	if region == "" && key.Zone != "" {
		var err error
		if region, err = market.RegionOfZone(key.Zone); err != nil {
			return hazard.Inputs{}, fmt.Errorf("pool %s: %w: %w", key, err, hazard.ErrInput)
		}
	}
	in := hazard.Inputs{Pool: key}
	fail := func(err error) (hazard.Inputs, error) { return hazard.Inputs{}, fmt.Errorf("hazard %s: %w", key, err) }

	if key.Cloud == market.AWS {
		if err := b.awsSignals(ctx, key, region, &in); err != nil {
			return fail(err)
		}
	} else {
		sigs, err := b.cloudSignals(ctx, key.Cloud, region)
		if err != nil {
			return fail(err)
		}
		sigs = poolSignals(sigs, key)
		if cp, ok := hazard.PickCloudPrior(sigs, key.Zone, b.now); ok {
			in.CloudPrior = &cp
		}
		in.Obtainability = hazard.PickObtainability(sigs, key.Zone, b.now)
	}

	if p.SpotPrice != nil {
		in.SpotPrice = *p.SpotPrice
	} else if pts, err := b.store.SeriesOf(ctx, key, p.Resolution, b.now.Add(-7*24*time.Hour), b.now.Add(time.Nanosecond)); err == nil && len(pts) > 0 {
		if pts, _ = plausiblePoints(pts); len(pts) > 0 {
			in.SpotPrice = pts[len(pts)-1].Price
		}
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fail(err)
	}
	if p.OnDemand != nil {
		in.OnDemand = *p.OnDemand
	} else if b.bulk != nil {
		in.OnDemand = b.bulk.onDemand(key.Cloud, region, key.InstanceType, key.Product).Price
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
func (b *HazardBatch) Profile(ctx context.Context, cloud string) (CloudProfile, error) {
	c, err := b.cloud(ctx, cloud)
	if err != nil {
		return CloudProfile{}, err
	}
	return c.CloudProfile, nil
}

// cloud reads the cloud's events once: all of them before now, or with
// perType only the recent ones the profile needs.
func (b *HazardBatch) cloud(ctx context.Context, cloud string) (*cloudEvents, error) {
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
	p, st := hazard.EstimateProfile(c.Recent, b.now, hazard.ProfileOptions{MaxAge: b.maxAge})
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
func (b *HazardBatch) events(ctx context.Context, cloud, instanceType string) ([]market.Event, error) {
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

// hazardBulk is every pool's advisor row, on-demand price and placement
// scores at one instant, read in three queries.
type hazardBulk struct {
	adv map[[3]string]market.AdvisorRow // (region, os, type)
	// advAny: (region, type) -> the row Advisor gives for os "": the
	// newest snapshot, Linux first, then by os.
	advAny map[[2]string]market.AdvisorRow
	od     map[[3]string][]market.OnDemandPrice // (cloud, region, type) -> one per product
}

// Preload reads, for every pool of the store at once, what Inputs would
// read per pool (advisor rows, on-demand prices, placement scores,
// capacity signals, zone IDs) and the events of the given clouds.
// Afterwards Inputs and Forecast read no table and are safe for
// concurrent use, as long as SpotPrice is given and only the preloaded
// clouds are asked for.
func (b *HazardBatch) Preload(ctx context.Context, clouds []string) error {
	if b.err != nil {
		return b.err
	}
	advs, err := b.store.AdvisorAt(ctx, b.now)
	if err != nil {
		return err
	}
	ods, err := b.store.OnDemandAt(ctx, b.now)
	if err != nil {
		return err
	}
	scores, err := b.store.PlacementScores(ctx, "", "")
	if err != nil {
		return err
	}
	sigs, err := b.store.CapacitySignals(ctx, storage.SignalFilter{At: b.now})
	if err != nil {
		return err
	}
	zids, err := b.store.ZoneIDs(ctx, "", "")
	if err != nil {
		return err
	}
	b.signals = map[[2]string][]market.CapacitySignal{}
	for _, sg := range sigs {
		k := [2]string{sg.Cloud, sg.Region}
		b.signals[k] = append(b.signals[k], sg)
	}
	b.zones = map[[2]string]zoneNames{}
	for _, z := range zids {
		k := [2]string{z.Cloud, z.Region}
		b.zones[k] = append(b.zones[k], z)
	}
	bulk := &hazardBulk{adv: map[[3]string]market.AdvisorRow{}, advAny: map[[2]string]market.AdvisorRow{}, od: map[[3]string][]market.OnDemandPrice{}}
	for _, a := range advs {
		bulk.adv[[3]string{a.Region, a.OS, a.InstanceType}] = a
		k := [2]string{a.Region, a.InstanceType}
		if cur, ok := bulk.advAny[k]; !ok || advisorBefore(a, cur) {
			bulk.advAny[k] = a
		}
	}
	for _, o := range ods {
		k := [3]string{o.Cloud, o.Region, o.InstanceType}
		bulk.od[k] = append(bulk.od[k], o)
	}
	// The scores of a (region, type) are those of every request naming the
	// type, in the store's order, as PlacementScores returns them.
	b.scores = map[[2]string][]market.PlacementScore{}
	for _, sc := range scores {
		for _, t := range sc.InstanceTypes {
			k := [2]string{sc.Region, t}
			b.scores[k] = append(b.scores[k], sc)
		}
	}
	for _, c := range clouds {
		if _, err := b.cloud(ctx, c); err != nil {
			return err
		}
	}
	b.bulk = bulk
	return nil
}

// advisorBefore orders advisor rows as Advisor does for os "": newer
// snapshot first, then Linux, then by os.
func advisorBefore(a, b market.AdvisorRow) bool {
	if !a.Snapshot.Equal(b.Snapshot) {
		return a.Snapshot.After(b.Snapshot)
	}
	if (a.OS == "Linux") != (b.OS == "Linux") {
		return a.OS == "Linux"
	}
	return a.OS < b.OS
}

func (h *hazardBulk) advisor(region, os, typ string) *market.AdvisorRow {
	var a market.AdvisorRow
	var ok bool
	if os == "" {
		a, ok = h.advAny[[2]string{region, typ}]
	} else {
		a, ok = h.adv[[3]string{region, os, typ}]
	}
	if !ok {
		return nil
	}
	return &a
}

// onDemand is what OnDemand answers: the product's price, or for product
// "" the Linux (or product-less) price first, then the newest, then by
// product; zero when none is stored.
func (h *hazardBulk) onDemand(cloud, region, typ, product string) market.OnDemandPrice {
	var best market.OnDemandPrice
	found := false
	linux := func(o market.OnDemandPrice) bool {
		return o.Product == "" || strings.HasPrefix(strings.ToLower(o.Product), "linux")
	}
	for _, o := range h.od[[3]string{cloud, region, typ}] {
		if product != "" {
			if o.Product == product {
				return o
			}
			continue
		}
		switch {
		case !found:
		case linux(o) != linux(best):
			if !linux(o) {
				continue
			}
		case !o.Date.Equal(best.Date):
			if o.Date.Before(best.Date) {
				continue
			}
		case o.Product >= best.Product:
			continue
		}
		best, found = o, true
	}
	return best
}
