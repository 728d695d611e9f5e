package forecast

import (
	"math"
	"time"
)

// bgkBeta is ζ(1/2)/√(2π), the continuity correction of Broadie,
// Glasserman & Kou (1997), "A continuity correction for discrete barrier
// options", Mathematical Finance 7(4), Theorem 1.
const bgkBeta = 0.5826

// ExceedProb returns the probability that the price exceeds b at some
// grid time in (Origin, Origin+d]: the path maximum, not the price at the
// end. For b at or above the last price it reads the step h nearest d
// (rounded up):
//
//	P(max > b) = ProbRise(h) · S_h(log(b/LastPrice)),
//
// S_h being the running maximum's conditional survival function given a
// rise, interpolated log-linearly between its quantiles (RiseQuantiles)
// and extended beyond the highest stored level by the exponential tail
// through the two highest (a generalized Pareto tail with shape 0,
// Pickands 1975, "Statistical inference using extreme order statistics",
// Ann. Statist. 3, §1). Those quantiles come from split conformal
// calibration on realised running maxima (see ResidualPool), so the
// probability is calibrated on what prices did over windows of that
// length, rather than derived from the marginal spread by √h scaling.
//
// d beyond the last step extrapolates the last step's maximum with
// square-root-of-time scaling (log distances shrink by √(h/τ)); d shorter
// than one step scales the first step's probability by d/step. A forecast
// without RiseQuantiles (built by hand or decoded from an older store)
// falls back to the reflection principle on the 5%-95% spread
// (reflectionExceed). The result is in [0, 1]: 1 when the last price
// already exceeds b; 0 for an empty forecast, a NaN b or d <= 0.
func (f PriceForecast) ExceedProb(b float64, d time.Duration) float64 {
	if len(f.Steps) == 0 || math.IsNaN(b) || f.LastPrice <= 0 || f.StepSize <= 0 {
		return 0
	}
	if f.LastPrice > b {
		return 1
	}
	if d <= 0 {
		return 0
	}
	tau := float64(d) / float64(f.StepSize)
	h := min(int(math.Ceil(tau)), len(f.Steps))
	st := f.Steps[h-1]
	if len(st.RiseQuantiles) == 0 {
		return f.reflectionExceed(b, tau, h)
	}
	a := math.Log(b / f.LastPrice)
	if tau > float64(h) {
		a *= math.Sqrt(float64(h) / tau)
	}
	p := st.ProbRise * riseSurvival(st.RiseQuantiles, f.LastPrice, a)
	if tau < 1 {
		p *= tau
	}
	return math.Min(1, math.Max(0, p))
}

// riseSurvival is P(running max - log(last) > a | it rises), a >= 0,
// from the conditional quantiles rq (levels increasing): 1 at a = 0,
// log-linear between the quantiles, exponential beyond the last one.
// Quantiles tied at one value are a point mass there: the survival drops
// at that value from 1 - the lowest tied level to 1 - the highest.
func riseSurvival(rq []Quantile, last, a float64) float64 {
	if a <= 0 {
		return 1
	}
	x0, ls0 := 0.0, 0.0 // the previous knot: distance, log survival just above it
	slope := math.NaN() // of the last segment with positive width
	for i := 0; i < len(rq); {
		q := rq[i]
		if q.Value <= 0 || q.P >= 1 {
			i++
			continue
		}
		x := math.Max(math.Log(q.Value/last), 0)
		lsLeft := math.Log(1 - q.P)
		j := i
		for j+1 < len(rq) && rq[j+1].Value == q.Value && rq[j+1].P < 1 {
			j++
		}
		lsRight := math.Log(1 - rq[j].P)
		if x > x0 {
			slope = (lsLeft - ls0) / (x - x0)
			if a < x {
				return math.Exp(ls0 + slope*(a-x0))
			}
		}
		x0, ls0 = x, math.Min(ls0, lsRight)
		i = j + 1
	}
	if math.IsNaN(slope) || slope >= 0 {
		return 0 // every stored quantile at the last price: no room to rise
	}
	return math.Exp(ls0 + slope*(a-x0))
}

// reflectionExceed treats the log price as a Brownian motion with the
// drift and spread the forecast implies at step h: drift μ per step from
// the point forecast, σ per step from the 5%-95% interval (σ√h = (log q95
// - log q5) / (2·1.645)). By the reflection principle (Karatzas & Shreve,
// Brownian Motion and Stochastic Calculus, 2nd ed., §3.5.C, eq. 5.13;
// Harrison 1985 §1.8 for the drifted case), for a = log(b/LastPrice) > 0
// and τ steps,
//
//	P(max ≥ a) = Φ((-a+μτ)/(σ√τ)) + exp(2μa/σ²) Φ((-a-μτ)/(σ√τ)),
//
// with the barrier moved up by 0.5826·σ per step (Broadie, Glasserman &
// Kou 1997) because the price is observed on the grid, not continuously.
func (f PriceForecast) reflectionExceed(b, tau float64, h int) float64 {
	st := f.Steps[h-1]
	lo, hi := interpQuantile(st.Quantiles, 0.05), interpQuantile(st.Quantiles, 0.95)
	if !(hi > lo) || lo <= 0 {
		// A forecast without spread follows its point path.
		for _, s := range f.Steps[:h] {
			if s.Mean > b {
				return 1
			}
		}
		return 0
	}
	sigma := (math.Log(hi) - math.Log(lo)) / (2 * 1.6448536269514722) / math.Sqrt(float64(h))
	mu := math.Log(st.Mean/f.LastPrice) / float64(h)
	a := math.Log(b/f.LastPrice) + bgkBeta*sigma
	return reflectionMax(a, mu, sigma, tau)
}

// reflectionMax is P(max over [0, τ] of μt + σW(t) >= a) for a >= 0.
func reflectionMax(a, mu, sigma, tau float64) float64 {
	if a <= 0 {
		return 1
	}
	st := sigma * math.Sqrt(tau)
	p := normCDF((-a + mu*tau) / st)
	if c := normCDF((-a - mu*tau) / st); c > 0 {
		// exp(2μa/σ²)·Φ(...) in logs: the factor overflows for strong
		// upward drift while Φ underflows.
		p += math.Exp(2*mu*a/(sigma*sigma) + math.Log(c))
	}
	return math.Min(1, math.Max(0, p))
}
