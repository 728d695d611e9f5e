package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Options tune ForecastSeries. The zero value is usable: model "auto",
// defaults per resolution as documented on each field.
type Options struct {
	// Model is a name from Models(); "" means "auto".
	Model string
	// Now is the clock stamped on Generated (nil: time.Now).
	Now func() time.Time
	// AsOf is the last grid time (zero: the newest point's time). A
	// change series keeps its last price until AsOf.
	AsOf time.Time
	// Siblings are the series of related pools (same instance type in
	// other zones, same family): their residuals join the quantile pool
	// and their returns the AR estimate when this series is short.
	Siblings [][]market.PricePoint
	// Pool, if set, replaces the residual pool built from the series and
	// its siblings (Backtest passes one pooled over every series).
	Pool *ResidualPool
	// ARLags is p of ARIMA(p,1,0) (default 2).
	ARLags int
	// HalfLife of the EWMA volatility (default 10 days for daily series,
	// 3 days for hourly ones).
	HalfLife time.Duration
	// LongHalfLife is the half-life of the long volatility component
	// (default 90 days); ShortWeight the weight of the short one in the
	// variance (default 0.5; 1 uses the short EWMA alone).
	LongHalfLife time.Duration
	ShortWeight  float64
	// ACIGamma is the adaptive conformal step size (default 0.005; a
	// negative value turns adaptation off).
	ACIGamma float64
	// ACIWindow is how many past origins adapt the quantile levels
	// (default: 120 days of daily steps, 14 days of hourly steps).
	ACIWindow int
	// SelectionMargin is how much lower than naive's a model's validation
	// MAE must be for "auto" to choose it (default 0.02, i.e. 2%).
	SelectionMargin float64
	// ValidationOrigins is the number of rolling origins "auto" validates
	// on (default: 56 for daily series, 14 days of hours for hourly ones).
	ValidationOrigins int
	// FitWindow is the number of most recent grid values parameters are
	// fitted on (default: 365 days of daily steps, 28 days of hours).
	FitWindow int
	// Candidates are the models "auto" chooses from (default: all but
	// "auto").
	Candidates []string
}

// config is Options with defaults resolved for one resolution.
type config struct {
	Options
	s        seasons
	halfLife float64 // steps
	// longHalfLife (steps) and longWeight (of the short component) shape
	// volatility().
	longHalfLife, longWeight float64
}

func (o Options) resolve(resolution string) config {
	c := config{Options: o, s: seasonsFor(resolution)}
	daily := StepFor(resolution) == 24*time.Hour
	step := StepFor(resolution)
	if c.Model == "" {
		c.Model = ModelAuto
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ARLags <= 0 {
		c.ARLags = 2
	}
	hl := c.HalfLife
	if hl <= 0 {
		hl = 3 * 24 * time.Hour
		if daily {
			hl = 10 * 24 * time.Hour
		}
	}
	c.halfLife = float64(hl) / float64(step)
	lhl := c.LongHalfLife
	if lhl <= 0 {
		lhl = 90 * 24 * time.Hour
	}
	c.longHalfLife = float64(lhl) / float64(step)
	c.longWeight = 0.5
	if c.ShortWeight > 0 {
		c.longWeight = c.ShortWeight
	}
	if c.ACIGamma == 0 {
		c.ACIGamma = 0.005
	}
	if c.ACIWindow <= 0 {
		c.ACIWindow = 14 * 24
		if daily {
			c.ACIWindow = 120
		}
	}
	if c.SelectionMargin <= 0 {
		c.SelectionMargin = 0.02
	}
	if c.ValidationOrigins <= 0 {
		c.ValidationOrigins = 14 * 24
		if daily {
			c.ValidationOrigins = 56
		}
	}
	if c.FitWindow <= 0 {
		c.FitWindow = 28 * 24
		if daily {
			c.FitWindow = 365
		}
	}
	if len(c.Candidates) == 0 {
		c.Candidates = []string{ModelNaive, ModelSeasonalNaive, ModelSeasonalDay, ModelSES, ModelDamped, ModelHoltWinters, ModelARIMA}
		if daily {
			// One step is a day: the daily season is naive itself.
			c.Candidates = []string{ModelNaive, ModelSeasonalNaive, ModelSES, ModelDamped, ModelHoltWinters, ModelARIMA}
		}
	}
	return c
}

// logResult is a forecast on the log scale.
type logResult struct {
	chosen   string
	note     string
	point    []float64   // point[h-1]
	q        [][]float64 // q[h-1][j] for Levels[j]
	sigma    float64
	valMASE  float64
	valRatio float64
}

// ForecastSeries forecasts the pool's price over horizon from its points
// (a step function; resolution market.ResolutionChange gives an hourly
// grid, market.ResolutionDaily a daily one). Errors: ErrNoData for no
// usable point, ErrBadHorizon, ErrUnknownModel. A series too short for
// the asked model, a constant series, or one point get the naive forecast
// with Note saying why.
func ForecastSeries(pts []market.PricePoint, key market.PoolKey, resolution string, horizon time.Duration, opts Options) (PriceForecast, error) {
	c := opts.resolve(resolution)
	start := time.Now()
	step := StepFor(resolution)
	H, err := horizonSteps(horizon, step)
	if err != nil {
		return PriceForecast{}, err
	}
	if c.Model != ModelAuto {
		if _, err := modelByName(c.Model, c.ARLags); err != nil {
			return PriceForecast{}, err
		}
	}
	g, err := ToGrid(pts, step, c.AsOf)
	if err != nil {
		return PriceForecast{}, fmt.Errorf("forecast %s: %w", key, err)
	}
	y := logValues(g.Values)
	var sib [][]float64
	for _, sp := range c.Siblings {
		sg, err := ToGrid(sp, step, g.Time(len(y)-1))
		if err != nil {
			continue // a sibling without data before the origin adds nothing
		}
		sib = append(sib, logValues(sg.Values))
	}
	pool := c.Pool
	if pool == nil {
		pool = buildPool(append([][]float64{y}, sib...), H, c)
	}
	res, err := forecastLog(y, H, c, sib, pool)
	if err != nil {
		return PriceForecast{}, fmt.Errorf("forecast %s: %w", key, err)
	}
	f := PriceForecast{
		Pool:               key,
		Model:              c.Model,
		Chosen:             res.chosen,
		Note:               res.note,
		Generated:          c.Now(),
		Origin:             g.Time(len(y) - 1),
		Source:             g.Source,
		Resolution:         resolution,
		StepSize:           step,
		LastPrice:          g.Values[len(y)-1],
		Volatility:         res.sigma,
		ValidationMASE:     res.valMASE,
		ValidationMAERatio: res.valRatio,
		Points:             len(y),
	}
	f.Steps = toSteps(res, f.Origin, step)
	f.FitSeconds = time.Since(start).Seconds()
	return f, nil
}

func horizonSteps(horizon, step time.Duration) (int, error) {
	if horizon < step {
		return 0, fmt.Errorf("horizon %v shorter than one %v step: %w", horizon, step, ErrBadHorizon)
	}
	H := int(horizon / step)
	if H > MaxHorizonSteps {
		return 0, fmt.Errorf("horizon %v is %d steps of %v, more than %d: %w", horizon, H, step, MaxHorizonSteps, ErrBadHorizon)
	}
	return H, nil
}

func logValues(v []float64) []float64 {
	y := make([]float64, len(v))
	for i, p := range v {
		y[i] = math.Log(p)
	}
	return y
}

func toSteps(res logResult, origin time.Time, step time.Duration) []Step {
	steps := make([]Step, len(res.point))
	for h := range steps {
		qs := make([]Quantile, len(Levels))
		for j, p := range Levels {
			qs[j] = Quantile{P: p, Value: math.Exp(res.q[h][j])}
		}
		steps[h] = Step{
			Time:      origin.Add(time.Duration(h+1) * step),
			Mean:      math.Exp(res.point[h]),
			Median:    interpQuantile(qs, 0.5),
			Quantiles: qs,
		}
	}
	return steps
}

// buildPool pools the standardized residuals of series over their last
// ACIWindow+ValidationOrigins origins.
func buildPool(series [][]float64, H int, c config) *ResidualPool {
	pool := NewResidualPool(H)
	w := c.ACIWindow + c.ValidationOrigins
	var sigmas []float64
	for _, y := range series {
		sig := volatility(y, c)
		pool.AddSeries(y, sig, len(y)-1-w-H, len(y)-1, 1)
		sigmas = append(sigmas, sig[len(y)-1])
	}
	pool.SetTypicalSigma(sigmas)
	pool.Freeze()
	return pool
}

// forecastLog makes an H-step forecast from log prices y: the point from
// the asked (or selected) model, the quantiles from the EWMA volatility,
// the pooled residuals and the ACI-adapted levels.
func forecastLog(y []float64, H int, c config, sib [][]float64, pool *ResidualPool) (logResult, error) {
	if len(y) == 0 {
		return logResult{}, ErrNoData
	}
	res := logResult{chosen: c.Model, valRatio: 1}
	switch {
	case len(y) == 1:
		res.chosen, res.note = ModelNaive, "one point: naive"
	case c.Model == ModelAuto:
		sel := selectModel(y, H, c, sib)
		res.chosen, res.note, res.valMASE, res.valRatio = sel.name, sel.note, sel.mase, sel.ratio
	}
	point, err := pointForecast(res.chosen, y, H, c, sib)
	if errors.Is(err, errTooShort) {
		res.note = fmt.Sprintf("%s needs a longer series: naive", res.chosen)
		res.chosen = ModelNaive
		point, err = pointForecast(ModelNaive, y, H, c, sib)
	}
	if err != nil {
		return logResult{}, err
	}
	res.point = point
	var off [][]float64
	res.sigma, off = spread(y, H, c, pool)
	res.q = make([][]float64, H)
	for h := range H {
		row := make([]float64, len(Levels))
		for j := range Levels {
			row[j] = point[h] + off[h][j]
		}
		res.q[h] = row
	}
	return res, nil
}

// maxLogMove caps a quantile's distance from the point forecast at a
// factor of e³ ≈ 20 either way: pooled residuals of pools that were flat
// for months and then jumped have huge standardized values, and a level
// adapted far into that tail must not turn into an astronomical price.
const maxLogMove = 3.0

// spread returns the volatility at the origin and, per horizon, the
// offsets of each level's quantile from the point forecast (log scale,
// sorted). A series with fewer one-step changes than the EWMA half-life
// has its variance shrunk towards the pool's typical one, weighted by how
// many changes it has (a credibility weight, Bühlmann 1967).
func spread(y []float64, H int, c config, pool *ResidualPool) (float64, [][]float64) {
	n := len(y)
	sig := volatility(y, c)
	if k := float64(n - 1); k < c.halfLife && pool.sigma0 > 0 {
		w := k / c.halfLife
		s := math.Sqrt(w*sig[n-1]*sig[n-1] + (1-w)*pool.sigma0*pool.sigma0)
		for i := range sig {
			sig[i] = math.Max(sig[i], s)
		}
	}
	gamma := max(c.ACIGamma, 0)
	levels := aciLevels(y, sig, pool, H, n-1-c.ACIWindow-H, n-1, gamma)
	off := make([][]float64, H)
	for h := 1; h <= H; h++ {
		row := make([]float64, len(Levels))
		sh := sig[n-1] * math.Sqrt(float64(h))
		for j := range Levels {
			row[j] = math.Max(-maxLogMove, math.Min(maxLogMove, sh*pool.quantile(h, levels[h-1][j])))
		}
		// Levels adapted separately can cross; sorting them is the
		// monotone rearrangement of Chernozhukov, Fernández-Val & Galichon
		// (2010), which never increases the pinball loss.
		sort.Float64s(row)
		off[h-1] = row
	}
	return sig[n-1], off
}

// pointForecast fits model name on the last FitWindow values of y and
// returns its forecasts of y(n), ..., y(n+H-1).
func pointForecast(name string, y []float64, H int, c config, sib [][]float64) ([]float64, error) {
	m, err := modelByName(name, c.ARLags)
	if err != nil {
		return nil, err
	}
	train := y[max(0, len(y)-c.FitWindow):]
	fit, err := m.fit(train, c.s, sib)
	if err != nil {
		return nil, err
	}
	fc := make([]float64, H)
	out := make([]float64, H)
	fit.walk(y, len(y)-1, fc, func(int) { copy(out, fc) })
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: non-finite forecast", name)
		}
	}
	return out, nil
}

type selection struct {
	name, note  string
	mase, ratio float64
}

// selectModel picks the model with the lowest validation MAE (price scale)
// over rolling origins in the last ValidationOrigins+H values, each
// candidate fitted once on the values before the first validation origin
// (Tashman 2000, "Out-of-sample tests of forecasting accuracy", IJF 16,
// §2.3: rolling origin with fixed parameters). A candidate must beat
// naive's MAE by SelectionMargin; otherwise naive is chosen.
func selectModel(y []float64, H int, c config, sib [][]float64) selection {
	n := len(y)
	V := min(c.ValidationOrigins, n-H-20)
	if V < 5 {
		return selection{name: ModelNaive, note: "too short to validate: naive", ratio: 1}
	}
	t0 := n - H - V // first validation origin
	train := y[max(0, t0+1-c.FitWindow) : t0+1]
	scale := 0.0
	for i := 1; i < len(train); i++ {
		scale += math.Abs(math.Exp(train[i]) - math.Exp(train[i-1]))
	}
	scale /= float64(max(1, len(train)-1))
	fc := make([]float64, H)
	mae := map[string]float64{}
	var names []string
	for _, name := range c.Candidates {
		m, err := modelByName(name, c.ARLags)
		if err != nil {
			continue
		}
		fit, err := m.fit(train, c.s, sib)
		if err != nil {
			continue
		}
		sum, cnt := 0.0, 0
		fit.walk(y[:n-H], t0, fc, func(t int) {
			for k, v := range fc {
				sum += math.Abs(math.Exp(v) - math.Exp(y[t+1+k]))
				cnt++
			}
		})
		if cnt == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
			continue
		}
		mae[name] = sum / float64(cnt)
		names = append(names, name)
	}
	naive := mae[ModelNaive]
	best := ModelNaive
	for _, name := range names {
		if mae[name] < mae[best] {
			best = name
		}
	}
	sel := selection{name: ModelNaive, ratio: 1}
	if best != ModelNaive && mae[best] < naive*(1-c.SelectionMargin) {
		sel.name = best
		sel.ratio = mae[best] / naive
	}
	if scale > 0 {
		sel.mase = mae[sel.name] / scale
	}
	return sel
}
