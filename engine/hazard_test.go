package engine

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
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
func sameForecast(got, want hazard.Forecast) string {
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

// HazardForPools reads each cloud's events once, HazardForPool per pool: both must
// give the same forecasts, for pools with and without events of their
// own, by zone and by region, now and at a past origin.
func TestHazardForPoolsMatchesForPool(t *testing.T) {
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
	opts := hazard.Options{Horizon: 48 * time.Hour, Level: 0.8}
	for _, now := range []time.Time{simStoreEnd, simStoreEnd.Add(-36 * time.Hour)} {
		in := make([]HazardInput, len(keys))
		for i, k := range keys {
			in[i] = HazardInput{Key: k}
		}
		got, err := HazardForPools(ctx, st, in, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("%d forecasts for %d pools", len(got), len(keys))
		}
		withEvents := 0
		for _, k := range keys {
			want, err := HazardForPool(ctx, st, k, now, opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameForecast(got[k], want); d != "" {
				t.Errorf("%s at %s: HazardForPools and HazardForPool differ: %s", k, now.Format(time.RFC3339), d)
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
func TestHazardBatchInputsKnownPrices(t *testing.T) {
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
	b := NewHazardBatch(st, now, hazard.Options{})
	read, err := b.Inputs(ctx, HazardInput{Key: p.PoolKey, Resolution: p.Resolution})
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
	known, err := b.Inputs(ctx, HazardInput{Key: p.PoolKey, SpotPrice: &spot, OnDemand: &ond})
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

// Profile is hazard.EstimateProfile over the cloud's events of the last MaxAge,
// whichever way the batch reads them.
func TestHazardBatchProfile(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	now := simStoreEnd.Add(-24 * time.Hour)
	for _, maxAge := range []time.Duration{0, 7 * 24 * time.Hour} {
		age, _ := hazard.Options{MaxAge: maxAge}.EvidenceAge()
		evs, err := st.Events(ctx, storage.EventFilter{Cloud: market.AWS, From: now.Add(-age), To: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatal("no simulated events")
		}
		p, ps := hazard.EstimateProfile(evs, now, hazard.ProfileOptions{MaxAge: age})
		for _, perType := range []bool{false, true} {
			b := NewHazardBatch(st, now, hazard.Options{MaxAge: maxAge})
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

func TestHazardBatchErrors(t *testing.T) {
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
		opts hazard.Options
	}{
		{"no instance type", market.PoolKey{Region: "us-east-1"}, hazard.Options{}},
		{"bad zone", market.PoolKey{Zone: "nowhere", InstanceType: "p3.2xlarge"}, hazard.Options{}},
		{"bad level", good, hazard.Options{Level: 1.5}},
		{"bad horizon", good, hazard.Options{Horizon: time.Minute}},
	} {
		b := NewHazardBatch(st, simStoreEnd, tc.opts)
		if _, err := b.Forecast(ctx, HazardInput{Key: tc.key}); !errors.Is(err, hazard.ErrInput) {
			t.Errorf("%s: Forecast error %v, want ErrInput", tc.name, err)
		}
		if _, err := HazardForPools(ctx, st, []HazardInput{{Key: tc.key}}, simStoreEnd, tc.opts); !errors.Is(err, hazard.ErrInput) {
			t.Errorf("%s: HazardForPools error %v, want ErrInput", tc.name, err)
		}
		if tc.opts != (hazard.Options{}) {
			if _, err := b.Profile(ctx, market.AWS); !errors.Is(err, hazard.ErrInput) {
				t.Errorf("%s: Profile error %v, want ErrInput", tc.name, err)
			}
		}
	}
	// An empty store is no error: the default prior.
	fs, err := HazardForPools(ctx, st, []HazardInput{{Key: good}}, simStoreEnd, hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := fs[good]; f.Source != "prior" || f.Events != 0 || len(f.Hours) != hazard.HoursPerWeek {
		t.Errorf("empty store: source %q, events %d, %d hours", f.Source, f.Events, len(f.Hours))
	}
	// A cancelled context stops the batch.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := HazardForPools(cctx, st, []HazardInput{{Key: good}}, simStoreEnd, hazard.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// HazardForPool hands hazard.Estimate the inputs the store holds: the
// newest advisor row, the placement score, the pool's price and on-demand
// price at now, the type's events split into the pool's own and its
// siblings', and the cloud's weekly profile.
func TestHazardForPoolMatchesEstimate(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	now := simStoreEnd.Add(-12 * time.Hour)
	ps, err := st.Pools(ctx, storage.PoolFilter{InstanceType: "p3.2xlarge", Region: "us-east-1"})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no simulated p3.2xlarge pool: %v", err)
	}
	key := ps[0].PoolKey
	in := hazard.Inputs{Pool: key}
	adv, err := st.Advisor(ctx, key.Region, "Linux", key.InstanceType, now)
	if err != nil {
		t.Fatal(err)
	}
	in.Advisor = &adv
	scores, err := st.PlacementScores(ctx, key.Region, key.InstanceType)
	if err != nil {
		t.Fatal(err)
	}
	in.Score = hazard.PickScore(scores, key.Zone, now)
	pts, err := st.SeriesOf(ctx, key, "", time.Time{}, now.Add(time.Nanosecond))
	if err != nil || len(pts) == 0 {
		t.Fatalf("series: %d points, %v", len(pts), err)
	}
	in.SpotPrice = pts[len(pts)-1].Price
	od, err := st.OnDemand(ctx, key.Cloud, key.Region, key.InstanceType, key.Product, now)
	if err != nil {
		t.Fatal(err)
	}
	in.OnDemand = od.Price
	evs, err := st.Events(ctx, storage.EventFilter{Cloud: key.Cloud, InstanceType: key.InstanceType, To: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Region == key.Region && e.Zone == key.Zone {
			in.Events = append(in.Events, e)
		} else {
			in.Siblings = append(in.Siblings, e)
		}
	}
	recent, err := st.Events(ctx, storage.EventFilter{Cloud: key.Cloud, From: now.Add(-90 * 24 * time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	p, pst := hazard.EstimateProfile(recent, now, hazard.ProfileOptions{})
	if pst.Flat {
		t.Fatalf("profile from %+v is flat: the test says nothing about it", pst)
	}
	in.Profile = &p
	if len(in.Events) == 0 || len(in.Siblings) == 0 {
		t.Fatalf("pool %s has %d events and %d sibling events: the test says nothing about them", key, len(in.Events), len(in.Siblings))
	}
	want, err := hazard.Estimate(in, now, hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := HazardForPool(ctx, st, key, now, hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want.Prior = got.Prior // HazardForPool adds a note on the profile
	if d := sameForecast(got, want); d != "" {
		t.Errorf("HazardForPool and Estimate differ: %s", d)
	}
	if got.Source != market.SourceSimulated {
		t.Errorf("source %q, want %q", got.Source, market.SourceSimulated)
	}
}

// The engine's batched hazards (one HazardBatch for a placement's
// candidates) give the forecasts HazardForPool gives pool by pool.
func TestEngineHazardsMatchForPool(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	e := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	var pools []storage.PoolInfo
	for _, typ := range []string{"p3.2xlarge", "g4dn.xlarge", "m5.large"} {
		ps, err := st.Pools(ctx, storage.PoolFilter{InstanceType: typ})
		if err != nil {
			t.Fatal(err)
		}
		pools = append(pools, ps[:min(3, len(ps))]...)
	}
	now := simStoreEnd.Add(-36 * time.Hour) // a past origin: the price at now comes from the series
	got, err := e.hazards(ctx, pools, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pools) {
		t.Fatalf("%d forecasts for %d pools", len(got), len(pools))
	}
	for _, p := range pools {
		want, err := HazardForPool(ctx, st, p.PoolKey, now, hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel})
		if err != nil {
			t.Fatal(err)
		}
		if d := sameForecast(got[p.PoolKey], want); d != "" {
			t.Errorf("%s: batch and HazardForPool differ: %s", p.PoolKey, d)
		}
	}
}
