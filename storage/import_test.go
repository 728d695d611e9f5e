package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

var t0 = time.Date(2021, 3, 2, 0, 0, 0, 0, time.UTC)

func fixedClock() func() time.Time {
	return func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
}

func openMem(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), "", Options{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func zoneKey(zone, typ string) market.PoolKey {
	r, _ := market.RegionOfZone(zone)
	return market.PoolKey{Cloud: market.AWS, Region: r, Zone: zone, InstanceType: typ, Product: "Linux/UNIX"}
}

func pt(k market.PoolKey, h int, price float64) market.PricePoint {
	return market.PricePoint{Pool: k, Time: t0.Add(time.Duration(h) * time.Hour), Price: price}
}

func addAll(points ...market.PricePoint) func(w *Writer) error {
	return func(w *Writer) error {
		for _, p := range points {
			if err := w.AddPrice(p); err != nil {
				return err
			}
		}
		return nil
	}
}

func counts(t testing.TB, s *Store) map[string]int64 {
	t.Helper()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestImportIdempotentAndDuplicates(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	a, b := zoneKey("us-east-1a", "p3.2xlarge"), zoneKey("us-east-1b", "p3.2xlarge")
	run := RunInfo{Kind: "file", Source: "file:x.csv"}
	pts := []market.PricePoint{pt(a, 0, 1), pt(a, 1, 2), pt(b, 0, 3), pt(a, 1, 9) /* repeat of (a,1) */, pt(b, 2, 4)}

	st, err := s.Import(ctx, run, addAll(pts...))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Tables["prices"]; got != (TableStats{Added: 5, Stored: 4}) {
		t.Errorf("first import prices = %+v, want added 5 stored 4", got)
	}
	if st.RunID != 1 {
		t.Errorf("run id = %d, want 1", st.RunID)
	}
	c := counts(t, s)
	if c["prices"] != 4 || c["pools"] != 2 || c["ingest_runs"] != 1 {
		t.Errorf("counts after first import = %v", c)
	}
	// The first of two rows with one key wins.
	ser, err := s.Series(ctx, a, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ser) != 2 || ser[1].Price != 2 {
		t.Errorf("series a = %+v, want 2 points, second price 2", ser)
	}

	st, err = s.Import(ctx, run, addAll(pts...))
	if err != nil {
		t.Fatal(err)
	}
	if st.Added() != 5 || st.Stored() != 0 {
		t.Errorf("second import added %d stored %d, want 5, 0", st.Added(), st.Stored())
	}
	c = counts(t, s)
	if c["prices"] != 4 || c["pools"] != 2 || c["ingest_runs"] != 2 {
		t.Errorf("counts after second import = %v", c)
	}

	// A partly new import stores only the new rows.
	st, err = s.Import(ctx, run, addAll(pt(a, 1, 2), pt(a, 5, 7), pt(zoneKey("us-east-1c", "g4dn.xlarge"), 0, 0.5)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored() != 2 {
		t.Errorf("third import stored %d, want 2", st.Stored())
	}
	if c := counts(t, s); c["prices"] != 6 || c["pools"] != 3 {
		t.Errorf("counts after third import = %v", c)
	}
}

func TestImportRollback(t *testing.T) {
	ctx := context.Background()
	a := zoneKey("us-east-1a", "m5.large")
	boom := errors.New("boom")
	many := func(w *Writer) error {
		for i := range 3 * priceBatchSize {
			if err := w.AddPrice(pt(a, i, 1)); err != nil {
				return err
			}
		}
		return nil
	}
	cases := []struct {
		name string
		fill func(context.CancelFunc) func(w *Writer) error
		want error
	}{
		{"fill error", func(context.CancelFunc) func(w *Writer) error {
			return func(w *Writer) error {
				if err := many(w); err != nil {
					return err
				}
				w.SetWatermark("aws-api:us-east-1", t0)
				return boom
			}
		}, boom},
		{"cancelled", func(cancel context.CancelFunc) func(w *Writer) error {
			return func(w *Writer) error {
				if err := many(w); err != nil {
					return err
				}
				cancel()
				return nil
			}
		}, context.Canceled},
		{"cancelled mid-fill", func(cancel context.CancelFunc) func(w *Writer) error {
			return func(w *Writer) error {
				for i := range 3 * priceBatchSize {
					if i == priceBatchSize+10 {
						cancel()
					}
					if err := w.AddPrice(pt(a, i, 1)); err != nil {
						return err
					}
				}
				return nil
			}
		}, context.Canceled},
		{"bad row", func(context.CancelFunc) func(w *Writer) error {
			return func(w *Writer) error {
				if err := many(w); err != nil {
					return err
				}
				return w.AddPrice(pt(a, 0, math.NaN()))
			}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := s.Import(cctx, RunInfo{Source: "test"}, tc.fill(cancel))
			if err == nil {
				t.Fatal("import succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			for table, n := range counts(t, s) {
				if n != 0 {
					t.Errorf("%s has %d rows after a failed import", table, n)
				}
			}
			// The store still works, and the pool cache did not keep the
			// rolled-back pool.
			st, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(a, 0, 1)))
			if err != nil || st.Stored() != 1 {
				t.Fatalf("import after failure: %+v, %v", st, err)
			}
			if c := counts(t, s); c["pools"] != 1 || c["prices"] != 1 {
				t.Errorf("counts = %v", c)
			}
			if _, err := s.Series(ctx, a, time.Time{}, time.Time{}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAddPriceValidation(t *testing.T) {
	a := zoneKey("us-east-1a", "m5.large")
	bad := func(mut func(*market.PricePoint)) market.PricePoint {
		p := pt(a, 0, 1)
		mut(&p)
		return p
	}
	cases := []struct {
		name  string
		p     market.PricePoint
		field string
	}{
		{"nan", bad(func(p *market.PricePoint) { p.Price = math.NaN() }), "price"},
		{"inf", bad(func(p *market.PricePoint) { p.Price = math.Inf(1) }), "price"},
		{"negative", bad(func(p *market.PricePoint) { p.Price = -0.1 }), "price"},
		{"zero time", bad(func(p *market.PricePoint) { p.Time = time.Time{} }), "time"},
		{"empty type", bad(func(p *market.PricePoint) { p.Pool.InstanceType = "" }), "pool.instance_type"},
		{"empty region", bad(func(p *market.PricePoint) { p.Pool.Region = "" }), "pool.region"},
		{"empty cloud", bad(func(p *market.PricePoint) { p.Pool.Cloud = "" }), "pool.cloud"},
		{"zone elsewhere", bad(func(p *market.PricePoint) { p.Pool.Zone = "eu-west-1a" }), "pool.zone"},
		{"bad bar", bad(func(p *market.PricePoint) {
			p.HasBar = true
			p.Bar = market.Bar{Open: 1, High: math.NaN(), Low: 1, Close: 1}
		}), "high"},
	}
	s := openMem(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var addErr error
			_, err := s.Import(context.Background(), RunInfo{Source: "test"}, func(w *Writer) error {
				addErr = w.AddPrice(tc.p)
				return addErr
			})
			if err == nil || addErr == nil {
				t.Fatal("bad point accepted")
			}
			if !strings.Contains(addErr.Error(), "field "+tc.field+":") {
				t.Errorf("error %q does not name field %s", addErr, tc.field)
			}
		})
	}
	if c := counts(t, s); c["prices"] != 0 || c["pools"] != 0 {
		t.Errorf("counts = %v", c)
	}
}

func TestSeriesStepFunction(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	a := zoneKey("us-east-1a", "p3.2xlarge")
	other := zoneKey("us-east-1b", "p3.2xlarge")
	fetched := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	var pts []market.PricePoint
	for _, h := range []int{0, 10, 20, 30} {
		p := pt(a, h, float64(h))
		p.FetchedAt = fetched
		pts = append(pts, p)
	}
	pts = append(pts, pt(other, 5, 99))
	if _, err := s.Import(ctx, RunInfo{Source: "file:a.csv"}, addAll(pts...)); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	cases := []struct {
		name     string
		from, to time.Time
		want     []float64
	}{
		{"all", time.Time{}, time.Time{}, []float64{0, 10, 20, 30}},
		{"from between points starts at the point before", at(15), time.Time{}, []float64{10, 20, 30}},
		{"from on a point", at(10), at(30), []float64{10, 20}},
		{"to is exclusive", time.Time{}, at(20), []float64{0, 10}},
		{"from before first", at(-5), at(5), []float64{0}},
		{"after last", at(40), time.Time{}, []float64{30}},
		{"empty range before first", at(-10), at(-5), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Series(ctx, a, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var prices []float64
			for _, p := range got {
				prices = append(prices, p.Price)
				if p.Source != "file:a.csv" || !p.FetchedAt.Equal(fetched) || p.Pool != a {
					t.Errorf("point %+v: wrong provenance or pool", p)
				}
			}
			if fmt.Sprint(prices) != fmt.Sprint(tc.want) {
				t.Errorf("prices = %v, want %v", prices, tc.want)
			}
		})
	}
	// A key with only the zone finds the same pool.
	got, err := s.Series(ctx, market.PoolKey{Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}, time.Time{}, time.Time{})
	if err != nil || len(got) != 4 {
		t.Errorf("zone-only key: %d points, %v", len(got), err)
	}
	if _, err := s.Series(ctx, zoneKey("us-east-1a", "nope.large"), time.Time{}, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown pool: err = %v, want ErrNotFound", err)
	}
}

func TestDailyBars(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "p5.48xlarge"}
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := market.PricePoint{Pool: k, Time: day, Price: 30, HasBar: true, Bar: market.Bar{Open: 29, High: 33, Low: 28, Close: 31}}
	if _, err := s.Import(ctx, RunInfo{Source: "file:daily.csv"}, addAll(p)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Series(ctx, k, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].HasBar || got[0].Bar != p.Bar || got[0].Price != 30 {
		t.Errorf("got %+v", got)
	}
}

func TestImportFillPanics(t *testing.T) {
	s := openMem(t)
	a := zoneKey("us-east-1a", "m5.large")
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the fill's panic", r)
			}
		}()
		s.Import(context.Background(), RunInfo{Source: "test"}, func(w *Writer) error {
			for i := range priceBatchSize + 5 {
				w.AddPrice(pt(a, i, 1))
			}
			panic("boom")
		})
	}()
	st, err := s.Import(context.Background(), RunInfo{Source: "test"}, addAll(pt(a, 0, 1)))
	if err != nil || st.Stored() != 1 {
		t.Fatalf("import after a panicking fill: %+v %v", st, err)
	}
	if c := counts(t, s); c["prices"] != 1 || c["pools"] != 1 || c["ingest_runs"] != 1 {
		t.Errorf("counts = %v", c)
	}
}

// Two Stores opened on one file in one process share DuckDB's database;
// each must see the pools the other added.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.duckdb")
	s1, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	a, b := zoneKey("us-east-1a", "m5.large"), zoneKey("us-east-1b", "m5.large")
	if _, err := s1.Import(ctx, RunInfo{Source: "test"}, addAll(pt(a, 0, 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Import(ctx, RunInfo{Source: "test"}, addAll(pt(b, 0, 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Import(ctx, RunInfo{Source: "test"}, addAll(pt(b, 1, 1), pt(zoneKey("us-east-1c", "m5.large"), 0, 1))); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, s2); c["pools"] != 3 || c["prices"] != 4 {
		t.Errorf("counts = %v", c)
	}
}

func TestWriterAfterImport(t *testing.T) {
	s := openMem(t)
	var kept *Writer
	if _, err := s.Import(context.Background(), RunInfo{Source: "test"}, func(w *Writer) error { kept = w; return nil }); err != nil {
		t.Fatal(err)
	}
	a := zoneKey("us-east-1a", "m5.large")
	if err := kept.AddPrice(pt(a, 0, 1)); err == nil {
		t.Error("AddPrice after the import ended succeeded")
	}
	if err := kept.AddEvent(market.Event{Time: t0, Cloud: "aws", Region: "us-east-1", Kind: "x"}); err == nil {
		t.Error("AddEvent after the import ended succeeded")
	}
}

func TestAddValidation(t *testing.T) {
	okAdvisor := market.AdvisorRow{Region: "us-east-1", OS: "Linux", InstanceType: "m5.large", Bucket: 1, SavingsPct: 50, Snapshot: t0}
	okType := market.InstanceType{Cloud: "aws", Name: "m5.large", VCPU: 2, MemoryGiB: 8}
	okOD := market.OnDemandPrice{Cloud: "aws", Region: "us-east-1", InstanceType: "m5.large", Product: "Linux", Date: t0, Price: 0.096}
	okPS := market.PlacementScore{Region: "us-east-1", InstanceTypes: []string{"m5.large"}, TargetCapacity: 1, Score: 5, Time: t0}
	okEv := market.Event{Time: t0, Cloud: "aws", Region: "us-east-1", Kind: market.EventRebalance, Count: 1}
	cases := []struct {
		name  string
		add   func(w *Writer) error
		field string
	}{
		{"advisor bucket", func(w *Writer) error { a := okAdvisor; a.Bucket = 5; return w.AddAdvisor(a) }, "bucket"},
		{"advisor savings", func(w *Writer) error { a := okAdvisor; a.SavingsPct = -1; return w.AddAdvisor(a) }, "savings_pct"},
		{"advisor type", func(w *Writer) error { a := okAdvisor; a.InstanceType = " "; return w.AddAdvisor(a) }, "instance_type"},
		{"advisor snapshot", func(w *Writer) error { a := okAdvisor; a.Snapshot = time.Time{}; return w.AddAdvisor(a) }, "snapshot"},
		{"type name", func(w *Writer) error { it := okType; it.Name = ""; return w.AddInstanceType(it) }, "name"},
		{"type memory", func(w *Writer) error { it := okType; it.MemoryGiB = math.NaN(); return w.AddInstanceType(it) }, "memory_gib"},
		{"type gpus", func(w *Writer) error { it := okType; it.GPUCount = -1; return w.AddInstanceType(it) }, "gpu_count"},
		{"on-demand price", func(w *Writer) error { o := okOD; o.Price = -1; return w.AddOnDemand(o) }, "price"},
		{"on-demand date", func(w *Writer) error { o := okOD; o.Date = time.Time{}; return w.AddOnDemand(o) }, "date"},
		{"on-demand region", func(w *Writer) error { o := okOD; o.Region = ""; return w.AddOnDemand(o) }, "region"},
		{"score range", func(w *Writer) error { p := okPS; p.Score = 11; return w.AddPlacementScore(p) }, "score"},
		{"score request", func(w *Writer) error { p := okPS; p.InstanceTypes = nil; return w.AddPlacementScore(p) }, "instance_types"},
		{"score time", func(w *Writer) error { p := okPS; p.Time = time.Time{}; return w.AddPlacementScore(p) }, "time"},
		{"event kind", func(w *Writer) error { e := okEv; e.Kind = ""; return w.AddEvent(e) }, "kind"},
		{"event count", func(w *Writer) error { e := okEv; e.Count = -2; return w.AddEvent(e) }, "count"},
		{"event time", func(w *Writer) error { e := okEv; e.Time = time.Time{}; return w.AddEvent(e) }, "time"},
	}
	s := openMem(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var addErr error
			_, err := s.Import(context.Background(), RunInfo{Source: "test"}, func(w *Writer) error {
				addErr = tc.add(w)
				return addErr
			})
			if err == nil || addErr == nil {
				t.Fatal("bad row accepted")
			}
			if !strings.Contains(addErr.Error(), "field "+tc.field+":") {
				t.Errorf("error %q does not name field %s", addErr, tc.field)
			}
		})
	}
	// The good rows pass, and a second import of them stores nothing.
	good := func(w *Writer) error {
		return errors.Join(w.AddAdvisor(okAdvisor), w.AddInstanceType(okType), w.AddOnDemand(okOD),
			w.AddPlacementScore(okPS), w.AddEvent(okEv), w.AddEvent(okEv))
	}
	for i, want := range []int64{5, 0} {
		st, err := s.Import(context.Background(), RunInfo{Source: "test"}, good)
		if err != nil {
			t.Fatal(err)
		}
		if st.Added() != 6 || st.Stored() != want {
			t.Errorf("import %d: added %d stored %d, want 6, %d (%+v)", i+1, st.Added(), st.Stored(), want, st.Tables)
		}
	}
}

// TestImportChunkedMerge: rows that may repeat a stored key are staged and
// merged in chunks (here of 1,000 rows) inside the one transaction; rows
// beyond every pool's stored range go straight into prices. Whatever the
// path, each key is stored once and counts add up.
func TestImportChunkedMerge(t *testing.T) {
	defer func(n int64) { stageChunk = n }(stageChunk)
	stageChunk = 1000
	ctx := context.Background()
	s := openMem(t)
	pools := []market.PoolKey{zoneKey("us-east-1a", "m5.large"), zoneKey("us-east-1b", "m5.large"), zoneKey("us-east-1c", "c5.large")}
	rows := func(from, to int, repeatEvery int) func(w *Writer) error {
		return func(w *Writer) error {
			for h := from; h < to; h++ {
				for _, k := range pools {
					if err := w.AddPrice(pt(k, h, float64(h))); err != nil {
						return err
					}
					if repeatEvery > 0 && h%repeatEvery == 0 {
						if err := w.AddPrice(pt(k, h, -0+float64(h)+0.5)); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}
	}
	st, err := s.Import(ctx, RunInfo{Source: "a"}, rows(0, 2000, 0))
	if err != nil || st.Stored() != 6000 {
		t.Fatalf("first import: %+v, %v", st, err)
	}
	// A re-import: every row staged, six chunks, nothing stored.
	st, err = s.Import(ctx, RunInfo{Source: "a"}, rows(0, 2000, 0))
	if err != nil || st.Stored() != 0 || st.Added() != 6000 {
		t.Fatalf("re-import: %+v, %v", st, err)
	}
	// Overlap plus new rows plus repeats within the import: hours
	// 1500-3499, each 100th hour twice (the first row wins).
	st, err = s.Import(ctx, RunInfo{Source: "a"}, rows(1500, 3500, 100))
	if err != nil || st.Stored() != 4500 {
		t.Fatalf("overlapping import: stored %d, %v; want 4500", st.Stored(), err)
	}
	if c := counts(t, s); c["prices"] != 10500 {
		t.Errorf("prices = %d, want 10500", c["prices"])
	}
	ser, err := s.Series(ctx, pools[0], time.Time{}, time.Time{})
	if err != nil || len(ser) != 3500 {
		t.Fatalf("series: %d points, %v", len(ser), err)
	}
	for i, p := range ser {
		if p.Price != float64(i) {
			t.Fatalf("point %d price %v, want %d (the first row of a repeated key wins)", i, p.Price, i)
		}
	}
}

// TestImportStreamAndStage: batches whose rows all go straight into
// prices are streamed through one INSERT; a batch with a row to stage
// closes the stream and goes through the Appenders, and the next direct
// batches open a new stream. Across those hand-overs (and through pool
// handles as well as keys) every key is stored once and counts add up.
func TestImportStreamAndStage(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	pools := []market.PoolKey{zoneKey("us-east-1a", "m5.large"), zoneKey("us-east-1b", "m5.large"), zoneKey("us-east-1c", "c5.large")}
	hours := func(spans ...[2]int) func(w *Writer) error {
		return func(w *Writer) error {
			handle, err := w.Pool(pools[0])
			if err != nil {
				return err
			}
			for _, sp := range spans {
				for h := sp[0]; h < sp[1]; h++ {
					if err := w.AddPriceTo(handle, pt(pools[0], h, float64(h))); err != nil {
						return err
					}
					for _, k := range pools[1:] {
						if err := w.AddPrice(pt(k, h, float64(h))); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}
	}
	// 60,000 rows: two batches, both streamed.
	st, err := s.Import(ctx, RunInfo{Source: "a"}, hours([2]int{0, 20000}))
	if err != nil || st.Stored() != 60000 {
		t.Fatalf("first import: %+v, %v", st, err)
	}
	// New hours (streamed), hours half stored (staged and direct rows in
	// the same batches), then new hours again (a new stream).
	st, err = s.Import(ctx, RunInfo{Source: "a"}, hours([2]int{30000, 50000}, [2]int{10000, 25000}, [2]int{60000, 80000}))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(3 * (20000 + 5000 + 20000)); st.Stored() != want || st.Added() != 3*55000 {
		t.Fatalf("second import: stored %d of %d rows, want %d", st.Stored(), st.Added(), want)
	}
	if c := counts(t, s); c["prices"] != 195000 {
		t.Errorf("prices = %d, want 195000", c["prices"])
	}
	for _, k := range pools {
		ser, err := s.Series(ctx, k, time.Time{}, time.Time{})
		if err != nil || len(ser) != 65000 {
			t.Fatalf("%v: %d points, %v; want 65000", k, len(ser), err)
		}
		for i := 1; i < len(ser); i++ {
			if !ser[i].Time.After(ser[i-1].Time) || ser[i].Price != float64(ser[i].Time.Sub(ser[0].Time)/time.Hour) {
				t.Fatalf("%v point %d: %v at %v after %v", k, i, ser[i].Price, ser[i].Time, ser[i-1].Time)
			}
		}
	}
	// A handle from another import is refused, not stored.
	if _, err := s.Import(ctx, RunInfo{Source: "a"}, func(w *Writer) error {
		return w.AddPriceTo(1<<30, pt(pools[0], 90000, 1))
	}); err == nil {
		t.Error("a price for an unknown pool handle was accepted")
	}
}
