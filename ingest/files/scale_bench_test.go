package files

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// scaleCSV is the whole-market per-AZ CSV (48.6M rows, 33,000 pools),
// written by `spotcast ingest sim --pools 33000 --days 365 --seed 1 --csv
// PATH`; $SPOTCAST_SCALE_CSV names it, /work/scale/market-365d.csv by
// default. The benchmarks skip when it is absent.
func scaleCSV(b *testing.B) string {
	path := os.Getenv("SPOTCAST_SCALE_CSV")
	if path == "" {
		path = "/work/scale/market-365d.csv"
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("whole-market CSV not found (%v): write it with spotcast ingest sim --pools 33000 --days 365 --csv PATH and set SPOTCAST_SCALE_CSV", err)
	}
	return path
}

// peakRSS is the process's peak resident set (VmHWM) in MiB.
func peakRSS(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkScaleImport is the whole-market import side by side with
// DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv(...)` of the same
// file, both into a new DuckDB file, in one run: the ratio of their
// times is the goal (<= 1.0). spotcast runs first, so the process's peak
// RSS after it (peak-MiB) is the import's own.
func BenchmarkScaleImport(b *testing.B) {
	path := scaleCSV(b)
	ctx := context.Background()
	// Both halves read the file from the page cache: whichever ran first
	// would otherwise also pay for reading 3.6 GB from the disk.
	if err := readAll(path); err != nil {
		b.Fatal(err)
	}
	b.Run("spotcast", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := openStore(b)
			b.StartTimer()
			rep, err := Import(ctx, s, []string{path}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if rep.RowsStored != rep.RowsRead {
				b.Fatalf("stored %d of %d rows", rep.RowsStored, rep.RowsRead)
			}
			b.ReportMetric(float64(rep.RowsRead), "rows")
			b.StartTimer()
		}
		b.ReportMetric(peakRSS(b), "peak-MiB")
	})
	b.Run("duckdb-read_csv", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			db, err := sql.Open("duckdb", filepath.Join(b.TempDir(), "ref.duckdb"))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := db.Exec(fmt.Sprintf(`CREATE TABLE t AS SELECT * FROM read_csv('%s')`, strings.ReplaceAll(path, "'", "''"))); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// readAll reads the file once (into the page cache).
func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
