package recommend

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// Strategies a placement backtest scores.
const (
	// StrategyRecommended: an equal share of the fleet on each pool of
	// Placement's diversified set.
	StrategyRecommended = "recommended set"
	// StrategyTopRanked: all of it on Placement's first-ranked pool.
	StrategyTopRanked = "top-ranked pool"
	// StrategyCheapestNow: the fitting pool with the lowest spot price
	// per useful GPU at the origin, without forecast or hazard.
	StrategyCheapestNow = "cheapest now"
	// StrategyCheapestNowSet: an equal share on each of the K fitting
	// pools with the lowest spot price per useful GPU at the origin: the
	// set without forecast, hazard or diversification.
	StrategyCheapestNowSet = "cheapest-now set"
	// StrategyOnDemand: the cheapest fitting on-demand option (no
	// interruptions, so no overhead).
	StrategyOnDemand = "on-demand"
	// StrategyHindsight: the fitting pool whose realised cost turned out
	// lowest; a bound no strategy can reach, to show what was left.
	StrategyHindsight = "hindsight best pool"
)

// PlacementStrategies lists the strategies in table order.
var PlacementStrategies = []string{StrategyRecommended, StrategyCheapestNowSet, StrategyTopRanked, StrategyCheapestNow, StrategyOnDemand, StrategyHindsight}

// BacktestPool is one pool's real price history for BacktestPlacement.
type BacktestPool struct {
	Key market.PoolKey
	// Type: the catalogue entry (zero: the built-in AWS GPU table).
	Type market.InstanceType
	// Points: the pool's prices in time order (a change series, or daily
	// bars whose Price is the day's average).
	Points []market.PricePoint
	// OnDemand: the type's on-demand prices in the region, in Date order;
	// the one in force at an origin is used (none: unknown).
	OnDemand []market.OnDemandPrice
}

// RunPrice is a forecast of a pool's mean spot price over a run, USD per
// instance-hour: the mean and a low and high quantile of it.
type RunPrice struct {
	Mean, Lo, Hi float64
}

// RunPriceForecaster forecasts a pool's mean spot price over [origin,
// origin+run) from history, which holds only the points known at origin.
// Backtests take it as a parameter, so any model or baseline is scored
// the same way.
type RunPriceForecaster func(key market.PoolKey, history []market.PricePoint, origin time.Time, run time.Duration) (RunPrice, error)

// HazardModel gives a pool's interruption hazard from origin on, from
// what is known at origin: the spot price then and the on-demand price
// (0: unknown).
type HazardModel func(key market.PoolKey, origin time.Time, spotNow, onDemand float64) (Hazard, error)

// ForecastRunPrice is the RunPriceForecaster backed by
// forecast.ForecastSeries (model "" is auto) on the series' own grid:
// the mean of the point forecasts over the run, and of the 0.1 and 0.9
// quantiles, as the placement API computes them. For a change series the
// price in force at origin is known and counts as the run's first hour;
// for daily bars the last known day is the one before origin.
func ForecastRunPrice(resolution, model string) RunPriceForecaster {
	step := forecast.StepFor(resolution)
	return func(key market.PoolKey, hist []market.PricePoint, origin time.Time, run time.Duration) (RunPrice, error) {
		if len(hist) == 0 {
			return RunPrice{}, fmt.Errorf("forecast %s: no history before %s: %w", key, origin.Format(time.RFC3339), ErrInvalidInput)
		}
		asOf := origin
		if resolution == market.ResolutionDaily {
			// The newest day that can be over at origin; a stale series
			// carries its last bar forward to it.
			asOf = origin.Add(-step).Truncate(step)
		}
		f, err := forecast.ForecastSeries(hist, key, resolution, run+step, forecast.Options{
			Model: model, AsOf: asOf, Now: func() time.Time { return origin },
		})
		if err != nil {
			return RunPrice{}, err
		}
		var mean, lo, hi float64
		n := 0
		if !f.Origin.Before(origin) {
			mean, lo, hi, n = f.LastPrice, f.LastPrice, f.LastPrice, 1
		}
		for h, st := range f.Steps {
			if st.Time.Before(origin) {
				continue
			}
			if !st.Time.Before(origin.Add(run)) {
				break
			}
			mean += st.Mean
			lo += f.QuantileAt(0.1, h)
			hi += f.QuantileAt(0.9, h)
			n++
		}
		if n == 0 {
			return RunPrice{}, fmt.Errorf("forecast %s: no step within the run from %s: %w", key, origin.Format(time.RFC3339), ErrInvalidInput)
		}
		rp := RunPrice{Mean: mean / float64(n), Lo: lo / float64(n), Hi: hi / float64(n)}
		if math.IsNaN(rp.Lo) || math.IsNaN(rp.Hi) {
			rp.Lo, rp.Hi = rp.Mean, rp.Mean
		}
		return rp, nil
	}
}

// AdvisorHazardModel is the HazardModel of hazard.Estimate with the
// advisor bucket (the newest row of the pool's region and type from a
// snapshot at or before the origin, else the oldest snapshot given, else
// hazard.DefaultBucket) and the price pressure spot/on-demand at the
// origin, with no observed events: the prior the service uses for a pool
// it has never watched. Rows are for OS "Linux".
func AdvisorHazardModel(rows []market.AdvisorRow, opts hazard.Options) HazardModel {
	byPool := map[[2]string][]market.AdvisorRow{}
	for _, r := range rows {
		if !strings.EqualFold(r.OS, "Linux") {
			continue
		}
		k := [2]string{r.Region, r.InstanceType}
		byPool[k] = append(byPool[k], r)
	}
	for _, rs := range byPool {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Snapshot.Before(rs[j].Snapshot) })
	}
	return func(key market.PoolKey, origin time.Time, spotNow, onDemand float64) (Hazard, error) {
		in := hazard.Inputs{Pool: key, SpotPrice: spotNow, OnDemand: onDemand}
		if rs := byPool[[2]string{key.Region, key.InstanceType}]; len(rs) > 0 {
			row := rs[0]
			for _, r := range rs {
				if !r.Snapshot.After(origin) {
					row = r
				}
			}
			in.Advisor = &row
		}
		f, err := hazard.Estimate(in, origin, opts)
		if err != nil {
			return nil, err
		}
		return HazardFromForecast(f, origin), nil
	}
}

// PlacementBacktestWorkload is a named workload; its Start is set to each
// origin.
type PlacementBacktestWorkload struct {
	Name     string
	Workload Workload
}

// PlacementBacktestConfig says where and how to backtest placements.
type PlacementBacktestConfig struct {
	Workloads []PlacementBacktestWorkload
	// Resolution of every pool's points: market.ResolutionChange (a
	// point is known from its Time) or market.ResolutionDaily (a day's
	// bar is known once the day is over).
	Resolution string
	// Origins from From, every Every, up to To (zero: as late as the data
	// still covers the longest run).
	From, To time.Time
	Every    time.Duration
	// MinHistory: a pool is a candidate only with this much known history
	// at the origin.
	MinHistory time.Duration
	// MaxStale: a pool is a candidate only if its newest known point is
	// at most this old at the origin (0: 7 days), so pools that stopped
	// trading are not offered.
	MaxStale time.Duration
	// End: when the data ends; a change series' last price holds until
	// then (zero: the newest point of all pools).
	End time.Time
	// Forecast and Hazard: what the recommendation sees at each origin.
	Forecast RunPriceForecaster
	Hazard   HazardModel
	// SimRuns: 0 scores every pool's interruption overhead with the
	// expected overhead of the checkpoint model at the pool's hazard;
	// > 0 averages that many Monte Carlo runs (Simulate) of the job
	// under that hazard, with the recommended checkpoint policy, from a
	// generator seeded with Seed and the (origin, workload, pool), so a
	// pool gets the same draws whichever strategy picked it.
	SimRuns int
	Seed    uint64
}

// PlacementRun is one (origin, workload) of a placement backtest: the
// realised cost per useful GPU-hour of each strategy, USD.
type PlacementRun struct {
	Origin      time.Time        `json:"origin"`
	Workload    string           `json:"workload"`
	Candidates  int              `json:"candidates"`
	Recommended []market.PoolKey `json:"recommended"`
	TopRanked   market.PoolKey   `json:"top_ranked"`
	CheapestNow market.PoolKey   `json:"cheapest_now"`
	Hindsight   market.PoolKey   `json:"hindsight"`
	OnDemand    string           `json:"on_demand"`
	// Cost by strategy name (see PlacementStrategies): realised.
	Cost map[string]float64 `json:"cost_per_useful_gpu_hour"`
	// Expected by strategy name: what Placement's ranking expected at the
	// origin for the same pools (forecast price, same overhead model).
	Expected map[string]float64 `json:"expected_cost_per_useful_gpu_hour"`
}

// PlacementBacktestRow summarises one strategy for one workload (or
// "all", pooled over workloads, so weighted by their cost).
type PlacementBacktestRow struct {
	Workload string `json:"workload"`
	Strategy string `json:"strategy"`
	Runs     int    `json:"runs"`
	// MeanCost and MedianCost: realised USD per useful GPU-hour.
	MeanCost   float64 `json:"mean_cost_per_useful_gpu_hour"`
	MedianCost float64 `json:"median_cost_per_useful_gpu_hour"`
	// RatioToCheapestNow: total cost over cheapest-now's total on the same
	// runs (< 1: cheaper).
	RatioToCheapestNow float64 `json:"ratio_to_cheapest_now"`
	// BeatCheapestNow, TiedCheapestNow: shares of runs cheaper than, and
	// equal to (within 1e-9 relative), cheapest-now.
	BeatCheapestNow float64 `json:"beat_cheapest_now"`
	TiedCheapestNow float64 `json:"tied_cheapest_now"`
	// SavingsVsOnDemand: 1 - total cost / on-demand's total on the same
	// runs.
	SavingsVsOnDemand float64 `json:"savings_vs_on_demand"`
	// RealisedOverExpected: total realised cost over the total the
	// ranking expected at the origins (1: the forecast was right).
	RealisedOverExpected float64 `json:"realised_over_expected"`
}

// PlacementBacktest is the result of BacktestPlacement.
type PlacementBacktest struct {
	Origins int                    `json:"origins"`
	Runs    []PlacementRun         `json:"runs"`
	Rows    []PlacementBacktestRow `json:"rows"`
	// Skipped counts pools, runs or origins left out, by reason; Errors
	// keeps the first few error messages behind them.
	Skipped map[string]int `json:"skipped,omitempty"`
	Errors  []string       `json:"errors,omitempty"`
	// Notes say what is realised and what is modelled.
	Notes []string `json:"notes"`
}

func (c *PlacementBacktestConfig) validate() error {
	if c.Forecast == nil || c.Hazard == nil || len(c.Workloads) == 0 {
		return fmt.Errorf("placement backtest needs a forecaster, a hazard model and workloads: %w", ErrInvalidInput)
	}
	if c.Resolution != market.ResolutionChange && c.Resolution != market.ResolutionDaily {
		return fmt.Errorf("placement backtest: resolution %q is neither %q nor %q: %w", c.Resolution, market.ResolutionChange, market.ResolutionDaily, ErrInvalidInput)
	}
	if c.Every <= 0 || c.MinHistory < 0 || c.MaxStale < 0 || c.SimRuns < 0 {
		return fmt.Errorf("placement backtest: origin spacing %v must be positive, min history %v, max staleness %v and runs %d not negative: %w", c.Every, c.MinHistory, c.MaxStale, c.SimRuns, ErrInvalidInput)
	}
	for i, w := range c.Workloads {
		if w.Name == "" {
			return fmt.Errorf("placement backtest: workload %d has no name: %w", i, ErrInvalidInput)
		}
		if err := w.Workload.validate(); err != nil {
			return fmt.Errorf("placement backtest: workload %s: %w", w.Name, err)
		}
	}
	return nil
}

// lag is how long after its Time a point becomes known.
func (c *PlacementBacktestConfig) lag() time.Duration {
	if c.Resolution == market.ResolutionDaily {
		return 24 * time.Hour
	}
	return 0
}

// known returns the points known at origin (a prefix of pts).
func known(pts []market.PricePoint, origin time.Time, lag time.Duration) []market.PricePoint {
	n := sort.Search(len(pts), func(i int) bool { return pts[i].Time.Add(lag).After(origin) })
	return pts[:n]
}

// priceNow is the last known price: a daily bar's close, else its price.
func priceNow(hist []market.PricePoint) float64 {
	p := hist[len(hist)-1]
	if p.HasBar && p.Bar.Close > 0 {
		return p.Bar.Close
	}
	return p.Price
}

func onDemandAt(ods []market.OnDemandPrice, t time.Time) float64 {
	price := 0.0
	for _, od := range ods {
		if od.Date.After(t) {
			break
		}
		price = od.Price
	}
	return price
}

// stepMean is the time-weighted mean of a step function (each point's
// price holds until the next point, the last until dataEnd) over [a, b).
// ok is false when the points do not cover [a, b).
func stepMean(pts []market.PricePoint, a, b, dataEnd time.Time) (float64, bool) {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].Time.After(a) })
	if i == 0 || dataEnd.Before(b) {
		return 0, false
	}
	sum, t := 0.0, a
	for j := i - 1; j < len(pts) && t.Before(b); j++ {
		next := b
		if j+1 < len(pts) && pts[j+1].Time.Before(b) {
			next = pts[j+1].Time
		}
		sum += pts[j].Price * next.Sub(t).Hours()
		t = next
	}
	return sum / b.Sub(a).Hours(), true
}

// originState is what is known about the pools at one origin.
type originState struct {
	cands []PoolCandidate
	idx   []int     // pools[idx[i]] is cands[i]
	now   []float64 // price now of cands[i]
}

// candidatesAt forecasts every pool that fits one of the workloads from
// what was known at origin.
func (c *PlacementBacktestConfig) candidatesAt(pools []BacktestPool, ws []Workload, origin time.Time, out *PlacementBacktest) originState {
	var st originState
	lag := c.lag()
	maxStale := c.MaxStale
	if maxStale == 0 {
		maxStale = 7 * 24 * time.Hour
	}
	var maxRun time.Duration
	for _, w := range ws {
		maxRun = max(maxRun, w.RunLength)
	}
	for i, p := range pools {
		var stored *market.InstanceType
		if p.Type.Name != "" || p.Type.GPUCount > 0 {
			stored = &p.Type
		}
		typ, err := ResolveType(p.Key.Cloud, p.Key.InstanceType, stored)
		if err != nil {
			continue // not a GPU type: no workload fits it
		}
		fits := false
		for _, w := range ws {
			if w.regionAllowed(p.Key.Region) && w.missing(typ) == "" {
				fits = true
				break
			}
		}
		if !fits {
			continue
		}
		hist := known(p.Points, origin, lag)
		if len(hist) == 0 || hist[0].Time.Add(c.MinHistory).After(origin) {
			out.Skipped["pool: too little history at origin"]++
			continue
		}
		if hist[len(hist)-1].Time.Add(lag).Add(maxStale).Before(origin) {
			out.Skipped["pool: no recent price at origin"]++
			continue
		}
		rp, err := c.Forecast(p.Key, hist, origin, maxRun)
		if err != nil {
			out.skip("pool: forecast error", err)
			continue
		}
		now := priceNow(hist)
		od := onDemandAt(p.OnDemand, origin)
		hz, err := c.Hazard(p.Key, origin, now, od)
		if err != nil {
			out.skip("pool: hazard error", err)
			continue
		}
		st.cands = append(st.cands, PoolCandidate{Pool: p.Key, Type: p.Type, PriceMean: rp.Mean, PriceLo: rp.Lo, PriceHi: rp.Hi,
			Hazard: hz, OnDemand: od, Source: hist[len(hist)-1].Source})
		st.idx = append(st.idx, i)
		st.now = append(st.now, now)
	}
	return st
}

// PlacementAt is what Placement would have recommended for w at origin
// from the pools' history known then, with cfg's forecaster and hazard
// model: the ranking BacktestPlacement scores.
func PlacementAt(pools []BacktestPool, w Workload, origin time.Time, cfg PlacementBacktestConfig) (PlacementResult, error) {
	cfg.Workloads = []PlacementBacktestWorkload{{Name: "w", Workload: w}}
	if err := cfg.validate(); err != nil {
		return PlacementResult{}, err
	}
	w.Start = origin
	scratch := PlacementBacktest{Skipped: map[string]int{}}
	st := cfg.candidatesAt(pools, []Workload{w}, origin, &scratch)
	return Placement(w, st.cands)
}

// BacktestPlacement replays real history: at each origin it forecasts
// every candidate pool from the past only and ranks them with Placement
// for each workload; then it scores what the prices really did over the
// run. A pool's realised cost per useful GPU-hour is instances x its
// realised mean spot price over [origin, origin + run) / useful GPUs x (1
// + overhead). Price histories hold no interruptions, so the overhead is
// modelled: it comes from the same hazard model and checkpoint model for
// every strategy (the expected overhead, or SimRuns Monte Carlo runs),
// while the price part is realised. Strategies: see PlacementStrategies.
// A run is left out (and counted) when a pool a strategy picked has no
// data over the run or no on-demand price is known.
func BacktestPlacement(pools []BacktestPool, cfg PlacementBacktestConfig) (PlacementBacktest, error) {
	if err := cfg.validate(); err != nil {
		return PlacementBacktest{}, err
	}
	seen := map[market.PoolKey]bool{}
	for _, p := range pools {
		if seen[p.Key] {
			return PlacementBacktest{}, fmt.Errorf("placement backtest: pool %s given twice: %w", p.Key, ErrInvalidInput)
		}
		seen[p.Key] = true
		if !sort.SliceIsSorted(p.Points, func(i, j int) bool { return p.Points[i].Time.Before(p.Points[j].Time) }) {
			return PlacementBacktest{}, fmt.Errorf("placement backtest: pool %s is not in time order: %w", p.Key, ErrInvalidInput)
		}
	}
	out := PlacementBacktest{Skipped: map[string]int{}}
	end := cfg.End
	var maxRun time.Duration
	for _, w := range cfg.Workloads {
		maxRun = max(maxRun, w.Workload.RunLength)
	}
	if end.IsZero() {
		for _, p := range pools {
			if n := len(p.Points); n > 0 {
				if e := p.Points[n-1].Time.Add(cfg.lag()); e.After(end) {
					end = e
				}
			}
		}
	}
	last := end.Add(-maxRun)
	if !cfg.To.IsZero() && cfg.To.Before(last) {
		last = cfg.To
	}
	ws := make([]Workload, len(cfg.Workloads))
	for i, w := range cfg.Workloads {
		ws[i] = w.Workload
	}
	for origin := cfg.From; !origin.After(last); origin = origin.Add(cfg.Every) {
		for i := range ws {
			ws[i].Start = origin
		}
		st := cfg.candidatesAt(pools, ws, origin, &out)
		used := false
		for wi, bw := range cfg.Workloads {
			run, ok := cfg.scoreRun(pools, st, bw.Name, ws[wi], origin, end, &out)
			if ok {
				out.Runs = append(out.Runs, run)
				used = true
			}
		}
		if used {
			out.Origins++
		} else {
			out.Skipped["origin: no run scored"]++
		}
	}
	out.Rows = summarise(cfg.Workloads, out.Runs)
	realised := "price part realised: each pool's mean spot price over [origin, origin + run) from the real series; forecasts and rankings see only points known at the origin"
	if cfg.Resolution == market.ResolutionDaily {
		realised += " (a daily bar once its day is over)"
	}
	out.Notes = []string{
		realised,
		"interruption part modelled: the price series hold no interruptions; every strategy's overhead comes from the same hazard model and checkpoint model",
		"recommended set: an equal share on each pool of the diversified set; cheapest now: lowest spot price per useful GPU at the origin; on-demand: the cheapest fitting on-demand type, no overhead; hindsight: the pool that turned out cheapest (not reachable)",
	}
	if cfg.SimRuns > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("overhead: mean of %d simulated runs per pool and origin (seed %d)", cfg.SimRuns, cfg.Seed))
	} else {
		out.Notes = append(out.Notes, "overhead: the checkpoint model's expected overhead at the pool's hazard")
	}
	if len(out.Runs) == 0 {
		return out, fmt.Errorf("placement backtest: no run could be scored between %s and %s: %w", cfg.From.Format(time.RFC3339), last.Format(time.RFC3339), ErrInvalidInput)
	}
	return out, nil
}

// scoreRun ranks the candidates for one workload and scores the
// strategies on what happened.
func (c *PlacementBacktestConfig) scoreRun(pools []BacktestPool, st originState, name string, w Workload, origin, end time.Time, out *PlacementBacktest) (PlacementRun, bool) {
	res, err := Placement(w, st.cands)
	if err != nil {
		out.skip("run: no fitting pool", err)
		return PlacementRun{}, false
	}
	if res.OnDemand == nil {
		out.Skipped["run: no on-demand price"]++
		return PlacementRun{}, false
	}
	at := map[market.PoolKey]int{}
	for i, cd := range st.cands {
		at[cd.Pool] = i
	}
	useful := float64(res.UsefulGPUs)
	lag := c.lag()
	cost := func(r PoolRank) (float64, bool) {
		i := at[r.Pool]
		p := pools[st.idx[i]]
		dataEnd := end
		if lag > 0 {
			dataEnd = p.Points[len(p.Points)-1].Time.Add(lag)
		}
		mean, ok := stepMean(p.Points, origin, origin.Add(w.RunLength), dataEnd)
		if !ok {
			return 0, false
		}
		ov := r.OverheadRatio
		if c.SimRuns > 0 {
			var err error
			if ov, err = c.simOverhead(st.cands[i], r, w, origin, name); err != nil {
				out.skip("run: simulation error", err)
				return 0, false
			}
		}
		return float64(r.Instances) * mean / useful * (1 + ov), true
	}
	run := PlacementRun{Origin: origin, Workload: name, Candidates: len(res.Ranked), TopRanked: res.Ranked[0].Pool,
		OnDemand: res.OnDemand.Region + " " + res.OnDemand.InstanceType, Cost: map[string]float64{}, Expected: map[string]float64{}}
	costs := make([]float64, len(res.Ranked))
	covered := make([]bool, len(res.Ranked))
	rankOf := map[market.PoolKey]int{}
	byNow := make([]int, len(res.Ranked))
	nowCost := make([]float64, len(res.Ranked))
	for i, r := range res.Ranked {
		rankOf[r.Pool] = i
		costs[i], covered[i] = cost(r)
		byNow[i] = i
		nowCost[i] = float64(r.Instances) * st.now[at[r.Pool]] / useful
	}
	// Ties keep the ranking's order, which is deterministic.
	sort.SliceStable(byNow, func(a, b int) bool { return nowCost[byNow[a]] < nowCost[byNow[b]] })
	k := len(res.Diversified)
	var set, nowSet []int
	for _, r := range res.Diversified {
		set = append(set, rankOf[r.Pool])
		run.Recommended = append(run.Recommended, r.Pool)
	}
	nowSet = byNow[:k]
	cheap := byNow[0]
	for _, i := range append(append([]int{0}, set...), nowSet...) {
		if !covered[i] {
			out.Skipped["run: a picked pool has no data over the run"]++
			return PlacementRun{}, false
		}
	}
	best := -1
	for i := range costs {
		if covered[i] && (best < 0 || costs[i] < costs[best]) {
			best = i
		}
	}
	mean := func(idx []int, v func(i int) float64) float64 {
		sum := 0.0
		for _, i := range idx {
			sum += v(i)
		}
		return sum / float64(len(idx))
	}
	realised := func(i int) float64 { return costs[i] }
	expected := func(i int) float64 { return res.Ranked[i].CostPerUsefulGPUHr }
	run.CheapestNow, run.Hindsight = res.Ranked[cheap].Pool, res.Ranked[best].Pool
	for s, idx := range map[string][]int{StrategyRecommended: set, StrategyCheapestNowSet: nowSet, StrategyTopRanked: {0},
		StrategyCheapestNow: {cheap}, StrategyHindsight: {best}} {
		run.Cost[s] = mean(idx, realised)
		run.Expected[s] = mean(idx, expected)
	}
	run.Cost[StrategyOnDemand] = res.OnDemand.CostPerUsefulGPUHr
	run.Expected[StrategyOnDemand] = res.OnDemand.CostPerUsefulGPUHr
	for s, v := range run.Cost {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			out.skip("run: non-finite cost", fmt.Errorf("%s %s at %s: %s cost %v", name, run.TopRanked, origin.Format(time.RFC3339), s, v))
			return PlacementRun{}, false
		}
	}
	return run, true
}

// simOverhead is the mean overhead of c.SimRuns simulated runs of w on
// the pool under its hazard with the recommended checkpoint policy.
func (c *PlacementBacktestConfig) simOverhead(cd PoolCandidate, r PoolRank, w Workload, origin time.Time, name string) (float64, error) {
	ck := CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: w.NoticeWindow,
		MissedNoticeShare: w.MissedNoticeShare, Hazard: cd.Hazard, Start: origin, RunLength: w.RunLength, Nodes: r.Instances}
	policy, err := IntervalPolicy(ck)
	if err != nil {
		return 0, err
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s", origin.Unix(), name, cd.Pool)
	rng := rand.New(rand.NewPCG(c.Seed, h.Sum64()))
	sim, err := Simulate(SimConfig{Work: w.RunLength, CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost,
		NoticeWindow: w.NoticeWindow, MissedNoticeShare: w.MissedNoticeShare, Nodes: r.Instances, Hazard: cd.Hazard,
		Start: origin, Interval: policy, Runs: c.SimRuns}, rng)
	if err != nil {
		return 0, err
	}
	return sim.OverheadRatio, nil
}

// summarise builds a row per workload and strategy, then "all".
func summarise(ws []PlacementBacktestWorkload, runs []PlacementRun) []PlacementBacktestRow {
	var rows []PlacementBacktestRow
	names := make([]string, 0, len(ws)+1)
	for _, w := range ws {
		names = append(names, w.Name)
	}
	if len(ws) > 1 {
		names = append(names, "all")
	}
	for _, name := range names {
		var sel []PlacementRun
		for _, r := range runs {
			if name == "all" || r.Workload == name {
				sel = append(sel, r)
			}
		}
		if len(sel) == 0 {
			continue
		}
		for _, s := range PlacementStrategies {
			row := PlacementBacktestRow{Workload: name, Strategy: s, Runs: len(sel)}
			vals := make([]float64, len(sel))
			var sum, sumCheap, sumOD, sumExp float64
			beat, tied := 0, 0
			for i, r := range sel {
				v, ch := r.Cost[s], r.Cost[StrategyCheapestNow]
				vals[i] = v
				sum += v
				sumCheap += ch
				sumOD += r.Cost[StrategyOnDemand]
				sumExp += r.Expected[s]
				switch {
				case math.Abs(v-ch) <= 1e-9*ch:
					tied++
				case v < ch:
					beat++
				}
			}
			sort.Float64s(vals)
			n := float64(len(sel))
			row.MeanCost = sum / n
			row.MedianCost = median(vals)
			row.RatioToCheapestNow = sum / sumCheap
			row.BeatCheapestNow = float64(beat) / n
			row.TiedCheapestNow = float64(tied) / n
			row.SavingsVsOnDemand = 1 - sum/sumOD
			row.RealisedOverExpected = sum / sumExp
			rows = append(rows, row)
		}
	}
	return rows
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Row returns the row of a workload and strategy.
func (b PlacementBacktest) Row(workload, strategy string) (PlacementBacktestRow, bool) {
	for _, r := range b.Rows {
		if r.Workload == workload && r.Strategy == strategy {
			return r, true
		}
	}
	return PlacementBacktestRow{}, false
}

// WriteTable writes the rows as a Markdown table.
func (b PlacementBacktest) WriteTable(w io.Writer) error {
	var s strings.Builder
	s.WriteString("| workload | strategy | runs | mean USD/useful GPU-h | median | vs cheapest now | beat cheapest now | tied | savings vs on-demand | realised / expected |\n")
	s.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.Rows {
		fmt.Fprintf(&s, "| %s | %s | %d | %.4f | %.4f | %+.2f%% | %.1f%% | %.1f%% | %.1f%% | %.4f |\n", r.Workload, r.Strategy, r.Runs,
			r.MeanCost, r.MedianCost, 100*(r.RatioToCheapestNow-1), 100*r.BeatCheapestNow, 100*r.TiedCheapestNow, 100*r.SavingsVsOnDemand, r.RealisedOverExpected)
	}
	_, err := io.WriteString(w, s.String())
	return err
}

func (b *PlacementBacktest) skip(reason string, err error) {
	b.Skipped[reason]++
	if len(b.Errors) < 5 {
		b.Errors = append(b.Errors, err.Error())
	}
}
