package forecast

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// -realdata runs the backtests on every series of the real data sets
// (minutes); without it they run on a sample. -maxseries and -tune
// change the sample size and the model options when exploring settings.
var (
	realData  = flag.Bool("realdata", false, "backtest every real series, not a sample")
	maxSeries = flag.Int("maxseries", -1, "series the real-data backtests evaluate (0: all; -1: each test's default)")
	tune      = flag.String("tune", "", "model options as k=v,... (hl, lhl, thl: half-lives in days; sw: short weight; gamma; aciw, poolw in steps)")
)

// dataDir is ../shared/data relative to the repository root.
func dataDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("real data not found at %s (expected ../shared/data beside the repository): %v", d, err)
	}
	return d
}

// readGzCSV calls row for each record after the header, naming file and
// line in errors.
func readGzCSV(path string, wantHeader string, row func(rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(gz)
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	if got := strings.Join(hdr, ","); got != wantHeader {
		return fmt.Errorf("%s: header %q, want %q", path, got, wantHeader)
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := row(rec); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

var (
	dailyOnce, hourlyOnce, gcpOnce       sync.Once
	dailySeries, hourlySeries, gcpSeries []Series
	dailyErr, hourlyErr, gcpErr          error
)

// loadGCP reads the GCP spot price changes (one row per change of a
// machine type's price in a region) into region-level change series on
// the hourly grid, as the store keeps them, from 2025-11-01 (each series
// starting at its price then) to the end of the data.
func loadGCP(t testing.TB) []Series {
	t.Helper()
	dir := dataDir(t)
	gcpOnce.Do(func() {
		from := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
		pts := map[market.PoolKey][]market.PricePoint{}
		var end time.Time
		path := filepath.Join(dir, "gcp", "gcp_spot_price_changes.csv.gz")
		gcpErr = readGzCSV(path, "snapshot_generated_utc,commit,machine_type,region,ondemand_hour,spot_hour", func(rec []string) error {
			if rec[5] == "" {
				return nil // no spot price in that snapshot
			}
			ts, err := time.Parse("2006-01-02", rec[0][:min(10, len(rec[0]))])
			if err != nil {
				return fmt.Errorf("snapshot_generated_utc: %w", err)
			}
			p, err := strconv.ParseFloat(rec[5], 64)
			if err != nil {
				return fmt.Errorf("spot_hour: %w", err)
			}
			if !(p > 0) {
				return nil
			}
			k := market.PoolKey{Cloud: market.GCP, Region: rec[3], InstanceType: rec[2]}
			if ts.Before(from) {
				// Keep only the price in force at from.
				pts[k] = []market.PricePoint{{Pool: k, Time: from, Price: p, Source: "file:gcp"}}
				return nil
			}
			pts[k] = append(pts[k], market.PricePoint{Pool: k, Time: ts, Price: p, Source: "file:gcp"})
			if ts.After(end) {
				end = ts
			}
			return nil
		})
		for k, p := range pts {
			sort.SliceStable(p, func(i, j int) bool { return p[i].Time.Before(p[j].Time) })
			pts[k] = p
		}
		gcpSeries = gridAll(pts, market.ResolutionChange, end)
	})
	if gcpErr != nil {
		t.Fatal(gcpErr)
	}
	return gcpSeries
}

// loadDaily reads the daily OHLC file into region-level daily series (the
// day's average as the price, as the store keeps it).
func loadDaily(t testing.TB) []Series {
	t.Helper()
	dir := dataDir(t)
	dailyOnce.Do(func() {
		pts := map[market.PoolKey][]market.PricePoint{}
		path := filepath.Join(dir, "aws", "spot-daily", "spot_daily_ohlc_until_2026-01-31.csv.gz")
		dailyErr = readGzCSV(path, "provider,region,instance_type,date,open,high,low,close,avg", func(rec []string) error {
			day, err := time.Parse("2006-01-02", rec[3])
			if err != nil {
				return fmt.Errorf("date: %w", err)
			}
			avg, err := strconv.ParseFloat(rec[8], 64)
			if err != nil {
				return fmt.Errorf("avg: %w", err)
			}
			k := market.PoolKey{Cloud: rec[0], Region: rec[1], InstanceType: rec[2]}
			pts[k] = append(pts[k], market.PricePoint{Pool: k, Time: day, Price: avg, Source: "file:daily"})
			return nil
		})
		dailySeries = gridAll(pts, market.ResolutionDaily, time.Time{})
	})
	if dailyErr != nil {
		t.Fatal(dailyErr)
	}
	return dailySeries
}

// loadHourly reads the per-AZ 2021 change history into hourly series,
// each extended to the end of the data set (a pool keeps its last price
// until it changes).
func loadHourly(t testing.TB) []Series {
	t.Helper()
	dir := dataDir(t)
	hourlyOnce.Do(func() {
		pts := map[market.PoolKey][]market.PricePoint{}
		var end time.Time
		path := filepath.Join(dir, "aws", "spot-price-history", "us-east-1_2021-03-02_2021-05-31.csv.gz")
		hourlyErr = readGzCSV(path, "timestamp,availability_zone,instance_type,product_description,spot_price", func(rec []string) error {
			ts, err := time.Parse(time.RFC3339, rec[0])
			if err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
			p, err := strconv.ParseFloat(rec[4], 64)
			if err != nil {
				return fmt.Errorf("spot_price: %w", err)
			}
			k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: rec[1], InstanceType: rec[2], Product: rec[3]}
			pts[k] = append(pts[k], market.PricePoint{Pool: k, Time: ts, Price: p, Source: "file:history"})
			if ts.After(end) {
				end = ts
			}
			return nil
		})
		hourlySeries = gridAll(pts, market.ResolutionChange, end)
	})
	if hourlyErr != nil {
		t.Fatal(hourlyErr)
	}
	return hourlySeries
}

func gridAll(pts map[market.PoolKey][]market.PricePoint, res string, end time.Time) []Series {
	var out []Series
	for k, p := range pts {
		g, err := ToGrid(p, StepFor(res), end)
		if err != nil {
			continue
		}
		out = append(out, Series{Key: k, Resolution: res, Grid: g})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

func weekly(from time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * 7 * 24 * time.Hour)
	}
	return out
}

func dailyOrigins() []time.Time {
	return weekly(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), 13)
}

func hourlyOrigins(every time.Duration) []time.Time {
	var out []time.Time
	for t := time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC); t.Before(time.Date(2021, 5, 30, 0, 0, 0, 0, time.UTC)); t = t.Add(every) {
		out = append(out, t)
	}
	return out
}

func logTable(t testing.TB, rep BacktestReport) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\nhorizon %s, %d origins, %d series, %.0fs\n", rep.HorizonText, len(rep.Origins), rep.Series, rep.Seconds)
	fmt.Fprintf(&b, "%-24s %8s %7s %7s %7s %9s %6s %6s %6s %6s %7s %7s %6s %6s\n", "model", "fcasts", "maseMd", "maseMn", "mape", "pinball", "cov80", "cov95", "cl80", "cl95", "ratioMd", "ratioAg", "beat", "worse")
	for _, m := range rep.Models {
		fmt.Fprintf(&b, "%-24s %8d %7.3f %7.3f %7.3f %9.6f %6.3f %6.3f %6.3f %6.3f %7.4f %7.4f %6.3f %6.3f\n", m.Name, m.Forecasts, m.MASEMedian, m.MASEMean, m.MAPE, m.PinballMean, m.Coverage80, m.Coverage95, m.CoverageClosed80, m.CoverageClosed95, m.MAERatioToNaiveMedian, m.MAERatioToNaiveAgg, m.ShareBeatingNaive, m.ShareWorseThanNaive)
	}
	if a, ok := rep.Model(ModelAuto); ok {
		js, _ := json.Marshal(a.Chosen)
		fmt.Fprintf(&b, "auto chose: %s\n", js)
	}
	for _, name := range []string{ModelAuto, ModelNaive} {
		if m, ok := rep.Model(name); ok && len(m.PITHistogram) > 0 {
			fmt.Fprintf(&b, "%s PIT histogram (observed/expected per bin):", name)
			for k, v := range m.PITHistogram {
				fmt.Fprintf(&b, " %.2f", v/(PITBins[k+1]-PITBins[k]))
			}
			fmt.Fprintln(&b)
		}
	}
	t.Log(b.String())
}

// checkTargets asserts the acceptance targets on a backtest: auto's
// median MAE ratio to naive <= 1.001, its pinball loss at least 5% below
// the pooled-quantile baseline, and 80%/95% coverage (randomized for
// outcomes on the atom, see ModelScore.Coverage80) within 3 points. auto
// chooses by validation pinball, the score the backtest reports, which
// can cost point accuracy by a hair: on the default daily sample at 7
// days the median series' MAE is 1.0001 times naive's while the summed
// MAE is 4.4% below it, so the median is held to naive's within 0.1%.
func checkTargets(t *testing.T, rep BacktestReport) {
	t.Helper()
	auto, ok := rep.Model(ModelAuto)
	if !ok {
		t.Fatal("no auto row")
	}
	base, _ := rep.Model(ModelNaivePooled)
	if auto.MAERatioToNaiveMedian > 1.001 {
		t.Errorf("auto median MAE ratio to naive %.4f > 1.001", auto.MAERatioToNaiveMedian)
	}
	if auto.PinballMean > 0.95*base.PinballMean {
		t.Errorf("auto pinball %.6g not 5%% below baseline %.6g", auto.PinballMean, base.PinballMean)
	}
	c80, c95 := auto.Coverage80, auto.Coverage95
	if c80 < 0.77 || c80 > 0.83 {
		t.Errorf("auto 80%% coverage %.3f outside [0.77, 0.83]", c80)
	}
	if c95 < 0.92 || c95 > 0.98 {
		t.Errorf("auto 95%% coverage %.3f outside [0.92, 0.98]", c95)
	}
}

func TestRealDailyBacktest(t *testing.T) {
	series := loadDaily(t)
	for _, h := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		t.Run(h.String(), func(t *testing.T) {
			opts := BacktestOptions{Horizon: h, Origins: dailyOrigins(), Forecast: tuneOptions(t)}
			if !*realData {
				opts.MaxSeries = sampleSize(400)
			}
			rep, err := BacktestSeries(context.Background(), series, opts, testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			logTable(t, rep)
			checkTargets(t, rep)
			checkAuto(t, rep)
			if h == 7*24*time.Hour {
				// The goal at 7 days: pinball at most 0.90 of the
				// naive + pooled-quantile baseline, coverage within 2 points.
				a, _ := rep.Model(ModelAuto)
				base, _ := rep.Model(ModelNaivePooled)
				if r := a.PinballMean / base.PinballMean; r > 0.90 || math.Abs(a.Coverage80-0.8) > 0.02 || math.Abs(a.Coverage95-0.95) > 0.02 {
					t.Errorf("7 d: auto pinball %.3f of the baseline, coverage %.3f/%.3f; want <= 0.90 and within 2 points", r, a.Coverage80, a.Coverage95)
				}
			}
		})
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// tuneOptions reads -tune (k=v,...); without it the defaults apply.
func tuneOptions(t testing.TB) Options {
	var o Options
	if *tune == "" {
		return o
	}
	for _, kv := range strings.Split(*tune, ",") {
		k, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("-tune %q: want k=number", kv)
		}
		d := time.Duration(f * float64(24*time.Hour))
		switch k {
		case "hl":
			o.HalfLife = d
		case "lhl":
			o.LongHalfLife = d
		case "thl":
			o.TieHalfLife = d
		case "sw":
			o.ShortWeight = f
		case "gamma":
			o.ACIGamma = f
		case "aciw":
			o.ACIWindow = int(f)
		case "poolw":
			o.PoolWindow = int(f)
		default:
			t.Fatalf("-tune: unknown option %q", k)
		}
	}
	// t.Logf("options %+v", o)
	return o
}

// sampleSize is -maxseries if set, else def.
func sampleSize(def int) int {
	if *maxSeries >= 0 {
		return *maxSeries
	}
	return def
}

// TestRealGCPBacktest: GCP spot prices (region-level, hourly grid), 24 h
// and 7 d ahead from weekly origins over 2026-04 .. 2026-07; a sample of
// 200 series (-maxseries to change it), behind -realdata.
func TestRealGCPBacktest(t *testing.T) {
	if !*realData {
		t.Skip("needs -realdata (minutes)")
	}
	series := loadGCP(t)
	for _, h := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		t.Run(h.String(), func(t *testing.T) {
			opts := BacktestOptions{Horizon: h, Origins: weekly(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), 14),
				Forecast: tuneOptions(t), MaxSeries: sampleSize(200)}
			rep, err := BacktestSeries(context.Background(), series, opts, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			logTable(t, rep)
			checkAuto(t, rep)
			// The naive + pooled-quantile baseline pools every series'
			// changes since 2025-11; auto must not lose to it by more
			// than 1% in pinball, and at 24 h its coverage is within 2
			// points. (At 7 days it is not: BENCHMARKS.md.)
			a, _ := rep.Model(ModelAuto)
			base, _ := rep.Model(ModelNaivePooled)
			if a.PinballMean > 1.01*base.PinballMean {
				t.Errorf("auto pinball %.6g more than 1%% above the naive + pooled baseline's %.6g", a.PinballMean, base.PinballMean)
			}
			if h == 24*time.Hour && (math.Abs(a.Coverage80-0.8) > 0.02 || math.Abs(a.Coverage95-0.95) > 0.02) {
				t.Errorf("24 h: auto coverage %.3f/%.3f, want within 2 points of 0.80/0.95", a.Coverage80, a.Coverage95)
			}
		})
	}
}

// checkAuto asserts that auto's pinball loss is within 1% of the best of
// its candidates' (AutoCandidates: the models and combinations it
// chooses among). Models outside them, such as seasonal naive, are
// scored in the table but not held to this bound.
func checkAuto(t *testing.T, rep BacktestReport) {
	t.Helper()
	auto, ok := rep.Model(ModelAuto)
	if !ok {
		t.Fatal("no auto row")
	}
	best, bestName := math.Inf(1), ""
	for _, name := range AutoCandidates {
		m, ok := rep.Model(name)
		if !ok {
			t.Fatalf("no %s row", name)
		}
		if m.PinballMean < best {
			best, bestName = m.PinballMean, m.Name
		}
	}
	if auto.PinballMean > 1.01*best {
		t.Errorf("auto pinball %.6g more than 1%% above %s's %.6g", auto.PinballMean, bestName, best)
	}
}

// TestRealHourlyBacktest needs -realdata: even a sample takes minutes.
// It evaluates 300 pools; -maxseries N picks N (0: all 4,911).
func TestRealHourlyBacktest(t *testing.T) {
	if !*realData {
		t.Skip("needs -realdata (minutes even on a sample)")
	}
	series := loadHourly(t)
	for _, tc := range []struct {
		horizon time.Duration
		every   time.Duration
	}{
		{time.Hour, 25 * time.Hour},
		{24 * time.Hour, 73 * time.Hour},
	} {
		t.Run(tc.horizon.String(), func(t *testing.T) {
			opts := BacktestOptions{Horizon: tc.horizon, Origins: hourlyOrigins(tc.every), Forecast: tuneOptions(t), MaxSeries: sampleSize(300)}
			rep, err := BacktestSeries(context.Background(), series, opts, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			logTable(t, rep)
			checkTargets(t, rep)
			checkAuto(t, rep)
		})
	}
}
