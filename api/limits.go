package api

import (
	"context"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
)

// Limits bound what one request may cost, so that no request, and no
// burst of them, can make the server spend unbounded CPU or memory. A
// request over a bound gets 400 naming the parameter and the bound; a
// request that finds the server at its cap gets 503 with Retry-After
// (gRPC: ResourceExhausted). The zero value takes the defaults below.
type Limits struct {
	// MaxConcurrent bounds the answers (forecasts, recommendations)
	// computed on request at once; an answer from a cache or the
	// persisted forecasts needs no slot (0: half of GOMAXPROCS, at least
	// one, so that the other cores keep serving those).
	MaxConcurrent int
	// MaxQueue bounds the computations waiting for a slot (0: 64 per
	// slot, at least 256); one more is refused at once.
	MaxQueue int
	// MaxWait is how long a computation waits for a slot before its
	// requests are refused (0: DefaultMaxWait).
	MaxWait time.Duration
	// MaxRegions bounds the distinct regions of one placement (0:
	// DefaultMaxRegions).
	MaxRegions int
	// MaxK bounds the diversified set of one placement (0: DefaultMaxK).
	MaxK int
	// MaxNodes bounds the nodes of a placement or a checkpoint (0:
	// DefaultMaxNodes).
	MaxNodes int
}

// Limit defaults. Every cloud has fewer than DefaultMaxRegions regions,
// so a placement over all of one cloud's regions stays within it. A
// computation waits for a slot at most DefaultMaxWait, within the
// request's own DefaultRequestTimeout, so a busy server answers 503
// overloaded rather than a timeout; the queue's bound is what sheds a
// flood at once.
const (
	DefaultMaxWait    = 20 * time.Second
	DefaultMaxRegions = 100
	DefaultMaxK       = 50
	DefaultMaxNodes   = 10000
	// AsOfFuture is how far past now an as_of may lie (clock skew).
	AsOfFuture = time.Hour
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if l.MaxQueue <= 0 {
		l.MaxQueue = max(64*l.MaxConcurrent, 256)
	}
	if l.MaxWait <= 0 {
		l.MaxWait = DefaultMaxWait
	}
	if l.MaxRegions <= 0 {
		l.MaxRegions = DefaultMaxRegions
	}
	if l.MaxK <= 0 {
		l.MaxK = DefaultMaxK
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	return l
}

// overLimit is the 400 of a parameter past its bound.
func overLimit(param string, got, limit int) error {
	return engine.Invalid(param, "%d is more than this server's limit of %d", got, limit)
}

// checkPlacement bounds a placement's cost and makes its regions a set
// (sorted, without repeats), so that one workload has one cache key.
func (s *Service) checkPlacement(req *engine.PlacementRequest) error {
	l := s.limits
	if len(req.Regions) > 0 {
		rs := slices.Clone(req.Regions)
		slices.Sort(rs)
		rs = slices.Compact(rs)
		if len(rs) > l.MaxRegions {
			return overLimit("regions", len(rs), l.MaxRegions)
		}
		req.Regions = rs
	}
	switch {
	case req.K > l.MaxK:
		return overLimit("k", req.K, l.MaxK)
	case req.Nodes > l.MaxNodes:
		return overLimit("nodes", req.Nodes, l.MaxNodes)
	case req.MaxCandidates > engine.MaxCandidates:
		return overLimit("max_candidates", req.MaxCandidates, engine.MaxCandidates)
	}
	return nil
}

// checkHorizon bounds a price forecast's steps before anything is read.
// Without a resolution the daily step, the most lenient, is assumed; the
// engine checks the pool's own step once it knows it.
func checkHorizon(h time.Duration, resolution string) error {
	step := forecast.StepFor(resolution)
	if resolution == "" {
		step = forecast.StepFor(market.ResolutionDaily)
	}
	if h > 0 && h > time.Duration(forecast.MaxHorizonSteps)*step {
		return engine.Invalid("horizon", "%s is more than %d steps of %s, this server's limit", h, forecast.MaxHorizonSteps, step)
	}
	return nil
}

// priceRange is the stored prices' time range, read once per data
// change (Invalidate drops it).
type priceRange struct {
	first, last time.Time
	ok          bool
}

// dataRange returns the stored prices' range, reading it when the data
// changed since it was last read.
func (s *Service) dataRange(ctx context.Context) (priceRange, error) {
	if r := s.rng.Load(); r != nil {
		return *r, nil
	}
	first, last, ok, err := s.eng.PriceRange(ctx)
	if err != nil {
		return priceRange{}, err
	}
	r := priceRange{first: first, last: last, ok: ok}
	if ok {
		// An empty store (one still being loaded) is read again.
		s.rng.Store(&r)
	}
	return r, nil
}

// asOf checks a request's as_of and returns the origin it is answered
// at. Zero means now. Otherwise it must lie between the oldest stored
// price and AsOfFuture past now; it is taken to the minute, and an as_of
// past the newest stored price is answered at that price (the data read
// is the same), so that distinct as_of values reading the same data share
// one cached answer.
func (s *Service) asOf(ctx context.Context, t time.Time) (time.Time, error) {
	if t.IsZero() {
		return t, nil
	}
	t = t.UTC()
	r, err := s.dataRange(ctx)
	if err != nil {
		return time.Time{}, err
	}
	latest := s.now().UTC().Add(AsOfFuture)
	const layout = time.RFC3339
	if !r.ok {
		return time.Time{}, engine.Invalid("as_of", "the store holds no prices, so no as_of can be answered (leave it out)")
	}
	if t.Before(r.first) || t.After(latest) {
		return time.Time{}, engine.Invalid("as_of", "%s is outside the stored data's range %s to %s (now + %s)",
			t.Format(layout), r.first.Format(layout), latest.Format(layout), AsOfFuture)
	}
	t = t.Truncate(time.Minute)
	if t.After(r.last) {
		t = r.last
	}
	if t.Before(r.first) {
		t = r.first
	}
	return t, nil
}

// gate is the cap on the answers computed on request at once (those the
// caches and the persisted forecasts do not hold: a past as_of, a named
// model, a horizon past the precomputed one): MaxConcurrent run,
// MaxQueue wait at most MaxWait for a slot, the rest are refused at once. HTTP and gRPC share the Service's gate, so
// the cap holds for the process.
type gate struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	wait    time.Duration
}

func newGate(l Limits) *gate {
	return &gate{slots: make(chan struct{}, l.MaxConcurrent), queue: int64(l.MaxQueue), wait: l.MaxWait}
}

// retryAfter is what a refused request is told to wait, in seconds.
const retryAfter = 1

// errOverloaded is the answer to a request the gate refuses.
var errOverloaded = &engine.Error{Code: engine.CodeOverloaded,
	Message: "server at its limit of concurrent forecasts and recommendations: retry in a second"}

// enter takes a slot, waiting within the queue's bounds; the returned
// function gives it back. It fails with errOverloaded (or ctx's error).
func (g *gate) enter(ctx context.Context) (func(), error) {
	leave := func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return leave, nil
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil, errOverloaded
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return leave, nil
	case <-t.C:
		return nil, errOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// gated computes f(req) once the gate lets it in, when onRequest says
// the persisted forecasts do not answer it; an answer from them (from
// memory, in milliseconds) needs no slot, so a queue of computations
// never holds up the answers for now.
func gated[R, V any](ctx context.Context, g *gate, onRequest bool, f func(context.Context, R) (V, error), req R) (V, error) {
	if !onRequest {
		return f(ctx, req)
	}
	leave, err := g.enter(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	defer leave()
	return f(ctx, req)
}

// The requests the persisted forecasts do not answer, computed on
// request: a past as_of, a named price model, a horizon or level other
// than the precomputed ones. (Before the first refit every answer is
// computed, and the engine bounds those forecasts itself.)

func namedModel(m string) bool { return m != "" && m != forecast.ModelAuto }

func priceOnRequest(r engine.PriceForecastRequest) bool {
	return !r.AsOf.IsZero() || namedModel(r.Model) || r.Horizon > engine.PrecomputedHorizon
}

func hazardOnRequest(r engine.InterruptionForecastRequest) bool {
	return !r.AsOf.IsZero() || r.Horizon != 0 && r.Horizon != engine.DefaultInterruptionHorizon ||
		r.Level != 0 && r.Level != engine.DefaultLevel
}

func bidOnRequest(r engine.BidRequest) bool {
	return !r.AsOf.IsZero() || r.RunLength > engine.PrecomputedHorizon
}

func checkpointOnRequest(r engine.CheckpointRequest) bool { return r.Pool != nil && !r.AsOf.IsZero() }

func placementOnRequest(r engine.PlacementRequest) bool {
	return !r.AsOf.IsZero() || r.Model != "" || r.RunLength > engine.PrecomputedHorizon
}
