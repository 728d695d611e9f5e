package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// Recommendation defaults.
const (
	DefaultRunLength  = 24 * time.Hour
	DefaultConfidence = 0.95
)

// bidHorizon is the price forecast horizon a bid over run reads: one of a
// few fixed horizons, so bids for nearby run lengths share one cached
// forecast (ExceedProb extrapolates within a forecast's spread).
func bidHorizon(run time.Duration) time.Duration {
	for _, h := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if run <= h {
			return h
		}
	}
	return (run + 24*time.Hour - 1) / (24 * time.Hour) * (24 * time.Hour)
}

// BidRequest asks for a max price.
type BidRequest struct {
	Pool PoolRef
	// RunLength the instance must keep running (0: DefaultRunLength).
	RunLength time.Duration
	// Confidence wanted that the price stays under the max price
	// (0: DefaultConfidence).
	Confidence float64
	// ParityType caps the max price at this type's on-demand price per
	// GPU; optional.
	ParityType string
	AsOf       time.Time
}

// BidResponse is the recommended max price.
type BidResponse struct {
	recommend.BidResult
	Provenance
}

// Bid recommends a max price for a pool.
func (s *Service) Bid(ctx context.Context, req BidRequest) (BidResponse, error) {
	if req.RunLength == 0 {
		req.RunLength = DefaultRunLength
	}
	if req.RunLength < 0 {
		return BidResponse{}, invalid("run_length", "must be > 0")
	}
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if !(req.Confidence > 0 && req.Confidence < 1) {
		return BidResponse{}, invalid("confidence", "%v is not in (0, 1)", req.Confidence)
	}
	p, err := s.resolve(ctx, req.Pool, "")
	if err != nil {
		return BidResponse{}, err
	}
	asOf := req.AsOf
	if asOf.IsZero() {
		asOf = s.now().UTC().Truncate(time.Minute)
	}
	// A bid reads the on-demand prices and the catalogue besides the
	// cached forecast; the whole answer is cached like the forecast.
	key := fmt.Sprintf("bid|%s|%d|%g|%s|%d", p.PoolKey, req.RunLength, req.Confidence, req.ParityType, asOf.UnixNano())
	v, err := s.priceCache.get(ctx, key, func(ctx context.Context) (any, error) { return s.bid(ctx, p, req) })
	if err != nil {
		return BidResponse{}, err
	}
	return v.(BidResponse), nil
}

func (s *Service) bid(ctx context.Context, p storage.PoolInfo, req BidRequest) (BidResponse, error) {
	pf, err := s.priceForecast(ctx, p, bidHorizon(req.RunLength), "", req.AsOf)
	if err != nil {
		return BidResponse{}, err
	}
	in := recommend.BidInput{Pool: p.PoolKey, RunLength: req.RunLength, Confidence: req.Confidence, CurrentPrice: pf.LastPrice}
	srcs := []string{pf.Source}
	od, err := s.store.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, pf.AsOf)
	switch {
	case err == nil:
		in.OnDemand = od.Price
		srcs = append(srcs, od.Source)
	case !isNotFound(err):
		return BidResponse{}, errorf(err, "bid %s", p.PoolKey)
	}
	typ, err := s.gpuType(ctx, p.Cloud, p.InstanceType, &p.Type)
	if err == nil {
		in.GPUCount = typ.GPUCount
	}
	if req.ParityType != "" {
		if in.GPUCount == 0 {
			return BidResponse{}, invalid("parity_type", "pool type %s has no GPUs to compare per GPU", p.InstanceType)
		}
		pt, err := s.gpuType(ctx, p.Cloud, req.ParityType, nil)
		if err != nil {
			return BidResponse{}, invalid("parity_type", "%v", err)
		}
		pod, err := s.store.OnDemand(ctx, p.Cloud, p.Region, req.ParityType, p.Product, pf.AsOf)
		if isNotFound(err) {
			return BidResponse{}, notFound("on-demand price of %s in %s is not stored", req.ParityType, p.Region)
		}
		if err != nil {
			return BidResponse{}, errorf(err, "bid %s", p.PoolKey)
		}
		in.Parity = &recommend.ParityRef{InstanceType: req.ParityType, OnDemand: pod.Price, GPUCount: pt.GPUCount}
		srcs = append(srcs, pod.Source)
	}
	res, err := recommend.Bid(in, pf.PriceForecast)
	if err != nil {
		return BidResponse{}, recommendError(err)
	}
	return BidResponse{BidResult: res, Provenance: provenance(srcs...)}, nil
}

// gpuType returns a type's GPU description: the stored catalogue entry
// (stored, if already read, else from the store), else the built-in table.
func (s *Service) gpuType(ctx context.Context, cloud, name string, stored *market.InstanceType) (market.InstanceType, error) {
	if stored == nil || stored.Name == "" {
		t, err := s.store.InstanceType(ctx, cloud, name)
		switch {
		case err == nil:
			stored = &t
		case isNotFound(err):
			stored = nil
		default:
			return market.InstanceType{}, err
		}
	}
	return recommend.ResolveType(cloud, name, stored)
}

// recommendError classifies the recommend package's errors.
func recommendError(err error) error {
	var nf *recommend.NoFitError
	switch {
	case errors.As(err, &nf):
		return unprocessable(err, "%v", err)
	case errors.Is(err, recommend.ErrInvalidInput):
		return &Error{Code: CodeInvalidArgument, Message: err.Error(), Err: err}
	case errors.Is(err, recommend.ErrUnanswerable), errors.Is(err, recommend.ErrNoProgress), errors.Is(err, recommend.ErrNoFit):
		return unprocessable(err, "%v", err)
	}
	return err
}

// CheckpointRequest describes a job. Give a pool (its forecast hazard is
// used) or MTBF (a constant hazard).
type CheckpointRequest struct {
	Pool *PoolRef
	MTBF time.Duration
	// CheckpointCost is required; RestartCost defaults to 0.
	CheckpointCost time.Duration
	RestartCost    time.Duration
	// NoticeWindow: nil means the cloud's notice (120 s on AWS).
	NoticeWindow      *time.Duration
	MissedNoticeShare float64
	RunLength         time.Duration
	Nodes             int
	AsOf              time.Time
}

// CheckpointResponse is the recommended checkpoint policy.
type CheckpointResponse struct {
	Pool *market.PoolKey `json:"pool,omitempty"`
	recommend.CheckpointResult
	Provenance
}

// Checkpoint recommends a checkpoint interval.
func (s *Service) Checkpoint(ctx context.Context, req CheckpointRequest) (CheckpointResponse, error) {
	if req.CheckpointCost <= 0 {
		return CheckpointResponse{}, invalid("checkpoint_cost", "required, > 0")
	}
	if req.RestartCost < 0 {
		return CheckpointResponse{}, invalid("restart_cost", "must be >= 0")
	}
	if req.RunLength < 0 {
		return CheckpointResponse{}, invalid("run_length", "must be >= 0")
	}
	if req.Nodes < 0 {
		return CheckpointResponse{}, invalid("nodes", "must be >= 0")
	}
	if req.MissedNoticeShare < 0 || req.MissedNoticeShare > 1 {
		return CheckpointResponse{}, invalid("missed_notice_share", "%v is not in [0, 1]", req.MissedNoticeShare)
	}
	in := recommend.CheckpointInput{CheckpointCost: req.CheckpointCost, RestartCost: req.RestartCost,
		MissedNoticeShare: req.MissedNoticeShare, RunLength: req.RunLength, Nodes: req.Nodes}
	var out CheckpointResponse
	cloud := market.AWS
	switch {
	case req.Pool != nil:
		if req.MTBF != 0 {
			return CheckpointResponse{}, invalid("mtbf", "give a pool or mtbf, not both")
		}
		p, err := s.resolve(ctx, *req.Pool, "")
		if err != nil {
			return CheckpointResponse{}, err
		}
		f, err := s.interruptionForecast(ctx, p.PoolKey, DefaultInterruptionHorizon, DefaultLevel, req.AsOf)
		if err != nil {
			return CheckpointResponse{}, err
		}
		if len(f.Hours) == 0 {
			return CheckpointResponse{}, unprocessable(nil, "pool %s: empty interruption forecast", p.PoolKey)
		}
		in.Start = f.Hours[0].Time
		if f.Generated.After(in.Start) {
			in.Start = f.Generated
		}
		until := in.Start.Add(max(req.RunLength*2, DefaultInterruptionHorizon))
		in.Hazard = recommend.HazardFromForecast(f.Forecast, until)
		cloud = p.Cloud
		k := p.PoolKey
		out.Pool = &k
		out.Provenance = provenance(f.Source)
	case req.MTBF > 0:
		in.MTBF = req.MTBF
		out.Provenance = Provenance{Source: "request"}
	default:
		return CheckpointResponse{}, invalid("mtbf", "give mtbf or a pool (instance_type and zone or region)")
	}
	in.NoticeWindow = recommend.NoticeOf(cloud)
	if req.NoticeWindow != nil {
		if *req.NoticeWindow < 0 {
			return CheckpointResponse{}, invalid("notice_window", "must be >= 0")
		}
		in.NoticeWindow = *req.NoticeWindow
	}
	res, err := recommend.Checkpoint(in)
	if err != nil {
		return CheckpointResponse{}, recommendError(err)
	}
	out.CheckpointResult = res
	return out, nil
}

// PlacementRequest describes a workload to place.
type PlacementRequest struct {
	Cloud           string
	Product         string // default Linux/UNIX
	GPUModel        string
	MinGPUMemoryGiB float64
	GPUsPerNode     int
	Nodes           int
	Regions         []string
	RunLength       time.Duration // default DefaultRunLength
	CheckpointCost  time.Duration // default 5 min
	RestartCost     time.Duration // default 10 min
	NoticeWindow    *time.Duration
	// MissedNoticeShare defaults to 0.
	MissedNoticeShare float64
	K                 int
	// Model is the price model ("": naive, the fast one: a cold
	// placement forecasts every candidate pool).
	Model string
	// MaxCandidates bounds the pools forecast, cheapest per GPU first
	// (0: DefaultMaxCandidates).
	MaxCandidates int
	AsOf          time.Time
}

// Placement defaults.
const (
	DefaultMaxCandidates  = 200
	DefaultCheckpointCost = 5 * time.Minute
	DefaultRestartCost    = 10 * time.Minute
)

// PlacementResponse ranks the pools for a workload.
type PlacementResponse struct {
	recommend.PlacementResult
	Candidates int `json:"candidates"`
	Provenance
}

// Placement ranks stored pools for a workload.
func (s *Service) Placement(ctx context.Context, req PlacementRequest) (PlacementResponse, error) {
	if req.Cloud == "" {
		req.Cloud = market.AWS
	}
	if req.Product == "" {
		req.Product = "Linux/UNIX"
	}
	if req.RunLength == 0 {
		req.RunLength = DefaultRunLength
	}
	if req.CheckpointCost == 0 {
		req.CheckpointCost = DefaultCheckpointCost
	}
	if req.RestartCost == 0 {
		req.RestartCost = DefaultRestartCost
	}
	if req.Model == "" {
		req.Model = "naive"
	}
	if req.MaxCandidates == 0 {
		req.MaxCandidates = DefaultMaxCandidates
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"run_length", req.RunLength < 0}, {"checkpoint_cost", req.CheckpointCost < 0}, {"restart_cost", req.RestartCost < 0},
		{"gpus_per_node", req.GPUsPerNode < 0}, {"nodes", req.Nodes < 0}, {"k", req.K < 0},
		{"min_gpu_memory_gib", req.MinGPUMemoryGiB < 0}, {"max_candidates", req.MaxCandidates < 0 || req.MaxCandidates > 2000},
		{"missed_notice_share", req.MissedNoticeShare < 0 || req.MissedNoticeShare > 1},
	} {
		if c.bad {
			return PlacementResponse{}, invalid(c.name, "out of range")
		}
	}
	if req.NoticeWindow != nil && *req.NoticeWindow < 0 {
		return PlacementResponse{}, invalid("notice_window", "must be >= 0")
	}
	asOf := req.AsOf
	if asOf.IsZero() {
		asOf = s.now().UTC().Truncate(time.Minute)
	}
	notice := recommend.NoticeOf(req.Cloud)
	if req.NoticeWindow != nil {
		notice = *req.NoticeWindow
	}
	// Identical placements in the same minute share one computation: a
	// cold one forecasts every candidate pool.
	key := fmt.Sprintf("placement|%s|%s|%s|%g|%d|%d|%q|%d|%d|%d|%d|%g|%d|%s|%d|%d", req.Cloud, req.Product, req.GPUModel,
		req.MinGPUMemoryGiB, req.GPUsPerNode, req.Nodes, req.Regions, req.RunLength, req.CheckpointCost, req.RestartCost,
		notice, req.MissedNoticeShare, req.K, req.Model, req.MaxCandidates, asOf.UnixNano())
	v, err := s.hazardCache.get(ctx, key, func(ctx context.Context) (any, error) { return s.placement(ctx, req, notice, asOf) })
	if err != nil {
		return PlacementResponse{}, err
	}
	return v.(PlacementResponse), nil
}

func (s *Service) placement(ctx context.Context, req PlacementRequest, notice time.Duration, asOf time.Time) (PlacementResponse, error) {
	var pools []storage.PoolInfo
	regions := req.Regions
	if len(regions) == 0 {
		regions = []string{""}
	}
	// The GPU filter runs here, not in the store: the store's filter needs
	// catalogue rows, and a store holding only prices (a price-history
	// file) still has GPU pools the built-in type table knows.
	for _, r := range regions {
		ps, err := s.store.Pools(ctx, storage.PoolFilter{Cloud: req.Cloud, Region: r, Product: req.Product})
		if err != nil {
			return PlacementResponse{}, errorf(err, "placement")
		}
		for _, p := range ps {
			if t, ok := gpuFit(p, req.GPUModel, req.MinGPUMemoryGiB); ok {
				p.Type = t
				pools = append(pools, p)
			}
		}
	}
	pools = placementPools(pools, req.MaxCandidates)
	w := recommend.Workload{GPUModel: req.GPUModel, MinGPUMemoryGiB: req.MinGPUMemoryGiB, GPUsPerNode: req.GPUsPerNode,
		Nodes: req.Nodes, Regions: req.Regions, Start: asOf, RunLength: req.RunLength, CheckpointCost: req.CheckpointCost,
		RestartCost: req.RestartCost, NoticeWindow: notice, MissedNoticeShare: req.MissedNoticeShare, K: req.K}

	hz, err := s.hazards(ctx, pools, asOf)
	if err != nil {
		return PlacementResponse{}, errorf(err, "placement")
	}
	var cands []recommend.PoolCandidate
	var srcs []string
	for _, p := range pools {
		pf, err := s.priceForecast(ctx, p, bidHorizon(req.RunLength), req.Model, req.AsOf)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code != CodeInternal {
				continue // a pool without usable prices is no candidate
			}
			return PlacementResponse{}, err
		}
		var hf *hazard.Forecast
		if f, ok := hz[p.PoolKey]; ok {
			hf = &f
			srcs = append(srcs, f.Source)
		}
		c := recommend.ForecastCandidate(p.PoolKey, p.Type, pf.PriceForecast, hf, asOf, req.RunLength)
		if od, err := s.store.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, asOf); err == nil {
			c.OnDemand = od.Price
		} else if !isNotFound(err) {
			return PlacementResponse{}, errorf(err, "placement")
		}
		cands = append(cands, c)
		srcs = append(srcs, pf.Source)
	}
	res, err := recommend.Placement(w, cands)
	if err != nil {
		return PlacementResponse{}, recommendError(err)
	}
	return PlacementResponse{PlacementResult: res, Candidates: len(cands), Provenance: provenance(srcs...)}, nil
}

// gpuFit resolves a pool's GPUs (catalogue, else the built-in table) and
// says whether they match the wanted model (case-insensitive substring,
// as the store's filter) and memory per GPU.
func gpuFit(p storage.PoolInfo, model string, minMem float64) (market.InstanceType, bool) {
	var stored *market.InstanceType
	if p.Type.Name != "" {
		stored = &p.Type
	}
	t, err := recommend.ResolveType(p.Cloud, p.InstanceType, stored)
	if err != nil || t.GPUCount == 0 {
		return t, false
	}
	if model != "" && !strings.Contains(strings.ToLower(t.GPUModel), strings.ToLower(model)) {
		return t, false
	}
	return t, t.GPUMemoryGiB >= minMem
}

// placementPools keeps one series per pool key (the change series over a
// daily one) and, past max, the cheapest per GPU.
func placementPools(ps []storage.PoolInfo, maxN int) []storage.PoolInfo {
	best := map[market.PoolKey]int{}
	var out []storage.PoolInfo
	for _, p := range ps {
		if p.Points == 0 {
			continue
		}
		if i, ok := best[p.PoolKey]; ok {
			if p.Resolution == market.ResolutionChange {
				out[i] = p
			}
			continue
		}
		best[p.PoolKey] = len(out)
		out = append(out, p)
	}
	if len(out) > maxN {
		perGPU := func(p storage.PoolInfo) float64 {
			return p.LastPrice / float64(max(p.Type.GPUCount, 1))
		}
		slices.SortStableFunc(out, func(a, b storage.PoolInfo) int { return cmp.Compare(perGPU(a), perGPU(b)) })
		out = out[:maxN]
	}
	return out
}
