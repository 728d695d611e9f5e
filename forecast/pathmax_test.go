package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// mcExceed simulates log-price random walks with drift mu and step sd
// sigma observed at every step, and returns the share whose maximum over
// steps 1..n exceeds a.
func mcExceed(rng *rand.Rand, a, mu, sigma float64, n, paths int) float64 {
	hit := 0
	for range paths {
		x := 0.0
		for range n {
			x += mu + sigma*rng.NormFloat64()
			if x > a {
				hit++
				break
			}
		}
	}
	return float64(hit) / float64(paths)
}

// TestReflectionMatchesMonteCarlo checks the reflection formula with the
// Broadie-Glasserman-Kou shift against simulated discrete random walks
// with known parameters.
func TestReflectionMatchesMonteCarlo(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	tests := []struct {
		a, mu, sigma float64
		n            int
	}{
		{0.05, 0, 0.01, 24},
		{0.02, 0, 0.01, 24},
		{0.10, 0, 0.02, 168},
		{0.05, 0.001, 0.01, 48},
		{0.05, -0.001, 0.01, 48},
		{0.30, 0, 0.02, 168},
	}
	for _, tc := range tests {
		got := reflectionMax(tc.a+bgkBeta*tc.sigma, tc.mu, tc.sigma, float64(tc.n))
		want := mcExceed(rng, tc.a, tc.mu, tc.sigma, tc.n, 40000)
		// MC standard error <= 0.0025; the BGK correction is accurate to
		// a few thousandths at these step counts.
		if math.Abs(got-want) > 0.015 {
			t.Errorf("a=%v mu=%v sigma=%v n=%d: formula %.4f, Monte Carlo %.4f", tc.a, tc.mu, tc.sigma, tc.n, got, want)
		}
	}
}

// TestExceedProbOnSimulatedWalk fits a forecast on a simulated random
// walk with known σ and compares its path-maximum probability with
// Monte Carlo continuations of the same walk.
func TestExceedProbOnSimulatedWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	const sigma = 0.01
	y := randomWalk(rng, 24*60, sigma)
	// Siblings with the same dynamics make the residual pool large
	// enough that its quantiles are not dominated by sampling noise.
	var sib [][]market.PricePoint
	for range 20 {
		sib = append(sib, points(randomWalk(rng, 24*60, sigma), time.Hour))
	}
	f, err := ForecastSeries(points(y, time.Hour), market.PoolKey{}, market.ResolutionChange, 48*time.Hour, Options{Model: ModelNaive, Siblings: sib})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rel float64
		d   time.Duration
	}{{1.03, 24 * time.Hour}, {1.05, 24 * time.Hour}, {1.05, 48 * time.Hour}, {1.10, 48 * time.Hour}} {
		got := f.ExceedProb(f.LastPrice*tc.rel, tc.d)
		want := mcExceed(rng, math.Log(tc.rel), 0, sigma, int(tc.d/time.Hour), 20000)
		// The forecast estimates σ from the data (EWMA, pooled residuals):
		// allow 0.06 on top of the Monte Carlo error.
		if math.Abs(got-want) > 0.06 {
			t.Errorf("b=%.2f×last over %v: %.3f, Monte Carlo %.3f", tc.rel, tc.d, got, want)
		}
	}
}

// TestExceedProbExactQuantiles: a forecast carrying the exact normal
// quantiles of a random walk with known σ gives the Monte Carlo answer.
func TestExceedProbExactQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	const sigma = 0.015
	f := PriceForecast{LastPrice: 2, StepSize: time.Hour}
	for h := 1; h <= 72; h++ {
		st := Step{Mean: 2, Median: 2}
		for _, p := range Levels {
			st.Quantiles = append(st.Quantiles, Quantile{P: p, Value: 2 * math.Exp(sigma*math.Sqrt(float64(h))*normQuantile(p))})
		}
		f.Steps = append(f.Steps, st)
	}
	for _, tc := range []struct {
		rel float64
		n   int
	}{{1.02, 6}, {1.05, 24}, {1.1, 72}, {1.2, 72}} {
		got := f.ExceedProb(2*tc.rel, time.Duration(tc.n)*time.Hour)
		want := mcExceed(rng, math.Log(tc.rel), 0, sigma, tc.n, 40000)
		if math.Abs(got-want) > 0.015 {
			t.Errorf("b=%.2f×last over %dh: %.4f, Monte Carlo %.4f", tc.rel, tc.n, got, want)
		}
	}
}

func TestExceedProbEdges(t *testing.T) {
	y := randomWalk(rand.New(rand.NewPCG(22, 22)), 24*30, 0.01)
	f, err := ForecastSeries(points(y, time.Hour), market.PoolKey{}, market.ResolutionChange, 24*time.Hour, Options{})
	if err != nil {
		t.Fatal(err)
	}
	L := f.LastPrice
	tests := []struct {
		name string
		b    float64
		d    time.Duration
		want func(p float64) bool
	}{
		{"below last price", 0.9 * L, time.Hour, func(p float64) bool { return p == 1 }},
		{"zero duration", 1.1 * L, 0, func(p float64) bool { return p == 0 }},
		{"NaN level", math.NaN(), time.Hour, func(p float64) bool { return p == 0 }},
		{"far level", 100 * L, 24 * time.Hour, func(p float64) bool { return p < 1e-6 }},
		{"beyond horizon extrapolates", 1.05 * L, 72 * time.Hour, func(p float64) bool { return p > f.ExceedProb(1.05*L, 24*time.Hour) && p <= 1 }},
		{"sub-step", 1.01 * L, 30 * time.Minute, func(p float64) bool { return p >= 0 && p < f.ExceedProb(1.01*L, time.Hour) }},
	}
	for _, tc := range tests {
		if p := f.ExceedProb(tc.b, tc.d); !tc.want(p) || math.IsNaN(p) {
			t.Errorf("%s: %v", tc.name, p)
		}
	}
	// Monotone: higher level, lower probability; longer window, higher.
	if !(f.ExceedProb(1.02*L, 24*time.Hour) > f.ExceedProb(1.04*L, 24*time.Hour)) ||
		!(f.ExceedProb(1.02*L, 24*time.Hour) > f.ExceedProb(1.02*L, 6*time.Hour)) {
		t.Error("ExceedProb not monotone in level and duration")
	}
	var empty PriceForecast
	if p := empty.ExceedProb(1, time.Hour); p != 0 {
		t.Errorf("empty forecast: %v", p)
	}
	// A flat forecast (no spread) crosses only if its path does.
	flat := PriceForecast{LastPrice: 1, StepSize: time.Hour, Steps: []Step{{Mean: 1, Median: 1, Quantiles: []Quantile{{0.05, 1}, {0.5, 1}, {0.95, 1}}}}}
	if p := flat.ExceedProb(1.01, time.Hour); p != 0 {
		t.Errorf("flat forecast: %v", p)
	}
}

// mcJumpExceed simulates jump walks (a change with probability q per
// step, N(0, sigma²)) and returns the share whose maximum over steps
// 1..n exceeds a.
func mcJumpExceed(rng *rand.Rand, a, q, sigma float64, n, paths int) float64 {
	hit := 0
	for range paths {
		x := 0.0
		for range n {
			if rng.Float64() < q {
				x += sigma * rng.NormFloat64()
			}
			if x > a {
				hit++
				break
			}
		}
	}
	return float64(hit) / float64(paths)
}

// TestExceedProbOnJumpProcess: for a price that changes in 10% of hours,
// the path-maximum probability (from conformal running maxima and the
// series' no-rise probability) matches Monte Carlo continuations, at the
// last price (P(any rise)) and above it. Each of 21 simulated series is
// forecast with the other 20 as siblings and the probabilities are
// averaged, so what is checked is the model, not the estimation noise of
// one series' jump size and change rate.
func TestExceedProbOnJumpProcess(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	const q, sigma, n = 0.1, 0.02, 21
	var all [][]market.PricePoint
	for range n {
		all = append(all, points(jumpWalk(rng, 24*60, q, sigma), time.Hour))
	}
	tests := []struct {
		rel float64
		d   time.Duration
	}{{1, 6 * time.Hour}, {1, 24 * time.Hour}, {1.02, 24 * time.Hour}, {1.05, 24 * time.Hour}, {1.05, 48 * time.Hour}, {1.10, 48 * time.Hour}}
	mean := make([]float64, len(tests))
	for i := range all {
		sib := append(append([][]market.PricePoint{}, all[:i]...), all[i+1:]...)
		f, err := ForecastSeries(all[i], market.PoolKey{}, market.ResolutionChange, 48*time.Hour, Options{Model: ModelNaive, Siblings: sib})
		if err != nil {
			t.Fatal(err)
		}
		for k, tc := range tests {
			mean[k] += f.ExceedProb(f.LastPrice*tc.rel, tc.d) / n
		}
	}
	for k, tc := range tests {
		want := mcJumpExceed(rng, math.Log(tc.rel), q, sigma, int(tc.d/time.Hour), 40000)
		// The jump size and change rate are estimated per series, and a
		// calibrated forecast with a noisy scale states a probability at
		// a fixed level a little above the truth (+0.01 to +0.035 here):
		// allow 0.04 on top of the Monte Carlo error (<= 0.0025).
		if math.Abs(mean[k]-want) > 0.04 {
			t.Errorf("b=%.2f×last over %v: mean %.3f over %d series, Monte Carlo %.3f", tc.rel, tc.d, mean[k], n, want)
		}
	}
}

func TestRiseSurvival(t *testing.T) {
	q := func(vals ...float64) []Quantile {
		out := make([]Quantile, len(vals))
		for i, v := range vals {
			out[i] = Quantile{P: RiseLevels[i], Value: v}
		}
		return out
	}
	e := math.E
	spread := q(e, e*e, e*e*e, e*e*e*e, e*e*e*e*e, e*e*e*e*e*e, e*e*e*e*e*e*e, e*e*e*e*e*e*e*e, e*e*e*e*e*e*e*e*e)
	point := q(e, e, e, e, e, e, e, e, e) // every level at log distance 1
	tests := []struct {
		name string
		rq   []Quantile
		a    float64
		want float64
	}{
		{"zero", spread, 0, 1},
		{"at a knot", spread, 3, 0.5},                         // level 0.5 at distance 3
		{"between knots", spread, 2.5, math.Sqrt(0.75 * 0.5)}, // log-linear
		{"below the first knot", spread, 0.5, math.Sqrt(0.9)}, // from (0, 1) to (1, 0.9)
		{"beyond the last knot", spread, 10, 0.005 * 0.5},     // slope of the last segment: log(0.005/0.01) per unit
		{"point mass: below", point, 0.5, math.Sqrt(0.9)},     // still rising to the mass
		{"point mass: at it", point, 1, 0.005},                // past the mass: 1 - highest tied level
		{"point mass: beyond", point, 2, 0.005 * 0.9},         // the only segment's slope, log(0.9) per unit
		{"no room", q(1, 1, 1, 1, 1, 1, 1, 1, 1), 0.1, 0},     // every quantile at the last price
	}
	for _, tc := range tests {
		if got := riseSurvival(tc.rq, 1, tc.a); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: S(%v) = %v, want %v", tc.name, tc.a, got, tc.want)
		}
	}
}
