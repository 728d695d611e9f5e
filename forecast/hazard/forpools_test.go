package hazard

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// simStoreEnd is the end of the simulated market of simStore.
var simStoreEnd = time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)

// simStore opens an in-memory store filled by the simulator: two regions,
// three weeks, every row (events, advisor, placement scores, prices,
// on-demand prices) of every type.
func simStore(t *testing.T) *storage.Store {
	t.Helper()
	ctx := context.Background()
	clock := func() time.Time { return simStoreEnd }
	st, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
		func(w *storage.Writer) error {
			_, err := sim.Generate(sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1", "eu-west-1"}}, w)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sameForecast says where two forecasts differ beyond rounding ("" if
// nowhere).
func sameForecast(got, want Forecast) string {
	switch {
	case got.Prior != want.Prior:
		return "prior " + got.Prior + " != " + want.Prior
	case got.Events != want.Events || got.SiblingEvents != want.SiblingEvents:
		return "event counts differ"
	case math.Abs(got.ExposureHours-want.ExposureHours) > 1e-9:
		return "exposure differs"
	case got.Source != want.Source:
		return "source " + got.Source + " != " + want.Source
	case len(got.Hours) != len(want.Hours):
		return "hour counts differ"
	}
	for i := range want.Hours {
		g, w := got.Hours[i], want.Hours[i]
		if !g.Time.Equal(w.Time) || math.Abs(g.Rate-w.Rate) > 1e-9*w.Rate || math.Abs(g.Hi-w.Hi) > 1e-9*w.Hi {
			return "hour " + g.Time.Format(time.RFC3339) + " differs"
		}
	}
	return ""
}

// ForPools reads each cloud's events once, ForPool per pool: both must
// give the same forecasts, for pools with and without events of their
// own, by zone and by region, now and at a past origin.
func TestForPoolsMatchesForPool(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	var keys []market.PoolKey
	for _, typ := range []string{"p3.2xlarge", "g4dn.xlarge", "m5.large"} {
		ps, err := st.Pools(ctx, storage.PoolFilter{InstanceType: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			t.Fatalf("no simulated pool of %s", typ)
		}
		for _, p := range ps[:min(3, len(ps))] {
			keys = append(keys, p.PoolKey)
		}
	}
	// A pool named by its zone alone, and one with no data at all.
	keys = append(keys, market.PoolKey{Zone: keys[0].Zone, InstanceType: keys[0].InstanceType, Product: keys[0].Product},
		market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "x9.unknown"})
	opts := Options{Horizon: 48 * time.Hour, Level: 0.8}
	for _, now := range []time.Time{simStoreEnd, simStoreEnd.Add(-36 * time.Hour)} {
		in := make([]PoolInput, len(keys))
		for i, k := range keys {
			in[i] = PoolInput{Key: k}
		}
		got, err := ForPools(ctx, st, in, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("%d forecasts for %d pools", len(got), len(keys))
		}
		withEvents := 0
		for _, k := range keys {
			want, err := ForPool(ctx, st, k, now, opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameForecast(got[k], want); d != "" {
				t.Errorf("%s at %s: ForPools and ForPool differ: %s", k, now.Format(time.RFC3339), d)
			}
			if want.Events > 0 {
				withEvents++
			}
		}
		if withEvents == 0 {
			t.Errorf("at %s no pool has events of its own: the comparison says nothing about them", now.Format(time.RFC3339))
		}
	}
}

// Prices the caller knows replace the store's; the rest of the inputs are
// the store's either way.
func TestBatchInputsKnownPrices(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	ps, err := st.Pools(ctx, storage.PoolFilter{InstanceType: "p3.2xlarge", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no simulated p3.2xlarge pool in us-east-1")
	}
	p := ps[0]
	now := simStoreEnd.Add(-36 * time.Hour)
	b := NewBatch(st, now, Options{})
	read, err := b.Inputs(ctx, PoolInput{Key: p.PoolKey, Resolution: p.Resolution})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := st.SeriesOf(ctx, p.PoolKey, p.Resolution, now.Add(-7*24*time.Hour), now.Add(time.Nanosecond))
	if err != nil || len(pts) == 0 {
		t.Fatalf("series: %d points, %v", len(pts), err)
	}
	od, err := st.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, now)
	if err != nil {
		t.Fatal(err)
	}
	if read.SpotPrice != pts[len(pts)-1].Price || read.OnDemand != od.Price || read.OnDemand == 0 {
		t.Errorf("read prices %v/%v, store %v/%v", read.SpotPrice, read.OnDemand, pts[len(pts)-1].Price, od.Price)
	}
	spot, ond := read.SpotPrice*1.5, 0.0
	known, err := b.Inputs(ctx, PoolInput{Key: p.PoolKey, SpotPrice: &spot, OnDemand: &ond})
	if err != nil {
		t.Fatal(err)
	}
	if known.SpotPrice != spot || known.OnDemand != 0 {
		t.Errorf("known prices %v/%v, given %v/%v", known.SpotPrice, known.OnDemand, spot, ond)
	}
	if known.Advisor == nil || read.Advisor == nil || *known.Advisor != *read.Advisor || known.Score != read.Score ||
		len(known.Events) != len(read.Events) || len(known.Siblings) != len(read.Siblings) || known.Profile != read.Profile {
		t.Errorf("known prices changed the other inputs: %+v vs %+v", known, read)
	}
	if len(read.Events)+len(read.Siblings) == 0 {
		t.Error("no events of the type: the test says nothing about them")
	}
}

// Profile is EstimateProfile over the cloud's events of the last MaxAge,
// whichever way the batch reads them.
func TestBatchProfile(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	now := simStoreEnd.Add(-24 * time.Hour)
	for _, maxAge := range []time.Duration{0, 7 * 24 * time.Hour} {
		o, _ := Options{MaxAge: maxAge}.withDefaults()
		evs, err := st.Events(ctx, storage.EventFilter{Cloud: market.AWS, From: now.Add(-o.MaxAge), To: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatal("no simulated events")
		}
		p, ps := EstimateProfile(evs, now, ProfileOptions{MaxAge: o.MaxAge})
		for _, perType := range []bool{false, true} {
			b := NewBatch(st, now, Options{MaxAge: maxAge})
			b.perType = perType
			cp, err := b.Profile(ctx, market.AWS)
			if err != nil {
				t.Fatal(err)
			}
			// EstimateProfile sums over pools in map order: equal up to
			// rounding.
			gs := cp.Stats
			if gs.Pools != ps.Pools || gs.Events != ps.Events || gs.Flat != ps.Flat || math.Abs(gs.ExposureHours/ps.ExposureHours-1) > 1e-9 ||
				len(cp.Recent) != len(evs) || (cp.Profile == nil) != ps.Flat {
				t.Fatalf("max age %v, per type %v: stats %+v with %d events, want %+v with %d", maxAge, perType, gs, len(cp.Recent), ps, len(evs))
			}
			for i := range p {
				if cp.Profile != nil && math.Abs(cp.Profile[i]-p[i]) > 1e-9 {
					t.Errorf("max age %v, per type %v: hour %d %v, EstimateProfile's %v", maxAge, perType, i, cp.Profile[i], p[i])
					break
				}
			}
		}
	}
}

func TestBatchErrors(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, ":memory:", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge"}
	for _, tc := range []struct {
		name string
		key  market.PoolKey
		opts Options
	}{
		{"no instance type", market.PoolKey{Region: "us-east-1"}, Options{}},
		{"bad zone", market.PoolKey{Zone: "nowhere", InstanceType: "p3.2xlarge"}, Options{}},
		{"bad level", good, Options{Level: 1.5}},
		{"bad horizon", good, Options{Horizon: time.Minute}},
	} {
		b := NewBatch(st, simStoreEnd, tc.opts)
		if _, err := b.Forecast(ctx, PoolInput{Key: tc.key}); !errors.Is(err, ErrInput) {
			t.Errorf("%s: Forecast error %v, want ErrInput", tc.name, err)
		}
		if _, err := ForPools(ctx, st, []PoolInput{{Key: tc.key}}, simStoreEnd, tc.opts); !errors.Is(err, ErrInput) {
			t.Errorf("%s: ForPools error %v, want ErrInput", tc.name, err)
		}
		if tc.opts != (Options{}) {
			if _, err := b.Profile(ctx, market.AWS); !errors.Is(err, ErrInput) {
				t.Errorf("%s: Profile error %v, want ErrInput", tc.name, err)
			}
		}
	}
	// An empty store is no error: the default prior.
	fs, err := ForPools(ctx, st, []PoolInput{{Key: good}}, simStoreEnd, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := fs[good]; f.Source != "prior" || f.Events != 0 || len(f.Hours) != HoursPerWeek {
		t.Errorf("empty store: source %q, events %d, %d hours", f.Source, f.Events, len(f.Hours))
	}
	// A cancelled context stops the batch.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ForPools(cctx, st, []PoolInput{{Key: good}}, simStoreEnd, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
