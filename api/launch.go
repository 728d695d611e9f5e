package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/spotcast/spotcast/engine"
)

// launchParams are the query parameters of every launch route: the
// workload, named as for /v1/recommend/placement, and which of its ranked
// pools a document lists.
func launchParams(extra ...string) []string {
	return append([]string{"cloud", "product", "gpu_model", "min_gpu_memory_gib", "gpus_per_node", "nodes", "regions",
		"run_length", "checkpoint_cost", "restart_cost", "notice_window", "missed_notice_share", "model", "max_candidates", "as_of",
		"region", "max_pools", "max_premium", "common_share"}, extra...)
}

// launchRequest reads the parameters launchParams declares.
func (p *parser) launchRequest() engine.LaunchRequest {
	q := p.q
	req := engine.LaunchRequest{
		PlacementRequest: engine.PlacementRequest{Cloud: q.str("cloud"), Product: q.str("product"), GPUModel: q.str("gpu_model"),
			MinGPUMemoryGiB: p.float("min_gpu_memory_gib"), GPUsPerNode: p.int("gpus_per_node"), Nodes: p.int("nodes"),
			Regions: q.list("regions"), RunLength: p.duration("run_length"), CheckpointCost: p.duration("checkpoint_cost"),
			RestartCost: p.duration("restart_cost"), NoticeWindow: p.durationPtr("notice_window"),
			MissedNoticeShare: p.float("missed_notice_share"), Model: q.str("model"), MaxCandidates: p.int("max_candidates"),
			AsOf: p.time("as_of")},
		Region: q.str("region"), MaxPools: p.int("max_pools"), MaxPremium: p.float("max_premium"),
	}
	if q.has("common_share") {
		s := p.float("common_share")
		req.CommonShare = &s
	}
	return req
}

func (h *handler) fleet(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.FleetRequest{LaunchRequest: p.launchRequest(), Type: q.str("fleet_type"), Unit: q.str("target"),
		Strategy: q.str("strategy"), LaunchTemplateVersion: q.str("launch_template_version"), Confidence: p.float("confidence")}
	if p.err != nil {
		return nil, p.err
	}
	if lt := q.str("launch_template"); strings.HasPrefix(lt, "lt-") {
		req.LaunchTemplateID = lt
	} else {
		req.LaunchTemplateName = lt
	}
	for _, s := range q.list("subnets") {
		zone, sub, ok := strings.Cut(s, "=")
		if !ok || zone == "" || sub == "" {
			return nil, engine.Invalid("subnets", "%q is not zone=subnet-id", s)
		}
		if req.Subnets == nil {
			req.Subnets = map[string]string{}
		}
		req.Subnets[zone] = sub
	}
	return h.svc.Fleet(r.Context(), req)
}

// KarpenterAnswer is the Karpenter response with the manifests as the
// multi-document YAML kubectl applies.
type KarpenterAnswer struct {
	engine.KarpenterResponse
	YAML string `json:"yaml"`
}

func (h *handler) karpenter(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.KarpenterRequest{LaunchRequest: p.launchRequest(), NodeClass: q.str("node_class"), Name: q.str("name")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Karpenter(r.Context(), req)
}

// SkyPilotAnswer is the SkyPilot response with the resources block as the
// YAML to paste into a task.
type SkyPilotAnswer struct {
	engine.SkyPilotResponse
	YAML string `json:"yaml"`
}

func (h *handler) skyPilot(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.SkyPilotRequest{LaunchRequest: p.launchRequest(), Clouds: q.list("clouds")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.SkyPilot(r.Context(), req)
}

func (h *handler) plan(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.PlanRequest{LaunchRequest: p.launchRequest(), Deadline: p.duration("deadline"), Step: p.duration("step"), Runs: p.int("runs")}
	if q.has("seed") {
		n := p.int("seed")
		if n < 0 {
			return nil, engine.Invalid("seed", "must not be negative, got %d", n)
		}
		req.Seed = uint64(n)
	}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Plan(r.Context(), req)
}

// launchBounds applies placement's bounds and as_of rules to a launch
// request's workload: a launch output costs at least its placement.
func (s *Service) launchBounds(ctx context.Context, req *engine.LaunchRequest) error {
	if err := s.checkPlacement(&req.PlacementRequest); err != nil {
		return err
	}
	var err error
	req.AsOf, err = s.asOf(ctx, req.AsOf)
	return err
}

// Fleet writes an EC2 CreateFleet request for a workload.
func (s *Service) Fleet(ctx context.Context, req engine.FleetRequest) (engine.FleetResponse, error) {
	if err := s.launchBounds(ctx, &req.LaunchRequest); err != nil {
		return engine.FleetResponse{}, err
	}
	return gated(ctx, s.gate, placementOnRequest(req.PlacementRequest), s.eng.Fleet, req)
}

// Karpenter writes NodePool and NodeOverlay manifests for a workload.
func (s *Service) Karpenter(ctx context.Context, req engine.KarpenterRequest) (KarpenterAnswer, error) {
	if err := s.launchBounds(ctx, &req.LaunchRequest); err != nil {
		return KarpenterAnswer{}, err
	}
	r, err := gated(ctx, s.gate, placementOnRequest(req.PlacementRequest), s.eng.Karpenter, req)
	if err != nil {
		return KarpenterAnswer{}, err
	}
	y, err := r.YAML()
	if err != nil {
		return KarpenterAnswer{}, err
	}
	return KarpenterAnswer{KarpenterResponse: r, YAML: string(y)}, nil
}

// SkyPilot writes a SkyPilot task resources block for a workload.
func (s *Service) SkyPilot(ctx context.Context, req engine.SkyPilotRequest) (SkyPilotAnswer, error) {
	if err := s.launchBounds(ctx, &req.LaunchRequest); err != nil {
		return SkyPilotAnswer{}, err
	}
	r, err := gated(ctx, s.gate, placementOnRequest(req.PlacementRequest), s.eng.SkyPilot, req)
	if err != nil {
		return SkyPilotAnswer{}, err
	}
	y, err := r.YAML()
	if err != nil {
		return SkyPilotAnswer{}, err
	}
	return SkyPilotAnswer{SkyPilotResponse: r, YAML: string(y)}, nil
}

// Plan writes a deadline plan for a job. Its Monte Carlo is always
// computed on request, so it always takes a slot.
func (s *Service) Plan(ctx context.Context, req engine.PlanRequest) (engine.PlanResponse, error) {
	if err := s.launchBounds(ctx, &req.LaunchRequest); err != nil {
		return engine.PlanResponse{}, err
	}
	return gated(ctx, s.gate, true, s.eng.Plan, req)
}
