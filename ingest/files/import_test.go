package files

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcast/spotcast/storage"
)

// TestImportTestdata: every good testdata file through Import into a
// real store; a second run stores nothing new.
func TestImportTestdata(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	files := []string{
		td("spot_prices.csv"), td("describe_spot_price_history.json"), td("daily_ohlc.csv"),
		td("ondemand_us-east-1.json"), td("spot-advisor-data_2024-01.json"), td("describe_instance_types.json"),
		td("instances_by_region_2024-04.csv"), td("gcp_prices.csv"), td("gcp_machine_types.json"),
		td("placement_scores_wrapped.json"), td("events.ndjson"), td("events_array.json"), td("skypilot"),
	}
	rep, err := Import(ctx, s, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 12 files + 3 traces under skypilot/.
	if len(rep.Files) != 15 {
		t.Fatalf("files = %d", len(rep.Files))
	}
	// spot_prices.csv and the JSON share the point (us-east-1a, p3.2xlarge,
	// Linux/UNIX, 2021-05-30T15:22:04Z): one duplicate.
	if rep.Duplicates != 1 {
		t.Errorf("duplicates = %d, want 1", rep.Duplicates)
	}
	c := counts(t, s)
	// Prices: 5 + 1 + 4 + 3 GCP spot + 2 trace prices.
	want := map[string]int64{"prices": 15, "advisor": 3, "instance_types": 12, "ondemand_prices": 9,
		"placement_scores": 2, "events": 3 + 5 + 4 + 4, "ingest_runs": 15}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, c[k], v, c)
		}
	}
	if rep.RowsStored != c["prices"]+c["advisor"]+c["instance_types"]+c["ondemand_prices"]+c["placement_scores"]+c["events"] {
		t.Errorf("rows_stored %d does not add up to the tables %v", rep.RowsStored, c)
	}
	rep2, err := Import(ctx, s, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.RowsStored != 0 || rep2.Duplicates != rep.RowsStored+rep.Duplicates {
		t.Errorf("re-import stored %d, duplicates %d; want 0 and %d", rep2.RowsStored, rep2.Duplicates, rep.RowsStored+rep.Duplicates)
	}
}

// TestImportBadFileLeavesStoreUnchanged: a bad row fails its file (and
// only that file), nothing of it is stored, the error names FILE:LINE, and
// the report JSON keeps the contract's names.
func TestImportBadFileLeavesStoreUnchanged(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	before := counts(t, s)
	bad := td("bad/not_a_number.csv")
	rep, err := Import(ctx, s, []string{bad, td("daily_ohlc.csv")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 files failed") || !strings.Contains(err.Error(), bad+":4:") {
		t.Fatalf("err = %v", err)
	}
	after := counts(t, s)
	if after["prices"] != 4 || after["ingest_runs"] != before["ingest_runs"]+1 {
		t.Errorf("counts %v: the bad file must store nothing, the good one its 4 rows", after)
	}
	if rep.Files[0].Error == "" || rep.Files[0].RowsStored != 0 || rep.Files[1].Error != "" {
		t.Errorf("report = %+v", rep.Files)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"rows_read", "rows_stored", "duplicates", "bad_rows", "files"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
	f0 := m["files"].([]any)[0].(map[string]any)
	for _, k := range []string{"path", "format", "rows_read", "rows_stored", "duplicates", "bad_rows", "skipped", "tables", "error"} {
		if _, ok := f0[k]; !ok {
			t.Errorf("file report JSON lacks %q: %v", k, f0)
		}
	}

	// SkipBad stores the good rows and counts the bad one.
	rep, err = Import(ctx, s, []string{bad}, Options{SkipBad: true})
	if err != nil || rep.RowsStored != 2 || rep.BadRows != 1 || len(rep.Files[0].BadReasons) != 1 {
		t.Errorf("SkipBad: %v %+v", err, rep)
	}
}

// realCount is an independent count of distinct (zone, type, product,
// timestamp) keys in the per-AZ CSV: plain string splitting and a map,
// no code shared with the parser.
func realCount(t *testing.T, path string) (rows, distinct int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	seen := map[string]struct{}{}
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), ",")
		if len(cols) != 5 {
			t.Fatalf("line %q", sc.Text())
		}
		rows++
		seen[cols[1]+"|"+cols[2]+"|"+cols[3]+"|"+cols[0]] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, len(seen)
}

// TestImportRealPriceHistory: the real per-AZ CSV stores exactly its
// distinct keys (counted independently), re-importing stores nothing, and
// the describe-spot-price-history JSON of its last week is all duplicates.
func TestImportRealPriceHistory(t *testing.T) {
	dir := dataDir(t)
	ctx := context.Background()
	s := openStore(t)
	csvPath := filepath.Join(dir, perAZCSV)
	rows, distinct := realCount(t, csvPath)
	rep, err := Import(ctx, s, []string{csvPath}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsRead != int64(rows) || rep.RowsStored != int64(distinct) || rep.Duplicates != int64(rows-distinct) {
		t.Errorf("read %d stored %d dup %d; independent count: %d rows, %d distinct", rep.RowsRead, rep.RowsStored, rep.Duplicates, rows, distinct)
	}
	if c := counts(t, s); c["prices"] != int64(distinct) || c["pools"] != 4911 {
		t.Errorf("counts = %v, want %d prices in 4911 pools (the data's README)", c, distinct)
	}
	rep, err = Import(ctx, s, []string{csvPath}, Options{})
	if err != nil || rep.RowsStored != 0 {
		t.Errorf("re-import: %v, stored %d", err, rep.RowsStored)
	}
	jsonPath := filepath.Join(dir, "aws/spot-price-history/us-east-1_2021-05-24_2021-05-31.describe-spot-price-history.json.gz")
	rep, err = Import(ctx, s, []string{jsonPath}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsRead != 75362 || rep.RowsStored != 0 || rep.Duplicates != 75362 {
		t.Errorf("JSON after CSV: read %d stored %d dup %d, want all 75362 duplicates", rep.RowsRead, rep.RowsStored, rep.Duplicates)
	}
}

// TestImportRealData: everything else in ../shared/data imports; stored
// counts are checked against independent counts where the file makes one
// easy, and the 12 empty describe-instance-types files fail as empty.
func TestImportRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("imports ~2M real rows")
	}
	dir := dataDir(t)
	ctx := context.Background()
	s := openStore(t)
	rep, err := Import(ctx, s, []string{
		filepath.Join(dir, "aws/spot-daily"), filepath.Join(dir, "aws/spot-advisor"),
		filepath.Join(dir, "aws/instance-types"), filepath.Join(dir, "gcp"),
		filepath.Join(dir, "traces/skypilot-spot-traces"),
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "12 of") {
		t.Errorf("err = %v, want the 12 empty files to fail", err)
	}
	byBase := map[string]FileReport{}
	imported := 0
	for _, f := range rep.Files {
		if f.Error != "" {
			if !strings.Contains(f.Error, "empty file") {
				t.Errorf("%s: %s", f.Path, f.Error)
			}
			continue
		}
		byBase[filepath.Base(f.Path)] = f
		imported++
	}
	// 269 describe-instance-types files, 12 empty; 35 traces.
	if n := imported; n != 3+2+1+257+2+35 {
		t.Errorf("%d files imported", n)
	}
	for base, want := range map[string]struct{ read, stored int64 }{
		// Counted with zcat | wc -l (minus the header), every row distinct.
		"spot_daily_ohlc_until_2026-01-31.csv.gz": {1843134, 1843134},
		// Two snapshots: rows per region/OS/type, minus one negative saving.
		"spot-advisor-data_2021-02.json": {7890, 7890},
		"spot-advisor-data_2025-07.json": {25323, 25322},
	} {
		f := byBase[base]
		if f.RowsRead != want.read || f.RowsStored != want.stored {
			t.Errorf("%s: read %d stored %d, want %d and %d", base, f.RowsRead, f.RowsStored, want.read, want.stored)
		}
	}
	c := counts(t, s)
	if c["advisor"] != 7890+25322 {
		t.Errorf("advisor = %d", c["advisor"])
	}
	// 767 distinct types in the catalogue CSV, 257 describe files, 533 GCP machine types.
	if c["instance_types"] != 767+257+533 {
		t.Errorf("instance_types = %d", c["instance_types"])
	}
	gpu, err := s.InstanceType(ctx, "aws", "p3.8xlarge")
	if err != nil || gpu.GPUCount != 4 || gpu.GPUMemoryGiB != 16 {
		t.Errorf("p3.8xlarge = %+v, %v", gpu, err)
	}
	if c["events"] == 0 || c["placement_scores"] != 0 {
		t.Errorf("counts = %v", c)
	}
	_ = storage.ErrNotFound
}
