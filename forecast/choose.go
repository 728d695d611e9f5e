package forecast

import (
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/market"
)

// AutoCandidates are the models "auto" chooses among by default: naive,
// the smoothing and autoregressive models, and three combinations of
// them. Holt-Winters and the seasonal naives are left out: on the real
// data sets they lose to naive at every horizon (1.04 to 4.6 times its
// pinball loss) and are the costliest to fit.
var AutoCandidates = []string{ModelNaive, ModelSES, ModelDamped, ModelARIMA,
	ModelComboDampedARIMA, ModelComboNaiveDampedARIMA, ModelComboNaiveSESDampedARIMA}

// Validation budget: at most this many series of a group are scored, at
// about this many origins each and this many steps of each horizon.
const (
	MaxValidationSeries = 3
	validationPoints    = 56
	validationSteps     = 8
)

// CandidateScores are the validation scores of auto's candidates on a
// group of related series (a pool and its siblings) at one origin.
type CandidateScores struct {
	// Candidates in order of preference on ties.
	Candidates []string `json:"candidates"`
	// Pinball[m] is candidate m's mean pinball loss relative to the
	// price at each validation origin, over the scored steps and the
	// quantile levels of Levels, averaged over origins and then series;
	// MAE[m] its mean absolute error relative to the price, averaged the
	// same way.
	Pinball map[string]float64 `json:"pinball"`
	MAE     map[string]float64 `json:"mae"`
	// Series is how many series were scored, Origins how many validation
	// origins in all.
	Series  int `json:"series"`
	Origins int `json:"origins"`
	// ownMASE is each candidate's validation MASE on the first series.
	ownMASE map[string]float64
}

// Choose returns the candidate with the lowest pinball loss: the group's
// own mean, shrunk towards prior's with the weight of kappa series,
//
//	(n·s_group + κ·s_prior) / (n + κ),
//
// the credibility-weighted mean of Bühlmann (1967) ("Experience rating
// and credibility", ASTIN Bulletin 4(3)), so a group of few series leans
// on the ranking of many groups (prior: MeanScores over every group of a
// refit, nil or kappa 0: the group alone). Ties go to the earlier
// candidate; without any score the choice is naive.
func (s CandidateScores) Choose(prior *CandidateScores, kappa float64) string {
	best, bestV := ModelNaive, math.Inf(1)
	n := float64(s.Series)
	for _, m := range s.Candidates {
		v, ok := s.Pinball[m]
		w := n
		if !ok {
			v, w = 0, 0
		}
		if prior != nil && kappa > 0 {
			if pv, ok := prior.Pinball[m]; ok {
				v = (w*v + kappa*pv) / (w + kappa)
				w += kappa
			}
		}
		if w > 0 && v < bestV {
			best, bestV = m, v
		}
	}
	return best
}

// MeanScores averages the groups' scores, each weighted by its series;
// a candidate missing from a group is averaged over the groups that have
// it.
func MeanScores(groups []CandidateScores) CandidateScores {
	out := CandidateScores{Pinball: map[string]float64{}, MAE: map[string]float64{}}
	w := map[string]float64{}
	seen := map[string]bool{}
	for _, g := range groups {
		for _, m := range g.Candidates {
			if !seen[m] {
				seen[m] = true
				out.Candidates = append(out.Candidates, m)
			}
			if v, ok := g.Pinball[m]; ok {
				out.Pinball[m] += float64(g.Series) * v
				out.MAE[m] += float64(g.Series) * g.MAE[m]
				w[m] += float64(g.Series)
			}
		}
		out.Series += g.Series
		out.Origins += g.Origins
	}
	for m, v := range w {
		out.Pinball[m] /= v
		out.MAE[m] /= v
	}
	return out
}

// ScoreCandidates scores auto's candidates (Options.Candidates, default
// AutoCandidates) on a group of related series, the first of them the
// pool to forecast: see scoreGroup. The series are put on the grid up to
// opts.AsOf (zero: each series' newest point); opts.Pool, if set, is the
// group's residual pool (NewResidualPool), else one is built. Series
// without usable points are skipped; ErrNoData if none is left.
//
// With ChooseModel, this is what a refit of many pools calls once per
// group; each pool is then forecast with ForecastSeries and Options.Model
// set to the choice (and Options.Pool to the group's pool).
func ScoreCandidates(series [][]market.PricePoint, resolution string, horizon time.Duration, opts Options) (CandidateScores, error) {
	c := opts.resolve(resolution)
	step := StepFor(resolution)
	H, err := horizonSteps(horizon, step)
	if err != nil {
		return CandidateScores{}, err
	}
	for _, m := range c.Candidates {
		if m == ModelAuto {
			return CandidateScores{}, fmt.Errorf("candidate %q: auto cannot choose itself: %w", m, ErrUnknownModel)
		}
		if _, err := modelByName(m, c.ARLags); err != nil {
			return CandidateScores{}, err
		}
	}
	ys := logGrids(series, step, c.AsOf)
	if len(ys) == 0 {
		return CandidateScores{}, fmt.Errorf("score candidates: %w", ErrNoData)
	}
	pool := c.Pool
	if pool == nil {
		pool = ownPool(ys, H, c)
	}
	return scoreGroup(ys, H, c, pool, nil), nil
}

// ChooseModel is ScoreCandidates followed by Choose with no prior: the
// model auto uses for the group's pools.
func ChooseModel(series [][]market.PricePoint, resolution string, horizon time.Duration, opts Options) (string, CandidateScores, error) {
	sc, err := ScoreCandidates(series, resolution, horizon, opts)
	if err != nil {
		return "", sc, err
	}
	return sc.Choose(nil, 0), sc, nil
}

// scoreGroup scores the candidates on the first MaxValidationSeries
// series of ys (each with the group's other series as siblings), sp0
// being the first series' predictive distribution when the caller has
// it. For each series with enough history, the validation origins are
// the last ValidationOrigins (every stride-th, about validationPoints of
// them) whose horizon ends by the series' last value T; each candidate is
// fitted once on the values before the first of them (rolling origin
// with fixed parameters: Tashman 2000, "Out-of-sample tests of
// forecasting accuracy", IJF 16, §2.3) and run forward over them. Its
// quantile forecast at an origin is the series' predictive distribution
// at T (spread) shifted by the candidate's point path, as its forecast
// would be, and is scored by the pinball loss (Koenker & Bassett 1978)
// against what followed: the scoring rule the backtest reports, so the
// choice optimises what is measured (Gneiting 2011, "Making and
// evaluating point forecasts", JASA 106(494), §1). Nothing after T is
// read.
func scoreGroup(ys [][]float64, H int, c config, pool *ResidualPool, sp0 *spreadResult) CandidateScores {
	var rs []seriesScores
	for i, y := range ys[:min(len(ys), MaxValidationSeries)] {
		var sib [][]float64
		for j, o := range ys {
			if j != i {
				sib = append(sib, o)
			}
		}
		var sp *spreadResult
		if i == 0 {
			sp = sp0
		}
		r, ok := scoreSeries(y, sib, H, c, pool, sp)
		if !ok {
			if i == 0 {
				rs = append(rs, seriesScores{}) // keeps the pool's own MASE in place
			}
			continue
		}
		rs = append(rs, r)
	}
	return groupScores(c.Candidates, rs)
}

// groupScores averages series' scores into a group's, the first series'
// MASE kept as the group's own.
func groupScores(cands []string, rs []seriesScores) CandidateScores {
	out := CandidateScores{Candidates: cands, Pinball: map[string]float64{}, MAE: map[string]float64{}}
	cnt := map[string]int{}
	for i, r := range rs {
		if i == 0 {
			out.ownMASE = r.mase
		}
		if len(r.pinball) == 0 {
			continue
		}
		out.Series++
		out.Origins += r.origins
		for m, v := range r.pinball {
			out.Pinball[m] += v
			out.MAE[m] += r.mae[m]
			cnt[m]++
		}
	}
	for m, n := range cnt {
		out.Pinball[m] /= float64(n)
		out.MAE[m] /= float64(n)
	}
	return out
}

// seriesScores are one series' validation scores.
type seriesScores struct {
	pinball, mae, mase map[string]float64
	origins            int
}

// scoreSeries scores the candidates on one series (see scoreGroup); false
// when the series is too short to validate.
func scoreSeries(y []float64, sib [][]float64, H int, c config, pool *ResidualPool, sp *spreadResult) (seriesScores, bool) {
	T := len(y) - 1
	V := min(c.ValidationOrigins, T-H-20)
	if V < 5 {
		return seriesScores{}, false
	}
	if sp == nil {
		// Without the adaptive levels, whose cost dominates a spread: they
		// move every candidate's quantiles alike and hardly change the
		// ranking.
		cc := c
		cc.ACIGamma = -1
		s := spread(y, H, cc, pool)
		sp = &s
	}
	t0 := T - H - V // first validation origin
	stride := max(1, V/validationPoints)
	hs := max(1, H/validationSteps)
	train := y[max(0, t0+1-c.FitWindow) : t0+1]
	scale := 0.0
	for i := 1; i < len(train); i++ {
		scale += math.Abs(math.Exp(train[i]) - math.Exp(train[i-1]))
	}
	scale /= float64(max(1, len(train)-1))

	// Paths of every single model the candidates need, per origin.
	paths := map[string][][]float64{}
	need := func(m string) []string {
		if parts, ok := combos[m]; ok {
			return parts
		}
		return []string{m}
	}
	fc := make([]float64, H)
	for _, cand := range c.Candidates {
		for _, m := range need(cand) {
			if _, done := paths[m]; done {
				continue
			}
			paths[m] = nil
			mod, err := modelByName(m, c.ARLags)
			if err != nil {
				continue
			}
			fit, err := mod.fit(train, c.s, sib)
			if err != nil {
				continue
			}
			var ps [][]float64
			fit.walk(y[:T-H+1], t0, fc, func(t int) {
				if (t-t0)%stride == 0 {
					ps = append(ps, append([]float64(nil), fc...))
				}
			})
			paths[m] = ps
		}
	}
	r := seriesScores{pinball: map[string]float64{}, mae: map[string]float64{}, mase: map[string]float64{}}
	off := make([]float64, len(Levels))
	pt := make([]float64, H)
	for _, cand := range c.Candidates {
		parts := need(cand)
		n := -1
		for _, m := range parts {
			if paths[m] == nil {
				n = 0
				break
			}
			n = len(paths[m])
		}
		if n <= 0 {
			continue // a member could not be fitted
		}
		var pin, mae, maeAbs float64
		var steps int
		for k := range n {
			t := t0 + k*stride
			for h := range pt {
				pt[h] = 0
				for _, m := range parts {
					pt[h] += paths[m][k][h]
				}
				pt[h] /= float64(len(parts))
			}
			last := math.Exp(y[t])
			for h := hs - 1; h < H; h += hs {
				sp.steps[h].quantiles(pt[h]-y[t], off)
				o := math.Exp(y[t+1+h])
				for j, lv := range Levels {
					q := last
					if off[j] != 0 {
						q = last * math.Exp(off[j])
					}
					pin += pinball(q, o, lv) / last
				}
				e := math.Abs(priceOf(pt[h], y[t], last) - o)
				mae += e / last
				maeAbs += e
				steps++
			}
		}
		r.pinball[cand] = pin / float64(steps*len(Levels))
		r.mae[cand] = mae / float64(steps)
		if scale > 0 {
			r.mase[cand] = maeAbs / float64(steps) / scale
		}
		r.origins = n
	}
	if len(r.pinball) == 0 {
		return r, false
	}
	return r, true
}
