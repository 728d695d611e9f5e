package sim_test

import (
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/spotcast/spotcast/ingest/ingesttest"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
)

// collect is the in-memory sink the simulator writes to in tests.
type collect = ingesttest.Collector

// now is a fixed clock, 12:34:56 on a Thursday.
var now = time.Date(2026, 1, 15, 12, 34, 56, 0, time.UTC)

func clock() time.Time { return now }

type run struct {
	cfg   sim.Config
	sum   sim.Summary
	rows  *collect
	truth *sim.Truth
}

var runs = map[uint64]*run{}

// generate runs the default market for a seed once per test binary.
func generate(t testing.TB, seed uint64) *run {
	t.Helper()
	if r, ok := runs[seed]; ok {
		return r
	}
	cfg := sim.Config{Seed: seed, Days: 30, Now: clock}
	r := &run{cfg: cfg, rows: &collect{}}
	var err error
	if r.sum, err = sim.Generate(cfg, r.rows); err != nil {
		t.Fatalf("generate seed %d: %v", seed, err)
	}
	if r.truth, err = sim.NewTruth(cfg); err != nil {
		t.Fatalf("truth seed %d: %v", seed, err)
	}
	runs[seed] = r
	return r
}

func TestDeterministic(t *testing.T) {
	a := generate(t, 1)
	b := &collect{}
	if _, err := sim.Generate(a.cfg, b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.rows, b) {
		t.Fatal("two runs with seed 1 and the same clock differ")
	}
	c := generate(t, 2)
	if reflect.DeepEqual(a.rows.Prices, c.rows.Prices) {
		t.Fatal("seeds 1 and 2 produced the same prices")
	}
	if reflect.DeepEqual(a.rows.Events, c.rows.Events) {
		t.Fatal("seeds 1 and 2 produced the same events")
	}
}

// A pool's rows depend only on the seed, the clock and the pool: a longer
// holdout or a smaller market changes nothing that is written for it.
func TestPoolIndependence(t *testing.T) {
	full := generate(t, 1)
	for _, cfg := range []sim.Config{
		{Seed: 1, Days: 30, Now: clock, Holdout: 14 * 24 * time.Hour},
		{Seed: 1, Days: 30, Now: clock, Regions: []string{"eu-west-1"}, Types: []string{"p3.2xlarge", "m5.large"}},
	} {
		sub := &collect{}
		if _, err := sim.Generate(cfg, sub); err != nil {
			t.Fatal(err)
		}
		keep := map[market.PoolKey]bool{}
		for _, p := range sub.Prices {
			keep[p.Pool] = true
		}
		var want []market.PricePoint
		for _, p := range full.rows.Prices {
			if keep[p.Pool] {
				want = append(want, p)
			}
		}
		if len(want) == 0 || !reflect.DeepEqual(want, sub.Prices) {
			t.Errorf("regions %v types %v holdout %s: prices differ from the full market's (%d vs %d points)",
				cfg.Regions, cfg.Types, cfg.Holdout, len(sub.Prices), len(want))
		}
		var wantEv []market.Event
		for _, e := range full.rows.Events {
			if keep[market.PoolKey{Cloud: e.Cloud, Region: e.Region, Zone: e.Zone, InstanceType: e.InstanceType, Product: sim.Product}] {
				wantEv = append(wantEv, e)
			}
		}
		if !reflect.DeepEqual(wantEv, sub.Events) {
			t.Errorf("regions %v types %v holdout %s: events differ from the full market's", cfg.Regions, cfg.Types, cfg.Holdout)
		}
	}
}

func TestSummaryCounts(t *testing.T) {
	r := generate(t, 1)
	got := r.sum.Tables()
	want := map[string]int64{
		"prices":           int64(len(r.rows.Prices)),
		"advisor":          int64(len(r.rows.Advisor)),
		"instance_types":   int64(len(r.rows.Types)),
		"ondemand_prices":  int64(len(r.rows.OnDemand)),
		"placement_scores": int64(len(r.rows.Scores)),
		"events":           int64(len(r.rows.Events)),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary %v, rows written %v", got, want)
	}
	if r.sum.Pools != len(r.truth.Pools) || r.sum.Pools < 300 {
		t.Errorf("pools: summary %d, truth %d", r.sum.Pools, len(r.truth.Pools))
	}
	if r.sum.Prices < 30000 || r.sum.Prices > 120000 {
		t.Errorf("%d price points in 30 days; want tens of thousands", r.sum.Prices)
	}
	if !r.sum.End.Equal(now.Truncate(time.Hour)) || !r.sum.Start.Equal(r.sum.End.Add(-30*24*time.Hour)) {
		t.Errorf("span [%s, %s), want 30 days to %s", r.sum.Start, r.sum.End, now.Truncate(time.Hour))
	}
}

func TestEveryRowSimulated(t *testing.T) {
	r := generate(t, 1)
	check := func(kind string, i int, source string, fetched time.Time) {
		t.Helper()
		if source != market.SourceSimulated || !fetched.Equal(now) {
			t.Fatalf("%s row %d: source %q fetched %s, want %q at %s", kind, i, source, fetched, market.SourceSimulated, now)
		}
	}
	for i, x := range r.rows.Prices {
		check("price", i, x.Source, x.FetchedAt)
	}
	for i, x := range r.rows.Advisor {
		check("advisor", i, x.Source, x.FetchedAt)
	}
	for i, x := range r.rows.Types {
		check("instance type", i, x.Source, x.FetchedAt)
	}
	for i, x := range r.rows.OnDemand {
		check("on-demand", i, x.Source, x.FetchedAt)
	}
	for i, x := range r.rows.Scores {
		check("placement score", i, x.Source, x.FetchedAt)
	}
	for i, x := range r.rows.Events {
		check("event", i, x.Source, x.FetchedAt)
	}
}

func onDemand(rows *collect) map[[2]string]float64 {
	od := map[[2]string]float64{}
	for _, o := range rows.OnDemand {
		od[[2]string{o.Region, o.InstanceType}] = o.Price
	}
	return od
}

func byPool(points []market.PricePoint) map[market.PoolKey][]market.PricePoint {
	m := map[market.PoolKey][]market.PricePoint{}
	for _, p := range points {
		m[p.Pool] = append(m[p.Pool], p)
	}
	return m
}

func TestPrices(t *testing.T) {
	r := generate(t, 1)
	od := onDemand(r.rows)
	series := byPool(r.rows.Prices)
	if len(series) != len(r.truth.Pools) {
		t.Fatalf("%d pools have prices, %d simulated", len(series), len(r.truth.Pools))
	}
	var perDay []float64
	flatForADay := 0
	for key, pts := range series {
		o, ok := od[[2]string{key.Region, key.InstanceType}]
		if !ok {
			t.Fatalf("%s: no on-demand price", key)
		}
		if !pts[0].Time.Equal(r.sum.Start) {
			t.Errorf("%s: first point at %s, want the span start %s", key, pts[0].Time, r.sum.Start)
		}
		longest := time.Duration(0)
		for i, p := range pts {
			if !(p.Price > 0 && p.Price < o) || math.IsNaN(p.Price) {
				t.Fatalf("%s at %s: price %v outside (0, on-demand %v)", key, p.Time, p.Price, o)
			}
			if p.Time.Before(r.sum.Start) || !p.Time.Before(r.sum.End) {
				t.Fatalf("%s: point at %s outside the span", key, p.Time)
			}
			if i > 0 {
				if !p.Time.After(pts[i-1].Time) {
					t.Fatalf("%s: points not in time order at %s", key, p.Time)
				}
				if p.Price == pts[i-1].Price {
					t.Fatalf("%s at %s: repeats the previous price %v; only changes are emitted", key, p.Time, p.Price)
				}
				longest = max(longest, p.Time.Sub(pts[i-1].Time))
			}
			if tp, err := r.truth.Price(key, p.Time); err != nil || tp != p.Price {
				t.Fatalf("%s at %s: written %v, truth %v (%v)", key, p.Time, p.Price, tp, err)
			}
		}
		longest = max(longest, r.sum.End.Sub(pts[len(pts)-1].Time))
		if longest >= 24*time.Hour {
			flatForADay++
		}
		perDay = append(perDay, float64(len(pts))/30)
	}
	sort.Float64s(perDay)
	med := perDay[len(perDay)/2]
	if med < 1 || med > 8 {
		t.Errorf("median %.2f price changes per pool per day; want a few", med)
	}
	if share := float64(flatForADay) / float64(len(series)); share < 0.3 {
		t.Errorf("only %.0f%% of pools stay flat for a day or more at least once", 100*share)
	}
}

// The long-run discount is 55-75% and prices cluster there.
func TestDiscount(t *testing.T) {
	r := generate(t, 1)
	for _, p := range r.truth.Pools {
		d := p.PriceModel.Discount
		if d < 0.55 || d > 0.75 {
			t.Fatalf("%s: discount %.3f outside [0.55, 0.75]", p.Key, d)
		}
		segs, err := p.Segments(r.sum.Start, r.sum.End)
		if err != nil {
			t.Fatal(err)
		}
		var ratio float64
		for _, s := range segs {
			ratio += s.Price / p.OnDemand * s.To.Sub(s.From).Hours()
		}
		ratio /= r.sum.End.Sub(r.sum.Start).Hours()
		if ratio < 0.15 || ratio > 0.65 {
			t.Errorf("%s: mean spot/on-demand %.3f with discount %.3f", p.Key, ratio, d)
		}
	}
}

func localZone(region string) *time.Location {
	for _, r := range sim.Regions() {
		if r.Name == region {
			return time.FixedZone(r.Name, int(r.UTCOffset/time.Second))
		}
	}
	panic("unknown region " + region)
}

// Nights (22:00-06:00 local) are cheaper: over all pools, the time-weighted
// mean log price at night is below the day's, by more than three standard
// errors.
func TestNightsCheaper(t *testing.T) {
	r := generate(t, 1)
	var diffs []float64
	for key, pts := range byPool(r.rows.Prices) {
		loc := localZone(key.Region)
		var sum, dur [2]float64
		for i, p := range pts {
			end := r.sum.End
			if i+1 < len(pts) {
				end = pts[i+1].Time
			}
			// Walk hour by hour so a step crossing dusk counts on both sides.
			for t0 := p.Time; t0.Before(end); {
				t1 := t0.Truncate(time.Hour).Add(time.Hour)
				if t1.After(end) {
					t1 = end
				}
				h := t0.In(loc).Hour()
				night := 0
				if h >= 22 || h < 6 {
					night = 1
				}
				d := t1.Sub(t0).Hours()
				sum[night] += math.Log(p.Price) * d
				dur[night] += d
				t0 = t1
			}
		}
		diffs = append(diffs, sum[1]/dur[1]-sum[0]/dur[0])
	}
	mean, se := meanSE(diffs)
	if mean >= 0 || mean/se > -3 {
		t.Fatalf("night minus day log price: mean %.4f, standard error %.4f over %d pools", mean, se, len(diffs))
	}
	t.Logf("night minus day log price %.4f ± %.4f", mean, se)
}

func meanSE(x []float64) (mean, se float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1) / float64(len(x)))
}

// life is one instance's run, from events alone.
type life struct {
	key         market.PoolKey
	id          string
	from, to    time.Time
	interrupted bool
	warning     time.Time
	rebalances  []time.Time
}

func lives(t *testing.T, events []market.Event) []*life {
	t.Helper()
	byID := map[string]*life{}
	var out []*life
	for _, e := range events {
		key := market.PoolKey{Cloud: e.Cloud, Region: e.Region, Zone: e.Zone, InstanceType: e.InstanceType, Product: sim.Product}
		l := byID[e.InstanceID]
		switch e.Kind {
		case market.EventObservationStart, market.EventLaunched:
			if l != nil {
				t.Fatalf("instance %s opened twice", e.InstanceID)
			}
			l = &life{key: key, id: e.InstanceID, from: e.Time}
			byID[e.InstanceID] = l
			out = append(out, l)
		case market.EventRebalance, market.EventInterruptionWarning, market.EventPreempted, market.EventObservationEnd:
			if l == nil || !l.to.IsZero() {
				t.Fatalf("%s event for instance %s outside its life", e.Kind, e.InstanceID)
			}
			switch e.Kind {
			case market.EventRebalance:
				l.rebalances = append(l.rebalances, e.Time)
			case market.EventInterruptionWarning:
				l.warning = e.Time
			case market.EventPreempted:
				l.to, l.interrupted = e.Time, true
			default:
				l.to = e.Time
			}
		default:
			t.Fatalf("unexpected event kind %q", e.Kind)
		}
		if e.Count != 1 || l.key != key {
			t.Fatalf("instance %s: count %d, pool %s then %s", e.InstanceID, e.Count, l.key, key)
		}
	}
	return out
}

func TestEventsWellFormed(t *testing.T) {
	r := generate(t, 1)
	ids := map[string]bool{}
	for i, e := range r.rows.Events {
		if ids[e.EventID] {
			t.Fatalf("event %d: id %s repeats", i, e.EventID)
		}
		ids[e.EventID] = true
		if e.Time.Before(r.sum.Start) || e.Time.After(r.sum.End) {
			t.Fatalf("event %d at %s outside [%s, %s]", i, e.Time, r.sum.Start, r.sum.End)
		}
	}
	ls := lives(t, r.rows.Events)
	running := map[market.PoolKey]int{}
	withRebalance := 0
	for _, l := range ls {
		if l.to.IsZero() {
			t.Fatalf("instance %s never closed", l.id)
		}
		if !l.to.After(l.from) {
			t.Fatalf("instance %s: life [%s, %s) is empty", l.id, l.from, l.to)
		}
		if l.interrupted {
			if want := l.to.Add(-2 * time.Minute); l.warning != want && !(l.warning.Equal(l.from) && want.Before(l.from)) {
				t.Fatalf("instance %s interrupted at %s, warned at %s", l.id, l.to, l.warning)
			}
			if len(l.rebalances) > 0 && !l.rebalances[len(l.rebalances)-1].After(l.warning) {
				withRebalance++
			}
		} else {
			if !l.warning.IsZero() {
				t.Fatalf("instance %s warned but not interrupted", l.id)
			}
			if !l.to.Equal(r.sum.End) {
				t.Fatalf("instance %s closed at %s without an interruption", l.id, l.to)
			}
			running[l.key]++
		}
		for _, rb := range l.rebalances {
			if rb.Before(l.from) || rb.After(l.to) {
				t.Fatalf("instance %s: rebalance at %s outside its life", l.id, rb)
			}
		}
	}
	for _, p := range r.truth.Pools {
		if running[p.Key] > p.Fleet {
			t.Fatalf("%s: %d instances at the end, fleet %d", p.Key, running[p.Key], p.Fleet)
		}
	}
	if withRebalance == 0 {
		t.Fatal("no interruption was preceded by a rebalance recommendation")
	}
}

// garwood is the exact two-sided (1-alpha) confidence interval of a Poisson
// mean from a count n (Garwood 1936, Biometrika 28, 437-442).
func garwood(n int, alpha float64) (lo, hi float64) {
	if n > 0 {
		lo = distuv.Gamma{Alpha: float64(n), Beta: 1}.Quantile(alpha / 2)
	}
	hi = distuv.Gamma{Alpha: float64(n + 1), Beta: 1}.Quantile(1 - alpha/2)
	return lo, hi
}

// family is the hazard group a type belongs to: its GPU model or "cpu".
func family(ty sim.TypeSpec) string {
	if ty.GPUModel == "" {
		return "cpu"
	}
	return ty.GPUModel
}

// The interruption rate estimated from the events alone (count over
// exposure) matches the true hazard of each family: the true mean hazard
// over the same exposure lies in the 99.9% Poisson interval of the count.
// On weekdays away from price pressure the hazard is the published figure
// (V100 0.8%/h, A100 2.3%/h, H100 4.1%/h).
func TestHazardRecovered(t *testing.T) {
	published := map[string]float64{"V100": 0.008, "A100": 0.023, "H100": 0.041}
	for _, seed := range []uint64{1, 2} {
		r := generate(t, seed)
		type acc struct {
			n, n0         int
			exp, exp0     float64 // instance-hours: all, weekday without pressure
			truth, truth0 float64 // integrated true hazard over the same
		}
		fam := map[string]*acc{}
		for _, l := range lives(t, r.rows.Events) {
			p, err := r.truth.Pool(l.key)
			if err != nil {
				t.Fatal(err)
			}
			f := family(p.Type)
			if fam[f] == nil {
				fam[f] = &acc{}
			}
			a := fam[f]
			segs, err := p.Segments(l.from, l.to)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range segs {
				d := s.To.Sub(s.From).Hours()
				a.exp += d
				a.truth += s.Hazard * d
				if !s.Weekend && s.Pressure == 1 {
					a.exp0 += d
					a.truth0 += s.Hazard * d
				}
			}
			if l.interrupted {
				a.n++
				last := segs[len(segs)-1]
				if !last.Weekend && last.Pressure == 1 {
					a.n0++
				}
			}
		}
		for f, a := range fam {
			lo, hi := garwood(a.n, 0.001)
			mle, want := float64(a.n)/a.exp, a.truth/a.exp
			if want < lo/a.exp || want > hi/a.exp {
				t.Errorf("seed %d %s: %d interruptions in %.0f instance-hours, MLE %.3g/h, 99.9%% CI [%.3g, %.3g], true mean hazard %.3g/h",
					seed, f, a.n, a.exp, mle, lo/a.exp, hi/a.exp, want)
			}
			lo0, hi0 := garwood(a.n0, 0.001)
			want0 := a.truth0 / a.exp0
			if want0 < lo0/a.exp0 || want0 > hi0/a.exp0 {
				t.Errorf("seed %d %s weekdays without pressure: %d in %.0f h, CI [%.3g, %.3g], true %.3g/h",
					seed, f, a.n0, a.exp0, lo0/a.exp0, hi0/a.exp0, want0)
			}
			if pub, ok := published[f]; ok {
				// Zone factors average 1, so the exposure-weighted base
				// is the published figure up to unequal exposure.
				if math.Abs(want0/pub-1) > 0.05 {
					t.Errorf("seed %d %s: weekday hazard %.4g/h, published %.4g/h", seed, f, want0, pub)
				}
				if a.n < 100 {
					t.Errorf("seed %d %s: only %d interruptions; too few to check the published rate", seed, f, a.n)
				}
			}
			t.Logf("seed %d %-5s n=%5d exposure=%8.0fh MLE=%.3g/h true=%.3g/h", seed, f, a.n, a.exp, mle, want)
		}
	}
}

// Weekends are 40% calmer: estimated from the events, the weekend rate over
// the weekday rate, each relative to the hazard without the weekend factor,
// has an exact (Clopper-Pearson, conditional on the total count) 99.9%
// interval that holds 0.6 and excludes 1.
func TestWeekendCalmer(t *testing.T) {
	r := generate(t, 1)
	var nWE, nWD int
	var lamWE, lamWD float64 // integrated hazard without the weekend factor
	for _, l := range lives(t, r.rows.Events) {
		p, err := r.truth.Pool(l.key)
		if err != nil {
			t.Fatal(err)
		}
		segs, err := p.Segments(l.from, l.to)
		if err != nil {
			t.Fatal(err)
		}
		wf := p.HazardModel.WeekendFactor
		for _, s := range segs {
			d := s.To.Sub(s.From).Hours()
			if s.Weekend {
				lamWE += s.Hazard / wf * d
			} else {
				lamWD += s.Hazard * d
			}
		}
		if l.interrupted {
			if segs[len(segs)-1].Weekend {
				nWE++
			} else {
				nWD++
			}
		}
	}
	n := nWE + nWD
	const alpha = 0.001
	piLo := distuv.Beta{Alpha: float64(nWE), Beta: float64(nWD + 1)}.Quantile(alpha / 2)
	piHi := distuv.Beta{Alpha: float64(nWE + 1), Beta: float64(nWD)}.Quantile(1 - alpha/2)
	ratio := func(pi float64) float64 { return pi * lamWD / ((1 - pi) * lamWE) }
	est := (float64(nWE) / lamWE) / (float64(nWD) / lamWD)
	lo, hi := ratio(piLo), ratio(piHi)
	t.Logf("weekend/weekday hazard ratio %.3f, 99.9%% CI [%.3f, %.3f] from %d interruptions", est, lo, hi, n)
	if 0.6 < lo || 0.6 > hi || hi >= 1 {
		t.Fatalf("weekend/weekday ratio %.3f, CI [%.3f, %.3f]: want 0.6 inside and 1 outside", est, lo, hi)
	}
}

// The truth's weekend flag is the region's local Saturday or Sunday and
// the hazard is Base * weekend factor * pressure, with pressure 1 while the
// price is at most half of on-demand.
func TestTruthHazardFunction(t *testing.T) {
	r := generate(t, 1)
	for _, p := range r.truth.Pools {
		segs, err := p.Segments(r.sum.Start, r.sum.End)
		if err != nil {
			t.Fatal(err)
		}
		loc := localZone(p.Key.Region)
		hm := p.HazardModel
		for _, s := range segs {
			d := s.From.In(loc).Weekday()
			if we := d == time.Saturday || d == time.Sunday; we != s.Weekend {
				t.Fatalf("%s at %s (%s local): weekend %v", p.Key, s.From, d, s.Weekend)
			}
			if e := s.To.Add(-time.Second).In(loc).Weekday(); (e == time.Saturday || e == time.Sunday) != s.Weekend {
				t.Fatalf("%s: segment [%s, %s) crosses a weekend boundary", p.Key, s.From, s.To)
			}
			ratio := s.Price / p.OnDemand
			wantP := 1.0
			if ratio > hm.PressureFrom {
				wantP = 1 + hm.PressureGain*(ratio-hm.PressureFrom)/(1-hm.PressureFrom)
			}
			want := hm.Base * wantP
			if s.Weekend {
				want *= 0.6
			}
			if math.Abs(s.Pressure-wantP) > 1e-12 || math.Abs(s.Hazard-want) > 1e-12*want {
				t.Fatalf("%s at %s: hazard %g pressure %g, want %g and %g", p.Key, s.From, s.Hazard, s.Pressure, want, wantP)
			}
			h, err := p.HazardAt(s.From)
			if err != nil || h != s.Hazard {
				t.Fatalf("%s: HazardAt(%s) = %g, %v; segment says %g", p.Key, s.From, h, err, s.Hazard)
			}
		}
	}
}

func TestAdvisorConsistentWithHazard(t *testing.T) {
	r := generate(t, 1)
	spec := map[string]sim.TypeSpec{}
	for _, ty := range sim.Catalogue() {
		spec[ty.Name] = ty
	}
	snaps := r.truth.AdvisorSnapshots()
	if len(snaps) < 3 || len(r.rows.Advisor) != len(snaps)*len(r.rows.OnDemand) {
		t.Fatalf("%d advisor rows for %d snapshots and %d type/regions", len(r.rows.Advisor), len(snaps), len(r.rows.OnDemand))
	}
	for _, a := range r.rows.Advisor {
		h, savings, err := r.truth.AdvisorTruth(a.Region, a.InstanceType, a.Snapshot)
		if err != nil {
			t.Fatal(err)
		}
		f := 1 - math.Exp(-h*730)
		var want int
		for _, edge := range []float64{0.05, 0.10, 0.15, 0.20} {
			if f >= edge {
				want++
			}
		}
		if a.Bucket != want {
			t.Errorf("%s %s %s: bucket %d, true monthly frequency %.3f", a.Region, a.InstanceType, a.Snapshot.Format(time.DateOnly), a.Bucket, f)
		}
		if a.SavingsPct != int(math.Round(100*savings)) || a.SavingsPct < 35 || a.SavingsPct > 85 {
			t.Errorf("%s %s: savings %d%%, true %.1f%%", a.Region, a.InstanceType, a.SavingsPct, 100*savings)
		}
		ty := spec[a.InstanceType]
		switch {
		case ty.HazardBasis == "published":
			if a.Bucket != 4 {
				t.Errorf("%s %s: bucket %d for a %s", a.Region, a.InstanceType, a.Bucket, ty.GPUModel)
			}
		case a.Region == "us-east-1" && a.Snapshot.Equal(snaps[0]):
			// The simulated bucket reproduces the real one the hazard came from.
			if real := ty.HazardBasis[len(ty.HazardBasis)-1:]; string(rune('0'+a.Bucket)) != real {
				t.Errorf("us-east-1 %s: simulated bucket %d, hazard from bucket %s", a.InstanceType, a.Bucket, real)
			}
		}
	}
}

func TestAdvisorBucketEdges(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want int
	}{{0, 0}, {0.0499, 0}, {0.05, 1}, {0.0999, 1}, {0.10, 2}, {0.15, 3}, {0.1999, 3}, {0.20, 4}, {1, 4}} {
		if got := sim.AdvisorBucket(c.f); got != c.want {
			t.Errorf("AdvisorBucket(%v) = %d, want %d", c.f, got, c.want)
		}
	}
	for _, c := range []struct{ h, f float64 }{{0, 0}, {0.008, 0.99710}, {math.Log(2) / 730, 0.5}} {
		if got := sim.MonthlyFrequency(c.h); math.Abs(got-c.f) > 1e-4 {
			t.Errorf("MonthlyFrequency(%v) = %.5f, want %.5f", c.h, got, c.f)
		}
	}
}

func TestPlacementScores(t *testing.T) {
	r := generate(t, 1)
	times := r.truth.PlacementTimes()
	if len(times) != 30 || len(r.rows.Scores) != len(times)*(len(r.truth.Pools)+len(r.rows.OnDemand)) {
		t.Fatalf("%d scores at %d times", len(r.rows.Scores), len(times))
	}
	type rt struct {
		region, typ string
		at          time.Time
	}
	bestZone := map[rt]int{}
	region := map[rt]int{}
	for _, s := range r.rows.Scores {
		if s.Score < 1 || s.Score > 10 || len(s.InstanceTypes) != 1 || s.TargetCapacity != 1 {
			t.Fatalf("bad score row %+v", s)
		}
		k := rt{s.Region, s.InstanceTypes[0], s.Time}
		if s.Zone == "" {
			region[k] = s.Score
			continue
		}
		key := market.PoolKey{Cloud: market.AWS, Region: s.Region, Zone: s.Zone, InstanceType: s.InstanceTypes[0], Product: sim.Product}
		p, err := r.truth.Pool(key)
		if err != nil {
			t.Fatal(err)
		}
		h, err := p.IntegratedHazard(s.Time.Add(-24*time.Hour), s.Time)
		if err != nil {
			t.Fatal(err)
		}
		if want := sim.PlacementScoreFor(h / 24); s.Score != want {
			t.Fatalf("%s at %s: score %d, mean hazard %.3g gives %d", key, s.Time, s.Score, h/24, want)
		}
		bestZone[k] = max(bestZone[k], s.Score)
	}
	for k, v := range region {
		if v != bestZone[k] {
			t.Fatalf("%v: region score %d, best zone %d", k, v, bestZone[k])
		}
	}
	// Lower where the hazard is higher; the published families in order.
	prev := 11
	for _, h := range []float64{1e-5, 1e-4, 5e-4, 0.008, 0.023, 0.041, 0.2, 1} {
		s := sim.PlacementScoreFor(h)
		if s > prev || s < 1 || s > 10 {
			t.Fatalf("PlacementScoreFor(%g) = %d after %d", h, s, prev)
		}
		prev = s
	}
	if a, b := sim.PlacementScoreFor(0.008), sim.PlacementScoreFor(0.041); a <= b {
		t.Fatalf("V100 scores %d, H100 %d", a, b)
	}
}

func TestCatalogueRows(t *testing.T) {
	r := generate(t, 1)
	types := map[string]market.InstanceType{}
	for _, it := range r.rows.Types {
		types[it.Name] = it
	}
	for _, c := range []struct {
		name        string
		vcpu, count int
		model       string
		mem         float64
	}{
		{"p3.2xlarge", 8, 1, "V100", 16},
		{"p3.8xlarge", 32, 4, "V100", 16},
		{"p4d.24xlarge", 96, 8, "A100", 40},
		{"p5.48xlarge", 192, 8, "H100", 80},
		{"g5.12xlarge", 48, 4, "A10G", 24},
		{"g5.16xlarge", 64, 1, "A10G", 24},
		{"g6e.xlarge", 4, 1, "L40S", 48},
		{"g4dn.xlarge", 4, 1, "T4", 16},
		{"m5.large", 2, 0, "", 0},
		{"r5.2xlarge", 8, 0, "", 0},
	} {
		it, ok := types[c.name]
		if !ok {
			t.Errorf("%s: not in the catalogue", c.name)
			continue
		}
		if it.VCPU != c.vcpu || it.GPUCount != c.count || it.GPUModel != c.model || it.GPUMemoryGiB != c.mem || it.MemoryGiB <= 0 {
			t.Errorf("%s: %+v", c.name, it)
		}
	}
	od := onDemand(r.rows)
	for _, c := range []struct {
		region, typ string
		want        float64
	}{
		{"us-east-1", "p3.2xlarge", 3.06},
		{"us-west-2", "p5.48xlarge", 55.04},
		{"us-east-1", "g4dn.xlarge", 0.526},
		{"us-east-1", "c5.9xlarge", 1.53},
		{"eu-west-1", "m5.large", 0.10714},
	} {
		if got := od[[2]string{c.region, c.typ}]; math.Abs(got-c.want) > 1e-9 {
			t.Errorf("on-demand %s %s = %v, want %v", c.region, c.typ, got, c.want)
		}
	}
	for _, typ := range []string{"p5.48xlarge", "g6e.xlarge"} {
		if _, ok := od[[2]string{"eu-west-1", typ}]; ok {
			t.Errorf("%s simulated in eu-west-1, where AWS does not offer it", typ)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  sim.Config
		want string
	}{
		{sim.Config{Days: -1}, "days -1"},
		{sim.Config{Days: 100000}, "days 100000"},
		{sim.Config{Fleet: -2}, "fleet -2"},
		{sim.Config{Holdout: -time.Hour}, "holdout -1h"},
		{sim.Config{Regions: []string{"mars-1"}}, `region "mars-1"`},
		{sim.Config{Types: []string{"x9.huge"}}, `instance type "x9.huge"`},
	} {
		c.cfg.Now = clock
		_, err := sim.Generate(c.cfg, &collect{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", c.cfg, err, c.want)
		}
	}
}

type failing struct {
	collect
	after int
}

var errFull = errors.New("sink full")

func (f *failing) AddPrice(p market.PricePoint) error {
	if len(f.Prices) == f.after {
		return errFull
	}
	return f.collect.AddPrice(p)
}

func TestSinkErrorStops(t *testing.T) {
	f := &failing{after: 10}
	_, err := sim.Generate(sim.Config{Seed: 1, Now: clock, Types: []string{"m5.large"}}, f)
	if !errors.Is(err, errFull) || !strings.Contains(err.Error(), "m5.large") {
		t.Fatalf("error %v: want the sink's error with the pool named", err)
	}
	if len(f.Events) != 0 {
		t.Fatalf("%d events written after the sink failed", len(f.Events))
	}
}

func TestTruthSpanAndHoldout(t *testing.T) {
	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p5.48xlarge", Product: sim.Product}
	short, err := sim.NewTruth(sim.Config{Seed: 1, Now: clock, Types: []string{"p5.48xlarge"}})
	if err != nil {
		t.Fatal(err)
	}
	long, err := sim.NewTruth(sim.Config{Seed: 1, Now: clock, Types: []string{"p5.48xlarge"}, Holdout: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	future := short.End.Add(24 * time.Hour)
	if _, err := short.Hazard(key, future); !errors.Is(err, sim.ErrOutOfSpan) {
		t.Errorf("hazard past End without holdout: %v, want ErrOutOfSpan", err)
	}
	if _, err := short.Hazard(key, short.Start.Add(-time.Second)); !errors.Is(err, sim.ErrOutOfSpan) {
		t.Errorf("hazard before Start: %v, want ErrOutOfSpan", err)
	}
	if h, err := long.Hazard(key, future); err != nil || h <= 0 {
		t.Errorf("hazard in the holdout: %v, %v", h, err)
	}
	for at := short.Start; at.Before(short.End); at = at.Add(37 * time.Minute) {
		a, _ := short.Price(key, at)
		b, _ := long.Price(key, at)
		if a != b {
			t.Fatalf("price at %s: %v without holdout, %v with", at, a, b)
		}
	}
	if _, err := short.Hazard(market.PoolKey{Cloud: market.AWS, Region: "eu-west-1", Zone: "eu-west-1a", InstanceType: "p5.48xlarge", Product: sim.Product}, short.Start); !errors.Is(err, sim.ErrUnknownPool) {
		t.Errorf("p5 in eu-west-1: %v, want ErrUnknownPool", err)
	}
	// IntegratedHazard over an hour of constant hazard is that hazard.
	p, _ := short.Pool(key)
	segs, _ := p.Segments(short.Start, short.End)
	for _, s := range segs {
		if s.To.Sub(s.From) >= time.Hour {
			got, err := p.IntegratedHazard(s.From, s.From.Add(time.Hour))
			if err != nil || math.Abs(got-s.Hazard) > 1e-12 {
				t.Fatalf("integrated hazard over an hour at %s: %v (%v), hazard %v", s.From, got, err, s.Hazard)
			}
			break
		}
	}
}

// FuzzGenerate: any seed, span and fleet of a small market yields rows that
// keep the simulator's invariants.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(1), 3, 2, uint8(0))
	f.Add(uint64(0), 1, 1, uint8(5))
	f.Add(uint64(1<<63), 10, 7, uint8(40))
	cat := sim.Catalogue()
	f.Fuzz(func(t *testing.T, seed uint64, days, fleet int, typ uint8) {
		if days < 1 || days > 14 || fleet < 1 || fleet > 8 {
			t.Skip()
		}
		ty := cat[int(typ)%len(cat)]
		rows := &collect{}
		sum, err := sim.Generate(sim.Config{Seed: seed, Days: days, Fleet: fleet, Now: clock, Types: []string{ty.Name}, Regions: []string{"us-west-2"}}, rows)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Pools != 4 || sum.Prices < int64(sum.Pools) {
			t.Fatalf("%d pools, %d prices", sum.Pools, sum.Prices)
		}
		od := onDemand(rows)
		for _, p := range rows.Prices {
			if !(p.Price > 0 && p.Price < od[[2]string{p.Pool.Region, p.Pool.InstanceType}]) {
				t.Fatalf("price %v", p.Price)
			}
		}
		opened := 0
		for _, e := range rows.Events {
			if e.Kind == market.EventObservationStart {
				opened++
			}
		}
		if opened != 4*fleet {
			t.Fatalf("%d instances observed from the start, want %d", opened, 4*fleet)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	var sum sim.Summary
	for b.Loop() {
		var err error
		if sum, err = sim.Generate(sim.Config{Seed: 1, Days: 30, Now: clock}, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Rows()), "rows/op")
	b.ReportMetric(float64(sum.Prices), "prices/op")
}

type discard struct{}

func (discard) AddPrice(market.PricePoint) error              { return nil }
func (discard) AddAdvisor(market.AdvisorRow) error            { return nil }
func (discard) AddInstanceType(market.InstanceType) error     { return nil }
func (discard) AddOnDemand(market.OnDemandPrice) error        { return nil }
func (discard) AddPlacementScore(market.PlacementScore) error { return nil }
func (discard) AddEvent(market.Event) error                   { return nil }
