package forecast

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// jumpWalk returns n log prices that change with probability q per step,
// by N(0, sigma²): a step series with an atom at "unchanged".
func jumpWalk(rng *rand.Rand, n int, q, sigma float64) []float64 {
	y := make([]float64, n)
	for i := 1; i < n; i++ {
		y[i] = y[i-1]
		if rng.Float64() < q {
			y[i] += sigma * rng.NormFloat64()
		}
	}
	return y
}

func TestNextRise(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 30))
	for range 20 {
		y := jumpWalk(rng, 200, 0.3, 0.01)
		nr := nextRise(y)
		for s := range y {
			want := len(y)
			for k := s + 1; k < len(y); k++ {
				if y[k] > y[s] {
					want = k
					break
				}
			}
			if nr[s] != want {
				t.Fatalf("nextRise[%d] = %d, want %d", s, nr[s], want)
			}
		}
	}
}

func TestEventProbs(t *testing.T) {
	// Windows of length h from s = 0..: the event holds for s < 10 and
	// not after. At origin t the windows s <= t-h are known.
	ev := make([]bool, 40)
	for s := range 10 {
		ev[s] = true
	}
	tests := []struct {
		name          string
		h, from, to   int
		lambda, prior float64
		want          func(t int) float64
	}{
		{"no decay h=1", 1, 0, 30, 1 - 1e-12, 0.5, func(t int) float64 {
			n := float64(t)   // windows s = 0..t-1
			k := min(n, 10.0) // of which s < 10
			return (k + tieStrength*0.5) / (n + tieStrength)
		}},
		{"h=4 counts each window 1/4", 4, 4, 30, 1 - 1e-12, 0.2, func(t int) float64 {
			n := float64(t-4+1) / 4
			k := min(float64(t-4+1), 10) / 4
			return (k + tieStrength*0.2) / (n + tieStrength)
		}},
		{"before any window: prior", 5, 0, 4, 0.9, 0.3, func(int) float64 { return 0.3 }},
		{"the prior, then the windows", 4, 2, 30, 1 - 1e-12, 0.2, func(t int) float64 {
			if t < 4 {
				return 0.2
			}
			n := float64(t-4+1) / 4
			k := min(float64(t-4+1), 10) / 4
			return (k + tieStrength*0.2) / (n + tieStrength)
		}},
	}
	for _, tc := range tests {
		got := eventProbs(tc.h, tc.from, tc.to, tc.lambda, tc.prior, ev, nil)
		if len(got) != tc.to-tc.from+1 {
			t.Fatalf("%s: %d values, want %d", tc.name, len(got), tc.to-tc.from+1)
		}
		for i, v := range got {
			if w := tc.want(tc.from + i); math.Abs(v-w) > 1e-6 {
				t.Errorf("%s: t=%d: %.6f, want %.6f", tc.name, tc.from+i, v, w)
			}
		}
	}
	// Exponential weights: one event 10 steps before the origin counts
	// lambda^10 against the newer non-events.
	one := make([]bool, 20)
	one[9] = true
	got := eventProbs(1, 20, 20, 0.9, 0.5, one, nil)[0]
	k := math.Pow(0.9, 10)
	n := (1 - math.Pow(0.9, 20)) / (1 - 0.9)
	if w := (k + tieStrength*0.5) / (n + tieStrength); math.Abs(got-w) > 1e-9 {
		t.Errorf("weighted: %.9f, want %.9f", got, w)
	}
}

// TestEventShares: without decay the share is the plain share of the
// complete windows and the effective count is windows/h; a decayed count
// is Kish's (Σw)²/(h Σw²).
func TestEventShares(t *testing.T) {
	ev := make([]bool, 40)
	for s := range 10 {
		ev[s] = true
	}
	share, neff := eventShares(4, 4, 30, 1-1e-12, ev, nil, nil)
	for i := range share {
		tt := 4 + i
		n := float64(tt - 4 + 1) // windows s = 0..t-4
		if w := min(n, 10) / n; math.Abs(share[i]-w) > 1e-6 || math.Abs(neff[i]-n/4) > 1e-6 {
			t.Errorf("t=%d: share %.6f neff %.6f, want %.6f and %.6f", tt, share[i], neff[i], w, n/4)
		}
	}
	share, neff = eventShares(1, 20, 20, 0.9, ev, nil, nil)
	var w, w2, k float64
	for s := range 20 { // windows s = 0..19, age 19-s
		a := math.Pow(0.9, float64(19-s))
		w, w2 = w+a, w2+a*a
		if ev[s] {
			k += a
		}
	}
	if math.Abs(share[0]-k/w) > 1e-9 || math.Abs(neff[0]-w*w/w2) > 1e-9 {
		t.Errorf("decayed: share %.9f neff %.9f, want %.9f and %.9f", share[0], neff[0], k/w, w*w/w2)
	}
	if share, neff = eventShares(5, 0, 3, 0.9, ev, nil, nil); len(share) != 4 || neff[3] != 0 {
		t.Errorf("before any window: %v %v, want four origins without windows", share, neff)
	}
}

// TestFlatStrength recovers the prior strength from series whose no-rise
// probabilities spread by a known amount: θ = μ ± d with equal odds has
// variance d², so the strength is μ(1-μ)/d² - 1; series with one θ get
// the largest strength (complete pooling).
func TestFlatStrength(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	const mu, windows, series = 0.3, 40, 4000
	for _, d := range []float64{0, 0.1, 0.2} {
		sum, terms, excess := []float64{0}, []float64{0}, []float64{0}
		for range series {
			theta := mu + d
			if rng.IntN(2) == 0 {
				theta = mu - d
			}
			k := 0
			for range windows {
				if rng.Float64() < theta {
					k++
				}
			}
			p := float64(k) / windows
			sum[0] += windows * (p - mu) * (p - mu)
			terms[0]++
			excess[0] += windows - 1
		}
		got := flatStrength(sum, terms, excess, []float64{mu})[0]
		if d == 0 {
			if got < 100 {
				t.Errorf("no spread: strength %.1f, want at least 100 (complete pooling)", got)
			}
			continue
		}
		want := mu*(1-mu)/(d*d) - 1
		if math.Abs(got-want) > 0.25*want {
			t.Errorf("spread %.2f: strength %.2f, want %.2f", d, got, want)
		}
	}
	if got := shrunk(0.1, 20, 0.3, 20); math.Abs(got-0.2) > 1e-12 {
		t.Errorf("shrunk: %v, want 0.2 (equal weights)", got)
	}
}

func TestDistQuantileCDF(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	for _, n := range []int{0, 1, 7, 500, 5000} {
		d := dist{}
		for range n {
			d.x = append(d.x, rng.NormFloat64())
		}
		d.freeze()
		for _, p := range []float64{0.01, 0.1, 0.5, 0.77, 0.99} {
			q := d.quantile(p)
			if n <= 1 {
				continue
			}
			if got := d.cdf(q); math.Abs(got-p) > 1e-9 {
				t.Errorf("n=%d: cdf(quantile(%v)) = %v", n, p, got)
			}
		}
		if n == 0 && (math.Abs(d.quantile(0.975)-1.959964) > 1e-5 || math.Abs(d.cdf(0)-0.5) > 1e-12) {
			t.Errorf("empty dist is not the standard normal: %v %v", d.quantile(0.975), d.cdf(0))
		}
	}
}

// TestMixtureQuantiles: the quantile function is 0 exactly on
// [F(0-), F(0)] and the continuous part's quantiles outside it.
func TestMixtureQuantiles(t *testing.T) {
	g := &dist{}
	x := mix{pi: 0.6, s: 0.01, g: g} // continuous part N(0, 0.01²)
	lo, hi := x.atom()
	if math.Abs(lo-0.2) > 1e-12 || math.Abs(hi-0.8) > 1e-12 {
		t.Fatalf("atom [%v, %v], want [0.2, 0.8]", lo, hi)
	}
	tests := []struct{ a, want float64 }{
		{0.1, 0.01 * normQuantile(0.25)},
		{0.2, 0},
		{0.5, 0},
		{0.8, 0},
		{0.9, 0.01 * normQuantile(0.75)},
	}
	for _, tc := range tests {
		if got := x.quantile(tc.a); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", tc.a, got, tc.want)
		}
	}
	if got := x.cdf(0.01 * normQuantile(0.75)); math.Abs(got-0.9) > 1e-9 {
		t.Errorf("cdf above the atom %v, want 0.9", got)
	}
	// Shifting the continuous part up moves mass below the atom away.
	x.m = 0.02
	if lo, _ := x.atom(); math.Abs(lo-0.4*normCDF(-2)) > 1e-12 {
		t.Errorf("shifted atom starts at %v, want %v", lo, 0.4*normCDF(-2))
	}
}

func TestPITCoverage(t *testing.T) {
	q := []float64{0.9, 0.95, 1, 1, 1, 1, 1, 1.05, 1.1} // atom at 1 on levels 0.1..0.9
	tests := []struct {
		name                   string
		y, below, unch, lo, hi float64
		want                   float64
	}{
		{"on the atom, atom inside", 1, 0.2, 0.6, 0.1, 0.9, 1},
		{"on the atom, atom wider", 1, 0.06, 0.9, 0.1, 0.9, 0.8 / 0.9},
		{"on the atom, no atom mass", 1, 0.5, 0, 0.1, 0.9, 1},
		{"moved, inside", 0.96, 0.06, 0.9, 0.025, 0.975, 1},
		{"moved, outside 80%", 0.96, 0.06, 0.9, 0.1, 0.9, 0},
		{"moved far", 1.2, 0.06, 0.9, 0.025, 0.975, 0},
	}
	for _, tc := range tests {
		if got := pitCoverage(q, tc.y, 1, tc.below, tc.unch, tc.lo, tc.hi); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAtomCalibration backtests pools that change with known
// probabilities per hour: the forecast's P(unchanged) at one step
// recovers 1-q, and the randomized coverage is nominal while the closed
// interval over-covers the rarely changing pools.
func TestAtomCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 32))
	qs := []float64{0.02, 0.15, 0.6, 1}
	var series []Series
	for i := range 80 {
		y := jumpWalk(rng, 24*40, qs[i%len(qs)], 0.01)
		g, err := ToGrid(points(y, time.Hour), time.Hour, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, Series{Key: market.PoolKey{Cloud: "sim", Region: "r", Zone: string(rune('a' + i%26)), InstanceType: string(rune('a' + i/26)), Product: "p"}, Resolution: market.ResolutionChange, Grid: g})
	}
	var origins []time.Time
	for k := range 40 {
		origins = append(origins, t0.Add(time.Duration(24*30+5*k)*time.Hour))
	}
	rep, err := BacktestSeries(context.Background(), series, BacktestOptions{
		Horizon: 6 * time.Hour, Origins: origins, Models: []string{ModelNaive},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logTable(t, rep)
	for _, name := range []string{ModelNaive, ModelAuto} {
		m, _ := rep.Model(name)
		if math.Abs(m.Coverage80-0.8) > 0.03 || math.Abs(m.Coverage95-0.95) > 0.03 {
			t.Errorf("%s randomized coverage 80: %.3f, 95: %.3f; want within 0.03 of nominal", name, m.Coverage80, m.Coverage95)
		}
		if m.CoverageClosed80 < m.Coverage80+0.02 {
			t.Errorf("%s closed 80%% coverage %.3f not above the randomized %.3f: the atom is not on the quantiles", name, m.CoverageClosed80, m.Coverage80)
		}
	}
	// P(unchanged) per class, averaged over its 20 pools.
	for k, q := range qs {
		var p1, p6 float64
		for i := k; i < len(series); i += len(qs) {
			s := series[i]
			f, err := ForecastSeries(points(logValues(s.Grid.Values), time.Hour), s.Key, market.ResolutionChange, 6*time.Hour, Options{Model: ModelNaive})
			if err != nil {
				t.Fatal(err)
			}
			p1 += f.Steps[0].ProbUnchanged / 20
			p6 += f.Steps[5].ProbUnchanged / 20
			for h, st := range f.Steps {
				for _, qq := range st.Quantiles {
					onAtom := qq.P >= st.ProbBelow && qq.P <= st.ProbBelow+st.ProbUnchanged
					if onAtom && qq.Value != f.LastPrice {
						t.Errorf("q=%v step %d: level %v is on the atom [%v, %v] but its quantile %v is not the last price %v",
							q, h, qq.P, st.ProbBelow, st.ProbBelow+st.ProbUnchanged, qq.Value, f.LastPrice)
					}
				}
			}
		}
		if math.Abs(p1-(1-q)) > 0.04 {
			t.Errorf("q=%v: P(unchanged at 1h) %.3f, want about %.3f", q, p1, 1-q)
		}
		if want := math.Pow(1-q, 6); math.Abs(p6-want) > 0.05 {
			t.Errorf("q=%v: P(unchanged at 6h) %.3f, want about %.3f", q, p6, want)
		}
	}
}

// TestWidening checks the small-sample widening of upper quantiles on
// exponential samples of 16 independent values, against the known
// exceedance e^(-q) of a quantile q: the plain empirical 0.95 and 0.99
// quantiles are exceeded by a new draw 9.5% and 6.4% of the time on
// average over many samples; widened, 7.3% and 2.9% (the widening is
// added to the empirical quantile, which at 0.99 is near the largest of
// the 16, so part of the shortfall stays). The widening vanishes as the
// sample grows.
func TestWidening(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 43))
	const reps, n = 4000, 16
	for _, p := range []float64{0.95, 0.99} {
		var plain, widened float64
		for range reps {
			d := dist{x: make([]float64, n), neff: n}
			for i := range d.x {
				d.x[i] = rng.ExpFloat64()
			}
			d.freeze()
			d.setTail()
			q := d.quantile(p)
			plain += math.Exp(-q) // the true exceedance of Exp(1)
			widened += math.Exp(-(q + d.widening(p)))
		}
		plain, widened = plain/reps, widened/reps
		if e := 1 - p; widened < e || widened > plain-0.4*(plain-e) {
			t.Errorf("p=%.2f, %d values: exceedance %.4f widened, %.4f plain; want above %.3f and at least 40%% of the way there from plain", p, n, widened, plain, e)
		}
	}
	d := dist{x: []float64{0, 1, 2, 3}, neff: 1e6}
	d.setTail()
	if w := d.widening(0.99); w < 0 || w > 1e-3 {
		t.Errorf("widening with a million independent values: %v, want about 0", w)
	}
	if w := (&dist{x: []float64{0, 1, 2, 3}}).widening(0.99); w != 0 {
		t.Errorf("widening without neff: %v, want 0", w)
	}
}

// TestRiseShrinkWeight checks the weight of a series' own scale on
// simulated groups: series with one jump size and rate share the pool's
// scale (weight near 0); series whose scales differ by 4x keep their
// own (weight near 1).
func TestRiseShrinkWeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 47))
	weight := func(spread float64) float64 {
		var logS, noise []float64
		for i := range 12 {
			size := 0.02 * math.Pow(spread, float64(i%2))
			y := make([]float64, 2000)
			for k := 1; k < len(y); k++ {
				y[k] = y[k-1]
				if rng.Float64() < 0.02 {
					y[k] += size * rng.NormFloat64()
				}
			}
			j := jumpRMS(y)
			n, q := jumpMoments(y, j)
			logS = append(logS, math.Log(j)+0.5*math.Log(n/float64(len(y))))
			noise = append(noise, scaleNoise(n, q))
		}
		return riseShrinkWeight(logS, noise)
	}
	if w := weight(1); w > 0.3 {
		t.Errorf("identical series: weight %.3f, want near 0", w)
	}
	if w := weight(4); w < 0.8 {
		t.Errorf("scales 4x apart: weight %.3f, want near 1", w)
	}
	if w := riseShrinkWeight([]float64{0, 1}, []float64{0.1, 0.1}); w != 1 {
		t.Errorf("two series: weight %v, want 1 (no pooling)", w)
	}
}

// TestBlockBound checks the bound from shorter windows against the
// known answer: windows of b steps that rise with probability pb to an
// exponential maximum, seven of them independent, have a week-long
// maximum given a rise with survival (1 - (1 - pb·e^(-x/s))^7) / ph at
// scale s.
func TestBlockBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 53))
	const b, pb = 24, 0.3
	d := dist{x: make([]float64, 200000)}
	for i := range d.x {
		d.x[i] = rng.ExpFloat64()
	}
	d.freeze()
	sp := spreadResult{steps: make([]stepSpread, b)}
	const scale = 0.1 // keeps the quantiles below maxLogMove
	sp.steps[b-1] = stepSpread{rho: 1 - pb, rs: scale, riseDist: &d}
	ph := 1 - math.Pow(1-pb, 7)
	dst := make([]float64, len(RiseLevels))
	sp.blockBound(7*b, b, ph, 0, dst)
	for j, p := range RiseLevels {
		// Solve (1 - (1 - pb·e^(-x))^7) = ph·(1-p) for x.
		want := -scale * math.Log((1-math.Pow(1-ph*(1-p), 1.0/7))/pb)
		if math.Abs(dst[j]-want) > 0.02*want+0.01 {
			t.Errorf("p=%.3f: bound %.4f, want %.4f", p, dst[j], want)
		}
	}
	// A bound never lowers a quantile.
	high := []float64{9, 9, 9, 9, 9, 9, 9, 9, 9}
	sp.blockBound(7*b, b, ph, 0, high)
	for j, v := range high {
		if v != 9 {
			t.Errorf("level %d lowered to %v", j, v)
		}
	}
}
