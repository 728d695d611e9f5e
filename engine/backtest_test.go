package engine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// walkStore opens an in-memory store holding hourly random walks for
// three zones × two types and returns it with the keys.
func walkStore(t *testing.T, hours int) (*storage.Store, []market.PoolKey) {
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

// TestBacktestThroughStore: the store-backed backtest equals the one on
// the same series read from memory.
func TestBacktestThroughStore(t *testing.T) {
	ctx := context.Background()
	st, _ := walkStore(t, 24*45)
	origins := []time.Time{t0.Add(35 * 24 * time.Hour), t0.Add(40 * 24 * time.Hour)}
	opts := forecast.BacktestOptions{Horizon: 24 * time.Hour, Origins: origins, Models: []string{forecast.ModelNaive, forecast.ModelSES}, Now: func() time.Time { return t0 }}
	rep, err := BacktestPrices(ctx, st, storage.PoolFilter{}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Series != 6 {
		t.Fatalf("series %d, want 6", rep.Series)
	}
	m, _ := rep.Model(forecast.ModelNaive)
	if m.Forecasts != 12 {
		t.Errorf("naive forecasts %d, want 12", m.Forecasts)
	}
	for _, name := range []string{forecast.ModelNaive, forecast.ModelSeasonalNaive, forecast.ModelSES, forecast.ModelAuto, forecast.ModelNaivePooled} {
		if _, ok := rep.Model(name); !ok {
			t.Errorf("no %s row", name)
		}
	}
	if _, err := BacktestPrices(ctx, st, storage.PoolFilter{InstanceType: "nope"}, forecast.BacktestOptions{}, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("no pools: %v", err)
	}
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// randomWalk returns n log prices from log(1) with N(0, sigma²) steps.
func randomWalk(rng *rand.Rand, n int, sigma float64) []float64 {
	y := make([]float64, n)
	for i := 1; i < n; i++ {
		y[i] = y[i-1] + sigma*rng.NormFloat64()
	}
	return y
}
