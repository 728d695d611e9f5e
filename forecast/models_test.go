package forecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// points turns log prices into an hourly (or daily) change series.
func points(y []float64, step time.Duration) []market.PricePoint {
	pts := make([]market.PricePoint, len(y))
	for i, v := range y {
		pts[i] = market.PricePoint{Time: t0.Add(time.Duration(i) * step), Price: math.Exp(v), Source: market.SourceSimulated}
	}
	return pts
}

// randomWalk returns n log prices from log(1) with N(0, sigma²) steps.
func randomWalk(rng *rand.Rand, n int, sigma float64) []float64 {
	y := make([]float64, n)
	for i := 1; i < n; i++ {
		y[i] = y[i-1] + sigma*rng.NormFloat64()
	}
	return y
}

func TestARRecoversPhi(t *testing.T) {
	for _, phi := range []float64{-0.4, 0.2, 0.6} {
		rng := rand.New(rand.NewPCG(1, uint64(100*phi+50)))
		n := 5000
		y := make([]float64, n)
		r := 0.0
		for i := 1; i < n; i++ {
			r = phi*r + 0.01*rng.NormFloat64()
			y[i] = y[i-1] + r
		}
		f, err := arModel{p: 1}.fit(y, seasons{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := f.(arFit).phi[0]
		// Standard error of φ̂ is sqrt((1-φ²)/n) ≈ 0.013; allow 4 of them.
		if math.Abs(got-phi) > 0.05 {
			t.Errorf("phi %v: estimated %.3f", phi, got)
		}
	}
}

func TestARPoolsShortSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	gen := func(n int) []float64 {
		y := make([]float64, n)
		r := 0.0
		for i := 1; i < n; i++ {
			r = 0.5*r + 0.01*rng.NormFloat64()
			y[i] = y[i-1] + r
		}
		return y
	}
	short := gen(20)
	sibs := [][]float64{gen(2000), gen(2000)}
	f, err := arModel{p: 1}.fit(short, seasons{}, sibs)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.(arFit).phi[0]; math.Abs(got-0.5) > 0.06 {
		t.Errorf("pooled phi %.3f, want about 0.5", got)
	}
	// A long series ignores its siblings.
	long := gen(3000)
	other := make([]float64, 3000) // constant: would pull φ to 0 if used
	f, _ = arModel{p: 1}.fit(long, seasons{}, [][]float64{other})
	if got := f.(arFit).phi[0]; math.Abs(got-0.5) > 0.06 {
		t.Errorf("own phi %.3f, want about 0.5", got)
	}
}

// TestSESRecoversAlpha simulates the local-level model whose optimal
// forecast is SES with a known α (FPP3 §8.5: y(t) = ℓ(t-1) + e(t),
// ℓ(t) = ℓ(t-1) + α e(t)).
func TestSESRecoversAlpha(t *testing.T) {
	for _, alpha := range []float64{0.2, 0.5, 0.9} {
		rng := rand.New(rand.NewPCG(3, uint64(alpha*10)))
		n := 4000
		y := make([]float64, n)
		l := 0.0
		for i := range y {
			e := 0.01 * rng.NormFloat64()
			y[i] = l + e
			l += alpha * e
		}
		f, err := sesModel{}.fit(y, seasons{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.(sesFit).alpha; math.Abs(got-alpha) > 0.05 {
			t.Errorf("alpha %v: estimated %.3f", alpha, got)
		}
	}
}

// TestSESKnownLevel: noise around a fixed level is smoothed towards it.
func TestSESKnownLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	y := make([]float64, 1000)
	for i := range y {
		y[i] = math.Log(2) + 0.05*rng.NormFloat64()
	}
	fc, err := pointForecast(ModelSES, y, 3, Options{}.resolve(market.ResolutionChange), nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fc[0]-math.Log(2)) > 0.02 {
		t.Errorf("SES level %.4f, want log 2 = %.4f ± 0.02 (naive would be off by ~0.05)", fc[0], math.Log(2))
	}
}

func TestDampedFollowsDampedTrend(t *testing.T) {
	// A series with a trend that the damped model should extrapolate
	// better than naive does.
	rng := rand.New(rand.NewPCG(5, 5))
	n := 600
	y := make([]float64, n)
	b := 0.01
	for i := 1; i < n; i++ {
		y[i] = y[i-1] + b + 0.001*rng.NormFloat64()
	}
	c := Options{}.resolve(market.ResolutionDaily)
	fc, err := pointForecast(ModelDamped, y, 7, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Truth continues by b per step; naive is off by 7b at h=7.
	want := y[n-1] + 7*b
	if e := math.Abs(fc[6] - want); e > 3*b {
		t.Errorf("damped h=7 error %.4f, naive's would be %.4f", e, 7*b)
	}
}

func TestHoltWintersLearnsDoubleSeason(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	n := 24 * 7 * 6
	y := make([]float64, n+24)
	for i := range y {
		y[i] = 0.1*math.Sin(2*math.Pi*float64(i)/24) + 0.05*math.Cos(2*math.Pi*float64(i)/168) + 0.005*rng.NormFloat64()
	}
	c := Options{}.resolve(market.ResolutionChange)
	fc, err := pointForecast(ModelHoltWinters, y[:n], 24, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hw, naive float64
	for h := range 24 {
		hw += math.Abs(fc[h] - y[n+h])
		naive += math.Abs(y[n-1] - y[n+h])
	}
	if hw > 0.2*naive {
		t.Errorf("Holt-Winters MAE %.4f not well below naive %.4f on a seasonal series", hw/24, naive/24)
	}
}

func TestSeasonalNaive(t *testing.T) {
	y := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	f := seasonalNaiveFit{m: 4}
	fc := make([]float64, 6)
	f.walk(y, 9, fc, func(int) {})
	want := []float64{7, 8, 9, 10, 7, 8}
	for i := range want {
		if fc[i] != want[i] {
			t.Fatalf("seasonal naive %v, want %v", fc, want)
		}
	}
}

// TestAutoNeverLosesToItsParts: on random walks, where no candidate can
// beat naive, auto's backtest pinball loss stays within 1% of the best
// candidate's, and on a strongly seasonal series auto picks a seasonal
// model when it may.
func TestAutoNeverLosesToItsParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var series []Series
	for i := range 48 {
		y := randomWalk(rng, 400, 0.01*float64(1+i%3))
		g, err := ToGrid(points(y, 24*time.Hour), 24*time.Hour, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, Series{Key: market.PoolKey{Cloud: "sim", Region: fmt.Sprint("r", i%4), InstanceType: fmt.Sprint("t", i/4)}, Resolution: market.ResolutionDaily, Grid: g})
	}
	models := append([]string{ModelNaive, ModelSES, ModelDamped, ModelARIMA}, ModelComboDampedARIMA, ModelComboNaiveDampedARIMA, ModelComboNaiveSESDampedARIMA)
	rep, err := BacktestSeries(context.Background(), series, BacktestOptions{
		Horizon: 7 * 24 * time.Hour, Origins: weekly(t0.Add(300*24*time.Hour), 10), Models: models,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	auto, _ := rep.Model(ModelAuto)
	best := math.Inf(1)
	for _, m := range models {
		r, _ := rep.Model(m)
		best = math.Min(best, r.PinballMean)
	}
	if auto.Forecasts != 480 || auto.PinballMean > 1.01*best {
		t.Errorf("auto pinball %.6f over %d forecasts, best candidate %.6f: want within 1%%", auto.PinballMean, auto.Forecasts, best)
	}

	y := make([]float64, 24*7*8)
	for i := range y {
		y[i] = 0.2*math.Sin(2*math.Pi*float64(i)/24) + 0.002*rng.NormFloat64()
	}
	f, err := ForecastSeries(points(y, time.Hour), market.PoolKey{}, market.ResolutionChange, 24*time.Hour,
		Options{Candidates: []string{ModelNaive, ModelDamped, ModelSeasonalDay, ModelHoltWinters}})
	if err != nil {
		t.Fatal(err)
	}
	if (f.Chosen != ModelSeasonalDay && f.Chosen != ModelHoltWinters) || f.ValidationMAERatio > 0.5 {
		t.Errorf("auto chose %s (MAE ratio to naive %.3f) on a strongly seasonal series", f.Chosen, f.ValidationMAERatio)
	}
}

// TestCoverageOnRandomWalk: on random walks with known, changing σ, the
// 80% and 95% intervals cover within 3 points of nominal.
func TestCoverageOnRandomWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var series []Series
	for i := range 120 {
		sigma := 0.005 * float64(1+i%5) // five volatility classes
		y := randomWalk(rng, 500, sigma)
		g, err := ToGrid(points(y, 24*time.Hour), 24*time.Hour, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, Series{Key: market.PoolKey{Cloud: "sim", Region: "r", InstanceType: string(rune('a' + i%26)), Product: string(rune('a' + i/26))}, Resolution: market.ResolutionDaily, Grid: g})
	}
	rep, err := BacktestSeries(context.Background(), series, BacktestOptions{
		Horizon: 7 * 24 * time.Hour, Origins: weekly(t0.Add(300*24*time.Hour), 25), Models: []string{ModelNaive},
		// Cheap candidates: this test is about the intervals.
		Forecast: Options{Candidates: []string{ModelNaive, ModelARIMA}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logTable(t, rep)
	for _, name := range []string{ModelNaive, ModelAuto} {
		m, _ := rep.Model(name)
		if math.Abs(m.Coverage80-0.8) > 0.03 || math.Abs(m.Coverage95-0.95) > 0.03 {
			t.Errorf("%s coverage 80: %.3f, 95: %.3f; want within 0.03 of nominal", name, m.Coverage80, m.Coverage95)
		}
	}
	// The pooled baseline ignores each series' σ: its pinball loss is worse.
	a, _ := rep.Model(ModelAuto)
	b, _ := rep.Model(ModelNaivePooled)
	if a.PinballMean >= b.PinballMean {
		t.Errorf("auto pinball %.5f not below pooled baseline %.5f", a.PinballMean, b.PinballMean)
	}
}

func TestBadInput(t *testing.T) {
	key := market.PoolKey{Cloud: "aws", Region: "r", Zone: "r1a", InstanceType: "x"}
	flat := make([]float64, 100)
	nan := points(randomWalk(rand.New(rand.NewPCG(10, 10)), 200, 0.01), time.Hour)
	nan[50].Price = math.NaN()
	nan[60].Price = -1
	gap := []market.PricePoint{
		{Time: t0, Price: 1}, {Time: t0.Add(time.Hour), Price: 1.1},
		{Time: t0.Add(21 * 24 * time.Hour), Price: 1.2},
	}
	tests := []struct {
		name    string
		pts     []market.PricePoint
		horizon time.Duration
		model   string
		wantErr error
		chosen  string
	}{
		{"no data", nil, 24 * time.Hour, "", ErrNoData, ""},
		{"only NaN", []market.PricePoint{{Time: t0, Price: math.NaN()}}, 24 * time.Hour, "", ErrNoData, ""},
		{"one point", points([]float64{0.1}, time.Hour), 24 * time.Hour, "", nil, ModelNaive},
		{"constant", points(flat, time.Hour), 24 * time.Hour, "", nil, ModelNaive},
		{"NaN and negative skipped", nan, 24 * time.Hour, "", nil, ""},
		{"gap of weeks", gap, 24 * time.Hour, ModelHoltWinters, nil, ""},
		{"zero horizon", points(flat, time.Hour), 0, "", ErrBadHorizon, ""},
		{"sub-step horizon", points(flat, time.Hour), time.Minute, "", ErrBadHorizon, ""},
		{"horizon too long", points(flat, time.Hour), 60 * 24 * time.Hour, "", ErrBadHorizon, ""},
		{"unknown model", points(flat, time.Hour), time.Hour, "prophet", ErrUnknownModel, ""},
		{"too short for holt-winters", points(flat[:30], time.Hour), 24 * time.Hour, ModelHoltWinters, nil, ModelNaive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ForecastSeries(tc.pts, key, market.ResolutionChange, tc.horizon, Options{Model: tc.model})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.chosen != "" && f.Chosen != tc.chosen {
				t.Errorf("chosen %q, want %q (note %q)", f.Chosen, tc.chosen, f.Note)
			}
			checkFinite(t, f)
		})
	}
}

func checkFinite(t testing.TB, f PriceForecast) {
	t.Helper()
	if len(f.Steps) == 0 {
		t.Fatal("no steps")
	}
	for h, s := range f.Steps {
		vals := []float64{s.Mean, s.Median}
		for j, q := range s.Quantiles {
			vals = append(vals, q.Value)
			if j > 0 && q.Value < s.Quantiles[j-1].Value {
				t.Fatalf("step %d: quantiles not monotone: %v", h, s.Quantiles)
			}
		}
		for _, q := range s.RiseQuantiles {
			vals = append(vals, q.Value)
			if q.Value < f.LastPrice {
				t.Fatalf("step %d: running-maximum quantile %v below the last price %v", h, q.Value, f.LastPrice)
			}
		}
		for _, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				t.Fatalf("step %d: bad value %v in %+v", h, v, s)
			}
		}
		for _, p := range []float64{s.ProbUnchanged, s.ProbBelow, s.ProbRise, s.ProbBelow + s.ProbUnchanged} {
			if !(p >= 0 && p <= 1+1e-12) {
				t.Fatalf("step %d: probability %v out of [0, 1] in %+v", h, p, s)
			}
		}
	}
	for _, v := range []float64{f.FitSeconds, f.ValidationMASE, f.ValidationMAERatio, f.Volatility, f.LastPrice} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite field in %+v", f)
		}
	}
}

func TestForecastFields(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	y := randomWalk(rand.New(rand.NewPCG(11, 11)), 24*30, 0.01)
	key := market.PoolKey{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	f, err := ForecastSeries(points(y, time.Hour), key, market.ResolutionChange, 24*time.Hour, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if f.Generated != now || f.Pool != key || f.Source != market.SourceSimulated || len(f.Steps) != 24 || f.StepSize != time.Hour {
		t.Errorf("fields: generated %v pool %v source %q steps %d step %v", f.Generated, f.Pool, f.Source, len(f.Steps), f.StepSize)
	}
	if want := t0.Add(time.Duration(len(y)-1) * time.Hour); !f.Origin.Equal(want) || !f.Steps[0].Time.Equal(want.Add(time.Hour)) {
		t.Errorf("origin %v, first step %v", f.Origin, f.Steps[0].Time)
	}
	if math.Abs(f.LastPrice-math.Exp(y[len(y)-1])) > 1e-12 {
		t.Errorf("last price %v", f.LastPrice)
	}
	// Intervals widen with the horizon.
	w1 := f.QuantileAt(0.9, 0) - f.QuantileAt(0.1, 0)
	w24 := f.QuantileAt(0.9, 23) - f.QuantileAt(0.1, 23)
	if !(w24 > 2*w1) {
		t.Errorf("80%% width at h=1 %.5f, at h=24 %.5f: want growth about √24", w1, w24)
	}
	if q := f.QuantileAt(0.5, 3); q != f.Steps[3].Median {
		t.Errorf("QuantileAt(0.5, 3) = %v, median %v", q, f.Steps[3].Median)
	}
	if !math.IsNaN(f.QuantileAt(0.5, 24)) || !math.IsNaN(f.QuantileAt(0.5, -1)) {
		t.Error("QuantileAt out of range should be NaN")
	}
	checkFinite(t, f)
}
