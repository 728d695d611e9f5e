package recommend

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Notice windows: how long before reclaiming an instance each cloud warns.
const (
	NoticeAWS   = 120 * time.Second
	NoticeGCP   = 30 * time.Second
	NoticeAzure = 30 * time.Second
)

// ErrNoProgress: with these costs and this hazard a job spends (almost)
// all its time checkpointing and restarting; there is no useful interval.
var ErrNoProgress = errors.New("job cannot make progress")

// maxScheduleLen bounds the checkpoint schedule a recommendation lists.
const maxScheduleLen = 10000

// Explanation says what a recommendation was computed from and how.
type Explanation struct {
	Inputs  map[string]any `json:"inputs"`
	Formula string         `json:"formula"`
	Notes   []string       `json:"notes,omitempty"`
}

// CheckpointInput describes a job and the hazard it runs under.
type CheckpointInput struct {
	// CheckpointCost δ: wall time to write one checkpoint.
	CheckpointCost time.Duration
	// RestartCost R: wall time from an interruption to computing again
	// (new instance, restore).
	RestartCost time.Duration
	// NoticeWindow W: the warning before the instance goes (NoticeAWS,
	// NoticeGCP, NoticeAzure); 0 when the job does not react to notices.
	NoticeWindow time.Duration
	// MissedNoticeShare: the share of interruptions whose notice is missed
	// or arrives too late to checkpoint, in [0, 1]. Used only when δ <= W.
	MissedNoticeShare float64
	// MTBF: mean time between interruptions of one instance, for a
	// constant hazard. Ignored when Hazard is set.
	MTBF time.Duration
	// Hazard: a forecast interruption rate per instance-hour over time.
	Hazard Hazard
	// Start: when the run starts (where Hazard is read from).
	Start time.Time
	// RunLength: the job's compute time without interruptions (Daly's
	// solve time T_s). Optional for a constant hazard; with a Hazard it
	// sets the window the schedule covers.
	RunLength time.Duration
	// Nodes: instances the job runs on, all stopped when any one is
	// interrupted (synchronous training). 0 means 1.
	Nodes int
}

// ScheduledCheckpoint is one planned checkpoint under a varying hazard.
type ScheduledCheckpoint struct {
	At              time.Time `json:"at"`
	OffsetSeconds   float64   `json:"offset_seconds"`
	IntervalSeconds float64   `json:"interval_seconds"`
	RatePerHour     float64   `json:"rate_per_hour"`
}

// CheckpointResult is the recommended checkpointing policy.
type CheckpointResult struct {
	// IntervalSeconds: compute time between checkpoints (Daly's τ_opt,
	// for the hazard of losing work). Under a varying hazard it is the
	// interval for the run's mean hazard; Schedule follows the forecast.
	IntervalSeconds      float64 `json:"interval_seconds"`
	YoungIntervalSeconds float64 `json:"young_interval_seconds"`
	// ExpectedOverheadRatio: expected wall time / compute time - 1,
	// counting checkpoints, lost work and restarts.
	ExpectedOverheadRatio   float64 `json:"expected_overhead_ratio"`
	ExpectedOverheadRatioLo float64 `json:"expected_overhead_ratio_lo"`
	ExpectedOverheadRatioHi float64 `json:"expected_overhead_ratio_hi"`
	// ExpectedLostWorkSeconds: compute redone after an average
	// interruption (zero for those caught by an emergency checkpoint).
	ExpectedLostWorkSeconds float64 `json:"expected_lost_work_seconds"`
	// ExpectedTimeLostSeconds: lost work plus restart plus emergency
	// checkpoint, per average interruption.
	ExpectedTimeLostSeconds float64 `json:"expected_time_lost_seconds"`
	// MTBFSeconds: mean time between interruptions of the job (all
	// nodes); LossMTBFSeconds: between interruptions that lose work.
	// Zero means never.
	MTBFSeconds     float64 `json:"mtbf_seconds"`
	LossMTBFSeconds float64 `json:"loss_mtbf_seconds"`
	// EmergencyCheckpoint: δ <= W, so a checkpoint fits in the notice.
	EmergencyCheckpoint bool `json:"emergency_checkpoint_on_notice"`
	// PeriodicIsInsurance: δ <= W and under half the notices are missed,
	// so periodic checkpoints mostly guard against missed notices. With
	// an emergency checkpoint the interval always uses hazard x
	// missed-notice share.
	PeriodicIsInsurance bool `json:"periodic_is_insurance"`
	// PeriodicNeeded is false when no interruption loses work (every
	// notice is caught): checkpoint on notice only.
	PeriodicNeeded bool `json:"periodic_needed"`
	// Regime: "daly" (δ < 2M), "interval-equals-mtbf" (δ >= 2M, Daly's
	// fallback T = M), or "notice-only".
	Regime string `json:"regime"`
	// Run totals, when RunLength is given.
	ExpectedWallSeconds   float64 `json:"expected_wall_seconds,omitempty"`
	ExpectedInterruptions float64 `json:"expected_interruptions,omitempty"`
	// Schedule: checkpoint times when the hazard varies over the run.
	Schedule           []ScheduledCheckpoint `json:"schedule,omitempty"`
	ScheduleTruncated  bool                  `json:"schedule_truncated,omitempty"`
	MinIntervalSeconds float64               `json:"min_interval_seconds,omitempty"`
	MaxIntervalSeconds float64               `json:"max_interval_seconds,omitempty"`
	Explain            Explanation           `json:"explain"`
}

// YoungInterval is Young's first-order optimum compute time between
// checkpoints, τ = sqrt(2 δ M) (Young 1974, "A first order approximation
// to the optimum checkpoint interval", CACM 17(9)). Seconds in, seconds out.
func YoungInterval(delta, mtbf float64) float64 {
	return math.Sqrt(2 * delta * mtbf)
}

// DalyInterval is Daly's higher-order optimum compute time between
// checkpoints (Daly 2006, "A higher order estimate of the optimum
// checkpoint interval for restart dumps", FGCS 22(3), eq. 37):
//
//	τ_opt = sqrt(2δM) [1 + (1/3) sqrt(δ/(2M)) + (1/9) δ/(2M)] - δ   for δ < 2M
//	τ_opt = M                                                        for δ >= 2M
//
// Seconds in, seconds out. mtbf = +Inf gives +Inf (never checkpoint).
func DalyInterval(delta, mtbf float64) float64 {
	if math.IsInf(mtbf, 1) {
		return math.Inf(1)
	}
	if delta >= 2*mtbf {
		return mtbf
	}
	x := delta / (2 * mtbf)
	return math.Sqrt(2*delta*mtbf)*(1+math.Sqrt(x)/3+x/9) - delta
}

// dalySegment is the expected wall time to complete one compute segment
// of τ followed by a checkpoint of δ, when work-losing interruptions come
// at rate lq (per second) and each costs a restart R that can itself be
// interrupted: e^{λR}(e^{λ(τ+δ)} - 1)/λ. It is one segment of the
// complete cost function of Daly 2006 §3, T_w = M e^{R/M}(e^{(τ+δ)/M} - 1)
// T_s/τ, the function eq. 37 approximately minimises.
func dalySegment(tau, delta, restart, lq float64) float64 {
	if lq == 0 {
		return tau + delta
	}
	return math.Exp(lq*restart) * math.Expm1(lq*(tau+delta)) / lq
}

// segmentWall adds the interruptions caught by the notice (rate ln per
// second; each costs an emergency checkpoint and a restart, no lost work):
// they take a share ln(δ+R) of the wall time, so the wall time is divided
// by 1 - ln(δ+R).
func segmentWall(tau, delta, restart, lq, ln float64) float64 {
	return dalySegment(tau, delta, restart, lq) / (1 - ln*(delta+restart))
}

// meanLossInSegment is the expected time into a segment of length L at
// which a work-losing interruption (rate lq) falls, given one does:
// E[X | X < L] for X exponential, 1/λ - L/(e^{λL} - 1).
func meanLossInSegment(L, lq float64) float64 {
	if lq == 0 || math.IsInf(L, 1) {
		if math.IsInf(L, 1) && lq > 0 {
			return 1 / lq
		}
		return L / 2
	}
	x := lq * L
	if x < 1e-6 {
		return L / 2
	}
	return 1/lq - L/math.Expm1(x)
}

// normalized is the validated input with seconds and rates worked out.
type normalized struct {
	delta, restart, window, q float64
	nodes                     float64
	hazard                    Hazard // per instance-hour
	varying                   bool
	runLength                 float64
	emergency                 bool
	qEff                      float64
}

func normalizeCheckpoint(in CheckpointInput) (normalized, error) {
	var n normalized
	if in.CheckpointCost <= 0 {
		return n, fmt.Errorf("checkpoint cost must be positive, got %v: %w", in.CheckpointCost, ErrInvalidInput)
	}
	if in.RestartCost < 0 {
		return n, fmt.Errorf("restart cost must not be negative, got %v: %w", in.RestartCost, ErrInvalidInput)
	}
	if in.NoticeWindow < 0 {
		return n, fmt.Errorf("notice window must not be negative, got %v: %w", in.NoticeWindow, ErrInvalidInput)
	}
	if in.RunLength < 0 {
		return n, fmt.Errorf("run length must not be negative, got %v: %w", in.RunLength, ErrInvalidInput)
	}
	if !(in.MissedNoticeShare >= 0 && in.MissedNoticeShare <= 1) {
		return n, fmt.Errorf("missed-notice share must be in [0, 1], got %v: %w", in.MissedNoticeShare, ErrInvalidInput)
	}
	if in.Nodes < 0 {
		return n, fmt.Errorf("nodes must not be negative, got %d: %w", in.Nodes, ErrInvalidInput)
	}
	n.nodes = 1
	if in.Nodes > 0 {
		n.nodes = float64(in.Nodes)
	}
	switch {
	case len(in.Hazard) > 0:
		if err := in.Hazard.validate(); err != nil {
			return n, err
		}
		n.hazard = in.Hazard
		n.varying = in.RunLength > 0 && in.Hazard.varies(in.Start, in.RunLength)
	case in.MTBF > 0:
		n.hazard = ConstantHazard(in.MTBF)
	default:
		return n, fmt.Errorf("need a positive MTBF or a hazard forecast, got MTBF %v: %w", in.MTBF, ErrInvalidInput)
	}
	n.delta = in.CheckpointCost.Seconds()
	n.restart = in.RestartCost.Seconds()
	n.window = in.NoticeWindow.Seconds()
	n.q = in.MissedNoticeShare
	n.runLength = in.RunLength.Seconds()
	n.emergency = in.NoticeWindow > 0 && in.CheckpointCost <= in.NoticeWindow
	n.qEff = 1
	if n.emergency {
		n.qEff = n.q
	}
	return n, nil
}

// rates turns a per-instance-hour rate into the job's per-second rates of
// work-losing (lq) and notice-caught (ln) interruptions.
func (n normalized) rates(perHour float64) (lq, ln float64) {
	lam := perHour * n.nodes / 3600
	return lam * n.qEff, lam * (1 - n.qEff)
}

// interval is the Daly interval for loss rate lq (seconds); +Inf when no
// interruption loses work.
func (n normalized) interval(lq float64) float64 {
	if lq == 0 {
		return math.Inf(1)
	}
	return DalyInterval(n.delta, 1/lq)
}

// overhead returns the expected wall/compute - 1 of checkpointing every
// tau under rates (lq, ln).
func (n normalized) overhead(tau, lq, ln float64) (float64, error) {
	if ln*(n.delta+n.restart) >= 1 {
		return 0, fmt.Errorf("interruptions every %s on average, each costing %s of checkpoint and restart: %w",
			fmtSeconds(1/ln), fmtSeconds(n.delta+n.restart), ErrNoProgress)
	}
	var r float64
	if math.IsInf(tau, 1) {
		// No periodic checkpoints; only notice-caught interruptions.
		r = 1/(1-ln*(n.delta+n.restart)) - 1
	} else {
		r = segmentWall(tau, n.delta, n.restart, lq, ln)/tau - 1
	}
	if math.IsNaN(r) || math.IsInf(r, 0) || r > 1e6 {
		return 0, fmt.Errorf("expected overhead is unbounded: checkpoint cost %s and restart cost %s against one work-losing interruption every %s: %w",
			fmtSeconds(n.delta), fmtSeconds(n.restart), fmtSeconds(1/lq), ErrNoProgress)
	}
	return r, nil
}

// Checkpoint recommends how often to checkpoint.
func Checkpoint(in CheckpointInput) (CheckpointResult, error) {
	n, err := normalizeCheckpoint(in)
	if err != nil {
		return CheckpointResult{}, err
	}
	var res CheckpointResult
	window := in.RunLength
	rate, rateLo, rateHi := n.hazard.Mean(in.Start, window)
	lq, ln := n.rates(rate)
	lam := lq + ln
	res.MTBFSeconds = inv(lam)
	res.LossMTBFSeconds = inv(lq)
	res.EmergencyCheckpoint = n.emergency
	// Mostly insurance: most interruptions are caught by the notice.
	res.PeriodicIsInsurance = n.emergency && n.q < 0.5
	tau := n.interval(lq)
	res.PeriodicNeeded = !math.IsInf(tau, 1)
	switch {
	case lam == 0:
		res.Regime = "no-interruptions"
	case !res.PeriodicNeeded:
		res.Regime = "notice-only"
	case n.delta >= 2/lq:
		res.Regime = "interval-equals-mtbf"
	default:
		res.Regime = "daly"
	}

	notes := []string{}
	if n.emergency && n.q == 1 {
		notes = append(notes, fmt.Sprintf("the checkpoint (%s) fits in the %s notice, but every notice is assumed missed: an emergency checkpoint on notice would make periodic checkpoints mostly insurance; give the share of notices the job misses to use it", fmtSeconds(n.delta), fmtSeconds(n.window)))
	} else if n.emergency {
		notes = append(notes, fmt.Sprintf("the checkpoint (%s) fits in the %s notice, so an emergency checkpoint on notice saves the work of every interruption whose notice arrives; periodic checkpoints are insurance against the %.0f%% whose notice is missed, and the interval uses hazard x missed-notice share (one work-losing interruption every %s instead of every %s)",
			fmtSeconds(n.delta), fmtSeconds(n.window), 100*n.q, fmtSeconds(res.LossMTBFSeconds), fmtSeconds(res.MTBFSeconds)))
	} else if n.window > 0 {
		notes = append(notes, fmt.Sprintf("the checkpoint (%s) does not fit in the %s notice, so every interruption loses the work since the last periodic checkpoint", fmtSeconds(n.delta), fmtSeconds(n.window)))
	} else {
		notes = append(notes, "no notice window given: every interruption loses the work since the last periodic checkpoint")
	}
	if lam == 0 {
		notes = append(notes, "the hazard is zero: no interruption is expected, so no periodic checkpoint is needed; interval_seconds is the run length (or 0 when no run length is given)")
		tau = n.runLength
	} else if !res.PeriodicNeeded {
		notes = append(notes, "no interruption is expected to lose work: checkpoint on notice only; interval_seconds is the run length (or 0 when no run length is given)")
		tau = n.runLength
	}
	if res.Regime == "interval-equals-mtbf" {
		notes = append(notes, "checkpoint cost is at least twice the mean time between work-losing interruptions: Daly's formula no longer applies and the interval falls back to T = M; this pool is a poor fit for the job, consider a calmer pool or on-demand")
	} else if res.PeriodicNeeded && n.delta >= 1/lq {
		notes = append(notes, "checkpoint cost is at least the mean time between work-losing interruptions: expect a large overhead; consider a calmer pool or on-demand")
	}
	if n.nodes > 1 {
		notes = append(notes, fmt.Sprintf("the job stops when any of its %d instances is interrupted, so its hazard is %d x the per-instance hazard (interruptions assumed independent)", int(n.nodes), int(n.nodes)))
	}

	res.IntervalSeconds = tau
	if res.PeriodicNeeded {
		res.YoungIntervalSeconds = YoungInterval(n.delta, 1/lq)
	}
	evalTau := tau
	if !res.PeriodicNeeded {
		evalTau = math.Inf(1)
	}
	if res.ExpectedOverheadRatio, err = n.overhead(evalTau, lq, ln); err != nil {
		return CheckpointResult{}, err
	}
	// The interval's cost under the hazard's low and high bounds.
	for _, b := range []struct {
		rate float64
		dst  *float64
	}{{rateLo, &res.ExpectedOverheadRatioLo}, {rateHi, &res.ExpectedOverheadRatioHi}} {
		q, l := n.rates(b.rate)
		if *b.dst, err = n.overhead(evalTau, q, l); err != nil {
			return CheckpointResult{}, fmt.Errorf("at the hazard's bound %.4g/h: %w", b.rate, err)
		}
	}
	if lam > 0 {
		seg := evalTau + n.delta
		lost := n.qEff * meanLossInSegment(seg, lq)
		if !res.PeriodicNeeded {
			lost = 0
		}
		res.ExpectedLostWorkSeconds = lost
		res.ExpectedTimeLostSeconds = lost + n.restart + (1-n.qEff)*n.delta
	}

	formula := "Daly 2006 eq. 37: tau = sqrt(2 delta M) [1 + 1/3 sqrt(delta/(2M)) + 1/9 delta/(2M)] - delta for delta < 2M, else tau = M; " +
		"overhead = M e^{R/M} (e^{(tau+delta)/M} - 1) / tau / (1 - lambda_notice (delta + R)) - 1, with M = 1/(nodes x hazard x missed-notice share) the mean time between work-losing interruptions"
	if n.varying {
		if err := n.schedule(in, &res); err != nil {
			return CheckpointResult{}, err
		}
		formula += "; under a varying hazard each interval is Daly's tau for the mean hazard over that interval (checkpoint density follows sqrt(hazard), Ling, Mi & Lin 2001, IEEE TC 50(7))"
		notes = append(notes, fmt.Sprintf("the hazard varies over the run: the schedule checkpoints every %s to %s, denser where interruptions are forecast; interval_seconds is the interval for the run's mean hazard", fmtSeconds(res.MinIntervalSeconds), fmtSeconds(res.MaxIntervalSeconds)))
	}
	if n.runLength > 0 {
		res.ExpectedWallSeconds = n.runLength * (1 + res.ExpectedOverheadRatio)
		res.ExpectedInterruptions = res.ExpectedWallSeconds * lam
	}
	res.Explain = Explanation{
		Inputs: map[string]any{
			"checkpoint_cost_seconds": n.delta,
			"restart_cost_seconds":    n.restart,
			"notice_window_seconds":   n.window,
			"missed_notice_share":     n.q,
			"nodes":                   int(n.nodes),
			"hazard_per_hour":         rate,
			"hazard_lo_per_hour":      rateLo,
			"hazard_hi_per_hour":      rateHi,
			"run_length_seconds":      n.runLength,
			"hazard_varies":           n.varying,
		},
		Formula: formula,
		Notes:   notes,
	}
	return res, nil
}

// schedule fills res.Schedule with the checkpoint times under a varying
// hazard (planned as if uninterrupted) and replaces the expected overhead
// by the varying hazard's (see progressOverhead).
func (n normalized) schedule(in CheckpointInput, res *CheckpointResult) error {
	pol := n.policy(in.Start)
	var work float64
	var t float64 // plan offset (no interruptions), seconds from Start
	res.MinIntervalSeconds = math.Inf(1)
	for {
		tau := pol(t)
		if work+tau >= n.runLength {
			break // the run ends; no checkpoint after the last segment
		}
		res.MinIntervalSeconds = math.Min(res.MinIntervalSeconds, tau)
		res.MaxIntervalSeconds = math.Max(res.MaxIntervalSeconds, tau)
		if len(res.Schedule) == maxScheduleLen {
			res.ScheduleTruncated = true
			break
		}
		res.Schedule = append(res.Schedule, ScheduledCheckpoint{
			At:              in.Start.Add(secs(t + tau)),
			OffsetSeconds:   t + tau,
			IntervalSeconds: tau,
			RatePerHour:     n.hazard.RateAt(in.Start.Add(secs(t))),
		})
		work += tau
		t += tau + n.delta
	}
	if math.IsInf(res.MinIntervalSeconds, 1) {
		// One segment covers the whole run.
		res.MinIntervalSeconds, res.MaxIntervalSeconds = n.runLength, n.runLength
	}
	var err error
	for _, c := range []struct {
		which int
		dst   *float64
	}{{0, &res.ExpectedOverheadRatio}, {-1, &res.ExpectedOverheadRatioLo}, {1, &res.ExpectedOverheadRatioHi}} {
		if *c.dst, err = n.progressOverhead(in.Start, c.which); err != nil {
			return err
		}
	}
	return nil
}

// progressOverhead is the expected overhead of following the schedule
// under a varying hazard (which: -1 low, 0 central, +1 high bound). While
// rate r is in force the job progresses at 1/(1 + o(r)) compute-seconds
// per wall-second, o(r) being Daly's overhead at the local interval; the
// run ends when progress reaches the run length. Working in wall time
// keeps an interruption window as long as the forecast says, however
// slowly the job moves through it (a fluid approximation of Daly's cost
// function, checked against Simulate in the tests).
func (n normalized) progressOverhead(start time.Time, which int) (float64, error) {
	h := n.hazard.pick(which)
	i := h.index(start)
	var wall, done float64
	for done < n.runLength {
		end := math.Inf(1)
		if i+1 < len(h) {
			end = h[i+1].Start.Sub(start).Seconds()
		}
		lq, ln := n.rates(h[i].Rate)
		o, err := n.overhead(n.interval(lq), lq, ln)
		if err != nil {
			return 0, fmt.Errorf("from %s: %w", start.Add(secs(wall)).Format(time.RFC3339), err)
		}
		if need := (n.runLength - done) * (1 + o); wall+need <= end {
			wall += need
			break
		}
		done += (end - wall) / (1 + o)
		wall = end
		i++
	}
	return wall/n.runLength - 1, nil
}

// policy returns the compute interval to run from plan offset t (seconds
// from start). Checkpoints are placed with density 1/τ(s), τ(s) being
// Daly's interval for the hazard in force at s: the next checkpoint comes
// when the integral of 1/τ(s) from t reaches 1. This is the density
// argument of Ling, Mi & Lin 2001 (IEEE TC 50(7), checkpoint frequency
// proportional to sqrt(hazard)) with Daly's τ in place of Young's; for a
// constant hazard it gives Daly's τ exactly.
func (n normalized) policy(start time.Time) func(t float64) float64 {
	// Intervals never exceed the run (or 30 days when it is unbounded).
	limit := n.runLength
	if limit == 0 || math.IsInf(limit, 1) {
		limit = (30 * 24 * time.Hour).Seconds()
	}
	return func(t float64) float64 {
		at := start.Add(secs(t))
		i := n.hazard.index(at)
		budget, span := 1.0, 0.0
		for span < limit {
			end := math.Inf(1)
			if i+1 < len(n.hazard) {
				end = n.hazard[i+1].Start.Sub(at).Seconds()
			}
			lq, _ := n.rates(n.hazard[i].Rate)
			tau := n.interval(lq)
			if room := end - span; room*1/tau >= budget || math.IsInf(end, 1) {
				span += budget * tau
				break
			} else {
				budget -= room / tau
				span = end
			}
			i++
		}
		// Never plan a zero-length interval.
		return math.Max(math.Min(span, limit), 1)
	}
}

// IntervalPolicy returns the checkpoint policy Checkpoint recommends, as
// "after a checkpoint or restart at wall time t, compute this long before
// the next checkpoint", for simulators and schedulers.
func IntervalPolicy(in CheckpointInput) (func(t time.Time) time.Duration, error) {
	n, err := normalizeCheckpoint(in)
	if err != nil {
		return nil, err
	}
	if n.runLength == 0 {
		n.runLength = math.Inf(1)
	}
	pol := n.policy(in.Start)
	return func(t time.Time) time.Duration {
		s := pol(t.Sub(in.Start).Seconds())
		if math.IsInf(s, 1) || s > float64(math.MaxInt64)/1e9 {
			return time.Duration(math.MaxInt64)
		}
		return secs(s)
	}, nil
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func inv(x float64) float64 {
	if x == 0 {
		return 0
	}
	return 1 / x
}

// fmtSeconds prints a duration given in seconds, rounded for reading.
func fmtSeconds(s float64) string {
	if math.IsInf(s, 1) {
		return "never"
	}
	d := secs(s)
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}
