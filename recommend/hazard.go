// Package recommend turns forecasts into what users act on: the max price
// to set, how often to checkpoint, which pools to run on and what a
// workload will cost. Every function here is pure: forecasts come in as
// small interfaces or plain values (see PriceOutlook and Hazard), so the
// CLI, the API and the reports share the same answers and tests can build
// their inputs by hand.
package recommend

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ErrInvalidInput is wrapped by every error about the caller's input.
var ErrInvalidInput = errors.New("invalid input")

// HazardStep is an interruption rate, in interruptions per instance-hour,
// from Start until the next step's Start (the last step extends forever,
// and the first also covers times before its Start). Lo and Hi bound the
// rate (a forecast interval); both zero means "no interval, use Rate".
type HazardStep struct {
	Start time.Time `json:"start"`
	Rate  float64   `json:"rate_per_hour"`
	Lo    float64   `json:"rate_lo_per_hour,omitempty"`
	Hi    float64   `json:"rate_hi_per_hour,omitempty"`
}

// Hazard is a piecewise-constant interruption rate per instance-hour, in
// time order. An hourly hazard forecast converts to it one step per hour.
type Hazard []HazardStep

// ConstantHazard is the hazard of a pool whose mean time between
// interruptions is mtbf.
func ConstantHazard(mtbf time.Duration) Hazard {
	return Hazard{{Rate: float64(time.Hour) / float64(mtbf)}}
}

func (h Hazard) validate() error {
	if len(h) == 0 {
		return fmt.Errorf("hazard has no steps: %w", ErrInvalidInput)
	}
	for i, s := range h {
		for _, v := range []float64{s.Rate, s.Lo, s.Hi} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return fmt.Errorf("hazard step %d (%s): rate %v is not a finite non-negative number: %w", i, s.Start.Format(time.RFC3339), v, ErrInvalidInput)
			}
		}
		if (s.Lo != 0 || s.Hi != 0) && !(s.Lo <= s.Rate && s.Rate <= s.Hi) {
			return fmt.Errorf("hazard step %d (%s): interval [%v, %v] does not contain rate %v: %w", i, s.Start.Format(time.RFC3339), s.Lo, s.Hi, s.Rate, ErrInvalidInput)
		}
		if i > 0 && !s.Start.After(h[i-1].Start) {
			return fmt.Errorf("hazard step %d (%s): not after step %d (%s): %w", i, s.Start.Format(time.RFC3339), i-1, h[i-1].Start.Format(time.RFC3339), ErrInvalidInput)
		}
	}
	return nil
}

// band returns the step's rate, low and high.
func (s HazardStep) band() (r, lo, hi float64) {
	if s.Lo == 0 && s.Hi == 0 {
		return s.Rate, s.Rate, s.Rate
	}
	return s.Rate, s.Lo, s.Hi
}

// index returns the step in force at t.
func (h Hazard) index(t time.Time) int {
	i := sort.Search(len(h), func(i int) bool { return h[i].Start.After(t) })
	if i == 0 {
		return 0
	}
	return i - 1
}

// RateAt is the rate per instance-hour in force at t.
func (h Hazard) RateAt(t time.Time) float64 {
	if len(h) == 0 {
		return 0
	}
	return h[h.index(t)].Rate
}

// Mean returns the time-average rate (and its low/high bounds) over
// [start, start+d); d <= 0 gives the rate at start.
func (h Hazard) Mean(start time.Time, d time.Duration) (rate, lo, hi float64) {
	if len(h) == 0 {
		return 0, 0, 0
	}
	i := h.index(start)
	if d <= 0 {
		return h[i].band()
	}
	end := start.Add(d)
	t := start
	var sr, sl, sh float64
	for ; i < len(h) && t.Before(end); i++ {
		next := end
		if i+1 < len(h) && h[i+1].Start.Before(end) {
			next = h[i+1].Start
		}
		w := next.Sub(t).Hours()
		r, l, hh := h[i].band()
		sr += r * w
		sl += l * w
		sh += hh * w
		t = next
	}
	total := d.Hours()
	return sr / total, sl / total, sh / total
}

// pick returns the hazard with the low (which < 0), central (0) or high
// (which > 0) rate of every step as its rate.
func (h Hazard) pick(which int) Hazard {
	out := make(Hazard, len(h))
	for i, s := range h {
		r, lo, hi := s.band()
		switch {
		case which < 0:
			r = lo
		case which > 0:
			r = hi
		}
		out[i] = HazardStep{Start: s.Start, Rate: r}
	}
	return out
}

// varies reports whether the rate changes over [start, start+d).
func (h Hazard) varies(start time.Time, d time.Duration) bool {
	if len(h) < 2 {
		return false
	}
	i := h.index(start)
	r := h[i].Rate
	for j := i + 1; j < len(h) && h[j].Start.Before(start.Add(d)); j++ {
		if h[j].Rate != r {
			return true
		}
	}
	return false
}
