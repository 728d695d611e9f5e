// Package api is spotcast's serving layer: one Service that answers every
// operation (pools, prices, price and interruption forecasts,
// recommendations, event intake, health) over the store, the HTTP JSON
// handler and OpenAPI document in front of it, the Prometheus exporter,
// the scheduler that keeps data and forecasts fresh, and the server that
// runs them with timeouts and graceful shutdown.
//
// Handlers stay thin: they parse parameters into the request types here and
// write the response types as JSON, so another transport (gRPC) can reuse
// the Service unchanged. Every response that rests on stored data carries
// the data's source, and "simulated": true when any of it came from the
// market simulator, so simulated data is never passed off as real.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Options configure a Service. The zero value is usable.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Watch lists the pools whose forecasts Refit keeps warm and whose
	// per-pool metrics the exporter publishes.
	Watch []market.PoolKey
	// CacheTTL is how long a computed forecast is reused (default 15 min);
	// an import through the Service (events, scheduled ingest) empties
	// the cache at once.
	CacheTTL time.Duration
	// Logger (nil: discarded).
	Logger *slog.Logger
}

// Service answers spotcast's operations from a store. It is safe for
// concurrent use.
type Service struct {
	store *storage.Store
	now   func() time.Time
	log   *slog.Logger
	// Forecasts are cached apart, so that posted events, which move
	// only the interruption forecasts, leave the price forecasts cached.
	priceCache, hazardCache *cache
	watch                   atomic.Pointer[[]market.PoolKey]
	snap                    atomic.Pointer[Snapshot]
	bt                      atomic.Pointer[forecast.BacktestReport]
	ready                   atomic.Bool
}

// New returns a Service over store. It is not ready (Ready fails) until
// SetReady is called, so a server can listen while the store is still
// being filled.
func New(store *storage.Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	ttl := opts.CacheTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	s.priceCache = newCache(ttl, s.now)
	s.hazardCache = newCache(ttl, s.now)
	s.SetWatch(opts.Watch)
	return s
}

// SetWatch replaces the watched pools.
func (s *Service) SetWatch(keys []market.PoolKey) {
	k := append([]market.PoolKey(nil), keys...)
	s.watch.Store(&k)
}

// Watch returns the watched pools.
func (s *Service) Watch() []market.PoolKey { return *s.watch.Load() }

// SetReady marks the service ready to answer (or not).
func (s *Service) SetReady(ok bool) { s.ready.Store(ok) }

// Invalidate drops every cached forecast; call it after writing to the
// store behind the Service's back.
func (s *Service) Invalidate() {
	s.priceCache.invalidate()
	s.hazardCache.invalidate()
}

// Store returns the store the Service reads.
func (s *Service) Store() *storage.Store { return s.store }

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

// normalize fills the defaults and checks the fields a pool needs.
func (r PoolRef) normalize() (PoolRef, error) {
	if r.Cloud == "" {
		r.Cloud = market.AWS
	}
	if r.InstanceType == "" {
		return r, invalid("instance_type", "required")
	}
	if r.Zone != "" {
		reg, err := market.RegionOfZone(r.Zone)
		if err != nil {
			return r, invalid("zone", "%v", err)
		}
		if r.Region == "" {
			r.Region = reg
		} else if r.Region != reg {
			return r, invalid("zone", "%q is not in region %q", r.Zone, r.Region)
		}
	}
	if r.Region == "" {
		return r, invalid("region", "required (or give zone)")
	}
	return r, nil
}

// resolve finds the stored pool ref names: the exact zone (or the
// region-level pool when no zone is given), the finer resolution unless
// one is asked for, and Linux/UNIX when the product is left out.
func (s *Service) resolve(ctx context.Context, ref PoolRef, resolution string) (storage.PoolInfo, error) {
	ref, err := ref.normalize()
	if err != nil {
		return storage.PoolInfo{}, err
	}
	switch resolution {
	case "", market.ResolutionChange, market.ResolutionDaily:
	default:
		return storage.PoolInfo{}, invalid("resolution", "%q is not %q or %q", resolution, market.ResolutionChange, market.ResolutionDaily)
	}
	// The pool list query aggregates the pools' prices, the biggest cost
	// of a cached forecast; pools change only with an ingest, which
	// empties the price cache.
	v, err := s.priceCache.get(ctx, fmt.Sprintf("pools|%s|%s|%s|%s|%s", ref.Cloud, ref.Region, ref.Zone, ref.InstanceType, ref.Product), func(ctx context.Context) (any, error) {
		return s.store.Pools(ctx, storage.PoolFilter{Cloud: ref.Cloud, Region: ref.Region, Zone: ref.Zone,
			InstanceType: ref.InstanceType, Product: ref.Product})
	})
	if err != nil {
		return storage.PoolInfo{}, err
	}
	pools := v.([]storage.PoolInfo)
	var best *storage.PoolInfo
	for i := range pools {
		p := &pools[i]
		if p.Zone != ref.Zone || (resolution != "" && p.Resolution != resolution) || p.Points == 0 {
			continue
		}
		if best == nil || poolRank(*p) < poolRank(*best) {
			best = p
		}
	}
	if best == nil {
		k := market.PoolKey{Cloud: ref.Cloud, Region: ref.Region, Zone: ref.Zone, InstanceType: ref.InstanceType, Product: ref.Product}
		what := k.String()
		if resolution != "" {
			what += " (resolution " + resolution + ")"
		}
		return storage.PoolInfo{}, notFound("pool %s is not stored (GET /v1/pools lists the stored pools)", what)
	}
	return *best, nil
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

// sources summarises the sources an answer rests on: the distinct
// sources, sorted and comma-joined, and whether any is simulated.
func sources(srcs ...string) (string, bool) {
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
	return strings.Join(out, ","), sim
}

// Provenance is carried by every data-bearing response.
type Provenance struct {
	// Source: the sources the answer rests on ("simulated" for the demo
	// market, "aws-api", "file:NAME", ...), comma-separated.
	Source string `json:"source"`
	// Simulated is true when any of the data is simulated.
	Simulated bool `json:"simulated"`
}

func provenance(srcs ...string) Provenance {
	src, sim := sources(srcs...)
	return Provenance{Source: src, Simulated: sim}
}

// Pool is a stored pool with its catalogue entry.
type Pool struct {
	market.Pool
	VCPU         int     `json:"vcpu,omitempty"`
	MemoryGiB    float64 `json:"memory_gib,omitempty"`
	GPUModel     string  `json:"gpu_model,omitempty"`
	GPUCount     int     `json:"gpu_count,omitempty"`
	GPUMemoryGiB float64 `json:"gpu_memory_gib,omitempty"`
}

// PoolsRequest filters the pool list; empty fields match anything.
type PoolsRequest struct {
	Cloud, Region, Zone, InstanceType, Product string
	GPUModel                                   string
	MinGPUMemoryGiB                            float64
	Source                                     string
	// Limit caps the list (0: DefaultPoolLimit; at most MaxPoolLimit).
	Limit int
}

// Pool list bounds.
const (
	DefaultPoolLimit = 1000
	MaxPoolLimit     = 50000
)

// PoolsResponse lists pools.
type PoolsResponse struct {
	Pools     []Pool `json:"pools"`
	Count     int    `json:"count"`
	Truncated bool   `json:"truncated"`
	Provenance
}

// Pools lists stored pools.
func (s *Service) Pools(ctx context.Context, req PoolsRequest) (PoolsResponse, error) {
	limit := req.Limit
	switch {
	case limit < 0 || limit > MaxPoolLimit:
		return PoolsResponse{}, invalid("limit", "%d is not in [1, %d]", limit, MaxPoolLimit)
	case limit == 0:
		limit = DefaultPoolLimit
	}
	if req.MinGPUMemoryGiB < 0 {
		return PoolsResponse{}, invalid("min_gpu_memory_gib", "must be >= 0")
	}
	ps, err := s.store.Pools(ctx, storage.PoolFilter{Cloud: req.Cloud, Region: req.Region, Zone: req.Zone,
		InstanceType: req.InstanceType, Product: req.Product, GPUModel: req.GPUModel,
		MinGPUMemoryGiB: req.MinGPUMemoryGiB, Source: req.Source, Limit: limit + 1})
	if err != nil {
		return PoolsResponse{}, err
	}
	out := PoolsResponse{Pools: []Pool{}}
	if len(ps) > limit {
		ps, out.Truncated = ps[:limit], true
	}
	srcs := make([]string, 0, len(ps))
	for _, p := range ps {
		out.Pools = append(out.Pools, Pool{Pool: p.Pool, VCPU: p.Type.VCPU, MemoryGiB: p.Type.MemoryGiB,
			GPUModel: p.Type.GPUModel, GPUCount: p.Type.GPUCount, GPUMemoryGiB: p.Type.GPUMemoryGiB})
		srcs = append(srcs, p.Source)
	}
	out.Count = len(out.Pools)
	out.Provenance = provenance(srcs...)
	return out, nil
}

// PricesRequest asks for a pool's price points.
type PricesRequest struct {
	Pool       PoolRef
	Resolution string
	// From and To bound the points (zero: open). The point in effect at
	// From is included.
	From, To time.Time
	// Limit keeps the newest Limit points (0: DefaultPriceLimit).
	Limit int
}

// Price list bounds.
const (
	DefaultPriceLimit = 10000
	MaxPriceLimit     = 200000
)

// PricePoint is one price in a response. Open, High, Low and Close are set
// for daily series.
type PricePoint struct {
	Time   time.Time `json:"time"`
	Price  float64   `json:"price_usd_per_hour"`
	Open   float64   `json:"open,omitempty"`
	High   float64   `json:"high,omitempty"`
	Low    float64   `json:"low,omitempty"`
	Close  float64   `json:"close,omitempty"`
	Source string    `json:"source"`
}

// PricesResponse is a pool's price series in time order.
type PricesResponse struct {
	Pool       market.PoolKey `json:"pool"`
	Resolution string         `json:"resolution"`
	Points     []PricePoint   `json:"points"`
	Count      int            `json:"count"`
	Truncated  bool           `json:"truncated"`
	Provenance
}

// Prices returns a pool's points.
func (s *Service) Prices(ctx context.Context, req PricesRequest) (PricesResponse, error) {
	limit := req.Limit
	switch {
	case limit < 0 || limit > MaxPriceLimit:
		return PricesResponse{}, invalid("limit", "%d is not in [1, %d]", limit, MaxPriceLimit)
	case limit == 0:
		limit = DefaultPriceLimit
	}
	if !req.From.IsZero() && !req.To.IsZero() && !req.To.After(req.From) {
		return PricesResponse{}, invalid("to", "must be after from")
	}
	p, err := s.resolve(ctx, req.Pool, req.Resolution)
	if err != nil {
		return PricesResponse{}, err
	}
	pts, err := s.store.SeriesOf(ctx, p.PoolKey, p.Resolution, req.From, req.To)
	if err != nil {
		return PricesResponse{}, err
	}
	out := PricesResponse{Pool: p.PoolKey, Resolution: p.Resolution, Points: make([]PricePoint, 0, min(len(pts), limit))}
	if len(pts) > limit {
		pts, out.Truncated = pts[len(pts)-limit:], true
	}
	srcs := map[string]bool{}
	for _, pt := range pts {
		q := PricePoint{Time: pt.Time.UTC(), Price: pt.Price, Source: pt.Source}
		if pt.HasBar {
			q.Open, q.High, q.Low, q.Close = pt.Bar.Open, pt.Bar.High, pt.Bar.Low, pt.Bar.Close
		}
		out.Points = append(out.Points, q)
		srcs[pt.Source] = true
	}
	out.Count = len(out.Points)
	list := make([]string, 0, len(srcs))
	for k := range srcs {
		list = append(list, k)
	}
	out.Provenance = provenance(list...)
	if len(list) == 0 {
		out.Provenance = provenance(p.Source)
	}
	return out, nil
}

// Status is the answer of Health and Ready.
type Status struct {
	Status string `json:"status"`
	// Simulated is true when the store's newest prices are simulated.
	Simulated bool   `json:"simulated,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// Health says the process is up; it touches nothing.
func (s *Service) Health(context.Context) Status { return Status{Status: "ok"} }

// Ready says whether the service can answer: marked ready and the store
// answering a query.
func (s *Service) Ready(ctx context.Context) (Status, error) {
	if !s.ready.Load() {
		return Status{Status: "starting"}, &Error{Code: CodeUnavailable, Message: "not ready: the store is still being loaded"}
	}
	var one int
	if err := s.store.DB().QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return Status{Status: "unavailable"}, &Error{Code: CodeUnavailable, Message: "store does not answer", Err: err}
	}
	st := Status{Status: "ready"}
	if snap := s.snap.Load(); snap != nil {
		st.Simulated = snap.Simulated
	}
	return st, nil
}

// isNotFound reports a storage miss, to turn into a 404.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// errorf adds context to an unclassified error; classified ones pass as is.
func errorf(err error, format string, args ...any) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
