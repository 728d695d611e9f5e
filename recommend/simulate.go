package recommend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// SimConfig describes runs of a checkpointed job for Simulate.
type SimConfig struct {
	// Work: the job's compute time without interruptions.
	Work time.Duration
	// CheckpointCost, RestartCost, NoticeWindow, MissedNoticeShare and
	// Nodes mean what they mean in CheckpointInput.
	CheckpointCost    time.Duration
	RestartCost       time.Duration
	NoticeWindow      time.Duration
	MissedNoticeShare float64
	Nodes             int
	// Hazard: the true interruption rate per instance-hour.
	Hazard Hazard
	// Start: wall time the runs start at.
	Start time.Time
	// Interval: after a checkpoint or a restart at wall time t, compute
	// this long before the next checkpoint (a fixed interval, or the
	// policy IntervalPolicy returns).
	Interval func(t time.Time) time.Duration
	// Runs: independent runs to average.
	Runs int
}

// SimResult averages Simulate's runs.
type SimResult struct {
	Runs                int     `json:"runs"`
	MeanWallSeconds     float64 `json:"mean_wall_seconds"`
	OverheadRatio       float64 `json:"overhead_ratio"`
	OverheadStdErr      float64 `json:"overhead_std_err"`
	MeanInterruptions   float64 `json:"mean_interruptions"`
	MeanCheckpoints     float64 `json:"mean_checkpoints"`
	MeanLostWorkSeconds float64 `json:"mean_lost_work_seconds"`
	MeanCaughtByNotice  float64 `json:"mean_caught_by_notice"`
}

// Simulate runs a checkpointed job Runs times under Hazard (a Poisson
// process with that piecewise-constant rate, times Nodes) and reports the
// mean wall time. It models what Daly 2006 §3 models: interruptions during
// compute, checkpoint and restart; a restart of R after each; work since
// the last completed checkpoint lost. On top, with probability 1 -
// MissedNoticeShare an interruption is announced NoticeWindow ahead, and if
// a checkpoint fits (δ <= W) the job checkpoints so that it finishes as the
// instance goes, losing no work. No checkpoint follows the last segment.
func Simulate(cfg SimConfig, rng *rand.Rand) (SimResult, error) {
	switch {
	case cfg.Work <= 0:
		return SimResult{}, fmt.Errorf("simulate: work must be positive, got %v: %w", cfg.Work, ErrInvalidInput)
	case cfg.CheckpointCost <= 0 || cfg.RestartCost < 0 || cfg.NoticeWindow < 0:
		return SimResult{}, fmt.Errorf("simulate: costs must be positive (checkpoint %v, restart %v, notice %v): %w", cfg.CheckpointCost, cfg.RestartCost, cfg.NoticeWindow, ErrInvalidInput)
	case !(cfg.MissedNoticeShare >= 0 && cfg.MissedNoticeShare <= 1):
		return SimResult{}, fmt.Errorf("simulate: missed-notice share %v not in [0, 1]: %w", cfg.MissedNoticeShare, ErrInvalidInput)
	case cfg.Interval == nil || cfg.Runs <= 0 || rng == nil:
		return SimResult{}, fmt.Errorf("simulate: need an interval policy, runs > 0 and a random source: %w", ErrInvalidInput)
	}
	if err := cfg.Hazard.validate(); err != nil {
		return SimResult{}, fmt.Errorf("simulate: %w", err)
	}
	nodes := 1.0
	if cfg.Nodes > 0 {
		nodes = float64(cfg.Nodes)
	}
	s := simulator{
		work:      cfg.Work.Seconds(),
		delta:     cfg.CheckpointCost.Seconds(),
		restart:   cfg.RestartCost.Seconds(),
		emergency: cfg.NoticeWindow > 0 && cfg.CheckpointCost <= cfg.NoticeWindow,
		q:         cfg.MissedNoticeShare,
		start:     cfg.Start,
		interval:  cfg.Interval,
		rng:       rng,
	}
	// The hazard as offsets from Start in seconds and rates per second.
	for _, st := range cfg.Hazard {
		off := st.Start.Sub(cfg.Start).Seconds()
		if st.Start.IsZero() {
			off = math.Inf(-1)
		}
		s.from = append(s.from, off)
		s.rate = append(s.rate, st.Rate*nodes/3600)
	}
	s.from[0] = math.Inf(-1)

	var res SimResult
	var sum, sumSq float64
	for range cfg.Runs {
		r, err := s.run()
		if err != nil {
			return SimResult{}, err
		}
		o := r.wall/s.work - 1
		sum += o
		sumSq += o * o
		res.MeanWallSeconds += r.wall
		res.MeanInterruptions += float64(r.interruptions)
		res.MeanCheckpoints += float64(r.checkpoints)
		res.MeanLostWorkSeconds += r.lost
		res.MeanCaughtByNotice += float64(r.caught)
	}
	k := float64(cfg.Runs)
	res.Runs = cfg.Runs
	res.MeanWallSeconds /= k
	res.MeanInterruptions /= k
	res.MeanCheckpoints /= k
	res.MeanLostWorkSeconds /= k
	res.MeanCaughtByNotice /= k
	res.OverheadRatio = sum / k
	if cfg.Runs > 1 {
		v := (sumSq - sum*sum/k) / (k - 1)
		res.OverheadStdErr = math.Sqrt(math.Max(v, 0) / k)
	}
	return res, nil
}

type simulator struct {
	work, delta, restart float64
	emergency            bool
	q                    float64
	start                time.Time
	interval             func(time.Time) time.Duration
	rng                  *rand.Rand
	from, rate           []float64
}

type simRun struct {
	wall                       float64
	interruptions, checkpoints int
	caught                     int
	lost                       float64
}

// maxSimInterruptions stops a run that makes no progress.
const maxSimInterruptions = 1_000_000

// nextFailure samples the next interruption after t (seconds from Start)
// by inverting the cumulative hazard; +Inf if the rate is zero from some
// point on and the draw is not reached.
func (s *simulator) nextFailure(t float64) float64 {
	e := s.rng.ExpFloat64()
	i := len(s.from) - 1
	for i > 0 && s.from[i] > t {
		i--
	}
	for {
		end := math.Inf(1)
		if i+1 < len(s.from) {
			end = s.from[i+1]
		}
		if r := s.rate[i]; r > 0 {
			if need := e / r; t+need < end {
				return t + need
			}
			e -= r * (end - t)
		}
		if math.IsInf(end, 1) {
			return math.Inf(1)
		}
		t = end
		i++
	}
}

func (s *simulator) run() (simRun, error) {
	var r simRun
	t, saved := 0.0, 0.0
	for saved < s.work {
		tau := s.interval(s.start.Add(secs(t))).Seconds()
		if !(tau > 0) {
			return r, fmt.Errorf("simulate: interval policy returned %v at %s: %w", tau, fmtSeconds(t), ErrInvalidInput)
		}
		seg, delta := tau, s.delta
		if saved+seg >= s.work {
			seg, delta = s.work-saved, 0
		}
		f := s.nextFailure(t)
		if f >= t+seg+delta {
			t += seg + delta
			saved += seg
			if delta > 0 {
				r.checkpoints++
			}
			continue
		}
		// Interrupted during the segment or its checkpoint.
		r.interruptions++
		if r.interruptions > maxSimInterruptions {
			return r, fmt.Errorf("simulate: more than %d interruptions in one run: %w", maxSimInterruptions, ErrNoProgress)
		}
		if s.emergency && s.rng.Float64() >= s.q {
			// Notice caught: compute until f-δ, checkpoint, go.
			done := math.Min(seg, math.Max(0, f-s.delta-t))
			saved += done
			r.lost += math.Max(0, f-t-done-s.delta)
			r.caught++
		} else {
			r.lost += math.Min(f-t, seg)
		}
		// Restart, itself interruptible.
		t = f
		for {
			g := s.nextFailure(t)
			if g >= t+s.restart {
				t += s.restart
				break
			}
			r.interruptions++
			if r.interruptions > maxSimInterruptions {
				return r, fmt.Errorf("simulate: more than %d interruptions in one run: %w", maxSimInterruptions, ErrNoProgress)
			}
			t = g
		}
	}
	r.wall = t
	return r, nil
}
