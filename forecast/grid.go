package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Grid is a price series on a regular time grid: Values[i] is the price
// in effect at Start + i*Step.
type Grid struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
	// Source is the source of the newest point used.
	Source string
	// Skipped counts points dropped for a NaN, infinite or non-positive
	// price.
	Skipped int
}

// Time returns the grid time of index i.
func (g Grid) Time(i int) time.Time { return g.Start.Add(time.Duration(i) * g.Step) }

// Index returns the index of the last grid time at or before t (-1 if t
// is before Start).
func (g Grid) Index(t time.Time) int {
	if t.Before(g.Start) {
		return -1
	}
	return int(t.Sub(g.Start) / g.Step)
}

// MaxGridPoints bounds a grid's length (five years of hours); older values
// are dropped, since no model here looks back that far.
const MaxGridPoints = 5 * 366 * 24

// ToGrid samples the step function pts on the grid of multiples of step
// (UTC) from the first grid time at or after the first usable point to
// the last grid time at or before end (zero end: the last point's time).
// The value at grid time t is the last price at or before t, so no value
// depends on anything after its time. For a daily series (points at day
// starts holding the day's average) the value at day d is that day's
// average, known at the day's end; a backtest origin at day d uses days
// up to and including d.
//
// Points with a NaN, infinite or non-positive price are skipped and
// counted. Unsorted input is sorted (stably: of points with equal times,
// the last one wins). Gaps are bridged by the step function: a pool that
// reported nothing for weeks kept its last price.
func ToGrid(pts []market.PricePoint, step time.Duration, end time.Time) (Grid, error) {
	if step <= 0 {
		return Grid{}, fmt.Errorf("grid step %v: must be positive", step)
	}
	g := Grid{Step: step}
	usable := make([]market.PricePoint, 0, len(pts))
	for _, p := range pts {
		if math.IsNaN(p.Price) || math.IsInf(p.Price, 0) || p.Price <= 0 {
			g.Skipped++
			continue
		}
		usable = append(usable, p)
	}
	if len(usable) == 0 {
		return g, ErrNoData
	}
	if !sort.SliceIsSorted(usable, func(i, j int) bool { return usable[i].Time.Before(usable[j].Time) }) {
		sort.SliceStable(usable, func(i, j int) bool { return usable[i].Time.Before(usable[j].Time) })
	}
	first := usable[0].Time.UTC()
	start := first.Truncate(step)
	if start.Before(first) {
		start = start.Add(step)
	}
	last := usable[len(usable)-1].Time.UTC()
	if end.IsZero() {
		end = last
	}
	end = end.UTC()
	if end.Before(start) {
		return g, fmt.Errorf("grid: end %s before first grid time %s: %w", end.Format(time.RFC3339), start.Format(time.RFC3339), ErrNoData)
	}
	n := int(end.Sub(start)/step) + 1
	if n > MaxGridPoints {
		start = start.Add(time.Duration(n-MaxGridPoints) * step)
		n = MaxGridPoints
	}
	g.Start = start
	g.Values = make([]float64, n)
	// j is the index of the last point at or before the current grid
	// time; start is at or after the first point, so j >= 0 below.
	j := -1
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		for j+1 < len(usable) && !usable[j+1].Time.After(t) {
			j++
		}
		g.Values[i] = usable[j].Price
		g.Source = usable[j].Source
	}
	return g, nil
}

// StepFor returns the grid step of a resolution: daily for
// market.ResolutionDaily, hourly otherwise.
func StepFor(resolution string) time.Duration {
	if resolution == market.ResolutionDaily {
		return 24 * time.Hour
	}
	return time.Hour
}
