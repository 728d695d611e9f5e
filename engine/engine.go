package engine

import (
	"context"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// MaxOnDemand bounds the forecasts computed on demand at once, those
	// the persisted forecasts do not answer (0: GOMAXPROCS).
	MaxOnDemand int
	// Logger (nil: discarded).
	Logger *slog.Logger
}

// Engine answers spotcast's questions from a store. Its methods are safe
// for concurrent use and keep no per-request state: caching answers is
// the caller's choice.
type Engine struct {
	store *storage.Store
	now   func() time.Time
	log   *slog.Logger
	// sem bounds the forecasts computed on demand (see onDemand).
	sem chan struct{}
	// served holds the persisted forecasts in memory once Load or a
	// Refit has run; nil reads them from the store per pool.
	served atomic.Pointer[served]
	// refitMu lets one refit run at a time.
	refitMu sync.Mutex
}

// New returns an Engine over store. A nil store serves only what needs
// no data (a checkpoint interval from a given MTBF).
func New(store *storage.Store, opts Options) *Engine {
	e := &Engine{store: store, now: opts.Now, log: opts.Logger}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	n := opts.MaxOnDemand
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e.sem = make(chan struct{}, n)
	return e
}

// Store returns the store the Engine reads.
func (e *Engine) Store() *storage.Store { return e.store }

// Now is the Engine's clock.
func (e *Engine) Now() time.Time { return e.now() }

// onDemand runs compute, one of the forecasts the persisted ones do not
// answer (another horizon or model, an origin in the past), once a slot
// of MaxOnDemand is free or ctx ends. Every such computation goes
// through here, so this is the one place to bound or shed them.
func (e *Engine) onDemand(ctx context.Context, compute func(ctx context.Context) error) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.sem }()
	return compute(ctx)
}

// PoolRef names a pool in a request. Cloud defaults to aws; Region may be
// left out when Zone is given; Product, when left out, prefers Linux/UNIX.
type PoolRef struct {
	Cloud        string `json:"cloud,omitempty"`
	Region       string `json:"region,omitempty"`
	Zone         string `json:"zone,omitempty"`
	InstanceType string `json:"instance_type"`
	Product      string `json:"product,omitempty"`
}

// Ref returns the reference naming key exactly.
func Ref(key market.PoolKey) PoolRef {
	return PoolRef{Cloud: key.Cloud, Region: key.Region, Zone: key.Zone, InstanceType: key.InstanceType, Product: key.Product}
}

// Normalize fills the defaults and checks the fields a pool needs.
func (r PoolRef) Normalize() (PoolRef, error) {
	if r.Cloud == "" {
		r.Cloud = market.AWS
	}
	if r.InstanceType == "" {
		return r, Invalid("instance_type", "required")
	}
	if r.Zone != "" {
		reg, err := market.RegionOfZone(r.Zone)
		if err != nil {
			return r, Invalid("zone", "%v", err)
		}
		if r.Region == "" {
			r.Region = reg
		} else if r.Region != reg {
			return r, Invalid("zone", "%q is not in region %q", r.Zone, r.Region)
		}
	}
	if r.Region == "" {
		return r, Invalid("region", "required (or give zone)")
	}
	return r, nil
}

// checkResolution accepts "" (the finer stored series) or a resolution.
func checkResolution(resolution string) error {
	switch resolution {
	case "", market.ResolutionChange, market.ResolutionDaily:
		return nil
	}
	return Invalid("resolution", "%q is not %q or %q", resolution, market.ResolutionChange, market.ResolutionDaily)
}

// resolve finds the stored pool ref names: the exact zone (or the
// region-level pool when no zone is given), the finer resolution unless
// one is asked for, and Linux/UNIX when the product is left out.
func (e *Engine) resolve(ctx context.Context, ref PoolRef, resolution string) (storage.PoolInfo, error) {
	ref, err := ref.Normalize()
	if err != nil {
		return storage.PoolInfo{}, err
	}
	if err := checkResolution(resolution); err != nil {
		return storage.PoolInfo{}, err
	}
	if s := e.served.Load(); s != nil {
		k := market.PoolKey{Cloud: ref.Cloud, Region: ref.Region, Zone: ref.Zone, InstanceType: ref.InstanceType, Product: ref.Product}
		if best := bestPool(s.infos(s.byKey[k]), ref.Zone, resolution); best != nil {
			return *best, nil
		}
		// Not fitted yet (a pool new since the last refit): the store.
	}
	pools, err := e.store.Pools(ctx, storage.PoolFilter{Cloud: ref.Cloud, Region: ref.Region, Zone: ref.Zone,
		InstanceType: ref.InstanceType, Product: ref.Product})
	if err != nil {
		return storage.PoolInfo{}, err
	}
	if best := bestPool(pools, ref.Zone, resolution); best != nil {
		return *best, nil
	}
	return storage.PoolInfo{}, notStored(ref, resolution)
}

// bestPool picks, among pools matching a reference, the one of zone (""
// for the region-level pool) with points, of the given resolution if
// any, preferring change series and Linux/UNIX.
func bestPool(pools []storage.PoolInfo, zone, resolution string) *storage.PoolInfo {
	var best *storage.PoolInfo
	for i := range pools {
		p := &pools[i]
		if p.Zone != zone || (resolution != "" && p.Resolution != resolution) || p.Points == 0 {
			continue
		}
		if best == nil || poolRank(*p) < poolRank(*best) {
			best = p
		}
	}
	return best
}

func notStored(ref PoolRef, resolution string) error {
	k := market.PoolKey{Cloud: ref.Cloud, Region: ref.Region, Zone: ref.Zone, InstanceType: ref.InstanceType, Product: ref.Product}
	what := k.String()
	if resolution != "" {
		what += " (resolution " + resolution + ")"
	}
	return NotFound("pool %s is not stored (GET /v1/pools lists the stored pools)", what)
}

// poolRank orders candidate pools: change series before daily ones,
// Linux/UNIX before other products.
func poolRank(p storage.PoolInfo) int {
	r := 0
	if p.Resolution != market.ResolutionChange {
		r += 2
	}
	if p.Product != "Linux/UNIX" {
		r++
	}
	return r
}

// Provenance is carried by every data-bearing answer.
type Provenance struct {
	// Source: the sources the answer rests on ("simulated" for the demo
	// market, "aws-api", "file:NAME", ...), comma-separated.
	Source string `json:"source"`
	// Simulated is true when any of the data is simulated.
	Simulated bool `json:"simulated"`
}

// provenance summarises the sources an answer rests on: the distinct
// sources, sorted and comma-joined, and whether any is simulated.
func provenance(srcs ...string) Provenance {
	seen := map[string]bool{}
	var out []string
	sim := false
	for _, s := range srcs {
		for _, p := range strings.Split(s, ",") {
			p = strings.TrimSpace(p)
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			if p == market.SourceSimulated {
				sim = true
			}
		}
	}
	sort.Strings(out)
	return Provenance{Source: strings.Join(out, ","), Simulated: sim}
}
