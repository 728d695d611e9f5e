package recommend

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// DefaultCommonShare is the share of a pool's interruptions that take
// every instance of the pool at once (the common shock of SurvivalN),
// estimated from the skypilot 4-node and 16-node AWS p3.2xlarge traces
// (TestCommonShareFromTraces): 0.18-0.49 in the three 4-node preemption
// traces, 0.68-0.87 in the three 16-node availability traces; the median
// of the six is 0.59. Nodes of one zone tend to go together.
const DefaultCommonShare = 0.6

// CommonShockFactor is how many times the per-instance interruption rate
// a job of n instances in one pool is interrupted at, when a share s of
// the pool's interruptions is a common shock that takes all instances and
// the rest hit instances independently (Marshall and Olkin 1967, "A
// multivariate exponential distribution", JASA 62(317)): s + n(1 - s).
// s = 0 gives n (independent), s = 1 gives 1 (they always go together).
func CommonShockFactor(n int, s float64) float64 {
	n = max(n, 1)
	return s + float64(n)*(1-s)
}

// DefaultPoolCapacity is how many instances one pool is taken to hold
// for one job when the caller does not say: 16, the largest block the
// skypilot traces requested in one zone (16 p3.2xlarge), which was fully
// available only 31-46% of the time. Spot Placement Scores for the
// target capacity are the better source where they exist.
const DefaultPoolCapacity = 16

// SurvivalN is the probability that all n instances of one pool run
// through a segment of length seg from start without an interruption,
// when a share s of the pool's interruptions takes every instance at
// once (a common shock) and the rest strike instances independently
// (Marshall and Olkin 1967): exp(-Λ (s + n(1 - s))), Λ being the
// integral of the per-instance hazard over the segment. n = 1 gives the
// single-instance figure exp(-Λ).
func SurvivalN(h Hazard, start time.Time, seg time.Duration, n int, s float64) float64 {
	rate, _, _ := h.Mean(start, seg)
	return math.Exp(-rate * seg.Hours() * CommonShockFactor(n, s))
}

// NodeStep is one observation step of a multi-node trace: nodes running
// at its start and how many of them were lost by its end.
type NodeStep struct {
	Running, Lost int
}

// EstimateCommonShare estimates the common-shock share s from multi-node
// observations. Over a short step, a node is lost with probability about
// λΔ and a given pair of nodes is lost together with probability about
// sλΔ (only a common shock takes both), so s is the rate of pair losses
// over the rate of node losses:
//
//	s = [Σ X(X-1) / Σ n(n-1)] / [Σ X / Σ n]
//
// over steps with n >= 2 running and X of them lost, clamped to [0, 1].
// Steps must be short against the time between interruptions, or
// independent losses in one step count as pairs.
func EstimateCommonShare(steps []NodeStep) (float64, error) {
	var pairs, pairExp, lost, exp float64
	for i, st := range steps {
		if st.Running < 0 || st.Lost < 0 || st.Lost > st.Running {
			return 0, paramErr("steps", fmt.Sprintf("step %d: %d lost of %d running", i, st.Lost, st.Running))
		}
		if st.Running < 2 {
			continue
		}
		x, n := float64(st.Lost), float64(st.Running)
		pairs += x * (x - 1)
		pairExp += n * (n - 1)
		lost += x
		exp += n
	}
	if lost == 0 {
		return 0, paramErr("steps", "no node was lost in a step with two or more running: the share cannot be estimated")
	}
	return math.Min(1, (pairs/pairExp)/(lost/exp)), nil
}

// MultiNodeInput asks where to put the N nodes of a synchronous job.
type MultiNodeInput struct {
	// Workload: Nodes, GPUsPerNode, RunLength, Start and the checkpoint
	// costs (as for Placement).
	Workload Workload
	// Candidates: the fitting pools, as Placement ranked them (their
	// price, GPUs per instance and mean hazard are used).
	Candidates []PoolRank
	// Capacity: instances each pool can hold for the job (missing or 0:
	// DefaultPoolCapacity).
	Capacity map[market.PoolKey]int
	// CommonShare: the common-shock share (nil: DefaultCommonShare).
	CommonShare *float64
	// Segment: the length whose survival is reported (0: one hour).
	Segment time.Duration
	// SpreadPenalty: the share of throughput a job loses when its nodes
	// span zones (cross-zone latency and bandwidth), in [0, 1); 0 leaves
	// it out.
	SpreadPenalty float64
}

// NodeAllocation is the part of a job in one pool.
type NodeAllocation struct {
	Pool         market.PoolKey `json:"pool"`
	InstanceType string         `json:"instance_type"`
	Instances    int            `json:"instances"`
	Nodes        int            `json:"nodes"`
}

// MultiNodeOption is one way to place the job, with its single-node and
// N-node figures side by side.
type MultiNodeOption struct {
	Kind       string           `json:"kind"` // "pack" (one pool) or "spread"
	Allocation []NodeAllocation `json:"allocation"`
	Zones      int              `json:"zones"`
	// JobHazardPerHour: interruptions of the whole job per hour.
	JobHazardPerHour float64 `json:"job_hazard_per_hour"`
	// ProbSingleNodeSurvives: one instance of the first pool over the
	// segment; ProbAllNodesSurvive: every instance of the job, with the
	// common shock; ProbAllNodesSurviveIndependent: the same if
	// interruptions were independent (s = 0).
	ProbSingleNodeSurvives         float64 `json:"prob_single_node_survives"`
	ProbAllNodesSurvive            float64 `json:"prob_all_nodes_survive"`
	ProbAllNodesSurviveIndependent float64 `json:"prob_all_nodes_survive_independent"`
	OverheadRatio                  float64 `json:"expected_overhead_ratio"`
	CheckpointIntervalSeconds      float64 `json:"checkpoint_interval_seconds"`
	// SingleNodeCostPerUsefulGPUHr: the first pool for a one-node job;
	// CostPerUsefulGPUHr: this placement for the whole job.
	SingleNodeCostPerUsefulGPUHr float64 `json:"single_node_cost_per_useful_gpu_hour"`
	CostPerUsefulGPUHr           float64 `json:"cost_per_useful_gpu_hour"`
	ExpectedRunCostUSD           float64 `json:"expected_run_cost_usd"`
}

// MultiNodeResult is the recommended placement and the best of the other
// kind for comparison.
type MultiNodeResult struct {
	Nodes          int              `json:"nodes"`
	UsefulGPUs     int              `json:"useful_gpus"`
	SegmentSeconds float64          `json:"segment_seconds"`
	CommonShare    float64          `json:"common_share"`
	Best           MultiNodeOption  `json:"best"`
	Pack           *MultiNodeOption `json:"pack,omitempty"`
	Spread         *MultiNodeOption `json:"spread,omitempty"`
	Explain        Explanation      `json:"explain"`
}

// MultiNode places the N nodes of a synchronous job, which stops when any
// node is lost, to minimise the expected cost per useful GPU-hour. The job
// is interrupted at Σ_pools λ_j (s + a_j (1 - s)) per hour for a_j
// instances in pool j (CommonShockFactor per pool; pools are independent
// of each other), its checkpoint overhead is Daly's at that rate (see
// Checkpoint), and it pays Σ a_j price_j. Packing all nodes into one pool
// exposes them to one common shock; spreading them adds one per pool
// (and, with SpreadPenalty, slower training), so spreading pays only when
// no single pool is cheap, calm or large enough. The options weighed: every
// pool that holds the whole job; filling pools in order of their cost per
// useful node-hour; and even splits over the 2-4 best pools of distinct
// zones.
func MultiNode(in MultiNodeInput) (MultiNodeResult, error) {
	w := in.Workload
	if err := w.validate(); err != nil {
		return MultiNodeResult{}, err
	}
	n := max(w.Nodes, 1)
	g := max(w.GPUsPerNode, 1)
	s := DefaultCommonShare
	if in.CommonShare != nil {
		s = *in.CommonShare
	}
	switch {
	case !(s >= 0 && s <= 1):
		return MultiNodeResult{}, paramErr("common_share", fmt.Sprintf("must be in [0, 1], got %v", s))
	case !(in.SpreadPenalty >= 0 && in.SpreadPenalty < 1):
		return MultiNodeResult{}, paramErr("spread_penalty", fmt.Sprintf("must be in [0, 1), got %v", in.SpreadPenalty))
	case in.Segment < 0:
		return MultiNodeResult{}, paramErr("segment", fmt.Sprintf("must not be negative, got %v", in.Segment))
	case n > 10000:
		return MultiNodeResult{}, paramErr("nodes", fmt.Sprintf("at most 10000, got %d", n))
	}
	if len(in.Candidates) == 0 {
		return MultiNodeResult{}, &ParamError{Param: "workload", Msg: "no candidate pool fits the workload", Err: ErrNoFit}
	}
	seg := in.Segment
	if seg == 0 {
		seg = time.Hour
	}
	type pool struct {
		r       PoolRank
		perInst int // nodes per instance
		cap     int
		single  float64 // cost per useful GPU-hour of one instance alone
	}
	var pools []pool
	total, largest := 0, 0
	for _, r := range in.Candidates {
		per := r.GPUsPerInstance / g
		if per < 1 || !(r.PriceUSDPerHour > 0) || r.HazardPerHour < 0 {
			continue
		}
		c := in.Capacity[r.Pool]
		if c <= 0 {
			c = DefaultPoolCapacity
		}
		pools = append(pools, pool{r: r, perInst: per, cap: c})
		total += c * per
		largest = max(largest, c*per)
	}
	if len(pools) == 0 {
		return MultiNodeResult{}, &ParamError{Param: "workload", Msg: fmt.Sprintf("no candidate has a price, a hazard and %d GPUs per node", g), Err: ErrNoFit}
	}
	if n > total {
		return MultiNodeResult{}, paramErr("nodes", fmt.Sprintf("%d nodes exceed the plausible capacity of every pool together (%d nodes over %d pools, at most %d in one); give capacities from placement scores or fewer nodes", n, total, len(pools), largest))
	}

	evaluate := func(kind string, alloc []int) (MultiNodeOption, error) {
		o := MultiNodeOption{Kind: kind}
		zones := map[string]bool{}
		price, rate, indep, nodes := 0.0, 0.0, 0.0, 0
		first := -1
		for j, a := range alloc {
			if a == 0 {
				continue
			}
			if first < 0 {
				first = j
			}
			p := pools[j]
			got := min(a*p.perInst, n-nodes)
			nodes += got
			o.Allocation = append(o.Allocation, NodeAllocation{Pool: p.r.Pool, InstanceType: p.r.InstanceType, Instances: a, Nodes: got})
			zones[p.r.Pool.Zone+"/"+p.r.Pool.Region] = true
			price += float64(a) * p.r.PriceUSDPerHour
			rate += p.r.HazardPerHour * CommonShockFactor(a, s)
			indep += p.r.HazardPerHour * float64(a)
		}
		o.Zones = len(zones)
		o.JobHazardPerHour = rate
		h := seg.Hours()
		o.ProbAllNodesSurvive = math.Exp(-rate * h)
		o.ProbAllNodesSurviveIndependent = math.Exp(-indep * h)
		fp := pools[first]
		o.ProbSingleNodeSurvives = math.Exp(-fp.r.HazardPerHour * h)
		ck, err := w.checkpointAt(rate)
		if err != nil {
			return o, err
		}
		o.OverheadRatio, o.CheckpointIntervalSeconds = ck.ExpectedOverheadRatio, ck.IntervalSeconds
		eff := 1.0
		if o.Zones > 1 {
			eff = 1 - in.SpreadPenalty
		}
		useful := float64(n*g) * eff
		o.CostPerUsefulGPUHr = price * (1 + o.OverheadRatio) / useful
		o.ExpectedRunCostUSD = o.CostPerUsefulGPUHr * float64(n*g) * w.RunLength.Hours()
		if sk, err := w.checkpointAt(fp.r.HazardPerHour); err == nil {
			o.SingleNodeCostPerUsefulGPUHr = fp.r.PriceUSDPerHour * (1 + sk.ExpectedOverheadRatio) / float64(fp.perInst*g)
		}
		return o, nil
	}
	var best, pack, spread *MultiNodeOption
	consider := func(kind string, alloc []int) error {
		o, err := evaluate(kind, alloc)
		if err != nil {
			return err
		}
		better := func(cur *MultiNodeOption) bool { return cur == nil || o.CostPerUsefulGPUHr < cur.CostPerUsefulGPUHr }
		if kind == "pack" && better(pack) {
			pack = &o
		}
		if kind == "spread" && better(spread) {
			spread = &o
		}
		if better(best) {
			best = &o
		}
		return nil
	}
	for j, p := range pools {
		need := (n + p.perInst - 1) / p.perInst
		if need <= p.cap {
			alloc := make([]int, len(pools))
			alloc[j] = need
			if err := consider("pack", alloc); err != nil {
				return MultiNodeResult{}, err
			}
		}
		if ck, err := w.checkpointAt(p.r.HazardPerHour); err == nil {
			pools[j].single = p.r.PriceUSDPerHour * (1 + ck.ExpectedOverheadRatio) / float64(p.perInst*g)
		} else {
			pools[j].single = math.Inf(1)
		}
	}
	order := make([]int, len(pools))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pools[order[a]].single < pools[order[b]].single })
	// Fill in order of cost per useful node-hour.
	alloc, left, used := make([]int, len(pools)), n, 0
	for _, j := range order {
		if left <= 0 {
			break
		}
		a := min(pools[j].cap, (left+pools[j].perInst-1)/pools[j].perInst)
		alloc[j] = a
		left -= a * pools[j].perInst
		used++
	}
	if used > 1 {
		if err := consider("spread", alloc); err != nil {
			return MultiNodeResult{}, err
		}
	}
	// Even splits over the best pools of distinct zones.
	var distinct []int
	seen := map[string]bool{}
	for _, j := range order {
		z := pools[j].r.Pool.Region + "/" + pools[j].r.Pool.Zone
		if !seen[z] {
			seen[z] = true
			distinct = append(distinct, j)
		}
	}
	for k := 2; k <= min(4, len(distinct), n); k++ {
		alloc := make([]int, len(pools))
		ok, left := true, n
		for i, j := range distinct[:k] {
			share := (left + (k - i) - 1) / (k - i) // nodes for this pool
			a := (share + pools[j].perInst - 1) / pools[j].perInst
			if a > pools[j].cap {
				ok = false
				break
			}
			alloc[j] = a
			left -= min(share, a*pools[j].perInst)
		}
		if ok && left <= 0 {
			if err := consider("spread", alloc); err != nil {
				return MultiNodeResult{}, err
			}
		}
	}
	if best == nil {
		return MultiNodeResult{}, paramErr("nodes", fmt.Sprintf("%d nodes cannot be placed within the pools' capacities", n))
	}
	res := MultiNodeResult{Nodes: n, UsefulGPUs: n * g, SegmentSeconds: seg.Seconds(), CommonShare: s, Best: *best, Pack: pack, Spread: spread}
	notes := []string{
		fmt.Sprintf("a share %.2f of a pool's interruptions takes all its instances at once (common shock); the rest strike instances independently", s),
		"one lost node stops the job: its interruption rate is the sum over pools of hazard x (s + instances x (1 - s))",
	}
	if pack == nil {
		notes = append(notes, fmt.Sprintf("no single pool holds %d nodes (largest: %d): the job must spread", n, largest))
	}
	res.Explain = Explanation{
		Inputs: map[string]any{"nodes": n, "gpus_per_node": g, "candidates": len(pools), "common_share": s,
			"segment_seconds": seg.Seconds(), "spread_penalty": in.SpreadPenalty, "default_pool_capacity": DefaultPoolCapacity},
		Formula: "P(all survive T) = exp(-Σ_j λ_j (s + a_j (1 - s)) T); cost per useful GPU-hour = Σ a_j price_j x (1 + Daly overhead at the job's rate) / (nodes x GPUs per node x (1 - spread penalty if several zones))",
		Notes:   notes,
	}
	return res, nil
}

// checkpointAt is the workload's checkpoint policy at a constant job
// interruption rate per hour.
func (w Workload) checkpointAt(rate float64) (CheckpointResult, error) {
	return Checkpoint(CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: w.NoticeWindow,
		MissedNoticeShare: w.MissedNoticeShare, Hazard: Hazard{{Start: w.Start, Rate: rate}}, Start: w.Start, RunLength: w.RunLength, Nodes: 1})
}
