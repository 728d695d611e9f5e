package recommend

import (
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
)

// TestHazardFromForecastMatchesRateOver: the converted hazard's mean over
// any window equals the forecast's own RateOver, including past the
// forecast's last hour (weekly repetition) and for short forecasts.
func TestHazardFromForecastMatchesRateOver(t *testing.T) {
	t0 := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{5, hazard.HoursPerWeek + 30} {
		var f hazard.Forecast
		f.Generated = t0
		for i := range n {
			r := 0.01 + 0.05*float64(i%24)/24
			f.Hours = append(f.Hours, hazard.Hour{Time: t0.Add(time.Duration(i) * time.Hour), Rate: r, Lo: r / 2, Hi: r * 3})
		}
		h := HazardFromForecast(f, t0.Add(3*7*24*time.Hour))
		if err := h.validate(); err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct{ from, d time.Duration }{
			{0, time.Hour}, {90 * time.Minute, 7 * time.Hour}, {0, 24 * time.Hour}, {100 * time.Hour, 200 * time.Hour}, {0, 20 * 24 * time.Hour},
		} {
			got, lo, hi := h.Mean(t0.Add(w.from), w.d)
			want := f.RateOver(t0.Add(w.from), w.d)
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("n=%d window %v+%v: mean %v, RateOver %v", n, w.from, w.d, got, want)
			}
			if math.Abs(lo-want/2) > 1e-12 || math.Abs(hi-3*want) > 1e-12 {
				t.Errorf("n=%d window %v+%v: bounds %v %v", n, w.from, w.d, lo, hi)
			}
		}
	}
	if HazardFromForecast(hazard.Forecast{}, t0) != nil {
		t.Error("empty forecast should give a nil hazard")
	}
}
