package engine

import (
	"fmt"
	"math"

	"github.com/spotcast/spotcast/market"
)

// MaxPlausiblePrice bounds, in USD per hour, the prices the engine
// forecasts from: the import's default bound (files.DefaultMaxPrice),
// several times the largest on-demand price. A store written before the
// import checked its bounds may still hold a broken feed's 1e308; one
// such point would make a forecast overflow (a 500) or skew a bid.
const MaxPlausiblePrice = 1000

// plausible reports a price the engine may forecast from: finite, above
// zero (a zero is a feed glitch, not a price) and at most
// MaxPlausiblePrice.
func plausible(p float64) bool {
	return p > 0 && p <= MaxPlausiblePrice && !math.IsInf(p, 0) && !math.IsNaN(p)
}

// plausiblePoints drops the implausible points of a series (in place)
// and returns how many it dropped.
func plausiblePoints(pts []market.PricePoint) ([]market.PricePoint, int) {
	out := pts[:0]
	for _, p := range pts {
		if plausible(p.Price) {
			out = append(out, p)
		}
	}
	return out, len(pts) - len(out)
}

// droppedNote is what an answer says of the points left out.
func droppedNote(n int) string {
	return fmt.Sprintf("%d stored price(s) left out as implausible (not in (0, %d] USD/h)", n, MaxPlausiblePrice)
}

// addNote appends a sentence to a note.
func addNote(note, s string) string {
	if note == "" {
		return s
	}
	return note + "; " + s
}
