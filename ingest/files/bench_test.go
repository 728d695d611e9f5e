package files

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

const (
	perAZCSV = "aws/spot-price-history/us-east-1_2021-03-02_2021-05-31.csv.gz"
	dailyCSV = "aws/spot-daily/spot_daily_ohlc_until_2026-01-31.csv.gz"
)

// benchImport imports one real file into a fresh on-disk store per
// iteration and reports rows/s (rows read from the file).
func benchImport(b *testing.B, rel string) {
	path := filepath.Join(dataDir(b), rel)
	ctx := context.Background()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		b.StopTimer()
		s := openStore(b)
		b.StartTimer()
		rep, err := Import(ctx, s, []string{path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows += rep.RowsRead
		b.StopTimer()
		if rep.RowsStored != rep.RowsRead {
			b.Fatalf("stored %d of %d rows", rep.RowsStored, rep.RowsRead)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImportPerAZCSV: the 917k-row per-AZ spot price CSV through
// Import into a temporary DuckDB file.
func BenchmarkImportPerAZCSV(b *testing.B) { benchImport(b, perAZCSV) }

// BenchmarkImportDailyCSV: the 1.8M-row daily OHLC CSV likewise.
func BenchmarkImportDailyCSV(b *testing.B) { benchImport(b, dailyCSV) }

// benchParse runs the parser alone (gunzip + parse, rows discarded), to
// tell parser cost from store cost.
func benchParse(b *testing.B, rel string) {
	raw, err := os.ReadFile(filepath.Join(dataDir(b), rel))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		d := &discard{}
		res, err := Parse(context.Background(), bytes.NewReader(raw), rel, d, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Read
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkParsePerAZCSV(b *testing.B) { benchParse(b, perAZCSV) }
func BenchmarkParseDailyCSV(b *testing.B) { benchParse(b, dailyCSV) }

// gunzipped returns the decompressed bytes of a real file.
func gunzipped(b *testing.B, rel string) []byte {
	f, err := os.Open(filepath.Join(dataDir(b), rel))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkSplitCSV is the hand-rolled splitter over the decompressed
// daily file, against encoding/csv on the same bytes below.
func BenchmarkSplitCSV(b *testing.B) {
	raw := gunzipped(b, dailyCSV)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		var fields [][]byte
		var scratch []byte
		data := raw
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				i = len(data)
			}
			fields, _ = splitCSV(fields[:0], data[:i], &scratch)
			rows++
			if i == len(data) {
				break
			}
			data = data[i+1:]
		}
		runtime.KeepAlive(fields)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkEncodingCSV(b *testing.B) {
	raw := gunzipped(b, dailyCSV)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(raw))
		r.ReuseRecord = true
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
