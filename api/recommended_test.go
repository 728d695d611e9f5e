package api

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
)

// TestRecommendedPoolsMetric: the exporter publishes each configured
// workload's best pools, rank 1 being the placement's first, and nothing
// for a workload nothing fits; the metric passes the linter.
func TestRecommendedPoolsMetric(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, sharedSimStore(t))
	v100 := engine.PlacementRequest{GPUModel: "V100"}
	svc.SetWorkloads([]Workload{{Name: "train", Placement: v100}, {Name: "none fits", Placement: engine.PlacementRequest{GPUModel: "Z9000"}}})
	snap, err := svc.UpdateSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := svc.Placement(ctx, v100)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Recommended) != min(RecommendedPools, len(pl.Ranked)) {
		t.Fatalf("%d recommended pools, want %d", len(snap.Recommended), min(RecommendedPools, len(pl.Ranked)))
	}
	c := NewCollector(svc)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	// The snapshot ranks as the placement does (the same pool first, the
	// same cost up to float summation order); the metric carries its value.
	best := snap.Recommended[0].PoolRank
	if best.Pool != pl.Ranked[0].Pool || math.Abs(best.CostPerUsefulGPUHr-pl.Ranked[0].CostPerUsefulGPUHr) > 1e-9*best.CostPerUsefulGPUHr {
		t.Errorf("snapshot's best %s at %v, placement's %s at %v", best.Pool, best.CostPerUsefulGPUHr, pl.Ranked[0].Pool, pl.Ranked[0].CostPerUsefulGPUHr)
	}
	p := best.Pool
	want := fmt.Sprintf(`# HELP spotcast_recommended_pool_cost_usd_per_useful_gpu_hour %s
# TYPE spotcast_recommended_pool_cost_usd_per_useful_gpu_hour gauge
spotcast_recommended_pool_cost_usd_per_useful_gpu_hour{cloud=%q,gpus_per_instance="%d",instance_type=%q,product=%q,rank="1",region=%q,source=%q,workload="train",zone=%q} %v
`, "Expected cost per useful GPU-hour of a configured workload's best pools (rank 1 is the best), forecast interruption overhead included.",
		p.Cloud, best.GPUsPerInstance, p.InstanceType, p.Product, p.Region, sourceLabel(best.Source), p.Zone, best.CostPerUsefulGPUHr)
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var rank1 []string
	for _, mf := range got {
		if mf.GetName() != "spotcast_recommended_pool_cost_usd_per_useful_gpu_hour" {
			continue
		}
		if len(mf.Metric) != len(snap.Recommended) {
			t.Errorf("%d series, want %d", len(mf.Metric), len(snap.Recommended))
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "workload" && l.GetValue() != "train" {
					t.Errorf("series for workload %q", l.GetValue())
				}
				if l.GetName() == "rank" && l.GetValue() == "1" {
					rank1 = append(rank1, m.String())
				}
			}
		}
	}
	if len(rank1) != 1 {
		t.Fatalf("rank-1 series: %v", rank1)
	}
	// Compare only the rank-1 series: a filtered registry holds it alone.
	one := prometheus.NewRegistry()
	one.MustRegister(rankOne{svc})
	if err := testutil.GatherAndCompare(one, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(c, "spotcast_recommended_pool_cost_usd_per_useful_gpu_hour")
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

// rankOne collects the snapshot's rank-1 recommended pools.
type rankOne struct{ svc *Service }

func (r rankOne) Describe(ch chan<- *prometheus.Desc) { ch <- recommendedDesc }

func (r rankOne) Collect(ch chan<- prometheus.Metric) {
	s := *r.svc.Snapshot()
	s.Recommended = s.Recommended[:1]
	collectRecommended(&s, ch)
}

// The snapshot names the pools a workload longer than the precomputed
// horizon ranks (serve has the refit persist their week forecasts); a
// one-day workload names none.
func TestWeekPoolsOfLongWorkloads(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, sharedSimStore(t))
	day := engine.PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}
	week := engine.PlacementRequest{GPUModel: "V100", RunLength: 7 * 24 * time.Hour}
	svc.SetWorkloads([]Workload{{Name: "day", Placement: day}})
	if _, err := svc.UpdateSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if got := svc.WeekPools(); len(got) != 0 {
		t.Errorf("a one-day workload names %d week pools", len(got))
	}
	svc.SetWorkloads([]Workload{{Name: "day", Placement: day}, {Name: "week", Placement: week}})
	if _, err := svc.UpdateSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	pl, err := svc.Placement(ctx, week)
	if err != nil {
		t.Fatal(err)
	}
	var want []market.PoolKey
	for _, r := range pl.Ranked {
		want = append(want, r.Pool)
	}
	if got := svc.WeekPools(); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("week pools %v, want the week workload's ranked pools %v", got, want)
	}
}
