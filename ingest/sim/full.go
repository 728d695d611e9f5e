package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// The full market: a seeded, whole-catalogue AWS spot market at the real
// market's scale (tens of thousands of pools over the 17 default regions,
// a year of history), for benchmarks of import, refit and serving that
// anyone can regenerate. Beside the demo market (Generate), which is small
// and carries a ground truth for tests of the models, the full market is
// built for volume and shape:
//
//   - pools: --pools N pools drawn from the catalogue of fullcatalogue.go
//     (region x instance type x zone x product). Whole (region, type)
//     offerings are drawn without replacement, GPU offerings with four
//     times the weight of the others (spotcast's users run GPU work), then
//     every zone and product of an offering is taken, Linux/UNIX first,
//     until N pools; which pools exist depends on N and the regions only,
//     not on the seed;
//   - rows: the per-AZ history's shape. Each pool writes a heartbeat row a
//     day (its price, changed or not, at a time of day that drifts by about
//     a minute a day and is shared by the zones of a region) and price
//     changes at its own rate, drawn per pool from a lognormal with sigma
//     1.6 (median 1.1 changes a day, one pool in a hundred above 45), so
//     many pools are nearly flat and a few busy; about 4 rows per pool per
//     day on average. Red Hat and SUSE pools share the Linux/UNIX pool's
//     times and add their licence premium; Windows pools have their own,
//     quieter path (a third of the rate) plus their licence;
//   - prices: the demo's process (a mean-reverting log price 38-80% below
//     on-demand, cheaper at local night, calmer at local weekends, lifted
//     by capacity crunches that hit several zones of a region's family at
//     once), drawn backwards in time from End. Every component is
//     time-reversible (a stationary Ornstein-Uhlenbeck process, Poisson
//     change times, Poisson crunches), so the backward draw has the law
//     of the forward one, and it lets rows come out newest first without
//     holding a pool's history in memory;
//   - order: the real per-AZ file's, instance type ascending (byte order),
//     newest first within a type, rows sharing a time grouped by product
//     then zone. Memory is bounded by the pools of one type, whatever
//     Days is;
//   - the catalogue, on-demand prices of every product, and monthly Spot
//     Advisor rows (buckets drawn from the 2025-07 feed's distribution;
//     the published V100/A100/H100 rates for p3/p4/p5; savings from the
//     pools' mean discount). No interruption events or placement scores:
//     the demo market carries those.
//
// Every row's source is "simulated".

// DefaultFullEnd is the end of the full market's span when FullConfig.End
// is zero: a fixed time, so that a seed always gives the same bytes.
var DefaultFullEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// FullConfig says which full market to simulate.
type FullConfig struct {
	Seed uint64
	// Pools is the number of pools (1 to FullMaxPools(Regions)).
	Pools int
	// Days is the span [End-Days, End); 0 means 365.
	Days int
	// End is the end of the span; zero means DefaultFullEnd.
	End time.Time
	// Regions restricts the market (nil: every region of FullRegions).
	Regions []string
	// Now is the clock for FetchedAt of rows written to a Sink; nil means
	// time.Now.
	Now func() time.Time
}

// FullMarket is a full market ready to be written.
type FullMarket struct {
	Seed       uint64
	Start, End time.Time
	Pools      []market.PoolKey
	// Types are the instance types with at least one pool, by name.
	Types []string

	now     func() time.Time
	regions []fullRegion
	types   map[string]fullType
	pools   []fullPool
	byType  [][]int32 // pool indices of Types[i]
}

// fullPool is a pool's static description.
type fullPool struct {
	region  int // index in FullMarket.regions
	zone    int // index in the region's zones
	typ     string
	product int
}

// FullSummary counts what was written.
type FullSummary struct {
	Seed          uint64    `json:"seed"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Pools         int       `json:"pools"`
	Regions       int       `json:"regions"`
	Zones         int       `json:"zones"`
	InstanceTypes int64     `json:"instance_types"`
	Prices        int64     `json:"prices"`
	OnDemand      int64     `json:"ondemand_prices"`
	Advisor       int64     `json:"advisor"`
	// Bytes is the size of a CSV written (before compression).
	Bytes   int64   `json:"bytes,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Tables returns the row counts keyed by the store's table names.
func (s FullSummary) Tables() map[string]int64 {
	return map[string]int64{"prices": s.Prices, "instance_types": s.InstanceTypes, "ondemand_prices": s.OnDemand, "advisor": s.Advisor}
}

// Rows is the total number of rows written.
func (s FullSummary) Rows() int64 { return s.Prices + s.InstanceTypes + s.OnDemand + s.Advisor }

const defaultFullDays = 365

// gpuWeight is how much likelier a GPU offering is drawn than another.
const gpuWeight = 4

// FullMaxPools is the number of pools of the whole catalogue in the
// regions (nil: every region).
func FullMaxPools(regions []string) (int, error) {
	regs, err := selectFullRegions(regions)
	if err != nil {
		return 0, err
	}
	types, err := fullTypes()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range offerings(regs, types) {
		n += len(o.pools)
	}
	return n, nil
}

func selectFullRegions(names []string) ([]fullRegion, error) {
	if len(names) == 0 {
		return fullRegions, nil
	}
	var out []fullRegion
	for _, r := range fullRegions {
		if slices.Contains(names, r.Name) {
			out = append(out, r)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(fullRegions, func(r fullRegion) bool { return r.Name == n }) {
			return nil, fmt.Errorf("region %q: not in the full market (regions: %s)", n, strings.Join(FullRegions(), ", "))
		}
	}
	return out, nil
}

// offering is one (region, type) with the pools it has, in the order they
// are taken.
type offering struct {
	key   float64 // draw order, smallest first
	pools []fullPool
}

// catalogueSeed seeds the draws that decide which pools exist, so the
// catalogue does not change with the seed of the paths.
const catalogueSeed = 0x5107ca57

// offerings lists every (region, type) the catalogue offers in regs, in
// the order they are drawn.
func offerings(regs []fullRegion, types []fullType) []offering {
	var out []offering
	for _, t := range types {
		for ri, reg := range regs {
			if rank := slices.IndexFunc(fullRegions, func(r fullRegion) bool { return r.Name == reg.Name }); rank >= t.Regions {
				continue
			}
			r := stream(catalogueSeed, "offering", reg.Name, t.Name)
			w := 1.0
			if t.GPU {
				w = gpuWeight
			}
			// Exponential race: the smallest E/w first draws offerings
			// without replacement with probability proportional to w.
			o := offering{key: r.ExpFloat64() / w}
			// Zones: an old zone (us-east-1e) has a quarter of the types,
			// the others most; at least one.
			var zones []int
			for zi, z := range reg.Zones {
				p := 0.92
				if z == "us-east-1e" {
					p = 0.25
				}
				if r.Float64() < p {
					zones = append(zones, zi)
				}
			}
			if len(zones) == 0 {
				zones = []int{r.IntN(len(reg.Zones))}
			}
			for _, prod := range []int{prodLinux, prodRHEL, prodSUSE, prodWindows} {
				if prod == prodWindows && t.Arm {
					continue
				}
				for _, zi := range zones {
					o.pools = append(o.pools, fullPool{region: ri, zone: zi, typ: t.Name, product: prod})
				}
			}
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// NewFullMarket draws the pools of cfg's market.
func NewFullMarket(cfg FullConfig) (*FullMarket, error) {
	if cfg.Days == 0 {
		cfg.Days = defaultFullDays
	}
	if cfg.Days < 0 || cfg.Days > maxDays {
		return nil, fmt.Errorf("days %d: must be between 1 and %d", cfg.Days, maxDays)
	}
	if cfg.End.IsZero() {
		cfg.End = DefaultFullEnd
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	regs, err := selectFullRegions(cfg.Regions)
	if err != nil {
		return nil, err
	}
	types, err := fullTypes()
	if err != nil {
		return nil, err
	}
	offs := offerings(regs, types)
	total := 0
	for _, o := range offs {
		total += len(o.pools)
	}
	if cfg.Pools < 1 || cfg.Pools > total {
		return nil, fmt.Errorf("pools %d: must be between 1 and %d (the whole catalogue of %d regions)", cfg.Pools, total, len(regs))
	}
	end := cfg.End.UTC().Truncate(time.Second)
	m := &FullMarket{
		Seed: cfg.Seed, End: end, Start: end.Add(-time.Duration(cfg.Days) * 24 * time.Hour),
		now: cfg.Now, regions: regs, types: map[string]fullType{},
	}
	for _, t := range types {
		m.types[t.Name] = t
	}
	for _, o := range offs {
		for _, p := range o.pools {
			if len(m.pools) == cfg.Pools {
				break
			}
			m.pools = append(m.pools, p)
		}
	}
	// Pools in file order: type, then region and zone, then product.
	sort.Slice(m.pools, func(i, j int) bool {
		a, b := m.pools[i], m.pools[j]
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		if a.region != b.region {
			return m.regions[a.region].Name < m.regions[b.region].Name
		}
		if a.zone != b.zone {
			return a.zone < b.zone
		}
		return a.product < b.product
	})
	m.Pools = make([]market.PoolKey, len(m.pools))
	for i, p := range m.pools {
		reg := m.regions[p.region]
		m.Pools[i] = market.PoolKey{Cloud: market.AWS, Region: reg.Name, Zone: reg.Zones[p.zone], InstanceType: p.typ, Product: productNames[p.product]}
		if len(m.Types) == 0 || m.Types[len(m.Types)-1] != p.typ {
			m.Types = append(m.Types, p.typ)
			m.byType = append(m.byType, nil)
		}
		m.byType[len(m.byType)-1] = append(m.byType[len(m.byType)-1], int32(i))
	}
	return m, nil
}

// onDemandMicro is the on-demand price of a pool's type and product in its
// region, micro-dollars per hour.
func (m *FullMarket) onDemandMicro(region int, typ string, product int) int64 {
	t := m.types[typ]
	linux := int64(math.Round(t.OnDemand * m.regions[region].OnDemandFactor * 1e4)) // to the tick
	return linux*100 + premiumMicro(product, t.VCPU)
}

// Pool-group parameters: a group is the pools of one zone and type that
// share a path (Red Hat, SUSE and Linux/UNIX; or Windows).
const (
	fullTick          = 1e-4 // USD
	fullCapRatio      = 0.97
	fullRateSigma     = 1.6
	fullRateMu        = 0.12 // log changes a day: median e^0.12 = 1.13
	fullMinRate       = 0.05 // changes a day
	fullMaxRate       = 144
	fullWindowsRate   = 1.0 / 3
	fullWeekendFactor = 0.5
	fullCrunchFactor  = 2
	fullCrunchMaxDur  = 72 * 3600 // seconds
	dayS              = 86400
)

// group draws one path backwards from End and yields its rows newest
// first. Its pools share the row times; each adds its product's premium.
type group struct {
	pools   [numProducts]int32 // pool index per product, -1 if absent
	zone    int
	zoneKey string

	// path parameters
	od       float64 // Linux/UNIX on-demand in the region
	capTicks int64
	logMean  float64
	theta    float64 // OU rate, 1/s
	sd       float64
	dip      float64
	rate     float64 // changes per second, before modulation
	utcOff   int64
	hbBase   float64 // heartbeat time of day at day 0, seconds
	hbDrift  float64 // seconds a day

	rc, rz *rand.Rand
	crunch *crunchIter

	// state
	cand    float64 // last thinning candidate, unix seconds
	chT     int64   // pending change: the newest change not yet written
	chTicks int64
	zT      int64
	z       float64
	zSet    bool
	hbDay   int64
	hbT     int64
}

// next returns the group's next row (newest first) and moves past it.
func (g *group) next() (int64, int64) {
	if g.hbT > g.chT {
		t, ticks := g.hbT, g.chTicks // the price set by the pending change
		g.prevHeartbeat()
		return t, ticks
	}
	t, ticks := g.chT, g.chTicks
	if g.hbT == g.chT {
		g.prevHeartbeat()
	}
	g.prevChange()
	return t, ticks
}

// peek is the time of the next row.
func (g *group) peek() int64 { return max(g.hbT, g.chT) }

func (g *group) heartbeat(day int64) int64 {
	off := math.Mod(g.hbBase+g.hbDrift*float64(day), dayS)
	return day*dayS + int64(off)
}

func (g *group) prevHeartbeat() {
	g.hbDay--
	g.hbT = g.heartbeat(g.hbDay)
}

func (g *group) local(s int64) (weekend, night bool) {
	l := s + g.utcOff
	day := floorDiv(l, dayS)
	wd := (day + 4) % 7 // 1970-01-01 was a Thursday; 0 is Sunday
	if wd < 0 {
		wd += 7
	}
	h := (l - day*dayS) / 3600
	return wd == 0 || wd == 6, h >= 22 || h < 6
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// prevChange draws the change before the pending one, by thinning a
// Poisson process of the maximal rate, backwards.
func (g *group) prevChange() {
	maxRate := g.rate * fullCrunchFactor
	for {
		g.cand -= g.rc.ExpFloat64() / maxRate
		u := g.rc.Float64()
		s := int64(math.Floor(g.cand))
		if s >= g.chT {
			continue
		}
		weekend, night := g.local(s)
		lift, in := g.crunch.lift(s, g.zone)
		r := g.rate
		if weekend {
			r *= fullWeekendFactor
		}
		if in {
			r *= fullCrunchFactor
		}
		if u*maxRate >= r {
			continue
		}
		// The OU state at s given the state at the later zT (the process
		// is reversible: the backward step has the forward step's law).
		if !g.zSet {
			g.z, g.zSet = g.sd*g.rz.NormFloat64(), true
		} else {
			mu := math.Exp(-g.theta * float64(g.zT-s))
			g.z = mu*g.z + g.sd*math.Sqrt(1-mu*mu)*g.rz.NormFloat64()
		}
		g.zT = s
		x := g.logMean + lift + g.z
		if night {
			x -= g.dip
		}
		ticks := int64(math.Round(g.od * math.Exp(x) / fullTick))
		g.chT, g.chTicks = s, min(g.capTicks, max(1, ticks))
		return
	}
}

// crunchIter yields a (region, family)'s capacity crunches backwards in
// time. Every group of the region and family draws the same crunches from
// the same stream; each keeps only those that can still cover its times.
type crunchIter struct {
	r      *rand.Rand
	nzones int
	genT   float64 // start of the oldest crunch drawn
	eps    []crunchEp
}

type crunchEp struct {
	from, to int64
	lift     float64
	zones    uint64
}

func newCrunchIter(seed uint64, region, family string, nzones int, end int64) *crunchIter {
	return &crunchIter{r: stream(seed, "full-crunch", region, family), nzones: nzones, genT: float64(end)}
}

// lift is the summed log lift of the crunches covering s in the zone;
// s must not increase between calls.
func (c *crunchIter) lift(s int64, zone int) (float64, bool) {
	for float64(s-fullCrunchMaxDur) <= c.genT {
		c.genT -= c.r.ExpFloat64() * crunchEveryDays * dayS
		dur := math.Min(72, math.Max(4, c.r.ExpFloat64()*24)) * 3600
		lift := 0.15 + 0.35*c.r.Float64()
		var zones uint64
		for z := 0; z < c.nzones; z++ {
			if c.r.Float64() < 0.5 {
				zones |= 1 << z
			}
		}
		if zones == 0 {
			zones = 1 << c.r.IntN(c.nzones)
		}
		from := int64(c.genT)
		c.eps = append(c.eps, crunchEp{from: from, to: from + int64(dur), lift: lift, zones: zones})
	}
	// Crunches starting after s cover no later query.
	i := 0
	for i < len(c.eps) && c.eps[i].from > s {
		i++
	}
	c.eps = c.eps[i:]
	var l float64
	in := false
	for _, e := range c.eps {
		if e.from <= s && s < e.to && e.zones&(1<<zone) != 0 {
			l += e.lift
			in = true
		}
	}
	return l, in
}

// groups builds the path groups of Types[ti], each positioned on its
// newest row.
func (m *FullMarket) groups(ti int) []*group {
	end := m.End.Unix()
	var out []*group
	find := func(region, zone int, windows bool) *group {
		for _, g := range out {
			p := g.pools[prodLinux]
			if p < 0 {
				p = max(g.pools[prodRHEL], g.pools[prodSUSE], g.pools[prodWindows])
			}
			q := m.pools[p]
			if q.region == region && q.zone == zone && (g.pools[prodWindows] >= 0) == windows {
				return g
			}
		}
		return nil
	}
	typ := m.Types[ti]
	ft := m.types[typ]
	for _, pi := range m.byType[ti] {
		p := m.pools[pi]
		win := p.product == prodWindows
		if g := find(p.region, p.zone, win); g != nil {
			g.pools[p.product] = pi
			continue
		}
		reg := m.regions[p.region]
		class := "linux"
		if win {
			class = "windows"
		}
		zoneName := reg.Zones[p.zone]
		par := m.params(zoneName, typ, win)
		hb := stream(m.Seed, "full-heartbeat", reg.Name, typ, class)
		od := float64(m.onDemandMicro(p.region, typ, prodLinux)) / 1e6
		g := &group{
			pools:    [numProducts]int32{-1, -1, -1, -1},
			zone:     p.zone,
			zoneKey:  zoneName,
			od:       od,
			capTicks: int64(math.Floor(fullCapRatio * od / fullTick)),
			logMean:  math.Log1p(-par.discount),
			theta:    math.Ln2 / (par.halfLifeDays * dayS),
			sd:       par.sd,
			dip:      par.dip,
			rate:     par.rate / dayS,
			utcOff:   reg.UTCOffset,
			hbBase:   hb.Float64() * dayS,
			hbDrift:  30 + 60*hb.Float64(),
			rc:       stream(m.Seed, "full-changes", zoneName, typ, class),
			rz:       stream(m.Seed, "full-ou", zoneName, typ, class),
			crunch:   newCrunchIter(m.Seed, reg.Name, ft.Family, len(reg.Zones), end),
			cand:     float64(end),
			chT:      end,
		}
		g.pools[p.product] = pi
		g.hbDay = floorDiv(end-1, dayS) + 1
		for g.hbT = end; g.hbT >= end; {
			g.prevHeartbeat()
		}
		g.prevChange()
		out = append(out, g)
	}
	return out
}

// groupParams are a group's path parameters.
type groupParams struct {
	discount     float64 // long-run 1 - spot/on-demand
	rate         float64 // changes a day, before modulation
	halfLifeDays float64
	sd           float64 // stationary sd of the log price
	dip          float64 // log price dip at local night
}

func (m *FullMarket) params(zone, typ string, windows bool) groupParams {
	class := "linux"
	if windows {
		class = "windows"
	}
	r := stream(m.Seed, "full-params", zone, typ, class)
	p := groupParams{discount: 0.38 + 0.42*r.Float64()}
	p.rate = math.Min(fullMaxRate, math.Max(fullMinRate, math.Exp(fullRateMu+fullRateSigma*r.NormFloat64())))
	if windows {
		p.rate *= fullWindowsRate
	}
	p.halfLifeDays = 2 + 12*r.Float64()
	p.sd = 0.02 + 0.10*r.Float64()
	p.dip = 0.01 + 0.03*r.Float64()
	return p
}

// fullRow is one price row: a pool, a time (unix seconds) and a price in
// micro-dollars.
type fullRow struct {
	pool  int32
	t     int64
	micro int64
}

// eachPrice calls fn with every price row on [Start, End) in file order.
// progress (may be nil) is called after each instance type with the
// number of types done.
func (m *FullMarket) eachPrice(ctx context.Context, fn func(fullRow) error, progress func(typesDone int)) error {
	start := m.Start.Unix()
	var h groupHeap
	var batch []*group
	var ticks []int64
	premium := make([]int64, len(m.pools))
	for i, p := range m.pools {
		premium[i] = premiumMicro(p.product, m.types[p.typ].VCPU)
	}
	for ti := range m.Types {
		if err := ctx.Err(); err != nil {
			return err
		}
		h = h[:0]
		for _, g := range m.groups(ti) {
			if g.peek() >= start {
				h.push(g)
			}
		}
		for len(h) > 0 {
			// Every group with a row at the newest time, in zone order.
			t := h[0].peek()
			batch = batch[:0]
			for len(h) > 0 && h[0].peek() == t {
				batch = append(batch, h.pop())
			}
			sort.Slice(batch, func(i, j int) bool { return batch[i].zoneKey < batch[j].zoneKey })
			ticks = ticks[:0]
			for _, g := range batch {
				_, tk := g.next()
				ticks = append(ticks, tk)
			}
			for prod := range numProducts {
				for i, g := range batch {
					if p := g.pools[prod]; p >= 0 {
						if err := fn(fullRow{pool: p, t: t, micro: ticks[i]*100 + premium[p]}); err != nil {
							return err
						}
					}
				}
			}
			for _, g := range batch {
				if g.peek() >= start {
					h.push(g)
				}
			}
		}
		if progress != nil {
			progress(ti + 1)
		}
	}
	return nil
}

// groupHeap is a max-heap of groups by next row time, ties by zone name.
type groupHeap []*group

func (h groupHeap) less(i, j int) bool {
	a, b := h[i].peek(), h[j].peek()
	if a != b {
		return a > b
	}
	return h[i].zoneKey < h[j].zoneKey
}

func (h *groupHeap) push(g *group) {
	*h = append(*h, g)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *groupHeap) pop() *group {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.less(l, m) {
			m = l
		}
		if r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
