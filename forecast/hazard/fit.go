package hazard

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/forecast/internal/boxmin"
	"github.com/spotcast/spotcast/market"
)

// Fit is the result of FitParams.
type Fit struct {
	Params Params `json:"params"`
	// Before is the instant the fit used data up to.
	Before time.Time `json:"before"`
	// Pools, Origins and Positives: the pools with known exposure, the
	// hourly origins with running nodes scored, and those followed by an
	// interruption within the hour.
	Pools     int `json:"pools"`
	Origins   int `json:"origins"`
	Positives int `json:"positives"`
	// FleetOrigins and FleetPositives count the origins with two nodes or
	// more; with fewer than 48 and 5 the fleet exponent cannot be told
	// from the data and stays at DefaultParams' (FleetFitted false).
	FleetOrigins   int  `json:"fleet_origins"`
	FleetPositives int  `json:"fleet_positives"`
	FleetFitted    bool `json:"fleet_fitted"`
	// LogLoss is the mean log loss of the one-hour forecasts at Params;
	// DefaultLogLoss at DefaultParams, for comparison.
	LogLoss        float64 `json:"log_loss"`
	DefaultLogLoss float64 `json:"default_log_loss"`
	Evals          int     `json:"evals"`
}

// ErrTooFewData: the histories hold too few observed hours or
// interruptions to fit the parameters; keep the ones in use.
var ErrTooFewData = errors.New("too few observed hours to fit the hazard parameters")

// A fit needs at least this many scored hours and interruptions.
const (
	minFitOrigins   = 48
	minFitPositives = 5
)

// FitParams fits the shared parameters to histories with known exposure
// (trace files, observation brackets, launches), by the score the
// interruption backtest reports: the mean log loss of the forecasts of
// "at least one of the running nodes is interrupted within the hour",
// made at every whole hour with running nodes from the events before it,
// with each pool's own prior (its advisor row) and no siblings, over the
// windows that ended by before. Only events before before are read, so a
// backtest that refits at each origin on the past alone tunes its
// hyper-parameters by nested rolling origin (Tashman 2000, "Out-of-sample
// tests of forecasting accuracy", IJF 16, §2.3), with no look-ahead.
//
// The search is Nelder-Mead over log half-life, log excitation, log
// decay, log frailty and the fleet exponent inside their bounds (the
// exponent only when fleets of two nodes or more were watched), with a
// weak Gaussian penalty (worth one scored hour, 2 units of log either
// way) towards its starting point, so a small data set cannot push a
// parameter to a bound on noise. Histories whose events never say how
// many nodes ran (bare EventBridge warnings) are skipped: their exposure
// is a guess. ErrTooFewData when fewer than 48 hours or 5 interruptions
// are left.
func FitParams(traces []Trace, before time.Time, opts Options) (Fit, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Fit{}, err
	}
	if _, err := o.params(); err != nil {
		return Fit{}, err
	}
	data, err := fitData(traces, before, o)
	if err != nil {
		return Fit{}, err
	}
	fit := Fit{Before: before, Pools: len(data)}
	for _, d := range data {
		for _, it := range d.items {
			if it.kind == itemOrigin {
				fit.Origins++
				if it.y {
					fit.Positives++
				}
				if it.n >= 2 {
					fit.FleetOrigins++
					if it.y {
						fit.FleetPositives++
					}
				}
			}
		}
	}
	if fit.Origins < minFitOrigins || fit.Positives < minFitPositives {
		return fit, fmt.Errorf("%d hours with %d interruptions before %s (want %d and %d): %w",
			fit.Origins, fit.Positives, before.Format(time.RFC3339), minFitOrigins, minFitPositives, ErrTooFewData)
	}
	// Coordinates: log half-life, log excitation, log decay, log frailty,
	// and the fleet exponent when fleets were observed.
	def := DefaultParams()
	lo := []float64{math.Log(minHalfLifeHours), math.Log(1e-3), math.Log(minDecayPerHour), math.Log(1e-3), minFleetExponent}
	hi := []float64{math.Log(maxHalfLifeHours), math.Log(maxExcitation), math.Log(maxDecayPerHour), math.Log(maxFrailty), 1}
	x0 := []float64{math.Log(HoursPerWeek), math.Log(0.3), 0, 0, def.FleetExponent}
	scale := []float64{2, 2, 2, 2, 0.5}
	fit.FleetFitted = fit.FleetOrigins >= minFitOrigins && fit.FleetPositives >= minFitPositives
	if !fit.FleetFitted {
		lo, hi, x0, scale = lo[:4], hi[:4], x0[:4], scale[:4]
	}
	toParams := func(x []float64) Params {
		p := Params{HalfLifeHours: math.Exp(x[0]), Excitation: math.Exp(x[1]), DecayPerHour: math.Exp(x[2]),
			Frailty: math.Exp(x[3]), FleetExponent: def.FleetExponent}
		if len(x) > 4 {
			p.FleetExponent = x[4]
		}
		return p
	}
	n := float64(fit.Origins)
	obj := func(x []float64) float64 {
		fit.Evals++
		pen := 0.0
		for i := range x {
			z := (x[i] - x0[i]) / scale[i]
			pen += z * z / 2
		}
		return fitLoss(data, toParams(x))/n + pen/n
	}
	x, err := boxmin.Minimize(obj, x0, lo, hi, 400)
	if err != nil {
		return fit, fmt.Errorf("fit hazard parameters: %w", err)
	}
	fit.Params = toParams(x)
	fit.LogLoss = fitLoss(data, fit.Params) / n
	fit.DefaultLogLoss = fitLoss(data, DefaultParams()) / n
	if fit.DefaultLogLoss < fit.LogLoss {
		// The search started elsewhere and found nothing better.
		fit.Params, fit.LogLoss = DefaultParams(), fit.DefaultLogLoss
	}
	return fit, nil
}

// Kinds of fitItem, in the order they apply at one instant: an origin
// sees the state before the instant's changes and losses.
const (
	itemOrigin = iota
	itemChange
	itemLoss
)

type fitItem struct {
	t    float64 // hours since the pool's first item
	kind int
	n    float64 // running nodes (origin, change)
	w    float64 // loss event weight
	y    bool    // origin: an interruption within the hour
}

// fitPool is one pool's history as a timeline, with its prior.
type fitPool struct {
	items []fitItem
	prior mixture
	mu0   float64
	// sameShape: every prior component has the same shape, so the
	// mixture update's Γ ratio cancels.
	sameShape bool
	// logW and logR are each prior component's log weight and log rate.
	logW, logR []float64
}

// fitData turns the histories into per-pool timelines: running-count
// changes, loss events and hourly origins.
func fitData(traces []Trace, before time.Time, o Options) ([]fitPool, error) {
	type poolData struct {
		adv    *market.AdvisorRow
		events []market.Event
	}
	byPool := map[poolOf]*poolData{}
	var keys []poolOf
	for _, tr := range traces {
		for _, e := range tr.Events {
			k := poolOf{e.Cloud, e.Region, e.Zone, e.InstanceType}
			d := byPool[k]
			if d == nil {
				d = &poolData{}
				byPool[k] = d
				keys = append(keys, k)
			}
			if d.adv == nil {
				d.adv = tr.Advisor
			}
			d.events = append(d.events, e)
		}
	}
	rbw := math.Max(o.RebalanceWeight, 0)
	var out []fitPool
	for _, k := range keys {
		d := byPool[k]
		h := replay(d.events, before, rbw)
		if h.implicit || len(h.spans) == 0 {
			continue
		}
		pr, err := buildPrior(Inputs{Advisor: d.adv}, o)
		if err != nil {
			return nil, fmt.Errorf("pool %s/%s: %w: %w", k.zone, k.typ, err, ErrInput)
		}
		t0 := h.spans[0].start
		hours := func(t time.Time) float64 { return t.Sub(t0).Hours() }
		var items []fitItem
		for i, s := range h.spans {
			items = append(items, fitItem{t: hours(s.start), kind: itemChange, n: s.n})
			if i+1 == len(h.spans) || !h.spans[i+1].start.Equal(s.end) {
				items = append(items, fitItem{t: hours(s.end), kind: itemChange})
			}
			// Whole hours t with start < t <= end: n nodes ran just before t.
			for t := s.start.Truncate(time.Hour).Add(time.Hour); !t.After(s.end) && !t.Add(time.Hour).After(before); t = t.Add(time.Hour) {
				items = append(items, fitItem{t: hours(t), kind: itemOrigin, n: s.n, y: lostIn(h, t, t.Add(time.Hour))})
			}
		}
		for _, le := range lossEvents(h) {
			items = append(items, fitItem{t: hours(le.t), kind: itemLoss, w: le.w})
		}
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].t != items[j].t {
				return items[i].t < items[j].t
			}
			return items[i].kind < items[j].kind
		})
		fp := fitPool{items: items, prior: pr.mix, mu0: pr.mean, sameShape: true}
		for _, c := range pr.mix {
			fp.sameShape = fp.sameShape && c.Shape == pr.mix[0].Shape
			fp.logW = append(fp.logW, math.Log(c.Weight))
			fp.logR = append(fp.logR, math.Log(c.Rate))
		}
		out = append(out, fp)
	}
	return out, nil
}

// lostIn reports whether the history has an interruption in [from, to).
func lostIn(h history, from, to time.Time) bool {
	i := sort.Search(len(h.hits), func(k int) bool { return !h.hits[k].t.Before(from) })
	for _, x := range h.hits[i:] {
		if !x.t.Before(to) {
			return false
		}
		if !x.rebalance {
			return true
		}
	}
	return false
}

// fitLoss is the summed log loss of the hourly forecasts under par: the
// same filter and predictive as Estimate and ProbAnyWithin (flat profile,
// no siblings), run forward once over each timeline.
func fitLoss(data []fitPool, par Params) float64 {
	const eps = 1e-6
	var loss float64
	lw := []float64{}
	for _, d := range data {
		var N, E, S, u, tc float64
		first := true
		for _, it := range d.items {
			if first {
				tc, first = it.t, false
			}
			if dt := it.t - tc; dt > 0 {
				if par.HalfLifeHours > 0 {
					dd := math.Exp2(-dt / par.HalfLifeHours)
					E = E*dd + u*par.HalfLifeHours/math.Ln2*(1-dd)
					N *= dd
				} else {
					E += u * dt
				}
				S *= math.Exp(-par.DecayPerHour * dt)
				tc = it.t
			}
			switch it.kind {
			case itemChange:
				u = fleetUnits(it.n, par.FleetExponent)
			case itemLoss:
				mu := (N + runningPriorHours*d.mu0) / (E + runningPriorHours)
				share := 1.0
				if ex := par.Excitation * par.DecayPerHour * S; ex > 0 {
					share = mu / (mu + ex)
				}
				N += share * it.w
				S += it.w
			case itemOrigin:
				p := fitPredict(d, N, E, fleetUnits(it.n, par.FleetExponent), par.Excitation*S*(1-math.Exp(-par.DecayPerHour)), par.Frailty, &lw)
				p = math.Min(math.Max(p, eps), 1-eps)
				if it.y {
					loss -= math.Log(p)
				} else {
					loss -= math.Log1p(-p)
				}
			}
		}
	}
	return loss
}

// fitPredict is ProbAnyWithin for one hour: the prior updated with n
// background events in exposure e, x fleet units, burst b (expected loss
// events per unit in the hour) and frailty a. Components whose posterior
// weight is below e^-30 of the largest are left out.
func fitPredict(d fitPool, n, e, x, b, a float64, lw *[]float64) float64 {
	*lw = (*lw)[:0]
	maxw := math.Inf(-1)
	le := math.Log(e)
	for i, c := range d.prior {
		l := d.logW[i]
		if e > 0 {
			lre := math.Log(c.Rate + e)
			l += c.Shape*(d.logR[i]-lre) + n*(le-lre)
			if !d.sameShape {
				g1, _ := math.Lgamma(c.Shape + n)
				g0, _ := math.Lgamma(c.Shape)
				l += g1 - g0
			}
		}
		*lw = append(*lw, l)
		maxw = math.Max(maxw, l)
	}
	var none, sum float64
	for i, c := range d.prior {
		if (*lw)[i] < maxw-30 {
			continue
		}
		w := math.Exp((*lw)[i] - maxw)
		sum += w
		shape, rate := c.Shape+n, c.Rate+e
		var q float64
		if a <= 0 {
			q = math.Exp(-x*b + shape*math.Log(rate/(rate+x)))
		} else {
			q = math.Exp(-math.Log1p(a*x*(shape/rate+b)) / a)
		}
		none += w * q
	}
	return 1 - none/sum
}
