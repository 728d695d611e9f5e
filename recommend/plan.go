package recommend

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// ErrDeadlineInfeasible: the deadline cannot be met even on demand from
// the start; the *DeadlineError says the shortest feasible deadline.
var ErrDeadlineInfeasible = errors.New("deadline cannot be met")

// DeadlineError is returned (wrapping ErrDeadlineInfeasible and
// ErrInvalidInput) when even on-demand capacity from the start misses the
// deadline.
type DeadlineError struct {
	Deadline, MinFeasible time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("deadline: %v cannot be met even on demand from the start; the minimum feasible deadline is %v (the compute plus one start-up)", e.Deadline, e.MinFeasible)
}

func (e *DeadlineError) Unwrap() []error { return []error{ErrDeadlineInfeasible, ErrInvalidInput} }

// Plan defaults and bounds (a request must not buy unbounded CPU).
const (
	DefaultPlanStep  = 5 * time.Minute
	DefaultPlanRuns  = 1000
	MaxPlanRuns      = 20000
	MaxPlanTicks     = 50000
	MaxPlanPools     = 32
	MaxPlanDeadline  = 90 * 24 * time.Hour
	maxScheduleSteps = 96
	// DefaultMeanOutage is how long a pool stays unusable after an
	// interruption when the caller does not say: the mean length of the
	// unavailable spells in the skypilot AWS p3.2xlarge availability
	// traces (2022-10 and 2023-02, 11 zone-traces, 2,190 spells) is
	// 1.74 h (TestMeanOutageFromTraces).
	DefaultMeanOutage = 105 * time.Minute
)

// PlanPool is a spot pool the plan may run on, with its forecasts.
type PlanPool struct {
	Pool market.PoolKey `json:"pool"`
	// Price: forecast mean spot price, USD per instance-hour.
	Price float64 `json:"price_usd_per_hour"`
	// Hazard: forecast interruptions per instance-hour.
	Hazard Hazard `json:"-"`
	// MeanOutage: how long the pool stays unusable after an interruption
	// (0: DefaultMeanOutage). Only the Monte Carlo uses it.
	MeanOutage time.Duration `json:"mean_outage_seconds,omitempty"`
}

// PlanInput is a job with a deadline.
type PlanInput struct {
	// Compute C: the job's compute time without interruptions.
	Compute time.Duration
	// Deadline D: from Start, when the job must be done.
	Deadline time.Duration
	Start    time.Time
	// CheckpointCost, RestartCost (the changeover delay d of Wu et al.),
	// NoticeWindow and MissedNoticeShare as in CheckpointInput.
	CheckpointCost    time.Duration
	RestartCost       time.Duration
	NoticeWindow      time.Duration
	MissedNoticeShare float64
	// Pools: the spot pools to choose from (none: on demand only).
	Pools []PlanPool
	// OnDemand: USD per instance-hour of the on-demand fallback.
	OnDemand float64
	// Instances the job runs on, all stopped when one is interrupted (0:
	// 1), and the common-shock share of their interruptions (see
	// SurvivalN; nil: DefaultCommonShare).
	Instances   int
	CommonShare *float64
	// Step: the decision interval (0: DefaultPlanStep); Runs of the Monte
	// Carlo (0: DefaultPlanRuns) and its Seed.
	Step time.Duration
	Runs int
	Seed uint64
}

// PlanStep is one row of the schedule: what the policy does around that
// time, and how often the Monte Carlo found the job in each state.
type PlanStep struct {
	Start       time.Time `json:"start"`
	OffsetHours float64   `json:"offset_hours"`
	// TargetProgressHours: the uniform-progress line C·t/D.
	TargetProgressHours float64 `json:"target_progress_hours"`
	// Action: the most likely state: "spot", "wait", "on-demand" or "done".
	Action string `json:"action"`
	// Pool: the spot pool the forecast prefers at this time (the one the
	// policy starts on when several are available).
	Pool              *market.PoolKey `json:"pool,omitempty"`
	PoolHazardPerHour float64         `json:"pool_hazard_per_hour,omitempty"`
	ProbSpot          float64         `json:"prob_spot"`
	ProbOnDemand      float64         `json:"prob_on_demand"`
	ProbWait          float64         `json:"prob_wait"`
	ProbDone          float64         `json:"prob_done"`
}

// PlanResult is the deadline plan.
type PlanResult struct {
	ComputeHours  float64 `json:"compute_hours"`
	DeadlineHours float64 `json:"deadline_hours"`
	// ExpectedCostUSD: mean cost of the policy over the Monte Carlo runs;
	// Lo and Hi its 10% and 90% quantiles.
	ExpectedCostUSD   float64 `json:"expected_cost_usd"`
	CostP10USD        float64 `json:"cost_p10_usd"`
	CostP90USD        float64 `json:"cost_p90_usd"`
	OnDemandCostUSD   float64 `json:"on_demand_cost_usd"`
	GreedyCostUSD     float64 `json:"greedy_spot_cost_usd"`
	SavingsVsOnDemand float64 `json:"savings_vs_on_demand"`
	ProbMeetsDeadline float64 `json:"prob_meets_deadline"`
	// ProbMeetsDeadlineSpotOnly: the same runs without the on-demand
	// fallback: what the fallback buys.
	ProbMeetsDeadlineSpotOnly float64 `json:"prob_meets_deadline_spot_only"`
	ExpectedFinishHours       float64 `json:"expected_finish_hours"`
	ExpectedSpotHours         float64 `json:"expected_spot_hours"`
	ExpectedOnDemandHours     float64 `json:"expected_on_demand_hours"`
	// LatestOnDemandStart: starting on demand later than this misses the
	// deadline even without interruptions (D - C - d).
	LatestOnDemandStart time.Time   `json:"latest_on_demand_start"`
	Runs                int         `json:"runs"`
	Seed                uint64      `json:"seed"`
	Schedule            []PlanStep  `json:"schedule"`
	Explain             Explanation `json:"explain"`
}

// Outcome is one run of a policy.
type Outcome struct {
	CostUSD       float64 `json:"cost_usd"`
	FinishHours   float64 `json:"finish_hours"`
	MetDeadline   bool    `json:"met_deadline"`
	SpotHours     float64 `json:"spot_hours"`
	OnDemandHours float64 `json:"on_demand_hours"`
	Changeovers   int     `json:"changeovers"`
}

// Policies a plan compares.
type policy int

const (
	uniformProgress policy = iota // Wu et al.'s Uniform Progress with the forecast
	greedySpot                    // spot when available, wait, on demand at the last moment
	spotOnly                      // spot when available, never on demand
)

type mode int

const (
	idle mode = iota
	onSpot
	onDemand
)

// planner holds a validated input in hours.
type planner struct {
	in                          PlanInput
	c, d, delta, step, deadline float64
	inst                        float64
	factor                      float64 // job interruption rate / per-instance rate
	share                       float64 // common-shock share
	emergency                   bool
	q                           float64
	ticks                       int
	// per pool: spot rate of progress (periodic checkpoints), checkpoint
	// interval τ (hours, +Inf: none), job rate per tick, effective cost.
	rate, tau []float64
	lambda    [][]float64 // [pool][tick] job interruptions per hour
	eff       [][]float64 // [pool][tick] forecast USD per useful hour
	outage    []float64
	// anySpot: some pool's forecast cost beats on demand at some time;
	// without one the plan runs on demand from the start.
	anySpot bool
}

func newPlanner(in PlanInput) (*planner, error) {
	switch {
	case in.Compute <= 0:
		return nil, paramErr("compute", fmt.Sprintf("must be positive, got %v", in.Compute))
	case in.Deadline <= 0:
		return nil, paramErr("deadline", fmt.Sprintf("must be positive, got %v", in.Deadline))
	case in.Deadline > MaxPlanDeadline:
		return nil, paramErr("deadline", fmt.Sprintf("at most %v, got %v", MaxPlanDeadline, in.Deadline))
	case !(in.OnDemand > 0) || math.IsInf(in.OnDemand, 0):
		return nil, paramErr("on_demand", fmt.Sprintf("the on-demand price is the fallback and must be positive, got %v", in.OnDemand))
	case in.CheckpointCost <= 0:
		return nil, paramErr("checkpoint_cost", fmt.Sprintf("must be positive, got %v", in.CheckpointCost))
	case in.RestartCost < 0 || in.NoticeWindow < 0:
		return nil, paramErr("restart_cost", fmt.Sprintf("restart cost (%v) and notice window (%v) must not be negative", in.RestartCost, in.NoticeWindow))
	case !(in.MissedNoticeShare >= 0 && in.MissedNoticeShare <= 1):
		return nil, paramErr("missed_notice_share", fmt.Sprintf("must be in [0, 1], got %v", in.MissedNoticeShare))
	case in.Instances < 0:
		return nil, paramErr("instances", fmt.Sprintf("must not be negative, got %d", in.Instances))
	case in.CommonShare != nil && !(*in.CommonShare >= 0 && *in.CommonShare <= 1):
		return nil, paramErr("common_share", fmt.Sprintf("must be in [0, 1], got %v", *in.CommonShare))
	case in.Runs < 0 || in.Runs > MaxPlanRuns:
		return nil, paramErr("runs", fmt.Sprintf("must be in [0, %d], got %d", MaxPlanRuns, in.Runs))
	case in.Step < 0 || (in.Step > 0 && in.Step < 10*time.Second):
		return nil, paramErr("step", fmt.Sprintf("at least 10 s, got %v", in.Step))
	case len(in.Pools) > MaxPlanPools:
		return nil, paramErr("pools", fmt.Sprintf("at most %d pools, got %d", MaxPlanPools, len(in.Pools)))
	}
	if need := in.Compute + in.RestartCost; in.Deadline < need {
		return nil, &DeadlineError{Deadline: in.Deadline, MinFeasible: need}
	}
	if in.Step == 0 {
		in.Step = DefaultPlanStep
	}
	if in.Runs == 0 {
		in.Runs = DefaultPlanRuns
	}
	if in.Instances == 0 {
		in.Instances = 1
	}
	share := DefaultCommonShare
	if in.CommonShare != nil {
		share = *in.CommonShare
	}
	p := &planner{
		in: in, c: in.Compute.Hours(), d: in.RestartCost.Hours(), delta: in.CheckpointCost.Hours(),
		step: in.Step.Hours(), deadline: in.Deadline.Hours(), inst: float64(in.Instances),
		factor:    CommonShockFactor(in.Instances, share),
		share:     share,
		emergency: in.NoticeWindow > 0 && in.CheckpointCost <= in.NoticeWindow,
		q:         in.MissedNoticeShare,
	}
	// Simulate past the deadline far enough for any policy to finish on
	// demand after missing it.
	p.ticks = int(math.Ceil((p.deadline+p.c+2*p.d+2*p.delta)/p.step)) + 1
	if p.ticks > MaxPlanTicks {
		return nil, paramErr("step", fmt.Sprintf("%v over a %v deadline makes %d decision steps, more than %d: use a longer step", in.Step, in.Deadline, p.ticks, MaxPlanTicks))
	}
	for i, pl := range in.Pools {
		if !(pl.Price > 0) || math.IsInf(pl.Price, 0) {
			return nil, paramErr("pools", fmt.Sprintf("pool %d (%s): price must be positive, got %v", i, pl.Pool, pl.Price))
		}
		if err := pl.Hazard.validate(); err != nil {
			return nil, paramErr("pools", fmt.Sprintf("pool %d (%s): %v", i, pl.Pool, err))
		}
		if pl.MeanOutage < 0 {
			return nil, paramErr("pools", fmt.Sprintf("pool %d (%s): mean outage must not be negative", i, pl.Pool))
		}
		p.addPool(pl)
	}
	return p, nil
}

// addPool works out a pool's checkpointing and its forecast per tick.
func (p *planner) addPool(pl PlanPool) {
	mean, _, _ := pl.Hazard.Mean(p.in.Start, p.in.Deadline)
	qEff := 1.0
	if p.emergency {
		qEff = p.q
	}
	loss := mean * p.factor * qEff // work-losing interruptions per hour
	tau, rate := math.Inf(1), 1.0
	if loss > 0 {
		tau = DalyInterval(p.delta*3600, 3600/loss) / 3600
		rate = tau / (tau + p.delta)
	}
	lam := make([]float64, p.ticks)
	eff := make([]float64, p.ticks)
	for k := range lam {
		lam[k] = pl.Hazard.RateAt(p.in.Start.Add(time.Duration(float64(k)*p.step*float64(time.Hour)))) * p.factor
		// First-order overhead per useful hour: each interruption costs a
		// restart and, when the notice is missed, half an interval of
		// lost work; periodic checkpoints cost δ per τ.
		lost := 0.0
		if !math.IsInf(tau, 1) {
			lost = qEff * tau / 2
		}
		eff[k] = pl.Price * (1 + lam[k]*(p.d+lost)) / rate
		if eff[k] < p.in.OnDemand {
			p.anySpot = true
		}
	}
	out := pl.MeanOutage.Hours()
	if out == 0 {
		out = DefaultMeanOutage.Hours()
	}
	p.rate = append(p.rate, rate)
	p.tau = append(p.tau, tau)
	p.lambda = append(p.lambda, lam)
	p.eff = append(p.eff, eff)
	p.outage = append(p.outage, out)
}

// bestPool is the available pool with the lowest forecast cost per useful
// hour at tick k, if it beats on demand (-1: none).
func (p *planner) bestPool(k int, avail func(i, k int) bool) int {
	best := -1
	kk := min(k, p.ticks-1)
	for i := range p.eff {
		if !avail(i, k) || p.eff[i][kk] >= p.in.OnDemand {
			continue
		}
		if best < 0 || p.eff[i][kk] < p.eff[best][kk] {
			best = i
		}
	}
	return best
}

// run plays one policy over one availability path. avail(i, k) says
// whether pool i can run the job during tick k; rng draws the missed
// notices; visit, when not nil, sees the state at the start of each tick.
func (p *planner) run(pol policy, avail func(i, k int) bool, rng *rand.Rand, visit func(k int, m mode, done bool)) Outcome {
	var o Outcome
	t, prog, w, restart := 0.0, 0.0, 0.0, 0.0
	m, pool := idle, -1
	forced := false
	margin := 2*p.d + p.delta + p.step // the safety net: two changeovers, a checkpoint, a step
	for k := 0; ; k++ {
		if prog >= p.c-1e-12 {
			if visit != nil {
				for ; k < p.ticks; k++ {
					visit(k, idle, true)
				}
			}
			break
		}
		if pol == spotOnly && t >= p.deadline-1e-12 {
			o.FinishHours = math.Inf(1)
			return o
		}
		if k >= 4*p.ticks { // cannot happen for the policies with a fallback
			o.FinishHours = math.Inf(1)
			return o
		}
		// An interruption: the work since the last checkpoint is lost
		// unless the notice was caught and a checkpoint fits in it.
		if m == onSpot && !avail(pool, k) {
			if !p.emergency || rng.Float64() < p.q {
				prog -= w
			}
			w, restart, m, pool = 0, 0, idle, -1
		}
		rem, left := p.c-prog, p.deadline-t
		want, wantPool := m, pool
		// On spot, the work since the last checkpoint may be lost too,
		// unless every notice is caught in time to checkpoint.
		risk := w
		if p.emergency && p.q == 0 {
			risk = 0
		}
		if pol != spotOnly && !forced && m != onDemand && left-rem < margin+risk {
			forced = true // the safety net: on demand until the end
		}
		switch {
		case forced || (pol != spotOnly && !p.anySpot):
			want = onDemand
		case m == onSpot:
			// Exploitation: stay on spot until interrupted.
		case pol == uniformProgress && m == onDemand:
			// Hysteresis: stay on demand until ahead of the line by 2d.
			if prog >= p.c*(t+2*p.d)/p.deadline {
				if b := p.bestPool(k, avail); b >= 0 {
					want, wantPool = onSpot, b
				} else {
					want = idle
				}
			}
		default:
			if b := p.bestPool(k, avail); b >= 0 {
				want, wantPool = onSpot, b
			} else if pol == uniformProgress && prog < p.c*t/p.deadline {
				want = onDemand
			} else {
				want = idle
			}
		}
		if want != m || wantPool != pool {
			switch {
			case want == idle:
				if m == onDemand { // checkpoint before stopping
					o.CostUSD += p.in.OnDemand * p.inst * p.delta
				}
				restart = 0
			case m == idle:
				restart = p.d
			default: // a running instance checkpoints, then the other starts
				restart = p.delta + p.d
			}
			if want != idle {
				o.Changeovers++
			}
			if m == onSpot && want != onSpot {
				w = 0
			}
			m, pool = want, wantPool
			if m != onSpot {
				pool = -1
			}
		}
		if visit != nil && k < p.ticks {
			visit(k, m, false)
		}
		dt := p.step
		if m != idle {
			price, r := p.in.OnDemand, 1.0
			if m == onSpot {
				price, r = p.in.Pools[pool].Price, p.rate[pool]
			}
			used := dt
			if restart > 0 {
				u := math.Min(restart, dt)
				restart -= u
				dt -= u
			}
			if dt > 0 {
				if gain := dt * r; prog+gain >= p.c {
					need := (p.c - prog) / r
					used -= dt - need
					prog = p.c
					o.FinishHours = t + used
				} else {
					prog += gain
					if m == onSpot {
						w += gain
						if tau := p.tau[pool]; !math.IsInf(tau, 1) {
							w = math.Mod(w, tau) // a periodic checkpoint every τ of compute
						}
					}
				}
			}
			o.CostUSD += price * p.inst * used
			if m == onSpot {
				o.SpotHours += used
			} else {
				o.OnDemandHours += used
			}
		}
		t += p.step
		if prog >= p.c && o.FinishHours == 0 {
			o.FinishHours = t
		}
	}
	o.MetDeadline = o.FinishHours <= p.deadline+1e-9
	return o
}

// onDemandOutcome: on demand from the start (one start-up, then C).
func (p *planner) onDemandOutcome() Outcome {
	h := p.c + p.d
	return Outcome{CostUSD: p.in.OnDemand * p.inst * h, FinishHours: h, MetDeadline: h <= p.deadline+1e-9, OnDemandHours: h, Changeovers: 1}
}

// markov draws one availability path per pool: an available pool becomes
// unusable at the job's forecast interruption rate, an unusable one
// recovers at 1 / mean outage, starting from the stationary share.
func (p *planner) markov(rng *rand.Rand, paths [][]bool) {
	for i := range paths {
		lam, mu := p.lambda[i], 1/p.outage[i]
		up := rng.Float64() < mu/(lam[0]+mu)
		for k := range paths[i] {
			paths[i][k] = up
			if up {
				up = rng.Float64() >= -math.Expm1(-lam[min(k, p.ticks-1)]*p.step)
			} else {
				up = rng.Float64() < -math.Expm1(-mu*p.step)
			}
		}
	}
}

// Plan answers: when to run a job of C hours of compute on spot, when to
// wait and when to switch to on demand so that it ends by its deadline D,
// what that is expected to cost and how likely the deadline holds.
//
// The policy is Uniform Progress (Wu, Chiang, Mao, Yang, Friedman, Shenker
// and Stoica, "Can't Be Late: Optimizing Spot Instance Savings under
// Deadlines", NSDI 2024, §5): with the target progress C·t/D, (1) when no
// spot is available and the job is behind the target, run on demand; (2)
// take spot whenever it is available and stay on it until interrupted;
// (3) once on demand, stay until ahead of the target at t + 2d (d the
// changeover delay, here the restart cost); (4) the safety net: when the
// time left minus the work left falls under 2d (plus a checkpoint and a
// decision step), run on demand to the end. spotcast adds the forecast:
// among the available pools the job starts on the one with the lowest
// forecast cost per useful hour (price x (1 + hazard x (restart + expected
// lost work)) / checkpoint efficiency), a pool whose forecast cost is not
// below on demand counts as unavailable, and the checkpoint interval on
// spot is Daly's for the pool's forecast hazard.
//
// Expected cost and the probability of meeting the deadline come from a
// seeded Monte Carlo over the forecast: each pool's availability is a
// two-state Markov chain whose failure rate is the forecast hazard (times
// the common-shock factor of a multi-instance job) and whose recovery rate
// is 1 / MeanOutage. The same paths give the greedy policy (spot when
// available, else wait until the safety net) and spot without a fallback,
// for comparison. Always-on-demand costs (C + d) x the on-demand price.
func Plan(in PlanInput) (PlanResult, error) {
	p, err := newPlanner(in)
	if err != nil {
		return PlanResult{}, err
	}
	in = p.in
	rng := rand.New(rand.NewPCG(in.Seed, 0x5eed0f5ca5))
	paths := make([][]bool, len(in.Pools))
	for i := range paths {
		paths[i] = make([]bool, p.ticks)
	}
	avail := func(i, k int) bool { return k < p.ticks && paths[i][k] }

	// Schedule rows: evenly spaced decision steps from the start to the
	// deadline, the deadline itself last.
	kD := int(math.Round(p.deadline / p.step))
	every := max(1, int(math.Ceil(float64(kD)/maxScheduleSteps)))
	var rowTicks []int
	for k := 0; k < kD; k += every {
		rowTicks = append(rowTicks, k)
	}
	rowTicks = append(rowTicks, kD)
	rowOf := make([]int, p.ticks)
	for k := range rowOf {
		rowOf[k] = -1
	}
	for r, k := range rowTicks {
		if k < p.ticks {
			rowOf[k] = r
		}
	}
	counts := make([][4]float64, len(rowTicks))
	visit := func(k int, m mode, done bool) {
		if k >= p.ticks || rowOf[k] < 0 {
			return
		}
		s := 3
		if !done {
			s = int(m)
		}
		counts[rowOf[k]][s]++
	}

	od := p.onDemandOutcome()
	costs := make([]float64, in.Runs)
	var met, metSpot float64
	var res PlanResult
	var greedy float64
	for r := range in.Runs {
		p.markov(rng, paths)
		o := p.run(uniformProgress, avail, rng, visit)
		costs[r] = o.CostUSD
		res.ExpectedCostUSD += o.CostUSD
		res.ExpectedFinishHours += o.FinishHours
		res.ExpectedSpotHours += o.SpotHours
		res.ExpectedOnDemandHours += o.OnDemandHours
		if o.MetDeadline {
			met++
		}
		greedy += p.run(greedySpot, avail, rng, nil).CostUSD
		if p.anySpot && p.run(spotOnly, avail, rng, nil).MetDeadline {
			metSpot++
		}
	}
	n := float64(in.Runs)
	res.ExpectedCostUSD /= n
	res.ExpectedFinishHours /= n
	res.ExpectedSpotHours /= n
	res.ExpectedOnDemandHours /= n
	res.GreedyCostUSD = greedy / n
	res.ProbMeetsDeadline = met / n
	res.ProbMeetsDeadlineSpotOnly = metSpot / n
	sort.Float64s(costs)
	res.CostP10USD = costs[int(0.1*(n-1))]
	res.CostP90USD = costs[int(0.9*(n-1))]
	res.OnDemandCostUSD = od.CostUSD
	res.SavingsVsOnDemand = 1 - res.ExpectedCostUSD/od.CostUSD
	res.ComputeHours, res.DeadlineHours = p.c, p.deadline
	res.LatestOnDemandStart = in.Start.Add(in.Deadline - in.Compute - in.RestartCost)
	res.Runs, res.Seed = in.Runs, in.Seed

	names := [4]string{"wait", "spot", "on-demand", "done"}
	for row, k := range rowTicks {
		off := float64(k) * p.step
		c := counts[row]
		st := PlanStep{Start: in.Start.Add(time.Duration(k) * in.Step), OffsetHours: off, // whole steps: no float rounding in the times
			TargetProgressHours: p.c * math.Min(off/p.deadline, 1),
			ProbWait:            c[0] / n, ProbSpot: c[1] / n, ProbOnDemand: c[2] / n, ProbDone: c[3] / n}
		best := 0
		for s := 1; s < 4; s++ {
			if c[s] > c[best] {
				best = s
			}
		}
		st.Action = names[best]
		if b := p.bestPool(k, func(int, int) bool { return true }); b >= 0 {
			pk := in.Pools[b].Pool
			st.Pool, st.PoolHazardPerHour = &pk, p.lambda[b][min(k, p.ticks-1)]
		}
		res.Schedule = append(res.Schedule, st)
	}

	notes := []string{
		"the schedule's probabilities are the shares of Monte Carlo runs in each state at that time: the policy reacts to the interruptions that happen, so the plan is its rules, not a fixed timetable",
		fmt.Sprintf("on demand started after %s misses the deadline even without interruptions", res.LatestOnDemandStart.Format(time.RFC3339)),
	}
	if !p.anySpot {
		notes = append(notes, "no spot pool's forecast cost per useful hour beats on demand: the plan runs on demand from the start")
	}
	if res.ProbMeetsDeadline < 1 {
		notes = append(notes, "some runs missed the deadline: the decision step or the changeovers leave too little slack; shorten the step or lengthen the deadline")
	}
	if in.Instances > 1 {
		notes = append(notes, fmt.Sprintf("%d instances: the job's interruption rate is %.2f x the per-instance rate (common-shock share %.2f)", in.Instances, p.factor, p.share))
	}
	res.Explain = Explanation{
		Inputs: map[string]any{
			"compute_seconds": in.Compute.Seconds(), "deadline_seconds": in.Deadline.Seconds(),
			"checkpoint_cost_seconds": in.CheckpointCost.Seconds(), "restart_cost_seconds": in.RestartCost.Seconds(),
			"notice_window_seconds": in.NoticeWindow.Seconds(), "missed_notice_share": in.MissedNoticeShare,
			"on_demand_usd_per_hour": in.OnDemand, "pools": len(in.Pools), "instances": in.Instances, "common_share": p.share,
			"step_seconds": in.Step.Seconds(), "runs": in.Runs, "seed": in.Seed,
		},
		Formula: "Uniform Progress (Wu et al., NSDI 2024): target C·t/D; spot whenever available (the forecast's cheapest pool per useful hour); on demand when idle and behind; stay on demand until ahead of C·(t+2d)/D; on demand to the end when time left - work left < 2d + checkpoint + step. Monte Carlo over two-state availability paths with the forecast hazard",
		Notes:   notes,
	}
	return res, nil
}

// ReplayResult is one replay of the policies over observed availability.
type ReplayResult struct {
	UniformProgress Outcome `json:"uniform_progress"`
	Greedy          Outcome `json:"greedy"`
	SpotOnly        Outcome `json:"spot_only"`
	OnDemand        Outcome `json:"on_demand"`
}

// ReplayPlan plays Plan's policy, the greedy policy and spot without a
// fallback over observed availability instead of the Monte Carlo paths:
// avail(i, k) says whether pool i could run the job during the k-th
// decision step (in.Step long) from the start. The forecasts in in.Pools
// still choose between available pools; rng draws the missed notices.
func ReplayPlan(in PlanInput, avail func(i, k int) bool, seed uint64) (ReplayResult, error) {
	p, err := newPlanner(in)
	if err != nil {
		return ReplayResult{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed0f5ca5))
	return ReplayResult{
		UniformProgress: p.run(uniformProgress, avail, rng, nil),
		Greedy:          p.run(greedySpot, avail, rng, nil),
		SpotOnly:        p.run(spotOnly, avail, rng, nil),
		OnDemand:        p.onDemandOutcome(),
	}, nil
}

// PlanPools turns placement candidates (forecast price and hazard per
// pool, as ForecastCandidate builds them) into the plan's pool set, and
// returns the lowest on-demand price among them (0: none known) for
// PlanInput.OnDemand.
func PlanPools(cands []PoolCandidate) ([]PlanPool, float64) {
	var out []PlanPool
	od := 0.0
	for _, c := range cands {
		if !(c.PriceMean > 0) || len(c.Hazard) == 0 {
			continue
		}
		out = append(out, PlanPool{Pool: c.Pool, Price: c.PriceMean, Hazard: c.Hazard})
		if c.OnDemand > 0 && (od == 0 || c.OnDemand < od) {
			od = c.OnDemand
		}
	}
	return out, od
}
