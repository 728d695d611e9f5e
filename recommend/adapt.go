package recommend

import (
	"math"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
)

// HazardFromForecast turns an hourly interruption forecast into a Hazard
// covering [first hour, until): one step per forecast hour, and beyond
// the forecast's last hour the week-periodic repetition that
// hazard.Forecast itself uses when it covers a week (else the last
// hour's rate holds, as the last step of a Hazard does). Bounds are
// clamped so that Lo <= Rate <= Hi.
func HazardFromForecast(f hazard.Forecast, until time.Time) Hazard {
	n := len(f.Hours)
	if n == 0 {
		return nil
	}
	h := make(Hazard, 0, n)
	add := func(t time.Time, src hazard.Hour) {
		lo := math.Min(src.Lo, src.Rate)
		hi := math.Max(src.Hi, src.Rate)
		h = append(h, HazardStep{Start: t, Rate: src.Rate, Lo: lo, Hi: hi})
	}
	for _, hr := range f.Hours {
		add(hr.Time, hr)
	}
	if n >= hazard.HoursPerWeek {
		base := f.Hours[n-hazard.HoursPerWeek:]
		for t, i := f.Hours[n-1].Time.Add(time.Hour), 0; t.Before(until); t, i = t.Add(time.Hour), (i+1)%hazard.HoursPerWeek {
			add(t, base[i])
		}
	}
	return h
}
