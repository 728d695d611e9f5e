// Package hazard forecasts spot interruptions: the hazard (expected
// interruptions per instance-hour) of one pool for every hour of the
// coming week, with a credible interval, and what follows from it: the
// probability that at least one of a fleet's nodes is interrupted within H
// hours, the mean time between interruptions and the windows of the week
// where the hazard runs well above the pool's baseline.
//
// The model: loss events arrive at n^γ·λ(t) for a fleet of n nodes, with
// λ(t) = μ·m(t) + a self-exciting burst term (see filter): m is a weekly
// profile (EstimateProfile, flat by default), μ the pool's background
// rate, and every loss event raises the hazard of the following hours by
// an amount that fades exponentially. μ's prior comes from the Spot
// Instance Advisor bucket, scaled by the placement score and the price
// pressure; the background parts of observed loss events of sibling pools
// (same type, other zones) and then of the pool itself, discounted with
// age, update it by the Gamma-Poisson conjugate rule, component by
// component of a Gamma mixture prior (see mixture). A Gamma frailty shared
// by the fleet's nodes within an hour makes their losses go together (see
// ProbAnyWithin). The shared parameters (discounting, burst size and
// decay, frailty, fleet exponent) are fitted on histories with known
// exposure by FitParams, by the score the backtest reports.
//
// Estimate is pure; ForPool reads its inputs from the store.
package hazard

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// ErrInput marks invalid inputs or options (a horizon out of range, a
// bucket or score out of range, a NaN price pressure); callers branch on
// it with errors.Is.
var ErrInput = errors.New("invalid hazard input")

// MaxHorizon is the longest forecast Estimate makes.
const MaxHorizon = 4 * 7 * 24 * time.Hour

// Hour is the forecast hazard of one hour: the posterior mean Rate and the
// credible interval [Lo, Hi] (90% unless Options.Level says otherwise),
// all in loss events per instance-hour. Background is the part of Rate
// that does not come from recent interruptions (Rate - Background is the
// burst, which fades over the first hours).
type Hour struct {
	Time       time.Time `json:"time"`
	Rate       float64   `json:"rate"`
	Lo         float64   `json:"lo"`
	Hi         float64   `json:"hi"`
	Background float64   `json:"background_rate"`
}

// Window is a span of the forecast where the hazard stays above
// Options.WindowFactor (default 1.5) times the pool's baseline.
type Window struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	PeakRate float64   `json:"peak_rate"`
	MeanRate float64   `json:"mean_rate"`
}

// Forecast is a pool's interruption forecast.
type Forecast struct {
	Pool      market.PoolKey `json:"pool"`
	Generated time.Time      `json:"generated"`
	// Source lists the sources of the inputs ("simulated" among them
	// when any input was simulated); "prior" when nothing was observed.
	Source string `json:"source"`
	// Hours starts with the hour containing Generated.
	Hours []Hour `json:"hours"`
	// Baseline is the median hourly Rate over Hours.
	Baseline float64  `json:"baseline"`
	Windows  []Window `json:"windows"`
	// Prior says how the prior was built.
	Prior string `json:"prior"`
	// PriorSource lists the sources of the signals the prior rests on
	// (advisor row, another cloud's signal, placement score,
	// obtainability; comma-separated), "assumed" when none was known;
	// PriorTime is the newest data time among them (zero: assumed).
	PriorSource string    `json:"prior_source"`
	PriorTime   time.Time `json:"prior_data_time,omitzero"`
	// Events and ExposureHours are the pool's own interruptions and
	// instance-hours watched, undiscounted, within Options.MaxAge.
	Events        int     `json:"events"`
	ExposureHours float64 `json:"exposure_hours"`
	Rebalances    int     `json:"rebalances"`
	// SiblingEvents and SiblingExposureHours are what related pools
	// contributed, before their power-prior weight SiblingWeight.
	SiblingEvents        int     `json:"sibling_events"`
	SiblingExposureHours float64 `json:"sibling_exposure_hours"`
	SiblingWeight        float64 `json:"sibling_weight"`
	SkippedEvents        int     `json:"skipped_events"`
	Level                float64 `json:"level"`
	// Dispersion is the frailty α shared by a fleet's nodes within a clock
	// hour (0: Poisson); ProbAnyWithin accounts for it.
	Dispersion float64 `json:"dispersion"`
	// FleetExponent γ: a fleet of n nodes meets loss events n^γ times as
	// often as one node (0 in forecasts that predate it: read as 1).
	FleetExponent float64 `json:"fleet_exponent"`
	// Burst is η·Σ exp(-β(now - t_i)) over the pool's loss events: the
	// expected further loss events per node that its recent losses still
	// trigger, fading at BurstDecayPerHour (β).
	Burst             float64   `json:"burst"`
	BurstDecayPerHour float64   `json:"burst_decay_per_hour"`
	LastInterruption  time.Time `json:"last_interruption,omitzero"`
	// Params are the shared parameters the forecast was made with.
	Params Params `json:"params"`
	// Posterior is μ's posterior (the background hazard at profile
	// multiplier 1), so that ProbAnyWithin can integrate over its
	// uncertainty.
	Posterior []Component `json:"posterior,omitempty"`
}

// Options tune Estimate. Zero fields take the defaults.
type Options struct {
	// Horizon of the forecast (default 168h, at most MaxHorizon).
	Horizon time.Duration
	// Level of the credible intervals (default 0.9).
	Level float64
	// PriorSpread is the prior's standard deviation of ln λ (default
	// 2.5: the 90% prior range spans a factor 60 either side). The
	// advisor bucket is a fleet-wide monthly share, a coarse guide to one
	// pool's hazard, and its top bucket (>20% a month) is open-ended: the
	// published GPU hazards (V100 0.8%/h, A100 2.3%/h, H100 4.1%/h) are
	// 10-80 times its 30% reading. With a spread of 1.5 the prior held
	// estimates on the simulated market (ingest/sim, true V100 0.8%/h)
	// about 30% below the truth after 28 days of a 4-instance fleet
	// (TestRecoversSimulatorHazard); 2.5 lets such evidence speak while
	// the skypilot trace scores stay as they were.
	PriorSpread float64
	// Params are the shared model parameters (nil: DefaultParams);
	// FitParams fits them.
	Params *Params
	// HalfLife, when not zero, replaces Params.HalfLifeHours (negative:
	// no discounting, the stationary model).
	HalfLife time.Duration
	// MaxAge drops evidence older than this (default 90 days).
	MaxAge time.Duration
	// SiblingHours caps what sibling pools may contribute, in
	// instance-hours of exposure (default 48; negative: ignore siblings).
	SiblingHours float64
	// RebalanceWeight is what a rebalance recommendation counts for, as a
	// fraction of an interruption (default 0.25; negative: ignored).
	RebalanceWeight float64
	// WindowFactor: hours above WindowFactor × Baseline form windows
	// (default 1.5).
	WindowFactor float64
	// Dispersion, when not zero, replaces Params.Frailty: a negative value
	// means Poisson (α = 0), a positive value is used as given.
	Dispersion float64
}

// params resolves the shared parameters: Params (or DefaultParams) with
// HalfLife and Dispersion applied.
func (o Options) params() (Params, error) {
	p := DefaultParams()
	if o.Params != nil {
		p = *o.Params
	}
	switch {
	case o.HalfLife < 0:
		p.HalfLifeHours = 0
	case o.HalfLife > 0:
		p.HalfLifeHours = o.HalfLife.Hours()
	}
	switch {
	case o.Dispersion < 0:
		p.Frailty = 0
	case o.Dispersion > 0:
		p.Frailty = o.Dispersion
	}
	if err := p.validate(); err != nil {
		return p, fmt.Errorf("params: %w: %w", err, ErrInput)
	}
	return p, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Horizon == 0 {
		o.Horizon = HoursPerWeek * time.Hour
	}
	if o.Horizon < time.Hour || o.Horizon > MaxHorizon {
		return o, fmt.Errorf("horizon %v: want 1h to %v: %w", o.Horizon, MaxHorizon, ErrInput)
	}
	if o.Level == 0 {
		o.Level = 0.9
	}
	if !(o.Level > 0 && o.Level < 1) {
		return o, fmt.Errorf("level %v: want between 0 and 1: %w", o.Level, ErrInput)
	}
	if o.PriorSpread == 0 {
		o.PriorSpread = 2.5
	}
	if !(o.PriorSpread > 0 && o.PriorSpread <= 5) {
		return o, fmt.Errorf("prior spread %v: want in (0, 5]: %w", o.PriorSpread, ErrInput)
	}
	if o.MaxAge == 0 {
		o.MaxAge = 90 * 24 * time.Hour
	}
	if o.SiblingHours == 0 {
		o.SiblingHours = 48
	}
	if o.RebalanceWeight == 0 {
		o.RebalanceWeight = 0.25
	}
	if o.RebalanceWeight > 1 || math.IsNaN(o.RebalanceWeight) {
		return o, fmt.Errorf("rebalance weight %v: want at most 1: %w", o.RebalanceWeight, ErrInput)
	}
	if o.WindowFactor == 0 {
		o.WindowFactor = 1.5
	}
	if math.IsNaN(o.Dispersion) || o.Dispersion > maxFrailty {
		return o, fmt.Errorf("dispersion %v: want at most %v: %w", o.Dispersion, maxFrailty, ErrInput)
	}
	if !(o.WindowFactor > 1) {
		return o, fmt.Errorf("window factor %v: want > 1: %w", o.WindowFactor, ErrInput)
	}
	return o, nil
}

// Inputs are what Estimate knows about a pool.
type Inputs struct {
	Pool    market.PoolKey
	Advisor *market.AdvisorRow     // nil: unknown (DefaultBucket is assumed)
	Score   *market.PlacementScore // nil: unknown
	// CloudPrior, for a pool of another cloud than AWS, is the prior mean
	// its cloud's own interruption signal stands for (PickCloudPrior); it
	// takes the advisor's place. nil: none known.
	CloudPrior *CloudPrior
	// Obtainability is GCP's obtainability of the pool's type in its zone
	// (nil: unknown); it scales the prior as a placement score does
	// (ObtainabilityMultiplier).
	Obtainability *market.CapacitySignal
	// PricePressure is spot price / on-demand price (0: unknown; then
	// SpotPrice/OnDemand is used when both are set).
	PricePressure       float64
	SpotPrice, OnDemand float64
	// Events are the pool's own events; Siblings those of related pools
	// (the same instance type in other zones), any order. Only events
	// before now are used.
	Events   []market.Event
	Siblings []market.Event
	// Profile is the weekly shape (nil: flat); see EstimateProfile.
	Profile *Profile
}

// Estimate forecasts the pool's hazard for the hours from now on.
//
// μ's posterior: the prior mixture (buildPrior) updated with
//
//	n = a·n_sib + n_own,  E = a·E_sib + E_own,
//
// the discounted background parts of the loss events and the discounted,
// profile-weighted exposures in fleet units (filter). Sibling evidence
// enters as a power prior with weight a = min(1, SiblingHours/E_sib):
// Ibrahim & Chen (2000), "Power prior distributions for regression
// models", Statistical Science 15(1), eq. 2.1, where the likelihood of
// historical data D0 is raised to a0 ∈ [0, 1]; for Poisson data that
// multiplies n and E by a0 and keeps the update conjugate. The cap keeps
// related pools from outweighing the pool's own few events.
//
// Hour t's background rate is E[μ]·m(t), its interval μ's posterior
// quantiles times m(t); the pool's own recent loss events add their
// fading burst to both.
func Estimate(in Inputs, now time.Time, opts Options) (Forecast, error) {
	return estimate(in, now, opts, false)
}

// estimate is Estimate; quick leaves out the credible intervals (Lo and
// Hi equal Rate), whose quantile searches dominate the cost of a
// forecast that only ProbAnyWithin will read (EvaluateTraces).
func estimate(in Inputs, now time.Time, opts Options, quick bool) (Forecast, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Forecast{}, err
	}
	par, err := o.params()
	if err != nil {
		return Forecast{}, err
	}
	if now.IsZero() {
		return Forecast{}, fmt.Errorf("now is zero: %w", ErrInput)
	}
	if in.Profile != nil {
		for k, v := range in.Profile {
			if !(v >= 0) || math.IsInf(v, 0) {
				return Forecast{}, fmt.Errorf("profile hour %d: multiplier %v: %w", k, v, ErrInput)
			}
		}
	}
	pr, err := buildPrior(in, o)
	if err != nil {
		return Forecast{}, fmt.Errorf("%w: %w", err, ErrInput)
	}
	rbw := math.Max(o.RebalanceWeight, 0)

	// Own events are replayed per zone (a region-level pool's events
	// come from several zones, each with its own running count).
	var ev evidence
	var excite float64
	var last time.Time
	skipped := 0
	for _, evs := range groupByPool(in.Events) {
		h := replay(evs, now, rbw)
		skipped += h.skipped
		b := filter(h, now, in.Profile, par, o.MaxAge, pr.mean)
		ev.add(b.ev)
		excite += b.excite
		if b.last.After(last) {
			last = b.last
		}
	}
	var sib evidence
	if o.SiblingHours > 0 {
		for _, evs := range groupByPool(in.Siblings) {
			h := replay(evs, now, rbw)
			skipped += h.skipped
			sib.add(filter(h, now, in.Profile, par, o.MaxAge, pr.mean).ev)
		}
	}
	a := 0.0
	if sib.e > 0 {
		a = math.Min(1, o.SiblingHours/sib.e)
	}
	post := pr.mix.update(a*sib.n+ev.n, a*sib.e+ev.e)
	mean := post.mean()
	lo, hi := mean, mean
	if !quick {
		lo = post.quantile((1 - o.Level) / 2)
		hi = post.quantile((1 + o.Level) / 2)
	}

	f := Forecast{
		Pool:                 in.Pool,
		Generated:            now,
		Source:               sources(in),
		Prior:                pr.desc,
		PriorSource:          pr.source,
		PriorTime:            pr.time,
		Events:               ev.rawN,
		ExposureHours:        ev.rawE,
		Rebalances:           ev.rebalances,
		SiblingEvents:        sib.rawN,
		SiblingExposureHours: sib.rawE,
		SiblingWeight:        a,
		SkippedEvents:        skipped,
		Level:                o.Level,
		Dispersion:           par.Frailty,
		FleetExponent:        par.FleetExponent,
		Burst:                par.Excitation * excite,
		BurstDecayPerHour:    par.DecayPerHour,
		LastInterruption:     last,
		Params:               par,
		Posterior:            post,
	}
	start := now.Truncate(time.Hour)
	n := int(o.Horizon / time.Hour)
	f.Hours = make([]Hour, n)
	rates := make([]float64, n)
	for i := range f.Hours {
		t := start.Add(time.Duration(i) * time.Hour)
		m := in.Profile.At(t)
		b := f.burstRate(t, t.Add(time.Hour))
		f.Hours[i] = Hour{Time: t, Rate: mean*m + b, Lo: lo*m + b, Hi: hi*m + b, Background: mean * m}
		rates[i] = f.Hours[i].Rate
	}
	f.Baseline = median(rates)
	f.Windows = windows(f.Hours, o.WindowFactor*f.Baseline)
	return f, nil
}

// burstInt is the burst's expected loss events per node over [from, to)
// (times before Generated count from Generated).
func (f Forecast) burstInt(from, to time.Time) float64 {
	if f.Burst <= 0 || !to.After(f.Generated) {
		return 0
	}
	a := math.Max(0, from.Sub(f.Generated).Hours())
	b := to.Sub(f.Generated).Hours()
	if b <= a {
		return 0
	}
	return f.Burst * (math.Exp(-f.BurstDecayPerHour*a) - math.Exp(-f.BurstDecayPerHour*b))
}

// burstRate is the burst's mean rate per node-hour over [from, to).
func (f Forecast) burstRate(from, to time.Time) float64 {
	d := to.Sub(from).Hours()
	if d <= 0 {
		return 0
	}
	return f.burstInt(from, to) / d
}

// windows groups consecutive hours whose rate exceeds threshold.
func windows(hours []Hour, threshold float64) []Window {
	var ws []Window
	var cur *Window
	var sum float64
	var k int
	for _, h := range hours {
		if h.Rate > threshold {
			if cur == nil {
				ws = append(ws, Window{Start: h.Time})
				cur = &ws[len(ws)-1]
				sum, k = 0, 0
			}
			cur.End = h.Time.Add(time.Hour)
			cur.PeakRate = math.Max(cur.PeakRate, h.Rate)
			sum += h.Rate
			k++
			cur.MeanRate = sum / float64(k)
			continue
		}
		cur = nil
	}
	return ws
}

// sources lists the distinct sources of the inputs.
func sources(in Inputs) string {
	set := map[string]bool{}
	if in.Advisor != nil && in.Advisor.Source != "" {
		set[in.Advisor.Source] = true
	}
	if in.Score != nil && in.Score.Source != "" {
		set[in.Score.Source] = true
	}
	if in.CloudPrior != nil && in.CloudPrior.Signal.Source != "" {
		set[in.CloudPrior.Signal.Source] = true
	}
	if in.Obtainability != nil && in.Obtainability.Source != "" {
		set[in.Obtainability.Source] = true
	}
	for _, evs := range [][]market.Event{in.Events, in.Siblings} {
		for _, e := range evs {
			if e.Source != "" {
				set[e.Source] = true
			}
		}
	}
	if len(set) == 0 {
		return "prior"
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// hourIndex is the index into Hours of the hour that holds t. Before the
// first hour the first hour holds; after the last, the forecast repeats
// with a period of a week (the profile's period) when it covers at least
// a week, else the last hour holds. -1 for an empty forecast.
func (f Forecast) hourIndex(t time.Time) int {
	n := len(f.Hours)
	if n == 0 {
		return -1
	}
	i := int(math.Floor(t.Sub(f.Hours[0].Time).Hours()))
	switch {
	case i < 0:
		i = 0
	case i >= n && n >= HoursPerWeek:
		i -= HoursPerWeek * ((i-n)/HoursPerWeek + 1)
	case i >= n:
		i = n - 1
	}
	return i
}

// backgroundAt is the background rate at t (the rate of a forecast that
// predates the split).
func (f Forecast) backgroundAt(t time.Time) float64 {
	i := f.hourIndex(t)
	if i < 0 {
		return 0
	}
	if h := f.Hours[i]; h.Background > 0 || f.Burst > 0 {
		return h.Background
	}
	return f.Hours[i].Rate
}

// rateAt is the forecast rate at t: the background rate of its hour plus
// the burst at t.
func (f Forecast) rateAt(t time.Time) float64 {
	r := f.backgroundAt(t)
	if f.Burst > 0 && !t.Before(f.Generated) {
		r += f.Burst * f.BurstDecayPerHour * math.Exp(-f.BurstDecayPerHour*t.Sub(f.Generated).Hours())
	}
	return r
}

// pieces calls fn for the pieces of [start, start+d) that end at hour
// boundaries, where the background rate can change.
func pieces(start time.Time, d time.Duration, fn func(from, to time.Time)) {
	end := start.Add(d)
	for t := start; t.Before(end); {
		next := t.Truncate(time.Hour).Add(time.Hour)
		if next.After(end) {
			next = end
		}
		fn(t, next)
		t = next
	}
}

// integral is ∫ rate dt over [start, start+d), in expected loss events
// per node.
func (f Forecast) integral(start time.Time, d time.Duration) float64 {
	if d <= 0 || len(f.Hours) == 0 {
		return 0
	}
	var s float64
	pieces(start, d, func(from, to time.Time) {
		s += f.backgroundAt(from) * to.Sub(from).Hours()
	})
	return s + f.burstInt(start, start.Add(d))
}

// RateOver is the mean hazard per instance-hour over a run of length d
// from start (the rate at start when d ≤ 0).
func (f Forecast) RateOver(start time.Time, d time.Duration) float64 {
	if d <= 0 {
		return f.rateAt(start)
	}
	return f.integral(start, d) / d.Hours()
}

// ProbWithin is the probability that one instance started at Generated is
// interrupted at least once within h (ProbAnyWithin for one node).
func (f Forecast) ProbWithin(h time.Duration) float64 {
	return f.ProbAnyWithin(1, h)
}

// ProbAnyWithin is the probability that at least one of n nodes running
// from Generated is interrupted within h.
//
// The fleet meets loss events at n^γ times one node's rate (FleetExponent
// γ), so its expected loss events over clock hour i are x·Λ_i, with
// x = n^γ and Λ_i = μ·∫m + the burst's share of that hour. With a Gamma
// frailty of variance α shared by the fleet's nodes within the hour
// (Vaupel, Manton & Stallard 1979, "The impact of heterogeneity in
// individual frailty on the dynamics of mortality", Demography 16(3); the
// shared frailty model of Clayton 1978, Biometrika 65(1)), the chance of
// no loss in that hour is (1 + α·x·Λ_i)^(-1/α) (α → 0: exp(-x·Λ_i)),
// hours being independent given μ. The result integrates over μ's
// posterior (the posterior predictive), which is wider when little has
// been observed: exactly for α = 0 (the Gamma Laplace transform), and
// with each mixture component at its mean otherwise (components have
// shape ≥ 3 and sharpen as events come in). Forecasts without a
// Posterior use 1 - exp(-n·∫rate).
func (f Forecast) ProbAnyWithin(n int, h time.Duration) float64 {
	if n <= 0 || h <= 0 || len(f.Hours) == 0 {
		return 0
	}
	post := mixture(f.Posterior)
	mean := post.mean()
	if len(post) == 0 || !(mean > 0) {
		return clamp01(-math.Expm1(-float64(n) * f.integral(f.Generated, h)))
	}
	gamma := f.FleetExponent
	if gamma == 0 {
		gamma = 1
	}
	x := fleetUnits(float64(n), gamma)
	a := f.Dispersion
	if a <= 0 {
		// Exact: E[exp(-μX)]·exp(-burst) under the Gamma mixture.
		none := math.Exp(-x*f.burstInt(f.Generated, f.Generated.Add(h))) * (1 - post.probAny(x*(f.integral(f.Generated, h)-f.burstInt(f.Generated, f.Generated.Add(h)))/mean))
		return clamp01(1 - none)
	}
	// Per clock hour: background exposure in units of μ, and the burst.
	var ms, bs []float64
	pieces(f.Generated, h, func(from, to time.Time) {
		ms = append(ms, f.backgroundAt(from)*to.Sub(from).Hours()/mean)
		bs = append(bs, f.burstInt(from, to))
	})
	var none float64
	for _, c := range post {
		mu := c.Shape / c.Rate
		var l float64
		for i, m := range ms {
			l -= math.Log1p(a*x*(mu*m+bs[i])) / a
		}
		none += c.Weight * math.Exp(l)
	}
	return clamp01(1 - none)
}

// MTBF is the mean time between interruptions of one instance over the
// forecast: the reciprocal of the mean hourly rate.
func (f Forecast) MTBF() time.Duration {
	if len(f.Hours) == 0 {
		return 0
	}
	var s float64
	for _, h := range f.Hours {
		s += h.Rate
	}
	mean := s / float64(len(f.Hours))
	hours := 1 / mean
	if !(hours*float64(time.Hour) < math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(hours * float64(time.Hour))
}
