package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/spotcast/spotcast/forecast/internal/boxmin"
)

// Model names. "auto" selects among the others per series.
const (
	ModelAuto          = "auto"
	ModelNaive         = "naive"
	ModelSeasonalNaive = "seasonal_naive" // weekly season
	ModelSeasonalDay   = "seasonal_naive_day"
	ModelSES           = "ses"
	ModelDamped        = "damped"
	ModelHoltWinters   = "holt_winters"
	ModelARIMA         = "arima"
	// Combinations: the equal-weight mean, on the log scale, of their
	// members' point forecasts.
	ModelComboDampedARIMA         = "combo_damped_arima"
	ModelComboNaiveDampedARIMA    = "combo_naive_damped_arima"
	ModelComboNaiveSESDampedARIMA = "combo_naive_ses_damped_arima"
	// ModelNaivePooled is the quantile baseline: the naive point with
	// empirical quantiles of past h-step log changes pooled over all
	// series, unscaled and unadapted. Only Backtest produces it.
	ModelNaivePooled = "naive_pooled_quantiles"
)

// Models lists the model names ForecastSeries accepts.
func Models() []string {
	return []string{ModelAuto, ModelNaive, ModelSeasonalNaive, ModelSeasonalDay, ModelSES, ModelDamped, ModelHoltWinters, ModelARIMA,
		ModelComboDampedARIMA, ModelComboNaiveDampedARIMA, ModelComboNaiveSESDampedARIMA}
}

// combos lists each combination's members.
var combos = map[string][]string{
	ModelComboDampedARIMA:         {ModelDamped, ModelARIMA},
	ModelComboNaiveDampedARIMA:    {ModelNaive, ModelDamped, ModelARIMA},
	ModelComboNaiveSESDampedARIMA: {ModelNaive, ModelSES, ModelDamped, ModelARIMA},
}

// errTooShort: the series is too short for the model; callers fall back
// to naive and say so.
var errTooShort = errors.New("series too short for the model")

// seasons are the season lengths in grid steps (0: none).
type seasons struct{ day, week int }

func seasonsFor(resolution string) seasons {
	if StepFor(resolution) == 24*time.Hour {
		return seasons{week: 7}
	}
	return seasons{day: 24, week: 168}
}

// A model estimates its parameters from a log-price series.
type model interface {
	fit(y []float64, s seasons, sib [][]float64) (fitted, error)
}

// A fitted model runs its recursion over a log-price series y and, at
// every origin t in [from, len(y)-1], fills fc with its forecasts of
// y[t+1], ..., y[t+len(fc)] made from y[:t+1] and calls emit(t).
type fitted interface {
	walk(y []float64, from int, fc []float64, emit func(t int))
}

func modelByName(name string, arLags int) (model, error) {
	switch name {
	case ModelNaive:
		return naiveModel{}, nil
	case ModelSeasonalNaive:
		return seasonalNaiveModel{weekly: true}, nil
	case ModelSeasonalDay:
		return seasonalNaiveModel{}, nil
	case ModelSES:
		return sesModel{}, nil
	case ModelDamped:
		return dampedModel{}, nil
	case ModelHoltWinters:
		return hwModel{}, nil
	case ModelARIMA:
		return arModel{p: arLags}, nil
	}
	if parts, ok := combos[name]; ok {
		m := comboModel{}
		for _, p := range parts {
			pm, err := modelByName(p, arLags)
			if err != nil {
				return nil, err
			}
			m = append(m, pm)
		}
		return m, nil
	}
	return nil, fmt.Errorf("model %q: %w", name, ErrUnknownModel)
}

// comboModel is a forecast combination: the equal-weight mean of its
// members' point forecasts on the log scale (a geometric mean of prices).
// Simple averages of a few methods were the robust winners of the
// M-competitions (Makridakis & Hibon 2000, "The M3-Competition: results,
// conclusions and implications", IJF 16(4), §6: "the accuracy of the
// combination of various methods outperforms, on average, the specific
// methods being combined"); equal weights avoid the estimation error of
// fitted ones (Smith & Wallis 2009, "A simple explanation of the
// forecast combination puzzle", Oxford Bull. Econ. Stat. 71(3)).
type comboModel []model

func (m comboModel) fit(y []float64, s seasons, sib [][]float64) (fitted, error) {
	out := make(comboFit, len(m))
	for i, part := range m {
		f, err := part.fit(y, s, sib)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

type comboFit []fitted

func (f comboFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	from = max(from, 0)
	n := len(y) - from
	if n <= 0 {
		return
	}
	H := len(fc)
	sum := make([]float64, n*H)
	part := make([]float64, H)
	for _, p := range f {
		p.walk(y, from, part, func(t int) {
			row := sum[(t-from)*H : (t-from+1)*H]
			for k, v := range part {
				row[k] += v
			}
		})
	}
	w := 1 / float64(len(f))
	for t := from; t < len(y); t++ {
		for k := range fc {
			fc[k] = w * sum[(t-from)*H+k]
		}
		emit(t)
	}
}

// naiveModel is the random-walk forecast ŷ(T+h|T) = y(T) (Hyndman &
// Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., §5.2,
// eq. 5.1 "naive method"). Post-2017 spot prices are close to random walks,
// so it is the benchmark every other model must beat.
type naiveModel struct{}

func (naiveModel) fit([]float64, seasons, [][]float64) (fitted, error) { return naiveFit{}, nil }

type naiveFit struct{}

func (naiveFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	for t := max(from, 0); t < len(y); t++ {
		for k := range fc {
			fc[k] = y[t]
		}
		emit(t)
	}
}

// seasonalNaiveModel repeats the last season: ŷ(T+h|T) = y(T+h-m(k+1)),
// k = floor((h-1)/m) (FPP3 §5.2, "seasonal naive method"), with m one day
// or one week of grid steps. Before one full season is observed it is
// naive.
type seasonalNaiveModel struct{ weekly bool }

func (m seasonalNaiveModel) fit(_ []float64, s seasons, _ [][]float64) (fitted, error) {
	p := s.day
	if m.weekly {
		p = s.week
	}
	if p <= 1 {
		return naiveFit{}, nil
	}
	return seasonalNaiveFit{m: p}, nil
}

type seasonalNaiveFit struct{ m int }

func (f seasonalNaiveFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	for t := max(from, 0); t < len(y); t++ {
		for k := range fc {
			i := t + 1 + k - f.m*(k/f.m+1)
			if i < 0 {
				i = t
			}
			fc[k] = y[i]
		}
		emit(t)
	}
}

// sesModel is simple exponential smoothing (Brown 1959; FPP3 §8.1,
// component form eq. 8.2: ℓ(t) = α y(t) + (1-α) ℓ(t-1), ŷ(T+h|T) = ℓ(T)),
// with α in [0.001, 0.999] chosen by minimising the one-step SSE (FPP3
// §8.1 "Optimisation").
type sesModel struct{}

func (sesModel) fit(y []float64, _ seasons, _ [][]float64) (fitted, error) {
	if len(y) < 3 {
		return nil, errTooShort
	}
	sse := func(x []float64) float64 {
		a := x[0]
		l, s := y[0], 0.0
		for _, v := range y[1:] {
			e := v - l
			s += e * e
			l += a * e
		}
		return s
	}
	x, err := boxmin.Minimize(sse, []float64{0.5}, []float64{0.001}, []float64{0.999}, 0)
	if err != nil {
		return nil, err
	}
	return sesFit{alpha: x[0]}, nil
}

type sesFit struct{ alpha float64 }

func (f sesFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	l := y[0]
	for t, v := range y {
		if t > 0 {
			l += f.alpha * (v - l)
		}
		if t >= from {
			for k := range fc {
				fc[k] = l
			}
			emit(t)
		}
	}
}

// dampedModel is the additive damped trend of Gardner & McKenzie (1985),
// "Forecasting trends in time series", Management Science 31(10), in the
// component form of FPP3 §8.2 (eq. 8.4):
//
//	ℓ(t) = α y(t) + (1-α)(ℓ(t-1) + φ b(t-1))
//	b(t) = β*(ℓ(t) - ℓ(t-1)) + (1-β*) φ b(t-1)
//	ŷ(T+h|T) = ℓ(T) + (φ + φ² + ... + φ^h) b(T)
//
// with α in [0.001, 0.999], β* in [0.001, 0.5], φ in [0.8, 0.98] (the
// bounds FPP3 recommends) fitted on the one-step SSE.
type dampedModel struct{}

func (dampedModel) fit(y []float64, _ seasons, _ [][]float64) (fitted, error) {
	if len(y) < 5 {
		return nil, errTooShort
	}
	sse := func(x []float64) float64 {
		f := dampedFit{x[0], x[1], x[2]}
		l, b, s := y[0], 0.0, 0.0
		for _, v := range y[1:] {
			e := v - (l + f.phi*b)
			s += e * e
			l, b = f.update(l, b, v)
		}
		return s
	}
	x, err := boxmin.Minimize(sse, []float64{0.5, 0.05, 0.9}, []float64{0.001, 0.001, 0.8}, []float64{0.999, 0.5, 0.98}, 0)
	if err != nil {
		return nil, err
	}
	return dampedFit{x[0], x[1], x[2]}, nil
}

type dampedFit struct{ alpha, beta, phi float64 }

func (f dampedFit) update(l, b, v float64) (float64, float64) {
	nl := f.alpha*v + (1-f.alpha)*(l+f.phi*b)
	return nl, f.beta*(nl-l) + (1-f.beta)*f.phi*b
}

func (f dampedFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	l, b := y[0], 0.0
	for t, v := range y {
		if t > 0 {
			l, b = f.update(l, b, v)
		}
		if t >= from {
			damp, pow := 0.0, 1.0
			for k := range fc {
				pow *= f.phi
				damp += pow
				fc[k] = l + damp*b
			}
			emit(t)
		}
	}
}

// hwModel is additive Holt-Winters with a daily and a weekly season, the
// double seasonal method of Taylor (2003), "Short-term electricity demand
// forecasting using double seasonal exponential smoothing", JORS 54,
// eqs. (5)-(8), without the trend term (drift only hurts on spot prices):
//
//	ℓ(t) = α (y(t) - d(t-m1) - w(t-m2)) + (1-α) ℓ(t-1)
//	d(t) = δ (y(t) - ℓ(t) - w(t-m2)) + (1-δ) d(t-m1)
//	w(t) = ω (y(t) - ℓ(t) - d(t-m1)) + (1-ω) w(t-m2)
//	ŷ(T+h|T) = ℓ(T) + d(T-m1+h) + w(T-m2+h)
//
// on log prices (so the seasons are multiplicative in price). Daily
// series have only the weekly season (m1 = 1 drops d). The states start
// from the first m2 values (see init) and the SSE counts the steps after. α, δ, ω in [0.001, 0.999].
type hwModel struct{}

func (hwModel) fit(y []float64, s seasons, _ [][]float64) (fitted, error) {
	if s.week <= 1 || len(y) < 2*s.week+1 {
		return nil, errTooShort
	}
	sse := func(x []float64) float64 {
		f := hwFit{alpha: x[0], delta: x[1], omega: x[2], m1: s.day, m2: s.week}
		st := f.init(y)
		sum := 0.0
		for t := f.m2; t < len(y); t++ {
			e := y[t] - st.predict(&f, t, 0)
			sum += e * e
			st.update(&f, t, y[t])
		}
		return sum
	}
	x, err := boxmin.Minimize(sse, []float64{0.2, 0.1, 0.1}, []float64{0.001, 0.001, 0.001}, []float64{0.999, 0.999, 0.999}, 0)
	if err != nil {
		return nil, err
	}
	return hwFit{alpha: x[0], delta: x[1], omega: x[2], m1: s.day, m2: s.week}, nil
}

type hwFit struct {
	alpha, delta, omega float64
	m1, m2              int
}

type hwState struct {
	l    float64
	d, w []float64 // circular: d[t%m1] holds d(t-m1) before the update at t
}

// init sets the level to the mean of the first m2 values and the weekly
// states to their deviations from it (the classical-decomposition start
// of Holt-Winters, FPP3 §8.3); the daily states start at zero, the weekly
// ones carrying the daily pattern until δ moves it over.
func (f *hwFit) init(y []float64) *hwState {
	st := &hwState{w: make([]float64, f.m2)}
	if f.m1 > 1 {
		st.d = make([]float64, f.m1)
	}
	for _, v := range y[:f.m2] {
		st.l += v
	}
	st.l /= float64(f.m2)
	for j, v := range y[:f.m2] {
		st.w[j] = v - st.l
	}
	return st
}

// predict is the forecast of y(t+k) made after the update at t-1 when
// k = 0, or after the update at t for k >= 1.
func (st *hwState) predict(f *hwFit, t, k int) float64 {
	v := st.l + st.w[(t+k)%f.m2]
	if st.d != nil {
		v += st.d[(t+k)%f.m1]
	}
	return v
}

func (st *hwState) update(f *hwFit, t int, v float64) {
	dOld := 0.0
	if st.d != nil {
		dOld = st.d[t%f.m1]
	}
	wOld := st.w[t%f.m2]
	l := f.alpha*(v-dOld-wOld) + (1-f.alpha)*st.l
	if st.d != nil {
		st.d[t%f.m1] = f.delta*(v-l-wOld) + (1-f.delta)*dOld
	}
	st.w[t%f.m2] = f.omega*(v-l-dOld) + (1-f.omega)*wOld
	st.l = l
}

func (f hwFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	if len(y) < f.m2 {
		naiveFit{}.walk(y, from, fc, emit)
		return
	}
	st := f.init(y)
	for t, v := range y {
		if t >= f.m2 {
			st.update(&f, t, v)
		}
		if t >= from && t < f.m2 {
			// The states hold y(:m2): forecasting from earlier would look
			// ahead. Only reachable with from < m2; fitting needs 2·m2.
			for k := range fc {
				fc[k] = v
			}
			emit(t)
			continue
		}
		if t >= from {
			for k := range fc {
				fc[k] = st.predict(&f, t, k+1)
			}
			emit(t)
		}
	}
}

// arModel is ARIMA(p,1,0) on log prices, i.e. an AR(p) without intercept
// on log-returns r(t) = y(t) - y(t-1):
//
//	r(t) = φ1 r(t-1) + ... + φp r(t-p) + e(t)
//
// estimated by conditional least squares, the normal equations
// (XᵀX + εI) φ = Xᵀr solved by Cholesky (Box, Jenkins, Reinsel & Ljung,
// Time Series Analysis, 5th ed., §7.1.1, conditional least squares for AR
// models; Hamilton 1994 eq. 8.2.3 for OLS). No intercept: a drift in log
// price extrapolates trends that spot prices do not keep.
//
// Borrowing strength: when the series has fewer than arMinRows regression
// rows, the rows of its siblings (same type in other zones, same family)
// are added to XᵀX and Xᵀr, so φ is the pooled estimate — a complete-pooling
// estimator (Gelman & Hill 2007 §12.2), used only where the series' own
// estimate would rest on too few points. The estimate is shrunk so that
// Σ|φ| <= 0.95, which keeps the forecast recursion stable.
type arModel struct{ p int }

const arMinRows = 60

func (m arModel) fit(y []float64, _ seasons, sib [][]float64) (fitted, error) {
	p := m.p
	if p <= 0 {
		p = 2
	}
	xtx := mat.NewSymDense(p, nil)
	xty := mat.NewVecDense(p, nil)
	rows := arAccumulate(y, p, xtx, xty)
	if rows < arMinRows {
		for _, s := range sib {
			rows += arAccumulate(s, p, xtx, xty)
		}
	}
	if rows < p+2 {
		return nil, errTooShort
	}
	tr := 0.0
	for i := range p {
		tr += xtx.At(i, i)
	}
	if tr == 0 {
		// Constant series: no return ever moved; AR adds nothing.
		return arFit{phi: make([]float64, p)}, nil
	}
	for i := range p {
		xtx.SetSym(i, i, xtx.At(i, i)+1e-9*tr)
	}
	var ch mat.Cholesky
	if !ch.Factorize(xtx) {
		return nil, fmt.Errorf("arima: normal equations not positive definite")
	}
	var phi mat.VecDense
	if err := ch.SolveVecTo(&phi, xty); err != nil {
		return nil, fmt.Errorf("arima: %w", err)
	}
	out := make([]float64, p)
	sum := 0.0
	for i := range p {
		out[i] = phi.AtVec(i)
		sum += math.Abs(out[i])
	}
	if sum > 0.95 {
		for i := range out {
			out[i] *= 0.95 / sum
		}
	}
	return arFit{phi: out}, nil
}

// arAccumulate adds y's regression rows to XᵀX and Xᵀr and returns how
// many it added.
func arAccumulate(y []float64, p int, xtx *mat.SymDense, xty *mat.VecDense) int {
	n := 0
	for t := p + 1; t < len(y); t++ {
		rt := y[t] - y[t-1]
		for i := range p {
			ri := y[t-1-i] - y[t-2-i]
			xty.SetVec(i, xty.AtVec(i)+ri*rt)
			for j := i; j < p; j++ {
				rj := y[t-1-j] - y[t-2-j]
				xtx.SetSym(i, j, xtx.At(i, j)+ri*rj)
			}
		}
		n++
	}
	return n
}

type arFit struct{ phi []float64 }

func (f arFit) walk(y []float64, from int, fc []float64, emit func(int)) {
	p := len(f.phi)
	r := make([]float64, p+len(fc)) // r[:p] recent returns, newest last
	for t := max(from, 0); t < len(y); t++ {
		for i := range p {
			j := t - p + 1 + i
			if j >= 1 {
				r[i] = y[j] - y[j-1]
			} else {
				r[i] = 0
			}
		}
		lvl := y[t]
		for k := range fc {
			v := 0.0
			for i, ph := range f.phi {
				v += ph * r[p+k-1-i]
			}
			r[p+k] = v
			lvl += v
			fc[k] = lvl
		}
		emit(t)
	}
}
