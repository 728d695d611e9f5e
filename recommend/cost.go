package recommend

import (
	"fmt"
	"math"
	"time"
)

// HoursPerMonth is the average month (8,760 h / 12), as cloud bills use.
const HoursPerMonth = 730.0

// CostInput describes a workload's fleet for cost monitoring.
type CostInput struct {
	// SpotPrice: forecast mean spot price, USD per instance-hour.
	SpotPrice float64
	// OnDemand: the type's on-demand price, USD per instance-hour.
	OnDemand float64
	// Instances running the workload (0: 1).
	Instances int
	// UsefulGPUs: GPUs the workload uses (0: no per-GPU figure).
	UsefulGPUs int
	// OverheadRatio: expected overhead on spot (CheckpointResult's
	// ExpectedOverheadRatio or PoolRank's OverheadRatio).
	OverheadRatio float64
	// Utilisation: share of the month the fleet runs, (0, 1] (0: 1).
	Utilisation float64
	// EpochTime: compute time of one training epoch without
	// interruptions (0: no per-epoch figures).
	EpochTime time.Duration
}

// CostResult is a workload's projected cost.
type CostResult struct {
	// MonthlySpotUSD: what the fleet costs on spot in a month.
	MonthlySpotUSD float64 `json:"monthly_spot_usd"`
	// MonthlyOnDemandUSD: what the same useful work costs on demand (no
	// interruptions, so fewer hours).
	MonthlyOnDemandUSD float64 `json:"monthly_on_demand_usd,omitempty"`
	MonthlySavingsUSD  float64 `json:"monthly_savings_usd,omitempty"`
	SavingsRatio       float64 `json:"savings_ratio,omitempty"`
	// UsefulHoursPerMonth: compute hours the fleet delivers after
	// checkpoints, lost work and restarts.
	UsefulHoursPerMonth float64 `json:"useful_hours_per_month"`
	// EffectiveCostPerUsefulHour: USD per instance-hour of useful compute.
	EffectiveCostPerUsefulHour float64 `json:"effective_cost_per_useful_hour"`
	CostPerUsefulGPUHour       float64 `json:"cost_per_useful_gpu_hour,omitempty"`
	// Per training epoch, when EpochTime is given.
	CostPerEpochUSD         float64     `json:"cost_per_epoch_usd,omitempty"`
	CostPerEpochOnDemandUSD float64     `json:"cost_per_epoch_on_demand_usd,omitempty"`
	EpochsPerMonth          float64     `json:"epochs_per_month,omitempty"`
	Explain                 Explanation `json:"explain"`
}

// Cost projects a workload's monthly cost on spot and its savings against
// running the same work on demand, and the effective cost per unit of
// work: an hour of spot wall time delivers 1/(1 + overhead) hours of
// compute, so a unit of work costs price x (1 + overhead) on spot and the
// on-demand price on demand.
func Cost(in CostInput) (CostResult, error) {
	for name, v := range map[string]float64{"spot price": in.SpotPrice, "on-demand price": in.OnDemand, "overhead ratio": in.OverheadRatio, "utilisation": in.Utilisation} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return CostResult{}, fmt.Errorf("%s must be a finite non-negative number, got %v: %w", name, v, ErrInvalidInput)
		}
	}
	if in.SpotPrice == 0 {
		return CostResult{}, fmt.Errorf("spot price must be positive: %w", ErrInvalidInput)
	}
	if in.Utilisation > 1 {
		return CostResult{}, fmt.Errorf("utilisation must be in (0, 1], got %v: %w", in.Utilisation, ErrInvalidInput)
	}
	if in.Instances < 0 || in.UsefulGPUs < 0 || in.EpochTime < 0 {
		return CostResult{}, fmt.Errorf("instances (%d), useful GPUs (%d) and epoch time (%v) must not be negative: %w", in.Instances, in.UsefulGPUs, in.EpochTime, ErrInvalidInput)
	}
	n := float64(max(in.Instances, 1))
	u := in.Utilisation
	if u == 0 {
		u = 1
	}
	wall := HoursPerMonth * u
	useful := wall / (1 + in.OverheadRatio)
	res := CostResult{
		MonthlySpotUSD:             n * in.SpotPrice * wall,
		UsefulHoursPerMonth:        useful,
		EffectiveCostPerUsefulHour: in.SpotPrice * (1 + in.OverheadRatio),
	}
	notes := []string{fmt.Sprintf("%.0f h of wall time a month deliver %.0f h of compute after the expected overhead of %.1f%%", wall, useful, 100*in.OverheadRatio)}
	if in.OnDemand > 0 {
		res.MonthlyOnDemandUSD = n * in.OnDemand * useful
		res.MonthlySavingsUSD = res.MonthlyOnDemandUSD - res.MonthlySpotUSD
		res.SavingsRatio = res.MonthlySavingsUSD / res.MonthlyOnDemandUSD
		if res.MonthlySavingsUSD < 0 {
			notes = append(notes, "spot costs more than on-demand for this work once the overhead is counted: run on demand")
		}
	} else {
		notes = append(notes, "on-demand price unknown: no savings figure")
	}
	if in.UsefulGPUs > 0 {
		res.CostPerUsefulGPUHour = n * res.EffectiveCostPerUsefulHour / float64(in.UsefulGPUs)
	}
	if in.EpochTime > 0 {
		e := in.EpochTime.Hours()
		res.CostPerEpochUSD = n * in.SpotPrice * e * (1 + in.OverheadRatio)
		res.CostPerEpochOnDemandUSD = n * in.OnDemand * e
		res.EpochsPerMonth = useful / e
	}
	res.Explain = Explanation{
		Inputs: map[string]any{
			"spot_price_usd_per_hour": in.SpotPrice,
			"on_demand_usd_per_hour":  in.OnDemand,
			"instances":               int(n),
			"useful_gpus":             in.UsefulGPUs,
			"expected_overhead_ratio": in.OverheadRatio,
			"utilisation":             u,
			"epoch_time_seconds":      in.EpochTime.Seconds(),
			"hours_per_month":         HoursPerMonth,
		},
		Formula: "monthly spot = instances x price x 730 h x utilisation; useful hours = wall / (1 + overhead); monthly on-demand = instances x on-demand x useful hours; cost per epoch = instances x price x epoch time x (1 + overhead)",
		Notes:   notes,
	}
	return res, nil
}
