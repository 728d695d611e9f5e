package forecast

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// simStore opens an in-memory store holding hourly random walks for
// three zones × two types and returns it with the keys.
func simStore(t *testing.T, hours int) (*storage.Store, []market.PoolKey) {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, ":memory:", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rng := rand.New(rand.NewPCG(30, 30))
	var keys []market.PoolKey
	for _, typ := range []string{"m5.large", "m5.xlarge"} {
		for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			keys = append(keys, market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: z, InstanceType: typ, Product: "Linux/UNIX"})
		}
	}
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		for _, k := range keys {
			y := randomWalk(rng, hours, 0.01)
			for i, v := range y {
				p := market.PricePoint{Pool: k, Time: t0.Add(time.Duration(i) * time.Hour), Price: math.Exp(v), Source: market.SourceSimulated, FetchedAt: t0}
				if err := w.AddPrice(p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, keys
}

func addPoint(t *testing.T, st *storage.Store, k market.PoolKey, at time.Time, price float64) {
	t.Helper()
	_, err := st.Import(context.Background(), storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		return w.AddPrice(market.PricePoint{Pool: k, Time: at, Price: price, Source: market.SourceSimulated, FetchedAt: at})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestForecasterCachesAndRefits(t *testing.T) {
	ctx := context.Background()
	st, keys := simStore(t, 24*30)
	clock := t0.Add(1000 * time.Hour)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	f := NewForecaster(st, Options{Now: now})
	a, err := f.Forecast(ctx, keys[0], 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, a)
	if a.Model != ModelAuto || a.Source != market.SourceSimulated || a.Pool != keys[0] {
		t.Errorf("forecast model %q source %q pool %v", a.Model, a.Source, a.Pool)
	}
	// Unchanged series: the cached forecast, not a refit (Generated is
	// the first call's clock reading).
	b, err := f.Forecast(ctx, keys[0], 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Generated.Equal(a.Generated) || b.FitSeconds != a.FitSeconds {
		t.Errorf("unchanged series refitted: generated %v vs %v", b.Generated, a.Generated)
	}
	// A forecast-cache miss on unchanged data reuses the group's residual
	// pool and gives the same distribution.
	clear(f.cache)
	if len(f.pools) != 1 {
		t.Fatalf("%d residual pools cached, want 1", len(f.pools))
	}
	b2, err := f.Forecast(ctx, keys[0], 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.pools) != 1 || b2.Steps[23].Quantiles[0] != a.Steps[23].Quantiles[0] || b2.Steps[23].ProbRise != a.Steps[23].ProbRise {
		t.Errorf("refit on unchanged data: %d pools, q0.025 %v vs %v", len(f.pools), b2.Steps[23].Quantiles[0], a.Steps[23].Quantiles[0])
	}
	// A new point: refit, reusing the selection.
	last := a.Origin.Add(time.Hour)
	addPoint(t, st, keys[0], last, a.LastPrice*1.01)
	c, err := f.Forecast(ctx, keys[0], 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated.Equal(a.Generated) || !c.Origin.Equal(last) || c.Chosen != a.Chosen || c.Model != ModelAuto {
		t.Errorf("after a new point: generated %v origin %v chosen %q model %q", c.Generated, c.Origin, c.Chosen, c.Model)
	}
	if len(f.pools) != 2 {
		t.Errorf("new data: %d residual pools cached, want a second one", len(f.pools))
	}
	if math.Abs(c.LastPrice-a.LastPrice*1.01) > 1e-9 {
		t.Errorf("last price %v, want %v", c.LastPrice, a.LastPrice*1.01)
	}
}

func TestForecasterRegionAndMissing(t *testing.T) {
	ctx := context.Background()
	st, keys := simStore(t, 24*20)
	f := NewForecaster(st, Options{})
	region := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "m5.large", Product: "Linux/UNIX"}
	r, err := f.Forecast(ctx, region, 6*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, r)
	// The region series is the mean of the zones' last prices.
	want := 0.0
	for _, k := range keys[:3] {
		z, err := f.Forecast(ctx, k, 6*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want += z.LastPrice / 3
	}
	if math.Abs(r.LastPrice-want) > 1e-9 {
		t.Errorf("region last price %v, want mean of zones %v", r.LastPrice, want)
	}
	_, err = f.Forecast(ctx, market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p9.huge"}, time.Hour)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("missing pool: %v, want ErrNotFound", err)
	}
	if _, err := f.Forecast(ctx, keys[0], 0); !errors.Is(err, ErrBadHorizon) {
		t.Errorf("zero horizon: %v", err)
	}
}

// TestBacktestThroughStore: the store-backed backtest equals the one on
// the same series read from memory.
func TestBacktestThroughStore(t *testing.T) {
	ctx := context.Background()
	st, _ := simStore(t, 24*45)
	origins := []time.Time{t0.Add(35 * 24 * time.Hour), t0.Add(40 * 24 * time.Hour)}
	opts := BacktestOptions{Horizon: 24 * time.Hour, Origins: origins, Models: []string{ModelNaive, ModelSES}, Now: func() time.Time { return t0 }}
	rep, err := Backtest(ctx, st, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Series != 6 {
		t.Fatalf("series %d, want 6", rep.Series)
	}
	m, _ := rep.Model(ModelNaive)
	if m.Forecasts != 12 {
		t.Errorf("naive forecasts %d, want 12", m.Forecasts)
	}
	for _, name := range []string{ModelNaive, ModelSeasonalNaive, ModelSES, ModelAuto, ModelNaivePooled} {
		if _, ok := rep.Model(name); !ok {
			t.Errorf("no %s row", name)
		}
	}
	if _, err := Backtest(ctx, st, BacktestOptions{Filter: storage.PoolFilter{InstanceType: "nope"}}, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("no pools: %v", err)
	}
}

// TestRealDailyBacktestThroughStore imports the daily OHLC file with the
// file ingester and backtests through the store (behind -realdata: the
// import takes a while).
func TestRealDailyBacktestThroughStore(t *testing.T) {
	if !*realData {
		t.Skip("needs -realdata")
	}
	dir := dataDir(t)
	ctx := context.Background()
	st, err := storage.Open(ctx, filepath.Join(t.TempDir(), "daily.duckdb"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := files.Import(ctx, st, []string{filepath.Join(dir, "aws", "spot-daily", "spot_daily_ohlc_until_2026-01-31.csv.gz")}, files.Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Backtest(ctx, st, BacktestOptions{Horizon: 7 * 24 * time.Hour, Origins: dailyOrigins()}, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	logTable(t, rep)
	checkTargets(t, rep)
}
