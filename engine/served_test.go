package engine

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// HasWeek tells whether the served forecasts hold the week forecast of
// every pool named, so that serve asks for no refit that would add none.
func TestHasWeek(t *testing.T) {
	st, e, _ := refitStore(t)
	other := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	withProduct := weekKey
	withProduct.Product = "Linux/UNIX"
	missing := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "x9.none", Product: "Linux/UNIX"}
	check := func(e *Engine, keys []market.PoolKey, want bool) {
		t.Helper()
		if got := e.HasWeek(keys); got != want {
			t.Errorf("HasWeek(%v) = %v, want %v", keys, got, want)
		}
	}
	check(e, nil, true)
	check(e, []market.PoolKey{weekKey}, true)
	check(e, []market.PoolKey{withProduct}, true)
	check(e, []market.PoolKey{weekKey, other}, false) // other was fitted for 24 h only
	check(e, []market.PoolKey{missing}, false)

	// A restart serves what the last run persisted.
	restarted := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	check(restarted, []market.PoolKey{weekKey}, false) // nothing loaded yet
	if _, err := restarted.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(restarted, []market.PoolKey{weekKey}, true)
	check(restarted, []market.PoolKey{other}, false)
}

// The persisted answers alone: what PriceForecast and
// InterruptionForecast answer from the persisted forecasts, and nothing
// they would compute.
func TestPersistedForecasts(t *testing.T) {
	ctx := context.Background()
	st, _, _ := refitStore(t)
	e := New(st, Options{Now: func() time.Time { return simStoreEnd.Add(30 * time.Minute) }})
	if _, err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ref := Ref(poolOf(t, st, "p3.2xlarge", "us-east-1a").PoolKey)

	got, ok := e.PersistedPriceForecast(ctx, PriceForecastRequest{Pool: ref, Horizon: 6 * time.Hour})
	want, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: ref, Horizon: 6 * time.Hour})
	if err != nil || !ok || !got.Precomputed || len(got.Steps) != 6 || !reflect.DeepEqual(got, want) {
		t.Fatalf("persisted price: ok %v, precomputed %v, %d steps, same as PriceForecast %v (%v)", ok, got.Precomputed, len(got.Steps), reflect.DeepEqual(got, want), err)
	}
	hz, ok := e.PersistedInterruptionForecast(ctx, InterruptionForecastRequest{Pool: ref})
	wantHz, err := e.InterruptionForecast(ctx, InterruptionForecastRequest{Pool: ref})
	if err != nil || !ok || !hz.Precomputed || !reflect.DeepEqual(hz, wantHz) {
		t.Fatalf("persisted interruption: ok %v, precomputed %v, same as InterruptionForecast %v (%v)", ok, hz.Precomputed, reflect.DeepEqual(hz, wantHz), err)
	}
	for name, req := range map[string]PriceForecastRequest{
		"as_of":        {Pool: ref, AsOf: simStoreEnd.Add(-24 * time.Hour)},
		"named model":  {Pool: ref, Model: "ets"},
		"past 24 h":    {Pool: ref, Horizon: 48 * time.Hour}, // not a week pool
		"bad horizon":  {Pool: ref, Horizon: -time.Hour},
		"unknown pool": {Pool: PoolRef{InstanceType: "x9.none", Zone: "us-east-1a"}},
	} {
		if _, ok := e.PersistedPriceForecast(ctx, req); ok {
			t.Errorf("%s: answered from the persisted forecasts", name)
		}
	}
	for name, req := range map[string]InterruptionForecastRequest{
		"as_of":   {Pool: ref, AsOf: simStoreEnd.Add(-24 * time.Hour)},
		"horizon": {Pool: ref, Horizon: 24 * time.Hour},
		"level":   {Pool: ref, Level: 0.5},
	} {
		if _, ok := e.PersistedInterruptionForecast(ctx, req); ok {
			t.Errorf("interruption %s: answered from the persisted forecasts", name)
		}
	}
	// A store never refitted holds none.
	fresh := New(simStore(t), Options{Now: func() time.Time { return simStoreEnd }})
	if _, err := fresh.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := fresh.PersistedPriceForecast(ctx, PriceForecastRequest{Pool: ref}); ok {
		t.Error("a store never refitted answered from persisted forecasts")
	}
}
