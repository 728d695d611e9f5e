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

// ResidualPool holds standardized h-step residuals z = (y(t+h) - y(t)) /
// (σ(t) √h) of naive forecasts on log prices, for h = 1..H, pooled over
// many series and origins. Its empirical quantiles, times a series' own
// σ(T) √h, give that series' predictive quantiles: filtered historical
// simulation (Barone-Adesi, Giannopoulos & Vosper 1999, "VaR without
// correlations for portfolios of derivative securities", J. Futures
// Markets 19(5)), which is split-conformal prediction (Lei, G'Sell,
// Rinaldo, Tibshirani & Wasserman 2018, JASA, §2.2) with the normalized
// nonconformity score of their §5.2, calibrated per horizon.
type ResidualPool struct {
	z      [][]float64 // z[h-1], sorted once frozen
	frozen bool
	// table[h-1][k] is the quantile at level k/tableSize: the adaptive
	// levels look quantiles up thousands of times per forecast, and the
	// table keeps that out of the large sorted arrays.
	table [][]float64
	// sigma0 is the median volatility of the pooled series at their
	// origins: the prior for a series too short to have its own.
	sigma0 float64
}

// SetTypicalSigma sets the pool's prior volatility to the median of
// sigmas (the pooled series' EWMA volatilities at their origins).
func (rp *ResidualPool) SetTypicalSigma(sigmas []float64) {
	if len(sigmas) == 0 {
		return
	}
	s := append([]float64(nil), sigmas...)
	sort.Float64s(s)
	rp.sigma0 = empiricalQuantile(s, 0.5)
}

// NewResidualPool returns an empty pool for horizons 1..H.
func NewResidualPool(H int) *ResidualPool {
	return &ResidualPool{z: make([][]float64, H)}
}

// Horizon is the pool's longest horizon.
func (rp *ResidualPool) Horizon() int { return len(rp.z) }

// Len is the number of residuals at horizon h (1-based).
func (rp *ResidualPool) Len(h int) int {
	if h < 1 || h > len(rp.z) {
		return 0
	}
	return len(rp.z[h-1])
}

// AddSeries adds the residuals of log series y (with σ from ewmaVol) for
// origins t in [from, to] whose outcome y(t+h) is at index <= to; stride
// > 1 keeps every stride-th origin (overlapping h-step residuals are
// strongly dependent, so thinning loses little).
func (rp *ResidualPool) AddSeries(y, sig []float64, from, to, stride int) {
	if rp.frozen {
		panic("forecast: AddSeries on a frozen ResidualPool")
	}
	from = max(from, 0)
	to = min(to, len(y)-1)
	stride = max(stride, 1)
	for h := 1; h <= len(rp.z); h++ {
		sh := math.Sqrt(float64(h))
		for t := from; t+h <= to; t += stride {
			rp.z[h-1] = append(rp.z[h-1], (y[t+h]-y[t])/(sig[t]*sh))
		}
	}
}

// Freeze sorts the residuals; the pool is read-only afterwards.
func (rp *ResidualPool) Freeze() {
	rp.table = make([][]float64, len(rp.z))
	for h, z := range rp.z {
		sort.Float64s(z)
		if len(z) == 0 {
			continue
		}
		tab := make([]float64, tableSize+1)
		for k := range tab {
			tab[k] = empiricalQuantile(z, float64(k)/tableSize)
		}
		rp.table[h] = tab
	}
	rp.frozen = true
}

const tableSize = 2000

// quantile is the p-quantile of the residuals at horizon h (1-based) by
// linear interpolation between order statistics (Hyndman & Fan 1996,
// definition 7). Horizons beyond the pool borrow the longest horizon's
// residuals. A pool without residuals at h gives the standard normal
// quantile.
func (rp *ResidualPool) quantile(h int, p float64) float64 {
	if h > len(rp.z) {
		h = len(rp.z)
	}
	if h < 1 || len(rp.z[h-1]) == 0 {
		return normQuantile(p)
	}
	if rp.table != nil {
		return empiricalQuantile(rp.table[h-1], p)
	}
	return empiricalQuantile(rp.z[h-1], p)
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

// aciLevels adapts each quantile level to the series' own recent misses
// with adaptive conformal inference (Gibbs & Candès 2021, "Adaptive
// conformal inference under distribution shift", NeurIPS, eq. 2, applied
// to each one-sided quantile level p as in their §2.2):
//
//	a(t+1) = a(t) + γ (p - err(t)),  err(t) = 1{y(t+h) <= q(t; a(t))}
//
// run over the origins in [from, to-h] in time order, per horizon h. An
// outcome equal to the quantile counts one half, so a flat series does
// not push every level to one side of its constant price. The result
// a[h-1][j] is the level to use for Levels[j] at the next origin; it is
// clamped to [0.001, 0.999].
func aciLevels(y, sig []float64, pool *ResidualPool, H, from, to int, gamma float64) [][]float64 {
	a := make([][]float64, H)
	for h := 1; h <= H; h++ {
		lv := make([]float64, len(Levels))
		copy(lv, Levels)
		a[h-1] = lv
		if gamma <= 0 {
			continue
		}
		sh := math.Sqrt(float64(h))
		for t := max(from, 0); t+h <= to; t++ {
			for j, p := range Levels {
				q := y[t] + sig[t]*sh*pool.quantile(h, lv[j])
				err := 0.0
				switch o := y[t+h]; {
				case o < q:
					err = 1
				case o == q:
					err = 0.5
				}
				lv[j] = math.Min(0.999, math.Max(0.001, lv[j]+gamma*(p-err)))
			}
		}
	}
	return a
}
