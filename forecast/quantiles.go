package forecast

import (
	"math"
	"sort"
)

// volFloor is the smallest one-step log volatility used (0.01%): a pool
// flat for months still gets an interval that widens with the horizon
// through the pooled residuals instead of collapsing to zero everywhere.
const volFloor = 1e-4

// ewmaVol returns σ(t) for every t: the square root of the exponentially
// weighted moving average of squared one-step log changes up to t,
//
//	σ²(t) = λ σ²(t-1) + (1-λ) (y(t) - y(t-1))²,  λ = 2^(-1/halfLife)
//
// (J.P. Morgan/Reuters RiskMetrics Technical Document, 4th ed., 1996,
// eq. 5.1; λ = 0.94 for daily returns is a half-life of 11 days). The
// recursion starts from the mean square of the first halfLife changes,
// and σ is floored at volFloor.
func ewmaVol(y []float64, halfLife float64) []float64 {
	sig := make([]float64, len(y))
	if len(y) == 0 {
		return sig
	}
	if halfLife < 1 {
		halfLife = 1
	}
	lambda := math.Pow(2, -1/halfLife)
	k := min(len(y)-1, int(math.Ceil(halfLife)))
	v := 0.0
	for t := 1; t <= k; t++ {
		d := y[t] - y[t-1]
		v += d * d
	}
	if k > 0 {
		v /= float64(k)
	}
	sig[0] = math.Max(math.Sqrt(v), volFloor)
	for t := 1; t < len(y); t++ {
		d := y[t] - y[t-1]
		v = lambda*v + (1-lambda)*d*d
		sig[t] = math.Max(math.Sqrt(v), volFloor)
	}
	return sig
}

// volatility is the one-step log volatility the spread scales with: a
// blend of a short EWMA, which follows recent moves, and a long one, which
// remembers that a pool flat for two weeks has jumped before,
//
//	σ²(t) = w σ²short(t) + (1-w) σ²long(t),
//
// a two-component variance in the spirit of Engle & Lee (1999), "A
// long-run and short-run component model of stock return volatility",
// with fixed rather than estimated weights.
func volatility(y []float64, c config) []float64 {
	s := ewmaVol(y, c.halfLife)
	if c.longWeight >= 1 {
		return s
	}
	l := ewmaVol(y, c.longHalfLife)
	w := c.longWeight
	for i := range s {
		s[i] = math.Sqrt(w*s[i]*s[i] + (1-w)*l[i]*l[i])
	}
	return s
}

// The predictive distribution of the log price at T+h is a mixture: with
// probability π the price does not change (an atom at the last price),
// otherwise it is the last price plus a continuous change,
//
//	F(x) = π·1{x >= y(T)} + (1-π)·G((x - y(T) - m)/s),
//
// a hurdle model (Mullahy 1986, "Specification and testing of some
// modified count data models", J. Econometrics 33, §2) with a continuous
// second part. Spot prices are step functions: in the 2021 per-AZ history
// 94% of hours and 56% of days show no change, and pools differ widely
// (some change every 5-7 hours, most almost never), so π is estimated
// per series (tieProbs), G is the pooled distribution of standardized
// non-zero changes (split conformal) and s scales it to the series.
// The same construction on the running maximum gives the path-maximum
// probability (ExceedProb).

// tieStrength is the weight of the pooled share in a series' tie (and
// no-rise) probability, in effective independent windows: a Beta prior
// worth two windows (Gelman et al., Bayesian Data Analysis, 3rd ed.,
// §2.4, the beta-binomial posterior mean).
const tieStrength = 2.0

// maxTieProb keeps 1-π away from zero so the continuous part's scale
// s = σ√h/√(1-π) stays finite.
const maxTieProb = 1 - 1e-6

// eventProbs returns p[t-from] for origins t in [from, to]: the
// probability that the event holds for the window starting at origin t,
// estimated from the windows s <= t-h that are complete by t (no
// look-ahead); ev[s] says whether it held for the window starting at s.
// Past windows are weighted by lambda^(age), and each counts 1/h because
// windows of length h that start within h steps of each other share most
// of their path; the weighted share is shrunk to prior with weight
// tieStrength.
func eventProbs(h, from, to int, lambda, prior float64, ev []bool, out []float64) []float64 {
	// Sized once: a whole-market refit calls this for every pool and
	// horizon.
	if n := to - from + 1; cap(out) < n {
		out = make([]float64, 0, n)
	}
	out = out[:0]
	start := eventStart(h, from, lambda)
	// Origins before any complete window get the prior.
	for t := from; t <= min(to, start-1); t++ {
		out = append(out, math.Min(maxTieProb, prior))
	}
	k, n := 0.0, 0.0
	inv := 1 / float64(h)
	for t := start; t <= to; t++ {
		k *= lambda
		n = n*lambda + inv
		if ev[t-h] {
			k += inv
		}
		if t >= from {
			out = append(out, math.Min(maxTieProb, (k+tieStrength*prior)/(n+tieStrength)))
		}
	}
	return out
}

// eventShares returns, for origins t in [from, to], the weighted share of
// the windows s <= t-h complete by t in which the event held (weights
// lambda^(age), as eventProbs) and the share's effective number of
// independent windows: windows that start within h steps of each other
// share most of their path, so blocks of h windows count as one, and
// Kish's effective sample size (Σw)²/Σw² (Kish 1965, Survey Sampling,
// §11.7) counts those blocks. Origins before any complete window get
// share 0 and no windows.
func eventShares(h, from, to int, lambda float64, ev []bool, share, neff []float64) ([]float64, []float64) {
	share, neff = share[:0], neff[:0]
	for t := from; t <= min(to, eventStart(h, from, lambda)-1); t++ {
		share, neff = append(share, 0), append(neff, 0)
	}
	var w, w2, k float64
	l2 := lambda * lambda
	for t := eventStart(h, from, lambda); t <= to; t++ {
		w, w2, k = lambda*w+1, l2*w2+1, lambda*k
		if ev[t-h] {
			k++
		}
		if t >= from {
			share, neff = append(share, k/w), append(neff, w*w/(float64(h)*w2))
		}
	}
	return share, neff
}

// shrunk is the posterior mean of a probability whose prior is Beta
// with mean prior and strength (in independent windows) strength, given
// a share observed over neff independent windows (Gelman et al.,
// Bayesian Data Analysis, 3rd ed., §2.4).
func shrunk(share, neff, prior, strength float64) float64 {
	return math.Min(maxTieProb, (neff*share+strength*prior)/(neff+strength))
}

// maxFlatStrength stands for an infinite prior strength: the pool shows
// no spread of the no-rise probability between its series beyond
// sampling noise, so every series gets the pooled share.
const maxFlatStrength = 1e6

// flatStrength estimates, per horizon, the strength of the Beta prior
// on a series' no-rise probability from the spread of the series'
// shares around the pooled share μ (an empirical Bayes method of
// moments for the beta-binomial; Kleinman 1973, "Proportions with
// extraneous variance: single and independent samples", JASA 68, §2):
// a share over n independent windows of a series whose probability θ is
// drawn from the prior has E[n (p - μ)²] = μ(1-μ) + (n-1) τ², τ² the
// prior's variance, so summing over series and origins
//
//	τ² = (Σ n (p - μ)² - K μ(1-μ)) / Σ (n - 1),  strength = μ(1-μ)/τ² - 1.
//
// A group of pools with the same dynamics (τ² near 0) then shares one
// no-rise probability instead of each pool's noisy own: the path-maximum
// probability is P(rise)·S(a), and a per-pool P(rise) that scatters
// around the truth under-covers on average (E[θ/θ̂] > 1, Jensen), most
// where rises are rare. Pools that differ keep most of their own. The
// floor is tieStrength (two windows, the fixed prior of the tie
// probability).
func flatStrength(sum, terms, excess []float64, flat []float64) []float64 {
	out := make([]float64, len(flat))
	for h, mu := range flat {
		v := mu * (1 - mu)
		out[h] = maxFlatStrength
		if excess[h] > 0 {
			if tau2 := (sum[h] - terms[h]*v) / excess[h]; tau2 > 0 {
				out[h] = math.Min(maxFlatStrength, math.Max(tieStrength, v/tau2-1))
			}
		}
	}
	return out
}

// eventStart is the first origin eventProbs weighs for origins from
// `from` on: weights older than 2^-8 are dropped.
func eventStart(h, from int, lambda float64) int {
	if lambda <= 0 || lambda >= 1 {
		return max(h, from)
	}
	return max(h, from-int(8/(-math.Log2(lambda))))
}

// sized returns ev with length n, reusing its array (the contents are
// stale).
func sized(ev []bool, n int) []bool {
	n = max(n, 0)
	if cap(ev) < n {
		return make([]bool, n)
	}
	return ev[:n]
}

// tieEvents sets ev[s] = (y(s+h) = y(s)) for s in [lo, to-h]; ev has
// length to-h+1 and its entries below lo are left as they were (eventProbs
// for origins from `from` on reads none below eventStart(h, from)-h).
func tieEvents(y []float64, h, lo, to int, ev []bool) []bool {
	ev = sized(ev, to-h+1)
	for s := max(lo, 0); s+h <= to; s++ {
		ev[s] = y[s+h] == y[s]
	}
	return ev
}

// flatEvents sets ev[s] = (no rise above y(s) within h steps) for s in
// [lo, to-h], from nextRise's nr, as tieEvents does.
func flatEvents(nr []int, h, lo, to int, ev []bool) []bool {
	ev = sized(ev, to-h+1)
	for s := max(lo, 0); s+h <= to; s++ {
		ev[s] = nr[s] > s+h
	}
	return ev
}

// nextRise returns, for every index s, the first index k > s with
// y(k) > y(s), or len(y) if there is none (a monotone stack, linear
// time): the path from s rises within h steps iff nextRise(s) <= s+h.
func nextRise(y []float64) []int {
	nr := make([]int, len(y))
	stack := make([]int, 0, 64)
	for i := len(y) - 1; i >= 0; i-- {
		for len(stack) > 0 && y[stack[len(stack)-1]] <= y[i] {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			nr[i] = len(y)
		} else {
			nr[i] = stack[len(stack)-1]
		}
		stack = append(stack, i)
	}
	return nr
}

// jumpPrior is the weight, in changes, of the pooled jump size in a
// series' own (a credibility weight, Bühlmann 1967): a series with no
// change yet gets the pooled size, one with many changes its own.
const jumpPrior = 1.0

// defaultJump is the jump size assumed when no pooled series has ever
// changed (1% in log price): there is nothing to estimate it from, and
// the atom then carries nearly all the probability anyway.
const defaultJump = 0.01

// jumpVol returns σc(t) for every t: the root mean square of the non-zero
// one-step log changes up to t, the size of a move when the price moves.
// Like volatility() it blends a short and a long exponentially weighted
// component (both weighted in time, over the changes only), each shrunk
// towards prior by jumpPrior. Unlike the EWMA of all changes it does not
// decay while a pool is flat: a pool that jumps by 5% every few weeks
// keeps that size between its jumps.
func jumpVol(y []float64, c config, prior float64) []float64 {
	out := make([]float64, len(y))
	ls, ll := math.Pow(2, -1/math.Max(c.halfLife, 1)), math.Pow(2, -1/math.Max(c.longHalfLife, 1))
	p2 := prior * prior
	w := c.longWeight
	var ns, ds, nl, dl float64
	for t := range y {
		if t > 0 {
			ns, ds, nl, dl = ns*ls, ds*ls, nl*ll, dl*ll
			if d := y[t] - y[t-1]; d != 0 {
				ns, ds, nl, dl = ns+d*d, ds+1, nl+d*d, dl+1
			}
		}
		vs := (ns + jumpPrior*p2) / (ds + jumpPrior)
		vl := (nl + jumpPrior*p2) / (dl + jumpPrior)
		out[t] = math.Max(math.Sqrt(w*vs+(1-w)*vl), volFloor)
	}
	return out
}

// jumpMoments returns the number of y's non-zero one-step changes and
// the sum of their fourth powers in units of rms (the sum behind their
// kurtosis).
func jumpMoments(y []float64, rms float64) (n, q4 float64) {
	for t := 1; t < len(y); t++ {
		if d := y[t] - y[t-1]; d != 0 {
			z := d / rms
			n++
			q4 += z * z * z * z
		}
	}
	return n, q4
}

// jumpRMS is the root mean square of y's non-zero one-step changes (0 if
// it never changes): a series' typical jump, whose median over a pool's
// series is the prior of jumpVol.
func jumpRMS(y []float64) float64 {
	s, n := 0.0, 0
	for t := 1; t < len(y); t++ {
		if d := y[t] - y[t-1]; d != 0 {
			s += d * d
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(s / float64(n))
}

// condScale is the scale of the continuous part at horizon h: a compound
// process (Press 1967, "A compound events model for security prices",
// J. Business 40(3)) whose steps change with probability rate (1 - the
// one-step tie probability) by jumps of size jump has h-step variance
// h·rate·jump², all of it carried by the windows with a change
// (probability 1-pi), so E[d² | d ≠ 0] = h·rate·jump²/(1-pi), and at
// least jump² (a change is at least one jump).
func condScale(jump, rate float64, h int, pi float64) float64 {
	// Given a change there is at least one jump.
	return jump * math.Sqrt(math.Max(1, float64(h)*rate/math.Max(1-pi, 1-maxTieProb)))
}

// dist is an empirical distribution (sorted sample).
type dist struct {
	x []float64
	// table[k] is the quantile at k/tableSize for large samples: the
	// adaptive levels look quantiles up thousands of times per forecast.
	table []float64
	// at0 is cdf(0), which every unchanged outcome asks for.
	at0 float64
	// neff is the number of independent values the sample amounts to
	// (0: every value independent), and tail the mean excess over the
	// median; both set for running maxima only (see widening).
	neff, tail float64
}

const tableSize = 2000

func (d *dist) freeze() {
	sort.Float64s(d.x)
	d.freezeSorted()
}

func (d *dist) freezeSorted() {
	if len(d.x) > tableSize {
		d.table = make([]float64, tableSize+1)
		for k := range d.table {
			d.table[k] = empiricalQuantile(d.x, float64(k)/tableSize)
		}
	}
	d.at0 = d.search(0)
}

// setTail records the mean excess over the median, the scale of an
// exponential upper tail fitted to the upper half by maximum likelihood.
func (d *dist) setTail() {
	if len(d.x) == 0 {
		return
	}
	u := d.quantile(0.5)
	sum, n := 0.0, 0
	for _, v := range d.x[sort.SearchFloat64s(d.x, u):] {
		if v > u {
			sum += v - u
			n++
		}
	}
	if n > 0 {
		d.tail = sum / float64(n)
	}
}

// widening is how far the p-quantile moves out, p > 0.5, when the
// sample holds few independent values: a week-long running maximum
// seen over four weeks of six pools is a couple of dozen draws however
// many overlapping windows it is read from, and the empirical quantiles
// of so few draws fall short of the true ones in the upper tail. With
// the upper half exponential of scale β (tail) estimated from k = neff/2
// independent exceedances of the median, the predictive distribution
// of a new exceedance under the Jeffreys prior on the rate is Lomax,
// S(x) = (1 + x/(kβ))^(-k), so the quantile at L = ½/(1-p) moves from
// the plug-in β·log L to kβ(L^(1/k) - 1) (Bayesian predictive for the
// exponential: Aitchison & Dunsmore 1975, Statistical Prediction
// Analysis, §2.3). The difference is added to the empirical quantile:
// it vanishes as the sample grows and is large only far in the tail of
// a small one.
func (d *dist) widening(p float64) float64 {
	if p <= 0.5 || p >= 1 || d.neff <= 0 || d.tail <= 0 {
		return 0
	}
	k := math.Max(d.neff/2, 1)
	l := math.Log(0.5 / (1 - p))
	return d.tail * (k*math.Expm1(l/k) - l)
}

// quantile is the p-quantile by linear interpolation between order
// statistics (Hyndman & Fan 1996, definition 7); the standard normal
// quantile for an empty sample.
func (d *dist) quantile(p float64) float64 {
	switch {
	case len(d.x) == 0:
		return normQuantile(math.Min(math.Max(p, 1e-9), 1-1e-9))
	case d.table != nil:
		return empiricalQuantile(d.table, p)
	}
	return empiricalQuantile(d.x, p)
}

// cdf inverts quantile: the share of the (interpolated) distribution at
// or below v, 0 below the smallest value and 1 above the largest.
func (d *dist) cdf(v float64) float64 {
	if v == 0 && (d.table != nil || len(d.x) > 0) {
		return d.at0
	}
	return d.search(v)
}

func (d *dist) search(v float64) float64 {
	x := d.x
	if d.table != nil {
		x = d.table
	}
	n := len(x)
	switch {
	case n == 0:
		return normCDF(v)
	case v < x[0]:
		return 0
	case v >= x[n-1]:
		return 1
	case n == 1:
		return 1
	}
	// Binary search for x[i-1] < v <= x[i].
	lo, hi := 0, n-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo
	if i == 0 {
		return 0
	}
	f := 0.0
	if x[i] > x[i-1] {
		f = (v - x[i-1]) / (x[i] - x[i-1])
	}
	return (float64(i-1) + f) / float64(n-1)
}

// The continuous part's shape depends on how many changes a window
// holds: one jump has the jump-size distribution, many are close to
// Gaussian. The pool is therefore split by the expected number of changes
// h·rate into classes, each calibrated on its own (Mondrian conformal
// prediction: Vovk, Lindsay, Nouretdinov & Gammerman 2003, "Mondrian
// confidence machine", and Vovk, Gammerman & Shafer 2005, Algorithmic
// Learning in a Random World, §4.5), with the whole pool standing in for
// a class with fewer than minClassSize values.
const (
	nClasses     = 3
	minClassSize = 200
)

// jumpClass is the class of a window expected to hold n changes.
func jumpClass(n float64) int {
	switch {
	case n < 1.5:
		return 0
	case n < 6:
		return 1
	}
	return 2
}

// classDists are one horizon's distributions per class; index nClasses
// holds every class.
type classDists [nClasses + 1]dist

func (c *classDists) add(k int, v float64) {
	c[k].x = append(c[k].x, v)
	c[nClasses].x = append(c[nClasses].x, v)
}

// freeze sorts each class and merges them into the whole (cheaper than
// sorting the whole again).
func (c *classDists) freeze() {
	all := &c[nClasses]
	all.x = all.x[:0]
	for k := range nClasses {
		c[k].freeze()
		all.x = mergeSorted(all.x, c[k].x)
	}
	all.freezeSorted()
}

// mergeSorted returns the sorted union of sorted a and b (reusing a's
// array when it has room).
func mergeSorted(a, b []float64) []float64 {
	out := make([]float64, len(a)+len(b))
	i, j := 0, 0
	for k := range out {
		if j >= len(b) || (i < len(a) && a[i] <= b[j]) {
			out[k] = a[i]
			i++
		} else {
			out[k] = b[j]
			j++
		}
	}
	return out
}

// get is the distribution of class k, or of every class if k has too
// few values.
func (c *classDists) get(k int) *dist {
	if len(c[k].x) >= minClassSize {
		return &c[k]
	}
	return &c[nClasses]
}

// ResidualPool is the calibration sample behind every predictive
// distribution, per horizon h: standardized non-zero h-step changes
// z = (y(t+h) - y(t)) / s(t) of naive forecasts (s from condScale with
// the series' own tie probability at t), and standardized positive
// running maxima, pooled over many series and origins, with the pooled
// shares of unchanged prices and of paths that did not rise (the priors
// of the per-series probabilities). Quantiles of z times a series' own
// scale give its continuous part: filtered historical simulation
// (Barone-Adesi, Giannopoulos & Vosper 1999, "VaR without correlations
// for portfolios of derivative securities", J. Futures Markets 19(5)),
// which is split-conformal prediction (Lei, G'Sell, Rinaldo, Tibshirani &
// Wasserman 2018, JASA, §2.2) with the normalized nonconformity score of
// their §5.2, calibrated per horizon.
type ResidualPool struct {
	cont, rise []classDists
	// tieShare[h-1] and flatShare[h-1] are the pooled shares of windows
	// whose price was unchanged at h, or never rose above the start.
	tieShare, flatShare []float64
	// flatStrength[h-1] is the strength of the prior flatShare[h-1] in a
	// series' no-rise probability (flatStrength()).
	flatStrength []float64
	// sigma0 is the median volatility of the pooled series at their
	// origins: the prior for a series too short to have its own; jump0
	// the median jump size (jumpRMS), the prior of jumpVol.
	sigma0, jump0 float64
	// rate0 is the pooled one-step change rate; riseWeight the weight of
	// a series' own jump size and change rate in the running maximum's
	// scale (riseScale).
	rate0, riseWeight float64
	// tieLambda is the per-step weight decay of the tie and no-rise
	// probabilities (Options.TieHalfLife).
	tieLambda float64
}

// noRise is a series' probability of no rise within h steps, from the
// share of its past windows that did not rise over neff independent
// windows, shrunk towards the pooled share.
func (rp *ResidualPool) noRise(h int, share, neff float64) float64 {
	hi := rp.hIndex(h)
	return shrunk(share, neff, rp.flatShare[hi], rp.flatStrength[hi])
}

// Horizon is the pool's longest horizon.
func (rp *ResidualPool) Horizon() int { return len(rp.cont) }

// Len is the number of non-zero changes at horizon h (1-based).
func (rp *ResidualPool) Len(h int) int {
	if h < 1 || h > len(rp.cont) {
		return 0
	}
	return len(rp.cont[h-1][nClasses].x)
}

func (rp *ResidualPool) hIndex(h int) int { return min(max(h, 1), len(rp.cont)) - 1 }

// riseScale is the running maximum's scale at horizon h: condScale
// with the series' jump size and change rate shrunk towards the pool's
// on the log scale, log x* = w·log x + (1-w)·log x0 with w = riseWeight.
// A week-long maximum is read in units of this scale, and the scale's
// own estimation error (a jump size and rate from the few changes of
// the last weeks) widens the predictive distribution by more than the
// calibration sample, which holds a handful of persistent scale errors,
// can show: pools with the same dynamics should share one scale, pools
// that differ keep theirs (riseShrinkWeight).
func (rp *ResidualPool) riseScale(jump, rate float64, h int, rho float64) float64 {
	w := rp.riseWeight
	if w < 1 && rp.jump0 > 0 && rp.rate0 > 0 {
		jump = math.Exp(w*math.Log(jump) + (1-w)*math.Log(rp.jump0))
		rate = math.Exp(w*math.Log(math.Max(rate, 1e-9)) + (1-w)*math.Log(rp.rate0))
	}
	return condScale(jump, rate, h, rho)
}

// riseShrinkWeight is the empirical Bayes weight (James & Stein 1961;
// Efron & Morris 1975, "Data analysis using Stein's estimator and its
// generalizations", JASA 70, §2) of a series' own log scale
// log(jump·√rate) against the pool's: τ²/(τ² + v̄), where v̄ is the mean
// sampling variance of the series' log scales and τ² the spread of the
// log scales beyond it. logS[i] is a series' log scale, noise[i] its
// sampling variance (scaleNoise).
func riseShrinkWeight(logS, noise []float64) float64 {
	if len(logS) < 3 {
		return 1 // too few series to tell their spread from noise
	}
	var mean, v float64
	for i, l := range logS {
		mean += l
		v += noise[i]
	}
	mean /= float64(len(logS))
	v /= float64(len(logS))
	ss := 0.0
	for _, l := range logS {
		ss += (l - mean) * (l - mean)
	}
	tau2 := math.Max(0, ss/float64(len(logS)-1)-v)
	return tau2 / (tau2 + v)
}

// scaleNoise is the sampling variance of a series' log scale from its n
// jumps whose fourth powers (in units of their root mean square) sum to
// q4: the log of a root mean square of n jumps with kurtosis κ = q4/n
// has variance about (κ-1)/(4n) (delta method), the log of √rate from n
// changes about 1/(4n); together κ/(4n).
func scaleNoise(n, q4 float64) float64 {
	return q4 / n / (4 * n)
}

// poolInput is one series' contribution to a pool: origins t in
// [from, to] (every stride-th) whose window ends at or before to; sig is
// its volatility().
type poolInput struct {
	y, sig           []float64
	from, to, stride int
}

// changeRate returns 1 - the one-step tie probability at origins
// [from, to], the per-step change probability of condScale.
func (rp *ResidualPool) changeRate(y []float64, from, to int, out []float64) []float64 {
	out = eventProbs(1, from, to, rp.tieLambda, rp.tieShare[0], tieEvents(y, 1, eventStart(1, from, rp.tieLambda)-1, to, nil), out)
	for i, p := range out {
		out[i] = 1 - p
	}
	return out
}

// buildPool builds the pool for horizons 1..H from the inputs in two
// passes: the pooled tie and no-rise shares first (the priors), then the
// standardized values, which need each series' probabilities.
func buildPool(in []poolInput, H int, c config) *ResidualPool {
	rp := &ResidualPool{
		cont: make([]classDists, H), rise: make([]classDists, H),
		tieShare: make([]float64, H), flatShare: make([]float64, H),
		tieLambda: c.tieLambda,
	}
	nrs := make([][]int, len(in))
	ties, flat, total := make([]float64, H), make([]float64, H), make([]float64, H)
	var sigmas, jumps, logS, noise []float64
	stride0 := 1
	for i := range in {
		p := &in[i]
		p.from, p.to, p.stride = max(p.from, 0), min(p.to, len(p.y)-1), max(p.stride, 1)
		stride0 = p.stride
		if p.to < 0 {
			continue
		}
		y := p.y[:p.to+1]
		nrs[i] = nextRise(y)
		sigmas = append(sigmas, p.sig[p.to])
		if j := jumpRMS(y); j > 0 {
			jumps = append(jumps, j)
			n, q := jumpMoments(y, j)
			logS = append(logS, math.Log(j)+0.5*math.Log(n/float64(len(y))))
			noise = append(noise, scaleNoise(n, q))
		}
		for h := 1; h <= H; h++ {
			for t := p.from; t+h <= p.to; t += p.stride {
				total[h-1]++
				if y[t+h] == y[t] {
					ties[h-1]++
				}
				if nrs[i][t] > t+h {
					flat[h-1]++
				}
			}
		}
	}
	for h := range H {
		// Laplace's rule of succession on effective counts (windows of
		// length h overlap: about total/h of them are independent) keeps
		// a small or one-sided pool, such as one series' own history,
		// away from 0 and 1; a pool of thousands of series is unaffected.
		n := total[h] * float64(stride0) / float64(h+1)
		rp.tieShare[h] = (n*ties[h]/math.Max(total[h], 1) + 1) / (n + 2)
		rp.flatShare[h] = (n*flat[h]/math.Max(total[h], 1) + 1) / (n + 2)
	}
	rp.jump0 = defaultJump
	if len(jumps) > 0 {
		sort.Float64s(jumps)
		rp.jump0 = empiricalQuantile(jumps, 0.5)
	}
	rp.rate0 = 1 - rp.tieShare[0]
	rp.riseWeight = riseShrinkWeight(logS, noise)
	// How far the series' no-rise shares spread around the pooled one,
	// beyond sampling noise: the strength of the prior (flatStrength).
	sum, terms, excess := make([]float64, H), make([]float64, H), make([]float64, H)
	var ev []bool
	var share, neff []float64
	for i, p := range in {
		if p.to < p.from {
			continue
		}
		for h := 1; h <= H && p.from+h <= p.to; h++ {
			mu := rp.flatShare[h-1]
			ev = flatEvents(nrs[i], h, eventStart(h, p.from, rp.tieLambda)-h, p.to-h, ev)
			share, neff = eventShares(h, p.from, p.to-h, rp.tieLambda, ev, share, neff)
			for t := p.from; t+h <= p.to; t += p.stride {
				if n := neff[t-p.from]; n >= 1 {
					d := share[t-p.from] - mu
					sum[h-1] += n * d * d
					terms[h-1]++
					excess[h-1] += n - 1
				}
			}
		}
	}
	rp.flatStrength = flatStrength(sum, terms, excess, rp.flatShare)
	rhos := make([][]float64, H)
	counts := make([][nClasses + 1]int, H)
	var pis, rate []float64
	for i, p := range in {
		if p.to < p.from {
			continue
		}
		y, nr := p.y[:p.to+1], nrs[i]
		jump := jumpVol(y, c, rp.jump0)
		rate = rp.changeRate(y, p.from, p.to, rate)
		for h := 1; h <= H && p.from+h <= p.to; h++ {
			lo := eventStart(h, p.from, rp.tieLambda) - h
			ev = tieEvents(y, h, lo, p.to-h, ev)
			pis = eventProbs(h, p.from, p.to-h, rp.tieLambda, rp.tieShare[h-1], ev, pis)
			ev = flatEvents(nr, h, lo, p.to-h, ev)
			share, neff = eventShares(h, p.from, p.to-h, rp.tieLambda, ev, share, neff)
			rhos[h-1] = rhos[h-1][:0]
			for k := range share {
				rhos[h-1] = append(rhos[h-1], rp.noRise(h, share[k], neff[k]))
			}
			for t := p.from; t+h <= p.to; t += p.stride {
				if d := y[t+h] - y[t]; d != 0 {
					r := rate[t-p.from]
					rp.cont[h-1].add(jumpClass(float64(h)*r), d/condScale(jump[t], r, h, pis[t-p.from]))
				}
			}
		}
		// Running maxima, for every horizon at once.
		clear(counts)
		for t := p.from; t < p.to; t += p.stride {
			if nr[t] > p.to || nr[t] > t+H {
				continue // no rise within the pool's horizons
			}
			m := 0.0
			for h := 1; h <= H && t+h <= p.to; h++ {
				m = math.Max(m, y[t+h]-y[t])
				if m > 0 {
					r := rate[t-p.from]
					k := jumpClass(float64(h) * r)
					rp.rise[h-1].add(k, m/rp.riseScale(jump[t], r, h, rhos[h-1][t-p.from]))
					counts[h-1][k]++
					counts[h-1][nClasses]++
				}
			}
		}
		// A series' windows of h steps overlap: c of them, stride apart,
		// hold about 1 + (c-1)·stride/h independent ones.
		for h := range counts {
			for k, c := range counts[h] {
				if c > 0 {
					rp.rise[h][k].neff += math.Min(float64(c), 1+float64((c-1)*p.stride)/float64(h+1))
				}
			}
		}
	}
	for h := range H {
		rp.cont[h].freeze()
		rp.rise[h].freeze()
		for k := range rp.rise[h] {
			rp.rise[h][k].setTail()
		}
	}
	if len(sigmas) > 0 {
		sort.Float64s(sigmas)
		rp.sigma0 = empiricalQuantile(sigmas, 0.5)
	}
	return rp
}

// empiricalQuantile is definition 7 of Hyndman & Fan (1996) on sorted x.
func empiricalQuantile(x []float64, p float64) float64 {
	n := len(x)
	if n == 1 {
		return x[0]
	}
	pos := p * float64(n-1)
	if pos <= 0 {
		return x[0]
	}
	if pos >= float64(n-1) {
		return x[n-1]
	}
	i := int(pos)
	f := pos - float64(i)
	return x[i] + f*(x[i+1]-x[i])
}

// normQuantile is the standard normal quantile function.
func normQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// normCDF is the standard normal distribution function.
func normCDF(x float64) float64 {
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// mix is the predictive distribution of the h-step log change y(T+h) -
// y(T): an atom of mass pi at 0 and, with mass 1-pi, m + s·Z, Z ~ g.
type mix struct {
	pi, s, m float64
	g        *dist
}

// atom returns F(0-) and F(0), the distribution function just below and
// at the atom.
func (x mix) atom() (float64, float64) {
	lo := (1 - x.pi) * x.g.cdf(-x.m/x.s)
	return lo, lo + x.pi
}

// quantile is the mixture's quantile at level a (0 inside the atom).
func (x mix) quantile(a float64) float64 {
	lo, hi := x.atom()
	switch {
	case a < lo:
		return x.m + x.s*x.g.quantile(a/(1-x.pi))
	case a <= hi:
		return 0
	}
	return x.m + x.s*x.g.quantile((a-x.pi)/(1-x.pi))
}

// cdf is F(v) for v ≠ 0.
func (x mix) cdf(v float64) float64 {
	c := (1 - x.pi) * x.g.cdf((v-x.m)/x.s)
	if v > 0 {
		c += x.pi
	}
	return c
}

// aciLevels adapts each quantile level to the series' own recent misses
// with adaptive conformal inference (Gibbs & Candès 2021, "Adaptive
// conformal inference under distribution shift", NeurIPS, eq. 2, applied
// to each one-sided quantile level p as in their §2.2):
//
//	a(t+1) = a(t) + γ (p - err(t)),  err(t) = 1{y(t+h) <= q(t; a(t))}
//
// run over the origins in [from, to-h] in time order, per horizon h, on
// the naive-centred mixture at each origin (pis[h-1][t-from] its tie
// probability, jump and rate[t-from] its scale). An outcome on the atom (an unchanged price) counts the
// probability that its randomized PIT, uniform on [F(0-), F(0)], falls
// at or below a(t) (Czado, Gneiting & Held 2009, Biometrics 65, eq. 1),
// so a pool that did not move pushes no level to either side of its
// price. The outcomes of consecutive origins share h-1 of their h steps,
// so each origin moves the levels by γ/h: one independent window counts
// once, as in eventProbs. With γ per origin at every horizon, the levels
// at h steps swung h times as far on one event: on GCP prices, which
// change market-wide every two weeks, the 7-day levels narrowed after a
// repricing of 5% and the next one of 10% fell outside (95% coverage
// 79.5%). The result a[h-1][j] is the raw level to use for Levels[j] at
// the next origin, clamped to [0.001, 0.999] and sorted.
func aciLevels(y, jump, rate []float64, pool *ResidualPool, pis [][]float64, H, from, to int, gamma float64) [][]float64 {
	a := make([][]float64, H)
	for h := 1; h <= H; h++ {
		lv := make([]float64, len(Levels))
		copy(lv, Levels)
		a[h-1] = lv
		if gamma <= 0 || from < 0 {
			continue
		}
		cd := &pool.cont[pool.hIndex(h)]
		g := gamma / float64(h)
		for t := from; t+h <= to; t++ {
			pi, r := pis[h-1][t-from], rate[t-from]
			x := mix{pi: pi, s: condScale(jump[t], r, h, pi), g: cd.get(jumpClass(float64(h) * r))}
			if o := y[t+h] - y[t]; o == 0 {
				lo, hi := x.atom()
				for j, p := range Levels {
					err := 0.5
					if hi > lo {
						err = clamp((lv[j]-lo)/(hi-lo), 0, 1)
					}
					lv[j] = clamp(lv[j]+g*(p-err), 0.001, 0.999)
				}
			} else {
				u := x.cdf(o)
				for j, p := range Levels {
					err := 0.0
					if u <= lv[j] {
						err = 1
					}
					lv[j] = clamp(lv[j]+g*(p-err), 0.001, 0.999)
				}
			}
		}
		// Levels adapted separately can cross; sorting them is the
		// monotone rearrangement of Chernozhukov, Fernández-Val & Galichon
		// (2010), which never increases the pinball loss.
		sort.Float64s(lv)
		for j := 1; j < len(lv); j++ {
			lv[j] = math.Max(lv[j], lv[j-1]+1e-9)
		}
	}
	return a
}

// clamp limits v to [lo, hi] (plain comparisons: math.Min and math.Max
// handle NaN and signed zeros, which cost in the adaptive loop).
func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// levelMap maps a raw mixture level u to the nominal level it stands
// for: piecewise linear through (0, 0), (a[j], Levels[j]) and (1, 1).
func levelMap(a []float64, u float64) float64 {
	if u <= 0 {
		return 0
	}
	if u >= 1 {
		return 1
	}
	i := sort.SearchFloat64s(a, u) // a[i-1] < u <= a[i]
	x0, p0, x1, p1 := 0.0, 0.0, 1.0, 1.0
	if i > 0 {
		x0, p0 = a[i-1], Levels[i-1]
	}
	if i < len(a) {
		x1, p1 = a[i], Levels[i]
	}
	if x1 <= x0 {
		return p1
	}
	return p0 + (p1-p0)*(u-x0)/(x1-x0)
}
