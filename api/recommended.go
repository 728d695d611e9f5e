package api

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// RecommendedPools is how many of a workload's ranked pools the snapshot
// (and the exporter) keeps: the pools a fleet or a NodePool would list
// first, a bounded number of series per configured workload.
const RecommendedPools = 5

// Workload is a configured job whose recommended pools the exporter
// publishes.
type Workload struct {
	Name      string
	Placement engine.PlacementRequest
}

// SetWorkloads replaces the workloads the snapshot ranks pools for.
func (s *Service) SetWorkloads(ws []Workload) {
	w := append([]Workload(nil), ws...)
	s.workloads.Store(&w)
}

// Workloads returns the configured workloads.
func (s *Service) Workloads() []Workload {
	if w := s.workloads.Load(); w != nil {
		return *w
	}
	return nil
}

// RecommendedPool is one of a workload's best pools.
type RecommendedPool struct {
	Workload string `json:"workload"`
	Rank     int    `json:"rank"`
	recommend.PoolRank
}

// recommended ranks the pools of every configured workload (the engine's
// placement, from the persisted forecasts) and keeps the best few. A
// workload nothing fits is logged and left out; only a cancelled ctx
// fails.
func (s *Service) recommended(ctx context.Context) ([]RecommendedPool, error) {
	var out []RecommendedPool
	var week []market.PoolKey
	for _, w := range s.Workloads() {
		pl, err := s.eng.Placement(ctx, w.Placement)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s.log.Warn("recommended pools: no placement", "workload", w.Name, "err", err)
			continue
		}
		if w.Placement.RunLength > engine.PrecomputedHorizon {
			for _, r := range pl.Ranked {
				week = append(week, r.Pool)
			}
		}
		for i, r := range pl.Ranked[:min(RecommendedPools, len(pl.Ranked))] {
			out = append(out, RecommendedPool{Workload: w.Name, Rank: i + 1, PoolRank: r})
		}
	}
	s.weekPools.Store(&week)
	return out, nil
}

// WeekPools are the pools the configured workloads rank whose runs need
// price forecasts past the precomputed horizon (a 7-day job's max price):
// serve has the refit persist their week forecasts too, so the snapshot
// (and a request for the same workload) reads them instead of forecasting
// every candidate on demand.
func (s *Service) WeekPools() []market.PoolKey {
	if p := s.weekPools.Load(); p != nil {
		return *p
	}
	return nil
}

var recommendedDesc = prometheus.NewDesc("spotcast_recommended_pool_cost_usd_per_useful_gpu_hour",
	"Expected cost per useful GPU-hour of a configured workload's best pools (rank 1 is the best), forecast interruption overhead included.",
	append([]string{"workload", "rank", "gpus_per_instance"}, poolLabels...), nil)

// collectRecommended publishes the snapshot's recommended pools.
func collectRecommended(snap *Snapshot, ch chan<- prometheus.Metric) {
	for _, r := range snap.Recommended {
		p := r.Pool
		ch <- prometheus.MustNewConstMetric(recommendedDesc, prometheus.GaugeValue, r.CostPerUsefulGPUHr,
			r.Workload, strconv.Itoa(r.Rank), strconv.Itoa(r.GPUsPerInstance), p.Cloud, p.Region, p.Zone, p.InstanceType, p.Product, sourceLabel(r.Source))
	}
}
