package recommend

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// ErrNoFit: no candidate pool satisfies the workload; the *NoFitError
// says what comes closest.
var ErrNoFit = errors.New("no pool fits the workload")

// ErrUnknownInstanceType: neither the catalogue nor the built-in table
// knows the type's GPUs.
var ErrUnknownInstanceType = errors.New("unknown instance type")

// Diversification penalties: a pool sharing a zone (or a region-wide
// pool's region) with an already chosen pool costs this much more per
// shared pool when picking the diversified set, and one sharing an
// instance type this much. Interruptions in one zone or of one type tend
// to come together (capacity is reclaimed per zone and per type), so the
// set trades a little price for independence.
const (
	ZonePenalty = 0.15
	TypePenalty = 0.10
	// MaxSetPremium bounds what diversification may cost: a pool joins
	// the set only if its expected cost per useful GPU-hour is within
	// this share of the best pool's. Without it a set of K pays for the
	// K-th cheapest region; on the 2024-2026 daily GPU prices the set of
	// 3 cost 20-30% more than the cheapest pool (BacktestPlacement).
	MaxSetPremium = 0.10
)

// Workload is what a user wants to run.
type Workload struct {
	// GPUModel: wanted GPU ("A100", "L40S"), case-insensitive; "" any.
	GPUModel string
	// MinGPUMemoryGiB: memory each GPU must have (see WeightsGiB).
	MinGPUMemoryGiB float64
	// GPUsPerNode: GPUs one node of the job needs on one instance (0: 1).
	GPUsPerNode int
	// Nodes: nodes of the job (0: 1). All must run for the job to run.
	Nodes int
	// Regions allowed (empty: any).
	Regions []string
	// Start and RunLength: when and how long (compute time) the job runs.
	Start     time.Time
	RunLength time.Duration
	// Checkpointing, as in CheckpointInput.
	CheckpointCost    time.Duration
	RestartCost       time.Duration
	NoticeWindow      time.Duration
	MissedNoticeShare float64
	// K: size of the diversified set (0: 3).
	K int
}

// PoolCandidate is a pool with its forecasts over the run.
type PoolCandidate struct {
	Pool market.PoolKey
	// Type: the catalogue entry; a zero GPUCount is filled from the
	// built-in AWS table (market.BuiltinAWSGPUType).
	Type market.InstanceType
	// PriceMean, PriceLo, PriceHi: forecast spot price over the run, USD
	// per instance-hour: the mean, and a low and high quantile of it.
	PriceMean, PriceLo, PriceHi float64
	// Hazard: forecast interruption rate per instance-hour over the run.
	Hazard Hazard
	// OnDemand: the type's on-demand price in the region (0: unknown).
	OnDemand float64
	// Source of the forecasts' data ("aws-api", "simulated", ...).
	Source string
	// NoticeWindow is the warning the pool's cloud gives before an
	// interruption (0: the workload's).
	NoticeWindow time.Duration
	// Inputs say where each input of the pool's ranking came from; they
	// are passed through to its PoolRank.
	Inputs []InputSource
}

// InputSource says where one input of a pool's ranking came from.
type InputSource struct {
	// Input: "spot_price", "interruption_prior", "on_demand_price",
	// "gpu_type" or "notice_window".
	Input string `json:"input"`
	// Source names the data ("file:NAME", "aws-api", "aws-spot-feed",
	// "builtin:...", "assumed" for a stated default, "none" for a value
	// not known).
	Source string `json:"source"`
	// Time is the data time of the input: the newest point, row or
	// signal it rests on (zero: not dated).
	Time time.Time `json:"time,omitzero"`
	// Detail says how the input was made or what it is.
	Detail string `json:"detail,omitempty"`
}

// PoolRank is one pool's expected cost for the workload.
type PoolRank struct {
	Pool                market.PoolKey `json:"pool"`
	InstanceType        string         `json:"instance_type"`
	GPUModel            string         `json:"gpu_model"`
	GPUMemoryGiB        float64        `json:"gpu_memory_gib"`
	GPUsPerInstance     int            `json:"gpus_per_instance"`
	Instances           int            `json:"instances"`
	CatalogueSource     string         `json:"catalogue_source"`
	PriceUSDPerHour     float64        `json:"price_usd_per_hour"`
	PricePerGPUHour     float64        `json:"price_per_gpu_hour"`
	HazardPerHour       float64        `json:"hazard_per_instance_hour"`
	CheckpointInterval  float64        `json:"checkpoint_interval_seconds"`
	OverheadRatio       float64        `json:"expected_overhead_ratio"`
	OverheadRatioLo     float64        `json:"expected_overhead_ratio_lo"`
	OverheadRatioHi     float64        `json:"expected_overhead_ratio_hi"`
	CostPerUsefulGPUHr  float64        `json:"cost_per_useful_gpu_hour"`
	CostPerUsefulGPUHrL float64        `json:"cost_per_useful_gpu_hour_lo"`
	CostPerUsefulGPUHrH float64        `json:"cost_per_useful_gpu_hour_hi"`
	ExpectedRunCostUSD  float64        `json:"expected_run_cost_usd"`
	ExpectedWallSeconds float64        `json:"expected_wall_seconds"`
	// OnDemandCostPerUsefulGPUHr: the same type on demand (0: unknown).
	OnDemandCostPerUsefulGPUHr float64 `json:"on_demand_cost_per_useful_gpu_hour,omitempty"`
	SavingsVsOnDemand          float64 `json:"savings_vs_on_demand,omitempty"`
	Source                     string  `json:"source,omitempty"`
	// NoticeWindowSeconds is the interruption notice the checkpoint
	// policy assumed for the pool (its cloud's unless the workload set
	// one).
	NoticeWindowSeconds float64       `json:"notice_window_seconds"`
	Inputs              []InputSource `json:"inputs,omitempty"`
}

// OnDemandOption is the cheapest fitting on-demand alternative.
type OnDemandOption struct {
	Region             string  `json:"region"`
	InstanceType       string  `json:"instance_type"`
	Instances          int     `json:"instances"`
	PriceUSDPerHour    float64 `json:"price_usd_per_hour"`
	CostPerUsefulGPUHr float64 `json:"cost_per_useful_gpu_hour"`
	ExpectedRunCostUSD float64 `json:"expected_run_cost_usd"`
}

// Rejection says why a candidate pool was left out.
type Rejection struct {
	Pool   market.PoolKey `json:"pool"`
	Reason string         `json:"reason"`
}

// PlacementResult ranks the pools for a workload.
type PlacementResult struct {
	UsefulGPUs int `json:"useful_gpus"`
	// Ranked: every fitting pool, cheapest expected cost per useful
	// GPU-hour first.
	Ranked []PoolRank `json:"ranked"`
	// Diversified: K pools chosen greedily by cost with penalties for
	// sharing a zone or a type with pools already chosen.
	Diversified []PoolRank      `json:"diversified"`
	OnDemand    *OnDemandOption `json:"on_demand,omitempty"`
	Rejected    []Rejection     `json:"rejected,omitempty"`
	Explain     Explanation     `json:"explain"`
}

// TypeFit describes how close an instance type comes to a workload.
type TypeFit struct {
	InstanceType string  `json:"instance_type"`
	GPUModel     string  `json:"gpu_model"`
	GPUMemoryGiB float64 `json:"gpu_memory_gib"`
	GPUCount     int     `json:"gpu_count"`
	Missing      string  `json:"missing"`
}

// NoFitError is returned (wrapping ErrNoFit) when nothing fits.
type NoFitError struct {
	Need    string
	Closest []TypeFit
	// Rejected: candidates and why each was left out.
	Rejected []Rejection
}

func (e *NoFitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no pool offers %s", e.Need)
	if len(e.Closest) > 0 {
		b.WriteString("; closest:")
		for i, c := range e.Closest {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s (%s %.0f GiB x%d: %s)", c.InstanceType, c.GPUModel, c.GPUMemoryGiB, c.GPUCount, c.Missing)
		}
	}
	return b.String()
}

func (e *NoFitError) Unwrap() error { return ErrNoFit }

// WeightsGiB is the memory a model's weights take: parameters x bytes
// per parameter (2 for bf16/fp16, 1 for int8), in GiB. A 24B-parameter
// model in bf16 takes 44.7 GiB, so it needs a 48 GiB L40S (g6e) or
// larger, not a 24 GiB A10G. Training needs several times more
// (gradients, optimiser state, activations).
func WeightsGiB(params, bytesPerParam float64) float64 {
	return params * bytesPerParam / (1 << 30)
}

// ResolveType returns the GPU description of an instance type of any
// cloud: the stored catalogue entry when it names its GPUs, else the
// built-in table of the cloud (market.BuiltinGPUType). A catalogue row
// that counts GPUs but names no model (ec2instances.info's CSV) gives way
// to the built-in entry, whose Source says so; without one it is
// returned as it is (it still serves a workload asking for any GPU).
func ResolveType(cloud, name string, stored *market.InstanceType) (market.InstanceType, error) {
	if stored != nil && stored.GPUCount > 0 && stored.GPUModel != "" {
		return *stored, nil
	}
	if t, ok := market.BuiltinGPUType(cloud, name); ok {
		if stored != nil && stored.GPUCount > 0 {
			t.Source += fmt.Sprintf(" (catalogue %s counts %d GPUs but names no model)", stored.Source, stored.GPUCount)
		}
		return t, nil
	}
	if stored != nil && stored.GPUCount > 0 {
		return *stored, nil
	}
	if stored != nil && stored.Name != "" {
		return market.InstanceType{}, fmt.Errorf("instance type %q has no GPUs in the catalogue: %w", name, ErrUnknownInstanceType)
	}
	hint := ""
	if fam, ok := market.AWSGPUFamily(name); ok {
		var sizes []string
		for _, t := range market.BuiltinAWSGPUTypes() {
			if market.InstanceFamily(t.Name) == fam.Family {
				sizes = append(sizes, t.Name)
			}
		}
		hint = "; known sizes of " + fam.Family + ": " + strings.Join(sizes, ", ")
	}
	return market.InstanceType{}, fmt.Errorf("instance type %q is not in the catalogue or the built-in GPU table%s: %w", name, hint, ErrUnknownInstanceType)
}

func (w Workload) need() string {
	var parts []string
	g := max(w.GPUsPerNode, 1)
	model := "GPU"
	if w.GPUModel != "" {
		model = w.GPUModel
	}
	parts = append(parts, fmt.Sprintf("%d x %s per instance", g, model))
	if w.MinGPUMemoryGiB > 0 {
		parts = append(parts, fmt.Sprintf("at least %.1f GiB per GPU", w.MinGPUMemoryGiB))
	}
	if len(w.Regions) > 0 {
		parts = append(parts, "in "+strings.Join(w.Regions, ", "))
	}
	return strings.Join(parts, ", ")
}

// missing says what the type lacks for the workload ("" if it fits).
func (w Workload) missing(t market.InstanceType) string {
	var m []string
	if w.GPUModel != "" && !strings.EqualFold(t.GPUModel, w.GPUModel) {
		m = append(m, fmt.Sprintf("GPU is %s, not %s", t.GPUModel, w.GPUModel))
	}
	if t.GPUMemoryGiB < w.MinGPUMemoryGiB {
		m = append(m, fmt.Sprintf("%.0f GiB per GPU, need %.1f", t.GPUMemoryGiB, w.MinGPUMemoryGiB))
	}
	if g := max(w.GPUsPerNode, 1); t.GPUCount < g {
		m = append(m, fmt.Sprintf("%d GPUs per instance, need %d", t.GPUCount, g))
	}
	return strings.Join(m, "; ")
}

func (w Workload) regionAllowed(region string) bool {
	if len(w.Regions) == 0 {
		return true
	}
	for _, r := range w.Regions {
		if r == region {
			return true
		}
	}
	return false
}

func (w Workload) validate() error {
	switch {
	case w.RunLength <= 0:
		return fmt.Errorf("run length must be positive, got %v: %w", w.RunLength, ErrInvalidInput)
	case w.GPUsPerNode < 0 || w.Nodes < 0 || w.K < 0:
		return fmt.Errorf("GPUs per node (%d), nodes (%d) and K (%d) must not be negative: %w", w.GPUsPerNode, w.Nodes, w.K, ErrInvalidInput)
	case math.IsNaN(w.MinGPUMemoryGiB) || math.IsInf(w.MinGPUMemoryGiB, 0) || w.MinGPUMemoryGiB < 0:
		return fmt.Errorf("minimum GPU memory must be a finite non-negative number, got %v: %w", w.MinGPUMemoryGiB, ErrInvalidInput)
	}
	// Checkpoint inputs are checked by Checkpoint, with their own messages.
	_, err := normalizeCheckpoint(CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost,
		NoticeWindow: w.NoticeWindow, MissedNoticeShare: w.MissedNoticeShare, MTBF: time.Hour, RunLength: w.RunLength})
	return err
}

// Placement ranks candidate pools for a workload by expected cost per
// useful GPU-hour: the forecast mean price per GPU over the run, times
// one plus the expected checkpoint/restart overhead under the pool's
// forecast hazard (Daly 2006, see Checkpoint), for the instances the
// workload needs. The interval combines the price's low (high) quantile
// with the hazard's low (high) bound. It then picks a diversified set of
// K pools, greedily by cost with ZonePenalty and TypePenalty per shared
// zone or type, the way EC2 Fleet's price-capacity-optimized allocation
// weighs price against the capacity (interruption risk) of each pool.
func Placement(w Workload, cands []PoolCandidate) (PlacementResult, error) {
	if err := w.validate(); err != nil {
		return PlacementResult{}, err
	}
	g := max(w.GPUsPerNode, 1)
	nodes := max(w.Nodes, 1)
	k := w.K
	if k == 0 {
		k = 3
	}
	res := PlacementResult{UsefulGPUs: g * nodes}
	if len(cands) == 0 {
		return res, &NoFitError{Need: w.need(), Closest: closestTypes(w, nil)}
	}
	var seenTypes []market.InstanceType
	hours := w.RunLength.Hours()
	for _, c := range cands {
		reject := func(format string, a ...any) {
			res.Rejected = append(res.Rejected, Rejection{Pool: c.Pool, Reason: fmt.Sprintf(format, a...)})
		}
		if !w.regionAllowed(c.Pool.Region) {
			reject("region %s not allowed", c.Pool.Region)
			continue
		}
		var stored *market.InstanceType
		if c.Type.Name != "" || c.Type.GPUCount > 0 {
			stored = &c.Type
		}
		typ, err := ResolveType(c.Pool.Cloud, c.Pool.InstanceType, stored)
		if err != nil {
			reject("%v", err)
			continue
		}
		if typ.Name == "" {
			typ.Name = c.Pool.InstanceType
		}
		seenTypes = append(seenTypes, typ)
		if m := w.missing(typ); m != "" {
			reject("%s", m)
			continue
		}
		if !(c.PriceMean > 0) || math.IsInf(c.PriceMean, 0) {
			reject("no usable price forecast (mean %v)", c.PriceMean)
			continue
		}
		lo, hi := c.PriceLo, c.PriceHi
		if !(lo > 0 && lo <= c.PriceMean) {
			lo = c.PriceMean
		}
		if !(hi >= c.PriceMean) || math.IsInf(hi, 0) {
			hi = c.PriceMean
		}
		if len(c.Hazard) == 0 {
			reject("no interruption hazard forecast")
			continue
		}
		perInstance := typ.GPUCount / g
		instances := (nodes + perInstance - 1) / perInstance
		notice := w.NoticeWindow
		if c.NoticeWindow > 0 {
			notice = c.NoticeWindow
		}
		ck, err := Checkpoint(CheckpointInput{
			CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: notice,
			MissedNoticeShare: w.MissedNoticeShare, Hazard: c.Hazard, Start: w.Start, RunLength: w.RunLength, Nodes: instances,
		})
		if err != nil {
			reject("checkpoint model: %v", err)
			continue
		}
		useful := float64(g * nodes)
		r := PoolRank{
			Pool: c.Pool, InstanceType: typ.Name, GPUModel: typ.GPUModel, GPUMemoryGiB: typ.GPUMemoryGiB,
			GPUsPerInstance: typ.GPUCount, Instances: instances, CatalogueSource: typ.Source,
			PriceUSDPerHour: c.PriceMean, PricePerGPUHour: c.PriceMean / float64(typ.GPUCount),
			HazardPerHour:      hazardMean(c.Hazard, w.Start, w.RunLength),
			CheckpointInterval: ck.IntervalSeconds,
			OverheadRatio:      ck.ExpectedOverheadRatio, OverheadRatioLo: ck.ExpectedOverheadRatioLo, OverheadRatioHi: ck.ExpectedOverheadRatioHi,
			CostPerUsefulGPUHr:  float64(instances) * c.PriceMean / useful * (1 + ck.ExpectedOverheadRatio),
			CostPerUsefulGPUHrL: float64(instances) * lo / useful * (1 + ck.ExpectedOverheadRatioLo),
			CostPerUsefulGPUHrH: float64(instances) * hi / useful * (1 + ck.ExpectedOverheadRatioHi),
			ExpectedWallSeconds: ck.ExpectedWallSeconds,
			Source:              c.Source,
			NoticeWindowSeconds: notice.Seconds(),
			Inputs:              c.Inputs,
		}
		r.ExpectedRunCostUSD = r.CostPerUsefulGPUHr * useful * hours
		if c.OnDemand > 0 {
			r.OnDemandCostPerUsefulGPUHr = float64(instances) * c.OnDemand / useful
			r.SavingsVsOnDemand = 1 - r.CostPerUsefulGPUHr/r.OnDemandCostPerUsefulGPUHr
			if res.OnDemand == nil || r.OnDemandCostPerUsefulGPUHr < res.OnDemand.CostPerUsefulGPUHr {
				res.OnDemand = &OnDemandOption{
					Region: c.Pool.Region, InstanceType: typ.Name, Instances: instances, PriceUSDPerHour: c.OnDemand,
					CostPerUsefulGPUHr: r.OnDemandCostPerUsefulGPUHr, ExpectedRunCostUSD: float64(instances) * c.OnDemand * hours,
				}
			}
		}
		res.Ranked = append(res.Ranked, r)
	}
	if len(res.Ranked) == 0 {
		return res, &NoFitError{Need: w.need(), Closest: closestTypes(w, seenTypes), Rejected: res.Rejected}
	}
	sort.SliceStable(res.Ranked, func(i, j int) bool {
		a, b := res.Ranked[i], res.Ranked[j]
		if a.CostPerUsefulGPUHr != b.CostPerUsefulGPUHr {
			return a.CostPerUsefulGPUHr < b.CostPerUsefulGPUHr
		}
		return a.Pool.String() < b.Pool.String()
	})
	res.Diversified = diversify(res.Ranked, k)

	notes := []string{
		fmt.Sprintf("%d of %d candidate pools fit (%s)", len(res.Ranked), len(cands), w.need()),
		"cost per useful GPU-hour = instances x forecast mean price / useful GPUs x (1 + expected overhead); the interval pairs the price's low/high quantile with the hazard's low/high bound",
		"the diversified set is for a fleet request or fallbacks: pools in different zones and of different types are less likely to be interrupted together; a synchronous multi-node job should still keep its nodes in one zone",
	}
	if len(res.Diversified) < k {
		notes = append(notes, fmt.Sprintf("only %d fitting pools within %.0f%% of the best expected cost for a set of %d", len(res.Diversified), 100*MaxSetPremium, k))
	}
	if res.OnDemand == nil {
		notes = append(notes, "no on-demand price known for the fitting types: no on-demand alternative shown")
	}
	res.Explain = Explanation{
		Inputs: map[string]any{
			"gpu_model":               w.GPUModel,
			"min_gpu_memory_gib":      w.MinGPUMemoryGiB,
			"gpus_per_node":           g,
			"nodes":                   nodes,
			"regions":                 w.Regions,
			"run_length_seconds":      w.RunLength.Seconds(),
			"checkpoint_cost_seconds": w.CheckpointCost.Seconds(),
			"restart_cost_seconds":    w.RestartCost.Seconds(),
			"notice_window_seconds":   w.NoticeWindow.Seconds(),
			"missed_notice_share":     w.MissedNoticeShare,
			"k":                       k,
			"candidates":              len(cands),
			"zone_penalty":            ZonePenalty,
			"type_penalty":            TypePenalty,
			"max_set_premium":         MaxSetPremium,
		},
		Formula: "rank by instances x mean price / (GPUs per node x nodes) x (1 + Daly overhead at the pool's hazard x instances); diversify greedily by cost x (1 + 0.15 per chosen pool in the same zone + 0.10 per chosen pool of the same type), each within 10% of the best pool's cost",
		Notes:   notes,
	}
	return res, nil
}

// diversify picks up to k pools greedily: at each step the pool with the
// lowest cost x (1 + ZonePenalty x pools chosen in its zone + TypePenalty x
// pools chosen of its type), among those within MaxSetPremium of the first
// (cheapest) pool's cost.
func diversify(ranked []PoolRank, k int) []PoolRank {
	chosen := []PoolRank{}
	used := make([]bool, len(ranked))
	zones, types := map[string]int{}, map[string]int{}
	loc := func(p market.PoolKey) string {
		if p.Zone != "" {
			return p.Zone
		}
		return p.Region
	}
	for len(chosen) < k {
		best, bestScore := -1, math.Inf(1)
		for i, r := range ranked {
			if used[i] || (len(chosen) > 0 && r.CostPerUsefulGPUHr > chosen[0].CostPerUsefulGPUHr*(1+MaxSetPremium)) {
				continue
			}
			s := r.CostPerUsefulGPUHr * (1 + ZonePenalty*float64(zones[loc(r.Pool)]) + TypePenalty*float64(types[r.InstanceType]))
			if s < bestScore {
				best, bestScore = i, s
			}
		}
		if best < 0 {
			break
		}
		used[best] = true
		chosen = append(chosen, ranked[best])
		zones[loc(ranked[best].Pool)]++
		types[ranked[best].InstanceType]++
	}
	return chosen
}

// closestTypes ranks the types seen (or, with none, the built-in AWS GPU
// table) by how little they miss the workload: the wanted GPU model
// first, then the smallest memory shortfall, then the smallest GPU-count
// shortfall.
func closestTypes(w Workload, seen []market.InstanceType) []TypeFit {
	pool := seen
	if len(pool) == 0 {
		pool = market.BuiltinAWSGPUTypes()
	}
	g := max(w.GPUsPerNode, 1)
	type scored struct {
		t                    market.InstanceType
		modelMiss            bool
		memShort, countShort float64
	}
	var ss []scored
	dup := map[string]bool{}
	for _, t := range pool {
		if dup[t.Name] || t.GPUCount == 0 {
			continue
		}
		dup[t.Name] = true
		ss = append(ss, scored{
			t:          t,
			modelMiss:  w.GPUModel != "" && !strings.EqualFold(t.GPUModel, w.GPUModel),
			memShort:   math.Max(0, w.MinGPUMemoryGiB-t.GPUMemoryGiB),
			countShort: math.Max(0, float64(g-t.GPUCount)),
		})
	}
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.modelMiss != b.modelMiss {
			return !a.modelMiss
		}
		if a.memShort != b.memShort {
			return a.memShort < b.memShort
		}
		if a.countShort != b.countShort {
			return a.countShort < b.countShort
		}
		if a.t.GPUCount != b.t.GPUCount {
			return a.t.GPUCount < b.t.GPUCount
		}
		return a.t.Name < b.t.Name
	})
	var out []TypeFit
	for _, s := range ss[:min(3, len(ss))] {
		m := w.missing(s.t)
		if m == "" {
			m = "fits, but none of its pools could be used (see the rejected list)"
		}
		out = append(out, TypeFit{InstanceType: s.t.Name, GPUModel: s.t.GPUModel, GPUMemoryGiB: s.t.GPUMemoryGiB, GPUCount: s.t.GPUCount, Missing: m})
	}
	return out
}

func hazardMean(h Hazard, start time.Time, d time.Duration) float64 {
	r, _, _ := h.Mean(start, d)
	return r
}
