// Package api is spotcast's serving layer: the HTTP JSON handler and
// OpenAPI document, the gRPC server, the Prometheus exporter, the
// scheduler that keeps data and forecasts fresh, and the server that runs
// them with timeouts and graceful shutdown.
//
// Every answer comes from the application layer (package engine); this
// package only translates requests into engine calls and answers into
// JSON, protobuf or metrics. Service is the serving runtime around the
// engine: the watch list, readiness, the watched pools' snapshot the
// exporter reads, and the caches of answers computed on request. Every
// response that rests on stored data carries the data's source, and
// "simulated": true when any of it came from the market simulator.
package api

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
)

// Options configure a Service. The zero value is usable.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Watch lists the pools whose status the exporter publishes.
	Watch []market.PoolKey
	// CacheTTL is how long an answer computed on request is reused
	// (default 15 min); Invalidate (after an ingest or a refit) empties
	// the caches at once.
	CacheTTL time.Duration
	// Logger (nil: discarded).
	Logger *slog.Logger
	// Limits bound each request's cost and the answers computed at once
	// (the zero value: the defaults).
	Limits Limits
}

// Service is the serving runtime: it answers through the engine, caching
// what the engine computes on request, and keeps the watch list, the
// readiness flag, the watched pools' snapshot and the newest backtest. It
// is safe for concurrent use.
type Service struct {
	eng *engine.Engine
	now func() time.Time
	log *slog.Logger
	// Answers are cached apart, so that posted events, which move only
	// the interruption forecasts, leave the price answers cached.
	prices     *cache[engine.PriceForecastRequest, engine.PriceForecastResponse]
	bids       *cache[engine.BidRequest, engine.BidResponse]
	hazards    *cache[engine.InterruptionForecastRequest, engine.InterruptionForecastResponse]
	checkpts   *cache[checkpointKey, engine.CheckpointResponse]
	placements *cache[placementKey, engine.PlacementResponse]
	watch      atomic.Pointer[[]market.PoolKey]
	workloads  atomic.Pointer[[]Workload]
	// weekPools are the ranked pools of the workloads whose run needs
	// price forecasts past the precomputed 24 h (see WeekPools).
	weekPools atomic.Pointer[[]market.PoolKey]
	snap      atomic.Pointer[Snapshot]
	bt        atomic.Pointer[forecast.BacktestReport]
	ready     atomic.Bool
	onIngest  atomic.Pointer[func()]
	limits    Limits
	gate      *gate
	// rng is the stored prices' time range (nil: to be read again).
	rng atomic.Pointer[priceRange]

	// The encoded answers of the persisted forecasts (see bodies).
	priceBodies  *bodies[engine.PriceForecastRequest]
	hazardBodies *bodies[engine.InterruptionForecastRequest]
}

// New returns a Service over eng. It is not ready (Ready fails) until
// SetReady is called, so a server can listen while the store is still
// being filled.
func New(eng *engine.Engine, opts Options) *Service {
	s := &Service{eng: eng, now: opts.Now, log: opts.Logger, limits: opts.Limits.withDefaults()}
	s.gate = newGate(s.limits)
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
	s.prices = newCache[engine.PriceForecastRequest, engine.PriceForecastResponse](ttl, s.now)
	s.bids = newCache[engine.BidRequest, engine.BidResponse](ttl, s.now)
	s.hazards = newCache[engine.InterruptionForecastRequest, engine.InterruptionForecastResponse](ttl, s.now)
	s.checkpts = newCache[checkpointKey, engine.CheckpointResponse](ttl, s.now)
	s.placements = newCache[placementKey, engine.PlacementResponse](ttl, s.now)
	s.priceBodies = newBodies[engine.PriceForecastRequest](maxBodyBytes)
	s.hazardBodies = newBodies[engine.InterruptionForecastRequest](maxBodyBytes)
	s.SetWatch(opts.Watch)
	return s
}

// Engine returns the engine the Service answers through.
func (s *Service) Engine() *engine.Engine { return s.eng }

// SetWatch replaces the watched pools.
func (s *Service) SetWatch(keys []market.PoolKey) {
	k := append([]market.PoolKey(nil), keys...)
	s.watch.Store(&k)
}

// Watch returns the watched pools.
func (s *Service) Watch() []market.PoolKey { return *s.watch.Load() }

// SetReady marks the service ready to answer (or not).
func (s *Service) SetReady(ok bool) { s.ready.Store(ok) }

// Invalidate drops every cached answer; call it after the data or the
// served forecasts changed (an ingest, a refit).
func (s *Service) Invalidate() {
	s.rng.Store(nil)
	s.prices.invalidate()
	s.priceBodies.invalidate()
	s.bids.invalidate()
	s.invalidateHazards()
}

// invalidateHazards drops the answers that rest on interruption
// forecasts, which posted events move.
func (s *Service) invalidateHazards() {
	s.hazards.invalidate()
	s.hazardBodies.invalidate()
	s.checkpts.invalidate()
	s.placements.invalidate()
}

// nowKey is the origin a request without as_of is cached under: answers
// for "now" are reused within the minute.
func (s *Service) nowKey(asOf time.Time) time.Time {
	if asOf.IsZero() {
		return s.now().UTC().Truncate(time.Minute)
	}
	return asOf.UTC()
}

// Pools lists stored pools.
func (s *Service) Pools(ctx context.Context, req engine.PoolsRequest) (engine.PoolsResponse, error) {
	return s.eng.Pools(ctx, req)
}

// Prices returns a pool's points.
func (s *Service) Prices(ctx context.Context, req engine.PricesRequest) (engine.PricesResponse, error) {
	return s.eng.Prices(ctx, req)
}

// PriceForecast forecasts a pool's price.
func (s *Service) PriceForecast(ctx context.Context, req engine.PriceForecastRequest) (engine.PriceForecastResponse, error) {
	if err := checkHorizon(req.Horizon, req.Resolution); err != nil {
		return engine.PriceForecastResponse{}, err
	}
	var err error
	if req.AsOf, err = s.asOf(ctx, req.AsOf); err != nil {
		return engine.PriceForecastResponse{}, err
	}
	key := req
	key.AsOf = s.nowKey(req.AsOf)
	return s.prices.get(ctx, key, func(ctx context.Context) (engine.PriceForecastResponse, error) {
		return gated(ctx, s.gate, priceOnRequest(req), s.eng.PriceForecast, req)
	})
}

// InterruptionForecast forecasts a pool's interruption hazard.
func (s *Service) InterruptionForecast(ctx context.Context, req engine.InterruptionForecastRequest) (engine.InterruptionForecastResponse, error) {
	var err error
	if req.AsOf, err = s.asOf(ctx, req.AsOf); err != nil {
		return engine.InterruptionForecastResponse{}, err
	}
	key := req
	key.AsOf = s.nowKey(req.AsOf)
	return s.hazards.get(ctx, key, func(ctx context.Context) (engine.InterruptionForecastResponse, error) {
		return gated(ctx, s.gate, hazardOnRequest(req), s.eng.InterruptionForecast, req)
	})
}

// Bid recommends a max price.
func (s *Service) Bid(ctx context.Context, req engine.BidRequest) (engine.BidResponse, error) {
	var err error
	if req.AsOf, err = s.asOf(ctx, req.AsOf); err != nil {
		return engine.BidResponse{}, err
	}
	key := req
	key.AsOf = s.nowKey(req.AsOf)
	return s.bids.get(ctx, key, func(ctx context.Context) (engine.BidResponse, error) {
		return gated(ctx, s.gate, bidOnRequest(req), s.eng.Bid, req)
	})
}

// checkpointKey is a CheckpointRequest as a map key.
type checkpointKey struct {
	pool                             engine.PoolRef
	hasPool, hasNotice               bool
	mtbf, ckpt, restart, notice, run time.Duration
	missed                           float64
	nodes                            int
	asOf                             time.Time
}

// Checkpoint recommends a checkpoint interval.
func (s *Service) Checkpoint(ctx context.Context, req engine.CheckpointRequest) (engine.CheckpointResponse, error) {
	if req.Nodes > s.limits.MaxNodes {
		return engine.CheckpointResponse{}, overLimit("nodes", req.Nodes, s.limits.MaxNodes)
	}
	if req.Pool != nil {
		var err error
		if req.AsOf, err = s.asOf(ctx, req.AsOf); err != nil {
			return engine.CheckpointResponse{}, err
		}
	}
	k := checkpointKey{mtbf: req.MTBF, ckpt: req.CheckpointCost, restart: req.RestartCost, run: req.RunLength,
		missed: req.MissedNoticeShare, nodes: req.Nodes, asOf: s.nowKey(req.AsOf)}
	if req.Pool != nil {
		k.pool, k.hasPool = *req.Pool, true
	}
	if req.NoticeWindow != nil {
		k.notice, k.hasNotice = *req.NoticeWindow, true
	}
	return s.checkpts.get(ctx, k, func(ctx context.Context) (engine.CheckpointResponse, error) {
		return gated(ctx, s.gate, checkpointOnRequest(req), s.eng.Checkpoint, req)
	})
}

// placementKey is a PlacementRequest as a map key.
type placementKey struct {
	cloud, product, gpuModel, model, regions string
	minMem, missed                           float64
	gpusPerNode, nodes, k, maxCandidates     int
	run, ckpt, restart, notice, maxStale     time.Duration
	hasNotice                                bool
	asOf                                     time.Time
}

// Placement ranks stored pools for a workload.
func (s *Service) Placement(ctx context.Context, req engine.PlacementRequest) (engine.PlacementResponse, error) {
	if err := s.checkPlacement(&req); err != nil {
		return engine.PlacementResponse{}, err
	}
	var err error
	if req.AsOf, err = s.asOf(ctx, req.AsOf); err != nil {
		return engine.PlacementResponse{}, err
	}
	k := placementKey{cloud: req.Cloud, product: req.Product, gpuModel: req.GPUModel, model: req.Model,
		regions: strings.Join(req.Regions, ","), minMem: req.MinGPUMemoryGiB, missed: req.MissedNoticeShare,
		gpusPerNode: req.GPUsPerNode, nodes: req.Nodes, k: req.K, maxCandidates: req.MaxCandidates, run: req.RunLength,
		ckpt: req.CheckpointCost, restart: req.RestartCost, maxStale: req.MaxStale, asOf: s.nowKey(req.AsOf)}
	if req.NoticeWindow != nil {
		k.notice, k.hasNotice = *req.NoticeWindow, true
	}
	return s.placements.get(ctx, k, func(ctx context.Context) (engine.PlacementResponse, error) {
		return gated(ctx, s.gate, placementOnRequest(req), s.eng.Placement, req)
	})
}

// OnIngest sets what to call after the service stored data (posted
// events): the server asks for a refit.
func (s *Service) OnIngest(f func()) { s.onIngest.Store(&f) }

// IngestEvents stores posted EventBridge events; the interruption answers
// cached before them are dropped, and the OnIngest hook is called. While
// persisted forecasts are served, the cached placements are kept: theirs
// rest on the persisted interruption forecasts, which the events change
// only through the refit the hook asks for (and which drops them); a
// placement cache dropped at every posted event would have every reader
// rank again under a stream of events.
func (s *Service) IngestEvents(ctx context.Context, body []byte) (engine.EventsResponse, error) {
	res, err := s.eng.IngestEvents(ctx, body)
	if err == nil && res.RowsStored > 0 {
		s.hazards.invalidate()
		s.hazardBodies.invalidate()
		s.checkpts.invalidate()
		if _, _, served := s.eng.ServedRun(); !served {
			s.placements.invalidate()
		}
		if f := s.onIngest.Load(); f != nil {
			(*f)()
		}
	}
	return res, err
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
		return Status{Status: "starting"}, &engine.Error{Code: engine.CodeUnavailable, Message: "not ready: the store is still being loaded"}
	}
	if err := s.eng.Ping(ctx); err != nil {
		return Status{Status: "unavailable"}, &engine.Error{Code: engine.CodeUnavailable, Message: "store does not answer", Err: err}
	}
	st := Status{Status: "ready"}
	if snap := s.snap.Load(); snap != nil {
		st.Simulated = snap.Simulated
	}
	return st, nil
}
