package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// points is a set of price points kept without pointers per row (keys
// by index), so the garbage collector does not scan them while a
// benchmark runs: a real import streams its rows and holds none.
type points struct {
	keys []market.PoolKey
	rows []pointRow
	// daily marks daily bars; source and fetched are the same for all rows.
	daily   bool
	source  string
	fetched time.Time
}

type pointRow struct {
	key   int32
	ts    int64 // Unix microseconds
	price float64
	bar   market.Bar
}

func (p *points) at(i int) market.PricePoint {
	r := &p.rows[i]
	return market.PricePoint{Pool: p.keys[r.key], Time: time.UnixMicro(r.ts).UTC(), Price: r.price,
		Bar: r.bar, HasBar: p.daily, Source: p.source, FetchedAt: p.fetched}
}

func (p *points) fill(w *Writer) error {
	for i := range p.rows {
		if err := w.AddPrice(p.at(i)); err != nil {
			return err
		}
	}
	return nil
}

// syntheticPoints is n price changes over pools pools, in time order the
// way DescribeSpotPriceHistory files come.
func syntheticPoints(n, pools int) *points {
	p := &points{keys: make([]market.PoolKey, pools), rows: make([]pointRow, n),
		source: "file:synthetic.csv", fetched: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)}
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}
	for i := range p.keys {
		p.keys[i] = market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: zones[i%len(zones)],
			InstanceType: fmt.Sprintf("m%d.%dxlarge", i/len(zones)%50, i/len(zones)/50), Product: "Linux/UNIX"}
	}
	for i := range p.rows {
		p.rows[i] = pointRow{key: int32((i * 7919) % pools), ts: t0.Add(time.Duration(i) * time.Second).UnixMicro(),
			price: 0.1 + float64(i%1000)/1000}
	}
	return p
}

// syntheticPrices is syntheticPoints as a slice, for tests.
func syntheticPrices(n, pools int) []market.PricePoint {
	p := syntheticPoints(n, pools)
	out := make([]market.PricePoint, n)
	for i := range out {
		out[i] = p.at(i)
	}
	return out
}

// BenchmarkImportPrices measures the Writer path alone (no parsing): 1M
// price rows through AddPrice, the Appender and the merge, into a new
// in-memory store.
func BenchmarkImportPrices(b *testing.B) {
	const n = 1_000_000
	pts := syntheticPoints(n, 5000)
	ctx := context.Background()
	var cpu cpuMeter
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := Open(ctx, "", Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu.on()
		st, err := s.Import(ctx, RunInfo{Source: "file:synthetic.csv"}, pts.fill)
		if err != nil {
			b.Fatal(err)
		}
		cpu.off()
		b.StopTimer()
		if st.Stored() != n {
			b.Fatalf("stored %d, want %d", st.Stored(), n)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	cpu.report(b)
}

// cpuTime is the process's user+system CPU time. Benchmarks report it
// per op next to wall time: on a shared machine wall time swings with
// other load, CPU time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter accumulates CPU time over the timed parts of a benchmark.
type cpuMeter struct {
	start, total time.Duration
}

func (m *cpuMeter) on()  { m.start = cpuTime() }
func (m *cpuMeter) off() { m.total += cpuTime() - m.start }
func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(m.total.Seconds()*1000/float64(b.N), "cpu-ms/op")
}

// dataDir is ../shared/data from the repository root.
func dataDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "data"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("real data not found at %s (../shared beside the repository): %v", dir, err)
	}
	return dir
}

var (
	perAZCSV = filepath.Join("aws", "spot-price-history", "us-east-1_2021-03-02_2021-05-31.csv.gz")
	dailyCSV = filepath.Join("aws", "spot-daily", "spot_daily_ohlc_until_2026-01-31.csv.gz")
)

// nativePerAZ is DuckDB's own path for the per-AZ CSV into the same
// tables: read_csv into a temporary table, new pools, a provenance row,
// the pool join into the staging table, and the same merge Import uses.
// The file's timestamps all carry +00:00, so reading them as TIMESTAMP
// is exact and spares DuckDB the time-zone conversion.
const nativePerAZ = `
BEGIN TRANSACTION;
CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv(%s, header = true, columns = {
	'timestamp': 'TIMESTAMP', 'availability_zone': 'VARCHAR', 'instance_type': 'VARCHAR',
	'product_description': 'VARCHAR', 'spot_price': 'DOUBLE'});
INSERT INTO pools
SELECT (SELECT coalesce(max(id), 0) FROM pools) + row_number() OVER (), 'aws',
       left(availability_zone, length(availability_zone) - 1), availability_zone, instance_type, product_description, 'change'
FROM (SELECT DISTINCT availability_zone, instance_type, product_description FROM raw) d;
INSERT INTO provenance VALUES (1, 1, 'file:native.csv', now()::TIMESTAMP);
INSERT INTO temp.stage_prices
SELECT p.id, epoch_us(r.timestamp), r.spot_price, 1
FROM raw r JOIN pools p ON p.cloud = 'aws' AND p.zone = r.availability_zone
	AND p.instance_type = r.instance_type AND p.product = r.product_description AND p.resolution = 'change';
`

const nativeDaily = `
BEGIN TRANSACTION;
CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv(%s, header = true, columns = {
	'provider': 'VARCHAR', 'region': 'VARCHAR', 'instance_type': 'VARCHAR', 'date': 'DATE',
	'open': 'DOUBLE', 'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'avg': 'DOUBLE'});
INSERT INTO pools
SELECT (SELECT coalesce(max(id), 0) FROM pools) + row_number() OVER (), provider, region, '', instance_type, '', '1d'
FROM (SELECT DISTINCT provider, region, instance_type FROM raw) d;
INSERT INTO provenance VALUES (1, 1, 'file:native.csv', now()::TIMESTAMP);
INSERT INTO temp.stage_bars
SELECT p.id, epoch_us(r.date::TIMESTAMP), r.avg, r.open, r.high, r.low, r.close, 1
FROM raw r JOIN pools p ON p.cloud = r.provider AND p.region = r.region AND p.zone = ''
	AND p.instance_type = r.instance_type AND p.product = '' AND p.resolution = '1d';
`

// BenchmarkReadCSVNative is DuckDB's own read_csv of the real files into
// the same staging and prices tables, for setting the Go path (parser +
// Writer) side by side.
func BenchmarkReadCSVNative(b *testing.B) {
	for _, bc := range []struct {
		name, file, load string
		rows             int64
	}{
		{"per-az", perAZCSV, nativePerAZ, 917_340},
		{"daily", dailyCSV, nativeDaily, 1_843_134},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(dataDir(b), bc.file)
			ctx := context.Background()
			var cpu cpuMeter
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				s, err := Open(ctx, "", Options{})
				if err != nil {
					b.Fatal(err)
				}
				conn, err := s.db.Conn(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu.on()
				if _, err := conn.ExecContext(ctx, stagingDDL); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, fmt.Sprintf(bc.load, quote(path))); err != nil {
					b.Fatal(err)
				}
				res, err := conn.ExecContext(ctx, mergePricesSQL, "1970-01-01", "2999-01-01")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, dropStagingDDL+"DROP TABLE temp.raw; COMMIT;"); err != nil {
					b.Fatal(err)
				}
				cpu.off()
				b.StopTimer()
				if n, _ := res.RowsAffected(); n != bc.rows {
					b.Fatalf("stored %d rows, want %d", n, bc.rows)
				}
				conn.Close()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(bc.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			cpu.report(b)
		})
	}
}

// realPoints reads a real file through DuckDB (untimed), so
// BenchmarkImportReal measures the Writer on the real rows without any
// parser.
func realPoints(b *testing.B, file string) *points {
	path := filepath.Join(dataDir(b), file)
	s, err := Open(context.Background(), "", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	daily := file == dailyCSV
	q := `SELECT 'aws', left(availability_zone, length(availability_zone) - 1), availability_zone, instance_type,
		product_description, epoch_us(timestamp), spot_price, 0.0, 0.0, 0.0, 0.0 FROM read_csv(?)`
	if daily {
		q = `SELECT provider, region, '', instance_type, '', epoch_us(date::TIMESTAMP), avg, open, high, low, close FROM read_csv(?)`
	}
	rows, err := s.db.Query(q, path)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	p := &points{daily: daily, source: "file:bench", fetched: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	index := map[market.PoolKey]int32{}
	for rows.Next() {
		var k market.PoolKey
		var r pointRow
		if err := rows.Scan(&k.Cloud, &k.Region, &k.Zone, &k.InstanceType, &k.Product, &r.ts, &r.price,
			&r.bar.Open, &r.bar.High, &r.bar.Low, &r.bar.Close); err != nil {
			b.Fatal(err)
		}
		id, ok := index[k]
		if !ok {
			id = int32(len(p.keys))
			index[k] = id
			p.keys = append(p.keys, k)
		}
		r.key = id
		p.rows = append(p.rows, r)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkImportReal is the Writer path (AddPrice, Appender, merge,
// commit) on the real files' rows, parsed beforehand, into a new store
// file: the store's share of an end-to-end import.
func BenchmarkImportReal(b *testing.B) {
	for _, bc := range []struct{ name, file string }{{"per-az", perAZCSV}, {"daily", dailyCSV}} {
		b.Run(bc.name, func(b *testing.B) {
			pts := realPoints(b, bc.file)
			ctx := context.Background()
			var cpu cpuMeter
			dir := b.TempDir()
			phases := map[string]time.Duration{}
			var last time.Time
			importHook = func(phase string) {
				phases[phase] += time.Since(last)
				last = time.Now()
			}
			defer func() { importHook = nil }()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				// A file, as a user's store is.
				s, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("%d.duckdb", i)), Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				last = time.Now()
				cpu.on()
				st, err := s.Import(ctx, RunInfo{Source: "file:bench"}, pts.fill)
				if err != nil {
					b.Fatal(err)
				}
				cpu.off()
				b.StopTimer()
				if st.Stored() != int64(len(pts.rows)) {
					b.Fatalf("stored %d, want %d", st.Stored(), len(pts.rows))
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(pts.rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			cpu.report(b)
			for p, d := range phases {
				b.ReportMetric(float64(d.Milliseconds())/float64(b.N), p+"-ms")
			}
		})
	}
}
