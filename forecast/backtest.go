package forecast

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/spotcast/spotcast/market"
)

// BacktestOptions configure a rolling-origin backtest.
type BacktestOptions struct {
	// Horizon of every forecast (default 7 days).
	Horizon time.Duration
	// From and To bound the origins (To inclusive); Every spaces them
	// (default 7 days). Zero To: the latest origin whose whole horizon is
	// observed; zero From: 12 origins before To.
	From, To time.Time
	Every    time.Duration
	// Origins, if set, are used instead of From/To/Every.
	Origins []time.Time
	// Models to evaluate (default: every model of Models()). "naive",
	// "seasonal_naive", "naive_pooled_quantiles" and "auto" are always
	// added: they are the baselines and the selection.
	Models []string
	// MaxSeries, if > 0, evaluates a deterministic sample of that many
	// series (chosen by hash of the pool key).
	MaxSeries int
	// Forecast tunes the models (Model and Pool are ignored).
	Forecast Options
	// Workers (default GOMAXPROCS).
	Workers int
	// Now is the clock for the report's timestamp (nil: time.Now).
	Now func() time.Time
}

// ModelScore is one model's row of a backtest.
type ModelScore struct {
	Name string `json:"name"`
	// Forecasts is the number of (series, origin) forecasts; Series the
	// number of distinct series.
	Forecasts int `json:"forecasts"`
	Series    int `json:"series"`
	// MASE per forecast: mean absolute error over the horizon scaled by
	// the in-sample one-step naive MAE up to the origin (Hyndman & Koehler
	// 2006, IJF 22, eq. 9); forecasts with a constant history (no scale)
	// are left out and counted in MASEExcluded.
	MASEMedian   float64 `json:"mase_median"`
	MASEMean     float64 `json:"mase_mean"`
	MASEExcluded int     `json:"mase_excluded"`
	// MAPE in percent over every (forecast, step).
	MAPE float64 `json:"mape"`
	// PinballMean is the pinball loss (Koenker & Bassett 1978) averaged
	// over forecasts, steps and the levels in Levels, each divided by the
	// price at the origin, so cheap and expensive pools weigh alike;
	// PinballMeanUSD is the same in USD/h.
	PinballMean    float64 `json:"pinball_mean"`
	PinballMeanUSD float64 `json:"pinball_mean_usd"`
	// Coverage80 and Coverage95 are the coverage of the central 80%
	// ([0.1, 0.9]) and 95% ([0.025, 0.975]) intervals, 0-1, by the
	// randomized probability integral transform (Czado, Gneiting & Held
	// 2009, Biometrics 65, eq. 1): an outcome that is not the last price
	// counts 1 when it lies in [q(lo), q(hi)], endpoints included; an
	// outcome equal to the last price (the forecast's atom: the price did
	// not change) counts the share of its PIT range [F(last-), F(last)]
	// inside [lo, hi]. For a continuous forecast this is the plain
	// interval count. With an atom the plain count is not a calibration
	// measure: a correct forecast of a price that is unchanged in 94% of
	// hours puts both ends of its 80% interval on that price and covers
	// 94%. The pooled baseline is scored the same way, its atom being its
	// pooled share of zero changes.
	Coverage80 float64 `json:"coverage_80"`
	Coverage95 float64 `json:"coverage_95"`
	// CoveragePIT80 and CoveragePIT95 equal Coverage80 and Coverage95
	// (the randomized count), kept under their earlier names.
	CoveragePIT80 float64 `json:"coverage_pit_80"`
	CoveragePIT95 float64 `json:"coverage_pit_95"`
	// CoverageClosed80 and CoverageClosed95 are the plain share of
	// outcomes inside the closed intervals [q0.1, q0.9] and [q0.025,
	// q0.975]; with atoms they exceed nominal by design.
	CoverageClosed80 float64 `json:"coverage_closed_80"`
	CoverageClosed95 float64 `json:"coverage_closed_95"`
	// PITHistogram is the randomized PIT histogram on the level grid
	// (Gneiting, Balabdaoui & Raftery 2007, JRSS B 69, §3.1): bin k is the
	// share of outcomes whose PIT falls between PITBins[k] and
	// PITBins[k+1] (0, Levels..., 1), an outcome on the atom spread over
	// the bins its PIT range covers. A calibrated forecast puts
	// PITBins[k+1]-PITBins[k] in bin k.
	PITHistogram []float64 `json:"pit_histogram"`
	// MAERatioToNaiveMedian is the median over series of the model's MAE
	// over naive's MAE (series where both are 0 count as 1; where only
	// naive's is 0, as +Inf, i.e. worse). MAERatioToNaiveAgg is the ratio
	// of summed MAEs relative to the origin price.
	MAERatioToNaiveMedian float64 `json:"mae_ratio_to_naive_median"`
	MAERatioToNaiveAgg    float64 `json:"mae_ratio_to_naive_agg"`
	// ShareBeatingNaive is the share of series where the model's MAE is
	// below naive's; ShareWorseThanNaive where it is above.
	ShareBeatingNaive   float64 `json:"share_beating_naive"`
	ShareWorseThanNaive float64 `json:"share_worse_than_naive"`
	// FitSeconds is the total CPU-thread time spent fitting and
	// forecasting this model.
	FitSeconds float64 `json:"fit_seconds"`
	// Chosen counts, for "auto", how often each model was selected.
	Chosen map[string]int `json:"chosen,omitempty"`
}

// BacktestReport is the result of Backtest.
type BacktestReport struct {
	Generated time.Time     `json:"generated"`
	Horizon   time.Duration `json:"horizon"`
	// HorizonText is Horizon in Go duration syntax ("168h0m0s").
	HorizonText string      `json:"horizon_text"`
	Origins     []time.Time `json:"origins"`
	// Series is the number of series with at least one evaluated
	// forecast; Resolutions counts them by resolution.
	Series      int            `json:"series"`
	Resolutions map[string]int `json:"resolutions"`
	Models      []ModelScore   `json:"models"`
	Seconds     float64        `json:"seconds"`
	// Interruption holds the interruption-forecast backtest (Brier score,
	// log loss, calibration bins) when the caller runs one and sets it.
	Interruption any `json:"interruption,omitempty"`
}

// Model returns the named row (false if absent).
func (r BacktestReport) Model(name string) (ModelScore, bool) {
	for _, m := range r.Models {
		if m.Name == name {
			return m, true
		}
	}
	return ModelScore{}, false
}

// Series is one pool's gridded history, the input of BacktestSeries.
type Series struct {
	Key        market.PoolKey
	Resolution string
	Grid       Grid
}

// backtestModels returns the evaluated model names in report order.
func backtestModels(asked []string) ([]string, error) {
	want := map[string]bool{ModelNaive: true, ModelSeasonalNaive: true, ModelNaivePooled: true, ModelAuto: true}
	if len(asked) == 0 {
		asked = Models()
	}
	for _, m := range asked {
		if m == ModelNaivePooled || m == ModelAuto {
			want[m] = true
			continue
		}
		if _, err := modelByName(m, 2); err != nil {
			return nil, err
		}
		want[m] = true
	}
	var out []string
	for _, m := range append(Models(), ModelNaivePooled) {
		if want[m] {
			out = append(out, m)
		}
	}
	return out, nil
}

// seriesAcc accumulates one series' errors for one model.
type seriesAcc struct {
	absErr, absErrRel  float64 // sums over steps
	steps              int
	mase               []float64 // per forecast
	maseExcluded       int
	ape                float64
	pinball, pinUSD    float64 // sums over steps and levels
	closed80, closed95 int
	pit80, pit95       float64
	pitHist            []float64
	fitSec             float64
	chosen             map[string]int
	forecasts          int
}

// BacktestSeries runs a rolling-origin backtest over in-memory series.
// At every origin T, a series contributes a forecast if it has a value at
// or before T (for daily series: a day that ended by T) and values for
// the whole horizon after it. Nothing after T is used for the forecast:
// models see the grid up to the origin only, the residual pool is built
// from the same prefix of every series, and the baseline's pooled
// changes end at T.
func BacktestSeries(ctx context.Context, series []Series, opts BacktestOptions, progress io.Writer) (BacktestReport, error) {
	start := time.Now()
	if progress == nil {
		progress = io.Discard
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.Horizon == 0 {
		opts.Horizon = 7 * 24 * time.Hour
	}
	if opts.Every <= 0 {
		opts.Every = 7 * 24 * time.Hour
	}
	models, err := backtestModels(opts.Models)
	if err != nil {
		return BacktestReport{}, err
	}
	for _, s := range series {
		if _, err := horizonSteps(opts.Horizon, StepFor(s.Resolution)); err != nil {
			return BacktestReport{}, fmt.Errorf("backtest %s: %w", s.Key, err)
		}
	}
	if opts.MaxSeries > 0 && len(series) > opts.MaxSeries {
		series = sampleSeries(series, opts.MaxSeries)
	}
	origins := opts.Origins
	if len(origins) == 0 {
		origins = defaultOrigins(series, opts)
	}
	sort.Slice(origins, func(i, j int) bool { return origins[i].Before(origins[j]) })
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// Log grids, volatilities and sibling lists, once.
	ys := make([][]float64, len(series))
	for i, s := range series {
		ys[i] = logValues(s.Grid.Values)
	}
	siblings := siblingIndex(series)

	acc := make([][]seriesAcc, len(series)) // acc[series][model]
	for i := range acc {
		acc[i] = make([]seriesAcc, len(models))
	}
	autoIdx := slices.Index(models, ModelAuto)
	autos := make([]autoResult, len(series))
	for oi, T := range origins {
		if err := ctx.Err(); err != nil {
			return BacktestReport{}, err
		}
		ot := time.Now()
		// Which series take part, and their origin indices.
		idx := make([]int, len(series))
		var active []int
		for i, s := range series {
			idx[i] = originIndex(s, T)
			H := int(opts.Horizon / s.Grid.Step)
			if idx[i] >= 0 && idx[i]+H < len(s.Grid.Values) {
				active = append(active, i)
			}
		}
		pools := map[string]*originPools{}
		for _, res := range []string{market.ResolutionChange, market.ResolutionDaily} {
			pools[res] = buildOriginPools(series, ys, idx, res, opts)
		}
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					s := series[i]
					p := pools[resKey(s.Resolution)]
					var sib [][]float64
					for _, j := range siblings[i] {
						if idx[j] >= 0 {
							sib = append(sib, ys[j][:idx[j]+1])
						}
					}
					autos[i] = evalOrigin(ys[i], s, idx[i], opts, models, p, sib, acc[i])
				}
			})
		}
		for _, i := range active {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		if autoIdx >= 0 {
			chooseAuto(series, active, autos, opts, acc, autoIdx)
		}
		fmt.Fprintf(progress, "backtest: origin %d/%d %s: %d series, %.1fs\n", oi+1, len(origins), T.UTC().Format(time.RFC3339), len(active), time.Since(ot).Seconds())
	}
	rep := summarize(series, acc, models)
	rep.Generated = now()
	rep.Horizon = opts.Horizon
	rep.HorizonText = opts.Horizon.String()
	rep.Origins = origins
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// chooseAuto makes auto's forecasts at one origin: per group of related
// series (the same cloud, instance type, product and resolution), the
// validation scores of its first MaxValidationSeries active series, shrunk
// towards the scores of every group at the origin (autoKappa), choose the
// candidate whose realised score each member adds to auto's row. Only
// validation windows that ended by the origin enter the choice.
func chooseAuto(series []Series, active []int, autos []autoResult, opts BacktestOptions, acc [][]seriesAcc, autoIdx int) {
	groups := map[string][]int{}
	var keys []string
	for _, i := range active {
		k := groupKey(series[i])
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	cands := opts.Forecast.Candidates
	if len(cands) == 0 {
		cands = AutoCandidates
	}
	scores := make(map[string]CandidateScores, len(keys))
	var all []CandidateScores
	for _, k := range keys {
		var rs []seriesScores
		for _, i := range groups[k] {
			if autos[i].valOK {
				rs = append(rs, autos[i].val)
				if len(rs) == MaxValidationSeries {
					break
				}
			}
		}
		sc := groupScores(cands, rs)
		scores[k] = sc
		all = append(all, sc)
	}
	prior := MeanScores(all)
	for _, k := range keys {
		choice := scores[k].Choose(&prior, autoKappa)
		for _, i := range groups[k] {
			f, ok := autos[i].cand[choice]
			if !ok {
				choice = ModelNaive
				f = autos[i].cand[choice]
			}
			f.fitSec = autos[i].fitSec
			acc[i][autoIdx].add(f, choice)
		}
	}
}

// groupKey is the group a series is chosen for with: its resolution,
// cloud, instance type and product (siblingIndex's key).
func groupKey(s Series) string {
	return s.Resolution + "|" + s.Key.Cloud + "|" + s.Key.InstanceType + "|" + s.Key.Product
}

func resKey(r string) string {
	if r == market.ResolutionDaily {
		return r
	}
	return market.ResolutionChange
}

// originIndex is the index of the series' last value known at T: the
// grid time at or before T for a change series, the last day that ended
// by T for a daily series. -1 if none.
func originIndex(s Series, T time.Time) int {
	i := s.Grid.Index(T)
	if s.Resolution == market.ResolutionDaily {
		i = s.Grid.Index(T.Add(-s.Grid.Step))
	}
	if i >= len(s.Grid.Values) {
		return -1 // the series ended before T: it has no future to score
	}
	return i
}

func defaultOrigins(series []Series, opts BacktestOptions) []time.Time {
	to := opts.To
	if to.IsZero() {
		for _, s := range series {
			// Last origin whose horizon is observed.
			end := s.Grid.Time(len(s.Grid.Values) - 1).Add(-opts.Horizon)
			if s.Resolution == market.ResolutionDaily {
				end = end.Add(s.Grid.Step)
			}
			if end.After(to) {
				to = end
			}
		}
	}
	from := opts.From
	if from.IsZero() {
		from = to.Add(-12 * opts.Every)
	}
	var out []time.Time
	for t := from; !t.After(to); t = t.Add(opts.Every) {
		out = append(out, t)
	}
	return out
}

func sampleSeries(series []Series, n int) []Series {
	type kv struct {
		h uint64
		i int
	}
	hs := make([]kv, len(series))
	for i, s := range series {
		f := fnv.New64a()
		f.Write([]byte(s.Key.String()))
		hs[i] = kv{f.Sum64(), i}
	}
	sort.Slice(hs, func(a, b int) bool { return hs[a].h < hs[b].h })
	keep := make([]int, n)
	for i := range keep {
		keep[i] = hs[i].i
	}
	sort.Ints(keep)
	out := make([]Series, n)
	for i, k := range keep {
		out[i] = series[k]
	}
	return out
}

// siblingIndex lists, per series, up to 8 others of the same instance
// type and product in other zones or regions, at the same resolution.
func siblingIndex(series []Series) [][]int {
	by := map[string][]int{}
	for i, s := range series {
		k := groupKey(s)
		by[k] = append(by[k], i)
	}
	out := make([][]int, len(series))
	for i, s := range series {
		k := groupKey(s)
		for _, j := range by[k] {
			if j != i && len(out[i]) < 8 {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}

// originPools are the residual pools of one resolution at one origin.
type originPools struct {
	std *ResidualPool // standardized changes, recent window
	raw [][]float64   // raw h-step log changes, all history, sorted
	// rawBelow[h-1], rawUnch[h-1]: the levels where raw's quantile
	// function is below, and equal to, zero (its atom).
	rawBelow, rawUnch []float64
	c                 config
}

// maxPoolPerHorizon caps residuals per horizon (thinned by stride).
const maxPoolPerHorizon = 200_000

func buildOriginPools(series []Series, ys [][]float64, idx []int, res string, opts BacktestOptions) *originPools {
	var step time.Duration
	var members []int
	for i, s := range series {
		if resKey(s.Resolution) == res && idx[i] >= 0 {
			members = append(members, i)
			step = s.Grid.Step
		}
	}
	if len(members) == 0 {
		return nil
	}
	c := opts.Forecast.resolve(res)
	H := int(opts.Horizon / step)
	op := &originPools{raw: make([][]float64, H), c: c}
	w := poolWindow(c, len(members))
	total, totalRaw := 0, 0
	for _, i := range members {
		total += min(w, idx[i])
		totalRaw += idx[i]
	}
	stride := max(1, total/maxPoolPerHorizon+1)
	strideRaw := max(1, totalRaw/maxPoolPerHorizon+1)
	in := make([]poolInput, 0, len(members))
	for _, i := range members {
		y := ys[i][:idx[i]+1]
		in = append(in, poolInput{y: y, sig: volatility(y, c), from: idx[i] - w - H, to: idx[i], stride: stride})
		for h := 1; h <= H; h++ {
			// Offset the start by series so thinning does not align
			// every series on the same weekdays.
			for t := i % strideRaw; t+h <= idx[i]; t += strideRaw {
				op.raw[h-1] = append(op.raw[h-1], y[t+h]-y[t])
			}
		}
	}
	op.std = buildPool(in, H, c)
	op.rawBelow, op.rawUnch = make([]float64, H), make([]float64, H)
	for h, r := range op.raw {
		sort.Float64s(r)
		if n := len(r); n > 1 {
			i0 := sort.SearchFloat64s(r, 0)
			i1 := sort.Search(n, func(i int) bool { return r[i] > 0 }) - 1
			if i1 >= i0 {
				op.rawBelow[h] = float64(i0) / float64(n-1)
				op.rawUnch[h] = float64(i1-i0) / float64(n-1)
			}
		}
	}
	return op
}

// fcScore is one forecast's contribution to a model's row.
type fcScore struct {
	absErr, absErrRel, ape, pinball, pinUSD, pit80, pit95 float64
	steps, closed80, closed95                             int
	pitHist                                               []float64
	mase                                                  float64
	maseOK                                                bool
	fitSec                                                float64
}

// add adds one forecast (made by model chosen, for auto) to the row.
func (a *seriesAcc) add(f fcScore, chosen string) {
	a.absErr += f.absErr
	a.absErrRel += f.absErrRel
	a.ape += f.ape
	a.pinball += f.pinball
	a.pinUSD += f.pinUSD
	a.pit80 += f.pit80
	a.pit95 += f.pit95
	a.steps += f.steps
	a.closed80 += f.closed80
	a.closed95 += f.closed95
	if a.pitHist == nil {
		a.pitHist = make([]float64, len(PITBins)-1)
	}
	for k, v := range f.pitHist {
		a.pitHist[k] += v
	}
	if f.maseOK {
		a.mase = append(a.mase, f.mase)
	} else {
		a.maseExcluded++
	}
	a.fitSec += f.fitSec
	a.forecasts++
	if chosen != "" {
		if a.chosen == nil {
			a.chosen = map[string]int{}
		}
		a.chosen[chosen]++
	}
}

// autoResult is what one series says at one origin about auto's choice:
// its validation scores and each candidate's realised score.
type autoResult struct {
	val    seriesScores
	valOK  bool
	cand   map[string]fcScore
	fitSec float64
}

// autoKappa is the weight, in series, of the origin-wide candidate scores
// in each group's choice (CandidateScores.Choose).
const autoKappa = 2

// evalOrigin forecasts series s at origin index i with every model but
// auto and scores the forecasts against the next H values into acc; for
// auto it returns the candidates' validation and realised scores, which
// BacktestSeries turns into the group's choice.
func evalOrigin(yAll []float64, s Series, i int, opts BacktestOptions, models []string, p *originPools, sib [][]float64, acc []seriesAcc) autoResult {
	c := p.c
	H := int(opts.Horizon / s.Grid.Step)
	y := yAll[:i+1]
	actual := s.Grid.Values[i+1 : i+1+H]
	last := s.Grid.Values[i]
	scale := 0.0
	for t := 1; t <= i; t++ {
		scale += math.Abs(s.Grid.Values[t] - s.Grid.Values[t-1])
	}
	if i > 0 {
		scale /= float64(i)
	}
	t0 := time.Now()
	sp := spread(y, H, c, p.std)
	spreadSec := time.Since(t0).Seconds()
	q := make([]float64, len(Levels))
	off := make([]float64, len(Levels))
	score := func(point []float64, pooled bool) fcScore {
		f := fcScore{pitHist: make([]float64, len(PITBins)-1)}
		fcAbs := 0.0
		for h := range H {
			pt := priceOf(point[h], y[i], last)
			o := actual[h]
			e := math.Abs(pt - o)
			fcAbs += e
			f.absErr += e
			f.absErrRel += e / last
			f.ape += e / o
			f.steps++
			var below, unch float64
			if pooled {
				for j, lv := range Levels {
					off[j] = 0
					if len(p.raw[h]) > 0 {
						off[j] = empiricalQuantile(p.raw[h], lv)
					}
				}
				below, unch = p.rawBelow[h], p.rawUnch[h]
			} else {
				below, unch = sp.steps[h].quantiles(point[h]-y[i], off)
			}
			for j := range Levels {
				q[j] = last
				if off[j] != 0 {
					q[j] = last * math.Exp(off[j])
				}
			}
			for j, lv := range Levels {
				l := pinball(q[j], o, lv)
				f.pinUSD += l
				f.pinball += l / last
			}
			// q is sorted (offsets are), Levels: 0.025, 0.05, 0.1, ..., 0.9, 0.95, 0.975.
			if covered(q[2], q[6], o) {
				f.closed80++
			}
			if covered(q[0], q[8], o) {
				f.closed95++
			}
			pitAdd(f.pitHist, q, o, last, below, unch)
			f.pit80 += pitCoverage(q, o, last, below, unch, 0.1, 0.9)
			f.pit95 += pitCoverage(q, o, last, below, unch, 0.025, 0.975)
		}
		if scale > 0 {
			f.mase, f.maseOK = fcAbs/float64(H)/scale, true
		}
		return f
	}
	// Point forecasts by model, each computed once; a model too short for
	// the series (or failing) gets naive's, as ForecastSeries does.
	points := map[string][]float64{}
	pointSec := map[string]float64{}
	pointOf := func(name string) []float64 {
		if pt, ok := points[name]; ok {
			return pt
		}
		t1 := time.Now()
		var pt []float64
		switch {
		case name == ModelNaivePooled || name == ModelNaive:
			pt = make([]float64, H)
			for h := range pt {
				pt[h] = y[i]
			}
		default:
			var err error
			pt, err = pointForecast(name, y, H, c, sib)
			if err != nil {
				pt, _ = pointForecast(ModelNaive, y, H, c, sib)
			}
		}
		points[name] = pt
		pointSec[name] = time.Since(t1).Seconds()
		return pt
	}
	var auto autoResult
	for mi, name := range models {
		if name == ModelAuto {
			t1 := time.Now()
			auto.val, auto.valOK = scoreSeries(y, sib, H, c, p.std, &sp)
			auto.cand = map[string]fcScore{}
			auto.fitSec = time.Since(t1).Seconds() + spreadSec
			for _, m := range c.Candidates {
				pt := pointOf(m)
				auto.cand[m] = score(pt, false)
				auto.fitSec += pointSec[m]
			}
			continue
		}
		f := score(pointOf(name), name == ModelNaivePooled)
		f.fitSec = pointSec[name]
		if name != ModelNaivePooled {
			f.fitSec += spreadSec
		}
		acc[mi].add(f, "")
	}
	return auto
}

// priceOf back-transforms a log value, returning the last price itself
// when the value is the origin's log price unchanged, so a flat forecast
// equals the last price exactly.
func priceOf(v, yT, last float64) float64 {
	if v == yT {
		return last
	}
	return math.Exp(v)
}

// pinball is the quantile (check) loss of Koenker & Bassett (1978).
func pinball(q, y, p float64) float64 {
	if y >= q {
		return p * (y - q)
	}
	return (1 - p) * (q - y)
}

// tieTol is the relative tolerance under which an outcome equals a
// quantile (back-transformed values differ from prices in the last bits).
const tieTol = 1e-9

func covered(lo, hi, y float64) bool {
	return y >= lo-tieTol*math.Abs(y) && y <= hi+tieTol*math.Abs(y)
}

// pitCoverage is the probability that the randomized PIT of outcome y
// falls in [lo, hi] (Czado, Gneiting & Held 2009, Biometrics 65, eq. 1)
// under a forecast with quantiles q at Levels and an atom of mass unch at
// the last price, starting at level below. An outcome on the atom has a
// PIT uniform on [below, below+unch] and counts the share of that range
// inside [lo, hi]; any other outcome counts 1 when it lies in [q(lo),
// q(hi)].
func pitCoverage(q []float64, y, last, below, unch, lo, hi float64) float64 {
	if unch > 0 && math.Abs(y-last) <= tieTol*math.Abs(y) {
		in := math.Min(below+unch, hi) - math.Max(below, lo)
		return math.Max(0, in) / unch
	}
	if covered(interpQuantileVals(q, lo), interpQuantileVals(q, hi), y) {
		return 1
	}
	return 0
}

// PITBins are the edges of ModelScore.PITHistogram's bins.
var PITBins = append(append([]float64{0}, Levels...), 1)

// pitAdd adds outcome y's randomized PIT to hist (bins between PITBins):
// uniformly over [below, below+unch] on the atom, else to the bin between
// the stored quantiles that bracket y.
func pitAdd(hist, q []float64, y, last, below, unch float64) {
	if unch > 0 && math.Abs(y-last) <= tieTol*math.Abs(y) {
		for k := range hist {
			in := math.Min(below+unch, PITBins[k+1]) - math.Max(below, PITBins[k])
			hist[k] += math.Max(0, in) / unch
		}
		return
	}
	k := sort.SearchFloat64s(q, y) // q[k-1] < y <= q[k]
	hist[k]++
}

func interpQuantileVals(q []float64, p float64) float64 {
	qs := make([]Quantile, len(q))
	for j, v := range q {
		qs[j] = Quantile{P: Levels[j], Value: v}
	}
	return interpQuantile(qs, p)
}

func summarize(series []Series, acc [][]seriesAcc, models []string) BacktestReport {
	rep := BacktestReport{Resolutions: map[string]int{}}
	naiveIdx := -1
	for mi, m := range models {
		if m == ModelNaive {
			naiveIdx = mi
		}
	}
	for si, s := range series {
		if acc[si][0].forecasts > 0 {
			rep.Series++
			rep.Resolutions[s.Resolution]++
		}
	}
	for mi, name := range models {
		ms := ModelScore{Name: name}
		var mase, ratios []float64
		var steps int
		var ape, pin, pinUSD, pit80, pit95, absRel, naiveAbsRel float64
		var closed80, closed95, beat, worse int
		hist := make([]float64, len(PITBins)-1)
		for si := range series {
			a := acc[si][mi]
			if a.forecasts == 0 {
				continue
			}
			ms.Series++
			ms.Forecasts += a.forecasts
			mase = append(mase, a.mase...)
			ms.MASEExcluded += a.maseExcluded
			steps += a.steps
			ape += a.ape
			pin += a.pinball
			pinUSD += a.pinUSD
			closed80 += a.closed80
			closed95 += a.closed95
			pit80 += a.pit80
			pit95 += a.pit95
			for k, v := range a.pitHist {
				hist[k] += v
			}
			ms.FitSeconds += a.fitSec
			absRel += a.absErrRel
			n := acc[si][naiveIdx]
			naiveAbsRel += n.absErrRel
			switch {
			case a.absErr == n.absErr:
				ratios = append(ratios, 1)
			case n.absErr == 0:
				ratios = append(ratios, math.Inf(1))
			default:
				ratios = append(ratios, a.absErr/n.absErr)
			}
			// Relative tolerance: equal forecasts computed by different
			// routes differ in the last bits.
			switch d := a.absErr - n.absErr; {
			case d < -1e-12*n.absErr-1e-15:
				beat++
			case d > 1e-12*n.absErr+1e-15:
				worse++
			}
		}
		if name == ModelAuto {
			ms.Chosen = map[string]int{}
			for si := range series {
				for k, v := range acc[si][mi].chosen {
					ms.Chosen[k] += v
				}
			}
		}
		if ms.Series == 0 {
			rep.Models = append(rep.Models, ms)
			continue
		}
		sort.Float64s(mase)
		sort.Float64s(ratios)
		if len(mase) > 0 {
			ms.MASEMedian = empiricalQuantile(mase, 0.5)
			ms.MASEMean = mean(mase)
		}
		ms.MAERatioToNaiveMedian = medianInf(ratios)
		if naiveAbsRel > 0 {
			ms.MAERatioToNaiveAgg = absRel / naiveAbsRel
		} else {
			ms.MAERatioToNaiveAgg = 1
		}
		ms.MAPE = 100 * ape / float64(steps)
		ms.PinballMean = pin / float64(steps*len(Levels))
		ms.PinballMeanUSD = pinUSD / float64(steps*len(Levels))
		ms.Coverage80 = pit80 / float64(steps)
		ms.Coverage95 = pit95 / float64(steps)
		ms.CoveragePIT80, ms.CoveragePIT95 = ms.Coverage80, ms.Coverage95
		ms.CoverageClosed80 = float64(closed80) / float64(steps)
		ms.CoverageClosed95 = float64(closed95) / float64(steps)
		for k := range hist {
			hist[k] /= float64(steps)
		}
		ms.PITHistogram = hist
		ms.ShareBeatingNaive = float64(beat) / float64(ms.Series)
		ms.ShareWorseThanNaive = float64(worse) / float64(ms.Series)
		rep.Models = append(rep.Models, ms)
	}
	return rep
}

// medianInf is the median of sorted x, which may end in +Inf; a median
// that is +Inf is reported as math.MaxFloat64 so the JSON stays valid (it
// only happens when most series are constant and the model moves).
func medianInf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	m := x[(len(x)-1)/2]
	if len(x)%2 == 0 {
		m = (x[len(x)/2-1] + x[len(x)/2]) / 2
	}
	if math.IsInf(m, 1) {
		return math.MaxFloat64
	}
	return m
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
