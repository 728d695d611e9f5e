package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Sentinel errors callers branch on.
var (
	// ErrUnknownPool: the pool is not part of the simulated market.
	ErrUnknownPool = errors.New("pool is not simulated")
	// ErrOutOfSpan: the time is outside [Start, Until) of the truth.
	ErrOutOfSpan = errors.New("time outside the simulated span")
)

// Product is the only product (OS) simulated.
const Product = "Linux/UNIX"

// HoursPerMonth is the month the Spot Advisor's frequencies refer to.
const HoursPerMonth = 730.0

// Defaults of Config.
const (
	DefaultDays  = 30
	DefaultFleet = 4
	maxDays      = 3660
	maxFleet     = 1000
)

// Config says what to simulate. The zero value (plus a seed) simulates the
// default market: every region and type, 30 days, 4 instances per pool.
type Config struct {
	Seed uint64
	// Days is the length of the written span [End-Days, End); 0 means 30.
	Days int
	// Now is the clock. End is Now() truncated to the hour (UTC), and every
	// row's FetchedAt is Now(). nil means time.Now.
	Now func() time.Time
	// Holdout extends the truth (prices and hazard) this far past End.
	// Nothing past End is written; forecasts fitted on the written rows can
	// be scored against the realised future.
	Holdout time.Duration
	// Regions and Types restrict the market (nil: all of Regions() and
	// Catalogue()). A pool's path does not depend on which others are
	// simulated.
	Regions []string
	Types   []string
	// Fleet is the number of instances kept running in every pool; 0
	// means 4.
	Fleet int
}

// PriceParams are the true parameters of a pool's price process, a step
// function whose log ratio to on-demand x = log(spot/on-demand) is, at each
// change time t_k,
//
//	x_k = MeanLogRatio + lift(t_k) - NightDip*night(t_k) + z_k,
//
// where z is an Ornstein-Uhlenbeck process with half-life HalfLife and
// stationary standard deviation StationarySD, sampled exactly at the change
// times (Gillespie 1996, Phys. Rev. E 54, 2084: z' = mu*z + sd*sqrt(1-mu^2)*n,
// mu = exp(-dt ln2 / HalfLife), n standard normal), lift is the sum of the
// log lifts of the capacity crunches covering t, and night is 1 between
// NightStartHour and NightEndHour local time. The price is OnDemand*exp(x)
// rounded to Tick and capped at CapRatio*OnDemand; a draw that rounds to the
// current price is not a change and is not emitted.
//
// Change times form a Poisson process (simulated by thinning, Lewis and
// Shedler 1979, Naval Res. Logist. Q. 26(3), 403-413) of rate ChangesPerDay
// in the active regime, 0 in the quiet one (prices flat for days),
// times WeekendRateFactor on local weekends and CrunchRateFactor during a
// crunch; each crunch also forces a change at its start and end. The
// regimes alternate with exponential holding times of means ActiveMeanDays
// and QuietMeanDays.
type PriceParams struct {
	Discount          float64 // long-run 1 - spot/on-demand, U(0.55, 0.75) per pool
	MeanLogRatio      float64 // log(1 - Discount)
	HalfLife          time.Duration
	StationarySD      float64
	ChangesPerDay     float64
	WeekendRateFactor float64
	CrunchRateFactor  float64
	ActiveMeanDays    float64
	QuietMeanDays     float64
	NightDip          float64
	NightStartHour    int
	NightEndHour      int
	Tick              float64
	CapRatio          float64
}

// HazardParams are the true parameters of a pool's interruption hazard,
// interruptions per instance-hour, piecewise constant:
//
//	h(t) = Base * (WeekendFactor if local Sat/Sun else 1) * pressure(r(t)),
//	pressure(r) = 1 + PressureGain * max(0, (r - PressureFrom) / (1 - PressureFrom)),
//
// where r is the spot price over on-demand, so the hazard is Base on
// weekdays while the price is well below on-demand and rises linearly to
// (1+PressureGain)*Base as the price reaches on-demand. Base is the type's
// figure (TypeRate) times the zone's factor; the zone factors of a type in a
// region average 1.
//
// Interruption times are drawn by inverting the cumulative hazard (a unit
// exponential E, first t with the integral of h from the launch to t >= E;
// Devroye 1986, Non-Uniform Random Variate Generation, ch. VI).
type HazardParams struct {
	TypeRate      float64
	ZoneFactor    float64
	Base          float64
	WeekendFactor float64
	PressureFrom  float64
	PressureGain  float64
	// RebalanceShare of interruptions are preceded by a rebalance
	// recommendation, 2 minutes plus an exponential lead of mean
	// RebalanceLead before the interruption.
	RebalanceShare float64
	RebalanceLead  time.Duration
	// FalseRebalanceRatio: recommendations not followed by an
	// interruption arrive at this multiple of the hazard.
	FalseRebalanceRatio float64
	// Relaunch: an interrupted instance is replaced after 1 minute plus an
	// exponential delay of this mean.
	Relaunch time.Duration
}

// Crunch is a capacity shortage of one instance family in some zones of a
// region: prices there rise by LogLift (and the hazard with them, through
// price pressure).
type Crunch struct {
	Region  string
	Family  string
	Zones   []string
	From    time.Time
	To      time.Time
	LogLift float64
}

// Segment is a span over which a pool's price and hazard are constant.
type Segment struct {
	From, To time.Time
	Hazard   float64 // interruptions per instance-hour
	Price    float64 // USD per hour
	Weekend  bool
	Pressure float64 // the hazard multiplier from price pressure, >= 1
}

// PoolTruth is everything true about one simulated pool.
type PoolTruth struct {
	Key         market.PoolKey
	Type        TypeSpec
	Region      Region
	OnDemand    float64 // USD per hour in this region
	Fleet       int
	PriceModel  PriceParams
	HazardModel HazardParams

	start, until time.Time
	priceT       []int64 // change times, seconds after start; priceT[0] == 0
	priceV       []float64
	segT         []int64 // segment starts, seconds after start
	segs         []segment
}

type segment struct {
	hazard   float64
	price    float64
	pressure float64
	weekend  bool
}

// Truth is the simulated market's true parameters and realised paths.
type Truth struct {
	Seed       uint64
	Start, End time.Time // the written span [Start, End)
	Until      time.Time // End + Holdout: the truth is known on [Start, Until)
	Now        time.Time
	Pools      []*PoolTruth // sorted by region, zone, type
	Crunches   []Crunch
	byKey      map[market.PoolKey]*PoolTruth
}

// NewTruth simulates the price paths and hazards of cfg's market. It is
// deterministic in (cfg.Seed, cfg.Now(), the rest of cfg): Generate writes
// exactly the market NewTruth describes.
func NewTruth(cfg Config) (*Truth, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	end := now.UTC().Truncate(time.Hour)
	tr := &Truth{
		Seed:  cfg.Seed,
		Start: end.Add(-time.Duration(cfg.Days) * 24 * time.Hour),
		End:   end,
		Until: end.Add(cfg.Holdout.Truncate(time.Second)),
		Now:   now,
		byKey: map[market.PoolKey]*PoolTruth{},
	}
	types := selectTypes(cfg.Types)
	for _, reg := range selectRegions(cfg.Regions) {
		crunches := map[string][]Crunch{}
		for _, ty := range types {
			if !ty.offeredIn(reg.Name) {
				continue
			}
			if _, ok := crunches[ty.Family]; !ok {
				cs := tr.crunches(reg, ty.Family)
				crunches[ty.Family] = cs
				tr.Crunches = append(tr.Crunches, cs...)
			}
			zf := zoneFactors(cfg.Seed, reg, ty)
			for zi, zone := range reg.Zones {
				p := tr.newPool(cfg, reg, zone, ty, zf[zi], crunches[ty.Family])
				tr.Pools = append(tr.Pools, p)
				tr.byKey[p.Key] = p
			}
		}
	}
	sort.Slice(tr.Pools, func(i, j int) bool {
		a, b := tr.Pools[i].Key, tr.Pools[j].Key
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		return a.InstanceType < b.InstanceType
	})
	sort.Slice(tr.Crunches, func(i, j int) bool {
		a, b := tr.Crunches[i], tr.Crunches[j]
		if !a.From.Equal(b.From) {
			return a.From.Before(b.From)
		}
		return a.Region+a.Family < b.Region+b.Family
	})
	return tr, nil
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	if cfg.Days < 0 || cfg.Days > maxDays {
		return cfg, fmt.Errorf("days %d: must be between 1 and %d", cfg.Days, maxDays)
	}
	if cfg.Fleet == 0 {
		cfg.Fleet = DefaultFleet
	}
	if cfg.Fleet < 0 || cfg.Fleet > maxFleet {
		return cfg, fmt.Errorf("fleet %d: must be between 1 and %d", cfg.Fleet, maxFleet)
	}
	if cfg.Holdout < 0 {
		return cfg, fmt.Errorf("holdout %s: must not be negative", cfg.Holdout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, r := range cfg.Regions {
		if !slices.ContainsFunc(regions, func(x Region) bool { return x.Name == r }) {
			names := make([]string, len(regions))
			for i, x := range regions {
				names[i] = x.Name
			}
			return cfg, fmt.Errorf("region %q: not simulated (simulated: %v)", r, names)
		}
	}
	for _, t := range cfg.Types {
		if !slices.ContainsFunc(catalogue, func(x TypeSpec) bool { return x.Name == t }) {
			return cfg, fmt.Errorf("instance type %q: not simulated (see sim.Catalogue)", t)
		}
	}
	return cfg, nil
}

func selectRegions(names []string) []Region {
	if names == nil {
		return regions
	}
	var out []Region
	for _, r := range regions {
		if slices.Contains(names, r.Name) {
			out = append(out, r)
		}
	}
	return out
}

func selectTypes(names []string) []TypeSpec {
	if names == nil {
		return catalogue
	}
	var out []TypeSpec
	for _, t := range catalogue {
		if slices.Contains(names, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// stream returns an independent generator for one named part of the
// simulation, so each pool's path depends only on the seed and its own name.
func stream(seed uint64, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// zoneFactors draws the zones' hazard factors for a type in a region:
// lognormal (sigma 0.3), normalised to average 1.
func zoneFactors(seed uint64, reg Region, ty TypeSpec) []float64 {
	r := stream(seed, "zones", reg.Name, ty.Name)
	f := make([]float64, len(reg.Zones))
	var sum float64
	for i := range f {
		f[i] = math.Exp(0.3 * r.NormFloat64())
		sum += f[i]
	}
	for i := range f {
		f[i] *= float64(len(f)) / sum
	}
	return f
}

// Crunch process: per region and family, Poisson with one episode per
// crunchEveryDays, durations exponential (mean 24 h) clipped to [4 h, 72 h],
// lifts U(0.15, 0.5) in log price, each zone hit with probability 1/2 (at
// least one).
const crunchEveryDays = 15.0

func (tr *Truth) crunches(reg Region, family string) []Crunch {
	r := stream(tr.Seed, "crunch", reg.Name, family)
	var out []Crunch
	horizon := tr.Until.Sub(tr.Start).Hours()
	t := 0.0
	for {
		t += r.ExpFloat64() * crunchEveryDays * 24
		if t >= horizon {
			return out
		}
		dur := math.Min(72, math.Max(4, r.ExpFloat64()*24))
		lift := 0.15 + 0.35*r.Float64()
		var zones []string
		for _, z := range reg.Zones {
			if r.Float64() < 0.5 {
				zones = append(zones, z)
			}
		}
		if len(zones) == 0 {
			zones = []string{reg.Zones[r.IntN(len(reg.Zones))]}
		}
		from := tr.Start.Add(time.Duration(t * float64(time.Hour))).Truncate(time.Second)
		out = append(out, Crunch{
			Region: reg.Name, Family: family, Zones: zones,
			From: from, To: from.Add(time.Duration(dur * float64(time.Hour))).Truncate(time.Second),
			LogLift: lift,
		})
	}
}

func (tr *Truth) newPool(cfg Config, reg Region, zone string, ty TypeSpec, zoneFactor float64, crunches []Crunch) *PoolTruth {
	key := market.PoolKey{Cloud: market.AWS, Region: reg.Name, Zone: zone, InstanceType: ty.Name, Product: Product}
	name := key.String()
	r := stream(cfg.Seed, "params", name)
	discount := 0.55 + 0.20*r.Float64()
	relaunch := 5 * time.Minute
	if ty.GPU() {
		relaunch = 15 * time.Minute
	}
	p := &PoolTruth{
		Key:      key,
		Type:     ty,
		Region:   reg,
		OnDemand: math.Round(ty.OnDemandUSEast1*reg.OnDemandFactor*1e5) / 1e5,
		Fleet:    cfg.Fleet,
		PriceModel: PriceParams{
			Discount:          discount,
			MeanLogRatio:      math.Log1p(-discount),
			HalfLife:          time.Duration((3 + 11*r.Float64()) * 24 * float64(time.Hour)).Truncate(time.Second),
			StationarySD:      0.02 + 0.04*r.Float64(),
			ChangesPerDay:     math.Exp(math.Log(1.5) + (math.Log(16)-math.Log(1.5))*r.Float64()),
			WeekendRateFactor: 0.5,
			CrunchRateFactor:  2,
			ActiveMeanDays:    4,
			QuietMeanDays:     1.5,
			NightDip:          0.01 + 0.03*r.Float64(),
			NightStartHour:    22,
			NightEndHour:      6,
			Tick:              1e-4,
			CapRatio:          0.97,
		},
		HazardModel: HazardParams{
			TypeRate:            ty.Hazard,
			ZoneFactor:          zoneFactor,
			Base:                ty.Hazard * zoneFactor,
			WeekendFactor:       0.6,
			PressureFrom:        0.5,
			PressureGain:        4,
			RebalanceShare:      0.6,
			RebalanceLead:       20 * time.Minute,
			FalseRebalanceRatio: 0.2,
			Relaunch:            relaunch,
		},
		start: tr.Start,
		until: tr.Until,
	}
	var mine []Crunch
	for _, c := range crunches {
		if slices.Contains(c.Zones, zone) {
			mine = append(mine, c)
		}
	}
	p.simulatePrices(cfg.Seed, mine)
	p.buildSegments()
	return p
}

func (p *PoolTruth) sec(t time.Time) int64 { return t.Unix() - p.start.Unix() }

func (p *PoolTruth) at(s int64) time.Time { return p.start.Add(time.Duration(s) * time.Second) }

// local is the region's wall-clock time at s, as a UTC time shifted by the
// region's offset (cheaper than a time.Location; only its fields are read).
func (p *PoolTruth) local(s int64) time.Time {
	return p.at(s).Add(p.Region.UTCOffset)
}

func (p *PoolTruth) weekend(s int64) bool {
	d := p.local(s).Weekday()
	return d == time.Saturday || d == time.Sunday
}

func (p *PoolTruth) night(s int64) bool {
	h := p.local(s).Hour()
	m := p.PriceModel
	if m.NightStartHour > m.NightEndHour {
		return h >= m.NightStartHour || h < m.NightEndHour
	}
	return h >= m.NightStartHour && h < m.NightEndHour
}

// simulatePrices draws the change times and prices on [start, until). Each
// sub-process has its own stream and is drawn in time order, so a longer
// Holdout only appends to the path.
func (p *PoolTruth) simulatePrices(seed uint64, crunches []Crunch) {
	name := p.Key.String()
	m := p.PriceModel
	total := p.until.Unix() - p.start.Unix()

	// Regimes: switch times, starting active with the stationary
	// probability.
	rr := stream(seed, "regime", name)
	active := rr.Float64() < m.ActiveMeanDays/(m.ActiveMeanDays+m.QuietMeanDays)
	var switches []int64
	for t := 0.0; ; {
		mean := m.QuietMeanDays
		if active && len(switches)%2 == 0 || !active && len(switches)%2 == 1 {
			mean = m.ActiveMeanDays
		}
		t += rr.ExpFloat64() * mean * 86400
		if t >= float64(total) {
			break
		}
		switches = append(switches, int64(t))
	}
	activeAt := func(s int64) bool {
		n := sort.Search(len(switches), func(i int) bool { return switches[i] > s })
		return active == (n%2 == 0)
	}
	lift := func(s int64) (float64, bool) {
		var l float64
		in := false
		for _, c := range crunches {
			if s >= p.sec(c.From) && s < p.sec(c.To) {
				l += c.LogLift
				in = true
			}
		}
		return l, in
	}

	// Candidate change times by thinning.
	rc := stream(seed, "changes", name)
	maxRate := m.ChangesPerDay * m.CrunchRateFactor / 86400
	times := []int64{0}
	for t := 0.0; ; {
		t += rc.ExpFloat64() / maxRate
		if t >= float64(total) {
			break
		}
		s := int64(t)
		u := rc.Float64()
		if !activeAt(s) {
			continue
		}
		rate := m.ChangesPerDay / 86400
		if p.weekend(s) {
			rate *= m.WeekendRateFactor
		}
		if _, in := lift(s); in {
			rate *= m.CrunchRateFactor
		}
		if u*maxRate < rate && s > 0 {
			times = append(times, s)
		}
	}
	for _, c := range crunches {
		for _, s := range []int64{p.sec(c.From), p.sec(c.To)} {
			if s > 0 && s < total {
				times = append(times, s)
			}
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)

	// Prices at the change times.
	rz := stream(seed, "ou", name)
	theta := math.Ln2 / m.HalfLife.Seconds()
	z := m.StationarySD * rz.NormFloat64()
	capPrice := math.Floor(m.CapRatio*p.OnDemand/m.Tick) * m.Tick
	var prev int64
	for i, s := range times {
		if i > 0 {
			mu := math.Exp(-theta * float64(s-prev))
			z = mu*z + m.StationarySD*math.Sqrt(1-mu*mu)*rz.NormFloat64()
		}
		prev = s
		l, _ := lift(s)
		x := m.MeanLogRatio + l + z
		if p.night(s) {
			x -= m.NightDip
		}
		price := math.Round(p.OnDemand*math.Exp(x)/m.Tick) * m.Tick
		price = math.Round(math.Min(capPrice, math.Max(m.Tick, price))*1e6) / 1e6
		if n := len(p.priceV); n > 0 && p.priceV[n-1] == price {
			continue
		}
		p.priceT = append(p.priceT, s)
		p.priceV = append(p.priceV, price)
	}
}

// buildSegments merges the price changes with the local weekend boundaries.
func (p *PoolTruth) buildSegments() {
	total := p.until.Unix() - p.start.Unix()
	// Local midnights, as UTC times shifted by the offset.
	day0 := p.local(0).Truncate(24 * time.Hour)
	var bounds []int64
	for d := day0; d.Add(-p.Region.UTCOffset).Before(p.until); d = d.Add(24 * time.Hour) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Monday {
			if s := p.sec(d.Add(-p.Region.UTCOffset)); s > 0 && s < total {
				bounds = append(bounds, s)
			}
		}
	}
	starts := append(slices.Clone(p.priceT), bounds...)
	slices.Sort(starts)
	starts = slices.Compact(starts)
	hm := p.HazardModel
	p.segT = starts
	p.segs = make([]segment, len(starts))
	for i, s := range starts {
		price := p.priceV[sort.Search(len(p.priceT), func(j int) bool { return p.priceT[j] > s })-1]
		r := price / p.OnDemand
		pressure := 1 + hm.PressureGain*math.Max(0, (r-hm.PressureFrom)/(1-hm.PressureFrom))
		we := p.weekend(s)
		h := hm.Base * pressure
		if we {
			h *= hm.WeekendFactor
		}
		p.segs[i] = segment{hazard: h, price: price, pressure: pressure, weekend: we}
	}
}

// Start and Until bound the pool's truth.
func (p *PoolTruth) Start() time.Time { return p.start }
func (p *PoolTruth) Until() time.Time { return p.until }

func (p *PoolTruth) check(t time.Time) (int64, error) {
	if t.Before(p.start) || !t.Before(p.until) {
		return 0, fmt.Errorf("%s at %s: %w [%s, %s)", p.Key, t.Format(time.RFC3339), ErrOutOfSpan,
			p.start.Format(time.RFC3339), p.until.Format(time.RFC3339))
	}
	return p.sec(t), nil
}

func (p *PoolTruth) segIndex(s int64) int {
	return sort.Search(len(p.segT), func(i int) bool { return p.segT[i] > s }) - 1
}

// PriceAt is the spot price in effect at t.
func (p *PoolTruth) PriceAt(t time.Time) (float64, error) {
	s, err := p.check(t)
	if err != nil {
		return 0, err
	}
	return p.segs[p.segIndex(s)].price, nil
}

// HazardAt is the true interruption hazard at t, per instance-hour.
func (p *PoolTruth) HazardAt(t time.Time) (float64, error) {
	s, err := p.check(t)
	if err != nil {
		return 0, err
	}
	return p.segs[p.segIndex(s)].hazard, nil
}

// IntegratedHazard is the integral of the hazard over [from, to): the
// expected number of interruptions of one instance running throughout, and
// -ln of the probability that it survives.
func (p *PoolTruth) IntegratedHazard(from, to time.Time) (float64, error) {
	segs, err := p.Segments(from, to)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, s := range segs {
		sum += s.Hazard * s.To.Sub(s.From).Hours()
	}
	return sum, nil
}

// Segments returns the constant pieces of the price and hazard covering
// [from, to), clipped to it; from and to must lie in [Start, Until].
func (p *PoolTruth) Segments(from, to time.Time) ([]Segment, error) {
	a, err := p.check(from)
	if err != nil {
		return nil, err
	}
	if to.After(p.until) || to.Before(from) {
		return nil, fmt.Errorf("%s to %s: %w [%s, %s]", p.Key, to.Format(time.RFC3339), ErrOutOfSpan,
			p.start.Format(time.RFC3339), p.until.Format(time.RFC3339))
	}
	b := to.Unix() - p.start.Unix()
	var out []Segment
	for i := p.segIndex(a); i < len(p.segT) && p.segT[i] < b; i++ {
		lo, hi := max(a, p.segT[i]), b
		if i+1 < len(p.segT) {
			hi = min(b, p.segT[i+1])
		}
		sg := p.segs[i]
		out = append(out, Segment{From: p.at(lo), To: p.at(hi), Hazard: sg.hazard, Price: sg.price,
			Weekend: sg.weekend, Pressure: sg.pressure})
	}
	return out, nil
}

// PriceChanges returns the price change points in [from, to): the series
// Generate writes for the pool (for [Start, End)).
func (p *PoolTruth) PriceChanges(from, to time.Time) []market.PricePoint {
	var out []market.PricePoint
	for i, s := range p.priceT {
		t := p.at(s)
		if t.Before(from) || !t.Before(to) {
			continue
		}
		out = append(out, market.PricePoint{Pool: p.Key, Time: t, Price: p.priceV[i], Source: market.SourceSimulated})
	}
	return out
}

// arrival returns the first time after from (seconds) at which the
// integral of scale*hazard from from reaches e, or false if that is not
// before limit.
func (p *PoolTruth) arrival(from int64, e, scale float64, limit int64) (int64, bool) {
	if scale <= 0 {
		return 0, false
	}
	i := p.segIndex(from)
	t := from
	for ; i < len(p.segT) && t < limit; i++ {
		next := limit
		if i+1 < len(p.segT) && p.segT[i+1] < limit {
			next = p.segT[i+1]
		}
		rate := scale * p.segs[i].hazard / 3600
		if need := e / rate; float64(next-t) >= need {
			s := t + int64(math.Ceil(need))
			if s <= from {
				s = from + 1
			}
			return s, s < limit
		}
		e -= float64(next-t) * rate
		t = next
	}
	return 0, false
}

// Pool returns the truth of one pool.
func (tr *Truth) Pool(key market.PoolKey) (*PoolTruth, error) {
	p, ok := tr.byKey[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrUnknownPool)
	}
	return p, nil
}

// Hazard is the true interruption hazard of the pool at t, per
// instance-hour.
func (tr *Truth) Hazard(key market.PoolKey, t time.Time) (float64, error) {
	p, err := tr.Pool(key)
	if err != nil {
		return 0, err
	}
	return p.HazardAt(t)
}

// Price is the pool's true spot price at t.
func (tr *Truth) Price(key market.PoolKey, t time.Time) (float64, error) {
	p, err := tr.Pool(key)
	if err != nil {
		return 0, err
	}
	return p.PriceAt(t)
}

// MonthlyFrequency is the probability that an instance facing a constant
// hazard h (per hour) is interrupted within a month of 730 hours.
func MonthlyFrequency(h float64) float64 { return -math.Expm1(-h * HoursPerMonth) }

// AdvisorBucket maps a monthly interruption frequency to the Spot Advisor's
// bucket: 0: <5%, 1: 5-10%, 2: 10-15%, 3: 15-20%, 4: >20%.
func AdvisorBucket(f float64) int {
	switch {
	case f < 0.05:
		return 0
	case f < 0.10:
		return 1
	case f < 0.15:
		return 2
	case f < 0.20:
		return 3
	default:
		return 4
	}
}

// PlacementScoreFor maps a mean hazard (per instance-hour) to a Spot
// Placement Score: 10 at 1e-4/h or less, 2.5 points lower per tenfold rise,
// at least 1 (V100's 0.8%/h scores 5, H100's 4.1%/h 3).
func PlacementScoreFor(h float64) int {
	if h <= 0 {
		return 10
	}
	s := int(math.Round(10 - 2.5*(math.Log10(h)+4)))
	return min(10, max(1, s))
}
