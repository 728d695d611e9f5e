package api

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/spotcast/spotcast/api/spotcastpb"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/recommend"
)

// fromLaunch reads the workload of a launch RPC (nil: all defaults, which
// the engine rejects for want of a GPU model).
func fromLaunch(r *spotcastpb.RecommendLaunchRequest) engine.LaunchRequest {
	if r == nil {
		return engine.LaunchRequest{}
	}
	req := engine.LaunchRequest{
		PlacementRequest: engine.PlacementRequest{Cloud: r.Cloud, Product: r.Product, GPUModel: r.GpuModel, MinGPUMemoryGiB: r.MinGpuMemoryGib,
			GPUsPerNode: int(r.GpusPerNode), Nodes: int(r.Nodes), Regions: r.Regions, RunLength: fromDur(r.RunLength),
			CheckpointCost: fromDur(r.CheckpointCost), RestartCost: fromDur(r.RestartCost), NoticeWindow: fromDurPtr(r.NoticeWindow),
			MissedNoticeShare: r.MissedNoticeShare, Model: r.Model, MaxCandidates: int(r.MaxCandidates), AsOf: fromTS(r.AsOf)},
		Region: r.Region, MaxPools: int(r.MaxPools), MaxPremium: r.MaxPremium,
	}
	if r.CommonShare != nil {
		s := *r.CommonShare
		req.CommonShare = &s
	}
	return req
}

func pbMultiOption(o *recommend.MultiNodeOption) *spotcastpb.MultiNodeOption {
	if o == nil {
		return nil
	}
	out := &spotcastpb.MultiNodeOption{Kind: o.Kind, Zones: int32(o.Zones), JobHazardPerHour: o.JobHazardPerHour,
		ProbSingleNodeSurvives: o.ProbSingleNodeSurvives, ProbAllNodesSurvive: o.ProbAllNodesSurvive,
		ProbAllNodesSurviveIndependent: o.ProbAllNodesSurviveIndependent, ExpectedOverheadRatio: o.OverheadRatio,
		CheckpointIntervalSeconds: o.CheckpointIntervalSeconds, SingleNodeCostPerUsefulGpuHour: o.SingleNodeCostPerUsefulGPUHr,
		CostPerUsefulGpuHour: o.CostPerUsefulGPUHr, ExpectedRunCostUsd: o.ExpectedRunCostUSD}
	for _, a := range o.Allocation {
		out.Allocation = append(out.Allocation, &spotcastpb.NodeAllocation{Pool: pbRef(a.Pool), InstanceType: a.InstanceType,
			Instances: int32(a.Instances), Nodes: int32(a.Nodes)})
	}
	return out
}

func pbMultiNode(m *recommend.MultiNodeResult) *spotcastpb.MultiNode {
	if m == nil {
		return nil
	}
	return &spotcastpb.MultiNode{Nodes: int32(m.Nodes), UsefulGpus: int32(m.UsefulGPUs), SegmentSeconds: m.SegmentSeconds,
		CommonShare: m.CommonShare, Best: pbMultiOption(&m.Best), Pack: pbMultiOption(m.Pack), Spread: pbMultiOption(m.Spread),
		Explain: pbExplain(m.Explain)}
}

func (g *grpcServer) RecommendFleet(ctx context.Context, r *spotcastpb.RecommendFleetRequest) (*spotcastpb.Fleet, error) {
	req := engine.FleetRequest{LaunchRequest: fromLaunch(r.Launch), Type: r.FleetType, Unit: r.Target, Strategy: r.Strategy,
		LaunchTemplateVersion: r.LaunchTemplateVersion, Subnets: r.Subnets, Confidence: r.Confidence}
	if strings.HasPrefix(r.LaunchTemplate, "lt-") {
		req.LaunchTemplateID = r.LaunchTemplate
	} else {
		req.LaunchTemplateName = r.LaunchTemplate
	}
	f, err := g.svc.Fleet(ctx, req)
	if err != nil {
		return nil, grpcError(err)
	}
	doc, err := json.MarshalIndent(f.Request, "", "  ")
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.Fleet{RequestJson: string(doc), Region: f.Region, AllocationStrategy: f.AllocationStrategy,
		StrategyReason: f.StrategyReason, TargetCapacityUnit: f.TargetCapacityUnit, Explain: pbExplain(f.Explain),
		MultiNode: pbMultiNode(f.MultiNode), Candidates: int32(f.Candidates), Provenance: pbProv(f.Provenance), Basis: pbBasis(f.Basis)}
	for _, p := range f.Pools {
		out.Pools = append(out.Pools, &spotcastpb.FleetPool{Pool: pbRef(p.Pool), Priority: int32(p.Priority), WeightedCapacity: p.WeightedCapacity,
			CostPerUsefulGpuHour: p.CostPerUsefulGPUHour, PricePerUsefulGpuHour: p.PricePerUsefulGPUHr, HazardPerInstanceHour: p.HazardPerHour,
			MaxPrice: p.MaxPrice, MaxPriceReason: p.MaxPriceReason})
	}
	return out, nil
}

func (g *grpcServer) RecommendKarpenter(ctx context.Context, r *spotcastpb.RecommendKarpenterRequest) (*spotcastpb.Karpenter, error) {
	k, err := g.svc.Karpenter(ctx, engine.KarpenterRequest{LaunchRequest: fromLaunch(r.Launch), NodeClass: r.NodeClass, Name: r.Name})
	if err != nil {
		return nil, grpcError(err)
	}
	return &spotcastpb.Karpenter{Yaml: k.YAML, Region: k.Region, NodePools: int32(len(k.NodePools)), NodeOverlays: int32(len(k.NodeOverlays)),
		Explain: pbExplain(k.Explain), MultiNode: pbMultiNode(k.MultiNode), Candidates: int32(k.Candidates),
		Provenance: pbProv(k.Provenance), Basis: pbBasis(k.Basis)}, nil
}

func (g *grpcServer) RecommendSkyPilot(ctx context.Context, r *spotcastpb.RecommendSkyPilotRequest) (*spotcastpb.SkyPilot, error) {
	s, err := g.svc.SkyPilot(ctx, engine.SkyPilotRequest{LaunchRequest: fromLaunch(r.Launch), Clouds: r.Clouds})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.SkyPilot{Yaml: s.YAML, Explain: pbExplain(s.Explain), MultiNode: pbMultiNode(s.MultiNode),
		Candidates: int32(s.Candidates), Provenance: pbProv(s.Provenance), Basis: pbBasis(s.Basis)}
	for _, p := range s.Pools {
		out.Pools = append(out.Pools, pbRank(p))
	}
	return out, nil
}

func (g *grpcServer) RecommendPlan(ctx context.Context, r *spotcastpb.RecommendPlanRequest) (*spotcastpb.Plan, error) {
	p, err := g.svc.Plan(ctx, engine.PlanRequest{LaunchRequest: fromLaunch(r.Launch), Deadline: fromDur(r.Deadline), Step: fromDur(r.Step),
		Runs: int(r.Runs), Seed: r.Seed})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.Plan{ComputeHours: p.ComputeHours, DeadlineHours: p.DeadlineHours, ExpectedCostUsd: p.ExpectedCostUSD,
		CostP10Usd: p.CostP10USD, CostP90Usd: p.CostP90USD, OnDemandCostUsd: p.OnDemandCostUSD, GreedySpotCostUsd: p.GreedyCostUSD,
		SavingsVsOnDemand: p.SavingsVsOnDemand, ProbMeetsDeadline: p.ProbMeetsDeadline, ProbMeetsDeadlineSpotOnly: p.ProbMeetsDeadlineSpotOnly,
		ExpectedFinishHours: p.ExpectedFinishHours, ExpectedSpotHours: p.ExpectedSpotHours, ExpectedOnDemandHours: p.ExpectedOnDemandHours,
		LatestOnDemandStart: ts(p.LatestOnDemandStart), Runs: int32(p.Runs), Seed: p.Seed, InstanceType: p.InstanceType,
		Instances: int32(p.Instances), OnDemandUsdPerHour: p.OnDemandUSDPerHour, Explain: pbExplain(p.Explain),
		MultiNode: pbMultiNode(p.MultiNode), Candidates: int32(p.Candidates), Provenance: pbProv(p.Provenance), Basis: pbBasis(p.Basis)}
	for _, st := range p.Schedule {
		s := &spotcastpb.PlanStep{Start: ts(st.Start), OffsetHours: st.OffsetHours, TargetProgressHours: st.TargetProgressHours,
			Action: st.Action, PoolHazardPerHour: st.PoolHazardPerHour, ProbSpot: st.ProbSpot, ProbOnDemand: st.ProbOnDemand,
			ProbWait: st.ProbWait, ProbDone: st.ProbDone}
		if st.Pool != nil {
			s.Pool = pbRef(*st.Pool)
		}
		out.Schedule = append(out.Schedule, s)
	}
	for _, pp := range p.Pools {
		out.Pools = append(out.Pools, &spotcastpb.PlanPool{Pool: pbRef(pp.Pool), PriceUsdPerHour: pp.PriceUSDPerHour, HazardPerInstanceHour: pp.HazardPerHour})
	}
	return out, nil
}
