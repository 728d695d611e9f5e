package engine

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// DefaultRefitMaxAge is how old a persisted forecast may grow before a
// refit of changed pools fits it again anyway: a 24 h forecast made a
// day ago speaks only of the past.
const DefaultRefitMaxAge = 6 * time.Hour

// groupPoolMembers bounds the series a sibling group's residual pool is
// built from (as many as a pool and its eight nearest siblings).
const groupPoolMembers = 9

// RefitOptions tune Refit.
type RefitOptions struct {
	// Changed fits only the pools whose prices changed since their
	// persisted forecast or whose forecast is older than MaxAge, and
	// recomputes every interruption forecast when the interruption
	// signals (events, advisor, on-demand prices, placement scores)
	// changed; the other pools keep their forecasts. false fits every
	// pool.
	Changed bool
	// MaxAge (0: DefaultRefitMaxAge).
	MaxAge time.Duration
	// Week are the pools that also get the WeekHorizon price forecast
	// (the watched pools).
	Week []market.PoolKey
	// Workers fitting pools at once (0: GOMAXPROCS).
	Workers int
	// Progress, if set, gets a line every few seconds.
	Progress io.Writer
}

// RefitResult says what a refit did.
type RefitResult struct {
	RunID int64 `json:"run_id"`
	// AsOf is the forecasts' origin: no data after it was read.
	AsOf time.Time `json:"as_of"`
	// Pools counts the store's pools with prices; Refit those fitted by
	// this run, Kept those whose forecasts were current, Failed those that
	// could not be fitted (Failures says why, for the first 100).
	Pools          int           `json:"pools"`
	Refit          int           `json:"refit"`
	Kept           int           `json:"kept"`
	Failed         int           `json:"failed"`
	Seconds        float64       `json:"seconds"`
	PoolsPerSecond float64       `json:"pools_per_second"`
	Failures       []PoolFailure `json:"failures,omitempty"`
}

// PoolFailure is a pool a refit could not fit, and why.
type PoolFailure struct {
	Pool       market.PoolKey `json:"pool"`
	Resolution string         `json:"resolution"`
	Error      string         `json:"error"`
}

const maxFailuresListed = 100

// refitFault, when set (by tests only), is called before a pool is
// fitted: a panic there is a model failing on that pool.
var refitFault func(p storage.PoolInfo)

// What a refit says of its models (forecast_runs.price_model and
// hazard_model).
const (
	refitPriceModel  = "auto, chosen per sibling group (cloud, instance type, resolution: every zone and product) by rolling-origin validation on its longest series; residual pool shared by the group"
	refitHazardModel = "hazard.Estimate: advisor prior x placement score x price pressure, updated by the pool's and its siblings' events, weekly profile per cloud"
)

// refitJob is a sibling group to fit, or pools whose interruption
// forecast alone is recomputed.
type refitJob struct {
	members    []refitPool
	hazardOnly bool
}

type refitPool struct {
	info storage.PoolInfo
	pts  []market.PricePoint
	week bool
	prev *servedPool // for hazardOnly
}

// Refit fits every pool of the store (or, with Changed, those whose data
// changed) in one streamed scan of the prices, one sibling group at a
// time on Workers goroutines: the 24 h price forecast (the 168 h one too
// for Week pools) and the coming week's interruption forecast. It writes
// them in one transaction (a refit that fails or is killed before its
// commit leaves the previous forecasts served) and then serves them. A
// pool that cannot be fitted is recorded with the reason; the others
// finish. Only one refit runs at a time.
func (e *Engine) Refit(ctx context.Context, opts RefitOptions) (RefitResult, error) {
	e.refitMu.Lock()
	defer e.refitMu.Unlock()
	started := time.Now()
	now := e.now().UTC()
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultRefitMaxAge
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	res := RefitResult{AsOf: now}

	pools, err := e.store.Pools(ctx, storage.PoolFilter{})
	if err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	inputs, err := e.hazardInputs(ctx)
	if err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	prev := e.served.Load()
	if opts.Changed && prev == nil {
		if _, err := e.Load(ctx); err != nil {
			return res, fmt.Errorf("refit: %w", err)
		}
		prev = e.served.Load()
	}
	week := weekPools(pools, opts.Week)

	// Which pools to fit, and which only need a new interruption forecast.
	byID := make(map[int32]storage.PoolInfo, len(pools))
	var fit []int32
	var hazardOnly []refitPool
	var kept []*servedPool
	clouds := map[string]bool{}
	for _, p := range pools {
		if p.Points == 0 {
			continue
		}
		res.Pools++
		byID[int32(p.ID)] = p
		var old *servedPool
		if prev != nil {
			old = prev.byID[p.ID]
		}
		switch {
		case !opts.Changed || old == nil || old.row.Price == nil || old.row.Hazard == nil ||
			old.row.Points != p.Points || !old.row.LastTS.Equal(p.Last) || old.row.LastPrice != p.LastPrice ||
			now.Sub(old.row.Generated) > opts.MaxAge || (week[p.ID] && old.row.Week == nil):
			fit = append(fit, int32(p.ID))
			clouds[p.Cloud] = true
		case prev.run.Inputs != inputs:
			hazardOnly = append(hazardOnly, refitPool{info: p, prev: old})
			clouds[p.Cloud] = true
		default:
			kept = append(kept, old)
		}
	}
	res.Kept = len(kept)
	fmt.Fprintf(progress, "refit: %d pools with prices: %d to fit, %d interruption forecasts to update, %d current\n",
		res.Pools, len(fit), len(hazardOnly), len(kept))

	batch := e.HazardBatch(now, hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel})
	if len(fit)+len(hazardOnly) > 0 {
		if err := batch.Preload(ctx, sortedKeys(clouds)); err != nil {
			return res, fmt.Errorf("refit: interruption signals: %w", err)
		}
	}

	// The scan feeds sibling groups to the workers; results come back on
	// out. The channels' small buffers bound the series held in memory.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan refitJob, opts.Workers)
	out := make(chan storage.PoolForecast, 64)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for _, r := range e.fitJob(ctx, j, now, batch) {
					done.Add(1)
					select {
					case out <- r:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	scanErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		scanErr <- e.scanGroups(ctx, fit, len(fit) == res.Pools, byID, week, now, jobs)
		for i := 0; i < len(hazardOnly); i += 64 {
			select {
			case jobs <- refitJob{members: hazardOnly[i:min(i+64, len(hazardOnly))], hazardOnly: true}:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	total := len(fit) + len(hazardOnly)
	rows := make([]storage.PoolForecast, 0, total)
	for collecting := true; collecting; {
		select {
		case r, ok := <-out:
			if !ok {
				collecting = false
				break
			}
			rows = append(rows, r)
		case <-tick.C:
			n := done.Load()
			fmt.Fprintf(progress, "refit: %d/%d pools, %.0f pools/s\n", n, total, float64(n)/time.Since(started).Seconds())
		}
	}
	if err := <-scanErr; err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}

	for _, r := range rows {
		if r.Error == "" {
			continue
		}
		res.Failed++
		if len(res.Failures) < maxFailuresListed {
			p := byID[r.PoolID]
			res.Failures = append(res.Failures, PoolFailure{Pool: p.PoolKey, Resolution: p.Resolution, Error: r.Error})
		}
	}
	res.Refit = len(rows) - res.Failed
	kind := "full"
	if opts.Changed {
		kind = "changed"
	}
	run := storage.ForecastRun{Started: started.UTC(), AsOf: now, Kind: kind, PriceModel: refitPriceModel, HazardModel: refitHazardModel,
		PriceHorizon: PrecomputedHorizon, HazardHorizon: DefaultInterruptionHorizon, Pools: int64(res.Pools),
		Refit: int64(res.Refit), Fails: int64(res.Failed), Inputs: inputs}
	run.Finished = time.Now().UTC()
	run.Seconds = run.Finished.Sub(started).Seconds()
	if run.ID, err = e.store.WriteForecastRun(ctx, run, rows); err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	res.RunID = run.ID

	set := newServed(run, len(kept)+len(rows))
	for _, sp := range kept {
		set.add(sp)
	}
	for _, r := range rows {
		r.RunID = run.ID
		set.add(&servedPool{info: byID[r.PoolID], row: r, asOf: now})
	}
	e.served.Store(set)
	res.Seconds = time.Since(started).Seconds()
	if res.Seconds > 0 {
		res.PoolsPerSecond = float64(len(rows)) / res.Seconds
	}
	return res, nil
}

// hazardInputs fingerprints the interruption signals: any new event,
// advisor row, on-demand price or placement score changes it.
func (e *Engine) hazardInputs(ctx context.Context) (string, error) {
	c, err := e.store.Counts(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("events=%d advisor=%d ondemand_prices=%d placement_scores=%d instance_types=%d",
		c["events"], c["advisor"], c["ondemand_prices"], c["placement_scores"], c["instance_types"]), nil
}

// weekPools resolves the watched keys to pool ids (a key without product
// takes Linux/UNIX, a pool with both series its change series).
func weekPools(pools []storage.PoolInfo, keys []market.PoolKey) map[int64]bool {
	out := map[int64]bool{}
	for _, k := range keys {
		if k.Cloud == "" {
			k.Cloud = market.AWS
		}
		var cands []storage.PoolInfo
		for _, p := range pools {
			if p.Cloud == k.Cloud && p.Region == k.Region && p.Zone == k.Zone && p.InstanceType == k.InstanceType && (k.Product == "" || p.Product == k.Product) {
				cands = append(cands, p)
			}
		}
		if best := bestPool(cands, k.Zone, ""); best != nil {
			out[best.ID] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// groupKey names a sibling group: the pools of one instance type in
// every zone and product, whose prices move alike.
type groupKey struct{ cloud, typ, resolution string }

// scanGroups streams the series of the pools to fit (all when all is
// set) and sends them to jobs one sibling group at a time.
func (e *Engine) scanGroups(ctx context.Context, ids []int32, all bool, byID map[int32]storage.PoolInfo, week map[int64]bool, now time.Time, jobs chan<- refitJob) error {
	if len(ids) == 0 {
		return nil
	}
	sc := storage.SeriesScan{ChangeFrom: now.Add(-history(market.ResolutionChange)), DailyFrom: now.Add(-history(market.ResolutionDaily)), To: now}
	if !all {
		sc.PoolIDs = ids
	}
	want := make(map[int32]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var cur []refitPool
	var curKey groupKey
	send := func() error {
		if len(cur) == 0 {
			return nil
		}
		select {
		case jobs <- refitJob{members: cur}:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur = nil
		return nil
	}
	err := e.store.ScanSeries(ctx, sc, func(ps storage.PoolSeries) error {
		p, ok := byID[ps.PoolID]
		if !ok || !want[ps.PoolID] {
			return nil
		}
		k := groupKey{p.Cloud, p.InstanceType, p.Resolution}
		if k != curKey {
			if err := send(); err != nil {
				return err
			}
			curKey = k
		}
		for i := range ps.Points {
			ps.Points[i].Pool = p.PoolKey
		}
		cur = append(cur, refitPool{info: p, pts: ps.Points, week: week[p.ID]})
		return nil
	})
	if err != nil {
		return err
	}
	return send()
}

// fitJob fits one sibling group (or updates interruption forecasts) and
// returns a row per pool; a pool that fails gets its reason in Error.
func (e *Engine) fitJob(ctx context.Context, j refitJob, now time.Time, batch *HazardBatch) []storage.PoolForecast {
	out := make([]storage.PoolForecast, 0, len(j.members))
	if j.hazardOnly {
		for _, m := range j.members {
			r := m.prev.row
			r.Generated = now
			r.Hazard, r.OnDemand, r.OnDemandSource, r.Error = e.fitHazard(ctx, batch, m.info, now, nil)
			out = append(out, r)
		}
		return out
	}
	g := newSiblingGroup(j.members, now)
	for _, m := range j.members {
		if ctx.Err() != nil {
			return out
		}
		out = append(out, e.fitPool(ctx, g, m, now, batch))
	}
	return out
}

// siblingGroup is what the pools of one cloud, instance type and
// resolution share: the residual pool their quantiles are calibrated on,
// the model chosen for them, and the dispersion of the type's
// interruptions.
type siblingGroup struct {
	resolution string
	asOf       time.Time
	sample     [][]market.PricePoint
	pool       *forecast.ResidualPool
	model      string
	note       string
	weekPool   *forecast.ResidualPool
	weekOnce   sync.Once
	// dispersion of the type's interruptions per clock hour, once the
	// first member's hazard estimated it (hazard.Estimate computes it
	// from the events of every pool of the type, the same for each
	// member); 0 until then.
	dispersion float64
	hasDisp    bool
}

func newSiblingGroup(members []refitPool, now time.Time) *siblingGroup {
	res := members[0].info.Resolution
	g := &siblingGroup{resolution: res, asOf: now.Truncate(forecast.StepFor(res))}
	// An even spread of the members with at least two points.
	var usable []int
	for i, m := range members {
		if len(m.pts) >= 2 {
			usable = append(usable, i)
		}
	}
	for k := range min(groupPoolMembers, len(usable)) {
		g.sample = append(g.sample, members[usable[k*len(usable)/min(groupPoolMembers, len(usable))]].pts)
	}
	opts := forecast.Options{AsOf: g.asOf}
	if len(g.sample) > 0 {
		if p, err := forecast.NewResidualPool(g.sample, res, PrecomputedHorizon, opts); err == nil {
			g.pool = p
		}
	}
	g.model, g.note = choosePriceModel(members, g, now)
	return g
}

// choosePriceModel picks the price model of a sibling group: "auto"'s
// choice (rolling-origin validation) on the group's longest series, with
// the group's residual pool. Every member is then fitted with it, which
// costs one selection per group instead of one per pool.
func choosePriceModel(members []refitPool, g *siblingGroup, now time.Time) (model, note string) {
	rep := members[0]
	for _, m := range members[1:] {
		if len(m.pts) > len(rep.pts) {
			rep = m
		}
	}
	f, err := forecast.ForecastSeries(rep.pts, rep.info.PoolKey, g.resolution, PrecomputedHorizon,
		forecast.Options{Model: forecast.ModelAuto, Pool: g.pool, AsOf: g.asOf, Now: func() time.Time { return now }})
	if err != nil || f.Chosen == "" {
		return forecast.ModelNaive, "auto: naive (the group's selection failed)"
	}
	loc := rep.info.Zone
	if loc == "" {
		loc = rep.info.Region
	}
	return f.Chosen, fmt.Sprintf("auto: %s, chosen for the %d pools of %s by rolling-origin validation on %s", f.Chosen, len(members), rep.info.InstanceType, loc)
}

// fitPool fits one pool's forecasts; a panic in a model is the pool's
// failure, not the refit's.
func (e *Engine) fitPool(ctx context.Context, g *siblingGroup, m refitPool, now time.Time, batch *HazardBatch) (row storage.PoolForecast) {
	p := m.info
	row = storage.PoolForecast{PoolID: int32(p.ID), Generated: now, Points: p.Points, FirstTS: p.First, LastTS: p.Last,
		LastPrice: p.LastPrice, Source: p.Source, Model: g.model}
	var errs []string
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, fmt.Sprintf("panic: %v", r))
			row.Price, row.Week = nil, nil
		}
		row.Error = strings.Join(errs, "; ")
	}()
	if len(m.pts) > 0 {
		row.DataFrom, row.DataUntil = m.pts[0].Time, m.pts[len(m.pts)-1].Time
	}
	if refitFault != nil {
		refitFault(p)
	}
	clock := func() time.Time { return now }
	f, err := forecast.ForecastSeries(m.pts, p.PoolKey, p.Resolution, PrecomputedHorizon,
		forecast.Options{Model: g.model, Pool: g.pool, AsOf: g.asOf, Now: clock})
	if err != nil {
		errs = append(errs, "price forecast: "+err.Error())
	} else {
		f.Model, f.Note = forecast.ModelAuto, strings.TrimSpace(g.note+"; "+f.Note)
		f.Note = strings.TrimSuffix(f.Note, ";")
		row.Price = encodePrice(f)
		row.Simulated = provenance(f.Source).Simulated
	}
	if m.week && err == nil {
		g.weekOnce.Do(func() {
			if len(g.sample) > 0 {
				if wp, err := forecast.NewResidualPool(g.sample, g.resolution, WeekHorizon, forecast.Options{AsOf: g.asOf}); err == nil {
					g.weekPool = wp
				}
			}
		})
		w, err := forecast.ForecastSeries(m.pts, p.PoolKey, p.Resolution, WeekHorizon,
			forecast.Options{Model: g.model, Pool: g.weekPool, AsOf: g.asOf, Now: clock})
		if err != nil {
			errs = append(errs, "week price forecast: "+err.Error())
		} else {
			w.Model, w.Note = forecast.ModelAuto, strings.TrimSuffix(strings.TrimSpace(g.note+"; "+w.Note), ";")
			row.Week = encodePrice(w)
		}
	}
	var herr string
	row.Hazard, row.OnDemand, row.OnDemandSource, herr = e.fitHazard(ctx, batch, p, now, g)
	if herr != "" {
		errs = append(errs, herr)
	}
	if row.Hazard != nil {
		if h, err := decodeHazard(row.Hazard, p.PoolKey); err == nil {
			row.Simulated = row.Simulated || provenance(h.Source).Simulated
		}
	}
	return row
}

// fitHazard forecasts a pool's interruption hazard for the coming week
// from the batch's preloaded signals; it returns the encoded forecast,
// the on-demand price it used and an error message ("" if none).
func (e *Engine) fitHazard(ctx context.Context, batch *HazardBatch, p storage.PoolInfo, now time.Time, g *siblingGroup) (doc []byte, od float64, odSource, errMsg string) {
	o := batch.bulk.onDemand(p.Cloud, p.Region, p.InstanceType, p.Product)
	in := HazardInput{Key: p.PoolKey, Resolution: p.Resolution, OnDemand: &o.Price}
	if !p.Last.After(now) {
		price := p.LastPrice
		in.SpotPrice = &price
	} else {
		// Prices stored after now (a clock behind the data): the hazard's
		// price pressure is read at now from the store.
		in.SpotPrice = nil
	}
	opts := batch.opts
	if g != nil && g.hasDisp {
		// The group's dispersion, estimated once (negative: Poisson).
		opts.Dispersion = g.dispersion
		if opts.Dispersion == 0 {
			opts.Dispersion = -1
		}
	}
	f, err := batch.forecastWith(ctx, in, opts)
	if err != nil {
		return nil, o.Price, o.Source, "interruption forecast: " + err.Error()
	}
	if g != nil && !g.hasDisp {
		g.dispersion, g.hasDisp = f.Dispersion, true
	}
	return encodeHazard(f), o.Price, o.Source, ""
}
