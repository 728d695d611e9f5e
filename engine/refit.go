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
	refitHazardModel = "hazard.Estimate: advisor prior (GCP, Azure: their own signals) x placement score (GCP: obtainability) x price pressure, updated by the pool's and its siblings' events, weekly profile per cloud"
)

// refitJob is a sibling group with pools to fit, or pools whose
// interruption forecast alone is recomputed.
type refitJob struct {
	members    []refitPool
	hazardOnly bool
}

type refitPool struct {
	info storage.PoolInfo
	pts  []market.PricePoint
	week bool
	// fit: the pool is fitted (the other members of its group only
	// inform the group's residual pool and model choice).
	fit  bool
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

	cat, err := e.store.PoolCatalog(ctx)
	if err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	inputs, data, err := e.dataVersion(ctx)
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
	week := weekPools(cat, opts.Week)
	if opts.Changed && prev.current(inputs+data, now.Add(-opts.MaxAge), week) {
		// Nothing was stored since the last run and no forecast is too
		// old: no scan at all (a restart's refit, an idle schedule).
		res.RunID, res.Pools, res.Kept = prev.run.ID, len(prev.pools), len(prev.pools)
		res.Seconds = time.Since(started).Seconds()
		fmt.Fprintf(progress, "refit: nothing changed since run %d\n", prev.run.ID)
		return res, nil
	}
	plan := &refitPlan{opts: opts, now: now, prev: prev, inputs: inputs, week: week,
		catalog: make(map[int32]storage.PoolInfo, len(cat)), infos: make(map[int32]storage.PoolInfo, len(cat))}
	clouds := map[string]bool{}
	for _, p := range cat {
		plan.catalog[int32(p.ID)] = p
		clouds[p.Cloud] = true
	}
	batch := e.HazardBatch(now, hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel})
	if err := batch.Preload(ctx, sortedKeys(clouds)); err != nil {
		return res, fmt.Errorf("refit: interruption signals: %w", err)
	}

	// The scan feeds sibling groups to the workers; results come back on
	// out. The channels' small buffers bound the series held in memory.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan refitJob, opts.Workers)
	out := make(chan storage.PoolForecast, 64)
	var done, queued atomic.Int64
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
		scanErr <- e.scanGroups(ctx, plan, jobs, &queued)
	}()
	go func() { wg.Wait(); close(out) }()

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	var rows []storage.PoolForecast
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
			fmt.Fprintf(progress, "refit: %d pools read, %d fitted of %d to fit, %.0f pools/s\n",
				plan.read.Load(), n, queued.Load(), float64(n)/time.Since(started).Seconds())
		}
	}
	if err := <-scanErr; err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	res.Pools, res.Kept = int(plan.read.Load()), len(plan.kept)

	for _, r := range rows {
		if r.Error == "" {
			continue
		}
		res.Failed++
		if len(res.Failures) < maxFailuresListed {
			p := plan.infos[r.PoolID]
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
		Refit: int64(res.Refit), Fails: int64(res.Failed), Inputs: inputs + data}
	run.Finished = time.Now().UTC()
	run.Seconds = run.Finished.Sub(started).Seconds()
	if run.ID, err = e.store.WriteForecastRun(ctx, run, rows); err != nil {
		return res, fmt.Errorf("refit: %w", err)
	}
	res.RunID = run.ID

	set := newServed(run, len(plan.kept)+len(rows))
	for _, sp := range plan.kept {
		set.add(sp)
	}
	for _, r := range rows {
		r.RunID = run.ID
		set.add(&servedPool{info: plan.infos[r.PoolID], row: r, asOf: now})
	}
	e.served.Store(set)
	res.Seconds = time.Since(started).Seconds()
	if res.Seconds > 0 {
		res.PoolsPerSecond = float64(len(rows)) / res.Seconds
	}
	fmt.Fprintf(progress, "refit: run %d: %d pools, %d fitted, %d kept, %d failed in %.1fs\n", run.ID, res.Pools, res.Refit, res.Kept, res.Failed, res.Seconds)
	return res, nil
}

// refitPlan is what a refit decides pool by pool as the scan reads them.
type refitPlan struct {
	opts    RefitOptions
	now     time.Time
	prev    *served
	inputs  string // the interruption signals' version
	week    map[int64]bool
	catalog map[int32]storage.PoolInfo // without statistics
	// Filled by the scan (one goroutine), read after it:
	infos map[int32]storage.PoolInfo // with the statistics read
	kept  []*servedPool
	read  atomic.Int64
}

// decide says whether a pool is fitted, only gets a new interruption
// forecast (the signals changed), or keeps its persisted forecasts.
func (pl *refitPlan) decide(p storage.PoolInfo) (fit, hazardOnly bool, old *servedPool) {
	if pl.prev != nil {
		old = pl.prev.byID[p.ID]
	}
	switch {
	case !pl.opts.Changed || old == nil || old.row.Price == nil || old.row.Hazard == nil ||
		old.row.Points != p.Points || !old.row.LastTS.Equal(p.Last) || old.row.LastPrice != p.LastPrice ||
		pl.now.Sub(old.row.Generated) > pl.opts.MaxAge || (pl.week[p.ID] && old.row.Week == nil):
		return true, false, old
	case !strings.HasPrefix(pl.prev.run.Inputs, pl.inputs):
		return false, true, old
	}
	return false, false, old
}

// dataVersion fingerprints the store by its row counts (every table only
// grows): inputs changes with any new event, advisor row, on-demand
// price, placement score, capacity signal or zone ID (the interruption
// signals), data with any new price or pool. A run stores inputs+data.
func (e *Engine) dataVersion(ctx context.Context) (inputs, data string, err error) {
	c, err := e.store.Counts(ctx)
	if err != nil {
		return "", "", err
	}
	inputs = fmt.Sprintf("events=%d advisor=%d ondemand_prices=%d placement_scores=%d instance_types=%d capacity_signals=%d zone_ids=%d;",
		c["events"], c["advisor"], c["ondemand_prices"], c["placement_scores"], c["instance_types"], c["capacity_signals"], c["zone_ids"])
	data = fmt.Sprintf(" prices=%d pools=%d", c["prices"], c["pools"])
	return inputs, data, nil
}

// current says whether the served set needs no refit: its newest run saw
// the store as it is, every forecast was made after oldest, and every
// week pool has its week.
func (s *served) current(version string, oldest time.Time, week map[int64]bool) bool {
	if s == nil || s.run.ID == 0 || s.run.Inputs != version {
		return false
	}
	for _, p := range s.pools {
		if p.row.Generated.Before(oldest) || p.row.Price == nil || p.row.Hazard == nil {
			return false
		}
	}
	for id := range week {
		if p, ok := s.byID[id]; !ok || p.row.Week == nil {
			return false
		}
	}
	return true
}

// weekPools resolves the watched keys to pool ids among the catalogue's
// pools (a key without product prefers Linux/UNIX, a pool with both
// series its change series).
func weekPools(pools []storage.PoolInfo, keys []market.PoolKey) map[int64]bool {
	out := map[int64]bool{}
	for _, k := range keys {
		if k.Cloud == "" {
			k.Cloud = market.AWS
		}
		var best *storage.PoolInfo
		for i, p := range pools {
			if p.Cloud == k.Cloud && p.Region == k.Region && p.Zone == k.Zone && p.InstanceType == k.InstanceType &&
				(k.Product == "" || p.Product == k.Product) && (best == nil || poolRank(p) < poolRank(*best)) {
				best = &pools[i]
			}
		}
		if best != nil {
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

// scanGroups streams every pool's series and statistics, decides what
// each needs, and sends the sibling groups with a pool to fit to jobs
// (with every member, for the group's residual pool and model choice),
// and the pools needing only a new interruption forecast in batches.
func (e *Engine) scanGroups(ctx context.Context, pl *refitPlan, jobs chan<- refitJob, queued *atomic.Int64) error {
	sc := storage.SeriesScan{ChangeFrom: pl.now.Add(-history(market.ResolutionChange)), DailyFrom: pl.now.Add(-history(market.ResolutionDaily)), To: pl.now}
	var cur []refitPool
	var hazards []refitPool
	curGroup, toFit := int64(-1), 0
	send := func(j refitJob) error {
		select {
		case jobs <- j:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush := func() error {
		if toFit > 0 {
			queued.Add(int64(toFit))
			if err := send(refitJob{members: cur}); err != nil {
				return err
			}
		}
		cur, toFit = nil, 0
		return nil
	}
	err := e.store.ScanSeries(ctx, sc, func(ps storage.PoolSeries) error {
		p, ok := pl.catalog[ps.PoolID]
		if !ok || ps.Count == 0 {
			return nil // a pool added since the catalogue was read: the next refit
		}
		if pts, dropped := plausiblePoints(ps.Points); dropped > 0 {
			// Points imported before the import's bounds: fit the rest.
			e.log.Warn("implausible stored prices left out of a refit", "pool", p.PoolKey.String(), "points", dropped)
			ps.Points, ps.LastPrice = pts, 0
			if len(pts) > 0 {
				ps.LastPrice = pts[len(pts)-1].Price
			}
		}
		p.Points, p.First, p.Last, p.LastPrice, p.Source = ps.Count, ps.First, ps.Last, ps.LastPrice, ps.Source
		pl.infos[ps.PoolID] = p
		pl.read.Add(1)
		if ps.Group != curGroup {
			if err := flush(); err != nil {
				return err
			}
			curGroup = ps.Group
		}
		for i := range ps.Points {
			ps.Points[i].Pool = p.PoolKey
		}
		fit, hazardOnly, old := pl.decide(p)
		cur = append(cur, refitPool{info: p, pts: ps.Points, week: pl.week[p.ID], fit: fit})
		switch {
		case fit:
			toFit++
		case hazardOnly:
			hazards = append(hazards, refitPool{info: p, prev: old})
			if len(hazards) == 64 {
				queued.Add(64)
				if err := send(refitJob{members: hazards, hazardOnly: true}); err != nil {
					return err
				}
				hazards = nil
			}
		default:
			pl.kept = append(pl.kept, old)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if len(hazards) > 0 {
		queued.Add(int64(len(hazards)))
		return send(refitJob{members: hazards, hazardOnly: true})
	}
	return nil
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
		if m.fit {
			out = append(out, e.fitPool(ctx, g, m, now, batch))
		}
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
	// quiet holds the interruption forecasts of members without any
	// event of their type: hazard.Estimate is then a function of the
	// prior's signals alone (advisor row, placement score, price
	// pressure) and the profile, so members sharing them share it.
	quiet map[quietKey]hazard.Forecast
}

// quietKey is what an interruption forecast without events rests on.
type quietKey struct {
	advisor     market.AdvisorRow
	hasAdvisor  bool
	score       int
	scoreScale  int
	scoreSource string
	hasScore    bool
	pressure    float64
	profile     *hazard.Profile
	// Another cloud's signals (hazard.Inputs.CloudPrior, Obtainability).
	cloudPrior  hazard.CloudPrior
	obtainable  market.CapacitySignal
	hasCloud    bool
	hasObtained bool
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
	inputs, err := batch.Inputs(ctx, in)
	if err != nil {
		return nil, o.Price, o.Source, "interruption forecast: " + err.Error()
	}
	var key quietKey
	quiet := g != nil && len(inputs.Events) == 0 && len(inputs.Siblings) == 0
	if quiet {
		key = quietKey{pressure: inputs.PricePressure, profile: inputs.Profile}
		if key.pressure == 0 && inputs.SpotPrice > 0 && inputs.OnDemand > 0 {
			key.pressure = inputs.SpotPrice / inputs.OnDemand
		}
		if inputs.Advisor != nil {
			key.advisor, key.hasAdvisor = *inputs.Advisor, true
		}
		if inputs.Score != nil {
			key.score, key.scoreScale, key.scoreSource, key.hasScore = inputs.Score.Score, inputs.Score.ScaleMax, inputs.Score.Source, true
		}
		if inputs.CloudPrior != nil {
			key.cloudPrior, key.hasCloud = *inputs.CloudPrior, true
		}
		if inputs.Obtainability != nil {
			key.obtainable, key.hasObtained = *inputs.Obtainability, true
		}
		if f, ok := g.quiet[key]; ok {
			f.Pool = inputs.Pool
			return encodeHazard(f), o.Price, o.Source, ""
		}
	}
	f, err := batch.estimate(ctx, inputs, opts)
	if err != nil {
		return nil, o.Price, o.Source, "interruption forecast: " + err.Error()
	}
	if g != nil && !g.hasDisp {
		g.dispersion, g.hasDisp = f.Dispersion, true
	}
	if quiet {
		if g.quiet == nil {
			g.quiet = map[quietKey]hazard.Forecast{}
		}
		g.quiet[key] = f
	}
	return encodeHazard(f), o.Price, o.Source, ""
}
