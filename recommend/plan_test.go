package recommend_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

var planStart = time.Date(2023, 2, 20, 0, 0, 0, 0, time.UTC)

func planPool(zone string, price, hazard float64) recommend.PlanPool {
	r, _ := market.RegionOfZone(zone)
	return recommend.PlanPool{Pool: market.PoolKey{Cloud: market.AWS, Region: r, Zone: zone, InstanceType: "p3.2xlarge"},
		Price: price, Hazard: recommend.Hazard{{Start: planStart, Rate: hazard}}}
}

func planInput(pools ...recommend.PlanPool) recommend.PlanInput {
	return recommend.PlanInput{Compute: 24 * time.Hour, Deadline: 36 * time.Hour, Start: planStart,
		CheckpointCost: time.Minute, RestartCost: 6 * time.Minute, NoticeWindow: recommend.NoticeAWS,
		Pools: pools, OnDemand: 3.06, Runs: 300, Seed: 1}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Known answers: with no spot pool, or one that is never interrupted, or
// a deadline that leaves no slack, the cost is exact.
func TestPlanKnownAnswers(t *testing.T) {
	odCost := 3.06 * (24 + 0.1)
	for _, tc := range []struct {
		name     string
		in       recommend.PlanInput
		cost     float64
		spotOnly float64
	}{
		{"no spot pool: on demand from the start", planInput(), odCost, 0},
		{"spot never interrupted: all spot", planInput(planPool("us-west-2a", 0.918, 0)), 0.918 * 24.1, 1},
		{"spot dearer than on demand: on demand", planInput(planPool("us-west-2a", 3.5, 0)), odCost, 0},
		{"no slack: on demand at once", func() recommend.PlanInput {
			in := planInput(planPool("us-west-2a", 0.918, 0))
			in.Deadline = in.Compute + in.RestartCost
			return in
		}(), odCost, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := recommend.Plan(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !near(res.ExpectedCostUSD, tc.cost) || !near(res.CostP90USD, tc.cost) {
				t.Errorf("expected cost %.6f (p90 %.6f), want %.6f", res.ExpectedCostUSD, res.CostP90USD, tc.cost)
			}
			if res.ProbMeetsDeadline != 1 || res.ProbMeetsDeadlineSpotOnly != tc.spotOnly {
				t.Errorf("P(meet) %v, spot only %v (want 1, %v)", res.ProbMeetsDeadline, res.ProbMeetsDeadlineSpotOnly, tc.spotOnly)
			}
			if !near(res.OnDemandCostUSD, odCost) || len(res.Schedule) == 0 {
				t.Errorf("on-demand cost %.4f, %d schedule rows", res.OnDemandCostUSD, len(res.Schedule))
			}
		})
	}
}

// Pools interrupted every 3 to 7 hours and a deadline with 6 h of slack:
// the fallback keeps the deadline in every run, the cost falls between
// all-spot and all-on-demand, and spot without the fallback misses in
// some runs.
func TestPlanRiskyPool(t *testing.T) {
	in := planInput(planPool("us-west-2a", 0.918, 0.3), planPool("us-west-2b", 0.918, 0.15))
	in.Deadline = 30 * time.Hour
	res, err := recommend.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProbMeetsDeadline != 1 {
		t.Errorf("P(meet) = %v with the on-demand fallback", res.ProbMeetsDeadline)
	}
	if !(res.ExpectedCostUSD > 0.918*24 && res.ExpectedCostUSD < res.OnDemandCostUSD) || res.SavingsVsOnDemand <= 0.3 {
		t.Errorf("expected cost %.2f, on demand %.2f, savings %.2f", res.ExpectedCostUSD, res.OnDemandCostUSD, res.SavingsVsOnDemand)
	}
	if !(res.CostP10USD <= res.ExpectedCostUSD && res.ExpectedCostUSD <= res.CostP90USD) {
		t.Errorf("quantiles %.2f %.2f around %.2f", res.CostP10USD, res.CostP90USD, res.ExpectedCostUSD)
	}
	if res.ProbMeetsDeadlineSpotOnly >= 1 {
		t.Errorf("spot alone met the deadline in every run (%v): the test pool is not risky", res.ProbMeetsDeadlineSpotOnly)
	}
	// The forecast prefers the quieter pool.
	if p := res.Schedule[0].Pool; p == nil || p.Zone != "us-west-2b" {
		t.Errorf("first step's pool %v, want us-west-2b", p)
	}
	again, _ := recommend.Plan(in)
	if again.ExpectedCostUSD != res.ExpectedCostUSD {
		t.Error("the same seed gave another answer")
	}
	last := res.Schedule[len(res.Schedule)-1]
	if last.OffsetHours != 30 || last.ProbDone != 1 {
		t.Errorf("at the deadline: %+v", last)
	}
}

func TestPlanBadInput(t *testing.T) {
	in := planInput()
	in.Deadline = 24 * time.Hour
	_, err := recommend.Plan(in)
	var de *recommend.DeadlineError
	if !errors.As(err, &de) || de.MinFeasible != 24*time.Hour+6*time.Minute || !errors.Is(err, recommend.ErrDeadlineInfeasible) ||
		!errors.Is(err, recommend.ErrInvalidInput) || !strings.Contains(err.Error(), "minimum feasible deadline is 24h6m0s") {
		t.Errorf("infeasible deadline: %v", err)
	}
	for _, tc := range []struct {
		param string
		edit  func(*recommend.PlanInput)
	}{
		{"compute", func(in *recommend.PlanInput) { in.Compute = 0 }},
		{"on_demand", func(in *recommend.PlanInput) { in.OnDemand = 0 }},
		{"runs", func(in *recommend.PlanInput) { in.Runs = recommend.MaxPlanRuns + 1 }},
		{"step", func(in *recommend.PlanInput) { in.Step = time.Second }},
		{"step", func(in *recommend.PlanInput) { in.Deadline = 80 * 24 * time.Hour; in.Step = time.Minute }},
		{"deadline", func(in *recommend.PlanInput) { in.Deadline = 100 * 24 * time.Hour }},
		{"pools", func(in *recommend.PlanInput) { in.Pools = []recommend.PlanPool{{Price: 1}} }},
		{"missed_notice_share", func(in *recommend.PlanInput) { in.MissedNoticeShare = 2 }},
	} {
		in := planInput()
		tc.edit(&in)
		_, err := recommend.Plan(in)
		var pe *recommend.ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param || !errors.Is(err, recommend.ErrInvalidInput) {
			t.Errorf("%s: got %v", tc.param, err)
		}
	}
}

// ReplayPlan on made-up traces with known answers.
func TestReplayPlanKnownAnswers(t *testing.T) {
	in := planInput(planPool("us-west-2a", 0.918, 0.05))
	always, err := recommend.ReplayPlan(in, func(int, int) bool { return true }, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(always.UniformProgress.CostUSD, 0.918*24.1) || !near(always.Greedy.CostUSD, 0.918*24.1) || !always.SpotOnly.MetDeadline {
		t.Errorf("spot always there: %+v", always)
	}
	never, _ := recommend.ReplayPlan(in, func(int, int) bool { return false }, 1)
	if !never.UniformProgress.MetDeadline || !never.Greedy.MetDeadline || never.SpotOnly.MetDeadline {
		t.Errorf("spot never there: %+v", never)
	}
	// Greedy waits for spot, then runs on demand to the end: C + d.
	if !near(never.Greedy.OnDemandHours, 24.1) || never.Greedy.FinishHours > 36 {
		t.Errorf("greedy without spot: %+v", never.Greedy)
	}
}

// BenchmarkPlan: the default Monte Carlo (1,000 runs, 5-minute steps) of
// a 24 h job with a 36 h deadline over two pools.
func BenchmarkPlan(b *testing.B) {
	in := planInput(planPool("us-west-2a", 0.918, 0.3), planPool("us-west-2b", 0.918, 0.15))
	in.Runs = 0
	for b.Loop() {
		if _, err := recommend.Plan(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPlanPools(t *testing.T) {
	h := recommend.Hazard{{Start: planStart, Rate: 0.1}}
	k := market.PoolKey{Cloud: market.AWS, Region: "us-west-2", Zone: "us-west-2a", InstanceType: "p3.2xlarge"}
	pools, od := recommend.PlanPools([]recommend.PoolCandidate{
		{Pool: k, PriceMean: 0.9, Hazard: h, OnDemand: 3.06},
		{Pool: k, PriceMean: 0, Hazard: h, OnDemand: 2.0}, // no price forecast: left out
		{Pool: k, PriceMean: 1.0, OnDemand: 3.0},          // no hazard forecast: left out
	})
	if len(pools) != 1 || pools[0].Price != 0.9 || od != 3.06 {
		t.Errorf("pools %+v, on demand %v", pools, od)
	}
}

// When a checkpoint does not fit in the notice, an interruption loses the
// work since the last periodic checkpoint; the safety net counts it, so
// the deadline still holds in every run.
func TestPlanLostWork(t *testing.T) {
	in := planInput(planPool("us-west-2a", 0.918, 0.5), planPool("us-west-2b", 0.918, 0.3))
	in.Deadline = 28 * time.Hour
	in.CheckpointCost = 5 * time.Minute
	res, err := recommend.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProbMeetsDeadline != 1 || res.ProbMeetsDeadlineSpotOnly >= 1 || res.ExpectedCostUSD >= res.OnDemandCostUSD {
		t.Errorf("P(meet) %v (spot only %v), cost %.2f vs on demand %.2f", res.ProbMeetsDeadline, res.ProbMeetsDeadlineSpotOnly, res.ExpectedCostUSD, res.OnDemandCostUSD)
	}
}
