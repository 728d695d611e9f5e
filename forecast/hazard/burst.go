package hazard

import (
	"fmt"
	"math"
	"time"
)

// Params are the parameters every pool of a cloud shares: how fast
// evidence ages, how strongly an interruption raises the hazard of the
// hours after it and how fast that fades, and how a fleet's nodes are
// lost together. FitParams fits them on the histories whose exposure is
// known, by the score the interruption backtest reports; DefaultParams
// stands in until there is enough data.
type Params struct {
	// HalfLifeHours discounts the evidence on a pool's background rate
	// by 2^(-age/half-life); 0 or negative: no discounting.
	HalfLifeHours float64 `json:"half_life_hours"`
	// Excitation η is the branching ratio of the self-exciting part: the
	// expected number of further loss events one loss event triggers in
	// a pool while one node runs (0: no bursts).
	Excitation float64 `json:"excitation"`
	// DecayPerHour β: what a loss event adds to the hazard fades as
	// exp(-β·Δt) (1/β is the burst's mean life in hours).
	DecayPerHour float64 `json:"decay_per_hour"`
	// Frailty α is the variance of a Gamma frailty shared by every node of
	// a pool within a clock hour (0: Poisson; see ProbAnyWithin).
	Frailty float64 `json:"frailty"`
	// FleetExponent γ in (0, 1]: a fleet of n nodes meets loss events
	// n^γ times as often as one node (1: every node on its own; towards 0:
	// the fleet's nodes go together).
	FleetExponent float64 `json:"fleet_exponent"`
}

// DefaultParams are used until FitParams has data: a week's half-life (the
// discounting spotcast has always used), no bursts, a moderate frailty
// and a fleet exponent halfway between nodes lost one by one (1) and all
// together (0): a cloud reclaims capacity in chunks, so a fleet's nodes
// are not independent draws, but how far they go together is not known
// before data on fleets says so. They are stated beforehand, not fitted
// on any trace.
func DefaultParams() Params {
	return Params{HalfLifeHours: HoursPerWeek, Excitation: 0, DecayPerHour: 1, Frailty: 1, FleetExponent: 0.5}
}

// Bounds of the parameters: FitParams searches inside them and Estimate
// refuses anything outside.
const (
	minHalfLifeHours = 1.0
	maxHalfLifeHours = 24 * 365.0
	maxExcitation    = 20.0
	minDecayPerHour  = 0.01
	maxDecayPerHour  = 60.0
	maxFrailty       = 50.0
	minFleetExponent = 0.05
)

func (p Params) validate() error {
	switch {
	case math.IsNaN(p.HalfLifeHours) || p.HalfLifeHours > maxHalfLifeHours:
		return fmt.Errorf("half-life %v h: want at most %v", p.HalfLifeHours, maxHalfLifeHours)
	case !(p.Excitation >= 0 && p.Excitation <= maxExcitation):
		return fmt.Errorf("excitation %v: want in [0, %v]", p.Excitation, maxExcitation)
	case !(p.DecayPerHour >= minDecayPerHour && p.DecayPerHour <= maxDecayPerHour):
		return fmt.Errorf("decay %v per hour: want in [%v, %v]", p.DecayPerHour, minDecayPerHour, maxDecayPerHour)
	case !(p.Frailty >= 0 && p.Frailty <= maxFrailty):
		return fmt.Errorf("frailty %v: want in [0, %v]", p.Frailty, maxFrailty)
	case !(p.FleetExponent >= minFleetExponent && p.FleetExponent <= 1):
		return fmt.Errorf("fleet exponent %v: want in [%v, 1]", p.FleetExponent, minFleetExponent)
	}
	return nil
}

// fleetUnits is the exposure of n running nodes in units of one node:
// n^γ.
func fleetUnits(n, gamma float64) float64 {
	if n <= 0 {
		return 0
	}
	if gamma == 1 {
		return n
	}
	return math.Pow(n, gamma)
}

// clusterGap: interruptions of a pool within this long of the first one
// of a group are one loss event (a fleet losing several nodes at once,
// reported per instance; AWS's notice is two minutes).
const clusterGap = 2 * time.Minute

// lossEvent is one loss event (weight 1) or a rebalance recommendation
// (weight Options.RebalanceWeight).
type lossEvent struct {
	t time.Time
	w float64
}

// lossEvents groups a history's hits into loss events.
func lossEvents(h history) []lossEvent {
	var out []lossEvent
	var start time.Time
	for _, x := range h.hits {
		switch {
		case x.rebalance:
			out = append(out, lossEvent{t: x.t, w: x.w})
		case len(out) > 0 && !start.IsZero() && x.t.Sub(start) <= clusterGap:
			// Part of the current loss event.
		default:
			out = append(out, lossEvent{t: x.t, w: 1})
			start = x.t
		}
	}
	return out
}

// burst is what a pool's history says at now under the self-exciting
// model: the evidence on its background rate and the excitation left by
// its recent loss events.
type burst struct {
	ev evidence
	// excite is Σ w_i·exp(-β(now - t_i)) over loss events: the hazard
	// per unit running is μ·m(t) + η·β·excite·exp(-β(t-now)) from now on.
	excite float64
	last   time.Time // the last loss event (zero: none)
}

// runningPriorHours is the weight, in unit-hours, of the prior mean in the
// running background rate that splits each loss event into background and
// burst.
const runningPriorHours = 24.0

// filter runs the self-exciting model over a pool's history up to now.
//
// The hazard per unit of exposure (fleetUnits of the running nodes) is
//
//	λ(t) = μ·m(t) + η·β·Σ_{t_i<t} w_i·exp(-β(t - t_i)),
//
// a Hawkes process with an exponential kernel (Hawkes 1971, "Spectra of
// some self-exciting and mutually exciting point processes", Biometrika
// 58(1), eq. 1; Ogata 1988, JASA 83, for its likelihood) whose
// background μ·m(t) is the pool's rate times the weekly profile. Each
// loss event is split into background and triggered parts by the
// probability that it came from the background, μ̂·m/λ, the E-step of the
// branching-structure EM of Veen & Schoenberg (2008), "Estimation of
// space-time branching process models in seismology using an EM-type
// algorithm", JASA 103(482), eq. 5; μ̂ is the running estimate at that
// moment (the background evidence so far with runningPriorHours of the
// prior mean mu0), so the split uses no later data. The background parts
// and the profile-weighted exposure, discounted by halfLife, are the
// Gamma-Poisson evidence on μ (see weigh).
func filter(h history, now time.Time, prof *Profile, par Params, maxAge time.Duration, mu0 float64) burst {
	var b burst
	var cutoff time.Time
	if maxAge > 0 {
		cutoff = now.Add(-maxAge)
	}
	disc := func(t time.Time) float64 {
		if par.HalfLifeHours <= 0 {
			return 1
		}
		return math.Exp2(-now.Sub(t).Hours() / par.HalfLifeHours)
	}
	events := lossEvents(h)
	k := 0 // next loss event
	var s float64
	var sAt time.Time
	onEvent := func(le lossEvent) {
		if !sAt.IsZero() {
			s *= math.Exp(-par.DecayPerHour * le.t.Sub(sAt).Hours())
		}
		sAt = le.t
		if !cutoff.IsZero() && le.t.Before(cutoff) {
			s += le.w
			return
		}
		w := disc(le.t)
		mu := (b.ev.n + runningPriorHours*mu0*w) / (b.ev.e + runningPriorHours*w)
		bg := mu * prof.At(le.t)
		share := 1.0
		if ex := par.Excitation * par.DecayPerHour * s; ex > 0 {
			share = bg / (bg + ex)
		}
		b.ev.n += share * le.w * w
		s += le.w
		if le.w >= 1 {
			b.last = le.t
		}
	}
	for _, sp := range h.spans {
		start, end := sp.start, sp.end
		if end.After(now) {
			end = now
		}
		if !cutoff.IsZero() && start.Before(cutoff) {
			start = cutoff
		}
		u := fleetUnits(sp.n, par.FleetExponent)
		if end.After(start) {
			b.ev.rawE += sp.n * end.Sub(start).Hours()
		}
		// Pieces end at hour boundaries (the profile is constant within
		// an hour) and at loss events, so each event sees the exposure
		// before it.
		for t := start; t.Before(end); {
			next := t.Truncate(time.Hour).Add(time.Hour)
			if next.After(end) {
				next = end
			}
			for k < len(events) && !events[k].t.After(t) {
				onEvent(events[k])
				k++
			}
			if k < len(events) && events[k].t.Before(next) {
				next = events[k].t
			}
			d := next.Sub(t)
			b.ev.e += u * d.Hours() * prof.At(t) * disc(t.Add(d/2))
			t = next
		}
	}
	for ; k < len(events); k++ {
		onEvent(events[k])
	}
	if !sAt.IsZero() {
		b.excite = s * math.Exp(-par.DecayPerHour*now.Sub(sAt).Hours())
	}
	for _, x := range h.hits {
		if !cutoff.IsZero() && x.t.Before(cutoff) {
			continue
		}
		if x.rebalance {
			b.ev.rebalances++
		} else {
			b.ev.rawN += int(x.w)
		}
	}
	return b
}
