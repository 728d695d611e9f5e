package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/spotcast/spotcast/forecast"
	"io"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

const (
	// placementWeeks: origins cover the last 26 weeks of data, so the
	// section scores recent market behaviour rather than years of it.
	placementWeeks = 26
	// placementMinHistory: a pool needs four weeks of known prices at an
	// origin before its forecast is trusted enough to rank it.
	placementMinHistory = 28 * 24 * time.Hour
	placementEvery      = 7 * 24 * time.Hour
	day                 = 24 * time.Hour
)

// placementWorkloads are the section's default workloads: a run on one
// 8 x A100 node, on one GPU with at least 24 GiB, and on four V100s, with
// the checkpoint and restart costs of a typical training job.
func placementWorkloads(run time.Duration) []recommend.PlacementBacktestWorkload {
	base := recommend.Workload{RunLength: run, CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute,
		NoticeWindow: recommend.NoticeAWS, MissedNoticeShare: 0.1, K: 3}
	a100, big, v100 := base, base, base
	a100.GPUModel, a100.MinGPUMemoryGiB, a100.GPUsPerNode = "A100", 40, 8
	big.MinGPUMemoryGiB, big.GPUsPerNode = 24, 1
	v100.GPUModel, v100.GPUsPerNode = "V100", 4
	return []recommend.PlacementBacktestWorkload{{Name: "8x A100 40GB+", Workload: a100}, {Name: "1x GPU >=24GB", Workload: big}, {Name: "4x V100", Workload: v100}}
}

// gpuType is a pool's catalogue entry if it has GPUs, else the built-in
// AWS GPU table's entry; ok is false for a CPU type.
func gpuType(p storage.PoolInfo) (market.InstanceType, bool) {
	if p.Type.GPUCount > 0 {
		return p.Type, true
	}
	if p.Cloud == market.AWS {
		if t, ok := market.BuiltinAWSGPUType(p.InstanceType); ok && t.GPUCount > 0 {
			return t, true
		}
	}
	return market.InstanceType{}, false
}

// BacktestPlacement replays the placement recommendation over the stored
// history of the GPU pools f selects: weekly origins over the last 26
// weeks of data, each scored over a run of the given length. Daily pools
// are used when there are any (they span years); otherwise the
// price-change pools (resolution forces one or the other).
func (e *Engine) BacktestPlacement(ctx context.Context, f storage.PoolFilter, resolution string, run time.Duration, progress io.Writer) (recommend.PlacementBacktest, error) {
	s := e.store
	if progress == nil {
		progress = io.Discard
	}
	all, err := s.Pools(ctx, f)
	if err != nil {
		return recommend.PlacementBacktest{}, err
	}
	byRes := map[string][]storage.PoolInfo{}
	for _, p := range all {
		if t, ok := gpuType(p); ok {
			p.Type = t
			byRes[p.Resolution] = append(byRes[p.Resolution], p)
		}
	}
	if resolution == "" {
		resolution = market.ResolutionDaily
		if len(byRes[resolution]) == 0 {
			resolution = market.ResolutionChange
		}
	}
	cands := byRes[resolution]
	if len(cands) == 0 {
		return recommend.PlacementBacktest{}, fmt.Errorf("no stored GPU pools of resolution %q", resolution)
	}
	var first, end time.Time
	for _, p := range cands {
		if first.IsZero() || p.First.Before(first) {
			first = p.First
		}
		if p.Last.After(end) {
			end = p.Last
		}
	}
	from := end.Add(-placementWeeks * placementEvery)
	if earliest := first.Add(placementMinHistory); from.Before(earliest) {
		from = earliest
	}
	// Origins at midnight UTC, so a daily bar is either wholly known or not.
	if t := from.Truncate(day); t.Before(from) {
		from = t.Add(day)
	}
	if from.Add(run).After(end) {
		return recommend.PlacementBacktest{}, fmt.Errorf("the %s pools' history (%s .. %s) is too short for %s of history and a %s run",
			resolution, first.Format(time.DateOnly), end.Format(time.DateOnly), placementMinHistory, run)
	}
	fmt.Fprintf(progress, "backtest placement: loading %d %s GPU pools\n", len(cands), resolution)

	type odKey struct{ cloud, region, typ string }
	onDemand := map[odKey][]market.OnDemandPrice{}
	pools := make([]recommend.BacktestPool, 0, len(cands))
	start := time.Now()
	for i, p := range cands {
		pts, err := s.SeriesOf(ctx, p.PoolKey, resolution, time.Time{}, time.Time{})
		if err != nil {
			return recommend.PlacementBacktest{}, err
		}
		k := odKey{p.Cloud, p.Region, p.InstanceType}
		ods, seen := onDemand[k]
		if !seen {
			od, err := s.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, "", time.Time{})
			switch {
			case err == nil:
				// The store answers the newest price only; dated zero it is
				// the price in force at every origin.
				od.Date = time.Time{}
				ods = []market.OnDemandPrice{od}
			case !errors.Is(err, storage.ErrNotFound):
				return recommend.PlacementBacktest{}, err
			}
			onDemand[k] = ods
		}
		pools = append(pools, recommend.BacktestPool{Key: p.PoolKey, Type: p.Type, Points: pts, OnDemand: ods})
		if (i+1)%100 == 0 {
			fmt.Fprintf(progress, "backtest placement: loaded %d/%d pools (%s)\n", i+1, len(cands), time.Since(start).Round(time.Second))
		}
	}
	adv, err := s.AdvisorRows(ctx, "", time.Time{})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return recommend.PlacementBacktest{}, err
	}
	cfg := recommend.PlacementBacktestConfig{
		Workloads:  placementWorkloads(run),
		Resolution: resolution,
		From:       from,
		Every:      placementEvery,
		MinHistory: placementMinHistory,
		End:        end,
		Forecast:   recommend.ForecastRunPrice(resolution, ""),
		Hazard:     recommend.AdvisorHazardModel(adv, hazard.Options{}),
	}
	fmt.Fprintf(progress, "backtest placement: weekly origins from %s, %s runs, %d workloads\n", from.Format(time.DateOnly), run, len(cfg.Workloads))
	res, err := recommend.BacktestPlacement(pools, cfg)
	if err != nil {
		return recommend.PlacementBacktest{}, err
	}
	fmt.Fprintf(progress, "backtest placement: %d origins, %d runs (%s)\n", res.Origins, len(res.Runs), time.Since(start).Round(time.Second))
	res.Notes = append(res.Notes,
		"the newest stored on-demand price of each region and type is applied at every origin",
		"the hazard prior uses the newest stored Spot Advisor snapshot of each region at every origin")
	return res, nil
}

// BacktestInterruptions evaluates the hazard forecast on every stored
// trace: the events of one pool from one source (a trace file or the
// user's EventBridge feed), with the advisor row in effect before the
// trace began. Preemption traces and event feeds are evaluated together;
// availability traces (capacity counts of nodes that could be had) on
// their own, a capacity drop read as losing the nodes: they measure
// something else, and their dynamics would tune the parameters the
// preemption forecasts use. Either result is nil when there is no such
// trace.
func (e *Engine) BacktestInterruptions(ctx context.Context, maxTraces int, progress io.Writer) (pre, avail *hazard.Evaluation, err error) {
	s := e.store
	if progress == nil {
		progress = io.Discard
	}
	events, err := s.Events(ctx, storage.EventFilter{})
	if err != nil {
		return nil, nil, err
	}
	// One trace per pool, source and observation span: trace files that
	// share a base name (the same zone and type observed in different
	// months) split at an observation-start that follows an
	// observation-end.
	type traceKey struct {
		pool   market.PoolKey
		source string
	}
	type span struct {
		events   []market.Event
		ended    bool
		capacity bool
	}
	open := map[traceKey]*span{}
	var spans []*span
	for _, ev := range events {
		k := traceKey{market.PoolKey{Cloud: ev.Cloud, Region: ev.Region, Zone: ev.Zone, InstanceType: ev.InstanceType}, ev.Source}
		sp := open[k]
		if sp == nil || (sp.ended && ev.Kind == market.EventObservationStart) {
			sp = &span{}
			open[k] = sp
			spans = append(spans, sp)
		}
		sp.events = append(sp.events, ev)
		sp.ended = sp.ended || ev.Kind == market.EventObservationEnd
		sp.capacity = sp.capacity || ev.Kind == market.EventCapacity
	}
	var preTraces, availTraces []hazard.Trace
	for _, sp := range spans {
		first := sp.events[0]
		if first.InstanceType == "" {
			continue
		}
		pool := market.PoolKey{Cloud: first.Cloud, Region: first.Region, Zone: first.Zone, InstanceType: first.InstanceType}
		tr := hazard.Trace{Pool: pool, Events: sp.events, Set: traceSet(first)}
		if a, err := s.Advisor(ctx, pool.Region, "Linux", pool.InstanceType, first.Time); err == nil {
			tr.Advisor = &a
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, nil, err
		}
		if sp.capacity {
			availTraces = append(availTraces, tr)
		} else {
			preTraces = append(preTraces, tr)
		}
	}
	run := func(kind string, traces []hazard.Trace) (*hazard.Evaluation, error) {
		if len(traces) == 0 {
			return nil, nil
		}
		if maxTraces > 0 && len(traces) > maxTraces {
			// Every trace costs one forecast per hour observed; a long simulated
			// fleet would take minutes. An even stride keeps zones and types mixed.
			fmt.Fprintf(progress, "backtest interruptions: evaluating %d of %d %s traces (--max-traces)\n", maxTraces, len(traces), kind)
			picked := make([]hazard.Trace, 0, maxTraces)
			for i := 0; i < maxTraces; i++ {
				picked = append(picked, traces[i*len(traces)/maxTraces])
			}
			traces = picked
		}
		start := time.Now()
		ev, err := hazard.EvaluateTraces(traces, hazard.EvalOptions{Progress: func(done, total int) {
			fmt.Fprintf(progress, "backtest interruptions (%s): %d/%d forecasts (%s)\n", kind, done, total, time.Since(start).Round(time.Second))
		}})
		if errors.Is(err, hazard.ErrNoForecasts) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s traces: %w", kind, err)
		}
		return &ev, nil
	}
	if pre, err = run("preemption", preTraces); err != nil {
		return nil, nil, err
	}
	if avail, err = run("availability", availTraces); err != nil {
		return nil, nil, err
	}
	return pre, avail, nil
}

// traceSet names the set a trace belongs to: a skypilot trace's folder
// (its event ids are "skypilot:<folder>/<file>#<sample>"), else its
// source.
func traceSet(e market.Event) string {
	if id, ok := strings.CutPrefix(e.EventID, "skypilot:"); ok {
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			return "skypilot " + id[:i]
		}
	}
	return e.Source
}

// SeriesStore is what BacktestPrices reads; *storage.Store implements it.
type SeriesStore interface {
	Pools(ctx context.Context, f storage.PoolFilter) ([]storage.PoolInfo, error)
	SeriesOf(ctx context.Context, key market.PoolKey, resolution string, from, to time.Time) ([]market.PricePoint, error)
}

// BacktestPrices runs forecast.BacktestSeries over the stored pools
// matching filter (all pools for a zero filter): each series is read once, put on its
// grid (change series extended to the newest stored point, since a pool
// keeps its price until it changes), and evaluated at every origin.
func BacktestPrices(ctx context.Context, st SeriesStore, filter storage.PoolFilter, opts forecast.BacktestOptions, progress io.Writer) (forecast.BacktestReport, error) {
	if progress == nil {
		progress = io.Discard
	}
	pools, err := st.Pools(ctx, filter)
	if err != nil {
		return forecast.BacktestReport{}, fmt.Errorf("backtest: %w", err)
	}
	if len(pools) == 0 {
		return forecast.BacktestReport{}, fmt.Errorf("backtest: no pools match: %w", storage.ErrNotFound)
	}
	var end time.Time
	for _, p := range pools {
		if p.Resolution == market.ResolutionChange && p.Last.After(end) {
			end = p.Last
		}
	}
	start := time.Now()
	var series []forecast.Series
	for i, p := range pools {
		if err := ctx.Err(); err != nil {
			return forecast.BacktestReport{}, err
		}
		if p.Points == 0 {
			continue
		}
		pts, err := st.SeriesOf(ctx, p.PoolKey, p.Resolution, time.Time{}, time.Time{})
		if err != nil {
			return forecast.BacktestReport{}, fmt.Errorf("backtest: %w", err)
		}
		gEnd := time.Time{}
		if p.Resolution == market.ResolutionChange {
			gEnd = end
		}
		g, err := forecast.ToGrid(pts, forecast.StepFor(p.Resolution), gEnd)
		if errors.Is(err, forecast.ErrNoData) {
			continue // only NaN or non-positive prices: nothing to score
		}
		if err != nil {
			return forecast.BacktestReport{}, fmt.Errorf("backtest %s: %w", p.PoolKey, err)
		}
		series = append(series, forecast.Series{Key: p.PoolKey, Resolution: p.Resolution, Grid: g})
		if (i+1)%1000 == 0 {
			fmt.Fprintf(progress, "backtest: read %d/%d series, %.1fs\n", i+1, len(pools), time.Since(start).Seconds())
		}
	}
	fmt.Fprintf(progress, "backtest: read %d series in %.1fs\n", len(series), time.Since(start).Seconds())
	return forecast.BacktestSeries(ctx, series, opts, progress)
}
