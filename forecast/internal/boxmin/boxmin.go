// Package boxmin minimises a function over a box with gonum's Nelder-Mead
// simplex, for the model fits of forecast and forecast/hazard.
package boxmin

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Minimize minimises f over the box [lo, hi] with the Nelder-Mead simplex
// (Nelder & Mead 1965) on logit-transformed coordinates, so every
// evaluated point is inside the box, in at most evals evaluations (0:
// 60 per coordinate). Hitting the budget still returns the best point
// found, which is what a bounded fit needs.
func Minimize(f func([]float64) float64, x0, lo, hi []float64, evals int) ([]float64, error) {
	n := len(x0)
	if evals <= 0 {
		evals = 60 * n
	}
	to := func(u, x []float64) {
		for i := range u {
			x[i] = lo[i] + (hi[i]-lo[i])/(1+math.Exp(-u[i]))
		}
	}
	u0 := make([]float64, n)
	for i := range u0 {
		q := (x0[i] - lo[i]) / (hi[i] - lo[i])
		u0[i] = math.Log(q / (1 - q))
	}
	x := make([]float64, n)
	prob := optimize.Problem{Func: func(u []float64) float64 {
		to(u, x)
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}}
	settings := &optimize.Settings{
		FuncEvaluations: evals,
		Converger:       &optimize.FunctionConverge{Relative: 1e-6, Iterations: 8 * n},
	}
	res, err := optimize.Minimize(prob, u0, settings, &optimize.NelderMead{SimplexSize: 1})
	if res == nil {
		return nil, fmt.Errorf("optimise: %w", err)
	}
	out := make([]float64, n)
	to(res.X, out)
	return out, nil
}
