package engine

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// refitStore is simStore refitted once, with its engine's clock at the
// end of the simulated market.
func refitStore(t *testing.T) (*storage.Store, *Engine, RefitResult) {
	t.Helper()
	st := simStore(t)
	e := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	res, err := e.Refit(context.Background(), RefitOptions{Week: []market.PoolKey{weekKey}})
	if err != nil {
		t.Fatal(err)
	}
	return st, e, res
}

// weekKey is the pool refitStore also fits a week ahead (a watched pool,
// named without its product).
var weekKey = market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1b", InstanceType: "g5.xlarge"}

func poolOf(t *testing.T, st *storage.Store, typ, zone string) storage.PoolInfo {
	t.Helper()
	ps, err := st.Pools(context.Background(), storage.PoolFilter{InstanceType: typ, Zone: zone})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no pool %s in %s: %v", typ, zone, err)
	}
	return ps[0]
}

// A refit fits every pool, persists the forecasts, and a new engine on
// the same store (a restart) serves them: the precomputed answers are the
// persisted ones, shorter horizons their first steps, and what was not
// precomputed is computed on demand.
func TestRefitPersistsAndServes(t *testing.T) {
	ctx := context.Background()
	st, e, res := refitStore(t)
	all, err := st.Pools(ctx, storage.PoolFilter{})
	if err != nil {
		t.Fatal(err)
	}
	withPrices := 0
	for _, p := range all {
		if p.Points > 0 {
			withPrices++
		}
	}
	if res.Pools != withPrices || res.Refit != withPrices || res.Failed != 0 || res.RunID != 1 {
		t.Fatalf("refit %+v, want all %d pools fitted in run 1", res, withPrices)
	}
	runs, err := st.ForecastRuns(ctx, 0)
	if err != nil || len(runs) != 1 || runs[0].Refit != int64(withPrices) || !runs[0].AsOf.Equal(simStoreEnd) || runs[0].Inputs == "" {
		t.Fatalf("runs %+v, %v", runs, err)
	}

	restarted := New(st, Options{Now: func() time.Time { return simStoreEnd.Add(30 * time.Minute) }})
	n, err := restarted.Load(ctx)
	if err != nil || n != withPrices {
		t.Fatalf("loaded %d forecasts (%v), want %d", n, err, withPrices)
	}
	p := poolOf(t, st, "p3.2xlarge", "us-east-1a")
	ref := Ref(p.PoolKey)
	day, err := restarted.PriceForecast(ctx, PriceForecastRequest{Pool: ref})
	if err != nil {
		t.Fatal(err)
	}
	if !day.Precomputed || len(day.Steps) != 24 || day.Model != forecast.ModelAuto || !strings.Contains(day.Note, "chosen for the") ||
		!day.Origin.Equal(simStoreEnd.Truncate(time.Hour)) || !day.ForecastGenerated.Equal(simStoreEnd) || !day.DataUntil.Equal(p.Last) ||
		day.LastPrice != p.LastPrice || !day.Simulated {
		t.Fatalf("served 24 h forecast: precomputed %v, %d steps, model %q (%q), origin %v, generated %v, data until %v (last %v), last price %v (%v)",
			day.Precomputed, len(day.Steps), day.Model, day.Note, day.Origin, day.ForecastGenerated, day.DataUntil, p.Last, day.LastPrice, p.LastPrice)
	}
	before, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: ref})
	if err != nil || !before.Precomputed || before.Steps[23].Quantiles[0] != day.Steps[23].Quantiles[0] || before.Steps[23].ProbRise != day.Steps[23].ProbRise {
		t.Fatalf("the restarted engine serves another forecast than the refitting one (%v)", err)
	}
	six, err := restarted.PriceForecast(ctx, PriceForecastRequest{Pool: ref, Horizon: 6 * time.Hour})
	if err != nil || !six.Precomputed || len(six.Steps) != 6 || six.Steps[5].Median != day.Steps[5].Median {
		t.Fatalf("6 h: %v, %d steps", err, len(six.Steps))
	}
	for _, req := range []PriceForecastRequest{
		{Pool: ref, Horizon: 48 * time.Hour},
		{Pool: ref, Model: forecast.ModelSES},
		{Pool: ref, AsOf: simStoreEnd.Add(-48 * time.Hour)},
	} {
		f, err := restarted.PriceForecast(ctx, req)
		if err != nil || f.Precomputed {
			t.Errorf("%+v: precomputed %v (%v), want computed on demand", req, f.Precomputed, err)
		}
	}

	// The watched pool's week is precomputed too; other pools' are not.
	week, err := restarted.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(weekKey), Horizon: WeekHorizon})
	if err != nil || !week.Precomputed || len(week.Steps) != 168 || week.Pool.Product != "Linux/UNIX" {
		t.Fatalf("watched pool's week: precomputed %v, %d steps, pool %s (%v)", week.Precomputed, len(week.Steps), week.Pool, err)
	}
	if f, err := restarted.PriceForecast(ctx, PriceForecastRequest{Pool: ref, Horizon: WeekHorizon}); err != nil || f.Precomputed {
		t.Errorf("an unwatched pool's week: precomputed %v (%v), want computed on demand", f.Precomputed, err)
	}

	hz, err := restarted.InterruptionForecast(ctx, InterruptionForecastRequest{Pool: ref})
	if err != nil || !hz.Precomputed || len(hz.Hours) != hazard.HoursPerWeek || !hz.Generated.Equal(simStoreEnd) {
		t.Fatalf("served interruption forecast: %v, precomputed %v, %d hours, generated %v", err, hz.Precomputed, len(hz.Hours), hz.Generated)
	}
	want, err := HazardForPool(ctx, st, p.PoolKey, simStoreEnd, hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(hz.ProbWithin24h-want.ProbWithin(24*time.Hour)) > 1e-9*want.ProbWithin(24*time.Hour) || hz.Events != want.Events {
		t.Errorf("persisted P(24h) %v with %d events, HazardForPool %v with %d", hz.ProbWithin24h, hz.Events, want.ProbWithin(24*time.Hour), want.Events)
	}
	// Every pool's persisted interruption forecast is HazardForPool's (the
	// refit shares the forecasts of pools without events whose signals
	// are the same, and a type's dispersion): every pool with -long, else
	// an eighth of them spread over the store (HazardForPool reads the
	// store once per pool).
	quiet, checked := 0, 0
	for i, q := range all {
		if q.Points == 0 || (!*long && i%8 != 0) {
			continue
		}
		checked++
		got, err := restarted.InterruptionForecast(ctx, InterruptionForecastRequest{Pool: Ref(q.PoolKey)})
		if err != nil {
			t.Fatal(err)
		}
		want, err := HazardForPool(ctx, st, q.PoolKey, simStoreEnd, hazard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Prior != want.Prior || got.Source != want.Source || got.Pool != q.PoolKey ||
			math.Abs(got.ProbWithin24h-want.ProbWithin(24*time.Hour)) > 1e-9*want.ProbWithin(24*time.Hour) {
			t.Errorf("%s: persisted %q %q P24 %v, HazardForPool %q %q %v", q.PoolKey, got.Prior, got.Source, got.ProbWithin24h,
				want.Prior, want.Source, want.ProbWithin(24*time.Hour))
		}
		if want.Events+want.SiblingEvents == 0 {
			quiet++
		}
	}
	if quiet == 0 || quiet == checked {
		t.Errorf("%d of %d pools checked have no events: the shared and the event-driven forecasts must both be tested", quiet, checked)
	}
	if f, err := restarted.InterruptionForecast(ctx, InterruptionForecastRequest{Pool: ref, Horizon: 24 * time.Hour}); err != nil || f.Precomputed {
		t.Errorf("24 h interruption forecast: precomputed %v (%v), want computed on demand", f.Precomputed, err)
	}

	// Placement from the persisted forecasts: no forecast computed.
	pl, err := restarted.Placement(ctx, PlacementRequest{GPUModel: "V100"})
	if err != nil || !pl.Precomputed || pl.Candidates == 0 || len(pl.Ranked) == 0 {
		t.Fatalf("placement: %v, precomputed %v, %d candidates", err, pl.Precomputed, pl.Candidates)
	}
	bid, err := restarted.Bid(ctx, BidRequest{Pool: ref, RunLength: 8 * time.Hour})
	if err != nil || !bid.Precomputed || bid.MaxPrice < p.LastPrice {
		t.Fatalf("bid: %v, precomputed %v, max price %v (price %v)", err, bid.Precomputed, bid.MaxPrice, p.LastPrice)
	}
}

// A refit of changed pools fits only those whose prices changed, and
// every interruption forecast when the interruption signals changed.
func TestRefitChanged(t *testing.T) {
	ctx := context.Background()
	st, e, first := refitStore(t)
	p := poolOf(t, st, "g5.xlarge", "us-east-1b")
	newPrice := p.LastPrice * 1.05
	_, err := st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		return w.AddPrice(market.PricePoint{Pool: p.PoolKey, Time: simStoreEnd.Add(-time.Minute), Price: newPrice,
			Source: market.SourceSimulated, FetchedAt: simStoreEnd})
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Refit(ctx, RefitOptions{Changed: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refit != 1 || res.Kept != first.Pools-1 || res.RunID != 2 {
		t.Fatalf("changed refit %+v, want the one changed pool fitted, %d kept", res, first.Pools-1)
	}
	f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(p.PoolKey)})
	if err != nil || !f.Precomputed || f.LastPrice != newPrice {
		t.Fatalf("after the changed refit: last price %v (%v), want %v", f.LastPrice, err, newPrice)
	}
	// Restarted, the engine serves the newest forecast of every pool
	// across the two runs.
	restarted := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	if n, err := restarted.Load(ctx); err != nil || n != first.Pools {
		t.Fatalf("loaded %d (%v), want %d", n, err, first.Pools)
	}
	if f, err := restarted.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(p.PoolKey)}); err != nil || f.LastPrice != newPrice {
		t.Fatalf("restarted: last price %v (%v), want %v", f.LastPrice, err, newPrice)
	}

	// Nothing changed: nothing fitted.
	if res, err := e.Refit(ctx, RefitOptions{Changed: true}); err != nil || res.Refit != 0 || res.Kept != first.Pools {
		t.Fatalf("idle refit %+v (%v)", res, err)
	}
	// A new event changes the interruption signals: every interruption
	// forecast is updated, no price forecast refitted.
	_, err = st.Import(ctx, storage.RunInfo{Kind: "events", Source: market.SourceEventBridge}, func(w *storage.Writer) error {
		return w.AddEvent(market.Event{Time: simStoreEnd.Add(-2 * time.Hour), Cloud: market.AWS, Region: p.Region, Zone: p.Zone,
			InstanceType: p.InstanceType, InstanceID: "i-0123", Kind: market.EventInterruptionWarning, Count: 1, EventID: "e1",
			Source: market.SourceEventBridge, FetchedAt: simStoreEnd})
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err = e.Refit(ctx, RefitOptions{Changed: true})
	if err != nil || res.Refit != first.Pools || res.Kept != 0 {
		t.Fatalf("refit after an event %+v (%v), want every interruption forecast updated", res, err)
	}
	if f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(p.PoolKey)}); err != nil || f.LastPrice != newPrice || !f.Precomputed {
		t.Fatalf("price forecast after a hazard-only refit: %v, %v", f.LastPrice, err)
	}
}

// A refit that is cancelled (killed) before it commits leaves the
// previous forecasts persisted and served.
func TestRefitCancelledKeepsPrevious(t *testing.T) {
	st, e, first := refitStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Refit(ctx, RefitOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled refit: %v", err)
	}
	run, n, ok := e.ServedRun()
	if !ok || run.ID != first.RunID || n != first.Pools {
		t.Fatalf("served run %d with %d pools, want run %d with %d", run.ID, n, first.RunID, first.Pools)
	}
	runs, err := st.ForecastRuns(context.Background(), 0)
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs persisted (%v), want the first only", len(runs), err)
	}
	// A forecast write cancelled during its transaction stores nothing.
	rows := []storage.PoolForecast{{PoolID: 1, Generated: simStoreEnd, Source: "x", Model: "naive"}}
	if _, err := st.WriteForecastRun(ctx, storage.ForecastRun{Started: simStoreEnd, Finished: simStoreEnd, AsOf: simStoreEnd}, rows); err == nil {
		t.Fatal("a write on a cancelled context succeeded")
	}
	if runs, err := st.ForecastRuns(context.Background(), 0); err != nil || len(runs) != 1 {
		t.Fatalf("%d runs after a cancelled write (%v)", len(runs), err)
	}
}

// A pool whose model fails (here: panics) is recorded with the reason;
// the other pools are fitted and served.
func TestRefitRecordsFailures(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	bad := poolOf(t, st, "m5.large", "us-east-1a")
	refitFault = func(p storage.PoolInfo) {
		if p.ID == bad.ID {
			panic("model blew up")
		}
	}
	defer func() { refitFault = nil }()
	e := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	res, err := e.Refit(ctx, RefitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Refit != res.Pools-1 || len(res.Failures) != 1 || res.Failures[0].Pool != bad.PoolKey ||
		!strings.Contains(res.Failures[0].Error, "model blew up") {
		t.Fatalf("refit %+v, want the one bad pool failed with its reason", res)
	}
	runs, err := st.ForecastRuns(ctx, 1)
	if err != nil || len(runs) != 1 || runs[0].Fails != 1 {
		t.Fatalf("persisted run %+v (%v), want 1 failure recorded", runs, err)
	}
	row, err := st.ForecastOf(ctx, int32(bad.ID))
	if err != nil || !strings.Contains(row.Error, "model blew up") || row.Price != nil {
		t.Fatalf("persisted row of the failed pool: error %q, price %d bytes (%v)", row.Error, len(row.Price), err)
	}
	// The failed pool is computed on demand; the others are served.
	if f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(bad.PoolKey)}); err != nil || f.Precomputed {
		t.Errorf("the failed pool: precomputed %v (%v), want computed on demand", f.Precomputed, err)
	}
	good := poolOf(t, st, "m5.large", "us-east-1b")
	if f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(good.PoolKey)}); err != nil || !f.Precomputed {
		t.Errorf("a good pool: precomputed %v (%v)", f.Precomputed, err)
	}
}
