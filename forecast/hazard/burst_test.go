package hazard

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// simHawkes simulates n nodes of one pool for the given hours under the
// self-exciting hazard per node μ + η·β·Σ exp(-β(t - t_i)) (Ogata's
// thinning, Ogata 1981, IEEE Trans. Inf. Theory 27(1), Algorithm 2): each
// loss event takes one node, relaunched a minute later. The fleet's
// branching ratio is n·η: keep it below 1 or the process explodes.
func simHawkes(rng *rand.Rand, n, hours int, mu, eta, beta float64) []market.Event {
	key := market.Event{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Source: market.SourceSimulated}
	ev := func(h float64, kind string, c int) market.Event {
		e := key
		e.Time, e.Kind, e.Count = simStart.Add(time.Duration(h*float64(time.Hour))), kind, c
		return e
	}
	out := []market.Event{ev(0, market.EventObservationStart, n)}
	var t, s float64 // time and Σ exp(-β(t - t_i)) at t
	for {
		bound := float64(n) * (mu + eta*beta*s)
		w := rng.ExpFloat64() / bound
		s *= math.Exp(-beta * w)
		t += w
		if t >= float64(hours) {
			break
		}
		if rng.Float64()*bound <= float64(n)*(mu+eta*beta*s) {
			out = append(out, ev(t, market.EventPreempted, 1), ev(t+1.0/60, market.EventLaunched, 1))
			s++
		}
	}
	return append(out, ev(float64(hours), market.EventObservationEnd, 0))
}

// Known answers of the predictive: one Gamma(a, r) component, a flat
// background, a burst B fading at β, a fleet of n nodes at exponent γ.
func TestProbAnyWithinKnownAnswers(t *testing.T) {
	const a, r, B, beta = 4.0, 200.0, 0.3, 0.5
	mk := func(alpha, gamma float64) Forecast {
		f := Forecast{Generated: t0, Posterior: []Component{{Weight: 1, Shape: a, Rate: r}}, Burst: B,
			BurstDecayPerHour: beta, Dispersion: alpha, FleetExponent: gamma}
		for i := range 48 {
			f.Hours = append(f.Hours, Hour{Time: t0.Add(time.Duration(i) * time.Hour), Background: a / r, Rate: a/r + 0.01})
		}
		return f
	}
	for _, c := range []struct {
		n     int
		h     float64
		gamma float64
	}{{1, 1, 1}, {4, 1, 1}, {4, 1, 0.5}, {16, 6, 0.3}, {2, 24, 1}} {
		x := math.Pow(float64(c.n), c.gamma)
		burst := B * (1 - math.Exp(-beta*c.h))
		// Poisson: 1 - exp(-x·burst)·(r/(r + x·h))^a.
		want := 1 - math.Exp(-x*burst)*math.Pow(r/(r+x*c.h), a)
		if got := mk(0, c.gamma).ProbAnyWithin(c.n, time.Duration(c.h*float64(time.Hour))); math.Abs(got-want) > 1e-12 {
			t.Errorf("α=0 n=%d h=%v γ=%v: %v, want %v", c.n, c.h, c.gamma, got, want)
		}
		// Frailty α per clock hour, component at its mean a/r.
		const alpha = 0.7
		none := 1.0
		for i := range int(c.h) {
			bi := B * (math.Exp(-beta*float64(i)) - math.Exp(-beta*float64(i+1)))
			none *= math.Pow(1+alpha*x*(a/r+bi), -1/alpha)
		}
		if got := mk(alpha, c.gamma).ProbAnyWithin(c.n, time.Duration(c.h*float64(time.Hour))); math.Abs(got-(1-none)) > 1e-12 {
			t.Errorf("α=%v n=%d h=%v γ=%v: %v, want %v", alpha, c.n, c.h, c.gamma, got, 1-none)
		}
	}
	// A forecast decoded from before the fleet exponent (0) counts nodes
	// independently.
	if got, want := mk(0, 0).ProbAnyWithin(3, time.Hour), mk(0, 1).ProbAnyWithin(3, time.Hour); got != want {
		t.Errorf("fleet exponent 0: %v, want %v (read as 1)", got, want)
	}
}

// The filter's split of loss events into background and burst: without
// excitation every event is background; with it the first event of a
// burst (nothing before it) is all background and the ones right after
// it mostly burst, while an event long after the burst is background
// again.
func TestFilterSplitsBursts(t *testing.T) {
	evs := []market.Event{at(0, market.EventObservationStart, 1, "")}
	for _, h := range []float64{10, 10.5, 11, 80} {
		evs = append(evs, at(h, market.EventPreempted, 1, ""), at(h+0.01, market.EventLaunched, 1, ""))
	}
	evs = append(evs, at(100, market.EventObservationEnd, 0, ""))
	now := t0.Add(100 * time.Hour)
	h := replay(evs, now, 0)
	flat := filter(h, now, nil, Params{DecayPerHour: 1, FleetExponent: 1}, 0, 0.01)
	if math.Abs(flat.ev.n-4) > 1e-12 || math.Abs(flat.ev.e-(100-4*0.01)) > 1e-9 || flat.ev.rawN != 4 {
		t.Fatalf("no excitation: n %v e %v raw %d, want 4, 99.96, 4", flat.ev.n, flat.ev.e, flat.ev.rawN)
	}
	b := filter(h, now, nil, Params{Excitation: 0.8, DecayPerHour: 1, FleetExponent: 1}, 0, 0.01)
	// Event 1: share 1; events 2-3 within an hour of it: mostly burst;
	// event 4, 69 h later: share close to 1.
	if !(b.ev.n > 2 && b.ev.n < 2.5) {
		t.Errorf("background events %v, want between 2 and 2.5 (1 + two small shares + about 1)", b.ev.n)
	}
	if want := math.Exp(-20); math.Abs(b.excite-want)/want > 1e-9 || !b.last.Equal(t0.Add(80*time.Hour)) {
		t.Errorf("excitation at now %v (want %v), last %v", b.excite, want, b.last)
	}
	// Fleet units: 4 nodes at γ = 0.5 are 2 units.
	four := []market.Event{at(0, market.EventObservationStart, 4, ""), at(10, market.EventObservationEnd, 0, "")}
	if got := filter(replay(four, now, 0), now, nil, Params{DecayPerHour: 1, FleetExponent: 0.5}, 0, 0.01).ev.e; math.Abs(got-20) > 1e-9 {
		t.Errorf("exposure of 4 nodes x 10 h at γ=0.5: %v, want 20 unit-hours", got)
	}
}

// FitParams recovers the parameters of a simulated self-exciting pool,
// and the forecast it makes right after a loss is higher than a day
// later.
func TestFitRecoversSelfExcitingPool(t *testing.T) {
	const mu, eta, beta = 0.01, 0.6, 0.5
	rng := rand.New(rand.NewPCG(11, 12))
	var traces []Trace
	const days = 75
	for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		evs := simHawkes(rng, 1, days*24, mu, eta, beta)
		for j := range evs {
			evs[j].Zone = zone
		}
		traces = append(traces, Trace{Pool: market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: zone, InstanceType: "p3.2xlarge"}, Events: evs})
	}
	end := simStart.Add(days * 24 * time.Hour)
	fit, err := FitParams(traces, end, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := fit.Params
	t.Logf("fit: %+v on %d hours, %d positive; log loss %.4f (defaults %.4f); %d evaluations", p, fit.Origins, fit.Positives, fit.LogLoss, fit.DefaultLogLoss, fit.Evals)
	if p.Excitation < 0.35 || p.Excitation > 0.9 {
		t.Errorf("excitation %.3f, want about %v", p.Excitation, eta)
	}
	if p.DecayPerHour < beta/2 || p.DecayPerHour > beta*2 {
		t.Errorf("decay %.3f per hour, want about %v", p.DecayPerHour, beta)
	}
	if !(fit.LogLoss < fit.DefaultLogLoss) {
		t.Errorf("fitted log loss %.4f not below the defaults' %.4f", fit.LogLoss, fit.DefaultLogLoss)
	}
	// The background rate of the pools, from their events with the
	// fitted parameters, is about μ (the burst is split off).
	var all []market.Event
	for _, tr := range traces {
		all = append(all, tr.Events...)
	}
	f, err := Estimate(Inputs{Events: all}, end, Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	if bg := f.Hours[len(f.Hours)-1].Background; bg < mu/1.5 || bg > mu*1.5 {
		t.Errorf("background rate %.4f, want about %v", bg, mu)
	}
	// Right after a loss the next hour is riskier than a day later.
	f, err = Estimate(Inputs{Events: traces[0].Events}, end, Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	last := f.LastInterruption
	soon, err := Estimate(Inputs{Events: traces[0].Events}, last.Add(time.Minute), Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	later, err := Estimate(Inputs{Events: traces[0].Events}, last.Add(24*time.Hour), Options{Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	if ps, pl := soon.ProbWithin(time.Hour), later.ProbWithin(time.Hour); !(ps > 2*pl) {
		t.Errorf("P(1h) right after a loss %.3f, a day later %.3f: want the first well above", ps, pl)
	}
}

// EvaluateTraces on two hand-made traces: the climatologies use only the
// windows that ended by each origin, and ECE follows its definition.
func TestEvaluateTracesKnownAnswers(t *testing.T) {
	mk := func(zone string, evs ...market.Event) Trace {
		for i := range evs {
			evs[i].Cloud, evs[i].Region, evs[i].Zone, evs[i].InstanceType = market.AWS, "us-east-1", zone, "p3.2xlarge"
		}
		return Trace{Pool: market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: zone, InstanceType: "p3.2xlarge"}, Events: evs, Set: "hand"}
	}
	// A: one node from 0 to 5 h, preempted at 1.5 h, back at 1.6 h. B: one
	// node from 0 to 5 h, never interrupted. Origins 1, 2, 3, 4 h (at 0
	// nothing ran before); only A's origin 1 h is followed by a loss.
	a := mk("us-east-1a", at(0, market.EventObservationStart, 1, ""), at(1.5, market.EventPreempted, 1, ""),
		at(1.6, market.EventLaunched, 1, ""), at(5, market.EventObservationEnd, 0, ""))
	b := mk("us-east-1b", at(0, market.EventObservationStart, 1, ""), at(5, market.EventObservationEnd, 0, ""))
	ev, err := EvaluateTraces([]Trace{a, b}, EvalOptions{Fixed: true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := BucketHazard(DefaultBucket)
	adv := -math.Expm1(-h)
	// Own zone: A sees 1, 1/2, 1/3 after its first window; B 0, 0, 0;
	// both start from the pooled share, which starts from the advisor.
	own := ((adv-1)*(adv-1) + 1 + 0.25 + 1.0/9 + adv*adv) / 8
	// Pooled (and fleet size: every origin has one node): 1/2, 1/4, 1/6
	// at origins 2, 3, 4 h for both traces.
	pooled := ((adv-1)*(adv-1) + adv*adv + 2*(0.25+1.0/16+1.0/36)) / 8
	if ev.Model.Forecasts != 8 || ev.Model.Positives != 1 {
		t.Fatalf("%d forecasts, %d positive; want 8 and 1", ev.Model.Forecasts, ev.Model.Positives)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"own zone", ev.OwnClimatology.Brier, own},
		{"pooled", ev.HourlyFrequency.Brier, pooled},
		{"fleet size", ev.FleetClimatology.Brier, pooled},
		{"advisor", ev.AdvisorOnly.Brier, ((adv-1)*(adv-1) + 7*adv*adv) / 8},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s Brier %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(ev.Sets) != 1 || ev.Sets[0].Set != "hand" || ev.Sets[0].Traces != 2 || ev.Sets[0].Model.Brier != ev.Model.Brier {
		t.Errorf("sets %+v, want one set \"hand\" equal to the whole", ev.Sets)
	}

	s := newScorer(EvalOptions{Bins: 10, Eps: 1e-6})
	for _, f := range []struct {
		p float64
		y bool
	}{{0.1, false}, {0.15, true}, {0.8, true}, {0.85, true}} {
		s.add(f.p, f.y)
	}
	// Bins [0.1, 0.2): forecast 0.125, observed 0.5; [0.8, 0.9): 0.825, 1.
	if got, want := s.scores().ECE, (2*0.375+2*0.175)/4; math.Abs(got-want) > 1e-12 {
		t.Errorf("ECE %v, want %v", got, want)
	}
}
