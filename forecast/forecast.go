package forecast

import (
	"errors"
	"fmt"
	"math"
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
	// its siblings: NewResidualPool builds one to share within a sibling
	// group (Forecaster caches them), and Backtest passes one pooled over
	// every series.
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
	// TieHalfLife is the half-life of the weights on a series' past
	// windows when estimating its probability of an unchanged price (or
	// of no rise) at each horizon (default 14 days for hourly series, 90
	// days for daily ones).
	TieHalfLife time.Duration
	// ACIGamma is the adaptive conformal step size per independent
	// window (default 0.005; at horizon h each origin moves the levels by
	// ACIGamma/h, see aciLevels; a negative value turns adaptation off).
	ACIGamma float64
	// PoolWindow is how many past origins of each series (and sibling)
	// the residual pool calibrates on when the pool is large (default 30
	// days for daily series, ACIWindow + ValidationOrigins for hourly
	// ones). A pool of few series takes more origins from each, up to
	// ACIWindow + ValidationOrigins, to reach minPoolSize (see
	// poolWindow).
	PoolWindow int
	// ACIWindow is how many past origins adapt the quantile levels
	// (default: 120 days of daily steps, 14 days of hourly steps).
	ACIWindow int
	// ValidationOrigins is the number of rolling origins "auto" validates
	// on (default: 56 for daily series, 14 days of hours for hourly ones;
	// about 56 of them are scored, see ScoreCandidates).
	ValidationOrigins int
	// FitWindow is the number of most recent grid values parameters are
	// fitted on (default: 365 days of daily steps, 28 days of hours).
	FitWindow int
	// Candidates are the models "auto" chooses from (default:
	// AutoCandidates).
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
	// tieLambda is the per-step weight decay of tie probabilities.
	tieLambda float64
	// block is a day in steps (at least one): the window whose running
	// maxima bound the longer ones' (blockBound).
	block int
}

func (o Options) resolve(resolution string) config {
	c := config{Options: o, s: seasonsFor(resolution)}
	daily := StepFor(resolution) == 24*time.Hour
	step := StepFor(resolution)
	c.block = max(1, int(24*time.Hour/step))
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
	thl := c.TieHalfLife
	if thl <= 0 {
		thl = 14 * 24 * time.Hour
		if daily {
			thl = 90 * 24 * time.Hour
		}
	}
	c.tieLambda = math.Pow(2, -float64(step)/float64(thl))
	if c.ACIGamma == 0 {
		c.ACIGamma = 0.005
	}
	if c.ACIWindow <= 0 {
		c.ACIWindow = 14 * 24
		if daily {
			c.ACIWindow = 120
		}
	}
	if c.ValidationOrigins <= 0 {
		c.ValidationOrigins = 14 * 24
		if daily {
			c.ValidationOrigins = 56
		}
	}
	if c.PoolWindow <= 0 {
		c.PoolWindow = c.ACIWindow + c.ValidationOrigins
		if daily {
			// Daily prices move with market-wide regimes (the pool's
			// recent month covers 1-day outcomes 1-2 points better than
			// its recent half-year on the 2025-26 data).
			c.PoolWindow = 30
		}
	}
	if c.FitWindow <= 0 {
		c.FitWindow = 28 * 24
		if daily {
			c.FitWindow = 365
		}
	}
	if len(c.Candidates) == 0 {
		c.Candidates = AutoCandidates
	}
	return c
}

// logResult is a forecast on the log scale.
type logResult struct {
	chosen string
	note   string
	point  []float64   // point[h-1]
	off    [][]float64 // off[h-1][j]: Levels[j]'s quantile minus y(T); 0 on the atom
	// below[h-1], unch[h-1]: P(price < last), P(price = last);
	// rise[h-1], riseOff[h-1][j]: P(running max > last) and the running
	// max's quantiles given a rise, at RiseLevels, minus y(T).
	below, unch, rise []float64
	riseOff           [][]float64
	sigma             float64
	valMASE           float64
	valRatio          float64
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
		pool = ownPool(append([][]float64{y}, sib...), H, c)
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
	f.Steps = toSteps(res, f.Origin, step, f.LastPrice)
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

func toSteps(res logResult, origin time.Time, step time.Duration, last float64) []Step {
	price := func(off float64) float64 {
		if off == 0 {
			return last // exactly the last price on the atom
		}
		return last * math.Exp(off)
	}
	steps := make([]Step, len(res.point))
	for h := range steps {
		qs := make([]Quantile, len(Levels))
		for j, p := range Levels {
			qs[j] = Quantile{P: p, Value: price(res.off[h][j])}
		}
		rq := make([]Quantile, len(RiseLevels))
		for j, p := range RiseLevels {
			rq[j] = Quantile{P: p, Value: price(res.riseOff[h][j])}
		}
		steps[h] = Step{
			Time:          origin.Add(time.Duration(h+1) * step),
			Mean:          math.Exp(res.point[h]),
			Quantiles:     qs,
			ProbBelow:     res.below[h],
			ProbUnchanged: res.unch[h],
			ProbRise:      res.rise[h],
			RiseQuantiles: rq,
		}
		steps[h].Median = steps[h].quantile(0.5, last)
	}
	return steps
}

// logGrids puts each series on the grid up to asOf (zero: its newest
// point) and returns the log prices of those with usable points.
func logGrids(series [][]market.PricePoint, step time.Duration, asOf time.Time) [][]float64 {
	var ys [][]float64
	for _, pts := range series {
		g, err := ToGrid(pts, step, asOf)
		if err != nil {
			continue
		}
		ys = append(ys, logValues(g.Values))
	}
	return ys
}

// NewResidualPool builds the residual pool of a group of related series
// (a pool and its siblings: the same instance type in other zones, the
// same family), to be passed as Options.Pool when forecasting any member
// of the group with the same resolution, horizon and options: building
// it is most of a forecast's cost, and the group's members share it. The
// series are put on the grid up to opts.AsOf (zero: each series' newest
// point). Series without usable points are skipped; ErrNoData if none is
// left, ErrBadHorizon for a bad horizon.
func NewResidualPool(series [][]market.PricePoint, resolution string, horizon time.Duration, opts Options) (*ResidualPool, error) {
	c := opts.resolve(resolution)
	step := StepFor(resolution)
	H, err := horizonSteps(horizon, step)
	if err != nil {
		return nil, err
	}
	ys := logGrids(series, step, c.AsOf)
	if len(ys) == 0 {
		return nil, fmt.Errorf("residual pool: %w", ErrNoData)
	}
	return ownPool(ys, H, c), nil
}

// minPoolSize is the number of origins a pool should hold per horizon.
const minPoolSize = 3000

// poolWindow is how many recent origins each of n series gives a pool:
// PoolWindow, or more (up to ACIWindow + ValidationOrigins) when n
// series would give fewer than minPoolSize.
func poolWindow(c config, n int) int {
	w := c.PoolWindow
	if n > 0 && w*n < minPoolSize {
		w = max(w, min(c.ACIWindow+c.ValidationOrigins, (minPoolSize+n-1)/n))
	}
	return w
}

// ownPool pools the series and its siblings over their last
// ACIWindow+ValidationOrigins origins.
func ownPool(series [][]float64, H int, c config) *ResidualPool {
	w := poolWindow(c, len(series))
	in := make([]poolInput, 0, len(series))
	for _, y := range series {
		in = append(in, poolInput{y: y, sig: volatility(y, c), from: len(y) - 1 - w - H, to: len(y) - 1, stride: 1})
	}
	return buildPool(in, H, c)
}

// forecastLog makes an H-step forecast from log prices y: the point from
// the asked (or chosen) model, the quantiles from the EWMA volatility,
// the pooled residuals and the ACI-adapted levels.
func forecastLog(y []float64, H int, c config, sib [][]float64, pool *ResidualPool) (logResult, error) {
	if len(y) == 0 {
		return logResult{}, ErrNoData
	}
	sp := spread(y, H, c, pool)
	res, err := choosePoint(y, H, c, sib, pool, &sp)
	if err != nil {
		return logResult{}, err
	}
	res.sigma = sp.sigma
	res.off = make([][]float64, H)
	res.riseOff = make([][]float64, H)
	res.below, res.unch, res.rise = make([]float64, H), make([]float64, H), make([]float64, H)
	up := 0.0
	for h := range H {
		m := res.point[h] - y[len(y)-1]
		up = math.Max(up, m)
		res.off[h] = make([]float64, len(Levels))
		res.below[h], res.unch[h] = sp.steps[h].quantiles(m, res.off[h])
		res.riseOff[h] = make([]float64, len(RiseLevels))
		res.rise[h] = sp.steps[h].riseQuantiles(up, res.riseOff[h])
		if h >= c.block {
			sp.blockBound(h+1, c.block, res.rise[h], up, res.riseOff[h])
		}
	}
	return res, nil
}

// blockBound raises the running maximum's quantiles at horizon h (given
// a rise with probability ph) to those of the largest of h/b independent
// b-step windows: a pool whose price spikes and falls back within a day
// has a week-long maximum that is the largest of seven daily ones, and
// that is read from seven times as many independent windows as the
// week-long maxima themselves, which in a pool group with few spiky
// members are too few to show the tail. For a price that wanders (a
// random walk) the week's maximum is above the days' and the bound
// changes nothing. Wanted: P(max > x) = ph·(1-p); the largest of n = h/b
// windows exceeds x with 1 - (1 - pb·Sb(x))^n, so x is the b-step
// conditional quantile at 1 - (1 - (1 - ph(1-p))^(1/n))/pb.
func (sp spreadResult) blockBound(h, b int, ph, up float64, dst []float64) {
	st := sp.steps[b-1]
	pb := 1 - st.rho
	n := float64(h) / float64(b)
	for j, p := range RiseLevels {
		sb := -math.Expm1(math.Log1p(-ph*(1-p)) / n)
		if sb >= pb || pb <= 0 {
			continue // the b-step windows rise too rarely to bound this level
		}
		dst[j] = math.Max(dst[j], st.riseQuantile(up, 1-sb/pb))
	}
}

// choosePoint chooses the model (for "auto": by the validation pinball
// loss on the series and its first siblings, see scoreGroup) and makes
// its point forecast, falling back to naive for a series too short for
// it. sp is the series' predictive distribution.
func choosePoint(y []float64, H int, c config, sib [][]float64, pool *ResidualPool, sp *spreadResult) (logResult, error) {
	if len(y) == 0 {
		return logResult{}, ErrNoData
	}
	res := logResult{chosen: c.Model, valRatio: 1}
	switch {
	case len(y) == 1:
		res.chosen, res.note = ModelNaive, "one point: naive"
	case c.Model == ModelAuto:
		sc := scoreGroup(append([][]float64{y}, sib...), H, c, pool, sp)
		res.chosen = sc.Choose(nil, 0)
		if sc.Series == 0 {
			res.note = "too short to validate: naive"
		}
		if n := sc.MAE[ModelNaive]; n > 0 {
			res.valRatio = sc.MAE[res.chosen] / n
		}
		res.valMASE = sc.ownMASE[res.chosen]
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
	return res, nil
}

// maxLogMove caps a quantile's distance from the last price at a factor
// of e³ ≈ 20 either way: pooled residuals of pools that were flat for
// months and then jumped have huge standardized values, and a level
// adapted far into that tail must not turn into an astronomical price.
const maxLogMove = 3.0

// spreadResult is the predictive distribution at the origin, per horizon,
// before a model's point forecast shifts it.
type spreadResult struct {
	sigma float64
	steps []stepSpread
}

// stepSpread is one horizon's distribution: the naive-centred mixture
// x, the ACI-adapted raw levels a (a[j] stands for Levels[j]), and the
// running maximum's no-rise probability rho and conditional scale.
type stepSpread struct {
	x        mix
	a        []float64
	rho, rs  float64
	riseDist *dist
}

// quantiles writes, for a point forecast m above the last log price, the
// offsets of Levels' quantiles from the last log price into dst (0 on
// the atom, capped at ±maxLogMove) and returns the nominal P(price <
// last) and P(price = last). Only the continuous part moves with m: the
// price stays where it is with the same probability whatever the model
// expects of a change.
func (st stepSpread) quantiles(m float64, dst []float64) (below, unch float64) {
	x := st.x
	x.m = m
	for j, a := range st.a {
		dst[j] = math.Max(-maxLogMove, math.Min(maxLogMove, x.quantile(a)))
	}
	lo, hi := x.atom()
	below = levelMap(st.a, lo)
	return below, math.Max(0, levelMap(st.a, hi)-below)
}

// riseQuantiles writes the running maximum's quantiles at RiseLevels,
// given that it rises, as offsets from the last log price (shifted up by
// the point path's largest rise up), and returns P(it rises).
func (st stepSpread) riseQuantiles(up float64, dst []float64) float64 {
	for j, p := range RiseLevels {
		dst[j] = st.riseQuantile(up, p)
	}
	return 1 - st.rho
}

// riseQuantile is the running maximum's p-quantile given a rise, as an
// offset from the last log price shifted up by up: positive, at most
// maxLogMove.
func (st stepSpread) riseQuantile(up, p float64) float64 {
	v := math.Min(maxLogMove, up+st.rs*math.Max(0, st.riseDist.quantile(p)+st.riseDist.widening(p)))
	return math.Max(v, math.SmallestNonzeroFloat64)
}

// spread returns the predictive distribution at the origin per horizon:
// the volatility, the tie probabilities, the ACI-adapted levels and the
// running maximum's parts. A series with fewer one-step changes than the
// EWMA half-life has its variance shrunk towards the pool's typical one,
// weighted by how many changes it has (a credibility weight, Bühlmann
// 1967).
func spread(y []float64, H int, c config, pool *ResidualPool) spreadResult {
	n := len(y)
	T := n - 1
	sig := volatility(y, c)
	if k := float64(n - 1); k < c.halfLife && pool.sigma0 > 0 {
		w := k / c.halfLife
		s := math.Sqrt(w*sig[T]*sig[T] + (1-w)*pool.sigma0*pool.sigma0)
		for i := range sig {
			sig[i] = math.Max(sig[i], s)
		}
	}
	from := max(T-c.ACIWindow-H, 0)
	nr := nextRise(y)
	jump := jumpVol(y, c, pool.jump0)
	rate := pool.changeRate(y, from, T, nil)
	pis := make([][]float64, H)
	var ev []bool
	res := spreadResult{sigma: sig[T], steps: make([]stepSpread, H)}
	for h := 1; h <= H; h++ {
		hi := pool.hIndex(h)
		ev = tieEvents(y, h, eventStart(h, from, pool.tieLambda)-h, T, ev)
		pis[h-1] = eventProbs(h, from, T, pool.tieLambda, pool.tieShare[hi], ev, nil)
		ev = flatEvents(nr, h, eventStart(h, T, pool.tieLambda)-h, T, ev)
		share, neff := eventShares(h, T, T, pool.tieLambda, ev, nil, nil)
		rho := pool.noRise(h, share[0], neff[0])
		pi, r := pis[h-1][T-from], rate[T-from]
		k := jumpClass(float64(h) * r)
		res.steps[h-1] = stepSpread{
			x:        mix{pi: pi, s: condScale(jump[T], r, h, pi), g: pool.cont[hi].get(k)},
			rho:      rho,
			rs:       pool.riseScale(jump[T], r, h, rho),
			riseDist: pool.rise[hi].get(k),
		}
	}
	gamma := max(c.ACIGamma, 0)
	levels := aciLevels(y, jump, rate, pool, pis, H, from, T, gamma)
	for h := range H {
		res.steps[h].a = levels[h]
	}
	return res
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
