package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// A refit's rows replace the pools' older ones; pools it did not fit keep
// theirs; the newest row of each pool is served.
func TestForecastRuns(t *testing.T) {
	ctx := context.Background()
	s := fixture(t)
	pools, err := s.PoolCatalog(ctx)
	if err != nil || len(pools) != 4 {
		t.Fatalf("catalogue: %d pools, %v", len(pools), err)
	}
	if pools[0].Type.Name == "" && pools[1].Type.Name == "" {
		t.Errorf("catalogue without instance types: %+v", pools)
	}
	run := func(rows ...PoolForecast) int64 {
		t.Helper()
		id, err := s.WriteForecastRun(ctx, ForecastRun{Started: t0, Finished: t0.Add(time.Second), AsOf: t0, Kind: "full",
			PriceModel: "auto", HazardModel: "h", PriceHorizon: 24 * time.Hour, HazardHorizon: 168 * time.Hour,
			Pools: 4, Refit: int64(len(rows)), Seconds: 1, Inputs: "events=0"}, rows)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	row := func(pool int64, doc string) PoolForecast {
		return PoolForecast{PoolID: int32(pool), Generated: t0, Points: 2, LastTS: t0.Add(time.Hour), LastPrice: 1.5, Source: "s",
			Model: "naive", Price: []byte(doc), Hazard: []byte("h" + doc)}
	}
	a, b := pools[0].ID, pools[1].ID
	if id := run(row(a, "a1"), row(b, "b1")); id != 1 {
		t.Fatalf("first run id %d", id)
	}
	if id := run(row(a, "a2")); id != 2 {
		t.Fatalf("second run id %d", id)
	}
	got := map[int32]PoolForecast{}
	if err := s.Forecasts(ctx, func(f PoolForecast) error { got[f.PoolID] = f; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[int32(a)].Price) != "a2" || got[int32(a)].RunID != 2 || string(got[int32(b)].Price) != "b1" ||
		got[int32(b)].RunID != 1 || got[int32(a)].Week != nil || !got[int32(a)].LastTS.Equal(t0.Add(time.Hour)) || !got[int32(a)].FirstTS.IsZero() {
		t.Fatalf("served rows %+v", got)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM pool_forecasts`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d rows kept (%v): the superseded row was not deleted", n, err)
	}
	if f, err := s.ForecastOf(ctx, int32(a)); err != nil || string(f.Hazard) != "ha2" {
		t.Errorf("forecast of pool a: %q, %v", f.Hazard, err)
	}
	if _, err := s.ForecastOf(ctx, int32(pools[3].ID)); err == nil {
		t.Error("a pool never fitted has a forecast")
	}
	runs, err := s.ForecastRuns(ctx, 0)
	if err != nil || len(runs) != 2 || runs[0].ID != 2 || runs[0].PriceHorizon != 24*time.Hour || runs[0].Inputs != "events=0" {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	path := filepath.Join(t.TempDir(), "ro.duckdb")
	rw, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.WriteForecastRun(ctx, ForecastRun{}, nil); err == nil {
		t.Error("a read-only store took a forecast run")
	}
}

// ScanSeries gives each pool's points from the window's start (with the
// point in effect then) to its end, the pools of one instance type one
// after the other.
func TestScanSeries(t *testing.T) {
	ctx := context.Background()
	s := fixture(t)
	var got []PoolSeries
	scan := SeriesScan{ChangeFrom: t0.Add(2 * time.Hour), DailyFrom: t0, To: t0.Add(6 * time.Hour)}
	if err := s.ScanSeries(ctx, scan, func(ps PoolSeries) error { got = append(got, ps); return nil }); err != nil {
		t.Fatal(err)
	}
	cat, err := s.PoolCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name := map[int32]market.PoolKey{}
	for _, p := range cat {
		name[int32(p.ID)] = p.PoolKey
	}
	var order []string
	for _, ps := range got {
		order = append(order, name[ps.PoolID].Zone+"/"+name[ps.PoolID].InstanceType)
	}
	want := []string{"us-east-1a/m5.large", "us-east-1a/p3.2xlarge", "us-east-1b/p3.2xlarge", "eu-west-1a/p4d.24xlarge"}
	if len(order) != len(want) {
		t.Fatalf("pools %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("pools %v, want %v (by instance type)", order, want)
		}
	}
	// The statistics are those of every point, as Pools gives them.
	all, err := s.Pools(ctx, PoolFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range got {
		for _, p := range all {
			if int32(p.ID) == ps.PoolID && (p.Points != ps.Count || !p.Last.Equal(ps.Last) || !p.First.Equal(ps.First) ||
				p.LastPrice != ps.LastPrice || p.Source != ps.Source) {
				t.Errorf("pool %s: scan %d points %v..%v last %v %q, Pools %d %v..%v %v %q", p.PoolKey, ps.Count, ps.First, ps.Last,
					ps.LastPrice, ps.Source, p.Points, p.First, p.Last, p.LastPrice, p.Source)
			}
		}
	}
	// p3.2xlarge in us-east-1b has one point, at hour 1: before the
	// window, it comes as the point in effect at its start.
	if b := got[2].Points; len(b) != 1 || !b[0].Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("p3.2xlarge in us-east-1b: %+v", b)
	}
	// p3a has points at hours 0, 5 and 7: the window [2h, 6h] gives the
	// point in effect at 2h (hour 0) and hour 5; hour 7 is after it.
	p3a := got[1].Points
	if len(p3a) != 2 || !p3a[0].Time.Equal(t0) || !p3a[1].Time.Equal(t0.Add(5*time.Hour)) || p3a[1].Price != 1.2 || p3a[0].Source != "file:prices.csv" {
		t.Errorf("p3.2xlarge in us-east-1a: %+v", p3a)
	}
	got = nil
	scan.PoolIDs = []int32{got2ID(t, cat, "m5.large")}
	if err := s.ScanSeries(ctx, scan, func(ps PoolSeries) error { got = append(got, ps); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Points) != 2 {
		t.Errorf("one pool: %+v", got)
	}
}

func got2ID(t *testing.T, cat []PoolInfo, typ string) int32 {
	t.Helper()
	for _, p := range cat {
		if p.InstanceType == typ {
			return int32(p.ID)
		}
	}
	t.Fatalf("no %s pool", typ)
	return 0
}

// The bulk lookups answer what the per-type lookups answer.
func TestBulkLookups(t *testing.T) {
	ctx := context.Background()
	s := fixture(t)
	for _, at := range []time.Time{{}, snap1.Add(24 * time.Hour)} {
		advs, err := s.AdvisorAt(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range advs {
			one, err := s.Advisor(ctx, a.Region, a.OS, a.InstanceType, at)
			if err != nil || one != a {
				t.Errorf("at %v: bulk %+v, one %+v (%v)", at, a, one, err)
			}
		}
		ods, err := s.OnDemandAt(ctx, at)
		if err != nil || len(ods) == 0 {
			t.Fatalf("on-demand at %v: %d, %v", at, len(ods), err)
		}
		for _, o := range ods {
			one, err := s.OnDemand(ctx, o.Cloud, o.Region, o.InstanceType, o.Product, at)
			if err != nil || one != o {
				t.Errorf("at %v: bulk %+v, one %+v (%v)", at, o, one, err)
			}
		}
	}
}

// A store from before the forecast tables gains them on open.
func TestOlderStoreGainsForecastTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	old, err := open(ctx, path, Options{}, SchemaVersion-1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ForecastRuns(ctx, 0); err == nil {
		t.Fatal("the older store already has forecast_runs")
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if runs, err := s.ForecastRuns(ctx, 0); err != nil || len(runs) != 0 {
		t.Fatalf("after the upgrade: %v, %v", runs, err)
	}
	if err := s.Forecasts(ctx, func(PoolForecast) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
