package hazard

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Trace is one pool's observed history as events (observation-start/end,
// launched, preempted, capacity, interruption warnings), with the advisor
// row in effect for it.
type Trace struct {
	Pool    market.PoolKey
	Advisor *market.AdvisorRow
	Events  []market.Event
}

// EvalOptions tune EvaluateTraces. Zero fields take the defaults.
type EvalOptions struct {
	// Options of the model under test (its Horizon is set to Step).
	Options Options
	// Step between forecast origins and the length of the window each
	// forecast is about (default 1h).
	Step time.Duration
	// Bins of the calibration table (default 10, equal width on [0, 1]).
	Bins int
	// Eps clips forecasts to [Eps, 1-Eps] for the log loss (default 1e-6).
	Eps float64
	// Progress, if set, is called after each trace.
	Progress func(done, total int)
}

// CalibrationBin is one row of a reliability table: the forecasts with
// probability in [Lo, Hi), their mean and the share of them followed by an
// interruption.
type CalibrationBin struct {
	Lo           float64 `json:"lo"`
	Hi           float64 `json:"hi"`
	Count        int     `json:"count"`
	MeanForecast float64 `json:"mean_forecast"`
	Observed     float64 `json:"observed"`
}

// Scores are the proper scores of a set of probability forecasts of
// "at least one interruption in the next Step".
type Scores struct {
	Forecasts int              `json:"forecasts"`
	Positives int              `json:"positives"`
	Brier     float64          `json:"brier"`
	LogLoss   float64          `json:"log_loss"`
	Bins      []CalibrationBin `json:"calibration"`
}

// TraceEval is one trace's share of an evaluation.
type TraceEval struct {
	Pool          market.PoolKey `json:"pool"`
	Forecasts     int            `json:"forecasts"`
	Positives     int            `json:"positives"`
	BrierModel    float64        `json:"brier_model"`
	BrierConstant float64        `json:"brier_constant_rate"`
	BrierAdvisor  float64        `json:"brier_advisor_only"`
	BrierFreq     float64        `json:"brier_hourly_frequency"`
}

// Evaluation compares the model with two baselines on the same forecasts.
type Evaluation struct {
	Traces int `json:"traces"`
	// Model is Estimate with the trace's advisor row, its own past
	// events and the past events of other traces of the same cloud and
	// instance type as siblings.
	Model Scores `json:"model"`
	// ConstantRate is one hazard for everything: interruptions over
	// instance-hours pooled across all traces before the origin (the
	// trace's advisor hazard until anything has been observed).
	ConstantRate Scores `json:"constant_rate"`
	// AdvisorOnly is the advisor bucket's hazard (BucketHazard).
	AdvisorOnly Scores `json:"advisor_only"`
	// HourlyFrequency forecasts the share of earlier origins (all traces,
	// windows ended before t) that saw an interruption: the climatology of
	// the outcome itself, a stronger baseline than ConstantRate when
	// interruptions come in bursts.
	HourlyFrequency Scores      `json:"hourly_frequency"`
	PerTrace        []TraceEval `json:"per_trace"`
}

// ErrNoForecasts: the traces never had a running instance to forecast for.
var ErrNoForecasts = errors.New("no forecasts: no trace had a running instance")

// EvaluateTraces runs a rolling-origin evaluation with no look-ahead: for
// every trace and every origin t = start, start+Step, ... at which
// instances are running, each forecaster predicts, from events before t
// only, the probability that at least one of the n running instances is
// interrupted in [t, t+Step); the outcome is whether the trace shows one.
// Brier score (Brier 1950, Monthly Weather Review 78(1), eq. 1) and log
// loss are averaged over all forecasts.
func EvaluateTraces(traces []Trace, opts EvalOptions) (Evaluation, error) {
	if opts.Step == 0 {
		opts.Step = time.Hour
	}
	if opts.Step < time.Minute {
		return Evaluation{}, fmt.Errorf("step %v: want at least 1m: %w", opts.Step, ErrInput)
	}
	if opts.Bins == 0 {
		opts.Bins = 10
	}
	if opts.Eps == 0 {
		opts.Eps = 1e-6
	}
	mo := opts.Options
	mo.Horizon = opts.Step.Truncate(time.Hour)
	if mo.Horizon < opts.Step {
		mo.Horizon += time.Hour
	}
	if _, err := mo.withDefaults(); err != nil {
		return Evaluation{}, err
	}

	// Every origin's outcome, for the climatology baseline.
	type origin struct {
		end time.Time
		y   bool
	}
	var past []origin
	for _, tr := range traces {
		start, end := span0(tr.Events)
		for t := start; !t.IsZero() && !t.Add(opts.Step).After(end); t = t.Add(opts.Step) {
			if runningAt(tr.Events, t) > 0 {
				past = append(past, origin{t.Add(opts.Step), interruptedIn(tr.Events, t, t.Add(opts.Step))})
			}
		}
	}
	freqBefore := func(t time.Time) float64 {
		var n, k int
		for _, o := range past {
			if !o.end.After(t) {
				n++
				if o.y {
					k++
				}
			}
		}
		if n == 0 {
			return math.NaN()
		}
		return float64(k) / float64(n)
	}

	model, constant, advisor, freq := newScorer(opts), newScorer(opts), newScorer(opts), newScorer(opts)
	ev := Evaluation{Traces: len(traces)}
	for i, tr := range traces {
		if len(tr.Events) == 0 {
			continue
		}
		adv, err := AdvisorHazard(tr.Advisor)
		if err != nil {
			return Evaluation{}, fmt.Errorf("trace %s: %w", tr.Pool, err)
		}
		var sibs []market.Event
		for j, o := range traces {
			if j != i && o.Pool.Cloud == tr.Pool.Cloud && o.Pool.InstanceType == tr.Pool.InstanceType {
				sibs = append(sibs, o.Events...)
			}
		}
		start, end := span0(tr.Events)
		te := TraceEval{Pool: tr.Pool}
		pm, pc, pa, pf := newScorer(opts), newScorer(opts), newScorer(opts), newScorer(opts)
		for t := start; !t.Add(opts.Step).After(end); t = t.Add(opts.Step) {
			n := runningAt(tr.Events, t)
			if n <= 0 {
				continue
			}
			y := interruptedIn(tr.Events, t, t.Add(opts.Step))
			f, err := Estimate(Inputs{Pool: tr.Pool, Advisor: tr.Advisor, Events: tr.Events, Siblings: sibs}, t, mo)
			if err != nil {
				return Evaluation{}, fmt.Errorf("trace %s at %s: %w", tr.Pool, t.Format(time.RFC3339), err)
			}
			pModel := f.ProbAnyWithin(int(math.Round(n)), opts.Step)
			rate := pooledRate(traces, t)
			if math.IsNaN(rate) {
				rate = adv
			}
			x := n * opts.Step.Hours()
			pConst := -math.Expm1(-rate * x)
			pAdv := -math.Expm1(-adv * x)
			pFreq := freqBefore(t)
			if math.IsNaN(pFreq) {
				pFreq = pAdv
			}
			for _, s := range []struct {
				a, b *scorer
				p    float64
			}{{model, pm, pModel}, {constant, pc, pConst}, {advisor, pa, pAdv}, {freq, pf, pFreq}} {
				s.a.add(s.p, y)
				s.b.add(s.p, y)
			}
		}
		te.Forecasts = pm.n
		te.Positives = pm.pos
		te.BrierModel = pm.scores().Brier
		te.BrierConstant = pc.scores().Brier
		te.BrierAdvisor = pa.scores().Brier
		te.BrierFreq = pf.scores().Brier
		ev.PerTrace = append(ev.PerTrace, te)
		if opts.Progress != nil {
			opts.Progress(i+1, len(traces))
		}
	}
	if model.n == 0 {
		return Evaluation{}, ErrNoForecasts
	}
	ev.Model, ev.ConstantRate, ev.AdvisorOnly, ev.HourlyFrequency = model.scores(), constant.scores(), advisor.scores(), freq.scores()
	return ev, nil
}

// span0 is the time range the events cover.
func span0(evs []market.Event) (start, end time.Time) {
	for _, e := range evs {
		if e.Time.IsZero() {
			continue
		}
		if start.IsZero() || e.Time.Before(start) {
			start = e.Time
		}
		if e.Time.After(end) {
			end = e.Time
		}
	}
	return start, end
}

// interruptedIn reports whether an interruption happened in [from, to).
func interruptedIn(evs []market.Event, from, to time.Time) bool {
	for _, e := range evs {
		if (e.Kind == market.EventPreempted || e.Kind == market.EventInterruptionWarning) &&
			!e.Time.Before(from) && e.Time.Before(to) {
			return true
		}
	}
	return false
}

// pooledRate is interruptions per instance-hour over all traces before t
// (NaN when nothing was watched yet).
func pooledRate(traces []Trace, t time.Time) float64 {
	var n, e float64
	for _, tr := range traces {
		h := replay(tr.Events, t, 0)
		if h.implicit {
			continue
		}
		n += float64(h.interruptions)
		for _, s := range h.spans {
			e += s.n * s.end.Sub(s.start).Hours()
		}
	}
	if e <= 0 {
		return math.NaN()
	}
	return n / e
}

// scorer accumulates forecasts and outcomes.
type scorer struct {
	opts         EvalOptions
	n, pos       int
	brier, logL  float64
	binN         []int
	binP, binObs []float64
}

func newScorer(o EvalOptions) *scorer {
	return &scorer{opts: o, binN: make([]int, o.Bins), binP: make([]float64, o.Bins), binObs: make([]float64, o.Bins)}
}

func (s *scorer) add(p float64, y bool) {
	o := 0.0
	if y {
		o = 1
		s.pos++
	}
	s.n++
	s.brier += (p - o) * (p - o)
	q := math.Min(math.Max(p, s.opts.Eps), 1-s.opts.Eps)
	if y {
		s.logL -= math.Log(q)
	} else {
		s.logL -= math.Log1p(-q)
	}
	b := min(int(p*float64(s.opts.Bins)), s.opts.Bins-1)
	s.binN[b]++
	s.binP[b] += p
	s.binObs[b] += o
}

func (s *scorer) scores() Scores {
	if s.n == 0 {
		return Scores{}
	}
	sc := Scores{Forecasts: s.n, Positives: s.pos, Brier: s.brier / float64(s.n), LogLoss: s.logL / float64(s.n)}
	w := 1 / float64(s.opts.Bins)
	for b := range s.binN {
		if s.binN[b] == 0 {
			continue
		}
		sc.Bins = append(sc.Bins, CalibrationBin{
			Lo: float64(b) * w, Hi: float64(b+1) * w, Count: s.binN[b],
			MeanForecast: s.binP[b] / float64(s.binN[b]),
			Observed:     s.binObs[b] / float64(s.binN[b]),
		})
	}
	return sc
}
