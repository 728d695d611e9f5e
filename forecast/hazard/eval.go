package hazard

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
	// Set names the group of traces this one belongs to (a folder of
	// trace files, a feed); EvaluateTraces also scores each set on its
	// own. Empty: "".
	Set string
}

// EvalOptions tune EvaluateTraces. Zero fields take the defaults.
type EvalOptions struct {
	// Options of the model under test (its Horizon is set to Step). Its
	// Params are where the model starts (nil: DefaultParams); unless
	// Fixed, FitParams refits them per cloud and kind of trace (fitKind)
	// on their past as the evaluation goes.
	Options Options
	// Fixed keeps Options.Params for every origin: no refits.
	Fixed bool
	// RefitGrowth: a cloud's parameters for a kind of trace are refitted
	// whenever its scored past has grown by this factor since its last
	// fit (default 1.25).
	RefitGrowth float64
	// Step between forecast origins and the length of the window each
	// forecast is about (default 1h).
	Step time.Duration
	// Bins of the calibration table (default 10, equal width on [0, 1]).
	Bins int
	// Eps clips forecasts to [Eps, 1-Eps] for the log loss (default 1e-6).
	Eps float64
	// Progress, if set, is called now and then with the origins done.
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
// "at least one interruption in the next Step", with their reliability
// diagram (Bins) and expected calibration error: ECE = Σ_b (n_b/n)·
// |mean forecast_b - observed_b| over the bins (Naeini, Cooper &
// Hauskrecht 2015, "Obtaining well calibrated probabilities using
// Bayesian binning", AAAI, §3).
type Scores struct {
	Forecasts int              `json:"forecasts"`
	Positives int              `json:"positives"`
	Brier     float64          `json:"brier"`
	LogLoss   float64          `json:"log_loss"`
	ECE       float64          `json:"ece"`
	Bins      []CalibrationBin `json:"calibration"`
}

// Scorecard is the model and each baseline scored on the same forecasts.
type Scorecard struct {
	// Model is Estimate with the trace's advisor row, its pool's own past
	// events (every trace of the same zone and type) and the past events
	// of the same cloud and type in other zones as siblings.
	Model Scores `json:"model"`
	// ConstantRate is one hazard for everything: interruptions over
	// instance-hours pooled across all traces before the origin (the
	// trace's advisor hazard until anything has been observed),
	// 1 - exp(-rate·n·Step) for n running nodes.
	ConstantRate Scores `json:"constant_rate"`
	// AdvisorOnly is the advisor bucket's hazard (BucketHazard).
	AdvisorOnly Scores `json:"advisor_only"`
	// HourlyFrequency is the pooled climatology of the outcome itself:
	// the share of earlier origins (all traces, windows ended by the
	// origin) followed by an interruption.
	HourlyFrequency Scores `json:"hourly_frequency"`
	// OwnClimatology is that share over the earlier origins of the same
	// zone and type (the pooled climatology until the pool has one).
	OwnClimatology Scores `json:"own_zone_climatology"`
	// FleetClimatology is that share over the earlier origins, of any
	// pool, with the same number of running nodes (the pooled
	// climatology until there is one).
	FleetClimatology Scores `json:"fleet_size_climatology"`
}

// NamedScores is one forecaster's scores.
type NamedScores struct {
	Name   string `json:"name"`
	Scores Scores `json:"scores"`
}

// Baselines lists the baselines' scores, named as in the JSON.
func (s Scorecard) Baselines() []NamedScores {
	return []NamedScores{
		{"constant_rate", s.ConstantRate}, {"advisor_only", s.AdvisorOnly}, {"hourly_frequency", s.HourlyFrequency},
		{"own_zone_climatology", s.OwnClimatology}, {"fleet_size_climatology", s.FleetClimatology},
	}
}

// NotBeaten lists the baselines whose Brier score or log loss is not
// above the model's.
func (s Scorecard) NotBeaten() []string {
	var out []string
	for _, b := range s.Baselines() {
		if s.Model.Brier >= b.Scores.Brier || s.Model.LogLoss >= b.Scores.LogLoss {
			out = append(out, b.Name)
		}
	}
	return out
}

// SetEval is one trace set's share of an evaluation.
type SetEval struct {
	Set    string `json:"set"`
	Traces int    `json:"traces"`
	Scorecard
}

// TraceEval is one trace's share of an evaluation.
type TraceEval struct {
	Pool          market.PoolKey `json:"pool"`
	Set           string         `json:"set"`
	Forecasts     int            `json:"forecasts"`
	Positives     int            `json:"positives"`
	BrierModel    float64        `json:"brier_model"`
	BrierConstant float64        `json:"brier_constant_rate"`
	BrierAdvisor  float64        `json:"brier_advisor_only"`
	BrierFreq     float64        `json:"brier_hourly_frequency"`
	BrierOwn      float64        `json:"brier_own_zone_climatology"`
	BrierFleet    float64        `json:"brier_fleet_size_climatology"`
}

// Evaluation compares the model with the baselines on the same forecasts,
// over all traces and per trace set.
type Evaluation struct {
	Traces int `json:"traces"`
	Scorecard
	Sets     []SetEval   `json:"sets"`
	PerTrace []TraceEval `json:"per_trace"`
	// Fits are the parameter refits, in time order, each on the data of
	// one cloud and kind of trace before its instant.
	Fits []CloudFit `json:"fits,omitempty"`
}

// CloudFit is a fit of one cloud's parameters for one kind of trace
// (fitKind).
type CloudFit struct {
	Cloud string `json:"cloud"`
	Kind  string `json:"kind"`
	Fit
}

// Kinds of trace, each fitted on its own (fitKind).
const (
	KindPreemption = "preemption"
	KindCapacity   = "capacity"
)

// fitKind is the kind of events a trace records: capacity events (a
// drop in the nodes available, market.EventCapacity) or interruptions of
// running nodes. They are different processes: a capacity trace of one
// node drops whenever the zone runs short, while preemption traces of
// fleets lose nodes together. Fitted together, the longer capacity
// traces (80% of the AWS hours in the skypilot traces) pull the shared
// excitation and fleet parameters away from what the preemption fleets
// show, so each cloud's parameters are fitted per kind.
func fitKind(tr Trace) string {
	for _, e := range tr.Events {
		if e.Kind == market.EventCapacity {
			return KindCapacity
		}
	}
	return KindPreemption
}

// ErrNoForecasts: the traces never had a running instance to forecast for.
var ErrNoForecasts = errors.New("no forecasts: no trace had a running instance")

// Forecasters in scoring order.
const (
	fModel = iota
	fConstant
	fAdvisor
	fPooled
	fOwn
	fFleet
	nForecasters
)

// evalOrigin is one forecast: trace tr at time t with n running nodes; y
// says whether an interruption followed within the step.
type evalOrigin struct {
	tr int
	t  time.Time
	n  float64
	y  bool
}

// evalTrace is a trace prepared for the evaluation.
type evalTrace struct {
	Trace
	hist    history   // replay of every event
	cumE    []float64 // instance-hours up to the end of each span
	cumN    []float64 // nodes interrupted up to and including each hit
	pool    poolOf
	adv     float64 // advisor hazard
	origins int
}

// EvaluateTraces runs a rolling-origin evaluation with no look-ahead: for
// every trace and every origin t = start, start+Step, ... at which
// instances are running, each forecaster predicts, from events before t
// only, the probability that at least one of the n running instances is
// interrupted in [t, t+Step); the outcome is whether the trace shows one.
// Origins of all traces are visited in time order, so a trace learns from
// other traces only what they had recorded by then. Unless Fixed, the
// model's shared parameters are refitted by FitParams, per cloud and kind
// of trace (fitKind), on the histories before the origin (nested rolling
// origin) whenever the scored past has grown by RefitGrowth. Brier score (Brier 1950, Monthly Weather Review
// 78(1), eq. 1) and log loss are averaged over all forecasts.
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
	if opts.RefitGrowth == 0 {
		opts.RefitGrowth = 1.25
	}
	if !(opts.RefitGrowth > 1) {
		return Evaluation{}, fmt.Errorf("refit growth %v: want > 1: %w", opts.RefitGrowth, ErrInput)
	}
	mo := opts.Options
	mo.Horizon = opts.Step.Truncate(time.Hour)
	if mo.Horizon < opts.Step {
		mo.Horizon += time.Hour
	}
	if _, err := mo.withDefaults(); err != nil {
		return Evaluation{}, err
	}
	if _, err := mo.params(); err != nil {
		return Evaluation{}, err
	}

	ets, origins, err := prepareTraces(traces, opts.Step)
	if err != nil {
		return Evaluation{}, err
	}
	if len(origins) == 0 {
		return Evaluation{}, ErrNoForecasts
	}
	// Each pool's events (every trace of it), and the pools of the same
	// cloud and type, for the model's inputs.
	poolEvents := map[poolOf][]market.Event{}
	var pools []poolOf
	for _, et := range ets {
		if _, ok := poolEvents[et.pool]; !ok {
			pools = append(pools, et.pool)
		}
		poolEvents[et.pool] = append(poolEvents[et.pool], et.Events...)
	}
	for _, k := range pools {
		evs := poolEvents[k]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	}
	before := func(k poolOf, t time.Time) []market.Event {
		evs := poolEvents[k]
		return evs[:sort.Search(len(evs), func(i int) bool { return !evs[i].Time.Before(t) })]
	}

	all := newScorers(opts)
	sets := map[string]*[nForecasters]*scorer{}
	var setNames []string
	per := make([][nForecasters]*scorer, len(ets))
	for i, et := range ets {
		per[i] = newScorers(opts)
		if sets[et.Set] == nil {
			s := newScorers(opts)
			sets[et.Set] = &s
			setNames = append(setNames, et.Set)
		}
	}

	// Outcomes become known when their window ends.
	var pending []evalOrigin
	var pooled counts
	own := map[poolOf]*counts{}
	fleet := map[float64]*counts{}
	ev := Evaluation{Traces: len(traces)}
	start := DefaultParams()
	if mo.Params != nil {
		start = *mo.Params
	}
	// Per cloud: the parameters in use, the outcomes known and the number
	// known at the last fit.
	type cloudState struct {
		par   Params
		known counts
		fitAt int
	}
	type fitKey struct{ cloud, kind string }
	clouds := map[fitKey]*cloudState{}
	byCloud := map[fitKey][]Trace{}
	keys := make([]fitKey, len(ets))
	for i, et := range ets {
		k := fitKey{et.pool.cloud, fitKind(et.Trace)}
		keys[i] = k
		if clouds[k] == nil {
			clouds[k] = &cloudState{par: start}
		}
		byCloud[k] = append(byCloud[k], et.Trace)
	}
	for oi, o := range origins {
		rest := pending[:0]
		for _, p := range pending {
			if p.t.Add(opts.Step).After(o.t) {
				rest = append(rest, p)
				continue
			}
			pooled.add(p.y)
			k := ets[p.tr].pool
			if own[k] == nil {
				own[k] = &counts{}
			}
			own[k].add(p.y)
			if fleet[p.n] == nil {
				fleet[p.n] = &counts{}
			}
			fleet[p.n].add(p.y)
			clouds[keys[p.tr]].known.add(p.y)
		}
		pending = rest
		et := &ets[o.tr]
		fk := keys[o.tr]
		cs := clouds[fk]
		if !opts.Fixed && cs.known.n >= max(minFitOrigins, int(math.Ceil(opts.RefitGrowth*float64(cs.fitAt)))) && cs.known.k >= minFitPositives {
			fit, err := FitParams(byCloud[fk], o.t, mo)
			switch {
			case err == nil:
				cs.par = fit.Params
				ev.Fits = append(ev.Fits, CloudFit{Cloud: fk.cloud, Kind: fk.kind, Fit: fit})
			case !errors.Is(err, ErrTooFewData):
				return Evaluation{}, fmt.Errorf("refit at %s: %w", o.t.Format(time.RFC3339), err)
			}
			cs.fitAt = cs.known.n
		}

		var sibs []market.Event
		for _, k := range pools {
			if k != et.pool && k.cloud == et.pool.cloud && k.typ == et.pool.typ {
				sibs = append(sibs, before(k, o.t)...)
			}
		}
		mop := mo
		mop.Params = &cs.par
		f, err := estimate(Inputs{Pool: et.Pool, Advisor: et.Advisor, Events: before(et.pool, o.t), Siblings: sibs}, o.t, mop, true)
		if err != nil {
			return Evaluation{}, fmt.Errorf("trace %s at %s: %w", et.Pool, o.t.Format(time.RFC3339), err)
		}
		var p [nForecasters]float64
		p[fModel] = f.ProbAnyWithin(int(math.Round(o.n)), opts.Step)
		rate := pooledRate(ets, o.t)
		if math.IsNaN(rate) {
			rate = et.adv
		}
		x := o.n * opts.Step.Hours()
		p[fConstant] = -math.Expm1(-rate * x)
		p[fAdvisor] = -math.Expm1(-et.adv * x)
		p[fPooled] = pooled.share(p[fAdvisor])
		p[fOwn] = own[et.pool].share(p[fPooled])
		p[fFleet] = fleet[o.n].share(p[fPooled])
		for k := range nForecasters {
			all[k].add(p[k], o.y)
			sets[et.Set][k].add(p[k], o.y)
			per[o.tr][k].add(p[k], o.y)
		}
		pending = append(pending, o)
		if opts.Progress != nil && (oi+1)%500 == 0 {
			opts.Progress(oi+1, len(origins))
		}
	}
	if opts.Progress != nil {
		opts.Progress(len(origins), len(origins))
	}
	ev.Scorecard = scorecard(all)
	sort.Strings(setNames)
	for _, name := range setNames {
		se := SetEval{Set: name, Scorecard: scorecard(*sets[name])}
		for _, et := range ets {
			if et.Set == name {
				se.Traces++
			}
		}
		ev.Sets = append(ev.Sets, se)
	}
	for i, et := range ets {
		s := per[i]
		if s[fModel].n == 0 {
			continue
		}
		ev.PerTrace = append(ev.PerTrace, TraceEval{
			Pool: et.Pool, Set: et.Set, Forecasts: s[fModel].n, Positives: s[fModel].pos,
			BrierModel: s[fModel].scores().Brier, BrierConstant: s[fConstant].scores().Brier,
			BrierAdvisor: s[fAdvisor].scores().Brier, BrierFreq: s[fPooled].scores().Brier,
			BrierOwn: s[fOwn].scores().Brier, BrierFleet: s[fFleet].scores().Brier,
		})
	}
	return ev, nil
}

// prepareTraces replays each trace once and lists every origin with
// running nodes, in time order.
func prepareTraces(traces []Trace, step time.Duration) ([]evalTrace, []evalOrigin, error) {
	ets := make([]evalTrace, len(traces))
	var origins []evalOrigin
	for i, tr := range traces {
		adv, err := AdvisorHazard(tr.Advisor)
		if err != nil {
			return nil, nil, fmt.Errorf("trace %s: %w", tr.Pool, err)
		}
		evs := make([]market.Event, 0, len(tr.Events))
		var start, end time.Time
		for _, e := range tr.Events {
			if e.Time.IsZero() {
				continue
			}
			evs = append(evs, e)
			if start.IsZero() || e.Time.Before(start) {
				start = e.Time
			}
			if e.Time.After(end) {
				end = e.Time
			}
		}
		sort.SliceStable(evs, func(a, b int) bool { return evs[a].Time.Before(evs[b].Time) })
		tr.Events = evs
		et := evalTrace{Trace: tr, adv: adv}
		if len(evs) > 0 {
			e := evs[0]
			et.pool = poolOf{e.Cloud, e.Region, e.Zone, e.InstanceType}
			et.hist = replay(evs, end.Add(time.Nanosecond), 0)
		}
		var cum float64
		for _, s := range et.hist.spans {
			cum += s.n * s.end.Sub(s.start).Hours()
			et.cumE = append(et.cumE, cum)
		}
		cum = 0
		for _, x := range et.hist.hits {
			if !x.rebalance {
				cum += x.w
			}
			et.cumN = append(et.cumN, cum)
		}
		if !et.hist.implicit {
			// n nodes ran just before t when a span has start < t <= end.
			j := 0
			for t := start; len(evs) > 0 && !t.Add(step).After(end); t = t.Add(step) {
				for j < len(et.hist.spans) && !et.hist.spans[j].end.After(t) && !et.hist.spans[j].end.Equal(t) {
					j++
				}
				n := 0.0
				if j < len(et.hist.spans) && et.hist.spans[j].start.Before(t) {
					n = et.hist.spans[j].n
				}
				if n > 0 {
					origins = append(origins, evalOrigin{tr: i, t: t, n: n, y: lostIn(et.hist, t, t.Add(step))})
					et.origins++
				}
			}
		}
		ets[i] = et
	}
	sort.SliceStable(origins, func(a, b int) bool { return origins[a].t.Before(origins[b].t) })
	return ets, origins, nil
}

// pooledRate is interruptions per instance-hour over all traces before t
// (NaN when nothing was watched yet).
func pooledRate(ets []evalTrace, t time.Time) float64 {
	var n, e float64
	for i := range ets {
		h := &ets[i].hist
		if h.implicit {
			continue
		}
		j := sort.Search(len(h.spans), func(k int) bool { return !h.spans[k].end.Before(t) })
		if j > 0 {
			e += ets[i].cumE[j-1]
		}
		if j < len(h.spans) && h.spans[j].start.Before(t) {
			e += h.spans[j].n * t.Sub(h.spans[j].start).Hours()
		}
		if j := sort.Search(len(h.hits), func(k int) bool { return !h.hits[k].t.Before(t) }); j > 0 {
			n += ets[i].cumN[j-1]
		}
	}
	if e <= 0 {
		return math.NaN()
	}
	return n / e
}

// counts are outcomes seen: n windows, k with an interruption.
type counts struct{ n, k int }

func (c *counts) add(y bool) {
	c.n++
	if y {
		c.k++
	}
}

// share is k/n, or fallback before any window.
func (c *counts) share(fallback float64) float64 {
	if c == nil || c.n == 0 {
		return fallback
	}
	return float64(c.k) / float64(c.n)
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

func newScorers(o EvalOptions) [nForecasters]*scorer {
	var s [nForecasters]*scorer
	for k := range s {
		s[k] = newScorer(o)
	}
	return s
}

func scorecard(s [nForecasters]*scorer) Scorecard {
	return Scorecard{
		Model: s[fModel].scores(), ConstantRate: s[fConstant].scores(), AdvisorOnly: s[fAdvisor].scores(),
		HourlyFrequency: s[fPooled].scores(), OwnClimatology: s[fOwn].scores(), FleetClimatology: s[fFleet].scores(),
	}
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
		bin := CalibrationBin{
			Lo: float64(b) * w, Hi: float64(b+1) * w, Count: s.binN[b],
			MeanForecast: s.binP[b] / float64(s.binN[b]),
			Observed:     s.binObs[b] / float64(s.binN[b]),
		}
		sc.Bins = append(sc.Bins, bin)
		sc.ECE += float64(bin.Count) / float64(s.n) * math.Abs(bin.MeanForecast-bin.Observed)
	}
	return sc
}
