package forecast

import (
	"errors"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Sentinel errors callers branch on.
var (
	// ErrNoData: the series has no usable point (empty, or only NaN,
	// infinite or non-positive prices).
	ErrNoData = errors.New("no usable price data")
	// ErrBadHorizon: the horizon is zero, negative, shorter than one grid
	// step or longer than MaxHorizonSteps steps.
	ErrBadHorizon = errors.New("horizon out of range")
	// ErrUnknownModel: the model name is not one of Models().
	ErrUnknownModel = errors.New("unknown model")
)

// MaxHorizonSteps bounds a forecast's length: 8 weeks of daily steps,
// or 56 days of hourly steps (1,344). Longer horizons are refused
// (ErrBadHorizon) rather than extrapolated into meaningless ranges.
const MaxHorizonSteps = 56 * 24

// Levels are the quantile levels every forecast carries: the 80% interval
// is [0.1, 0.9], the 90% interval [0.05, 0.95], the 95% interval
// [0.025, 0.975].
var Levels = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975}

// RiseLevels are the levels of Step.RiseQuantiles.
var RiseLevels = []float64{0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995}

// Quantile is one level of a step's predictive distribution, in USD/h.
type Quantile struct {
	P     float64 `json:"p"`
	Value float64 `json:"value"`
}

// Step is the forecast for one grid time after the origin.
//
// The predictive distribution has an atom at the last price (the price
// does not change with probability ProbUnchanged) and a continuous part
// for a change; ProbBelow is the probability of a price below the last
// one, so the quantile function equals the last price for every level in
// [ProbBelow, ProbBelow+ProbUnchanged]. Quantiles at levels inside that
// range are exactly LastPrice.
type Step struct {
	Time time.Time `json:"time"`
	// Mean is the point forecast in USD/h: the chosen model's forecast of
	// the log price, back-transformed (for naive, the last price). It is
	// what MAE and MAPE are computed on.
	Mean float64 `json:"mean"`
	// Median is the 0.5 quantile.
	Median    float64    `json:"median"`
	Quantiles []Quantile `json:"quantiles"`
	// ProbUnchanged is P(price at this step = last price); ProbBelow is
	// P(price < last price).
	ProbUnchanged float64 `json:"prob_unchanged"`
	ProbBelow     float64 `json:"prob_below"`
	// ProbRise is P(the price exceeds the last price at some grid time
	// from the first step through this one); RiseQuantiles are the
	// quantiles, at RiseLevels, of that running maximum given that it
	// rises. ExceedProb reads them.
	ProbRise      float64    `json:"prob_rise"`
	RiseQuantiles []Quantile `json:"rise_quantiles,omitempty"`
}

// quantile is the step's p-quantile: the last price on the atom,
// otherwise interpolated between the stored levels.
func (s Step) quantile(p, last float64) float64 {
	if s.ProbUnchanged > 0 && p >= s.ProbBelow && p <= s.ProbBelow+s.ProbUnchanged {
		return last
	}
	return interpQuantile(s.Quantiles, p)
}

// PriceForecast is a forecast of one pool's price.
type PriceForecast struct {
	Pool market.PoolKey `json:"pool"`
	// Model is the model asked for ("auto" or a name from Models());
	// Chosen is the model that produced the points (equal to Model unless
	// Model is "auto", or the asked model could not be fitted and naive
	// was used instead; Note says why).
	Model  string `json:"model"`
	Chosen string `json:"chosen"`
	Note   string `json:"note,omitempty"`
	// Generated is when the forecast was made (the injected clock);
	// Origin is the grid time of the last observed value.
	Generated time.Time `json:"generated"`
	Origin    time.Time `json:"origin"`
	// Source is the source of the series' newest point (e.g. "aws-api",
	// "simulated"), so simulated data is never passed off as real.
	Source     string        `json:"source"`
	Resolution string        `json:"resolution"`
	StepSize   time.Duration `json:"step_size"`
	Steps      []Step        `json:"steps"`
	// FitSeconds is the wall time of selection, fitting and forecasting.
	FitSeconds float64 `json:"fit_seconds"`
	// ValidationMASE is the chosen model's MAE over the validation
	// window scaled by the in-sample one-step naive MAE (Hyndman & Koehler
	// 2006); 0 when the training window is constant (no scale).
	ValidationMASE float64 `json:"validation_mase"`
	// ValidationMAERatio is the chosen model's validation MAE over
	// naive's (1 when naive is chosen or when there was no validation).
	ValidationMAERatio float64 `json:"validation_mae_ratio"`
	// LastPrice is the price at Origin.
	LastPrice float64 `json:"last_price"`
	// Volatility is the EWMA standard deviation of one-step log changes
	// at the origin (after its floor), for display: the quantiles scale
	// with the series' jump size and change rate instead.
	Volatility float64 `json:"volatility"`
	// Points is the number of grid values the forecast was fitted on.
	Points int `json:"points"`
}

// QuantileAt returns the p-quantile of step h (h indexes Steps: 0 is the
// first step after the origin): LastPrice for p on the step's atom
// ([ProbBelow, ProbBelow+ProbUnchanged]), otherwise interpolated linearly
// between stored levels, with p outside [Levels[0], Levels[last]]
// clamped to the nearest stored level. It returns NaN for an h out of
// range.
func (f PriceForecast) QuantileAt(p float64, h int) float64 {
	if h < 0 || h >= len(f.Steps) || math.IsNaN(p) {
		return math.NaN()
	}
	return f.Steps[h].quantile(p, f.LastPrice)
}

func interpQuantile(qs []Quantile, p float64) float64 {
	if len(qs) == 0 {
		return math.NaN()
	}
	if p <= qs[0].P {
		return qs[0].Value
	}
	last := qs[len(qs)-1]
	if p >= last.P {
		return last.Value
	}
	i := sort.Search(len(qs), func(i int) bool { return qs[i].P >= p })
	a, b := qs[i-1], qs[i]
	if b.P == a.P {
		return b.Value
	}
	return a.Value + (b.Value-a.Value)*(p-a.P)/(b.P-a.P)
}
