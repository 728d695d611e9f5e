package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
)

// spotCSV writes n data rows of a spot price CSV; bad (1-based data row
// indices) get an unknown zone, every 1000th row is followed by a blank
// line and every 7th ends in CRLF. It returns the file and each data
// row's line number.
func spotCSV(n int, bad map[int]bool) ([]byte, []int64) {
	var b bytes.Buffer
	b.WriteString("timestamp,availability_zone,instance_type,product_description,spot_price\n")
	lines := make([]int64, n+1)
	line := int64(1)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		zone := []string{"us-east-1a", "us-east-1b", "eu-west-1c"}[i%3]
		if bad[i] {
			zone = "us-east-1z"
		}
		eol := "\n"
		if i%7 == 0 {
			eol = "\r\n"
		}
		line++
		lines[i] = line
		fmt.Fprintf(&b, "%s,%s,m5.%dxlarge,Linux/UNIX,%.4f%s", t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), zone, i%5+1, 0.01+float64(i%997)/1000, eol)
		if i%1000 == 0 {
			b.WriteString("\n")
			line++
		}
	}
	return b.Bytes(), lines
}

// TestSpotCSVBlocks: a spot price CSV of several blocks comes out in file
// order whatever the workers' timing, bad rows name their own line,
// blank lines and CRLF count as lines, and the strict policy stops at the
// first bad row of the file, not of the first worker to meet one.
func TestSpotCSVBlocks(t *testing.T) {
	const n = 120000 // about 9 MiB: nine blocks
	bad := map[int]bool{5: true, 70001: true, 119999: true}
	data, lines := spotCSV(n, bad)
	if len(data) < 4*lineBlockSize {
		t.Fatalf("test file of %d bytes is not several blocks", len(data))
	}
	c := &collect{}
	res, err := Parse(context.Background(), bytes.NewReader(data), "big.csv", c, Options{Format: FormatSpotPriceCSV, SkipBad: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != n || res.Bad != 3 || len(c.Prices) != n-3 {
		t.Fatalf("read %d, bad %d, stored %d; want %d, 3, %d", res.Read, res.Bad, len(c.Prices), n, n-3)
	}
	for i, want := range []int{5, 70001, 119999} {
		if got := res.BadReasons[i]; !strings.HasPrefix(got, fmt.Sprintf("big.csv:%d: ", lines[want])) {
			t.Errorf("bad reason %d = %q, want line %d", i, got, lines[want])
		}
	}
	for i := 1; i < len(c.Prices); i++ {
		if !c.Prices[i].Time.After(c.Prices[i-1].Time) {
			t.Fatalf("price %d at %v after %v: rows out of file order", i, c.Prices[i].Time, c.Prices[i-1].Time)
		}
	}

	_, err = Parse(context.Background(), bytes.NewReader(data), "big.csv", &collect{}, Options{Format: FormatSpotPriceCSV, Now: clock})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != lines[5] {
		t.Fatalf("strict: %v, want the row error of line %d", err, lines[5])
	}
}

// TestSpotCSVLongLine: a line over bufSize in a later block fails with
// its own line number, after the rows before it.
func TestSpotCSVLongLine(t *testing.T) {
	data, lines := spotCSV(40000, nil)
	long := append([]byte("2026-01-01T00:00:00Z,us-east-1a,"), bytes.Repeat([]byte("x"), bufSize+10)...)
	data = append(append(data, long...), []byte(",Linux/UNIX,0.1\n")...)
	c := &collect{}
	_, err := Parse(context.Background(), bytes.NewReader(data), "long.csv", c, Options{Format: FormatSpotPriceCSV, Now: clock})
	want := fmt.Sprintf("long.csv:%d: %v", lines[40000]+2, errTooLong) // row 40000 is followed by a blank line
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if len(c.Prices) != 40000 {
		t.Errorf("%d rows before the long line reached the sink, want 40000", len(c.Prices))
	}
}
