package recommend

import (
	"flag"
	"fmt"
	"github.com/spotcast/spotcast/forecast"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

var long = flag.Bool("long", false, "long checks: the real-data bid backtest, and the jump-process bid backtest with model auto and D up to 7 days (minutes)")

// spikyMarket simulates pools of one instance type for the given hours
// in a market with known dynamics. Every pool has a base price that moves
// rarely and little (2% of hours, by a log-normal step of 2%), today's
// smooth market. Pool i also has spikes that start with probability qs[i]
// per hour, jump up by a Pareto height (log-scale 0.1·U^(-1/1.5), capped
// at 2.5, i.e. up to 12x) and decay by 40% an hour: the auction-era
// market. Pools are spread over six zones (pool i in zone i mod 6), six to
// a product, so pools 6k..6k+5 are siblings. Each pool is a step
// function: a point whenever the price (rounded to 0.0001) changes, every
// point labelled simulated.
func spikyMarket(seed uint64, hours int, qs []float64) [][]market.PricePoint {
	rng := rand.New(rand.NewPCG(seed, 99))
	start := time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC)
	var out [][]market.PricePoint
	for i, q := range qs {
		k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: fmt.Sprintf("us-east-1%c", 'a'+i%6), InstanceType: "p2.xlarge", Product: fmt.Sprintf("Linux/UNIX %d", i/6)}
		base, spike := math.Log(0.9), 0.0
		var pts []market.PricePoint
		last := -1.0
		for h := range hours {
			if rng.Float64() < 0.02 {
				base += 0.02 * rng.NormFloat64()
			}
			spike *= 0.6
			if spike < 0.01 {
				spike = 0
			}
			if rng.Float64() < q {
				spike += math.Min(2.5, 0.1*math.Pow(rng.Float64(), -1/1.5))
			}
			p := math.Round(math.Exp(base+spike)*1e4) / 1e4
			if p != last {
				pts = append(pts, market.PricePoint{Pool: k, Time: start.Add(time.Duration(h) * time.Hour), Price: p, Source: market.SourceSimulated})
				last = p
			}
		}
		out = append(out, pts)
	}
	return out
}

// TestSpikyMarketDynamics checks the simulator against its known
// dynamics: a smooth pool changes price in about 2% of hours and never
// more than a few percent at once; a spiky pool changes far more often
// and jumps by 10% or more in about q of its hours.
func TestSpikyMarketDynamics(t *testing.T) {
	const hours = 20000
	s := spikyMarket(1, hours, []float64{0, 0.02})
	changes := func(pts []market.PricePoint) (n, jumps int, maxUp float64) {
		for i := 1; i < len(pts); i++ {
			n++
			r := math.Log(pts[i].Price / pts[i-1].Price)
			if r >= math.Log(1.1) {
				jumps++
			}
			maxUp = math.Max(maxUp, r)
		}
		return n, jumps, maxUp
	}
	n, jumps, maxUp := changes(s[0])
	if f := float64(n) / hours; f < 0.015 || f > 0.025 || jumps > 0 || maxUp > 0.1 {
		t.Errorf("smooth pool: %.4f of hours changed, %d jumps of 10%%+, largest rise %.3f; want about 0.02, none, < 0.1", f, jumps, maxUp)
	}
	n, jumps, _ = changes(s[1])
	// A spike of log height h >= 0.1 starts in 2% of hours (U^(-2/3) >= 1).
	if f := float64(jumps) / hours; f < 0.015 || f > 0.025 || n < 5*jumps {
		t.Errorf("spiky pool: %.4f of hours jumped 10%%+ (want about 0.02), %d changes", f, n)
	}
	for _, p := range s[1] {
		if p.Source != market.SourceSimulated {
			t.Fatalf("point %+v not labelled simulated", p)
		}
	}
}

// TestBacktestBidJumpProcess checks the max-price guarantee (the share of
// runs whose price stayed under the max price at least p - 1 point) on
// simulated markets with known dynamics: a smooth one, a spiky one, and a
// mixed one where spiky pools are siblings of smooth ones, so their own
// path (its jump size and change rate), not the pooled rises, must tell
// how far they can jump. The mixed market is scored per regime.
//
// A cell fails when its realised share is below p - 0.01, with no
// allowance for sampling error: each market has 36 pools in six sibling
// groups (3,564 runs per cell, 1,782 per regime in the mixed market), so
// a forecast calibrated at p clears p - 0.01 by about two binomial
// standard errors at p = 0.9 and three at p = 0.95 (runs 11 h apart
// over 24 h overlap, so the true error is somewhat larger). By default the forecaster is naive with D up to 24 h (seconds): the
// running-maximum distribution behind the max price comes from the
// residual pool and the series' own no-rise probability, which auto
// shares; auto only adds the rise of its point path. -long runs model
// auto with D up to 7 days (minutes).
func TestBacktestBidJumpProcess(t *testing.T) {
	const n, days = 36, 60
	mixed := make([]float64, n)
	for i := range mixed {
		mixed[i] = 0.02 * float64(i%2)
	}
	type scoring struct {
		name string
		keep func(i int) bool // the pools scored; nil: all
	}
	markets := []struct {
		name     string
		qs       []float64
		scorings []scoring
	}{
		{"smooth", make([]float64, n), []scoring{{"", nil}}},
		{"spiky", repeat(0.02, n), []scoring{{"", nil}}},
		{"mixed", mixed, []scoring{{"spiky pools", func(i int) bool { return i%2 == 1 }}, {"smooth pools", func(i int) bool { return i%2 == 0 }}}},
	}
	cfg := bidGrid
	cfg.RunLengths = []time.Duration{time.Hour, 8 * time.Hour, 24 * time.Hour}
	cfg.Every = 11 * time.Hour
	model := forecast.ModelNaive
	if *long {
		cfg.RunLengths = append(cfg.RunLengths, 7*24*time.Hour)
		model = forecast.ModelAuto
	}
	markup := map[string]float64{}
	for _, m := range markets {
		t.Run(m.name, func(t *testing.T) {
			all := spikyMarket(7, days*24, m.qs)
			cfg.End = all[0][0].Time.Add(days * 24 * time.Hour)
			keeps := make([]func(int) bool, len(m.scorings))
			for i, sc := range m.scorings {
				keeps[i] = sc.keep
			}
			results, err := backtestByGroup(all, model, cfg, keeps)
			if err != nil {
				t.Fatal(err)
			}
			for i, sc := range m.scorings {
				name := m.name
				if sc.name != "" {
					name += "/" + sc.name
				}
				res := results[i]
				logBidTable(t, name, res)
				for _, c := range res.Cells {
					if c.Realised < c.Confidence-0.01 {
						t.Errorf("%s, p=%.2f D=%v: realised %.4f ±%.4f, below p - 0.01 over %d runs", name, c.Confidence, time.Duration(c.RunLengthSeconds*float64(time.Second)), c.Realised, c.StdErr, c.Runs)
					}
					if c.Confidence == 0.95 && c.RunLengthSeconds == 24*3600 {
						markup[name] = c.MeanMarkup
					}
				}
			}
		})
	}
	// Regime awareness: spiky pools get far higher max prices than smooth
	// ones, also when they share a sibling group.
	if s, sp := markup["mixed/smooth pools"], markup["mixed/spiky pools"]; !(sp > 10*s) {
		t.Errorf("p=0.95, D=24h: mean markup %.4f on spiky pools vs %.4f on their smooth siblings; want more than 10x", sp, s)
	}
}

// backtestByGroup runs BacktestBid over all's pools one sibling group
// (instance type and product) at a time, each group with its own
// forecaster, once per scoring (keep selects the pools scored by index in
// all; nil keeps every pool), and adds the groups' cells up. The
// forecaster caches one residual pool per group and origin for the
// group's pools to share; with week-long pools, the cache of every group
// at once passed 13 GB, while one group's at a time stays a sixth of it.
func backtestByGroup(all [][]market.PricePoint, model string, cfg BidBacktestConfig, keeps []func(int) bool) ([]BidBacktest, error) {
	type groupKey struct{ typ, product string }
	var order []groupKey
	members := map[groupKey][]int{}
	for i, s := range all {
		if len(s) == 0 {
			continue
		}
		g := groupKey{s[0].Pool.InstanceType, s[0].Pool.Product}
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], i)
	}
	out := make([]BidBacktest, len(keeps))
	for _, g := range order {
		fc := forecastWithSiblings(model, all)
		for k, keep := range keeps {
			var scored [][]market.PricePoint
			for _, i := range members[g] {
				if keep == nil || keep(i) {
					scored = append(scored, all[i])
				}
			}
			if len(scored) == 0 {
				continue
			}
			res, err := BacktestBid(scored, fc, cfg)
			if err != nil {
				return nil, err
			}
			out[k] = addBidBacktests(out[k], res, cfg)
		}
	}
	return out, nil
}

// addBidBacktests adds b's runs to a's (a's zero value is empty).
func addBidBacktests(a, b BidBacktest, cfg BidBacktestConfig) BidBacktest {
	tol := cfg.Tolerance
	if tol == 0 {
		tol = 0.01
	}
	if a.Cells == nil {
		a.Cells = make([]BidBacktestCell, len(b.Cells))
		a.Skipped = map[string]int{}
	}
	a.Series += b.Series
	a.Origins += b.Origins
	for r, n := range b.Skipped {
		a.Skipped[r] += n
	}
	a.Errors = append(a.Errors, b.Errors...)
	for i, c := range b.Cells {
		s := &a.Cells[i]
		runs := s.Runs + c.Runs
		markup := s.MeanMarkup*float64(s.Runs) + c.MeanMarkup*float64(c.Runs)
		*s = BidBacktestCell{Confidence: c.Confidence, RunLengthSeconds: c.RunLengthSeconds, Runs: runs, StayedUnder: s.StayedUnder + c.StayedUnder}
		if runs > 0 {
			r := float64(s.StayedUnder) / float64(runs)
			s.Realised, s.StdErr, s.Pass = r, math.Sqrt(r*(1-r)/float64(runs)), r >= c.Confidence-tol
			s.MeanMarkup = markup / float64(runs)
		}
	}
	return a
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestRunningMaxGivenRiseJumpProcess checks the two parts of the 7-day
// max price on the smooth simulated market (-long only, about 90 s):
// the forecast probability that the price rises within the week against
// the share of windows that did, and, over the windows that rose, the
// share whose running maximum exceeded each of the forecast's
// conditional quantiles (RiseQuantiles at RiseLevels) against 1 - the
// level, each within 2 points. The max price is P(rise)·S(a) = 1 - p, so
// an error in either part is an error of the guarantee.
func TestRunningMaxGivenRiseJumpProcess(t *testing.T) {
	if !*long {
		t.Skip("7-day running maximum on 36 simulated pools; run with -long")
	}
	const n, days = 36, 60
	const D = 7 * 24 * time.Hour
	all := spikyMarket(7, days*24, make([]float64, n))
	end := all[0][0].Time.Add(days * 24 * time.Hour)
	var runs, rises int
	var probRise float64
	exceeded := make([]int, len(forecast.RiseLevels))
	for g := 0; g < n; g += 6 {
		fc := forecastWithSiblings(forecast.ModelNaive, all) // one group's residual pools at a time
		for _, s := range all[g : g+6] {
			for origin := s[0].Time.Add(14 * 24 * time.Hour); !origin.Add(D).After(end); origin = origin.Add(11 * time.Hour) {
				k := sort.Search(len(s), func(i int) bool { return s[i].Time.After(origin) })
				o, err := fc(s[0].Pool, s[:k], origin, D)
				if err != nil {
					t.Fatal(err)
				}
				st := o.(forecast.PriceForecast).Steps
				step := st[len(st)-1]
				p0, mx := s[k-1].Price, s[k-1].Price
				for _, pt := range s[k:] {
					if pt.Time.After(origin.Add(D)) {
						break
					}
					mx = math.Max(mx, pt.Price)
				}
				runs++
				probRise += step.ProbRise
				if mx <= p0 {
					continue
				}
				rises++
				for j, q := range step.RiseQuantiles {
					if mx > q.Value {
						exceeded[j]++
					}
				}
			}
		}
	}
	if got, want := probRise/float64(runs), float64(rises)/float64(runs); math.Abs(got-want) > 0.02 {
		t.Errorf("P(rise within 7 d): forecast %.3f on average, realised %.3f over %d runs", got, want, runs)
	}
	for j, p := range forecast.RiseLevels {
		if e := float64(exceeded[j]) / float64(rises); e > 1-p+0.02 {
			t.Errorf("running maximum given a rise: the %.3f quantile exceeded in %.3f of %d rising windows, want at most %.3f", p, e, rises, 1-p+0.02)
		}
	}
}
