package recommend

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// -placementfull runs the real-data placement backtest at every weekly
// origin instead of a sample.
var placementFull = flag.Bool("placementfull", false, "placement backtest at every weekly origin (minutes)")

// placementFamilies are the GPU families of the daily data the placement
// backtest offers.
var placementFamilies = map[string]bool{"p3": true, "p4d": true, "p5": true, "g5": true, "g6": true, "g6e": true}

var (
	dailyPoolsOnce sync.Once
	dailyPools     []BacktestPool
	dailyPoolsErr  error
)

// loadDailyGPUPools reads the daily OHLC CSV (region-level AWS series) for
// placementFamilies, with on-demand prices from ondemand_<region>.json
// (effective dates), falling back to the 2024-04 instance catalogue for
// a type the JSON lacks. It skips the test when the data is absent.
func loadDailyGPUPools(t testing.TB) []BacktestPool {
	t.Helper()
	path := filepath.Join(dataDir, "aws", "spot-daily", "spot_daily_ohlc_until_2026-01-31.csv.gz")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("real data not present at %s", path)
	}
	dailyPoolsOnce.Do(func() { dailyPools, dailyPoolsErr = readDailyGPUPools(path) })
	if dailyPoolsErr != nil {
		t.Fatal(dailyPoolsErr)
	}
	return dailyPools
}

func readDailyGPUPools(path string) ([]BacktestPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	byPool := map[market.PoolKey][]market.PricePoint{}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			if got := sc.Text(); got != "provider,region,instance_type,date,open,high,low,close,avg" {
				return nil, fmt.Errorf("%s: header %q", path, got)
			}
			continue
		}
		r := strings.Split(sc.Text(), ",")
		if len(r) != 9 || r[0] != market.AWS || !placementFamilies[market.InstanceFamily(r[2])] {
			continue
		}
		day, err := time.Parse("2006-01-02", r[3])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: date: %w", path, line, err)
		}
		var v [5]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(r[4+i], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: field %d: %w", path, line, 5+i, err)
			}
		}
		k := market.PoolKey{Cloud: market.AWS, Region: r[1], InstanceType: r[2]}
		byPool[k] = append(byPool[k], market.PricePoint{Pool: k, Time: day, Price: v[4], HasBar: true,
			Bar: market.Bar{Open: v[0], High: v[1], Low: v[2], Close: v[3]}, Source: market.SourceFile})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	catalogue, err := readCatalogueOnDemand(filepath.Join(dataDir, "aws", "instance-types", "instances_by_region_2024-04.csv"))
	if err != nil {
		return nil, err
	}
	ods := map[[2]string][]market.OnDemandPrice{}
	for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
		p := filepath.Join(dataDir, "aws", "spot-daily", "ondemand_"+region+".json")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			Date         string  `json:"date"`
			InstanceType string  `json:"instance_type"`
			Price        float64 `json:"price"`
		}
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for i, r := range rows {
			d, err := time.Parse("2006-01-02", r.Date)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: date: %w", p, i, err)
			}
			k := [2]string{region, r.InstanceType}
			ods[k] = append(ods[k], market.OnDemandPrice{Cloud: market.AWS, Region: region, InstanceType: r.InstanceType, Date: d, Price: r.Price, Source: market.SourceFile})
		}
	}
	var out []BacktestPool
	for k, pts := range byPool {
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
		od := ods[[2]string{k.Region, k.InstanceType}]
		sort.SliceStable(od, func(i, j int) bool { return od[i].Date.Before(od[j].Date) })
		if len(od) > 0 && od[0].Date.After(pts[0].Time) {
			// The JSON starts when the type entered it; before that the
			// catalogue's list price holds.
			if p := catalogue[[2]string{k.Region, k.InstanceType}]; p > 0 {
				od = append([]market.OnDemandPrice{{Cloud: market.AWS, Region: k.Region, InstanceType: k.InstanceType, Price: p, Source: market.SourceFile}}, od...)
			}
		}
		if len(od) == 0 {
			if p := catalogue[[2]string{k.Region, k.InstanceType}]; p > 0 {
				od = []market.OnDemandPrice{{Cloud: market.AWS, Region: k.Region, InstanceType: k.InstanceType, Price: p, Source: market.SourceFile}}
			}
		}
		out = append(out, BacktestPool{Key: k, Points: pts, OnDemand: od})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out, nil
}

// readCatalogueOnDemand reads the instance catalogue's on-demand prices
// by (region, type); 0 (unknown) is left out.
func readCatalogueOnDemand(path string) (map[[2]string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[[2]string]float64{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		r := strings.Split(line, ",")
		if i == 0 {
			if len(r) < 9 || r[0] != "instance-type" || r[8] != "ondemand" {
				return nil, fmt.Errorf("%s: unexpected header %q", path, line)
			}
			continue
		}
		if len(r) < 9 {
			return nil, fmt.Errorf("%s:%d: %d fields", path, i+1, len(r))
		}
		p, err := strconv.ParseFloat(r[8], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: ondemand: %w", path, i+1, err)
		}
		if p > 0 {
			out[[2]string{r[1], r[0]}] = p
		}
	}
	return out, nil
}

// loadAdvisorRows reads one Spot Instance Advisor snapshot (Linux rows).
func loadAdvisorRows(t testing.TB, name string, snapshot time.Time) []market.AdvisorRow {
	t.Helper()
	path := filepath.Join(dataDir, "aws", "spot-advisor", name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("real data not present at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SpotAdvisor map[string]map[string]map[string]struct {
			S int `json:"s"`
			R int `json:"r"`
		} `json:"spot_advisor"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []market.AdvisorRow
	for region, byOS := range doc.SpotAdvisor {
		for typ, v := range byOS["Linux"] {
			out = append(out, market.AdvisorRow{Region: region, OS: "Linux", InstanceType: typ, Bucket: v.R, SavingsPct: v.S, Snapshot: snapshot, Source: market.SourceFile})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no Linux rows", path)
	}
	return out
}

// placementWorkloads are the backtest's workloads: a week of training on
// one 8 x A100 node, a week on one GPU with at least 24 GiB, and a week
// on four V100s.
func placementWorkloads(run time.Duration) []PlacementBacktestWorkload {
	base := Workload{RunLength: run, CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute,
		NoticeWindow: NoticeAWS, MissedNoticeShare: 0.1, K: 3}
	a100, big, v100 := base, base, base
	a100.GPUModel, a100.MinGPUMemoryGiB, a100.GPUsPerNode = "A100", 40, 8
	big.MinGPUMemoryGiB, big.GPUsPerNode = 24, 1
	v100.GPUModel, v100.GPUsPerNode = "V100", 4
	return []PlacementBacktestWorkload{{"8x A100 40GB+", a100}, {"1x GPU >=24GB", big}, {"4x V100", v100}}
}

// heldBack is the daily data's held-back span: origins from the first
// week after the 2025-07 advisor snapshot (so the hazard prior, too, is
// known at every origin) to the last week the data covers.
var heldBackFrom = time.Date(2025, 8, 4, 0, 0, 0, 0, time.UTC)

func dailyConfig(t testing.TB, every time.Duration) PlacementBacktestConfig {
	adv := loadAdvisorRows(t, "spot-advisor-data_2025-07.json", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
	return PlacementBacktestConfig{
		Workloads:  placementWorkloads(7 * 24 * time.Hour),
		Resolution: market.ResolutionDaily,
		From:       heldBackFrom,
		Every:      every,
		MinHistory: 56 * 24 * time.Hour,
		Forecast:   ForecastRunPrice(market.ResolutionDaily, ""),
		Hazard:     AdvisorHazardModel(adv, hazard.Options{}),
	}
}

func logPlacementTable(t testing.TB, name string, res PlacementBacktest) {
	t.Helper()
	var b strings.Builder
	_ = res.WriteTable(&b)
	t.Logf("%s: %d origins, %d runs, skipped %v, errors %q\n%s", name, res.Origins, len(res.Runs), res.Skipped, res.Errors, b.String())
}

func TestBacktestPlacementSynthetic(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Three one-GPU pools, 20 days of daily bars. Until day 10 A costs
	// 1.0, B 1.1, C 1.5; from day 10 A jumps to 3.0. Over a 2-day run
	// from day 10 the realised means are A 3.0, B 1.1, C 1.5.
	mk := func(region, typ string, price func(d int) float64) BacktestPool {
		k := market.PoolKey{Cloud: market.AWS, Region: region, InstanceType: typ}
		var pts []market.PricePoint
		for d := 0; d < 20; d++ {
			p := price(d)
			pts = append(pts, market.PricePoint{Pool: k, Time: t0.Add(time.Duration(d) * day), Price: p, HasBar: true, Bar: market.Bar{Open: p, High: p, Low: p, Close: p}})
		}
		return BacktestPool{Key: k, Points: pts, OnDemand: []market.OnDemandPrice{{Price: 4}}}
	}
	pools := []BacktestPool{
		mk("us-east-1", "g5.xlarge", func(d int) float64 { return map[bool]float64{true: 3, false: 1}[d >= 10] }),
		mk("us-west-2", "g5.xlarge", func(int) float64 { return 1.1 }),
		mk("eu-west-1", "g6.xlarge", func(int) float64 { return 1.5 }),
	}
	last := func(_ market.PoolKey, h []market.PricePoint, _ time.Time, _ time.Duration) (RunPrice, error) {
		p := h[len(h)-1].Price
		return RunPrice{Mean: p, Lo: p, Hi: p}, nil
	}
	zero := func(market.PoolKey, time.Time, float64, float64) (Hazard, error) { return Hazard{{Rate: 0}}, nil }
	w := Workload{GPUsPerNode: 1, RunLength: 2 * day, CheckpointCost: time.Minute, RestartCost: time.Minute, K: 2}
	cfg := PlacementBacktestConfig{Workloads: []PlacementBacktestWorkload{{"one", w}}, Resolution: market.ResolutionDaily,
		From: t0.Add(10 * day), To: t0.Add(10 * day), Every: day, MinHistory: 5 * day, Forecast: last, Hazard: zero}
	res, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 1 {
		t.Fatalf("runs %d, want 1 (skipped %v)", len(res.Runs), res.Skipped)
	}
	r := res.Runs[0]
	// At day 10 the last known bar is day 9: A is cheapest now and ranked
	// first; the set of 2 is A and B (different zones and regions).
	want := map[string]float64{StrategyRecommended: (3 + 1.1) / 2, StrategyTopRanked: 3, StrategyCheapestNow: 3, StrategyOnDemand: 4, StrategyHindsight: 1.1}
	for s, v := range want {
		if math.Abs(r.Cost[s]-v) > 1e-9 {
			t.Errorf("%s cost %v, want %v", s, r.Cost[s], v)
		}
	}
	if r.CheapestNow != pools[0].Key || r.Hindsight != pools[1].Key || len(r.Recommended) != 2 {
		t.Errorf("run %+v", r)
	}
	row, _ := res.Row("one", StrategyRecommended)
	if math.Abs(row.RatioToCheapestNow-2.05/3) > 1e-9 || row.BeatCheapestNow != 1 || math.Abs(row.SavingsVsOnDemand-(1-2.05/4)) > 1e-9 {
		t.Errorf("row %+v", row)
	}

	// Known at day 10 with a change series: the day-10 point is known, so
	// A is no longer cheapest now: the harness respects the resolution.
	cfg.Resolution = market.ResolutionChange
	cfg.End = t0.Add(20 * day)
	res, err = BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Runs[0].CheapestNow; got != pools[1].Key {
		t.Errorf("change series: cheapest now %s, want %s", got, pools[1].Key)
	}
}

func TestBacktestPlacementBadInput(t *testing.T) {
	last := func(_ market.PoolKey, h []market.PricePoint, _ time.Time, _ time.Duration) (RunPrice, error) {
		return RunPrice{Mean: h[len(h)-1].Price}, nil
	}
	zero := func(market.PoolKey, time.Time, float64, float64) (Hazard, error) { return Hazard{{Rate: 0}}, nil }
	ok := PlacementBacktestConfig{Workloads: placementWorkloads(24 * time.Hour), Resolution: market.ResolutionDaily, Every: time.Hour, Forecast: last, Hazard: zero}
	bad := map[string]func(c *PlacementBacktestConfig){
		"no forecaster": func(c *PlacementBacktestConfig) { c.Forecast = nil },
		"no hazard":     func(c *PlacementBacktestConfig) { c.Hazard = nil },
		"no workloads":  func(c *PlacementBacktestConfig) { c.Workloads = nil },
		"resolution":    func(c *PlacementBacktestConfig) { c.Resolution = "1h" },
		"zero spacing":  func(c *PlacementBacktestConfig) { c.Every = 0 },
		"negative runs": func(c *PlacementBacktestConfig) { c.SimRuns = -1 },
		"unnamed workload": func(c *PlacementBacktestConfig) {
			c.Workloads = []PlacementBacktestWorkload{{Workload: Workload{RunLength: time.Hour}}}
		},
		"zero run length": func(c *PlacementBacktestConfig) { c.Workloads = []PlacementBacktestWorkload{{Name: "x"}} },
	}
	for name, mut := range bad {
		cfg := ok
		mut(&cfg)
		if _, err := BacktestPlacement(nil, cfg); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "g5.xlarge"}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	unsorted := []BacktestPool{{Key: k, Points: []market.PricePoint{{Time: t0.Add(time.Hour), Price: 1}, {Time: t0, Price: 1}}}}
	if _, err := BacktestPlacement(unsorted, ok); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "time order") {
		t.Errorf("unsorted: err = %v", err)
	}
	twice := []BacktestPool{{Key: k}, {Key: k}}
	if _, err := BacktestPlacement(twice, ok); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate pool: err = %v", err)
	}
	// Data that covers no run is an explained error, not an empty table.
	short := []BacktestPool{{Key: k, Points: []market.PricePoint{{Pool: k, Time: t0, Price: 1}}}}
	cfg := ok
	cfg.From = t0
	_, err := BacktestPlacement(short, cfg)
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "no run") {
		t.Errorf("short data: err = %v", err)
	}
}

func TestStepMean(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	pts := []market.PricePoint{{Time: h(0), Price: 1}, {Time: h(2), Price: 3}, {Time: h(3), Price: 2}}
	for _, c := range []struct {
		a, b, end int
		want      float64
		ok        bool
	}{
		{0, 4, 10, (1*2 + 3 + 2) / 4.0, true},
		{1, 3, 10, (1 + 3) / 2.0, true},
		{3, 10, 10, 2, true},
		{3, 11, 10, 0, false}, // past the data's end
		{-1, 2, 10, 0, false}, // before the first point
	} {
		got, ok := stepMean(pts, h(c.a), h(c.b), h(c.end))
		if ok != c.ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("[%d, %d): %v %v, want %v %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

// perturbAfter returns a copy of the pools whose points from origin on
// (the ones not yet known at origin for daily bars) are scaled by a
// factor that differs per pool, so the future's order changes.
func perturbAfter(pools []BacktestPool, origin time.Time) []BacktestPool {
	out := make([]BacktestPool, len(pools))
	for i, p := range pools {
		q := p
		q.Points = append([]market.PricePoint(nil), p.Points...)
		f := 0.2 + 0.37*float64(i%7)
		for j := range q.Points {
			if !q.Points[j].Time.Before(origin) {
				q.Points[j].Price *= f
				q.Points[j].Bar.Close *= f
			}
		}
		out[i] = q
	}
	return out
}

// TestPlacementNoLookAhead perturbs every price from the origin on and
// checks that the ranking at the origin does not change at all, while
// the realised costs do.
func TestPlacementNoLookAhead(t *testing.T) {
	pools := loadDailyGPUPools(t)
	cfg := dailyConfig(t, 7*24*time.Hour)
	for _, origin := range []time.Time{heldBackFrom, heldBackFrom.Add(12 * 7 * 24 * time.Hour)} {
		cfg.From, cfg.To = origin, origin
		perturbed := perturbAfter(pools, origin)
		// The full ranking of the workload with the most candidates; the
		// backtests below compare every workload's picks and expectations.
		for _, bw := range cfg.Workloads[1:2] {
			a, err := PlacementAt(pools, bw.Workload, origin, cfg)
			if err != nil {
				t.Fatalf("%s at %s: %v", bw.Name, origin.Format(time.DateOnly), err)
			}
			b, err := PlacementAt(perturbed, bw.Workload, origin, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Ranked) != len(b.Ranked) || len(a.Ranked) == 0 {
				t.Fatalf("%s: %d vs %d ranked pools", bw.Name, len(a.Ranked), len(b.Ranked))
			}
			for i := range a.Ranked {
				if a.Ranked[i].Pool != b.Ranked[i].Pool || a.Ranked[i].CostPerUsefulGPUHr != b.Ranked[i].CostPerUsefulGPUHr {
					t.Errorf("%s at %s: rank %d is %s %.6f, after perturbing the future %s %.6f", bw.Name, origin.Format(time.DateOnly), i,
						a.Ranked[i].Pool, a.Ranked[i].CostPerUsefulGPUHr, b.Ranked[i].Pool, b.Ranked[i].CostPerUsefulGPUHr)
				}
			}
		}
		ra, err := BacktestPlacement(pools, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := BacktestPlacement(perturbed, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(ra.Runs) != len(rb.Runs) || len(ra.Runs) == 0 {
			t.Fatalf("%d vs %d runs", len(ra.Runs), len(rb.Runs))
		}
		changed := 0
		for i := range ra.Runs {
			if fmt.Sprint(ra.Runs[i].Recommended) != fmt.Sprint(rb.Runs[i].Recommended) || ra.Runs[i].CheapestNow != rb.Runs[i].CheapestNow {
				t.Errorf("%s: picks changed with the future: %v/%s vs %v/%s", ra.Runs[i].Workload, ra.Runs[i].Recommended, ra.Runs[i].CheapestNow, rb.Runs[i].Recommended, rb.Runs[i].CheapestNow)
			}
			for _, s := range PlacementStrategies {
				// The hindsight pool is picked by the future, by definition.
				if s != StrategyHindsight && ra.Runs[i].Expected[s] != rb.Runs[i].Expected[s] {
					t.Errorf("%s: %s's expected cost changed with the future: %v vs %v", ra.Runs[i].Workload, s, ra.Runs[i].Expected[s], rb.Runs[i].Expected[s])
				}
			}
			if ra.Runs[i].Cost[StrategyTopRanked] != rb.Runs[i].Cost[StrategyTopRanked] {
				changed++
			}
		}
		if changed == 0 {
			t.Errorf("perturbing the future changed no realised cost: the perturbation does not reach the scoring")
		}
	}
}

// checkPlacementBacktest asserts the properties the backtest must show on
// real data: no NaN, hindsight below every strategy, savings against
// on-demand, the top-ranked pool not dearer than cheapest-now by more
// than tol in aggregate, and for the diversified set the honest weaker
// property the data supports (it is dearer than cheapest-now: spreading
// over K pools buys independence of interruptions that the modelled
// overhead does not price): its realised cost is what the ranking
// expected at the origins within tol, and it is not dearer than the K
// pools cheapest now by more than tol.
func checkPlacementBacktest(t *testing.T, res PlacementBacktest, tol float64) {
	t.Helper()
	for _, r := range res.Runs {
		for s, v := range r.Cost {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || math.IsNaN(r.Expected[s]) || !(r.Expected[s] > 0) {
				t.Fatalf("%s at %s: %s cost %v, expected %v", r.Workload, r.Origin.Format(time.DateOnly), s, v, r.Expected[s])
			}
		}
		for _, s := range []string{StrategyTopRanked, StrategyCheapestNow} {
			if r.Cost[StrategyHindsight] > r.Cost[s]+1e-12 {
				t.Errorf("%s at %s: hindsight %v above %s %v", r.Workload, r.Origin.Format(time.DateOnly), r.Cost[StrategyHindsight], s, r.Cost[s])
			}
		}
	}
	for _, row := range res.Rows {
		for _, v := range []float64{row.MeanCost, row.MedianCost, row.RatioToCheapestNow, row.BeatCheapestNow, row.TiedCheapestNow, row.SavingsVsOnDemand, row.RealisedOverExpected} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("row %+v has a non-finite value", row)
			}
		}
		if row.Strategy != StrategyOnDemand && row.SavingsVsOnDemand <= 0 {
			t.Errorf("%s / %s: savings vs on-demand %.3f, want > 0", row.Workload, row.Strategy, row.SavingsVsOnDemand)
		}
	}
	all := "all"
	if _, ok := res.Row(all, StrategyRecommended); !ok {
		all = res.Rows[0].Workload
	}
	top, _ := res.Row(all, StrategyTopRanked)
	if top.RatioToCheapestNow > 1+tol {
		t.Errorf("top-ranked pool: %.2f%% dearer than cheapest-now in aggregate, tolerance %.0f%%", 100*(top.RatioToCheapestNow-1), 100*tol)
	}
	set, _ := res.Row(all, StrategyRecommended)
	nowSet, _ := res.Row(all, StrategyCheapestNowSet)
	if math.Abs(set.RealisedOverExpected-1) > tol {
		t.Errorf("recommended set: realised / expected %.4f, want within %.0f%% of 1", set.RealisedOverExpected, 100*tol)
	}
	if set.MeanCost > nowSet.MeanCost*(1+tol) {
		t.Errorf("recommended set: mean %.4f, %.2f%% dearer than the cheapest-now set's %.4f (tolerance %.0f%%)", set.MeanCost, 100*(set.MeanCost/nowSet.MeanCost-1), nowSet.MeanCost, 100*tol)
	}
}

// TestBacktestPlacementRealData backtests placements weekly over the
// held-back part of the daily data (2025-08 .. 2026-01, p3/p4d/p5/g5/
// g6/g6e in three regions). With -placementfull the origins start in
// 2024-04 (the advisor snapshot of the hazard prior is then later than
// the early origins: the modelled part, not the prices, looks ahead).
func TestBacktestPlacementRealData(t *testing.T) {
	pools := loadDailyGPUPools(t)
	cfg := dailyConfig(t, 7*24*time.Hour)
	name := "daily, held back (2025-08 on), forecast auto"
	if *placementFull {
		cfg.From = time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
		name = "daily, 2024-04 on, forecast auto"
	}
	start := time.Now()
	res, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logPlacementTable(t, name, res)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
	if res.Origins < 20 {
		t.Errorf("only %d origins: the data or the loader changed", res.Origins)
	}
	checkPlacementBacktest(t, res, 0.02)
}

// TestBacktestPlacementMonteCarlo scores the overhead by simulated runs
// instead of its expectation: the costs move (the draws are used) but the
// conclusions hold, and a second run with the same seed is identical.
func TestBacktestPlacementMonteCarlo(t *testing.T) {
	pools := loadDailyGPUPools(t)
	cfg := dailyConfig(t, 56*24*time.Hour)
	exp, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SimRuns, cfg.Seed = 20, 42
	mc, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logPlacementTable(t, "daily, held back, every 8 weeks, Monte Carlo overhead (20 runs)", mc)
	again, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(mc.Runs) != len(exp.Runs) || len(mc.Runs) == 0 {
		t.Fatalf("%d runs with simulation, %d without", len(mc.Runs), len(exp.Runs))
	}
	moved := 0
	for i, r := range mc.Runs {
		for s, v := range r.Cost {
			if v != again.Runs[i].Cost[s] {
				t.Fatalf("same seed, different cost: %s %s %v vs %v", r.Workload, s, v, again.Runs[i].Cost[s])
			}
			e := exp.Runs[i].Cost[s]
			if v != e {
				moved++
			}
			// The overhead is about 1% of the cost here: simulated and
			// expected overheads differ by far less than the price part.
			if math.Abs(v/e-1) > 0.05 {
				t.Errorf("%s %s at %s: simulated %v vs expected %v", r.Workload, s, r.Origin.Format(time.DateOnly), v, e)
			}
		}
	}
	if moved == 0 {
		t.Error("simulation changed no cost")
	}
	checkPlacementBacktest(t, mc, 0.02)
}

// perAZWorkloads fit the 2021 per-AZ data (p2, p3, p3dn, g4dn).
func perAZWorkloads() []PlacementBacktestWorkload {
	ws := placementWorkloads(7 * 24 * time.Hour)
	v8, one := ws[2].Workload, ws[2].Workload
	v8.GPUsPerNode = 8
	one.GPUModel, one.GPUsPerNode, one.MinGPUMemoryGiB = "", 1, 16
	return []PlacementBacktestWorkload{ws[2], {"8x V100", v8}, {"1x GPU >=16GB", one}}
}

// TestBacktestPlacementPerAZ2021 backtests on the 2021 per-AZ change
// history of us-east-1 (six zones, so the diversified set spreads over
// zones), with the 2021-02 advisor snapshot (before every origin) and the
// instance catalogue's on-demand list prices.
func TestBacktestPlacementPerAZ2021(t *testing.T) {
	series := loadSpotHistory(t, gpuLinux)
	od, err := readCatalogueOnDemand(filepath.Join(dataDir, "aws", "instance-types", "instances_by_region_2024-04.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var pools []BacktestPool
	for _, s := range series {
		k := s[0].Pool
		p := BacktestPool{Key: k, Points: s}
		if v := od[[2]string{k.Region, k.InstanceType}]; v > 0 {
			p.OnDemand = []market.OnDemandPrice{{Cloud: market.AWS, Region: k.Region, InstanceType: k.InstanceType, Price: v, Source: market.SourceFile}}
		}
		pools = append(pools, p)
	}
	adv := loadAdvisorRows(t, "spot-advisor-data_2021-02.json", time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC))
	every := 14 * 24 * time.Hour
	if *placementFull {
		every = 7 * 24 * time.Hour
	}
	cfg := PlacementBacktestConfig{
		Workloads:  perAZWorkloads(),
		Resolution: market.ResolutionChange,
		From:       time.Date(2021, 3, 16, 0, 0, 0, 0, time.UTC),
		Every:      every,
		MinHistory: 13 * 24 * time.Hour,
		MaxStale:   90 * 24 * time.Hour, // a price holds until it changes: no change for weeks is normal
		End:        time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC),
		Forecast:   ForecastRunPrice(market.ResolutionChange, ""),
		Hazard:     AdvisorHazardModel(adv, hazard.Options{}),
	}
	start := time.Now()
	res, err := BacktestPlacement(pools, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logPlacementTable(t, "2021 per-AZ us-east-1, forecast auto", res)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
	if res.Origins < 5 {
		t.Errorf("only %d origins", res.Origins)
	}
	checkPlacementBacktest(t, res, 0.02)
}

// BenchmarkBacktestPlacement times the held-back daily backtest (weekly
// origins, three workloads, forecast auto); data loading is untimed.
func BenchmarkBacktestPlacement(b *testing.B) {
	pools := loadDailyGPUPools(b)
	cfg := dailyConfig(b, 7*24*time.Hour)
	var runs int
	for b.Loop() {
		res, err := BacktestPlacement(pools, cfg)
		if err != nil {
			b.Fatal(err)
		}
		runs = len(res.Runs)
	}
	b.ReportMetric(float64(runs), "runs/op")
}

func TestForecastRunPriceNaive(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "g5.xlarge"}
	var pts []market.PricePoint
	for d := range 30 {
		p := 1.0
		if d >= 25 {
			p = 2
		}
		pts = append(pts, market.PricePoint{Pool: k, Time: t0.Add(time.Duration(d) * 24 * time.Hour), Price: p})
	}
	for _, c := range []struct {
		res    string
		origin time.Time
		hist   int
	}{
		// Daily: at day 30 the bars of days 0..29 are over.
		{market.ResolutionDaily, t0.Add(30 * 24 * time.Hour), 30},
		// Daily, stale: the last bar (day 29) is carried to day 32.
		{market.ResolutionDaily, t0.Add(33 * 24 * time.Hour), 30},
		// Change series: the price in force at the origin is known.
		{market.ResolutionChange, t0.Add(29*24*time.Hour + 30*time.Minute), 30},
	} {
		rp, err := ForecastRunPrice(c.res, "naive")(k, pts[:c.hist], c.origin, 7*24*time.Hour)
		if err != nil {
			t.Fatalf("%s at %s: %v", c.res, c.origin, err)
		}
		if math.Abs(rp.Mean-2) > 1e-9 || !(rp.Lo > 0 && rp.Lo <= rp.Mean && rp.Mean <= rp.Hi) || math.IsInf(rp.Hi, 0) {
			t.Errorf("%s at %s: %+v, want mean 2 inside a finite [lo, hi]", c.res, c.origin, rp)
		}
	}
	if _, err := ForecastRunPrice(market.ResolutionDaily, "naive")(k, nil, t0, 24*time.Hour); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no history: err = %v", err)
	}
}
