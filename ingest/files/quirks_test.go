package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// quirks is a per-AZ CSV with one row of each kind real and broken price
// files have: a year-9999 time (line 3), invalid UTF-8 (4), a NUL byte
// (5), a zone no region has (6), a 1e308 price (7), zero prices, a feed
// glitch (8, 10), and a Local Zone (9).
var quirks = td("quirks/spot_prices_quirks.csv")

func TestQuirksStrictNamesTheLine(t *testing.T) {
	s := openStore(t)
	rep, err := Import(context.Background(), s, []string{quirks}, Options{})
	if err == nil || !strings.Contains(err.Error(), "spot_prices_quirks.csv:3:") || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("err = %v, want the year-9999 row named with FILE:3", err)
	}
	if c := counts(t, s); c["prices"] != 0 || rep.RowsStored != 0 {
		t.Errorf("a failed file stored %d rows (%v)", rep.RowsStored, c)
	}
}

func TestQuirksSkipBad(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	rep, err := Import(ctx, s, []string{quirks}, Options{SkipBad: true, MaxBadReasons: 10})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	if f.RowsRead != 10 || f.BadRows != 5 || f.Skipped != 2 || f.RowsStored != 3 {
		t.Errorf("read %d bad %d skipped %d stored %d; want 10, 5, 2, 3 (%+v)", f.RowsRead, f.BadRows, f.Skipped, f.RowsStored, f)
	}
	if f.SkipReasons[zeroPrice] != 2 {
		t.Errorf("skip reasons = %v, want 2 zero prices", f.SkipReasons)
	}
	for i, want := range []string{":3: field time: time 9999", ":4: field pool.instance_type: invalid UTF-8",
		":5: field pool.instance_type: NUL byte", `:6: availability zone "us-east-1q": not a zone of us-east-1`,
		":7: spot_price \"1e308\": above the plausible maximum of 1000 USD/h"} {
		if i >= len(f.BadReasons) || !strings.Contains(f.BadReasons[i], want) {
			t.Errorf("bad reason %d = %q, want it to contain %q", i, f.BadReasons[i:min(i+1, len(f.BadReasons))], want)
		}
	}
	// The Local Zone's pool belongs to its parent region.
	ser, err := s.Series(ctx, market.PoolKey{Cloud: market.AWS, Region: "us-west-2", Zone: "us-west-2-lax-1a",
		InstanceType: "g4dn.xlarge", Product: "Linux/UNIX"}, time.Time{}, time.Time{})
	if err != nil || len(ser) != 1 || ser[0].Price != 0.3156 {
		t.Errorf("Local Zone series = %+v, %v", ser, err)
	}
}

// TestZeroPricesImportTheRest: zero prices in real AWS history are counted
// and reported; the rest of the file imports without --skip-bad.
func TestZeroPricesImportTheRest(t *testing.T) {
	b, err := os.ReadFile(quirks)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	path := filepath.Join(t.TempDir(), "zeros.csv")
	// Header, the good row, the zeros, the Local Zone and the last row.
	keep := lines[0] + lines[1] + lines[7] + lines[8] + lines[9] + lines[10]
	if err := os.WriteFile(path, []byte(keep), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	rep, err := Import(context.Background(), s, []string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.RowsStored != 3 || f.Skipped != 2 || f.BadRows != 0 {
		t.Errorf("stored %d skipped %d bad %d; want 3, 2, 0", f.RowsStored, f.Skipped, f.BadRows)
	}
}

func TestMaxPriceOption(t *testing.T) {
	s := openStore(t)
	_, err := Import(context.Background(), s, []string{td("spot_prices.csv")}, Options{MaxPrice: 0.5})
	if err == nil || !strings.Contains(err.Error(), "above the plausible maximum of 0.5 USD/h") {
		t.Errorf("err = %v, want the bound named", err)
	}
}

func TestDailyLocalZoneRegion(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	rep, err := Import(ctx, s, []string{td("quirks/daily_local_zone.csv")}, Options{})
	if err != nil || rep.RowsStored != 2 {
		t.Fatalf("stored %d, %v", rep.RowsStored, err)
	}
	ser, err := s.SeriesOf(ctx, market.PoolKey{Cloud: market.AWS, Region: "us-west-2", Zone: "us-west-2-lax-1",
		InstanceType: "g4dn.xlarge"}, market.ResolutionDaily, time.Time{}, time.Time{})
	if err != nil || len(ser) != 1 {
		t.Errorf("Local Zone daily series = %+v, %v", ser, err)
	}
}

// TestNotRegularFile: a FIFO (no writer: opening it would block for ever)
// is refused at once, naming what it is.
func TestNotRegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "prices.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	s := openStore(t)
	done := make(chan error, 1)
	go func() {
		_, err := Import(context.Background(), s, []string{fifo}, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("import of a FIFO hangs")
	}
}

// TestChecksumOfReadBytes: the run's SHA-256 is of the file's bytes, read
// once while parsing (gzip: of the compressed bytes).
func TestChecksumOfReadBytes(t *testing.T) {
	for _, name := range []string{"spot_prices.csv", "spot_prices.csv.gz", "describe_spot_price_history.json"} {
		b, err := os.ReadFile(td(name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		s := openStore(t)
		rep, err := Import(context.Background(), s, []string{td(name)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		runs, err := s.IngestRuns(context.Background(), 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %v, %v", runs, err)
		}
		if want := hex.EncodeToString(sum[:]); rep.Files[0].SHA256 != want || runs[0].SHA256 != want {
			t.Errorf("%s: report sha %s, run sha %s, want %s", name, rep.Files[0].SHA256, runs[0].SHA256, want)
		}
	}
}

// TestLongEventID: an event id far over any sane length (here 64 KiB, a
// stand-in for the 50 MB one) is a bad row with its line, skippable.
func TestLongEventID(t *testing.T) {
	b, err := os.ReadFile(td("events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	long := strings.Replace(first, `"id":"1e5527d7-bb36-4607-3370-4164db56a40e"`, `"id":"`+strings.Repeat("x", 64<<10)+`"`, 1)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(rest+"\n"+long+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	if _, err := Import(context.Background(), s, []string{path}, Options{}); err == nil || !strings.Contains(err.Error(), "event_id") {
		t.Fatalf("strict: err = %v, want the event id refused", err)
	}
	lines := int64(strings.Count(rest, "\n") + 2)
	rep, err := Import(context.Background(), s, []string{path}, Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Files[0]
	if f.BadRows != 1 || f.RowsStored != f.RowsRead-1 || len(f.BadReasons) != 1 ||
		!strings.Contains(f.BadReasons[0], fmt.Sprintf("events.ndjson:%d:", lines)) {
		t.Errorf("skip-bad: %+v", f)
	}
}
