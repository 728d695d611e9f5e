package launch

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// EC2 Fleet vocabulary (the CreateFleet API reference).
const (
	FleetTypeInstant  = "instant"
	FleetTypeRequest  = "request"
	FleetTypeMaintain = "maintain"

	// StrategyPriceCapacity: EC2 picks the lowest-priced pools among
	// those with the most spare capacity; priorities are ignored.
	StrategyPriceCapacity = "price-capacity-optimized"
	// StrategyCapacityPrioritized: EC2 picks pools by spare capacity and
	// honours the override priorities on a best-effort basis.
	StrategyCapacityPrioritized = "capacity-optimized-prioritized"

	// UnitGPUs counts target capacity in GPUs (each override weighs its
	// instance's usable GPUs); UnitInstances in instances (weight 1).
	UnitGPUs      = "gpus"
	UnitInstances = "instances"

	// DefaultLaunchTemplate names the launch template the request refers
	// to when the caller names none; the explanation says to replace it.
	DefaultLaunchTemplate = "spotcast-gpu"

	// CapMinSaving: a max price is written only when it bounds the
	// hourly price at least this share below the on-demand price, which
	// is what AWS caps spot at by default.
	CapMinSaving = 0.05
)

// CreateFleetRequest is the part of the EC2 CreateFleet request that
// spotcast fills, with the API's member names, so that its JSON is what
// `aws ec2 create-fleet --cli-input-json` reads.
type CreateFleetRequest struct {
	SpotOptions                 *SpotOptionsRequest    `json:"SpotOptions,omitempty"`
	LaunchTemplateConfigs       []LaunchTemplateConfig `json:"LaunchTemplateConfigs"`
	TargetCapacitySpecification TargetCapacity         `json:"TargetCapacitySpecification"`
	Type                        string                 `json:"Type"`
	// TagSpecifications tag the fleet (ResourceType "fleet"), e.g. with
	// the data the request rests on.
	TagSpecifications []TagSpecification `json:"TagSpecifications,omitempty"`
}

// TagSpecification is one CreateFleet TagSpecifications entry.
type TagSpecification struct {
	ResourceType string `json:"ResourceType"`
	Tags         []Tag  `json:"Tags"`
}

// Tag is an EC2 tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// SpotOptionsRequest is CreateFleet's SpotOptions.
type SpotOptionsRequest struct {
	AllocationStrategy     string                 `json:"AllocationStrategy"`
	MaintenanceStrategies  *MaintenanceStrategies `json:"MaintenanceStrategies,omitempty"`
	SingleAvailabilityZone bool                   `json:"SingleAvailabilityZone,omitempty"`
	MinTargetCapacity      int                    `json:"MinTargetCapacity,omitempty"`
}

// MaintenanceStrategies is SpotOptions.MaintenanceStrategies.
type MaintenanceStrategies struct {
	CapacityRebalance CapacityRebalance `json:"CapacityRebalance"`
}

// CapacityRebalance: launch a replacement when EC2 signals an elevated
// interruption risk (a rebalance recommendation).
type CapacityRebalance struct {
	ReplacementStrategy string `json:"ReplacementStrategy"`
	TerminationDelay    int    `json:"TerminationDelay,omitempty"`
}

// LaunchTemplateConfig is one LaunchTemplateConfigs entry.
type LaunchTemplateConfig struct {
	LaunchTemplateSpecification LaunchTemplateSpecification `json:"LaunchTemplateSpecification"`
	Overrides                   []FleetOverride             `json:"Overrides"`
}

// LaunchTemplateSpecification names the template by id or by name.
type LaunchTemplateSpecification struct {
	LaunchTemplateID   string `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateName string `json:"LaunchTemplateName,omitempty"`
	Version            string `json:"Version"`
}

// FleetOverride is one pool: instance type and zone (or subnet), its
// weight in capacity units, its priority (lower is preferred) and its max
// price when one helps.
type FleetOverride struct {
	InstanceType     string  `json:"InstanceType"`
	SubnetID         string  `json:"SubnetId,omitempty"`
	AvailabilityZone string  `json:"AvailabilityZone,omitempty"`
	WeightedCapacity float64 `json:"WeightedCapacity"`
	Priority         float64 `json:"Priority"`
	MaxPrice         string  `json:"MaxPrice,omitempty"`
}

// TargetCapacity is TargetCapacitySpecification.
type TargetCapacity struct {
	TotalTargetCapacity       int    `json:"TotalTargetCapacity"`
	DefaultTargetCapacityType string `json:"DefaultTargetCapacityType"`
}

// FleetInput asks for a CreateFleet request.
type FleetInput struct {
	// Workload is what Placement ranked the pools for (GPUs per node,
	// nodes, checkpoint cost).
	Workload  recommend.Workload
	Placement recommend.PlacementResult
	// Bids: the max-price recommendation per pool (optional); a pool's
	// MaxPrice is set only when its bid says a cap helps (CapHelps).
	Bids map[market.PoolKey]recommend.BidResult
	// Type: FleetTypeMaintain (default), FleetTypeRequest or FleetTypeInstant.
	Type string
	// Unit: UnitGPUs (default) or UnitInstances.
	Unit string
	// Strategy: "" chooses (see Fleet), or one of the two strategies.
	Strategy string
	// LaunchTemplateID or LaunchTemplateName (default
	// DefaultLaunchTemplate) and its Version (default "$Latest").
	LaunchTemplateID, LaunchTemplateName, LaunchTemplateVersion string
	// Subnets maps a zone to the subnet to launch in; zones without one
	// are named by AvailabilityZone.
	Subnets map[string]string
	Selection
}

// FleetPool explains one override.
type FleetPool struct {
	Pool                 market.PoolKey `json:"pool"`
	Priority             int            `json:"priority"`
	WeightedCapacity     float64        `json:"weighted_capacity"`
	CostPerUsefulGPUHour float64        `json:"cost_per_useful_gpu_hour"`
	PricePerUsefulGPUHr  float64        `json:"price_per_useful_gpu_hour"`
	HazardPerHour        float64        `json:"hazard_per_instance_hour"`
	MaxPrice             string         `json:"max_price,omitempty"`
	MaxPriceReason       string         `json:"max_price_reason"`
}

// FleetResult is the request and why it looks the way it does.
type FleetResult struct {
	// Request is the CreateFleet request document.
	Request            CreateFleetRequest    `json:"request"`
	Region             string                `json:"region"`
	AllocationStrategy string                `json:"allocation_strategy"`
	StrategyReason     string                `json:"strategy_reason"`
	TargetCapacityUnit string                `json:"target_capacity_unit"`
	Pools              []FleetPool           `json:"pools"`
	Explain            recommend.Explanation `json:"explain"`
}

// CapHelps says whether a max-price recommendation is worth writing into
// a launch request, and why. AWS caps spot at the on-demand price by
// default and interrupts an instance whose max price falls below the
// spot price, so a cap helps only when it bounds the price well below
// on-demand (by CapMinSaving) at no more risk than the bid's confidence,
// and sits at or above the current price.
func CapHelps(b recommend.BidResult) (bool, string) {
	switch {
	case b.MaxPrice <= 0:
		return false, "no max price recommended"
	case b.CappedAtOnDemand:
		return false, "the forecast needs the on-demand price for the wanted confidence, which is AWS's default cap already"
	case b.OnDemand <= 0:
		return false, "on-demand price unknown: cannot tell whether a cap bounds anything beyond AWS's default"
	case b.CurrentPrice > 0 && b.MaxPrice < b.CurrentPrice:
		return false, fmt.Sprintf("the recommended max price %.5f is below the current spot price %.5f: instances would not launch", b.MaxPrice, b.CurrentPrice)
	case b.MaxPrice > (1-CapMinSaving)*b.OnDemand:
		return false, fmt.Sprintf("the recommended max price %.5f is within %.0f%% of the on-demand price %.5f (AWS's default cap): no practical bound", b.MaxPrice, 100*CapMinSaving, b.OnDemand)
	}
	return true, fmt.Sprintf("caps the price at %.0f%% of on-demand; the forecast keeps the price under it with probability %.3f over the run", 100*b.MaxPrice/b.OnDemand, b.ProbStaysUnder)
}

// Fleet builds the CreateFleet request for the workload's ranked pools in
// one region (EC2 Fleet is regional: Selection.Region, or the best pool's):
// one override per pool, best expected cost per useful GPU-hour first
// with priority 1, 2, ...; weighted capacity = the GPUs of the instance
// the workload uses (UnitGPUs) or 1 (UnitInstances); the target = the
// workload's useful GPUs (or its instances).
//
// The allocation strategy, when not given: price-capacity-optimized (what
// AWS recommends) when the pool spotcast ranks first also has the lowest
// list price per useful GPU, since then EC2's own price-and-capacity choice
// agrees with the forecast; capacity-optimized-prioritized when the
// forecast reorders the pools (a cheaper pool's interruption overhead makes
// it dearer per useful GPU-hour), since only that strategy honours the
// priorities that carry spotcast's ranking. Maintain fleets get capacity
// rebalancing (launch-before-terminate, with a termination delay that
// leaves time to checkpoint); instant fleets of a multi-node job launch
// all nodes in one zone or none.
func Fleet(in FleetInput) (FleetResult, error) {
	typ := in.Type
	if typ == "" {
		typ = FleetTypeMaintain
	}
	if typ != FleetTypeInstant && typ != FleetTypeRequest && typ != FleetTypeMaintain {
		return FleetResult{}, &recommend.ParamError{Param: "type", Msg: fmt.Sprintf("fleet type must be %s, %s or %s, got %q", FleetTypeMaintain, FleetTypeRequest, FleetTypeInstant, in.Type)}
	}
	unit := in.Unit
	if unit == "" {
		unit = UnitGPUs
	}
	if unit != UnitGPUs && unit != UnitInstances {
		return FleetResult{}, &recommend.ParamError{Param: "unit", Msg: fmt.Sprintf("target capacity unit must be %s or %s, got %q", UnitGPUs, UnitInstances, in.Unit)}
	}
	if in.Strategy != "" && in.Strategy != StrategyPriceCapacity && in.Strategy != StrategyCapacityPrioritized {
		return FleetResult{}, &recommend.ParamError{Param: "strategy", Msg: fmt.Sprintf("allocation strategy must be %s or %s, got %q", StrategyPriceCapacity, StrategyCapacityPrioritized, in.Strategy)}
	}
	if in.LaunchTemplateID != "" && in.LaunchTemplateName != "" {
		return FleetResult{}, &recommend.ParamError{Param: "launch_template", Msg: "give the launch template's id or its name, not both"}
	}
	if in.Selection.MaxPools > 50 {
		return FleetResult{}, &recommend.ParamError{Param: "max_pools", Msg: fmt.Sprintf("at most 50 overrides per fleet request, got %d", in.Selection.MaxPools)}
	}
	pk, err := selectPools("EC2 Fleet", in.Placement, in.Selection, []string{market.AWS}, true)
	if err != nil {
		return FleetResult{}, err
	}
	g := max(in.Workload.GPUsPerNode, 1)
	nodes := max(in.Workload.Nodes, 1)
	pools := pk.pools
	notes := pk.notes
	if unit == UnitInstances {
		// Counting instances only means something when every pool's
		// instance carries the same number of useful GPUs.
		want := usefulPerInstance(pools[0], g)
		kept := pools[:0:0]
		var dropped []string
		for _, r := range pools {
			if usefulPerInstance(r, g) == want {
				kept = append(kept, r)
			} else {
				dropped = append(dropped, r.Pool.String())
			}
		}
		pools = kept
		if len(dropped) > 0 {
			notes = append(notes, fmt.Sprintf("capacity counted in instances: %d pools whose instances carry other than %d useful GPUs are left out (%s); count in GPUs to keep them", len(dropped), want, short(dropped)))
		}
	}

	res := FleetResult{Region: pk.region, TargetCapacityUnit: unit}
	strategy, reason := chooseStrategy(pools, g)
	if in.Strategy != "" {
		strategy, reason = in.Strategy, "chosen by the caller; "+reason
	}
	res.AllocationStrategy, res.StrategyReason = strategy, reason

	spec := LaunchTemplateSpecification{LaunchTemplateID: in.LaunchTemplateID, LaunchTemplateName: in.LaunchTemplateName, Version: in.LaunchTemplateVersion}
	if spec.LaunchTemplateID == "" && spec.LaunchTemplateName == "" {
		spec.LaunchTemplateName = DefaultLaunchTemplate
		notes = append(notes, fmt.Sprintf("the request names the launch template %q (AMI, key, security groups, GPU drivers): create it or pass your own", DefaultLaunchTemplate))
	}
	if spec.Version == "" {
		spec.Version = "$Latest"
	}
	cfg := LaunchTemplateConfig{LaunchTemplateSpecification: spec}
	caps := 0
	for i, r := range pools {
		w := 1.0
		if unit == UnitGPUs {
			w = float64(usefulPerInstance(r, g))
		}
		o := FleetOverride{InstanceType: r.InstanceType, WeightedCapacity: w, Priority: float64(i + 1)}
		if sub, ok := in.Subnets[r.Pool.Zone]; ok && sub != "" {
			o.SubnetID = sub
		} else {
			o.AvailabilityZone = r.Pool.Zone
		}
		fp := FleetPool{Pool: r.Pool, Priority: i + 1, WeightedCapacity: w, CostPerUsefulGPUHour: r.CostPerUsefulGPUHr,
			PricePerUsefulGPUHr: r.PriceUSDPerHour / float64(usefulPerInstance(r, g)), HazardPerHour: r.HazardPerHour,
			MaxPriceReason: "no bid recommendation given: AWS's default cap (the on-demand price) applies"}
		if b, ok := in.Bids[r.Pool]; ok {
			helps, why := CapHelps(b)
			fp.MaxPriceReason = why
			if helps {
				o.MaxPrice = strconv.FormatFloat(b.MaxPrice, 'f', 5, 64)
				fp.MaxPrice = o.MaxPrice
				caps++
			}
		}
		if r.Pool.Zone == "" {
			return FleetResult{}, &recommend.ParamError{Param: "placement", Msg: fmt.Sprintf("pool %s has no availability zone: EC2 Fleet overrides need one (rank per-zone pools)", r.Pool)}
		}
		cfg.Overrides = append(cfg.Overrides, o)
		res.Pools = append(res.Pools, fp)
	}
	target := g * nodes
	if unit == UnitInstances {
		per := usefulPerInstance(pools[0], g)
		target = (g*nodes + per - 1) / per
	}
	req := CreateFleetRequest{
		SpotOptions:                 &SpotOptionsRequest{AllocationStrategy: strategy},
		LaunchTemplateConfigs:       []LaunchTemplateConfig{cfg},
		TargetCapacitySpecification: TargetCapacity{TotalTargetCapacity: target, DefaultTargetCapacityType: "spot"},
		Type:                        typ,
	}
	switch typ {
	case FleetTypeMaintain:
		if nodes > 1 && len(zoneSet(pools)) > 1 {
			notes = append(notes, "a maintain fleet may place the nodes in several zones (EC2 keeps one zone only for instant fleets): for a synchronous multi-node job ask for an instant fleet, or see recommend.MultiNode for what spreading costs")
		}
		delay := terminationDelay(in.Workload.CheckpointCost)
		req.SpotOptions.MaintenanceStrategies = &MaintenanceStrategies{CapacityRebalance{ReplacementStrategy: "launch-before-terminate", TerminationDelay: delay}}
		notes = append(notes, fmt.Sprintf("maintain fleet: on a rebalance recommendation EC2 launches a replacement first and terminates the old instance %d s later, time to write a checkpoint", delay))
	case FleetTypeInstant:
		if nodes > 1 {
			req.SpotOptions.SingleAvailabilityZone = true
			req.SpotOptions.MinTargetCapacity = target
			notes = append(notes, "instant fleet for a multi-node job: all nodes in one zone, or none (MinTargetCapacity = target)")
		}
	}
	if caps == 0 {
		notes = append(notes, "no MaxPrice: no bid recommendation says a cap helps, so AWS's default (the on-demand price) applies")
	}
	res.Request = req
	res.Explain = recommend.Explanation{
		Inputs: map[string]any{
			"region": pk.region, "type": typ, "unit": unit, "gpus_per_node": g, "nodes": nodes,
			"pools": len(pools), "max_pools": in.Selection.MaxPools, "max_premium": in.Selection.MaxPremium,
		},
		Formula: "one override per pool of the region, in order of expected cost per useful GPU-hour (priority 1 = best); weighted capacity = useful GPUs per instance; target = GPUs per node x nodes",
		Notes:   notes,
	}
	return res, nil
}

// chooseStrategy compares spotcast's order with the list-price order.
func chooseStrategy(pools []recommend.PoolRank, g int) (string, string) {
	if len(pools) == 1 {
		return StrategyPriceCapacity, "one pool: the strategy only matters between pools; price-capacity-optimized is what AWS recommends"
	}
	perGPU := func(r recommend.PoolRank) float64 { return r.PriceUSDPerHour / float64(usefulPerInstance(r, g)) }
	cheapest := 0
	for i, r := range pools {
		if perGPU(r) < perGPU(pools[cheapest])*(1-1e-9) {
			cheapest = i
		}
	}
	if cheapest == 0 {
		return StrategyPriceCapacity, fmt.Sprintf("the pool spotcast ranks first (%s) also has the lowest list price per useful GPU (%.4f USD/h), so EC2's price-and-capacity choice agrees with the forecast", pools[0].Pool, perGPU(pools[0]))
	}
	c := pools[cheapest]
	return StrategyCapacityPrioritized, fmt.Sprintf("the forecast reorders the pools: %s has the lowest list price per useful GPU (%.4f USD/h) but its forecast interruptions (%.4f per hour, %.1f%% overhead) make it cost %.4f per useful GPU-hour against %.4f for %s; price-capacity-optimized would follow the list price, capacity-optimized-prioritized honours spotcast's priorities",
		c.Pool, perGPU(c), c.HazardPerHour, 100*c.OverheadRatio, c.CostPerUsefulGPUHr, pools[0].CostPerUsefulGPUHr, pools[0].Pool)
}

// terminationDelay: the checkpoint time plus a minute, within the
// 120-7200 s AWS allows for launch-before-terminate.
func terminationDelay(ck time.Duration) int {
	d := int(math.Ceil((ck + time.Minute).Seconds()))
	return min(max(d, 120), 7200)
}

func zoneSet(pools []recommend.PoolRank) map[string]bool {
	z := map[string]bool{}
	for _, r := range pools {
		z[r.Pool.Zone] = true
	}
	return z
}
