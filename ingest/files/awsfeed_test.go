package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// feedPrices counts a feed's numeric prices per product with a plain
// decode of the whole document: the independent count the parser's is
// checked against.
func feedPrices(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimSpace(b)
	b = bytes.TrimSuffix(bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("callback(")), []byte(";")), []byte(")"))
	var doc struct {
		Config struct {
			Regions []struct {
				InstanceTypes []struct {
					Sizes []struct {
						ValueColumns []struct {
							Name   string
							Prices map[string]string
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range doc.Config.Regions {
		for _, it := range r.InstanceTypes {
			for _, s := range it.Sizes {
				for _, c := range s.ValueColumns {
					if !strings.HasPrefix(c.Prices["USD"], "N/A") {
						n[c.Name]++
					}
				}
			}
		}
	}
	return n
}

func TestAWSSpotFeed(t *testing.T) {
	snap := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file    string
		regions []string
	}{
		{"aws_spot_feed.json", []string{"ap-southeast-2", "eu-west-1", "us-east-1"}},
		{"aws_spot_feed_jsonp.js", []string{"ap-northeast-1", "us-east-1"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, res, err := parseFile(t, td(tc.file), Options{SnapshotDate: snap})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatAWSSpotFeed {
				t.Fatalf("format %s", res.Format)
			}
			want := feedPrices(t, td(tc.file))
			got := map[string]int{}
			regions := map[string]bool{}
			for _, p := range c.Prices {
				got[p.Pool.Product]++
				regions[p.Pool.Region] = true
				if p.Pool.Cloud != market.AWS || p.Pool.Zone != "" || !p.Time.Equal(snap) || p.Source != "file:"+tc.file {
					t.Errorf("point %+v", p)
				}
			}
			if got["Linux/UNIX"] != want["linux"] || got["Windows"] != want["mswin"] {
				t.Errorf("prices per product %v, independent count %v", got, want)
			}
			for _, r := range tc.regions {
				if !regions[r] {
					t.Errorf("region %s missing (got %v)", r, regions)
				}
			}
			if res.Read == 0 || res.Skipped == 0 {
				t.Errorf("read %d skipped %d: the N/A prices are skipped and counted", res.Read, res.Skipped)
			}
		})
	}
	c, _, err := parseFile(t, td("aws_spot_feed.json"), Options{SnapshotDate: snap})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Prices {
		if p.Pool.InstanceType == "t3.nano" && p.Pool.Product == "Linux/UNIX" && p.Price != 0.0009 {
			t.Errorf("t3.nano price %v, want 9.0E-4 read as 0.0009", p.Price)
		}
	}
}

func TestAWSSpotFeedNeedsATime(t *testing.T) {
	_, _, err := parseFile(t, td("aws_spot_feed.json"), Options{})
	if !errors.Is(err, ingest.ErrBadInput) || !strings.Contains(err.Error(), "time") {
		t.Fatalf("err = %v, want a bad-input error about the unknown time", err)
	}
	// Through Import the file's modification time dates it, and says so.
	s := openStore(t)
	rep, err := Import(context.Background(), s, []string{td("aws_spot_feed.json")}, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Files[0]; f.RowsStored == 0 || len(f.Info) == 0 || !strings.Contains(f.Info[0], "modification time") {
		t.Fatalf("report %+v", f)
	}
}

func TestAWSSpotFeedBad(t *testing.T) {
	snap := fixedNow
	_, _, err := parseFile(t, td("bad/aws_spot_feed_bad_price.json"), Options{SnapshotDate: snap})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != 5 || !strings.Contains(err.Error(), "cheap") {
		t.Fatalf("err = %v, want FILE:5 naming the bad price", err)
	}
	c, res, err := parseFile(t, td("bad/aws_spot_feed_bad_price.json"), Options{SnapshotDate: snap, SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	// The bad record stores nothing, not even its good Windows price.
	if res.Bad != 1 || len(c.Prices) != 2 {
		t.Fatalf("bad %d prices %d, want 1 bad and the first record's 2 prices", res.Bad, len(c.Prices))
	}
	for _, in := range []string{
		`callback({"vers":0.01,"config":{"regions":[]}}`,
		`callback({"vers":0.01,"config":{"regions":[]}}); alert(1)`,
		`{"vers":0.01,"config":{"rate":"perday","regions":[]}}`,
		`{"vers":0.01}`,
	} {
		_, err := Parse(context.Background(), strings.NewReader(in), "x.js", &collect{}, Options{SnapshotDate: snap, Now: clock})
		if !errors.Is(err, ingest.ErrBadInput) {
			t.Errorf("%s: err = %v, want bad input", in, err)
		}
	}
}

func TestChangeFilterStoresChangesOnly(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	f := NewChangeFilter(StoreLatest(s))
	snap := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	imp := func(at time.Time, in string) FileReport {
		t.Helper()
		path := t.TempDir() + "/spot.json"
		if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Import(ctx, s, []string{path}, Options{SnapshotDate: at, Changes: f, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Files[0]
	}
	b, err := os.ReadFile(td("aws_spot_feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	first := imp(snap, string(b))
	want := 0
	for _, n := range feedPrices(t, td("aws_spot_feed.json")) {
		want += n
	}
	if first.RowsStored != int64(want) {
		t.Fatalf("first snapshot stored %d, want %d", first.RowsStored, want)
	}
	// An hour later with the same prices: nothing new.
	if r := imp(snap.Add(time.Hour), string(b)); r.RowsStored != 0 {
		t.Fatalf("unchanged snapshot stored %d rows", r.RowsStored)
	}
	// One price moved: one point.
	moved := strings.Replace(string(b), `"0.9180"`, `"0.9500"`, 1)
	if r := imp(snap.Add(2*time.Hour), moved); r.RowsStored != 1 {
		t.Fatalf("snapshot with one change stored %d rows, want 1", r.RowsStored)
	}
	// A fresh filter reads the store and agrees.
	f = NewChangeFilter(StoreLatest(s))
	if r := imp(snap.Add(3*time.Hour), moved); r.RowsStored != 0 {
		t.Fatalf("a new filter stored %d rows of an unchanged snapshot", r.RowsStored)
	}
	pts, err := s.Series(ctx, market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].Price != 0.918 || pts[1].Price != 0.95 || !pts[1].Time.Equal(snap.Add(2*time.Hour)) {
		t.Fatalf("series %+v", pts)
	}
}
