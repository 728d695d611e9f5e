package hazard

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func TestBucketHazard(t *testing.T) {
	for _, c := range []struct {
		bucket int
		want   float64
		err    bool
	}{
		{0, -math.Log(0.975) / 730, false},
		{1, -math.Log(0.925) / 730, false},
		{4, -math.Log(0.70) / 730, false},
		{-1, 0, true},
		{5, 0, true},
	} {
		got, err := BucketHazard(c.bucket)
		if (err != nil) != c.err || math.Abs(got-c.want) > 1e-15 {
			t.Errorf("BucketHazard(%d) = %g, %v; want %g, error %v", c.bucket, got, err, c.want, c.err)
		}
	}
}

func TestMultipliers(t *testing.T) {
	for _, c := range []struct {
		score int
		want  float64
		err   bool
	}{{1, 2, false}, {10, 0.5, false}, {0, 0, true}, {11, 0, true}} {
		got, err := ScoreMultiplier(c.score)
		if (err != nil) != c.err || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ScoreMultiplier(%d) = %g, %v", c.score, got, err)
		}
	}
	for _, c := range []struct {
		r, want float64
		err     bool
	}{{0.2, 1, false}, {0.5, 1, false}, {0.75, 1.5, false}, {1, 3, false}, {2, 3, false}, {math.NaN(), 0, true}, {-1, 0, true}} {
		got, err := PressureMultiplier(c.r)
		if (err != nil) != c.err || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("PressureMultiplier(%v) = %g, %v", c.r, got, err)
		}
	}
}

func TestPriorMeanAndConjugateUpdate(t *testing.T) {
	for _, mean := range []float64{3.5e-5, 4.9e-4, 0.01} {
		m := newPrior(mean, 1.5)
		if got := m.mean(); math.Abs(got/mean-1) > 0.03 {
			t.Errorf("prior mean %g, want %g", got, mean)
		}
		// Median of a mean-matched log-normal: mean·exp(-σ²/2), a little
		// lower here because each component (shape 3) has its median
		// 11% below its mean.
		if got, want := m.quantile(0.5), mean*math.Exp(-1.125); math.Abs(got/want-1) > 0.2 {
			t.Errorf("prior median %g, want about %g", got, want)
		}
	}
	// One component: exactly the textbook update α+n, β+E.
	one := mixture{{Weight: 1, Shape: 2, Rate: 100}}
	post := one.update(7, 300)
	if len(post) != 1 || post[0].Shape != 9 || post[0].Rate != 400 || post[0].Weight != 1 {
		t.Fatalf("update = %+v, want Gamma(9, 400)", post)
	}
	// Quantiles invert the CDF.
	for _, p := range []float64{0.05, 0.5, 0.95} {
		if got := post.cdf(post.quantile(p)); math.Abs(got-p) > 1e-6 {
			t.Errorf("cdf(quantile(%g)) = %g", p, got)
		}
	}
	// Predictive: (β/(β+x))^α.
	if got, want := post.probAny(50), 1-math.Pow(400.0/450, 9); math.Abs(got-want) > 1e-12 {
		t.Errorf("probAny = %g, want %g", got, want)
	}
}

var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

func at(h float64, kind string, count int, id string) market.Event {
	return market.Event{Time: t0.Add(time.Duration(h * float64(time.Hour))), Kind: kind, Count: count, InstanceID: id}
}

func TestReplay(t *testing.T) {
	for _, c := range []struct {
		name     string
		events   []market.Event
		until    float64
		exposure float64
		n        float64 // weighted interruptions
		raw      int
		skipped  int
		implicit bool
	}{
		{"trace", []market.Event{
			at(0, market.EventObservationStart, 1, ""), at(2, market.EventPreempted, 1, ""),
			at(3, market.EventLaunched, 1, ""), at(10, market.EventObservationEnd, 0, ""),
		}, 20, 9, 1, 1, 0, false},
		{"multi-node counts", []market.Event{
			at(0, market.EventObservationStart, 4, ""), at(1, market.EventPreempted, 2, ""),
			at(2, market.EventLaunched, 1, ""), at(4, market.EventObservationEnd, 0, ""),
		}, 20, 4 + 2 + 2*3, 2, 2, 0, false},
		{"no look-ahead", []market.Event{
			at(0, market.EventObservationStart, 1, ""), at(5, market.EventPreempted, 1, ""),
		}, 4, 4, 0, 0, 0, false},
		{"warning then preempted is one", []market.Event{
			at(0, market.EventLaunched, 1, "i-1"), at(1, market.EventInterruptionWarning, 1, "i-1"),
			at(1.03, market.EventPreempted, 1, "i-1"),
		}, 2, 1, 1, 1, 0, false},
		{"rebalance counts a quarter", []market.Event{
			at(0, market.EventLaunched, 1, "i-1"), at(1, market.EventRebalance, 1, "i-1"),
		}, 2, 2, 0.25, 0, 0, false},
		{"rebalance linked to an interruption", []market.Event{
			at(0, market.EventLaunched, 1, "i-1"), at(1, market.EventRebalance, 1, "i-1"),
			at(2, market.EventInterruptionWarning, 1, "i-1"),
		}, 3, 2, 1, 1, 0, false},
		{"warnings only: minimum exposure", []market.Event{
			at(1, market.EventInterruptionWarning, 1, "i-1"), at(3, market.EventInterruptionWarning, 1, "i-2"),
		}, 5, 4, 2, 2, 0, true},
		{"unknown kind and zero time skipped", []market.Event{
			at(0, market.EventObservationStart, 1, ""), at(1, "bogus", 1, ""), {Kind: market.EventPreempted},
		}, 2, 2, 0, 0, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			until := t0.Add(time.Duration(c.until * float64(time.Hour)))
			h := replay(c.events, until, 0.25)
			ev := weigh(h, until, nil, 0, 0)
			if math.Abs(ev.e-c.exposure) > 1e-9 || math.Abs(ev.n-c.n) > 1e-9 || ev.rawN != c.raw ||
				h.skipped != c.skipped || h.implicit != c.implicit {
				t.Errorf("exposure %g, n %g, raw %d, skipped %d, implicit %v; want %g, %g, %d, %d, %v",
					ev.e, ev.n, ev.rawN, h.skipped, h.implicit, c.exposure, c.n, c.raw, c.skipped, c.implicit)
			}
		})
	}
}

func TestDiscountAndProfileWeighting(t *testing.T) {
	evs := []market.Event{at(0, market.EventObservationStart, 1, ""), at(10, market.EventPreempted, 1, "")}
	now := t0.Add(10 * time.Hour)
	h := replay(evs, now, 0)
	// Half-life 10h: exposure ∫0^10 2^-(10-t)/10 dt = 10/ln2·(1-1/2).
	ev := weigh(h, now, nil, 10*time.Hour, 0)
	if want := 10 / math.Ln2 * 0.5; math.Abs(ev.e-want) > 0.01 {
		t.Errorf("discounted exposure %g, want %g", ev.e, want)
	}
	var p Profile
	for k := range p {
		p[k] = 1
	}
	p[0], p[1] = 3, 3 // Monday 00:00-02:00
	ev = weigh(h, now, &p, 0, 0)
	if want := 3 + 3 + 8.0; math.Abs(ev.e-want) > 1e-9 {
		t.Errorf("profile-weighted exposure %g, want %g", ev.e, want)
	}
}

func flatForecast(rate float64, hours int) Forecast {
	f := Forecast{Generated: t0}
	for i := range hours {
		f.Hours = append(f.Hours, Hour{Time: t0.Add(time.Duration(i) * time.Hour), Rate: rate, Lo: rate, Hi: rate})
	}
	return f
}

func TestForecastMethods(t *testing.T) {
	f := flatForecast(0.1, HoursPerWeek)
	if got, want := f.ProbWithin(5*time.Hour), 1-math.Exp(-0.5); math.Abs(got-want) > 1e-12 {
		t.Errorf("ProbWithin(5h) = %g, want %g", got, want)
	}
	// Beyond the horizon the week repeats.
	if got, want := f.ProbWithin(2*HoursPerWeek*time.Hour), 1-math.Exp(-0.1*2*HoursPerWeek); math.Abs(got-want) > 1e-12 {
		t.Errorf("ProbWithin(2 weeks) = %g, want %g", got, want)
	}
	if got := f.MTBF(); got != 10*time.Hour {
		t.Errorf("MTBF = %v, want 10h", got)
	}
	f.Hours[3].Rate = 0.5 // 03:00-04:00
	if got, want := f.RateOver(t0.Add(150*time.Minute), time.Hour), (0.5*0.1+0.5*0.5)/1; math.Abs(got-want) > 1e-12 {
		t.Errorf("RateOver = %g, want %g", got, want)
	}
	if got := f.RateOver(t0.Add(3*time.Hour), 0); got != 0.5 {
		t.Errorf("RateOver(d=0) = %g, want 0.5", got)
	}
	if got := f.ProbWithin(0); got != 0 {
		t.Errorf("ProbWithin(0) = %g", got)
	}
	// More instances, more risk; with a Posterior the predictive is
	// below the plug-in value (Jensen) but close when λ is known well.
	f2 := flatForecast(0.01, 24)
	f2.Posterior = []Component{{Weight: 1, Shape: 5, Rate: 500}}
	p1, p4 := f2.ProbWithin(10*time.Hour), f2.ProbAnyWithin(4, 10*time.Hour)
	if plug := 1 - math.Exp(-0.1); !(p1 < plug && p1 > 0.9*plug && p4 > p1) {
		t.Errorf("ProbWithin %g, ProbAnyWithin(4) %g, plug-in %g", p1, p4, plug)
	}
	f2.Dispersion = 2
	if pd := f2.ProbWithin(10 * time.Hour); !(pd < p1) {
		t.Errorf("with dispersion %g, want below Poisson %g", pd, p1)
	}
}

func TestWindows(t *testing.T) {
	f := flatForecast(0.01, 10)
	for _, i := range []int{3, 4, 7} {
		f.Hours[i].Rate = 0.03
	}
	f.Hours[4].Rate = 0.05
	ws := windows(f.Hours, 1.5*0.01)
	if len(ws) != 2 {
		t.Fatalf("windows %+v, want 2", ws)
	}
	if !ws[0].Start.Equal(t0.Add(3*time.Hour)) || !ws[0].End.Equal(t0.Add(5*time.Hour)) ||
		ws[0].PeakRate != 0.05 || math.Abs(ws[0].MeanRate-0.04) > 1e-12 {
		t.Errorf("first window %+v", ws[0])
	}
}

func TestEstimateInputErrors(t *testing.T) {
	bad := 7
	for _, c := range []struct {
		name string
		in   Inputs
		now  time.Time
		o    Options
	}{
		{"zero now", Inputs{}, time.Time{}, Options{}},
		{"horizon too long", Inputs{}, t0, Options{Horizon: MaxHorizon + time.Hour}},
		{"horizon negative", Inputs{}, t0, Options{Horizon: -time.Hour}},
		{"bucket", Inputs{Advisor: &market.AdvisorRow{Bucket: bad}}, t0, Options{}},
		{"score", Inputs{Score: &market.PlacementScore{Score: 0}}, t0, Options{}},
		{"NaN pressure", Inputs{PricePressure: math.NaN()}, t0, Options{}},
		{"level", Inputs{}, t0, Options{Level: 1.5}},
		{"profile NaN", Inputs{Profile: &Profile{0: math.NaN()}}, t0, Options{}},
	} {
		if _, err := Estimate(c.in, c.now, c.o); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", c.name, err)
		}
	}
}

func TestEstimateShape(t *testing.T) {
	now := t0.Add(90 * time.Minute)
	prior, err := Estimate(Inputs{Advisor: &market.AdvisorRow{Bucket: 1, Source: "file:a.json"}}, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(prior.Hours) != HoursPerWeek || !prior.Hours[0].Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%d hours from %v", len(prior.Hours), prior.Hours[0].Time)
	}
	for _, h := range prior.Hours {
		if !(h.Lo > 0 && h.Lo <= h.Rate && h.Rate <= h.Hi) || math.IsNaN(h.Rate) {
			t.Fatalf("hour %+v", h)
		}
	}
	if prior.Source != "file:a.json" || prior.Events != 0 || len(prior.Windows) != 0 {
		t.Errorf("source %q, events %d, windows %v", prior.Source, prior.Events, prior.Windows)
	}
	// Events raise the hazard; a lower placement score raises the prior.
	evs := []market.Event{at(-100, market.EventObservationStart, 1, "")}
	for i := range 10 {
		evs = append(evs, at(-90+float64(i)*8, market.EventPreempted, 1, ""), at(-89.9+float64(i)*8, market.EventLaunched, 1, ""))
	}
	post, err := Estimate(Inputs{Advisor: &market.AdvisorRow{Bucket: 1}, Events: evs}, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if post.Events != 10 || !(post.Hours[0].Rate > 10*prior.Hours[0].Rate) {
		t.Errorf("events %d, rate %g vs prior %g", post.Events, post.Hours[0].Rate, prior.Hours[0].Rate)
	}
	if !(post.Hours[0].Hi/post.Hours[0].Lo < prior.Hours[0].Hi/prior.Hours[0].Lo) {
		t.Errorf("interval did not narrow with data")
	}
	low, _ := Estimate(Inputs{Advisor: &market.AdvisorRow{Bucket: 1}, Score: &market.PlacementScore{Score: 2}}, now, Options{})
	if !(low.Hours[0].Rate > prior.Hours[0].Rate) {
		t.Errorf("score 2 rate %g not above %g", low.Hours[0].Rate, prior.Hours[0].Rate)
	}
}

// TestFitKind: a trace that records capacity events is fitted apart from
// one that records preempted nodes, whatever else it holds.
func TestFitKind(t *testing.T) {
	at := time.Date(2023, 8, 3, 0, 0, 0, 0, time.UTC)
	ev := func(kind string) market.Event { return market.Event{Time: at, Kind: kind, Count: 1} }
	tests := []struct {
		name string
		evs  []market.Event
		want string
	}{
		{"preempted nodes", []market.Event{ev(market.EventObservationStart), ev(market.EventPreempted), ev(market.EventLaunched)}, KindPreemption},
		{"capacity drops", []market.Event{ev(market.EventObservationStart), ev(market.EventCapacity), ev(market.EventObservationEnd)}, KindCapacity},
		{"no events", nil, KindPreemption},
	}
	for _, tc := range tests {
		if got := fitKind(Trace{Events: tc.evs}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
