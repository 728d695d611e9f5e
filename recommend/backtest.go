package recommend

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Forecaster makes a price outlook for a pool from its history up to
// origin (every point at or before origin), to answer run lengths up to
// horizon. Backtests take it as a parameter, so any forecast model (or a
// baseline) can be scored the same way.
type Forecaster func(key market.PoolKey, history []market.PricePoint, origin time.Time, horizon time.Duration) (PriceOutlook, error)

// BidBacktestConfig says which max prices to backtest and where.
type BidBacktestConfig struct {
	Confidences []float64
	RunLengths  []time.Duration
	// Every: spacing of forecast origins within a series.
	Every time.Duration
	// MinHistory: history a series must have before its first origin.
	MinHistory time.Duration
	// End: when the data ends (the last price of each series holds until
	// then); zero means the newest point of all series.
	End time.Time
	// Tolerance: a cell passes when the realised share >= p - Tolerance
	// (0 means 0.01, one percentage point).
	Tolerance float64
}

// BidBacktestCell is one (confidence, run length) of a bid backtest.
type BidBacktestCell struct {
	Confidence       float64 `json:"confidence"`
	RunLengthSeconds float64 `json:"run_length_seconds"`
	Runs             int     `json:"runs"`
	StayedUnder      int     `json:"stayed_under"`
	// Realised: share of runs whose price stayed at or below the max
	// price for the whole run.
	Realised float64 `json:"realised"`
	// StdErr: binomial standard error of Realised.
	StdErr float64 `json:"std_err"`
	Pass   bool    `json:"pass"`
	// MeanMarkup: mean of max price / price at the origin - 1, what the
	// safety margin costs in headroom.
	MeanMarkup float64 `json:"mean_markup"`
}

// BidBacktest is the result of BacktestBid.
type BidBacktest struct {
	Series  int               `json:"series"`
	Origins int               `json:"origins"`
	Cells   []BidBacktestCell `json:"cells"`
	// Skipped counts series, origins or bids left out, by reason;
	// Errors keeps the first few error messages behind them.
	Skipped map[string]int `json:"skipped,omitempty"`
	Errors  []string       `json:"errors,omitempty"`
}

// BacktestBid replays history: at each origin it forecasts from the past
// only, sets the max price Bid recommends for every (p, D), and checks
// whether the price really stayed at or below it for the next D. Series
// are a pool's points in time order (a step function: each price holds
// until the next point).
func BacktestBid(series [][]market.PricePoint, forecaster Forecaster, cfg BidBacktestConfig) (BidBacktest, error) {
	if forecaster == nil || len(cfg.Confidences) == 0 || len(cfg.RunLengths) == 0 || cfg.Every <= 0 {
		return BidBacktest{}, fmt.Errorf("bid backtest needs a forecaster, confidences, run lengths and a positive origin spacing: %w", ErrInvalidInput)
	}
	for _, p := range cfg.Confidences {
		if !(p > 0 && p < 1) {
			return BidBacktest{}, fmt.Errorf("bid backtest: confidence %v not in (0, 1): %w", p, ErrInvalidInput)
		}
	}
	var maxD time.Duration
	for _, d := range cfg.RunLengths {
		if d <= 0 {
			return BidBacktest{}, fmt.Errorf("bid backtest: run length %v not positive: %w", d, ErrInvalidInput)
		}
		maxD = max(maxD, d)
	}
	tol := cfg.Tolerance
	if tol == 0 {
		tol = 0.01
	}
	end := cfg.End
	if end.IsZero() {
		for _, s := range series {
			if len(s) > 0 && s[len(s)-1].Time.After(end) {
				end = s[len(s)-1].Time
			}
		}
	}
	type acc struct {
		runs, under int
		markup      float64
	}
	cells := make([]acc, len(cfg.Confidences)*len(cfg.RunLengths))
	out := BidBacktest{Skipped: map[string]int{}}
	for _, s := range series {
		if len(s) == 0 {
			out.Skipped["empty series"]++
			continue
		}
		if !sort.SliceIsSorted(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) }) {
			return BidBacktest{}, fmt.Errorf("bid backtest: series %s is not in time order: %w", s[0].Pool, ErrInvalidInput)
		}
		out.Series++
		key := s[0].Pool
		first := s[0].Time.Add(cfg.MinHistory)
		used := false
		for origin := first; !origin.Add(maxD).After(end); origin = origin.Add(cfg.Every) {
			n := sort.Search(len(s), func(i int) bool { return s[i].Time.After(origin) })
			hist := s[:n]
			o, err := forecaster(key, hist, origin, maxD)
			if err != nil {
				out.skip("forecast error", err)
				continue
			}
			p0 := hist[n-1].Price
			used = true
			out.Origins++
			for j, d := range cfg.RunLengths {
				realised := p0
				for _, pt := range s[n:] {
					if pt.Time.After(origin.Add(d)) {
						break
					}
					realised = math.Max(realised, pt.Price)
				}
				for i, p := range cfg.Confidences {
					b, err := Bid(BidInput{Pool: key, RunLength: d, Confidence: p, CurrentPrice: p0}, o)
					if err != nil {
						out.skip("bid error", err)
						continue
					}
					c := &cells[i*len(cfg.RunLengths)+j]
					c.runs++
					if realised <= b.MaxPrice {
						c.under++
					}
					c.markup += b.MaxPrice/p0 - 1
				}
			}
		}
		if !used {
			out.Skipped["series too short for any origin"]++
		}
	}
	for i, p := range cfg.Confidences {
		for j, d := range cfg.RunLengths {
			c := cells[i*len(cfg.RunLengths)+j]
			cell := BidBacktestCell{Confidence: p, RunLengthSeconds: d.Seconds(), Runs: c.runs, StayedUnder: c.under}
			if c.runs > 0 {
				r := float64(c.under) / float64(c.runs)
				cell.Realised = r
				cell.StdErr = math.Sqrt(r * (1 - r) / float64(c.runs))
				cell.Pass = r >= p-tol
				cell.MeanMarkup = c.markup / float64(c.runs)
			}
			out.Cells = append(out.Cells, cell)
		}
	}
	if out.Origins == 0 {
		return out, fmt.Errorf("bid backtest: no origin had %v of history and %v of future before %s: %w", cfg.MinHistory, maxD, end.Format(time.RFC3339), ErrInvalidInput)
	}
	return out, nil
}

func (b *BidBacktest) skip(reason string, err error) {
	b.Skipped[reason]++
	if len(b.Errors) < 5 {
		b.Errors = append(b.Errors, err.Error())
	}
}
