package engine

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// Recommendation defaults.
const (
	DefaultRunLength      = 24 * time.Hour
	DefaultConfidence     = 0.95
	DefaultMaxCandidates  = 200
	MaxCandidates         = 2000
	DefaultCheckpointCost = 5 * time.Minute
	DefaultRestartCost    = 10 * time.Minute
)

// bidHorizon is the price forecast horizon a run of length run reads: one
// of a few fixed horizons, so runs of nearby lengths share one forecast
// (ExceedProb extrapolates within a forecast's spread).
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
	Basis
}

// Bid recommends a max price for a pool.
func (e *Engine) Bid(ctx context.Context, req BidRequest) (BidResponse, error) {
	if req.RunLength == 0 {
		req.RunLength = DefaultRunLength
	}
	if req.RunLength < 0 {
		return BidResponse{}, Invalid("run_length", "must be > 0")
	}
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if !(req.Confidence > 0 && req.Confidence < 1) {
		return BidResponse{}, Invalid("confidence", "%v is not in (0, 1)", req.Confidence)
	}
	p, err := e.resolve(ctx, req.Pool, "")
	if err != nil {
		return BidResponse{}, err
	}
	return e.bid(ctx, p, req)
}

func (e *Engine) bid(ctx context.Context, p storage.PoolInfo, req BidRequest) (BidResponse, error) {
	pf, err := e.priceForecast(ctx, p, bidHorizon(req.RunLength), "", req.AsOf)
	if err != nil {
		return BidResponse{}, err
	}
	return e.bidOn(ctx, p, req, pf)
}

// bidOn recommends a max price for a pool from its price forecast pf.
func (e *Engine) bidOn(ctx context.Context, p storage.PoolInfo, req BidRequest, pf PriceForecastResponse) (BidResponse, error) {
	in := recommend.BidInput{Pool: p.PoolKey, RunLength: req.RunLength, Confidence: req.Confidence, CurrentPrice: pf.LastPrice}
	srcs := []string{pf.Source}
	od, err := e.poolOnDemand(ctx, p, req.AsOf, pf.AsOf)
	if err != nil {
		return BidResponse{}, errorf(err, "bid %s", p.PoolKey)
	}
	if od.Price > 0 {
		in.OnDemand = od.Price
		srcs = append(srcs, od.Source)
	}
	if typ, err := e.gpuType(ctx, p.Cloud, p.InstanceType, &p.Type); err == nil {
		in.GPUCount = typ.GPUCount
	}
	if req.ParityType != "" {
		if in.GPUCount == 0 {
			return BidResponse{}, Invalid("parity_type", "pool type %s has no GPUs to compare per GPU", p.InstanceType)
		}
		pt, err := e.gpuType(ctx, p.Cloud, req.ParityType, nil)
		if err != nil {
			return BidResponse{}, Invalid("parity_type", "%v", err)
		}
		pod, err := e.store.OnDemand(ctx, p.Cloud, p.Region, req.ParityType, p.Product, pf.AsOf)
		if isNotFound(err) {
			return BidResponse{}, NotFound("on-demand price of %s in %s is not stored", req.ParityType, p.Region)
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
	return BidResponse{BidResult: res, Provenance: provenance(srcs...), Basis: pf.Basis}, nil
}

// onDemandPrice is the on-demand price of the pool's type in its region
// at t (a zero price when none is stored).
func (e *Engine) onDemandPrice(ctx context.Context, k market.PoolKey, t time.Time) (market.OnDemandPrice, error) {
	od, err := e.store.OnDemand(ctx, k.Cloud, k.Region, k.InstanceType, k.Product, t)
	if isNotFound(err) {
		return market.OnDemandPrice{}, nil
	}
	return od, err
}

// gpuType returns a type's GPU description: the stored catalogue entry
// (stored, if already read, else from the store), else the built-in table.
func (e *Engine) gpuType(ctx context.Context, cloud, name string, stored *market.InstanceType) (market.InstanceType, error) {
	if stored == nil || stored.Name == "" {
		t, err := e.store.InstanceType(ctx, cloud, name)
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

// CheckpointRequest describes a job. Give a pool (its forecast hazard is
// used) or MTBF (a constant hazard).
type CheckpointRequest struct {
	Pool *PoolRef
	MTBF time.Duration
	// CheckpointCost is required; RestartCost defaults to 0.
	CheckpointCost time.Duration
	RestartCost    time.Duration
	// NoticeWindow: nil means the pool's cloud's notice (recommend.NoticeOf).
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
	// Basis is set when the hazard is a pool's forecast.
	*Basis
}

// Checkpoint recommends a checkpoint interval.
func (e *Engine) Checkpoint(ctx context.Context, req CheckpointRequest) (CheckpointResponse, error) {
	for _, c := range []struct {
		name, msg string
		bad       bool
	}{
		{"checkpoint_cost", "required, > 0", req.CheckpointCost <= 0},
		{"restart_cost", "must be >= 0", req.RestartCost < 0},
		{"run_length", "must be >= 0", req.RunLength < 0},
		{"nodes", "must be >= 0", req.Nodes < 0},
		{"missed_notice_share", "must be in [0, 1]", req.MissedNoticeShare < 0 || req.MissedNoticeShare > 1},
		{"notice_window", "must be >= 0", req.NoticeWindow != nil && *req.NoticeWindow < 0},
	} {
		if c.bad {
			return CheckpointResponse{}, Invalid(c.name, "%s", c.msg)
		}
	}
	in := recommend.CheckpointInput{CheckpointCost: req.CheckpointCost, RestartCost: req.RestartCost,
		MissedNoticeShare: req.MissedNoticeShare, RunLength: req.RunLength, Nodes: req.Nodes}
	var out CheckpointResponse
	cloud := market.AWS
	switch {
	case req.Pool != nil:
		if req.MTBF != 0 {
			return CheckpointResponse{}, Invalid("mtbf", "give a pool or mtbf, not both")
		}
		p, err := e.resolve(ctx, *req.Pool, "")
		if err != nil {
			return CheckpointResponse{}, err
		}
		f, err := e.interruptionForecast(ctx, p, DefaultInterruptionHorizon, DefaultLevel, req.AsOf)
		if err != nil {
			return CheckpointResponse{}, err
		}
		if len(f.Hours) == 0 {
			return CheckpointResponse{}, Unprocessable(nil, "pool %s: empty interruption forecast", p.PoolKey)
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
		b := f.Basis
		out.Basis = &b
	case req.MTBF > 0:
		in.MTBF = req.MTBF
		out.Provenance = Provenance{Source: "request"}
	default:
		return CheckpointResponse{}, Invalid("mtbf", "give mtbf or a pool (instance_type and zone or region)")
	}
	in.NoticeWindow = recommend.NoticeOf(cloud)
	if req.NoticeWindow != nil {
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
	// Cloud: aws (the default), gcp, azure, or CloudAny to rank the pools
	// of every cloud together, each with its own cloud's notice window.
	Cloud string
	// Product: "" is Linux on every cloud (Linux/UNIX on AWS, Linux on
	// Azure) or no product (GCP prices and AWS's daily series do not
	// split by OS; see defaultProduct).
	Product         string
	GPUModel        string
	MinGPUMemoryGiB float64
	GPUsPerNode     int
	Nodes           int
	Regions         []string
	RunLength       time.Duration // default DefaultRunLength
	CheckpointCost  time.Duration // default DefaultCheckpointCost
	RestartCost     time.Duration // default DefaultRestartCost
	// NoticeWindow: nil means the cloud's (recommend.NoticeOf).
	NoticeWindow      *time.Duration
	MissedNoticeShare float64
	K                 int
	// Model is the price model ("": the persisted forecasts of the last
	// refit, else naive, the fast one: a placement forecasts every
	// candidate pool; a named model is computed on demand).
	Model string
	// MaxCandidates bounds the pools forecast, fitting ones first, then
	// cheapest per GPU (0: DefaultMaxCandidates; at most MaxCandidates).
	MaxCandidates int
	// MaxStale leaves out pools whose newest price is older than this
	// before AsOf (0: no limit).
	MaxStale time.Duration
	AsOf     time.Time
}

func (req PlacementRequest) withDefaults() (PlacementRequest, error) {
	switch req.Cloud {
	case "":
		req.Cloud = market.AWS
	case market.AWS, market.GCP, market.Azure, CloudAny:
	default:
		return req, Invalid("cloud", "%q is not aws, gcp, azure or %s", req.Cloud, CloudAny)
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
	if req.MaxCandidates == 0 {
		req.MaxCandidates = DefaultMaxCandidates
	}
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"run_length", req.RunLength < 0}, {"checkpoint_cost", req.CheckpointCost < 0}, {"restart_cost", req.RestartCost < 0},
		{"gpus_per_node", req.GPUsPerNode < 0}, {"nodes", req.Nodes < 0}, {"k", req.K < 0},
		{"min_gpu_memory_gib", req.MinGPUMemoryGiB < 0}, {"max_candidates", req.MaxCandidates < 0 || req.MaxCandidates > MaxCandidates},
		{"missed_notice_share", req.MissedNoticeShare < 0 || req.MissedNoticeShare > 1}, {"max_stale", req.MaxStale < 0},
	} {
		if c.bad {
			return req, Invalid(c.name, "out of range")
		}
	}
	if req.NoticeWindow != nil && *req.NoticeWindow < 0 {
		return req, Invalid("notice_window", "must be >= 0")
	}
	return req, nil
}

// PlacementResponse ranks the pools for a workload.
type PlacementResponse struct {
	recommend.PlacementResult
	Candidates int `json:"candidates"`
	Provenance
	Basis
}

// Placement ranks stored pools for a workload.
func (e *Engine) Placement(ctx context.Context, req PlacementRequest) (PlacementResponse, error) {
	in, err := e.placementInput(ctx, req)
	if err != nil {
		return PlacementResponse{}, err
	}
	res, err := recommend.Placement(in.w, in.cands)
	if err != nil {
		return PlacementResponse{}, recommendError(err)
	}
	return PlacementResponse{PlacementResult: res, Candidates: len(in.cands), Provenance: provenance(in.srcs...), Basis: in.basis}, nil
}

// placementInput is what a placement ranks: the workload, the candidate
// pools with their forecasts, and the sources and basis of those.
type placementInput struct {
	req   PlacementRequest // with its defaults
	w     recommend.Workload
	cands []recommend.PoolCandidate
	srcs  []string
	basis Basis
}

// workload is the placement's workload of req (with its defaults),
// starting at req.AsOf or now.
func (e *Engine) workload(req PlacementRequest) recommend.Workload {
	asOf := req.AsOf
	if asOf.IsZero() {
		asOf = e.now().UTC().Truncate(time.Minute)
	}
	// The workload's notice is the request's or the cloud's; with
	// CloudAny every candidate carries its own cloud's (AWS's stands in
	// for the checks of the workload).
	notice := recommend.NoticeOf(req.Cloud)
	if req.NoticeWindow != nil {
		notice = *req.NoticeWindow
	}
	return recommend.Workload{GPUModel: req.GPUModel, MinGPUMemoryGiB: req.MinGPUMemoryGiB, GPUsPerNode: req.GPUsPerNode,
		Nodes: req.Nodes, Regions: req.Regions, Start: asOf, RunLength: req.RunLength, CheckpointCost: req.CheckpointCost,
		RestartCost: req.RestartCost, NoticeWindow: notice, MissedNoticeShare: req.MissedNoticeShare, K: req.K}
}

// placementInput reads the workload's candidate pools and their forecasts:
// the one path from the store to a placement, which the launch outputs and
// plans share.
func (e *Engine) placementInput(ctx context.Context, req PlacementRequest) (placementInput, error) {
	req, err := req.withDefaults()
	if err != nil {
		return placementInput{}, err
	}
	w := e.workload(req)
	asOf := w.Start
	pools, err := e.placementPools(ctx, req, asOf)
	if err != nil {
		return placementInput{}, errorf(err, "placement")
	}

	hz, err := e.candidateHazards(ctx, pools, req.AsOf, asOf)
	if err != nil {
		return placementInput{}, errorf(err, "placement")
	}
	var cands []recommend.PoolCandidate
	var srcs []string
	var basis Basis
	for _, p := range pools {
		pf, err := e.candidatePrice(ctx, p, bidHorizon(req.RunLength), req.Model, req.AsOf)
		if err != nil {
			if ctx.Err() != nil {
				return placementInput{}, ctx.Err()
			}
			var ee *Error
			if errors.As(err, &ee) && ee.Code != CodeInternal {
				continue // a pool without usable prices is no candidate
			}
			return placementInput{}, err
		}
		var hf *hazard.Forecast
		if f, ok := hz[p.PoolKey]; ok {
			hf = &f.Forecast
			srcs = append(srcs, f.Source)
			basis.merge(f.Basis, len(cands) == 0)
		}
		c := recommend.ForecastCandidate(p.PoolKey, p.Type, pf.PriceForecast, hf, asOf, req.RunLength)
		od, err := e.poolOnDemand(ctx, p, req.AsOf, asOf)
		if err != nil {
			return placementInput{}, errorf(err, "placement")
		}
		c.OnDemand = od.Price
		c.NoticeWindow = recommend.NoticeOf(p.Cloud)
		if req.NoticeWindow != nil {
			c.NoticeWindow = *req.NoticeWindow
		}
		c.Inputs = candidateInputs(p, pf, hf, od, c.NoticeWindow, req.NoticeWindow != nil)
		basis.merge(pf.Basis, len(cands) == 0 && hf == nil)
		cands = append(cands, c)
		srcs = append(srcs, pf.Source)
	}
	if err := e.datePersistedOnDemand(ctx, cands, asOf); err != nil {
		return placementInput{}, errorf(err, "placement")
	}
	return placementInput{req: req, w: w, cands: cands, srcs: srcs, basis: basis}, nil
}

// placementPools are the workload's candidate pools: the cloud's (every
// cloud's for CloudAny) pools of the product in the allowed regions whose
// GPUs match (the catalogue, else the cloud's built-in table: a store
// holding only prices still has GPU pools), one series per pool (the
// change series over a daily one; for the default product, one product
// per place and type, Linux first), a price within MaxStale of asOf, and
// past MaxCandidates those that fit the GPUs per node first, then the
// cheapest per GPU.
func (e *Engine) placementPools(ctx context.Context, req PlacementRequest, asOf time.Time) ([]storage.PoolInfo, error) {
	regions := req.Regions
	if len(regions) == 0 {
		regions = []string{""}
	}
	var all []storage.PoolInfo
	if sv := e.served.Load(); sv != nil && req.AsOf.IsZero() {
		// The pools of the last refit, with its statistics: no store scan.
		for _, sp := range sv.pools {
			p := sp.info
			if cloudMatch(req.Cloud, p.Cloud) && productMatch(req.Product, p.Product) && (len(req.Regions) == 0 || slices.Contains(req.Regions, p.Region)) {
				all = append(all, p)
			}
		}
		return pickCandidates(all, req, asOf), nil
	}
	cloud := req.Cloud
	if cloud == CloudAny {
		cloud = ""
	}
	for _, r := range regions {
		ps, err := e.store.Pools(ctx, storage.PoolFilter{Cloud: cloud, Region: r, Product: req.Product})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if productMatch(req.Product, p.Product) {
				all = append(all, p)
			}
		}
	}
	return pickCandidates(all, req, asOf), nil
}

func pickCandidates(all []storage.PoolInfo, req PlacementRequest, asOf time.Time) []storage.PoolInfo {
	best := map[market.PoolKey]int{}
	var out []storage.PoolInfo
	for _, p := range all {
		if p.Points == 0 || (req.MaxStale > 0 && p.Last.Before(asOf.Add(-req.MaxStale))) {
			continue
		}
		t, ok := gpuFit(p, req.GPUModel, req.MinGPUMemoryGiB)
		if !ok {
			continue
		}
		p.Type = t
		k := p.PoolKey
		if req.Product == "" {
			k.Product = "" // one default product per place and type
		}
		if i, ok := best[k]; ok {
			if poolRank(p) < poolRank(out[i]) {
				out[i] = p
			}
			continue
		}
		best[k] = len(out)
		out = append(out, p)
	}
	if len(out) > req.MaxCandidates {
		fits := func(p storage.PoolInfo) bool { return p.Type.GPUCount >= max(req.GPUsPerNode, 1) }
		perGPU := func(p storage.PoolInfo) float64 { return p.LastPrice / float64(max(p.Type.GPUCount, 1)) }
		slices.SortStableFunc(out, func(a, b storage.PoolInfo) int {
			fa, fb := fits(a), fits(b)
			if fa != fb {
				if fa {
					return -1
				}
				return 1
			}
			return cmp.Compare(perGPU(a), perGPU(b))
		})
		out = out[:req.MaxCandidates]
	}
	return out
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

// WorkloadRequest is a placement with what follows from it for the best
// pool: a max price at Confidence and the month's cost at Utilisation.
type WorkloadRequest struct {
	PlacementRequest
	// Confidence that the price stays under the max price (0:
	// DefaultConfidence).
	Confidence float64
	// Utilisation: share of the month the fleet runs, in (0, 1] (0: 1).
	Utilisation float64
	// EpochTime: compute time of one training epoch, for the cost per
	// epoch (0: none).
	EpochTime time.Duration
}

// WorkloadPlan is the placement of a workload and, for its best pool
// (the first of the recommended set), the max price, the checkpoint
// policy of the fleet and the month's cost.
type WorkloadPlan struct {
	Placement PlacementResponse
	// Best is the first pool of the recommended (diversified) set.
	Best *recommend.PoolRank
	// MaxPrice is nil when the forecast cannot answer; BidError says why.
	MaxPrice   *BidResponse
	BidError   string
	Checkpoint *CheckpointResponse
	Cost       *recommend.CostResult
}

// Workload places a workload and, for its best pool, recommends a max
// price, a checkpoint interval for the fleet (with the pool's cloud's
// notice) and projects the month's cost. A placement nothing satisfies is
// an error (a *Error with CodeUnprocessable).
func (e *Engine) Workload(ctx context.Context, req WorkloadRequest) (WorkloadPlan, error) {
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if req.Utilisation == 0 {
		req.Utilisation = 1
	}
	if req.Utilisation < 0 || req.Utilisation > 1 {
		return WorkloadPlan{}, Invalid("utilisation", "%v is not in (0, 1]", req.Utilisation)
	}
	preq, err := req.PlacementRequest.withDefaults()
	if err != nil {
		return WorkloadPlan{}, err
	}
	pl, err := e.Placement(ctx, preq)
	if err != nil {
		return WorkloadPlan{}, err
	}
	out := WorkloadPlan{Placement: pl}
	switch {
	case len(pl.Diversified) > 0:
		out.Best = &pl.Diversified[0]
	case len(pl.Ranked) > 0:
		out.Best = &pl.Ranked[0]
	default:
		return out, Unprocessable(recommend.ErrNoFit, "no pool satisfies the workload")
	}
	best := *out.Best
	ref := Ref(best.Pool)
	bid, err := e.Bid(ctx, BidRequest{Pool: ref, RunLength: preq.RunLength, Confidence: req.Confidence, AsOf: preq.AsOf})
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out.BidError = err.Error()
	} else {
		out.MaxPrice = &bid
	}
	ck, err := e.Checkpoint(ctx, CheckpointRequest{Pool: &ref, CheckpointCost: preq.CheckpointCost, RestartCost: preq.RestartCost,
		NoticeWindow: preq.NoticeWindow, MissedNoticeShare: preq.MissedNoticeShare, RunLength: preq.RunLength, Nodes: best.Instances, AsOf: preq.AsOf})
	if err == nil {
		ck.Schedule = nil // the full schedule belongs in a checkpoint request
		out.Checkpoint = &ck
	} else if ctx.Err() != nil {
		return out, ctx.Err()
	}
	in := recommend.CostInput{SpotPrice: best.PriceUSDPerHour, Instances: best.Instances, UsefulGPUs: pl.UsefulGPUs,
		OverheadRatio: best.OverheadRatio, Utilisation: req.Utilisation, EpochTime: req.EpochTime}
	if best.OnDemandCostPerUsefulGPUHr > 0 && best.Instances > 0 {
		in.OnDemand = best.OnDemandCostPerUsefulGPUHr * float64(pl.UsefulGPUs) / float64(best.Instances)
	}
	if c, err := recommend.Cost(in); err == nil {
		out.Cost = &c
	}
	return out, nil
}

// candidatePrice is a placement candidate's price forecast: the persisted
// one for model "" (naive on demand when there is none), else the named
// model on demand.
func (e *Engine) candidatePrice(ctx context.Context, p storage.PoolInfo, horizon time.Duration, model string, asOf time.Time) (PriceForecastResponse, error) {
	if model == "" {
		if asOf.IsZero() {
			if sp, ok := e.persisted(ctx, p); ok {
				if out, ok, err := sp.precomputedPrice(horizon); err == nil && ok {
					return out, nil
				}
			}
		}
		model = forecast.ModelNaive
	}
	return e.priceForecast(ctx, p, horizon, model, asOf)
}

// candidateHazards are the candidates' interruption forecasts: the
// persisted ones when asked for now, the others read in one batch at at.
func (e *Engine) candidateHazards(ctx context.Context, pools []storage.PoolInfo, asked, at time.Time) (map[market.PoolKey]InterruptionForecastResponse, error) {
	out := make(map[market.PoolKey]InterruptionForecastResponse, len(pools))
	var todo []storage.PoolInfo
	for _, p := range pools {
		if asked.IsZero() {
			if sp, ok := e.persisted(ctx, p); ok {
				if f, ok, err := sp.precomputedHazard(); err == nil && ok {
					out[p.PoolKey] = f
					continue
				}
			}
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return out, nil
	}
	var fs map[market.PoolKey]hazard.Forecast
	err := e.onDemand(ctx, func(ctx context.Context) error {
		var err error
		fs, err = e.hazards(ctx, todo, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, p := range todo {
		if f, ok := fs[p.PoolKey]; ok {
			out[p.PoolKey] = interruptionResponse(f, Basis{ForecastGenerated: f.Generated, DataUntil: dataUntil(p, at)})
		}
	}
	return out, nil
}

// poolOnDemand is the pool's on-demand price: the one its persisted
// forecast was made with when asked for now, else the store's at at.
func (e *Engine) poolOnDemand(ctx context.Context, p storage.PoolInfo, asked, at time.Time) (market.OnDemandPrice, error) {
	if asked.IsZero() {
		if sp, ok := e.persisted(ctx, p); ok && sp.row.Error == "" {
			return market.OnDemandPrice{Cloud: p.Cloud, Region: p.Region, InstanceType: p.InstanceType, Product: p.Product,
				Price: sp.row.OnDemand, Source: sp.row.OnDemandSource}, nil
		}
	}
	return e.onDemandPrice(ctx, p.PoolKey, at)
}
