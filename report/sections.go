package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// Defaults the per-GPU-model cost ranking assumes: a job that checkpoints
// in 5 minutes and restarts in 10 (the CLI's placement defaults), running
// a day.
const (
	rankCheckpointCost = 5 * time.Minute
	rankRestartCost    = 10 * time.Minute
	rankRun            = 24 * time.Hour
)

func freshness(ctx context.Context, eng *engine.Engine, r *Report) error {
	rows, err := eng.Freshness(ctx)
	if err != nil {
		return err
	}
	sec := &r.Freshness
	sec.Title = "Data freshness"
	var srcs []string
	// Catalogue files (one per instance type) speak of no time but their
	// fetch: with many of them, one summary row says more than hundreds.
	var catalogue []storage.SourceFreshness
	for _, f := range rows {
		srcs = append(srcs, f.Source)
		if len(rows) > maxFreshnessRows && strings.HasPrefix(f.Source, market.SourceFile+":") && f.LastIngest.Sub(f.NewestPoint).Abs() < time.Minute {
			catalogue = append(catalogue, f)
			continue
		}
		sec.Sources = append(sec.Sources, freshRow(f, r.Generated))
	}
	if len(catalogue) > 0 {
		sum := storage.SourceFreshness{Source: fmt.Sprintf("%d catalogue files (%s … %s)", len(catalogue), catalogue[0].Source, catalogue[len(catalogue)-1].Source)}
		for _, f := range catalogue {
			sum.Rows += f.Rows
			if f.NewestPoint.After(sum.NewestPoint) {
				sum.NewestPoint = f.NewestPoint
			}
			if f.LastIngest.After(sum.LastIngest) {
				sum.LastIngest = f.LastIngest
			}
		}
		sec.Sources = append(sec.Sources, freshRow(sum, r.Generated))
	}
	sec.Source = sourceList(srcs...)
	if len(catalogue) > 0 {
		sec.Source = fmt.Sprintf("%d sources", len(rows))
	}
	sec.note("Newest point: the newest time a source's data speaks of; last ingest: when its newest row was fetched. Stale: newest point more than %s before the report.", fmtDuration(staleAfter))
	return nil
}

// maxFreshnessRows: beyond this many sources, catalogue files are summed.
const maxFreshnessRows = 20

func freshRow(f storage.SourceFreshness, now time.Time) FreshnessRow {
	age := now.Sub(f.NewestPoint)
	return FreshnessRow{Source: f.Source, NewestPoint: f.NewestPoint.UTC(), LastIngest: f.LastIngest.UTC(), Rows: f.Rows,
		AgeHours: age.Hours(), Stale: age > staleAfter}
}

// cheapest ranks GPU pools per GPU model by price per GPU-hour, and the
// cheapest few of each by expected cost per useful GPU-hour.
func cheapest(ctx context.Context, r *Report, s *snapshot, hz *hazards, o Options) {
	sec := &r.Cheapest
	sec.Title = "Cheapest GPU pools"
	byModel := map[string][]*poolSnap{}
	for _, p := range s.pools {
		if p.GPU {
			byModel[p.Type.GPUModel] = append(byModel[p.Type.GPUModel], p)
		}
	}
	models := make([]string, 0, len(byModel))
	for m := range byModel {
		models = append(models, m)
	}
	slices.Sort(models)
	var srcs []string
	for _, m := range models {
		ps := byModel[m]
		slices.SortStableFunc(ps, func(a, b *poolSnap) int { return cmp.Compare(a.PerGPU(), b.PerGPU()) })
		var ranked []GPUPool
		for i, p := range ps {
			if i >= max(o.TopN, defaultCandidatesPerGPU) {
				break
			}
			g := gpuRow(p)
			if od, _, err := s.onDemand(ctx, p); err == nil && od > 0 {
				g.OnDemandPerGPU = od / float64(p.Type.GPUCount)
			}
			if i < o.TopN {
				g.Rank = i + 1
				sec.ByPrice = append(sec.ByPrice, g)
				srcs = append(srcs, p.Source)
			}
			f, err := hz.forecast(ctx, s, p)
			if err != nil {
				sec.note("%s: no interruption forecast: %v", p.PoolKey, err)
				continue
			}
			h := recommend.HazardFromForecast(f, s.asOf.Add(2*rankRun))
			cp, err := recommend.Checkpoint(recommend.CheckpointInput{CheckpointCost: rankCheckpointCost, RestartCost: rankRestartCost,
				NoticeWindow: recommend.NoticeOf(p.Cloud), Hazard: h, Start: s.asOf, RunLength: rankRun})
			if err != nil {
				continue // no progress possible: not a candidate
			}
			c, err := recommend.Cost(recommend.CostInput{SpotPrice: p.Price, UsefulGPUs: p.Type.GPUCount, OverheadRatio: cp.ExpectedOverheadRatio})
			if err != nil {
				continue
			}
			g.HazardPerHour, _, _ = h.Mean(s.asOf, rankRun)
			g.OverheadRatio = cp.ExpectedOverheadRatio
			g.CostPerUsefulGPUHour = c.CostPerUsefulGPUHour
			srcs = append(srcs, f.Source)
			ranked = append(ranked, g)
		}
		slices.SortStableFunc(ranked, func(a, b GPUPool) int { return cmp.Compare(a.CostPerUsefulGPUHour, b.CostPerUsefulGPUHour) })
		for i := range min(o.TopN, len(ranked)) {
			ranked[i].Rank = i + 1
			sec.ByUsefulCost = append(sec.ByUsefulCost, ranked[i])
		}
	}
	sec.Source = sourceList(srcs...)
	if len(models) == 0 {
		sec.note("No GPU pool has a price within %s of %s.", fmtDuration(o.MaxAge), s.asOf.Format(time.RFC3339))
	}
	sec.note("Price per GPU-hour: the spot price at %s over the instance's GPUs.", s.asOf.Format("2006-01-02 15:04 MST"))
	sec.note("Expected cost per useful GPU-hour: the price per GPU-hour times one plus the expected checkpoint/restart overhead under the pool's forecast interruption hazard (Daly 2006), for a %s run checkpointing in %s and restarting in %s; ranked among the %d cheapest pools per GPU model.",
		fmtDuration(rankRun), fmtDuration(rankCheckpointCost), fmtDuration(rankRestartCost), max(o.TopN, defaultCandidatesPerGPU))
	if s.stale > 0 {
		sec.note("%d pools whose newest price is older than %s are left out of every section.", s.stale, fmtDuration(o.MaxAge))
	}
}

func gpuRow(p *poolSnap) GPUPool {
	return GPUPool{GPUModel: p.Type.GPUModel, Pool: p.PoolKey, Resolution: p.Resolution, GPUs: p.Type.GPUCount, GPUMemoryGiB: p.Type.GPUMemoryGiB,
		PriceUSDPerHour: p.Price, PricePerGPUHour: p.PerGPU(), PriceTime: p.PriceTime, Source: p.Source}
}

// moves lists the biggest relative price changes over 24 h and 7 d,
// largest |log(to/from)| first, so a halving ranks with a doubling.
func moves(r *Report, s *snapshot, o Options) {
	sec := &r.Moves
	sec.Title = "Biggest price moves"
	var srcs []string
	pick := func(from func(*poolSnap) float64) []Move {
		var out []Move
		for _, p := range s.pools {
			f := from(p)
			if f <= 0 || p.Price <= 0 || f == p.Price {
				continue
			}
			m := Move{Pool: p.PoolKey, Resolution: p.Resolution, From: f, To: p.Price, Change: p.Price/f - 1, Source: p.Source}
			if p.GPU {
				m.GPUModel = p.Type.GPUModel
			}
			out = append(out, m)
		}
		slices.SortStableFunc(out, func(a, b Move) int {
			return cmp.Or(cmp.Compare(math.Abs(math.Log1p(b.Change)), math.Abs(math.Log1p(a.Change))), strings.Compare(a.Pool.String(), b.Pool.String()))
		})
		out = out[:min(len(out), o.Moves)]
		for _, m := range out {
			srcs = append(srcs, m.Source)
		}
		return out
	}
	sec.Day = pick(func(p *poolSnap) float64 { return p.Day })
	sec.Week = pick(func(p *poolSnap) float64 { return p.Week })
	sec.Source = sourceList(srcs...)
	sec.note("Change from the price in effect at %s (24 h) and %s (7 d) to the price at %s; pools without a price then, or without a change, are left out.",
		s.asOf.Add(-24*time.Hour).Format("2006-01-02 15:04"), s.asOf.Add(-7*24*time.Hour).Format("2006-01-02 15:04"), s.asOf.Format("2006-01-02 15:04 MST"))
}

// watchedPools resolves the watch list, or picks the pool with the lowest
// expected cost per useful GPU-hour of up to four GPU models.
func watchedPools(r *Report, s *snapshot, o Options) []*poolSnap {
	var out []*poolSnap
	sec := &r.Forecasts
	sec.Title = "7-day price forecasts"
	if len(o.Watch) > 0 {
		for _, k := range o.Watch {
			if len(out) == DefaultMaxWatch {
				sec.note("Only the first %d watched pools are charted.", DefaultMaxWatch)
				break
			}
			p := s.find(k)
			if p == nil {
				sec.note("Watched pool %s has no price within %s of %s.", k, fmtDuration(o.MaxAge), s.asOf.Format(time.RFC3339))
				continue
			}
			out = append(out, p)
		}
		return out
	}
	seen := map[string]bool{}
	rows := r.Cheapest.ByUsefulCost
	if len(rows) == 0 {
		rows = r.Cheapest.ByPrice
	}
	for _, g := range rows {
		if seen[g.GPUModel] || len(out) == 4 {
			continue
		}
		if p := s.byID[poolID{g.Pool, g.Resolution}]; p != nil {
			seen[g.GPUModel] = true
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		sec.note("No pools are watched (config: watch); showing the cheapest pool of up to four GPU models by expected cost per useful GPU-hour.")
	}
	return out
}

// forecasts makes each watched pool's 7-day price forecast.
func forecasts(ctx context.Context, eng *engine.Engine, r *Report, s *snapshot, watch []*poolSnap) error {
	sec := &r.Forecasts
	var srcs []string
	for _, p := range watch {
		f, err := eng.PriceForecast(ctx, engine.PriceForecastRequest{Pool: engine.Ref(p.PoolKey), Resolution: p.Resolution,
			Horizon: DefaultForecastHorizon, AsOf: s.forecastAsOf})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sec.note("%s: no forecast: %v", p.PoolKey, err)
			continue
		}
		pf := PoolForecast{Pool: p.PoolKey, Resolution: f.Resolution, Model: f.Chosen, Origin: f.Origin, LastPrice: f.LastPrice,
			Steps: f.Steps, Source: f.Source, Note: f.Note, Generated: f.ForecastGenerated, DataUntil: f.DataUntil, Precomputed: f.Precomputed}
		for _, st := range f.Steps {
			pf.MeanNextWeek += st.Mean
		}
		if n := len(f.Steps); n > 0 {
			pf.MeanNextWeek /= float64(n)
			pf.Lo80End, pf.Hi80End = f.QuantileAt(0.1, n-1), f.QuantileAt(0.9, n-1)
		}
		hist, err := eng.Prices(ctx, engine.PricesRequest{Pool: engine.Ref(p.PoolKey), Resolution: p.Resolution,
			From: f.Origin.Add(-14 * 24 * time.Hour), To: f.Origin.Add(time.Nanosecond), Limit: engine.MaxPriceLimit})
		if err != nil {
			return fmt.Errorf("history of %s: %w", p.PoolKey, err)
		}
		for _, pt := range hist.Points {
			pf.History = append(pf.History, HistoryPoint{Time: pt.Time, Price: pt.Price})
		}
		sec.Pools = append(sec.Pools, pf)
		srcs = append(srcs, f.Source)
	}
	sec.Source = sourceList(srcs...)
	if len(watch) == 0 {
		sec.note("No pool to forecast.")
	}
	sec.note("Median forecast with the central 80%% and 95%% intervals (calibrated by split-conformal residuals, adapted online); the model is chosen per pool by rolling-origin validation. History: the last 14 days before the origin.")
	return nil
}

// interruptions fills the hour-of-week profile and the watched pools'
// hazard windows.
func interruptions(ctx context.Context, r *Report, s *snapshot, hz *hazards, watch []*poolSnap) error {
	sec := &r.Interruptions
	sec.Title = "Interruption windows"
	cloud := market.AWS
	if len(watch) > 0 {
		cloud = watch[0].Cloud
	}
	cp, err := hz.batch.Profile(ctx, cloud)
	if err != nil {
		return err
	}
	st := cp.Stats
	sec.Flat, sec.Events, sec.Pools, sec.ExposureHours = st.Flat, st.Events, st.Pools, st.ExposureHours
	prof := cp.Profile
	for i := range hazard.HoursPerWeek {
		v := 1.0
		if prof != nil {
			v = prof[i]
		}
		sec.Profile[i/24][i%24] = v
	}
	var srcs []string
	recent := cp.Recent
	// A source that records both the warning and the preemption reports
	// one interruption twice: count preemptions when there are any.
	kind := market.EventInterruptionWarning
	if slices.ContainsFunc(recent, func(e market.Event) bool { return e.Kind == market.EventPreempted }) {
		kind = market.EventPreempted
	}
	for _, e := range recent {
		if e.Kind == kind {
			i := hazard.HourOfWeek(e.Time)
			sec.Observed[i/24][i%24] += max(e.Count, 1)
		}
		if !slices.Contains(srcs, e.Source) {
			srcs = append(srcs, e.Source)
		}
	}
	for _, p := range watch {
		f, err := hz.forecast(ctx, s, p)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sec.note("%s: no interruption forecast: %v", p.PoolKey, err)
			continue
		}
		ph := PoolHazard{Pool: p.PoolKey, BaselinePerHour: f.Baseline, ProbWithin24h: f.ProbWithin(24 * time.Hour), Windows: f.Windows,
			Events: f.Events, ExposureHours: f.ExposureHours, Prior: f.Prior, Source: f.Source}
		if m := f.MTBF(); m > 0 {
			ph.MTBFHours = m.Hours()
		}
		sec.Watched = append(sec.Watched, ph)
		srcs = append(srcs, f.Source)
	}
	sec.Source = sourceList(srcs...)
	if st.Flat {
		sec.note("Too few interruptions (%d in %d pools over the last %s) to estimate a weekly profile: the heatmap is flat (every hour 1×).", st.Events, st.Pools, fmtDuration(profileMaxAge))
	} else {
		sec.note("Heatmap: the hazard multiplier per hour of the week (UTC) estimated from %d interruptions in %d pools over the last %s, shrunk towards 1 (Clayton & Kaldor 1987) and smoothed; 1 is the week's average, 1.5 means 50%% more interruptions than average in that hour.",
			st.Events, st.Pools, fmtDuration(profileMaxAge))
	}
	sec.note("Windows: spans of the coming week where a pool's forecast hazard stays above 1.5 × its baseline.")
	return nil
}

// recommendations places each workload and, for its best pool, sets a
// max price, a checkpoint interval and projects the month's cost
// (engine.Workload).
func recommendations(ctx context.Context, eng *engine.Engine, r *Report, s *snapshot, o Options) error {
	sec := &r.Recommendations
	sec.Title = "Recommendations"
	ws := o.Workloads
	if len(ws) == 0 {
		ws = ExampleWorkloads()
		sec.note("No workloads are configured (config: report.workloads); these are examples.")
	}
	var srcs []string
	for _, w := range ws {
		res, err := recommendFor(ctx, eng, s, w, o)
		if err != nil {
			return err
		}
		sec.Workloads = append(sec.Workloads, res)
		srcs = append(srcs, res.Source)
	}
	sec.Source = sourceList(srcs...)
	sec.note("Placement: pools ranked by expected cost per useful GPU-hour (forecast price over the run × checkpoint/restart overhead under the forecast hazard, with the cloud's interruption notice), then a diversified set that avoids sharing zones and types. Max price: the lowest max price the price stays under for the whole run with the stated confidence (DrAFTS, Wolski & Brevik 2016). Checkpoint interval: Daly 2006 under the best pool's forecast hazard.")
	return nil
}

func recommendFor(ctx context.Context, eng *engine.Engine, s *snapshot, w Workload, o Options) (WorkloadResult, error) {
	w = w.withDefaults()
	out := WorkloadResult{Workload: w, Description: w.Describe(), Source: "none"}
	plan, err := eng.Workload(ctx, engine.WorkloadRequest{
		PlacementRequest: engine.PlacementRequest{Cloud: w.Cloud, GPUModel: w.GPUModel, MinGPUMemoryGiB: w.MinGPUMemoryGiB,
			GPUsPerNode: w.GPUsPerNode, Nodes: w.Nodes, Regions: w.Regions, RunLength: w.RunLength, CheckpointCost: w.CheckpointCost,
			RestartCost: w.RestartCost, K: 3, MaxCandidates: maxPlacementCandidates, MaxStale: o.MaxAge, AsOf: s.forecastAsOf},
		Confidence: w.Confidence, Utilisation: w.Utilisation})
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		var ee *engine.Error
		if !errors.As(err, &ee) || ee.Code == engine.CodeInternal {
			return out, fmt.Errorf("workload %q: %w", w.Name, err)
		}
		out.Candidates = plan.Placement.Candidates
		out.Error = "no pool satisfies " + out.Description + ": " + err.Error()
		return out, nil
	}
	pl := plan.Placement
	out.placement = &plan.Placement
	out.Candidates = pl.Candidates
	out.Source = sourceList(pl.Source)
	out.Placement = pl.Diversified
	if len(out.Placement) == 0 {
		out.Placement = pl.Ranked[:min(3, len(pl.Ranked))]
	}
	out.OnDemand = pl.OnDemand
	if plan.MaxPrice != nil {
		out.MaxPrice = &plan.MaxPrice.BidResult
	} else {
		out.BidError = plan.BidError
	}
	if plan.Checkpoint != nil {
		out.Checkpoint = &plan.Checkpoint.CheckpointResult
	}
	out.Cost = plan.Cost
	return out, nil
}

// savings compares a month on spot with a month on demand for every
// workload with a recommendation and every watched pool.
func savings(r *Report, s *snapshot, watch []*poolSnap) {
	sec := &r.Savings
	sec.Title = "Savings against on-demand"
	var srcs []string
	for _, w := range r.Recommendations.Workloads {
		if w.Cost == nil || w.Cost.MonthlyOnDemandUSD == 0 || len(w.Placement) == 0 {
			continue
		}
		b := w.Placement[0]
		row := SavingsRow{Name: w.Workload.Name, Kind: "workload", SpotUSDPerHour: b.PriceUSDPerHour * float64(b.Instances),
			MonthlySpotUSD: w.Cost.MonthlySpotUSD, MonthlyOnDemandUSD: w.Cost.MonthlyOnDemandUSD,
			MonthlySavingsUSD: w.Cost.MonthlySavingsUSD, SavingsRatio: w.Cost.SavingsRatio, Source: w.Source}
		if w.OnDemand != nil {
			row.OnDemandUSDPerHour = w.OnDemand.PriceUSDPerHour * float64(w.OnDemand.Instances)
		}
		sec.Rows = append(sec.Rows, row)
		srcs = append(srcs, w.Source)
	}
	for _, p := range watch {
		if p.onDemand <= 0 {
			continue
		}
		row := SavingsRow{Name: p.PoolKey.String(), Kind: "pool", Pool: p.PoolKey, SpotUSDPerHour: p.Price, OnDemandUSDPerHour: p.onDemand,
			MonthlySpotUSD: p.Price * recommend.HoursPerMonth, MonthlyOnDemandUSD: p.onDemand * recommend.HoursPerMonth,
			Source: sourceList(p.Source, p.odSource)}
		row.MonthlySavingsUSD = row.MonthlyOnDemandUSD - row.MonthlySpotUSD
		row.SavingsRatio = row.MonthlySavingsUSD / row.MonthlyOnDemandUSD
		sec.Rows = append(sec.Rows, row)
		srcs = append(srcs, p.Source, p.odSource)
	}
	for _, row := range sec.Rows {
		sec.TotalSpotUSD += row.MonthlySpotUSD
		sec.TotalOnDemandUSD += row.MonthlyOnDemandUSD
	}
	if sec.TotalOnDemandUSD > 0 {
		sec.TotalSavingsRatio = 1 - sec.TotalSpotUSD/sec.TotalOnDemandUSD
	}
	sec.Source = sourceList(srcs...)
	if len(sec.Rows) == 0 {
		sec.note("Nothing to compare: no workload has a recommendation with a known on-demand price, and no watched pool has one.")
	}
	sec.note("Workloads: the fleet on the recommended pool for a month (%g h × utilisation), with the expected checkpoint/restart overhead on spot, against the same useful work on demand. Pools: one instance running the whole month at today's spot and on-demand prices.", recommend.HoursPerMonth)
}

// scorecard summarises the given backtest, or runs a small one.
func scorecard(ctx context.Context, eng *engine.Engine, r *Report, s *snapshot, watch []*poolSnap, o Options) {
	sec := &r.Scorecard
	sec.Title = "Forecast quality"
	bt := o.Backtest
	if bt == nil {
		rep, err := smallBacktest(ctx, eng, r, s, watch, o)
		if err != nil {
			sec.Error = fmt.Sprintf("the backtest did not finish: %v", err)
			if errors.Is(err, context.DeadlineExceeded) {
				sec.Error = fmt.Sprintf("the backtest did not finish within %s", o.BacktestTimeout)
			}
			sec.Source = "none"
			return
		}
		bt = &rep
		sec.Ran = true
		sec.note("No backtest was given: this one ran with the report, on %d series (the watched pools and the cheapest GPU pools), a 24 h forecast at each of the %d days before %s.",
			rep.Series, len(rep.Origins), s.asOf.Format("2006-01-02"))
	}
	sec.Generated, sec.Horizon, sec.Origins, sec.Series, sec.Models = bt.Generated, fmtDuration(bt.Horizon), len(bt.Origins), bt.Series, bt.Models
	if ev, ok := bt.Interruption.(hazard.Evaluation); ok {
		sec.Interruption = &ev
	} else if ev, ok := bt.Interruption.(*hazard.Evaluation); ok && ev != nil {
		sec.Interruption = ev
	}
	var srcs []string
	for _, p := range s.pools {
		srcs = append(srcs, p.Source)
	}
	sec.Source = sourceList(srcs...)
	sec.note("MASE: mean absolute error scaled by the in-sample one-step naive error (Hyndman & Koehler 2006); below 1 beats a naive one-step forecast in sample. MAE/naive: median over series of the model's error over the naive forecast's (below 1 is better). Coverage: share of outcomes inside the 80%% and 95%% intervals (PIT-randomised for ties); well calibrated intervals cover 0.80 and 0.95.")
}

// smallBacktest scores the price models on the watched pools and the
// cheapest GPU pools (engine.BacktestPools: a 24 h forecast from each of
// the last seven days, judged on the day that followed). The residual
// pool is built from these series alone, which keeps the run to seconds
// on any store.
func smallBacktest(ctx context.Context, eng *engine.Engine, r *Report, s *snapshot, watch []*poolSnap, o Options) (forecast.BacktestReport, error) {
	ctx, cancel := context.WithTimeout(ctx, o.BacktestTimeout)
	defer cancel()
	pools := slices.Clone(watch)
	for _, g := range r.Cheapest.ByPrice {
		if p := s.byID[poolID{g.Pool, g.Resolution}]; p != nil && !slices.Contains(pools, p) {
			pools = append(pools, p)
		}
	}
	if len(pools) == 0 { // no GPU pools: any pools
		pools = s.pools
	}
	pools = pools[:min(len(pools), o.BacktestSeries)]
	keys := make([]market.PoolKey, len(pools))
	for i, p := range pools {
		keys[i] = p.PoolKey
	}
	rep, err := eng.BacktestPools(ctx, keys, engine.PoolBacktestOptions{End: s.asOf,
		Models: []string{forecast.ModelNaive, forecast.ModelSeasonalDay, forecast.ModelSES}})
	if err != nil {
		return forecast.BacktestReport{}, err
	}
	return *rep, nil
}
