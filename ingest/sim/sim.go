// Package sim is spotcast's market simulator: a seeded, deterministic AWS
// spot market with GPU and CPU pools in three regions, written through an
// ingest.Sink with source "simulated" on every row. It fills the store for
// `serve --demo` and `make run` without AWS credentials, and its Truth
// exposes the parameters and realised paths behind every row, so forecasts
// and recommendations can be checked against known answers.
//
// What is simulated (see PriceParams and HazardParams for the equations):
//   - prices: a step function per pool (only change points, like
//     DescribeSpotPriceHistory), a few changes a day or none for days, a
//     mean-reverting log price 55-75% below on-demand, cheaper at local
//     night, calmer at weekends, lifted by occasional capacity crunches
//     that hit several zones of a region at once;
//   - interruptions: a fleet of Fleet instances per pool, each interrupted
//     at the pool's hazard (published per-GPU-family figures, advisor-based
//     figures elsewhere, x0.6 on local weekends, higher when the price nears
//     on-demand) and relaunched;
//   - the catalogue, on-demand prices, weekly Spot Advisor snapshots and
//     daily Placement Scores consistent with that hazard.
//
// The package also simulates the full market (full.go): the whole AWS
// catalogue over the 17 default regions at the real market's scale, for
// benchmarks, written as a per-AZ CSV or into a store.
//
// Events follow one convention so exposure can be computed from events
// alone: every instance's life opens with observation-start (at Start) or
// launched, and closes with preempted (the interruption, 2 minutes after
// its interruption-warning) or observation-end (at End); each carries the
// instance id and Count 1. Rebalance recommendations precede some
// interruptions and also arrive without one.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// Summary counts what Generate wrote, per table.
type Summary struct {
	Seed            uint64    `json:"seed"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	Pools           int       `json:"pools"`
	Prices          int64     `json:"prices"`
	Advisor         int64     `json:"advisor"`
	InstanceTypes   int64     `json:"instance_types"`
	OnDemand        int64     `json:"ondemand_prices"`
	PlacementScores int64     `json:"placement_scores"`
	Events          int64     `json:"events"`
	Interruptions   int64     `json:"interruptions"`
}

// Tables returns the row counts keyed by the store's table names.
func (s Summary) Tables() map[string]int64 {
	return map[string]int64{
		"prices":           s.Prices,
		"advisor":          s.Advisor,
		"instance_types":   s.InstanceTypes,
		"ondemand_prices":  s.OnDemand,
		"placement_scores": s.PlacementScores,
		"events":           s.Events,
	}
}

// Rows is the total number of rows written.
func (s Summary) Rows() int64 {
	var n int64
	for _, v := range s.Tables() {
		n += v
	}
	return n
}

// Generate simulates cfg's market and writes it to sink: the catalogue,
// on-demand prices, price change points on [Start, End), interruption
// events, advisor snapshots and placement scores. Every row's Source is
// market.SourceSimulated and FetchedAt is cfg.Now(). NewTruth(cfg) returns
// the truth behind the rows.
func Generate(cfg Config, sink ingest.Sink) (Summary, error) {
	tr, err := NewTruth(cfg)
	if err != nil {
		return Summary{}, err
	}
	return tr.Write(sink)
}

// Write writes the truth's market to sink (see Generate).
func (tr *Truth) Write(sink ingest.Sink) (Summary, error) {
	sum := Summary{Seed: tr.Seed, Start: tr.Start, End: tr.End, Pools: len(tr.Pools)}
	w := writer{tr: tr, sink: sink, sum: &sum}
	steps := []func() error{w.catalogue, w.prices, w.events, w.advisor, w.placement}
	for _, step := range steps {
		if err := step(); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

type writer struct {
	tr   *Truth
	sink ingest.Sink
	sum  *Summary
}

func (w writer) catalogue() error {
	date := w.tr.Start.Truncate(24 * time.Hour)
	seen := map[string]bool{}
	for _, p := range w.tr.Pools {
		ty := p.Type
		if !seen[ty.Name] {
			seen[ty.Name] = true
			it := market.InstanceType{
				Cloud: market.AWS, Name: ty.Name, VCPU: ty.VCPU, MemoryGiB: ty.MemoryGiB, Arch: "x86_64",
				Source: market.SourceSimulated, FetchedAt: w.tr.Now,
			}
			if ty.GPU() {
				it.GPUModel, it.GPUManufacturer, it.GPUCount, it.GPUMemoryGiB = ty.GPUModel, "NVIDIA", ty.GPUCount, ty.GPUMemoryGiB
			}
			if err := w.sink.AddInstanceType(it); err != nil {
				return fmt.Errorf("instance type %s: %w", ty.Name, err)
			}
			w.sum.InstanceTypes++
		}
		rk := p.Region.Name + "/" + ty.Name
		if !seen[rk] {
			seen[rk] = true
			od := market.OnDemandPrice{
				Cloud: market.AWS, Region: p.Region.Name, InstanceType: ty.Name, Product: Product,
				Date: date, Price: p.OnDemand, Source: market.SourceSimulated, FetchedAt: w.tr.Now,
			}
			if err := w.sink.AddOnDemand(od); err != nil {
				return fmt.Errorf("on-demand price %s: %w", rk, err)
			}
			w.sum.OnDemand++
		}
	}
	return nil
}

func (w writer) prices() error {
	for _, p := range w.tr.Pools {
		for _, pt := range p.PriceChanges(w.tr.Start, w.tr.End) {
			pt.FetchedAt = w.tr.Now
			if err := w.sink.AddPrice(pt); err != nil {
				return fmt.Errorf("price %s at %s: %w", p.Key, pt.Time.Format(time.RFC3339), err)
			}
			w.sum.Prices++
		}
	}
	return nil
}

func (w writer) events() error {
	for _, p := range w.tr.Pools {
		evs := p.simulateEvents(w.tr.Seed, w.tr.End)
		for _, e := range evs {
			e.FetchedAt = w.tr.Now
			if err := w.sink.AddEvent(e); err != nil {
				return fmt.Errorf("event %s %s at %s: %w", e.Kind, p.Key, e.Time.Format(time.RFC3339), err)
			}
			w.sum.Events++
			if e.Kind == market.EventPreempted {
				w.sum.Interruptions++
			}
		}
	}
	return nil
}

// kindOrder orders events that share a second: an instance's life opens
// before anything happens to it and closes last.
var kindOrder = map[string]int{
	market.EventObservationStart:    0,
	market.EventLaunched:            1,
	market.EventRebalance:           2,
	market.EventInterruptionWarning: 3,
	market.EventPreempted:           4,
	market.EventObservationEnd:      5,
}

// simulateEvents runs the pool's fleet over [Start, end) and returns its
// events in time order.
func (p *PoolTruth) simulateEvents(seed uint64, end time.Time) []market.Event {
	r := stream(seed, "events", p.Key.String())
	hm := p.HazardModel
	limit := p.sec(end)
	var evs []market.Event
	add := func(s int64, kind, id string) {
		evs = append(evs, market.Event{
			Time: p.at(s), Cloud: p.Key.Cloud, Region: p.Key.Region, Zone: p.Key.Zone,
			InstanceType: p.Key.InstanceType, InstanceID: id, Kind: kind, Count: 1,
			EventID: eventID(r), Source: market.SourceSimulated,
		})
	}
	for slot := 0; slot < p.Fleet; slot++ {
		t, kind := int64(0), market.EventObservationStart
		for t < limit {
			id := fmt.Sprintf("i-0%016x", r.Uint64())
			add(t, kind, id)
			stop, interrupted := p.arrival(t, r.ExpFloat64(), 1, limit)
			if !interrupted {
				stop = limit
			}
			// Rebalance recommendations not followed by an interruption.
			for u := t; ; {
				var ok bool
				if u, ok = p.arrival(u, r.ExpFloat64(), hm.FalseRebalanceRatio, stop); !ok {
					break
				}
				add(u, market.EventRebalance, id)
			}
			if !interrupted {
				add(limit, market.EventObservationEnd, id)
				break
			}
			if r.Float64() < hm.RebalanceShare {
				lead := 120 + int64(r.ExpFloat64()*hm.RebalanceLead.Seconds())
				add(max(t, stop-lead), market.EventRebalance, id)
			}
			add(max(t, stop-120), market.EventInterruptionWarning, id)
			add(stop, market.EventPreempted, id)
			t = stop + 60 + int64(r.ExpFloat64()*hm.Relaunch.Seconds())
			kind = market.EventLaunched
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].Time.Equal(evs[j].Time) {
			return evs[i].Time.Before(evs[j].Time)
		}
		return kindOrder[evs[i].Kind] < kindOrder[evs[j].Kind]
	})
	return evs
}

// eventID draws an id in the shape of EventBridge's (a version-4 UUID).
func eventID(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// advisorWindow is the trailing window the Spot Advisor summarises; a
// snapshot is written every advisorEvery, back from End's UTC midnight,
// while its window holds at least advisorMinSpan of simulated time.
const (
	advisorWindow   = 30 * 24 * time.Hour
	advisorEvery    = 7 * 24 * time.Hour
	advisorMinSpan  = 7 * 24 * time.Hour
	placementWindow = 24 * time.Hour
)

// AdvisorSnapshots returns the snapshot dates Generate writes advisor rows
// for, newest first.
func (tr *Truth) AdvisorSnapshots() []time.Time {
	var out []time.Time
	for snap := tr.End.Truncate(24 * time.Hour); ; snap = snap.Add(-advisorEvery) {
		from := snap.Add(-advisorWindow)
		if from.Before(tr.Start) {
			from = tr.Start
		}
		if snap.Sub(from) < advisorMinSpan {
			return out
		}
		out = append(out, snap)
	}
}

// AdvisorTruth is the mean hazard and savings the advisor row of an
// instance type in a region summarises at snapshot snap: the hazard and the
// spot/on-demand ratio averaged over time in [snap-30d, snap) (clipped to
// Start) and over the region's zones.
func (tr *Truth) AdvisorTruth(region, instanceType string, snap time.Time) (hazard, savings float64, err error) {
	from := snap.Add(-advisorWindow)
	if from.Before(tr.Start) {
		from = tr.Start
	}
	var n int
	for _, p := range tr.Pools {
		if p.Key.Region != region || p.Key.InstanceType != instanceType {
			continue
		}
		segs, err := p.Segments(from, snap)
		if err != nil {
			return 0, 0, err
		}
		var h, ratio float64
		for _, s := range segs {
			d := s.To.Sub(s.From).Hours()
			h += s.Hazard * d
			ratio += s.Price / p.OnDemand * d
		}
		span := snap.Sub(from).Hours()
		hazard += h / span
		savings += 1 - ratio/span
		n++
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("%s in %s: %w", instanceType, region, ErrUnknownPool)
	}
	return hazard / float64(n), savings / float64(n), nil
}

func (w writer) advisor() error {
	var keys [][2]string
	for _, p := range w.tr.Pools {
		k := [2]string{p.Region.Name, p.Type.Name}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, snap := range w.tr.AdvisorSnapshots() {
		for _, k := range keys {
			h, savings, err := w.tr.AdvisorTruth(k[0], k[1], snap)
			if err != nil {
				return err
			}
			row := market.AdvisorRow{
				Region: k[0], OS: "Linux", InstanceType: k[1],
				Bucket: AdvisorBucket(MonthlyFrequency(h)), SavingsPct: int(math.Round(100 * savings)),
				Snapshot: snap, Source: market.SourceSimulated, FetchedAt: w.tr.Now,
			}
			if err := w.sink.AddAdvisor(row); err != nil {
				return fmt.Errorf("advisor %s %s: %w", k[0], k[1], err)
			}
			w.sum.Advisor++
		}
	}
	return nil
}

// PlacementTimes returns the times Generate writes placement scores for:
// every 24 hours after Start up to End. The score at t reflects the
// preceding 24 hours.
func (tr *Truth) PlacementTimes() []time.Time {
	var out []time.Time
	for t := tr.Start.Add(placementWindow); !t.After(tr.End); t = t.Add(placementWindow) {
		out = append(out, t)
	}
	return out
}

func (w writer) placement() error {
	type regType struct{ region, typ string }
	for _, at := range w.tr.PlacementTimes() {
		from := at.Add(-placementWindow)
		best := map[regType]int{}
		var order []regType
		for _, p := range w.tr.Pools {
			// The window ends at at <= End <= Until, so Segments covers it.
			h, err := p.IntegratedHazard(from, at)
			if err != nil {
				return err
			}
			score := PlacementScoreFor(h / placementWindow.Hours())
			ps := market.PlacementScore{
				Region: p.Key.Region, Zone: p.Key.Zone, InstanceTypes: []string{p.Key.InstanceType},
				TargetCapacity: 1, CapacityUnit: "units", Score: score, Time: at,
				Source: market.SourceSimulated, FetchedAt: w.tr.Now,
			}
			if err := w.sink.AddPlacementScore(ps); err != nil {
				return fmt.Errorf("placement score %s: %w", p.Key, err)
			}
			w.sum.PlacementScores++
			k := regType{p.Key.Region, p.Key.InstanceType}
			if _, ok := best[k]; !ok {
				order = append(order, k)
			}
			best[k] = max(best[k], score)
		}
		// A region-level request can land in its best zone.
		for _, k := range order {
			ps := market.PlacementScore{
				Region: k.region, InstanceTypes: []string{k.typ}, TargetCapacity: 1, CapacityUnit: "units",
				Score: best[k], Time: at, Source: market.SourceSimulated, FetchedAt: w.tr.Now,
			}
			if err := w.sink.AddPlacementScore(ps); err != nil {
				return fmt.Errorf("placement score %s %s: %w", k.region, k.typ, err)
			}
			w.sum.PlacementScores++
		}
	}
	return nil
}
