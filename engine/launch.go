package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spotcast/spotcast/launch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// Launch output bounds: a request must not buy unbounded CPU.
const (
	// MaxLaunchNodes bounds the nodes of a job (recommend.MultiNode's bound).
	MaxLaunchNodes = 10000
	// DefaultPlanPools and MaxPlanPools bound the spot pools a deadline
	// plan chooses between.
	DefaultPlanPools = 8
	MaxPlanPools     = recommend.MaxPlanPools
	// MaxPlanWork bounds a plan's Monte Carlo: runs x decision steps (a
	// few seconds of one core; the Monte Carlo does not stop midway).
	MaxPlanWork = 20_000_000
	// MinPlanRuns: fewer runs than this are not worth a probability.
	MinPlanRuns = 100
)

// LaunchRequest is a workload to launch: the placement's parameters and
// which of its ranked pools a launch document lists.
type LaunchRequest struct {
	PlacementRequest
	// Region restricts the regional outputs (EC2 Fleet, Karpenter) to one
	// region ("": the best pool's).
	Region string
	// MaxPools (0: launch.DefaultMaxPools) and MaxPremium (0:
	// launch.DefaultMaxPremium) bound the pools a document lists.
	MaxPools   int
	MaxPremium float64
	// CommonShare: the share of a pool's interruptions that take all its
	// instances at once (nil: recommend.DefaultCommonShare), for jobs of
	// several nodes.
	CommonShare *float64
}

// launchBase is what every launch output rests on: the workload's ranked
// pools and, for a job of several nodes, where its nodes go.
type launchBase struct {
	in        placementInput
	placement recommend.PlacementResult
	// candidates: the pools forecast for the placement.
	candidates int
	multi      *recommend.MultiNodeResult
}

// placeNodes places the nodes of a job of several (recommend.MultiNode).
func (b *launchBase) placeNodes(req LaunchRequest) error {
	if max(b.in.req.Nodes, 1) == 1 {
		return nil
	}
	m, err := recommend.MultiNode(recommend.MultiNodeInput{Workload: b.in.w, Candidates: b.placement.Ranked, CommonShare: req.CommonShare})
	if err != nil {
		return recommendError(err)
	}
	b.multi = &m
	return nil
}

func (b launchBase) provenance() Provenance { return provenance(b.in.srcs...) }

func (req LaunchRequest) selection() launch.Selection {
	return launch.Selection{Region: req.Region, MaxPools: req.MaxPools, MaxPremium: req.MaxPremium}
}

func (req LaunchRequest) validate() error {
	switch {
	case req.Nodes > MaxLaunchNodes:
		return Invalid("nodes", "at most %d, got %d", MaxLaunchNodes, req.Nodes)
	case req.MaxPools < 0:
		return Invalid("max_pools", "must not be negative, got %d", req.MaxPools)
	case req.MaxPremium < 0 || req.MaxPremium != req.MaxPremium:
		return Invalid("max_premium", "must be a non-negative share, got %v", req.MaxPremium)
	case req.CommonShare != nil && !(*req.CommonShare >= 0 && *req.CommonShare <= 1):
		return Invalid("common_share", "must be in [0, 1], got %v", *req.CommonShare)
	}
	return nil
}

// awsOnly rejects another cloud for a format that launches only on AWS,
// before any pool is read.
func awsOnly(format, cloud string) error {
	if cloud != "" && !strings.EqualFold(cloud, market.AWS) {
		return &Error{Code: CodeInvalidArgument, Param: "cloud", Err: launch.ErrUnsupportedCloud,
			Message: fmt.Sprintf("cloud: %s launches only on AWS, not %q (recommend skypilot writes candidates for aws, gcp and azure)", format, cloud)}
	}
	return nil
}

// launchBase ranks the workload's pools (the placement path) and, for a
// job of several nodes, places its nodes (recommend.MultiNode), so that
// each output shows the single-node and the N-node figures side by side.
func (e *Engine) launchBase(ctx context.Context, req LaunchRequest) (launchBase, error) {
	if err := req.validate(); err != nil {
		return launchBase{}, err
	}
	in, err := e.placementInput(ctx, req.PlacementRequest)
	if err != nil {
		return launchBase{}, err
	}
	pl, err := recommend.Placement(in.w, in.cands)
	if err == nil && len(pl.Ranked) == 0 {
		err = &recommend.NoFitError{Need: "a pool that fits", Rejected: pl.Rejected}
	}
	if err != nil {
		return launchBase{}, noFit(in.req, err)
	}
	b := launchBase{in: in, placement: pl, candidates: len(in.cands)}
	if err := b.placeNodes(req); err != nil {
		return launchBase{}, err
	}
	return b, nil
}

// noFit classifies a placement error, naming the workload parameter a
// caller would change when nothing fits.
func noFit(req PlacementRequest, err error) error {
	e := AsError(recommendError(err))
	if errors.Is(err, recommend.ErrNoFit) && e.Param == "" {
		e.Param = "gpu_model"
		if req.GPUModel == "" {
			e.Param = "min_gpu_memory_gib"
		}
		e.Message = e.Param + ": no stored pool fits the workload: " + e.Message
	}
	if e.Code == CodeInternal {
		return err
	}
	return e
}

// FleetRequest asks for an EC2 CreateFleet request.
type FleetRequest struct {
	LaunchRequest
	// Type: launch.FleetTypeMaintain (default), request or instant.
	Type string
	// Unit: launch.UnitGPUs (default) or launch.UnitInstances.
	Unit string
	// Strategy: "" lets the forecast choose, or one of launch's two.
	Strategy string
	// LaunchTemplateID or LaunchTemplateName (default
	// launch.DefaultLaunchTemplate) and its Version (default $Latest).
	LaunchTemplateID, LaunchTemplateName, LaunchTemplateVersion string
	// Subnets maps a zone to the subnet to launch in.
	Subnets map[string]string
	// Confidence of the max-price recommendations that decide where a
	// MaxPrice helps (0: DefaultConfidence).
	Confidence float64
}

// FleetResponse is the CreateFleet request, why it looks as it does, and
// for a job of several nodes the single-node and N-node figures.
type FleetResponse struct {
	launch.FleetResult
	MultiNode  *recommend.MultiNodeResult `json:"multi_node,omitempty"`
	Candidates int                        `json:"candidates"`
	Provenance
	Basis
}

// Fleet writes the EC2 CreateFleet request for a workload: its ranked
// pools of one region as overrides, with a MaxPrice where the pool's bid
// recommendation says a cap helps (launch.CapHelps).
func (e *Engine) Fleet(ctx context.Context, req FleetRequest) (FleetResponse, error) {
	if err := awsOnly("EC2 Fleet", req.Cloud); err != nil {
		return FleetResponse{}, err
	}
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if !(req.Confidence > 0 && req.Confidence < 1) {
		return FleetResponse{}, Invalid("confidence", "%v is not in (0, 1)", req.Confidence)
	}
	b, err := e.launchBase(ctx, req.LaunchRequest)
	if err != nil {
		return FleetResponse{}, err
	}
	return e.fleet(ctx, b, req)
}

func (e *Engine) fleet(ctx context.Context, b launchBase, req FleetRequest) (FleetResponse, error) {
	in := launch.FleetInput{Workload: b.in.w, Placement: b.placement, Type: req.Type, Unit: req.Unit, Strategy: req.Strategy,
		LaunchTemplateID: req.LaunchTemplateID, LaunchTemplateName: req.LaunchTemplateName, LaunchTemplateVersion: req.LaunchTemplateVersion,
		Subnets: req.Subnets, Selection: req.selection()}
	// The first pass picks the pools; their bids then decide the caps.
	res, err := launch.Fleet(in)
	if err != nil {
		return FleetResponse{}, recommendError(err)
	}
	in.Bids = map[market.PoolKey]recommend.BidResult{}
	srcs := append([]string(nil), b.in.srcs...)
	for _, p := range res.Pools {
		bid, err := e.candidateBid(ctx, p.Pool, b.in.req, req.Confidence)
		if err != nil {
			if ctx.Err() != nil {
				return FleetResponse{}, ctx.Err()
			}
			continue // the pool keeps AWS's default cap, and says so
		}
		in.Bids[p.Pool] = bid.BidResult
		srcs = append(srcs, bid.Source)
	}
	if res, err = launch.Fleet(in); err != nil {
		return FleetResponse{}, recommendError(err)
	}
	prov := provenance(srcs...)
	res.Request.TagSpecifications = []launch.TagSpecification{{ResourceType: "fleet", Tags: fleetTags(prov, b.in.basis)}}
	return FleetResponse{FleetResult: res, MultiNode: b.multi, Candidates: b.candidates, Provenance: prov, Basis: b.in.basis}, nil
}

// fleetTags label the fleet with what its request rests on, so a fleet
// launched from simulated data says so in the EC2 console too. EC2 tag
// values hold at most 256 characters.
func fleetTags(p Provenance, b Basis) []launch.Tag {
	src := p.Source
	if len(src) > 256 {
		src = src[:253] + "..."
	}
	return []launch.Tag{
		{Key: "spotcast:source", Value: src},
		{Key: "spotcast:simulated", Value: fmt.Sprint(p.Simulated)},
		{Key: "spotcast:data-until", Value: b.DataUntil.UTC().Format(time.RFC3339)},
	}
}

// candidateBid is a fleet pool's max-price recommendation from the price
// forecast its placement used (the persisted one, else the placement's
// model): a fleet bids for several pools, so each costs what a placement
// candidate costs, not a fresh fit of the auto model.
func (e *Engine) candidateBid(ctx context.Context, k market.PoolKey, req PlacementRequest, confidence float64) (BidResponse, error) {
	p, err := e.resolve(ctx, Ref(k), "")
	if err != nil {
		return BidResponse{}, err
	}
	pf, err := e.candidatePrice(ctx, p, bidHorizon(req.RunLength), req.Model, req.AsOf)
	if err != nil {
		return BidResponse{}, err
	}
	return e.bidOn(ctx, p, BidRequest{Pool: Ref(k), RunLength: req.RunLength, Confidence: confidence, AsOf: req.AsOf}, pf)
}

// KarpenterRequest asks for Karpenter NodePool and NodeOverlay manifests.
type KarpenterRequest struct {
	LaunchRequest
	// NodeClass: the EC2NodeClass to launch with (default
	// launch.DefaultNodeClass); Name prefixes every object's name.
	NodeClass, Name string
}

// KarpenterResponse holds the manifests and what they rest on.
type KarpenterResponse struct {
	launch.KarpenterResult
	MultiNode  *recommend.MultiNodeResult `json:"multi_node,omitempty"`
	Candidates int                        `json:"candidates"`
	Provenance
	Basis
}

// Karpenter writes NodePools (one per instance type, weighted by expected
// cost per useful GPU-hour) and NodeOverlays (the forecast overhead as a
// price adjustment) for a workload's ranked pools of one region.
func (e *Engine) Karpenter(ctx context.Context, req KarpenterRequest) (KarpenterResponse, error) {
	if err := awsOnly("Karpenter", req.Cloud); err != nil {
		return KarpenterResponse{}, err
	}
	b, err := e.launchBase(ctx, req.LaunchRequest)
	if err != nil {
		return KarpenterResponse{}, err
	}
	return karpenter(b, req)
}

func karpenter(b launchBase, req KarpenterRequest) (KarpenterResponse, error) {
	res, err := launch.Karpenter(launch.KarpenterInput{Workload: b.in.w, Placement: b.placement, NodeClass: req.NodeClass, Name: req.Name, Selection: req.selection()})
	if err != nil {
		return KarpenterResponse{}, recommendError(err)
	}
	return KarpenterResponse{KarpenterResult: res, MultiNode: b.multi, Candidates: b.candidates, Provenance: b.provenance(), Basis: b.in.basis}, nil
}

// Launch is what to launch for one workload on AWS: the EC2 Fleet request
// and the Karpenter manifests, from one placement.
type Launch struct {
	Fleet     FleetResponse
	Karpenter KarpenterResponse
}

// Launch writes the fleet request of req and the Karpenter manifests
// (with the EC2NodeClass nodeClass, "" for the default) of the same
// placement: what Fleet and Karpenter give, ranking the pools once.
func (e *Engine) Launch(ctx context.Context, req FleetRequest, nodeClass string) (Launch, error) {
	if err := awsOnly("EC2 Fleet and Karpenter", req.Cloud); err != nil {
		return Launch{}, err
	}
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if !(req.Confidence > 0 && req.Confidence < 1) {
		return Launch{}, Invalid("confidence", "%v is not in (0, 1)", req.Confidence)
	}
	b, err := e.launchBase(ctx, req.LaunchRequest)
	if err != nil {
		return Launch{}, err
	}
	return e.launchDocs(ctx, b, req, nodeClass)
}

// LaunchFrom is Launch over pl, a placement of req's workload already
// made (by Placement or Workload: the K of its diversified set does not
// matter here), so a caller that shows both ranks the pools once.
func (e *Engine) LaunchFrom(ctx context.Context, req FleetRequest, nodeClass string, pl PlacementResponse) (Launch, error) {
	if err := awsOnly("EC2 Fleet and Karpenter", req.Cloud); err != nil {
		return Launch{}, err
	}
	if req.Confidence == 0 {
		req.Confidence = DefaultConfidence
	}
	if err := req.validate(); err != nil {
		return Launch{}, err
	}
	preq, err := req.PlacementRequest.withDefaults()
	if err != nil {
		return Launch{}, err
	}
	if len(pl.Ranked) == 0 {
		return Launch{}, noFit(preq, &recommend.NoFitError{Need: "a pool that fits", Rejected: pl.Rejected})
	}
	b := launchBase{in: placementInput{req: preq, w: e.workload(preq), srcs: []string{pl.Source}, basis: pl.Basis}, placement: pl.PlacementResult, candidates: pl.Candidates}
	if err := b.placeNodes(req.LaunchRequest); err != nil {
		return Launch{}, err
	}
	return e.launchDocs(ctx, b, req, nodeClass)
}

func (e *Engine) launchDocs(ctx context.Context, b launchBase, req FleetRequest, nodeClass string) (Launch, error) {
	f, err := e.fleet(ctx, b, req)
	if err != nil {
		return Launch{}, err
	}
	k, err := karpenter(b, KarpenterRequest{LaunchRequest: req.LaunchRequest, NodeClass: nodeClass})
	if err != nil {
		return Launch{}, err
	}
	return Launch{Fleet: f, Karpenter: k}, nil
}

// SkyPilotRequest asks for a SkyPilot task resources block.
type SkyPilotRequest struct {
	LaunchRequest
	// Clouds whose pools are candidates (default: aws, gcp and azure;
	// LaunchRequest.Cloud is ignored). A cloud none of whose stored pools
	// fits is left out, and the explanation says so.
	Clouds []string
}

// SkyPilotResponse is the resources block and what it rests on.
type SkyPilotResponse struct {
	launch.SkyPilotResult
	MultiNode  *recommend.MultiNodeResult `json:"multi_node,omitempty"`
	Candidates int                        `json:"candidates"`
	Provenance
	Basis
}

// SkyPilot writes a SkyPilot task's resources: spot, the ranked pools of
// every allowed cloud as ordered candidates, best expected cost per useful
// GPU-hour first. Each cloud is placed apart (its own notice window) and
// the rankings merged by that cost.
func (e *Engine) SkyPilot(ctx context.Context, req SkyPilotRequest) (SkyPilotResponse, error) {
	if err := req.validate(); err != nil {
		return SkyPilotResponse{}, err
	}
	clouds := req.Clouds
	if len(clouds) == 0 {
		clouds = []string{market.AWS, market.GCP, market.Azure}
	}
	if len(clouds) > 3 {
		return SkyPilotResponse{}, Invalid("clouds", "at most aws, gcp and azure, got %d", len(clouds))
	}
	var out SkyPilotResponse
	var merged recommend.PlacementResult
	var base launchBase
	var skipped []string
	var srcs []string
	first := true
	seen := map[string]bool{}
	for _, c := range clouds {
		c = strings.ToLower(c)
		if seen[c] {
			continue // a cloud named twice is placed once
		}
		seen[c] = true
		if c != market.AWS && c != market.GCP && c != market.Azure {
			return SkyPilotResponse{}, &Error{Code: CodeInvalidArgument, Param: "clouds", Err: launch.ErrUnsupportedCloud,
				Message: fmt.Sprintf("clouds: spotcast writes SkyPilot candidates for aws, gcp and azure, not %q", c)}
		}
		r := req.LaunchRequest
		r.Cloud, r.Product = c, ""
		if c == market.AWS {
			r.Product = req.Product
		}
		in, err := e.placementInput(ctx, r.PlacementRequest)
		if err != nil {
			return SkyPilotResponse{}, err
		}
		pl, err := recommend.Placement(in.w, in.cands)
		if err != nil || len(pl.Ranked) == 0 {
			if err != nil && !errors.Is(err, recommend.ErrNoFit) {
				return SkyPilotResponse{}, recommendError(err)
			}
			skipped = append(skipped, c)
			continue
		}
		if first {
			base.in, merged = in, pl
		} else {
			merged.Ranked = append(merged.Ranked, pl.Ranked...)
			base.in.cands = append(base.in.cands, in.cands...)
			base.in.basis.merge(in.basis, false)
		}
		srcs = append(srcs, in.srcs...)
		first = false
	}
	if first {
		return SkyPilotResponse{}, noFit(req.PlacementRequest, &recommend.NoFitError{Need: fmt.Sprintf("a stored pool of %s that fits", strings.Join(clouds, ", "))})
	}
	slices.SortStableFunc(merged.Ranked, func(a, b recommend.PoolRank) int { return cmp.Compare(a.CostPerUsefulGPUHr, b.CostPerUsefulGPUHr) })
	base.placement = merged
	if err := base.placeNodes(req.LaunchRequest); err != nil {
		return SkyPilotResponse{}, err
	}
	out.MultiNode = base.multi
	res, err := launch.SkyPilot(launch.SkyPilotInput{Workload: base.in.w, Placement: merged, Clouds: clouds, Selection: req.selection()})
	if err != nil {
		return SkyPilotResponse{}, recommendError(err)
	}
	if len(skipped) > 0 {
		res.Explain.Notes = append(res.Explain.Notes, fmt.Sprintf("no stored pool of %s fits the workload: no candidates there", strings.Join(skipped, ", ")))
	}
	out.SkyPilotResult = res
	out.Candidates = len(base.in.cands)
	out.Provenance = provenance(srcs...)
	out.Basis = base.in.basis
	return out, nil
}

// PlanRequest is a job with a deadline: RunLength is its compute C, the
// workload and checkpoint costs as for a placement.
type PlanRequest struct {
	LaunchRequest
	// Deadline D from the start (required).
	Deadline time.Duration
	// Step: the decision interval (0: recommend.DefaultPlanStep); Runs of
	// the Monte Carlo (0: recommend.DefaultPlanRuns) and its Seed.
	Step time.Duration
	Runs int
	Seed uint64
}

// PlanPoolInfo is one spot pool the plan chooses between.
type PlanPoolInfo struct {
	Pool            market.PoolKey `json:"pool"`
	PriceUSDPerHour float64        `json:"price_usd_per_hour"`
	HazardPerHour   float64        `json:"hazard_per_instance_hour"`
}

// PlanResponse is the deadline plan, the pools it runs on and, for a job
// of several nodes, the single-node and N-node figures.
type PlanResponse struct {
	recommend.PlanResult
	InstanceType       string                     `json:"instance_type"`
	Instances          int                        `json:"instances"`
	OnDemandUSDPerHour float64                    `json:"on_demand_usd_per_hour"`
	Pools              []PlanPoolInfo             `json:"pools"`
	MultiNode          *recommend.MultiNodeResult `json:"multi_node,omitempty"`
	Candidates         int                        `json:"candidates"`
	Provenance
	Basis
}

// Plan says when to run a job on spot, when to wait and when to switch to
// on demand so it ends by its deadline (recommend.Plan, Uniform Progress
// with the forecast hazard), over the workload's best ranked pools of the
// best pool's instance size (prices per instance must compare), with the
// lowest on-demand price among them as the fallback.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (PlanResponse, error) {
	if req.Deadline <= 0 {
		return PlanResponse{}, Invalid("deadline", "required, > 0 (e.g. 36h)")
	}
	run, restart := req.RunLength, req.RestartCost
	if run == 0 {
		run = DefaultRunLength
	}
	if restart == 0 {
		restart = DefaultRestartCost
	}
	if run > 0 && restart >= 0 && req.Deadline < run+restart {
		// Said before any pool is read.
		return PlanResponse{}, recommendError(&recommend.DeadlineError{Deadline: req.Deadline, MinFeasible: run + restart})
	}
	switch {
	case req.Runs < 0 || req.Runs > recommend.MaxPlanRuns:
		return PlanResponse{}, Invalid("runs", "must be in [0, %d], got %d", recommend.MaxPlanRuns, req.Runs)
	case req.MaxPools > MaxPlanPools:
		return PlanResponse{}, Invalid("max_pools", "at most %d pools in a plan, got %d", MaxPlanPools, req.MaxPools)
	case req.Step < 0 || (req.Step > 0 && req.Step < 10*time.Second):
		return PlanResponse{}, Invalid("step", "at least 10s, got %v", req.Step)
	}
	step, runs := req.Step, req.Runs
	if step == 0 {
		step = recommend.DefaultPlanStep
	}
	steps := float64(req.Deadline+run) / float64(step)
	if runs == 0 {
		// The default shrinks for long plans, down to MinPlanRuns.
		runs = max(MinPlanRuns, min(recommend.DefaultPlanRuns, int(MaxPlanWork/steps)))
	}
	if work := float64(runs) * steps; work > MaxPlanWork {
		return PlanResponse{}, Invalid("runs", "%d runs over %.0f decision steps is more than %d steps of Monte Carlo: fewer runs or a longer step", runs, steps, MaxPlanWork)
	}
	b, err := e.launchBase(ctx, req.LaunchRequest)
	if err != nil {
		return PlanResponse{}, err
	}
	best := b.placement.Ranked[0]
	want := req.MaxPools
	if want == 0 {
		want = DefaultPlanPools
	}
	byKey := make(map[market.PoolKey]recommend.PoolCandidate, len(b.in.cands))
	for _, c := range b.in.cands {
		byKey[c.Pool] = c
	}
	var chosen []recommend.PoolCandidate
	for _, r := range b.placement.Ranked {
		if len(chosen) == want {
			break
		}
		if c, ok := byKey[r.Pool]; ok && r.GPUsPerInstance == best.GPUsPerInstance && r.Instances == best.Instances {
			chosen = append(chosen, c)
		}
	}
	pools, od := recommend.PlanPools(chosen)
	if od == 0 {
		return PlanResponse{}, Unprocessable(nil, "no on-demand price is stored for %s in the plan's pools: the plan needs it as the fallback (ingest the on-demand prices)", best.InstanceType)
	}
	w := b.in.w
	res, err := recommend.Plan(recommend.PlanInput{Compute: w.RunLength, Deadline: req.Deadline, Start: w.Start,
		CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: w.NoticeWindow, MissedNoticeShare: w.MissedNoticeShare,
		Pools: pools, OnDemand: od, Instances: best.Instances, CommonShare: req.CommonShare, Step: req.Step, Runs: runs, Seed: req.Seed})
	if err != nil {
		return PlanResponse{}, recommendError(err)
	}
	out := PlanResponse{PlanResult: res, InstanceType: best.InstanceType, Instances: best.Instances, OnDemandUSDPerHour: od,
		MultiNode: b.multi, Candidates: b.candidates, Provenance: b.provenance(), Basis: b.in.basis}
	for _, p := range pools {
		h, _, _ := p.Hazard.Mean(w.Start, req.Deadline)
		out.Pools = append(out.Pools, PlanPoolInfo{Pool: p.Pool, PriceUSDPerHour: p.Price, HazardPerHour: h})
	}
	return out, nil
}
