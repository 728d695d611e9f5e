package recommend_test

import (
	"errors"
	"math"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

func TestSurvivalNKnownAnswers(t *testing.T) {
	h := recommend.Hazard{{Start: planStart, Rate: 0.1}}
	lam := 0.1 * 2 // per-instance integral over 2 h
	for _, tc := range []struct {
		n    int
		s    float64
		want float64
	}{
		{1, 0.6, math.Exp(-lam)},
		{8, 0, math.Exp(-8 * lam)},         // independent
		{8, 1, math.Exp(-lam)},             // always together
		{4, 0.5, math.Exp(-2.5 * lam)},     // 0.5 + 4 x 0.5
		{16, 0.25, math.Exp(-12.25 * lam)}, // 0.25 + 16 x 0.75
	} {
		if got := recommend.SurvivalN(h, planStart, 2*time.Hour, tc.n, tc.s); !near(got, tc.want) {
			t.Errorf("SurvivalN(n=%d, s=%v) = %v, want %v", tc.n, tc.s, got, tc.want)
		}
	}
}

func TestEstimateCommonShareKnownAnswers(t *testing.T) {
	steps := func(loss ...int) []recommend.NodeStep {
		var s []recommend.NodeStep
		for _, x := range loss {
			s = append(s, recommend.NodeStep{Running: 4, Lost: x})
		}
		for range 1000 {
			s = append(s, recommend.NodeStep{Running: 4})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		loss []int
		want float64
	}{
		{"only whole-pool losses", []int{4, 4, 4}, 1},
		{"only single losses", []int{1, 1, 1, 1}, 0},
		// pair losses 12 (4 x 3, none in the single loss) over 12 pairs
		// per step, node losses 5 over 4 nodes per step: (12/12)/(5/4).
		{"mixed", []int{4, 1}, 0.8},
	} {
		got, err := recommend.EstimateCommonShare(steps(tc.loss...))
		if err != nil || !near(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := recommend.EstimateCommonShare(steps()); !errors.Is(err, recommend.ErrInvalidInput) {
		t.Errorf("no losses: %v", err)
	}
}

// TestCommonShareFromTraces estimates the common-shock share from the
// skypilot multi-node traces: the number of p3.2xlarge nodes running
// (4-node preemption traces) or available (16-node availability traces)
// every 5 minutes, a drop being nodes lost in that step.
func TestCommonShareFromTraces(t *testing.T) {
	root := filepath.Join(dataDir(t), "traces", "skypilot-spot-traces")
	var est []float64
	for _, dir := range []string{"preemption/4-node/aws-08-03-2023", "availability/16-node/aws-08-27-2023"} {
		for _, tr := range loadCounts(t, filepath.Join(root, dir)) {
			var steps []recommend.NodeStep
			for i := 1; i < len(tr); i++ {
				steps = append(steps, recommend.NodeStep{Running: tr[i-1], Lost: max(0, tr[i-1]-tr[i])})
			}
			s, err := recommend.EstimateCommonShare(steps)
			if err != nil {
				t.Fatal(err)
			}
			est = append(est, s)
		}
	}
	if len(est) != 6 {
		t.Fatalf("%d traces, want 3 + 3", len(est))
	}
	sort.Float64s(est)
	median := (est[2] + est[3]) / 2
	t.Logf("common-shock share per trace: %.3f; median %.3f", est, median)
	if est[0] < 0.1 || math.Abs(recommend.DefaultCommonShare-median) > 0.05 {
		t.Errorf("DefaultCommonShare %v, trace median %.3f (estimates %.3f)", recommend.DefaultCommonShare, median, est)
	}
}

// TestMeanOutageFromTraces: the mean unavailable spell of the 1-node
// p3.2xlarge availability traces is DefaultMeanOutage.
func TestMeanOutageFromTraces(t *testing.T) {
	root := filepath.Join(dataDir(t), "traces", "skypilot-spot-traces", "availability", "1-node")
	var sum float64
	var n int
	for _, dir := range []string{"aws-10-26-2022", "aws-02-15-2023"} {
		for _, tr := range loadTraces(t, filepath.Join(root, dir)) {
			if tr.typ != "p3.2xlarge" {
				continue
			}
			run := 0
			for _, up := range tr.up[1:] {
				switch {
				case !up:
					run++
				case run > 0:
					sum += float64(run) * tr.gap.Hours()
					n++
					run = 0
				}
			}
		}
	}
	mean := sum / float64(n)
	t.Logf("%d unavailable spells, mean %.2f h", n, mean)
	if n < 1000 || math.Abs(mean-recommend.DefaultMeanOutage.Hours()) > 0.1*mean {
		t.Errorf("%d spells, mean %.2f h; DefaultMeanOutage %v", n, mean, recommend.DefaultMeanOutage)
	}
}

func rank(zone, typ string, gpus int, price, hazard float64) recommend.PoolRank {
	r, _ := market.RegionOfZone(zone)
	return recommend.PoolRank{Pool: market.PoolKey{Cloud: market.AWS, Region: r, Zone: zone, InstanceType: typ},
		InstanceType: typ, GPUsPerInstance: gpus, PriceUSDPerHour: price, HazardPerHour: hazard}
}

func multiWorkload(nodes int) recommend.Workload {
	return recommend.Workload{GPUsPerNode: 1, Nodes: nodes, Start: planStart, RunLength: 24 * time.Hour,
		CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute}
}

func TestMultiNode(t *testing.T) {
	cands := []recommend.PoolRank{
		rank("us-west-2a", "p3.2xlarge", 1, 0.90, 0.05),
		rank("us-west-2b", "p3.2xlarge", 1, 0.92, 0.05),
		rank("us-west-2c", "p3.2xlarge", 1, 0.95, 0.02),
	}
	s := 0.6
	res, err := recommend.MultiNode(recommend.MultiNodeInput{Workload: multiWorkload(8), Candidates: cands, CommonShare: &s, Segment: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Best
	// Packing eight nodes keeps them under one common shock; the calm
	// zone c wins despite its price.
	if b.Kind != "pack" || len(b.Allocation) != 1 || b.Allocation[0].Pool.Zone != "us-west-2c" || b.Allocation[0].Instances != 8 {
		t.Fatalf("best %+v", b)
	}
	lam := 0.02 * 2
	if !near(b.ProbSingleNodeSurvives, math.Exp(-lam)) || !near(b.ProbAllNodesSurvive, math.Exp(-lam*(0.6+8*0.4))) ||
		!near(b.ProbAllNodesSurviveIndependent, math.Exp(-8*lam)) {
		t.Errorf("survival single %v, all %v, independent %v", b.ProbSingleNodeSurvives, b.ProbAllNodesSurvive, b.ProbAllNodesSurviveIndependent)
	}
	if res.Spread == nil || res.Spread.CostPerUsefulGPUHr <= b.CostPerUsefulGPUHr || res.Spread.JobHazardPerHour <= b.JobHazardPerHour {
		t.Errorf("spread %+v should cost more than pack %+v", res.Spread, b)
	}
	if !(b.SingleNodeCostPerUsefulGPUHr < b.CostPerUsefulGPUHr) {
		t.Errorf("a single node %.4f should cost less per useful GPU-hour than eight %.4f", b.SingleNodeCostPerUsefulGPUHr, b.CostPerUsefulGPUHr)
	}

	// 24 nodes: no pool holds them (16 each), so they spread.
	res, err = recommend.MultiNode(recommend.MultiNodeInput{Workload: multiWorkload(24), Candidates: cands})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pack != nil || res.Best.Kind != "spread" || res.CommonShare != recommend.DefaultCommonShare {
		t.Errorf("24 nodes: %+v", res)
	}
	nodes := 0
	for _, a := range res.Best.Allocation {
		nodes += a.Nodes
		if a.Instances > recommend.DefaultPoolCapacity {
			t.Errorf("%d instances in %s", a.Instances, a.Pool)
		}
	}
	if nodes != 24 {
		t.Errorf("%d nodes placed", nodes)
	}

	_, err = recommend.MultiNode(recommend.MultiNodeInput{Workload: multiWorkload(49), Candidates: cands})
	var pe *recommend.ParamError
	if !errors.As(err, &pe) || pe.Param != "nodes" {
		t.Errorf("49 nodes over 48 places: %v", err)
	}
	_, err = recommend.MultiNode(recommend.MultiNodeInput{Workload: multiWorkload(2)})
	if !errors.Is(err, recommend.ErrNoFit) {
		t.Errorf("no candidates: %v", err)
	}
}
