package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/launch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

var (
	launchOnce  sync.Once
	launchStore *storage.Store
	launchErr   error
)

// launchEngine is an engine over one simulated store the launch tests
// share (they only read it; filling it takes seconds).
func launchEngine(t *testing.T) *Engine {
	t.Helper()
	launchOnce.Do(func() {
		ctx := context.Background()
		clock := func() time.Time { return simStoreEnd }
		st, err := storage.Open(ctx, "", storage.Options{Now: clock})
		if err != nil {
			launchErr = err
			return
		}
		_, launchErr = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
			func(w *storage.Writer) error {
				_, err := sim.Generate(sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1", "eu-west-1"}}, w)
				return err
			})
		launchStore = st
	})
	if launchErr != nil {
		t.Fatal(launchErr)
	}
	return New(launchStore, Options{Now: func() time.Time { return simStoreEnd }})
}

// TestLaunchOutputs: every launch output of one workload rests on the same
// placement: the fleet's first override, the first NodePool's type and
// SkyPilot's first candidate are the placement's best pool, and every
// answer says its data is simulated.
func TestLaunchOutputs(t *testing.T) {
	ctx := context.Background()
	e := launchEngine(t)
	lr := LaunchRequest{PlacementRequest: PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}}
	pl, err := e.Placement(ctx, lr.PlacementRequest)
	if err != nil {
		t.Fatal(err)
	}
	best := pl.Ranked[0]

	fl, err := e.Fleet(ctx, FleetRequest{LaunchRequest: lr})
	if err != nil {
		t.Fatal(err)
	}
	o := fl.Request.LaunchTemplateConfigs[0].Overrides
	if len(o) == 0 || o[0].InstanceType != best.InstanceType || o[0].AvailabilityZone != best.Pool.Zone || o[0].Priority != 1 {
		t.Errorf("first override %+v, best pool %s", o, best.Pool)
	}
	if fl.Region != best.Pool.Region || !fl.Simulated || fl.Source == "" || fl.DataUntil.IsZero() || fl.Candidates != pl.Candidates {
		t.Errorf("fleet region %s, provenance %+v, basis %+v, candidates %d", fl.Region, fl.Provenance, fl.Basis, fl.Candidates)
	}
	for _, p := range fl.Pools {
		if p.MaxPriceReason == "" || strings.Contains(p.MaxPriceReason, "no bid recommendation given") {
			t.Errorf("pool %s: the bid was not consulted: %q", p.Pool, p.MaxPriceReason)
		}
	}
	if fl.MultiNode != nil {
		t.Error("a one-node job got multi-node figures")
	}
	if ts := fl.Request.TagSpecifications; len(ts) != 1 || ts[0].ResourceType != "fleet" || len(ts[0].Tags) != 3 ||
		ts[0].Tags[0] != (launch.Tag{Key: "spotcast:source", Value: "simulated"}) || ts[0].Tags[1].Value != "true" {
		t.Errorf("the fleet is not tagged with its simulated source: %+v", ts)
	}

	// The same documents from the placement already made.
	l, err := e.LaunchFrom(ctx, FleetRequest{LaunchRequest: lr}, "", pl)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := overridesOf(l.Fleet), overridesOf(fl); a != b || len(l.Karpenter.NodeOverlays) != len(o) {
		t.Errorf("LaunchFrom fleet %s, Fleet %s; %d overlays", a, b, len(l.Karpenter.NodeOverlays))
	}

	kp, err := e.Karpenter(ctx, KarpenterRequest{LaunchRequest: lr})
	if err != nil {
		t.Fatal(err)
	}
	if len(kp.NodePools) == 0 || kp.NodePools[0].Spec.Template.Spec.Requirements[0].Values[0] != best.InstanceType || len(kp.NodeOverlays) != len(o) || !kp.Simulated {
		t.Errorf("karpenter: %d node pools, %d overlays (fleet %d overrides), simulated %v", len(kp.NodePools), len(kp.NodeOverlays), len(o), kp.Simulated)
	}
	y, err := kp.YAML()
	if err != nil || !strings.Contains(string(y), "kind: NodeOverlay") {
		t.Errorf("yaml: %v\n%s", err, y)
	}

	sp, err := e.SkyPilot(ctx, SkyPilotRequest{LaunchRequest: lr})
	if err != nil {
		t.Fatal(err)
	}
	c := sp.Task.Resources.Ordered
	if !sp.Task.Resources.UseSpot || len(c) == 0 || c[0].InstanceType != best.InstanceType || c[0].Zone != best.Pool.Zone || !sp.Simulated {
		t.Errorf("skypilot %+v", sp.Task)
	}
	if !strings.Contains(strings.Join(sp.Explain.Notes, " "), "gcp, azure") {
		t.Errorf("the clouds without pools are not named: %q", sp.Explain.Notes)
	}
}

// TestLaunchMultiNode: a job of several nodes shows the single-node and
// the N-node survival side by side, the N-node one lower (8 V100s per node:
// one p3.16xlarge per node).
func TestLaunchMultiNode(t *testing.T) {
	e := launchEngine(t)
	share := 0.6
	fl, err := e.Fleet(context.Background(), FleetRequest{LaunchRequest: LaunchRequest{CommonShare: &share,
		PlacementRequest: PlacementRequest{GPUModel: "V100", GPUsPerNode: 8, Nodes: 4, RunLength: 24 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	m := fl.MultiNode
	if m == nil || m.Nodes != 4 || m.CommonShare != share {
		t.Fatalf("multi-node %+v", m)
	}
	b := m.Best
	if !(b.ProbAllNodesSurvive < b.ProbSingleNodeSurvives) || !(b.ProbAllNodesSurviveIndependent <= b.ProbAllNodesSurvive) {
		t.Errorf("survival single %v, all %v, independent %v", b.ProbSingleNodeSurvives, b.ProbAllNodesSurvive, b.ProbAllNodesSurviveIndependent)
	}
	inst := 0
	for _, a := range b.Allocation {
		inst += a.Instances
	}
	if inst != 4 {
		t.Errorf("allocation %+v, want 4 instances", b.Allocation)
	}
	if fl.Request.TargetCapacitySpecification.TotalTargetCapacity != 32 {
		t.Errorf("target %+v", fl.Request.TargetCapacitySpecification)
	}
}

// TestPlanFromStore: the deadline plan over the stored forecasts meets a
// feasible deadline and costs no more than on demand.
func TestPlanFromStore(t *testing.T) {
	e := launchEngine(t)
	p, err := e.Plan(context.Background(), PlanRequest{LaunchRequest: LaunchRequest{PlacementRequest: PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}},
		Deadline: 36 * time.Hour, Runs: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.ProbMeetsDeadline < 0.99 || !(p.ExpectedCostUSD > 0) || p.ExpectedCostUSD > p.OnDemandCostUSD*1.0001 || len(p.Schedule) == 0 || len(p.Pools) == 0 {
		t.Errorf("plan: meets %v, cost %v vs on demand %v, %d rows, %d pools", p.ProbMeetsDeadline, p.ExpectedCostUSD, p.OnDemandCostUSD, len(p.Schedule), len(p.Pools))
	}
	for _, pp := range p.Pools {
		if pp.Pool.InstanceType != p.InstanceType && pp.Pool.InstanceType == "" {
			t.Errorf("pool %s", pp.Pool)
		}
	}
	if !p.Simulated || p.OnDemandUSDPerHour <= 0 || p.Runs != 200 {
		t.Errorf("provenance %+v, on demand %v, runs %d", p.Provenance, p.OnDemandUSDPerHour, p.Runs)
	}
	// A long plan gets fewer runs by default, within MaxPlanWork.
	long, err := e.Plan(context.Background(), PlanRequest{LaunchRequest: LaunchRequest{MaxPools: 1, PlacementRequest: PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}},
		Deadline: 80 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	steps := float64(81*24*time.Hour) / float64(5*time.Minute)
	if long.Runs < MinPlanRuns || long.Runs >= 1000 || float64(long.Runs)*steps > MaxPlanWork || len(long.Pools) != 1 {
		t.Errorf("80-day plan: %d runs over %.0f steps, %d pools", long.Runs, steps, len(long.Pools))
	}
}

// TestLaunchBadInput: each bad request is an *Error naming its parameter.
func TestLaunchBadInput(t *testing.T) {
	ctx := context.Background()
	e := launchEngine(t)
	v100 := PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}
	for _, c := range []struct {
		name, param, code, msg string
		call                   func() error
	}{
		{"nothing fits", "gpu_model", CodeUnprocessable, "", func() error {
			_, err := e.Fleet(ctx, FleetRequest{LaunchRequest: LaunchRequest{PlacementRequest: PlacementRequest{GPUModel: "Z9000"}}})
			return err
		}},
		{"deadline infeasible", "deadline", CodeInvalidArgument, "minimum feasible deadline is 24h10m0s", func() error {
			_, err := e.Plan(ctx, PlanRequest{LaunchRequest: LaunchRequest{PlacementRequest: v100}, Deadline: 20 * time.Hour})
			return err
		}},
		{"no deadline", "deadline", CodeInvalidArgument, "required", func() error {
			_, err := e.Plan(ctx, PlanRequest{LaunchRequest: LaunchRequest{PlacementRequest: v100}})
			return err
		}},
		{"too many nodes for the pools", "nodes", CodeInvalidArgument, "plausible capacity", func() error {
			r := v100
			r.Nodes = 5000
			_, err := e.Karpenter(ctx, KarpenterRequest{LaunchRequest: LaunchRequest{PlacementRequest: r}})
			return err
		}},
		{"nodes over the bound", "nodes", CodeInvalidArgument, "at most", func() error {
			r := v100
			r.Nodes = MaxLaunchNodes + 1
			_, err := e.Fleet(ctx, FleetRequest{LaunchRequest: LaunchRequest{PlacementRequest: r}})
			return err
		}},
		{"karpenter off AWS", "cloud", CodeInvalidArgument, "only on AWS", func() error {
			r := v100
			r.Cloud = market.GCP
			_, err := e.Karpenter(ctx, KarpenterRequest{LaunchRequest: LaunchRequest{PlacementRequest: r}})
			return err
		}},
		{"unknown skypilot cloud", "clouds", CodeInvalidArgument, "oracle", func() error {
			_, err := e.SkyPilot(ctx, SkyPilotRequest{LaunchRequest: LaunchRequest{PlacementRequest: v100}, Clouds: []string{"oracle"}})
			return err
		}},
		{"bad fleet type", "type", CodeInvalidArgument, "spot-block", func() error {
			_, err := e.Fleet(ctx, FleetRequest{LaunchRequest: LaunchRequest{PlacementRequest: v100}, Type: "spot-block"})
			return err
		}},
		{"too much Monte Carlo", "runs", CodeInvalidArgument, "Monte Carlo", func() error {
			_, err := e.Plan(ctx, PlanRequest{LaunchRequest: LaunchRequest{PlacementRequest: v100}, Deadline: 60 * 24 * time.Hour, Runs: 20000})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if ee.Param != c.param || ee.Code != c.code || !strings.Contains(ee.Message, c.msg) || !strings.HasPrefix(ee.Message, c.param+": ") {
				t.Errorf("error %s %q %q, want %s %q containing %q", ee.Code, ee.Param, ee.Message, c.code, c.param, c.msg)
			}
		})
	}
	// The cloud check rejects before any document is written.
	if _, err := e.Fleet(ctx, FleetRequest{LaunchRequest: LaunchRequest{PlacementRequest: PlacementRequest{Cloud: "azure", GPUModel: "V100"}}}); !errors.Is(err, launch.ErrUnsupportedCloud) {
		t.Errorf("fleet on azure: %v", err)
	}
}

func overridesOf(f FleetResponse) string {
	var s []string
	for _, o := range f.Request.LaunchTemplateConfigs[0].Overrides {
		s = append(s, o.AvailabilityZone+"/"+o.InstanceType+"/"+o.MaxPrice)
	}
	return strings.Join(s, ",")
}
