package files

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

const spotlakeSample = "spotlake_2025-09-25_12-00-00.csv"

// spotlakeCounts reads a snapshot with encoding/csv: the independent
// count of what it holds.
func spotlakeCounts(t *testing.T, path string) (prices, scores int, advisor, ondemand map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	advisor, ondemand = map[string]bool{}, map[string]bool{}
	for _, r := range rows[1:] {
		key := r[2] + "/" + r[1] + "/" + r[0][:10]
		if r[9] != "" {
			prices++
		}
		if r[4] != "" {
			scores++
		}
		if r[7] != "" && r[10] != "" {
			advisor[key] = true
		}
		if r[8] != "" {
			ondemand[key] = true
		}
	}
	return
}

func TestSpotLake(t *testing.T) {
	c, res, err := parseFile(t, td(spotlakeSample), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatSpotLake {
		t.Fatalf("format %s", res.Format)
	}
	prices, scores, advisor, ondemand := spotlakeCounts(t, td(spotlakeSample))
	if len(c.Prices) != prices || len(c.Scores) != scores || len(c.Advisor) != len(advisor) || len(c.OnDemand) != len(ondemand) {
		t.Fatalf("prices %d scores %d advisor %d on-demand %d; the file has %d, %d, %d, %d",
			len(c.Prices), len(c.Scores), len(c.Advisor), len(c.OnDemand), prices, scores, len(advisor), len(ondemand))
	}
	at := time.Date(2025, 9, 25, 12, 0, 0, 0, time.UTC)
	if p := c.Prices[0]; p.Pool != (market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "use1-az1", InstanceType: "m7i.large", Product: "Linux/UNIX"}) ||
		p.Price != 0.0401 || !p.Time.Equal(at) {
		t.Errorf("first price %+v", p)
	}
	scale := map[string]int{}
	for _, s := range c.Scores {
		if s.TargetCapacity != 1 || len(s.InstanceTypes) != 1 || s.CapacityUnit != "units" || !market.IsAWSZoneID(s.Zone) {
			t.Errorf("score request %+v: want one type, one AZ, capacity 1", s)
		}
		scale[s.InstanceTypes[0]] = s.ScaleMax
	}
	// From 2025-09-25 P-family single-type scores are on the full scale;
	// the others stay capped at 3.
	if scale["p4d.24xlarge"] != 10 || scale["p5.48xlarge"] != 10 || scale["m7i.large"] != 3 || scale["g5.xlarge"] != 3 {
		t.Errorf("scales %v", scale)
	}
	if a := c.Advisor[1]; a.InstanceType != "p4d.24xlarge" || a.Bucket != 2 || a.SavingsPct != 65 || a.OS != "Linux" ||
		!a.Snapshot.Equal(date(2025, 9, 25)) {
		t.Errorf("advisor %+v", a)
	}
	if res.SkipReasons["IF without Savings (no price to compare)"] != 2 {
		t.Errorf("skips %v", res.SkipReasons)
	}
	// The day before, a P-family score of 3 is on the capped scale.
	in := strings.ReplaceAll(readFile(t, td(spotlakeSample)), "2025-09-25", "2025-09-24")
	in = strings.Replace(in, "p4d.24xlarge,us-east-1,use1-az2,7", "p4d.24xlarge,us-east-1,use1-az2,3", 1)
	in = strings.Replace(in, "p4d.24xlarge,us-east-1,use1-az6,4", "p4d.24xlarge,us-east-1,use1-az6,2", 1)
	c, res, err = parseString(t, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Scores {
		if s.InstanceTypes[0] == "p4d.24xlarge" && s.ScaleMax != 3 {
			t.Errorf("p4d before the change: scale %d", s.ScaleMax)
		}
		if s.InstanceTypes[0] == "p5.48xlarge" && s.ScaleMax != 10 {
			t.Errorf("a 9 before the change must be on the full scale: %+v", s)
		}
	}
	if len(res.Info) != 1 || !strings.Contains(res.Info[0], "above 3") {
		t.Errorf("info %q, want the note on the score above 3", res.Info)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseString(t *testing.T, in string, opts Options) (*collect, Result, error) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock
	}
	c := &collect{}
	res, err := Parse(context.Background(), strings.NewReader(in), "x.csv", c, opts)
	return c, res, err
}

func TestSpotLakeBad(t *testing.T) {
	_, _, err := parseFile(t, td("bad/spotlake_bad_az.csv"), Options{})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != 3 || !strings.Contains(err.Error(), "usw2-az1") {
		t.Fatalf("err = %v, want FILE:3 naming the AZ", err)
	}
	c, res, err := parseFile(t, td("bad/spotlake_bad_az.csv"), Options{SkipBad: true})
	if err != nil || res.Bad != 2 || len(c.Prices) != 1 || !strings.Contains(res.BadReasons[1], "IF") {
		t.Fatalf("skip-bad: %v bad %d %q prices %d", err, res.Bad, res.BadReasons, len(c.Prices))
	}
}

func TestSpotLakeImportStoresChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	dir := t.TempDir()
	first := readFile(t, td(spotlakeSample))
	// Ten minutes later: one price moved.
	second := strings.ReplaceAll(first, "12:00:00", "12:10:00")
	second = strings.Replace(second, "0.0401", "0.0407", 1)
	p1, p2 := filepath.Join(dir, "12-00-00.csv"), filepath.Join(dir, "12-10-00.csv")
	for p, in := range map[string]string{p1: first, p2: second} {
		if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Now: clock, Changes: NewChangeFilter(StoreLatest(s))}
	rep, err := Import(ctx, s, []string{p1, p2}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// First: 10 prices (the c5.large pool has two prices at one time; the
	// store keeps the first), 9 scores, 4 advisor rows, 6 on-demand
	// prices. Second: the moved price, and the c5.large pool's second
	// price, which differs from the kept one; 9 scores of the new time;
	// nothing new for the day.
	if rep.Files[0].RowsStored != 29 || rep.Files[1].RowsStored != 11 {
		t.Fatalf("stored %d then %d: %+v", rep.Files[0].RowsStored, rep.Files[1].RowsStored, rep.Files)
	}
	rep, err = Import(ctx, s, []string{p1, p2}, Options{Now: clock, Changes: NewChangeFilter(StoreLatest(s))})
	if err != nil || rep.RowsStored != 0 {
		t.Fatalf("re-import stored %d (%v)", rep.RowsStored, err)
	}
	scores, err := s.PlacementScores(ctx, "us-east-1", "p4d.24xlarge")
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 || scores[0].ScaleMax != 10 || scores[0].Zone != "use1-az2" || scores[0].Score != 7 {
		t.Fatalf("stored scores %+v", scores)
	}
}
