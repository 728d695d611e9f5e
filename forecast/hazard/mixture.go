package hazard

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mathext"
)

// Component is one Gamma(Shape, Rate) term of a mixture over the hazard
// scale λ (interruptions per instance-hour at profile multiplier 1).
type Component struct {
	Weight float64 `json:"weight"`
	Shape  float64 `json:"shape"` // α
	Rate   float64 `json:"rate"`  // β, in instance-hours
}

// mixture is a finite mixture of Gamma distributions on λ.
//
// Prior: a mixture of natural conjugate priors, Dalal & Hall (1983),
// "Approximating priors by mixtures of natural conjugate priors", JRSS B
// 45(2), Theorem 1: any prior on λ is approximated by such a mixture, and
// the posterior after Poisson data stays a mixture of the same form.
// Each component k is Gamma(α, β_k) and is updated exactly as the single
// Gamma-Poisson model (e.g. Gelman et al., Bayesian Data Analysis, 3rd ed.,
// §2.6, eq. 2.15): after n events in exposure E,
//
//	α_k' = α + n,  β_k' = β_k + E,
//
// and its weight is multiplied by the component's marginal (negative
// binomial) likelihood of the data,
//
//	p(n | k) ∝ (β_k/(β_k+E))^α · (E/(β_k+E))^n · Γ(α+n)/Γ(α),
//
// whose Γ factor is the same for every component when α is shared and so
// cancels on normalising.
type mixture []Component

// update returns the posterior after n events in exposure e. Without
// exposure there is no Poisson likelihood (events "in no time" carry no
// rate information), so the prior is returned unchanged.
func (m mixture) update(n, e float64) mixture {
	if !(e > 0) {
		return append(mixture(nil), m...)
	}
	out := make(mixture, len(m))
	logw := make([]float64, len(m))
	maxw := math.Inf(-1)
	for i, c := range m {
		lw := math.Log(c.Weight) + c.Shape*math.Log(c.Rate/(c.Rate+e))
		if n > 0 {
			lw += n * math.Log(e/(c.Rate+e))
		}
		lg1, _ := math.Lgamma(c.Shape + n)
		lg0, _ := math.Lgamma(c.Shape)
		lw += lg1 - lg0
		logw[i] = lw
		if lw > maxw {
			maxw = lw
		}
		out[i] = Component{Shape: c.Shape + n, Rate: c.Rate + e}
	}
	var sum float64
	for i := range out {
		out[i].Weight = math.Exp(logw[i] - maxw)
		sum += out[i].Weight
	}
	for i := range out {
		out[i].Weight /= sum
	}
	return out.prune()
}

// prune drops components whose weight no longer matters, keeping the
// mixture small for storage and quick to evaluate.
func (m mixture) prune() mixture {
	var kept mixture
	var sum float64
	for _, c := range m {
		if c.Weight > 1e-12 {
			kept = append(kept, c)
			sum += c.Weight
		}
	}
	for i := range kept {
		kept[i].Weight /= sum
	}
	return kept
}

func (m mixture) mean() float64 {
	var s float64
	for _, c := range m {
		s += c.Weight * c.Shape / c.Rate
	}
	return s
}

func (m mixture) cdf(x float64) float64 {
	if x <= 0 {
		return 0
	}
	var s float64
	for _, c := range m {
		s += c.Weight * mathext.GammaIncReg(c.Shape, c.Rate*x)
	}
	return s
}

// quantile inverts the mixture CDF by bisection on log λ; the mixture CDF
// has no closed-form inverse.
func (m mixture) quantile(p float64) float64 {
	if len(m) == 0 {
		return math.NaN()
	}
	// Bracket with the components' own quantiles: the mixture quantile
	// lies between the smallest and largest of them.
	lo, hi := math.Inf(1), 0.0
	for _, c := range m {
		q := mathext.GammaIncRegInv(c.Shape, p) / c.Rate
		lo = math.Min(lo, q)
		hi = math.Max(hi, q)
	}
	if !(lo > 0) {
		lo = 1e-300
	}
	if lo == hi {
		return lo
	}
	a, b := math.Log(lo), math.Log(hi)
	for range 100 {
		mid := (a + b) / 2
		if m.cdf(math.Exp(mid)) < p {
			a = mid
		} else {
			b = mid
		}
		if b-a < 1e-9 {
			break
		}
	}
	return math.Exp((a + b) / 2)
}

// probAny is the posterior predictive probability of at least one event in
// exposure x (instance-hours at multiplier 1): 1 - E[exp(-λx)], and for a
// Gamma(α, β) component E[exp(-λx)] = (β/(β+x))^α (the Gamma Laplace
// transform).
func (m mixture) probAny(x float64) float64 {
	if x <= 0 {
		return 0
	}
	var none float64
	for _, c := range m {
		none += c.Weight * math.Exp(c.Shape*math.Log(c.Rate/(c.Rate+x)))
	}
	return clamp01(1 - none)
}

func clamp01(p float64) float64 {
	return math.Max(0, math.Min(1, p))
}

// median of a sorted copy.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
