package forecast

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Store is what the forecaster and the backtest read; *storage.Store
// implements it.
type Store interface {
	Pools(ctx context.Context, f storage.PoolFilter) ([]storage.PoolInfo, error)
	SeriesOf(ctx context.Context, key market.PoolKey, resolution string, from, to time.Time) ([]market.PricePoint, error)
}

// maxSiblings bounds the related series read for one forecast.
const maxSiblings = 8

// Forecaster forecasts stored pools and keeps its forecasts in memory,
// keyed by pool, horizon and model: a series that has not changed since
// the last call gets the same forecast back without any fitting, and a
// series with new points reuses the model "auto" chose until RefitEvery
// has passed, so a refit is one model's fit instead of a selection.
// Safe for concurrent use.
type Forecaster struct {
	store Store
	opts  Options
	// RefitEvery is how much newer the data must be before "auto" selects
	// again (default 24h).
	RefitEvery time.Duration

	mu    sync.Mutex
	cache map[string]cached
	// pools caches residual pools by sibling group (the members' ids and
	// data, the resolution and the horizon): the pools of one instance
	// type in different zones share them.
	pools map[string]*ResidualPool
}

// maxCachedPools bounds the pool cache; it is emptied when full.
const maxCachedPools = 4096

type cached struct {
	hash     uint64
	fc       PriceForecast
	selected time.Time // origin at which auto last selected
}

// NewForecaster returns a Forecaster reading st with opts as the model
// options (opts.Model "" is "auto").
func NewForecaster(st Store, opts Options) *Forecaster {
	return &Forecaster{store: st, opts: opts, RefitEvery: 24 * time.Hour, cache: map[string]cached{}, pools: map[string]*ResidualPool{}}
}

// Forecast forecasts the pool key over horizon. A key without Zone asks
// for a region-level series: the stored region series (daily data) if
// there is one, else the mean of the region's zone series on the hourly
// grid. storage.ErrNotFound if nothing matches.
func (f *Forecaster) Forecast(ctx context.Context, key market.PoolKey, horizon time.Duration) (PriceForecast, error) {
	pool, zones, err := f.findPool(ctx, key)
	if err != nil {
		return PriceForecast{}, err
	}
	opts := f.opts
	model := opts.Model
	if model == "" {
		model = ModelAuto
	}
	ck := fmt.Sprintf("%s|%s|%d|%s", key, pool.Resolution, horizon, model)
	h := poolHash(append([]storage.PoolInfo{pool}, zones...))
	f.mu.Lock()
	prev, ok := f.cache[ck]
	f.mu.Unlock()
	if ok && prev.hash == h {
		return prev.fc, nil
	}

	var pts []market.PricePoint
	if len(zones) > 0 {
		pts, err = f.regionMean(ctx, zones)
	} else {
		pts, err = f.store.SeriesOf(ctx, pool.PoolKey, pool.Resolution, time.Time{}, time.Time{})
	}
	if err != nil {
		return PriceForecast{}, fmt.Errorf("forecast %s: %w", key, err)
	}
	if len(zones) == 0 {
		var infos []storage.PoolInfo
		opts.Siblings, infos = f.siblings(ctx, pool)
		if opts.Pool, err = f.groupPool(pool, infos, pts, horizon, opts); err != nil {
			return PriceForecast{}, fmt.Errorf("forecast %s: %w", key, err)
		}
	}
	reuse := ok && model == ModelAuto && prev.fc.Chosen != "" &&
		pool.Last.Sub(prev.selected) < f.RefitEvery
	if reuse {
		opts.Model = prev.fc.Chosen
	}
	fc, err := ForecastSeries(pts, key, pool.Resolution, horizon, opts)
	if err != nil {
		return PriceForecast{}, err
	}
	selected := fc.Origin
	if reuse {
		fc.Model = ModelAuto
		fc.ValidationMASE, fc.ValidationMAERatio = prev.fc.ValidationMASE, prev.fc.ValidationMAERatio
		fc.Note = strings.TrimSpace(fc.Note + " selection reused from " + prev.selected.Format(time.RFC3339))
		selected = prev.selected
	}
	f.mu.Lock()
	f.cache[ck] = cached{hash: h, fc: fc, selected: selected}
	f.mu.Unlock()
	return fc, nil
}

// groupPool returns the residual pool of the pool and its siblings,
// built once per group and data version.
func (f *Forecaster) groupPool(p storage.PoolInfo, sibs []storage.PoolInfo, pts []market.PricePoint, horizon time.Duration, opts Options) (*ResidualPool, error) {
	members := append([]storage.PoolInfo{p}, sibs...)
	sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	k := fmt.Sprintf("%s|%d|%x", p.Resolution, horizon, poolHash(members))
	f.mu.Lock()
	rp, ok := f.pools[k]
	f.mu.Unlock()
	if ok {
		return rp, nil
	}
	rp, err := NewResidualPool(append([][]market.PricePoint{pts}, opts.Siblings...), p.Resolution, horizon, opts)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if len(f.pools) >= maxCachedPools {
		clear(f.pools)
	}
	f.pools[k] = rp
	f.mu.Unlock()
	return rp, nil
}

// poolHash summarises what the store says about the pools' data; any
// new, late or corrected point changes a count, a time or a last price.
func poolHash(ps []storage.PoolInfo) uint64 {
	hs := fnv.New64a()
	for _, p := range ps {
		fmt.Fprintf(hs, "%d|%d|%d|%d|%x;", p.ID, p.Points, p.First.UnixNano(), p.Last.UnixNano(), math.Float64bits(p.LastPrice))
	}
	return hs.Sum64()
}

// findPool returns the pool of key, or for a region-level key without a
// stored region series, the region's zone pools (same type and product)
// to average.
func (f *Forecaster) findPool(ctx context.Context, key market.PoolKey) (storage.PoolInfo, []storage.PoolInfo, error) {
	if key.Cloud == "" {
		key.Cloud = market.AWS
	}
	ps, err := f.store.Pools(ctx, storage.PoolFilter{Cloud: key.Cloud, Region: key.Region, Zone: key.Zone, InstanceType: key.InstanceType, Product: key.Product})
	if err != nil {
		return storage.PoolInfo{}, nil, fmt.Errorf("forecast %s: %w", key, err)
	}
	var exact, zones []storage.PoolInfo
	for _, p := range ps {
		if p.Zone == key.Zone && p.Product == key.Product && p.Points > 0 {
			exact = append(exact, p)
		}
		if key.Zone == "" && p.Zone != "" && p.Product == key.Product && p.Points > 0 && p.Resolution == market.ResolutionChange {
			zones = append(zones, p)
		}
	}
	// Prefer the change series when a pool has both resolutions.
	for _, p := range exact {
		if p.Resolution == market.ResolutionChange {
			return p, nil, nil
		}
	}
	if len(exact) > 0 {
		return exact[0], nil, nil
	}
	if len(zones) > 0 {
		p := zones[0]
		p.Zone, p.ID = "", 0
		return p, zones, nil
	}
	return storage.PoolInfo{}, nil, fmt.Errorf("forecast %s: %w", key, storage.ErrNotFound)
}

// regionMean averages the zone series on the hourly grid from the first
// hour every zone has a price.
func (f *Forecaster) regionMean(ctx context.Context, zones []storage.PoolInfo) ([]market.PricePoint, error) {
	var end time.Time
	for _, z := range zones {
		if z.Last.After(end) {
			end = z.Last
		}
	}
	var grids []Grid
	for _, z := range zones {
		pts, err := f.store.SeriesOf(ctx, z.PoolKey, z.Resolution, time.Time{}, time.Time{})
		if err != nil {
			return nil, err
		}
		g, err := ToGrid(pts, time.Hour, end)
		if err != nil {
			continue
		}
		grids = append(grids, g)
	}
	if len(grids) == 0 {
		return nil, ErrNoData
	}
	start := grids[0].Start
	for _, g := range grids {
		if g.Start.After(start) {
			start = g.Start
		}
	}
	var out []market.PricePoint
	for t := start; !t.After(end); t = t.Add(time.Hour) {
		s := 0.0
		for _, g := range grids {
			s += g.Values[g.Index(t)]
		}
		out = append(out, market.PricePoint{Time: t, Price: s / float64(len(grids)), Source: grids[0].Source})
	}
	return out, nil
}

// siblings reads up to maxSiblings related series: the same type and
// product in the region's other zones (or other regions for region-level
// series), then the same family (the part of the type before the dot) in
// the same zone.
func (f *Forecaster) siblings(ctx context.Context, p storage.PoolInfo) ([][]market.PricePoint, []storage.PoolInfo) {
	var keys []storage.PoolInfo
	same, _ := f.store.Pools(ctx, storage.PoolFilter{Cloud: p.Cloud, InstanceType: p.InstanceType, Product: p.Product})
	for _, s := range same {
		if s.ID != p.ID && s.Resolution == p.Resolution && s.Product == p.Product && s.Points > 1 {
			keys = append(keys, s)
		}
	}
	if fam, _, ok := strings.Cut(p.InstanceType, "."); ok && len(keys) < maxSiblings {
		near, _ := f.store.Pools(ctx, storage.PoolFilter{Cloud: p.Cloud, Region: p.Region, Zone: p.Zone, Product: p.Product})
		for _, s := range near {
			if s.ID != p.ID && s.Zone == p.Zone && s.Resolution == p.Resolution && strings.HasPrefix(s.InstanceType, fam+".") && s.Points > 1 {
				keys = append(keys, s)
			}
		}
	}
	var out [][]market.PricePoint
	var infos []storage.PoolInfo
	for _, k := range keys[:min(len(keys), maxSiblings)] {
		pts, err := f.store.SeriesOf(ctx, k.PoolKey, k.Resolution, time.Time{}, time.Time{})
		if err == nil && len(pts) > 0 {
			out = append(out, pts)
			infos = append(infos, k)
		}
	}
	return out, infos
}

// Backtest runs BacktestSeries over the stored pools matching
// opts.Filter (all pools for a zero filter): each series is read once, put on its
// grid (change series extended to the newest stored point, since a pool
// keeps its price until it changes), and evaluated at every origin.
func Backtest(ctx context.Context, st Store, opts BacktestOptions, progress io.Writer) (BacktestReport, error) {
	if progress == nil {
		progress = io.Discard
	}
	pools, err := st.Pools(ctx, opts.Filter)
	if err != nil {
		return BacktestReport{}, fmt.Errorf("backtest: %w", err)
	}
	if len(pools) == 0 {
		return BacktestReport{}, fmt.Errorf("backtest: no pools match: %w", storage.ErrNotFound)
	}
	var end time.Time
	for _, p := range pools {
		if p.Resolution == market.ResolutionChange && p.Last.After(end) {
			end = p.Last
		}
	}
	start := time.Now()
	var series []Series
	for i, p := range pools {
		if err := ctx.Err(); err != nil {
			return BacktestReport{}, err
		}
		if p.Points == 0 {
			continue
		}
		pts, err := st.SeriesOf(ctx, p.PoolKey, p.Resolution, time.Time{}, time.Time{})
		if err != nil {
			return BacktestReport{}, fmt.Errorf("backtest: %w", err)
		}
		gEnd := time.Time{}
		if p.Resolution == market.ResolutionChange {
			gEnd = end
		}
		g, err := ToGrid(pts, StepFor(p.Resolution), gEnd)
		if errors.Is(err, ErrNoData) {
			continue // only NaN or non-positive prices: nothing to score
		}
		if err != nil {
			return BacktestReport{}, fmt.Errorf("backtest %s: %w", p.PoolKey, err)
		}
		series = append(series, Series{Key: p.PoolKey, Resolution: p.Resolution, Grid: g})
		if (i+1)%1000 == 0 {
			fmt.Fprintf(progress, "backtest: read %d/%d series, %.1fs\n", i+1, len(pools), time.Since(start).Seconds())
		}
	}
	fmt.Fprintf(progress, "backtest: read %d series in %.1fs\n", len(series), time.Since(start).Seconds())
	return BacktestSeries(ctx, series, opts, progress)
}
