package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
)

// launchPools bounds the pools of each document in the report: each
// fleet pool costs a max-price forecast.
const launchPools = 5

// LaunchItem is what to launch for one workload: the EC2 CreateFleet
// request and the Karpenter NodePools and NodeOverlays, as the documents
// `aws ec2 create-fleet --cli-input-json` and `kubectl apply -f` read.
type LaunchItem struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Error says why there is nothing to launch (nothing fits, not AWS).
	Error              string `json:"error,omitempty"`
	Region             string `json:"region,omitempty"`
	AllocationStrategy string `json:"allocation_strategy,omitempty"`
	StrategyReason     string `json:"strategy_reason,omitempty"`
	Pools              int    `json:"pools,omitempty"`
	// FleetRequest is the CreateFleet request document (JSON).
	FleetRequest string `json:"fleet_request,omitempty"`
	// Karpenter is the NodePool and NodeOverlay YAML stream.
	Karpenter string `json:"karpenter,omitempty"`
	Source    string `json:"source"`
}

// LaunchSection holds what to launch for each workload.
type LaunchSection struct {
	Section
	Workloads []LaunchItem `json:"workloads"`
}

// whatToLaunch writes, for each recommended workload, the fleet request
// and the NodePools of its placement (engine.LaunchFrom): the
// recommendations' ranking as documents the launching tools read.
func whatToLaunch(ctx context.Context, eng *engine.Engine, r *Report, s *snapshot, o Options) error {
	sec := &r.Launch
	sec.Title = "What to launch"
	if len(o.Workloads) == 0 {
		sec.note("No workloads are configured (config: report.workloads); these are examples.")
	}
	var srcs []string
	for _, rec := range r.Recommendations.Workloads {
		w := rec.Workload
		it := LaunchItem{Name: w.Name, Description: rec.Description, Source: "none"}
		switch {
		case w.Cloud != market.AWS:
			it.Error = fmt.Sprintf("EC2 Fleet and Karpenter launch only on AWS; %s is on %s (spotcast recommend skypilot writes its SkyPilot resources)", w.Name, w.Cloud)
		case rec.placement == nil:
			it.Error = "nothing to launch: " + rec.Error
		default:
			lr := engine.LaunchRequest{PlacementRequest: engine.PlacementRequest{Cloud: w.Cloud, GPUModel: w.GPUModel, MinGPUMemoryGiB: w.MinGPUMemoryGiB,
				GPUsPerNode: w.GPUsPerNode, Nodes: w.Nodes, Regions: w.Regions, RunLength: w.RunLength, CheckpointCost: w.CheckpointCost,
				RestartCost: w.RestartCost, MaxCandidates: maxPlacementCandidates, MaxStale: o.MaxAge, AsOf: s.forecastAsOf},
				MaxPools: launchPools}
			l, err := eng.LaunchFrom(ctx, engine.FleetRequest{LaunchRequest: lr, Confidence: w.Confidence}, "", *rec.placement)
			if err == nil {
				err = it.fill(l.Fleet, l.Karpenter)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var ee *engine.Error
				if !errors.As(err, &ee) || ee.Code == engine.CodeInternal {
					return fmt.Errorf("what to launch for %q: %w", w.Name, err)
				}
				it.Error = "nothing to launch for " + it.Description + ": " + err.Error()
			}
		}
		srcs = append(srcs, it.Source)
		sec.Workloads = append(sec.Workloads, it)
	}
	sec.Source = sourceList(srcs...)
	sec.note("The recommendations' ranking as launch documents. Fleet: save the request as fleet.json and run aws ec2 create-fleet --cli-input-json file://fleet.json (it names the launch template spotcast-gpu: create it or change the name). Karpenter: kubectl apply -f the YAML; the NodeOverlays need Karpenter's NodeOverlay feature gate. Both list the best region's pools (at most %d) in order of expected cost per useful GPU-hour; spotcast recommend fleet|karpenter --json explains each choice.", launchPools)
	return nil
}

func (it *LaunchItem) fill(fl engine.FleetResponse, kp engine.KarpenterResponse) error {
	doc, err := json.MarshalIndent(fl.Request, "", "  ")
	if err != nil {
		return err
	}
	y, err := kp.YAML()
	if err != nil {
		return err
	}
	it.Region, it.AllocationStrategy, it.StrategyReason, it.Pools = fl.Region, fl.AllocationStrategy, fl.StrategyReason, len(fl.Pools)
	it.FleetRequest, it.Karpenter = string(doc), strings.TrimSpace(string(y))
	it.Source = sourceList(fl.Source, kp.Source)
	return nil
}
