package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

var (
	fetchedA = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	fetchedB = time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	snap1    = time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC)
	snap2    = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
)

// fixture is a small market of every kind of row.
func fixture(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s := openMem(t)
	p3a, p3b := zoneKey("us-east-1a", "p3.2xlarge"), zoneKey("us-east-1b", "p3.2xlarge")
	m5a := zoneKey("us-east-1a", "m5.large")
	euA := zoneKey("eu-west-1a", "p4d.24xlarge")
	_, err := s.Import(ctx, RunInfo{Kind: "file", Source: "file:prices.csv", Path: "/x/prices.csv", Format: "csv", SHA256: "abc"}, func(w *Writer) error {
		for _, p := range []market.PricePoint{
			pt(p3a, 0, 1.0), pt(p3a, 5, 1.2), pt(p3b, 1, 0.9), pt(m5a, 0, 0.03), pt(m5a, 2, 0.04), pt(euA, 3, 10),
		} {
			if err := w.AddPrice(p); err != nil {
				return err
			}
		}
		w.SetWatermark("aws-api:us-east-1", t0.Add(5*time.Hour))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Import(ctx, RunInfo{Kind: "aws", Source: "aws-api"}, func(w *Writer) error {
		p := pt(p3a, 7, 1.5)
		p.Source, p.FetchedAt = "aws-api:us-east-1", fetchedB
		if err := w.AddPrice(p); err != nil {
			return err
		}
		adds := []error{
			w.AddAdvisor(market.AdvisorRow{Region: "us-east-1", OS: "Linux", InstanceType: "p3.2xlarge", Bucket: 3, SavingsPct: 70, Snapshot: snap1}),
			w.AddAdvisor(market.AdvisorRow{Region: "us-east-1", OS: "Linux", InstanceType: "p3.2xlarge", Bucket: 1, SavingsPct: 65, Snapshot: snap2}),
			w.AddAdvisor(market.AdvisorRow{Region: "us-east-1", OS: "Windows", InstanceType: "p3.2xlarge", Bucket: 4, SavingsPct: 40, Snapshot: snap2}),
			// Two descriptions of p3.2xlarge: the catalogue CSV without the
			// GPU model, describe-instance-types with it.
			w.AddInstanceType(market.InstanceType{Cloud: "aws", Name: "p3.2xlarge", VCPU: 8, MemoryGiB: 61, GPUCount: 1, GPUMemoryGiB: 16, Source: "file:instances.csv", FetchedAt: fetchedB}),
			w.AddInstanceType(market.InstanceType{Cloud: "aws", Name: "p3.2xlarge", VCPU: 8, Arch: "x86_64", GPUModel: "V100", GPUManufacturer: "NVIDIA", GPUCount: 1, GPUMemoryGiB: 16, Source: "file:describe.json", FetchedAt: fetchedA}),
			w.AddInstanceType(market.InstanceType{Cloud: "aws", Name: "p4d.24xlarge", VCPU: 96, MemoryGiB: 1152, GPUModel: "A100", GPUManufacturer: "NVIDIA", GPUCount: 8, GPUMemoryGiB: 40}),
			w.AddInstanceType(market.InstanceType{Cloud: "aws", Name: "m5.large", VCPU: 2, MemoryGiB: 8, Arch: "x86_64"}),
			w.AddOnDemand(market.OnDemandPrice{Cloud: "aws", Region: "us-east-1", InstanceType: "p3.2xlarge", Product: "Linux", Date: snap1, Price: 3.06}),
			w.AddOnDemand(market.OnDemandPrice{Cloud: "aws", Region: "us-east-1", InstanceType: "p3.2xlarge", Product: "Linux", Date: snap2, Price: 3.00}),
			w.AddOnDemand(market.OnDemandPrice{Cloud: "aws", Region: "us-east-1", InstanceType: "p3.2xlarge", Product: "Windows", Date: snap2, Price: 3.50}),
			w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", Zone: "us-east-1a", InstanceTypes: []string{"p3.2xlarge", "g4dn.xlarge"}, TargetCapacity: 4, CapacityUnit: "units", Score: 3, Time: t0}),
			w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", Zone: "us-east-1a", InstanceTypes: []string{"g4dn.xlarge", "p3.2xlarge"}, TargetCapacity: 4, CapacityUnit: "units", Score: 7, Time: t0.Add(time.Hour)}),
			w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", InstanceTypes: []string{"m5.large"}, TargetCapacity: 10, CapacityUnit: "units", Score: 9, Time: t0}),
			w.AddEvent(market.Event{Time: t0.Add(2 * time.Hour), Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", InstanceID: "i-1", Kind: market.EventInterruptionWarning, Count: 1, EventID: "e1"}),
			w.AddEvent(market.Event{Time: t0.Add(1 * time.Hour), Cloud: "aws", Region: "us-east-1", Zone: "us-east-1b", InstanceType: "p3.2xlarge", InstanceID: "i-2", Kind: market.EventRebalance, Count: 1, EventID: "e2"}),
			w.AddEvent(market.Event{Time: t0.Add(3 * time.Hour), Cloud: "gcp", Region: "us-central1", Zone: "us-central1-a", InstanceType: "a2-highgpu-1g", Kind: market.EventPreempted, Count: 2}),
		}
		return errors.Join(adds...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCounts(t *testing.T) {
	s := fixture(t)
	want := map[string]int64{"prices": 7, "pools": 4, "advisor": 3, "instance_types": 4, "ondemand_prices": 3,
		"placement_scores": 3, "events": 3, "ingest_runs": 2, "watermarks": 1, "capacity_signals": 0, "zone_ids": 0}
	got := counts(t, s)
	if len(got) != len(want) {
		t.Errorf("keys = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestPools(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	cases := []struct {
		name string
		f    PoolFilter
		want []string
	}{
		{"all", PoolFilter{}, []string{"aws/eu-west-1a/p4d.24xlarge/Linux/UNIX", "aws/us-east-1a/m5.large/Linux/UNIX", "aws/us-east-1a/p3.2xlarge/Linux/UNIX", "aws/us-east-1b/p3.2xlarge/Linux/UNIX"}},
		{"region", PoolFilter{Region: "us-east-1"}, []string{"aws/us-east-1a/m5.large/Linux/UNIX", "aws/us-east-1a/p3.2xlarge/Linux/UNIX", "aws/us-east-1b/p3.2xlarge/Linux/UNIX"}},
		{"zone and type", PoolFilter{Zone: "us-east-1a", InstanceType: "p3.2xlarge"}, []string{"aws/us-east-1a/p3.2xlarge/Linux/UNIX"}},
		{"gpu model any case", PoolFilter{GPUModel: "v100"}, []string{"aws/us-east-1a/p3.2xlarge/Linux/UNIX", "aws/us-east-1b/p3.2xlarge/Linux/UNIX"}},
		{"gpu memory", PoolFilter{MinGPUMemoryGiB: 24}, []string{"aws/eu-west-1a/p4d.24xlarge/Linux/UNIX"}},
		{"source prefix", PoolFilter{Source: "aws-api"}, []string{"aws/us-east-1a/p3.2xlarge/Linux/UNIX"}},
		{"source exact", PoolFilter{Source: "file:prices.csv", Region: "eu-west-1"}, []string{"aws/eu-west-1a/p4d.24xlarge/Linux/UNIX"}},
		{"limit", PoolFilter{Limit: 1}, []string{"aws/eu-west-1a/p4d.24xlarge/Linux/UNIX"}},
		{"none", PoolFilter{Product: "Windows"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Pools(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, p := range got {
				keys = append(keys, p.PoolKey.String())
			}
			if !slices.Equal(keys, tc.want) {
				t.Errorf("pools = %v, want %v", keys, tc.want)
			}
		})
	}
	got, err := s.Pools(ctx, PoolFilter{Zone: "us-east-1a", InstanceType: "p3.2xlarge"})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	p := got[0]
	if p.Points != 3 || !p.First.Equal(t0) || !p.Last.Equal(t0.Add(7*time.Hour)) || p.LastPrice != 1.5 ||
		p.Source != "aws-api:us-east-1" || p.Resolution != market.ResolutionChange || p.ID == 0 {
		t.Errorf("pool = %+v", p.Pool)
	}
	if p.Type.GPUModel != "V100" || p.Type.MemoryGiB != 61 {
		t.Errorf("pool's type = %+v", p.Type)
	}
}

func TestLatestPrices(t *testing.T) {
	s := fixture(t)
	got, err := s.LatestPrices(context.Background(), PoolFilter{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.04, 1.5, 0.9}
	var prices []float64
	for _, p := range got {
		prices = append(prices, p.Price)
	}
	if !slices.Equal(prices, want) {
		t.Errorf("latest = %v, want %v", prices, want)
	}
	if got[1].Source != "aws-api:us-east-1" || !got[1].FetchedAt.Equal(fetchedB) || !got[1].Time.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("latest p3 = %+v", got[1])
	}
}

func TestAdvisor(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	cases := []struct {
		name, os string
		at       time.Time
		bucket   int
		err      error
	}{
		{"newest", "Linux", time.Time{}, 1, nil},
		{"as of 2022", "Linux", time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), 3, nil},
		{"any os prefers linux", "", time.Time{}, 1, nil},
		{"windows", "Windows", time.Time{}, 4, nil},
		{"before any snapshot", "Linux", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 0, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := s.Advisor(ctx, "us-east-1", tc.os, "p3.2xlarge", tc.at)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && a.Bucket != tc.bucket {
				t.Errorf("bucket = %d, want %d (%+v)", a.Bucket, tc.bucket, a)
			}
		})
	}
	rows, err := s.AdvisorRows(ctx, "us-east-1", time.Time{})
	if err != nil || len(rows) != 2 || !rows[0].Snapshot.Equal(snap2) {
		t.Errorf("advisor rows = %+v, %v", rows, err)
	}
}

func TestInstanceTypes(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	it, err := s.InstanceType(ctx, "aws", "p3.2xlarge")
	if err != nil {
		t.Fatal(err)
	}
	// Field-wise merge: GPU fields and arch from the entry naming the GPU,
	// memory (which it lacks) from the other.
	want := market.InstanceType{Cloud: "aws", Name: "p3.2xlarge", VCPU: 8, MemoryGiB: 61, Arch: "x86_64", GPUModel: "V100",
		GPUManufacturer: "NVIDIA", GPUCount: 1, GPUMemoryGiB: 16, Source: "file:describe.json", FetchedAt: fetchedB}
	if it != want {
		t.Errorf("p3.2xlarge = %+v\nwant %+v", it, want)
	}
	if _, err := s.InstanceType(ctx, "aws", "x9.huge"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown type: err = %v", err)
	}
	all, err := s.InstanceTypes(ctx, "aws")
	if err != nil || len(all) != 3 || all[0].Name != "m5.large" {
		t.Errorf("instance types = %+v, %v", all, err)
	}
	if none, err := s.InstanceTypes(ctx, "gcp"); err != nil || len(none) != 0 {
		t.Errorf("gcp types = %+v, %v", none, err)
	}
}

func TestOnDemand(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	cases := []struct {
		name, product string
		at            time.Time
		price         float64
		err           error
	}{
		{"newest linux", "Linux", time.Time{}, 3.00, nil},
		{"any product prefers linux", "", time.Time{}, 3.00, nil},
		{"windows", "Windows", time.Time{}, 3.50, nil},
		{"in effect in 2022", "", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), 3.06, nil},
		{"before any", "", time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), 0, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := s.OnDemand(ctx, "aws", "us-east-1", "p3.2xlarge", tc.product, tc.at)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && o.Price != tc.price {
				t.Errorf("price = %v, want %v", o.Price, tc.price)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	s := fixture(t)
	cases := []struct {
		name string
		f    EventFilter
		want []string
	}{
		{"all in time order", EventFilter{}, []string{"i-2", "i-1", ""}},
		{"cloud", EventFilter{Cloud: "aws"}, []string{"i-2", "i-1"}},
		{"kind", EventFilter{Kind: market.EventInterruptionWarning}, []string{"i-1"}},
		{"zone", EventFilter{Zone: "us-east-1b"}, []string{"i-2"}},
		{"range", EventFilter{From: t0.Add(2 * time.Hour), To: t0.Add(3 * time.Hour)}, []string{"i-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Events(context.Background(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.InstanceID)
				if e.Source != "aws-api" || !e.FetchedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
					t.Errorf("event provenance = %q %v, want the import's", e.Source, e.FetchedAt)
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("events = %q, want %q", ids, tc.want)
			}
		})
	}
}

func TestPlacementScores(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	got, err := s.PlacementScores(ctx, "us-east-1", "p3.2xlarge")
	if err != nil {
		t.Fatal(err)
	}
	// The two requests list the same types in another order: one request,
	// newest score wins.
	if len(got) != 1 || got[0].Score != 7 || !slices.Equal(got[0].InstanceTypes, []string{"g4dn.xlarge", "p3.2xlarge"}) {
		t.Errorf("scores = %+v", got)
	}
	all, err := s.PlacementScores(ctx, "", "")
	if err != nil || len(all) != 2 {
		t.Errorf("all scores = %+v, %v", all, err)
	}
}

func TestIngestRunsAndFreshness(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	runs, err := s.IngestRuns(ctx, 0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	if runs[0].ID != 2 || runs[1].RunInfo != (RunInfo{Kind: "file", Source: "file:prices.csv", Path: "/x/prices.csv", Format: "csv", SHA256: "abc"}) ||
		runs[1].RowsStored != 6 || runs[1].RowsAdded != 6 {
		t.Errorf("runs = %+v", runs)
	}
	if one, _ := s.IngestRuns(ctx, 1); len(one) != 1 {
		t.Errorf("limit 1 gave %d runs", len(one))
	}
	wm, ok, err := s.Watermark(ctx, "aws-api:us-east-1")
	if err != nil || !ok || !wm.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("watermark = %v %v %v", wm, ok, err)
	}
	if _, ok, err := s.Watermark(ctx, "nope"); ok || err != nil {
		t.Errorf("missing watermark: %v %v", ok, err)
	}

	fr, err := s.Freshness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]SourceFreshness{}
	for _, f := range fr {
		bySource[f.Source] = f
	}
	if f := bySource["aws-api:us-east-1"]; f.Rows != 1 || !f.NewestPoint.Equal(t0.Add(7*time.Hour)) || !f.LastIngest.Equal(fetchedB) {
		t.Errorf("aws-api:us-east-1 freshness = %+v", f)
	}
	if f := bySource["file:prices.csv"]; f.Rows != 6 {
		t.Errorf("file freshness = %+v", f)
	}
	// advisor 3 + 2 types + 3 on-demand + 3 scores + 3 events default to the run's source.
	if f := bySource["aws-api"]; f.Rows != 14 {
		t.Errorf("aws-api freshness = %+v", f)
	}
}

func TestExportParquet(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	for range 2 { // a second export replaces the first
		st, err := s.ExportParquet(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		// 7 prices + 4 pools + 3 advisor + 4 types + 3 on-demand + 3 scores + 3 events + 2 runs + 1 watermark
		if st.Rows != 30 {
			t.Errorf("rows = %d, want 30", st.Rows)
		}
		// prices: aws/eu-west-1/2021-03 and aws/us-east-1/2021-03, plus 10 tables
		if st.Files != 12 {
			t.Errorf("files = %d, want 12", st.Files)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "prices", "cloud=aws", "region=us-east-1", "month=2021-03")); err != nil {
		t.Error(err)
	}
	var n, gpu int64
	var region string
	err := s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE instance_type = 'p3.2xlarge'), min(region)
		FROM read_parquet(?, hive_partitioning = true)`, filepath.Join(dir, "prices", "**", "*.parquet")).Scan(&n, &gpu, &region)
	if err != nil || n != 7 || gpu != 4 || region != "eu-west-1" {
		t.Errorf("read back prices: n=%d p3=%d region=%q err=%v", n, gpu, region, err)
	}
	for table, want := range map[string]int64{"pools": 4, "advisor": 3, "events": 3, "instance_types": 4} {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM read_parquet(?)`, filepath.Join(dir, table+".parquet")).Scan(&n); err != nil || n != want {
			t.Errorf("read back %s: %d rows, want %d (%v)", table, n, want, err)
		}
	}
}

func TestSpotPricesView(t *testing.T) {
	s := fixture(t)
	rows, err := s.db.Query(`SELECT * FROM spot_prices ORDER BY ts, zone, instance_type`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	want := []string{"cloud", "region", "zone", "instance_type", "product", "ts", "price", "source", "fetched_at"}
	if !slices.Equal(cols, want) {
		t.Errorf("columns = %v, want %v", cols, want)
	}
	n := 0
	for rows.Next() {
		var cloud, region, zone, typ, product, source string
		var ts, fetched time.Time
		var price float64
		if err := rows.Scan(&cloud, &region, &zone, &typ, &product, &ts, &price, &source, &fetched); err != nil {
			t.Fatal(err)
		}
		if n == 0 && (zone != "us-east-1a" || typ != "m5.large" || price != 0.03 || source != "file:prices.csv" || !ts.Equal(t0)) {
			t.Errorf("first row = %s %s %v %s %v", zone, typ, price, source, ts)
		}
		n++
	}
	if n != 7 {
		t.Errorf("%d rows, want 7", n)
	}
}
