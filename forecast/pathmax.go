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
// grid time in [Origin, Origin+d]: the path maximum, not the price at the
// end. It treats the log price as a Brownian motion with the drift and
// spread the forecast implies at the step nearest d: drift μ per step
// from the point forecast (zero for naive: the medians of pooled
// residuals wander by sampling noise, which as drift would compound), σ
// per step from the calibrated 5%-95% interval (σ√h = (log q95 - log q5) / (2·1.645)). By the
// reflection principle (Karatzas & Shreve, Brownian Motion and Stochastic
// Calculus, 2nd ed., §3.5.C, eq. 5.13; Harrison 1985 §1.8 for the drifted
// case), for a = log(b/LastPrice) > 0 and τ steps,
//
//	P(max ≥ a) = Φ((-a+μτ)/(σ√τ)) + exp(2μa/σ²) Φ((-a-μτ)/(σ√τ)),
//
// with the barrier moved up by 0.5826·σ per step (Broadie, Glasserman &
// Kou 1997) because the price is observed on the grid, not continuously.
// Beyond the last step the same per-step drift and spread are
// extrapolated. The result is in [0, 1]: 1 when the last price already
// exceeds b, 0 for a forecast with no spread whose path stays at or below
// b, and 0 for an empty forecast or a NaN b.
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
	// A forecast without spread follows its point path.
	st := f.Steps[h-1]
	lo, hi := interpQuantile(st.Quantiles, 0.05), interpQuantile(st.Quantiles, 0.95)
	if !(hi > lo) || lo <= 0 {
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
