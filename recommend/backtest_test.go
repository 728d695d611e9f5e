package recommend

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// dataDir is the shared real data beside the repository.
var dataDir = filepath.Join("..", "..", "shared", "data")

// loadSpotHistory reads the per-AZ DescribeSpotPriceHistory CSV
// (timestamp,availability_zone,instance_type,product_description,
// spot_price) and returns the series of the pools keep accepts, each in
// time order. It skips the test when the data is absent.
func loadSpotHistory(t testing.TB, keep func(zone, typ, product string) bool) [][]market.PricePoint {
	t.Helper()
	path := filepath.Join(dataDir, "aws", "spot-price-history", "us-east-1_2021-03-02_2021-05-31.csv.gz")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("real data not present at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	byPool := map[market.PoolKey][]market.PricePoint{}
	sc := bufio.NewScanner(zr)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue
		}
		r := strings.Split(sc.Text(), ",")
		if len(r) != 5 || !keep(r[1], r[2], r[3]) {
			continue
		}
		ts, err1 := time.Parse(time.RFC3339, r[0])
		price, err2 := strconv.ParseFloat(r[4], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s line %d: bad timestamp or price: %q", path, line, sc.Text())
		}
		k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: r[1], InstanceType: r[2], Product: r[3]}
		byPool[k] = append(byPool[k], market.PricePoint{Pool: k, Time: ts.UTC(), Price: price, Source: market.SourceFile})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	keys := make([]market.PoolKey, 0, len(byPool))
	for k := range byPool {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var out [][]market.PricePoint
	for _, k := range keys {
		s := byPool[k]
		sort.SliceStable(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) })
		out = append(out, s)
	}
	return out
}

// gpuLinux keeps the Linux/UNIX pools of the GPU families in the 2021 data.
func gpuLinux(_, typ, product string) bool {
	if product != "Linux/UNIX" {
		return false
	}
	_, ok := market.BuiltinAWSGPUType(typ)
	return ok
}

// pastWindows is a baseline forecaster: the distribution of
// max-over-D / price-at-start across every hourly start in the pool's
// own history, applied to the current price (an empirical, DrAFTS-like
// bound without a model).
func pastWindows(_ market.PoolKey, hist []market.PricePoint, origin time.Time, _ time.Duration) (PriceOutlook, error) {
	if len(hist) == 0 {
		return nil, fmt.Errorf("no history")
	}
	return &windowOutlook{hist: hist, origin: origin, p0: hist[len(hist)-1].Price, ratios: map[time.Duration][]float64{}}, nil
}

type windowOutlook struct {
	hist   []market.PricePoint
	origin time.Time
	p0     float64
	ratios map[time.Duration][]float64
}

func (w *windowOutlook) ExceedProb(b float64, d time.Duration) float64 {
	r, ok := w.ratios[d]
	if !ok {
		start := w.hist[0].Time.Truncate(time.Hour)
		for s := start; !s.Add(d).After(w.origin); s = s.Add(time.Hour) {
			i := sort.Search(len(w.hist), func(i int) bool { return w.hist[i].Time.After(s) })
			if i == 0 {
				continue
			}
			p := w.hist[i-1].Price
			m := p
			for _, pt := range w.hist[i:] {
				if pt.Time.After(s.Add(d)) {
					break
				}
				m = math.Max(m, pt.Price)
			}
			r = append(r, m/p)
		}
		w.ratios[d] = r
	}
	if len(r) == 0 {
		if b >= w.p0 {
			return 0
		}
		return 1
	}
	n := 0
	for _, x := range r {
		if w.p0*x > b {
			n++
		}
	}
	return float64(n) / float64(len(r))
}

func TestBacktestBidSynthetic(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k1 := market.PoolKey{Cloud: market.AWS, Zone: "us-east-1a", InstanceType: "g5.xlarge"}
	k2 := market.PoolKey{Cloud: market.AWS, Zone: "us-east-1b", InstanceType: "g5.xlarge"}
	// k1 is flat at 1.0 for 10 days; k2 doubles at day 5.
	flat := []market.PricePoint{{Pool: k1, Time: t0, Price: 1}, {Pool: k1, Time: t0.Add(240 * time.Hour), Price: 1}}
	jump := []market.PricePoint{{Pool: k2, Time: t0, Price: 1}, {Pool: k2, Time: t0.Add(120 * time.Hour), Price: 2}, {Pool: k2, Time: t0.Add(240 * time.Hour), Price: 2}}
	fc := func(_ market.PoolKey, h []market.PricePoint, _ time.Time, _ time.Duration) (PriceOutlook, error) {
		return bmOutlook{p0: h[len(h)-1].Price, sigma: 0.01}, nil
	}
	res, err := BacktestBid([][]market.PricePoint{flat, jump}, fc, BidBacktestConfig{
		Confidences: []float64{0.9}, RunLengths: []time.Duration{24 * time.Hour}, Every: 24 * time.Hour, MinHistory: 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Origins day 1..9 in each series: 18 runs; only the k2 run starting
	// at day 4 sees the jump (day 5 is within (day 4, day 5]).
	c := res.Cells[0]
	if res.Series != 2 || res.Origins != 18 || c.Runs != 18 || c.StayedUnder != 17 {
		t.Fatalf("series %d origins %d runs %d under %d, want 2, 18, 18, 17", res.Series, res.Origins, c.Runs, c.StayedUnder)
	}
	if c.Pass != (17.0/18 >= 0.89) || math.Abs(c.Realised-17.0/18) > 1e-12 {
		t.Errorf("cell %+v", c)
	}
}

func TestBacktestBidBadInput(t *testing.T) {
	ok := BidBacktestConfig{Confidences: []float64{0.9}, RunLengths: []time.Duration{time.Hour}, Every: time.Hour}
	for name, cfg := range map[string]BidBacktestConfig{
		"no confidences": {RunLengths: ok.RunLengths, Every: time.Hour},
		"p = 1":          {Confidences: []float64{1}, RunLengths: ok.RunLengths, Every: time.Hour},
		"zero D":         {Confidences: ok.Confidences, RunLengths: []time.Duration{0}, Every: time.Hour},
		"zero spacing":   {Confidences: ok.Confidences, RunLengths: ok.RunLengths},
	} {
		if _, err := BacktestBid(nil, pastWindows, cfg); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	// A series too short for any origin is an explained error, not an empty table.
	k := market.PoolKey{InstanceType: "g5.xlarge"}
	_, err := BacktestBid([][]market.PricePoint{{{Pool: k, Time: time.Unix(0, 0), Price: 1}}}, pastWindows, ok)
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "no origin") {
		t.Errorf("short series: err = %v", err)
	}
}

// bidGrid is the backtest grid.
var bidGrid = BidBacktestConfig{
	Confidences: []float64{0.9, 0.95, 0.99},
	RunLengths:  []time.Duration{time.Hour, 8 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour},
	Every:       24 * time.Hour,
	MinHistory:  14 * 24 * time.Hour,
	End:         time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC),
}

func logBidTable(t *testing.T, name string, res BidBacktest) {
	t.Helper()
	t.Logf("%s: %d series, %d origins, skipped %v", name, res.Series, res.Origins, res.Skipped)
	for _, c := range res.Cells {
		t.Logf("p=%.2f D=%-8v runs=%5d realised=%.4f ±%.4f markup=%.4f pass=%v",
			c.Confidence, time.Duration(c.RunLengthSeconds*float64(time.Second)), c.Runs, c.Realised, c.StdErr, c.MeanMarkup, c.Pass)
	}
}

// TestBacktestBidBaselineRealData runs the empirical past-windows
// baseline over the 2021 us-east-1 GPU pools; its table is the bar the
// model-based max price is compared with.
func TestBacktestBidBaselineRealData(t *testing.T) {
	series := loadSpotHistory(t, gpuLinux)
	res, err := BacktestBid(series, pastWindows, bidGrid)
	if err != nil {
		t.Fatal(err)
	}
	logBidTable(t, "past-windows baseline", res)
	if res.Series < 50 || res.Origins < 2000 {
		t.Errorf("only %d series and %d origins: the data or the loader changed", res.Series, res.Origins)
	}
	for _, c := range res.Cells {
		if c.Runs == 0 {
			t.Errorf("cell p=%v D=%vs has no runs", c.Confidence, c.RunLengthSeconds)
		}
	}
}
