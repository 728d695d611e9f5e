package recommend

import (
	"math"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// ForecastCandidate is a pool's placement candidate for a run of length
// run from start: its price forecast averaged over the run (PriceOverRun)
// and, when hz is not nil, its interruption forecast as a Hazard up to
// twice the run and an hour past start, the wall-clock time of a run that
// loses up to as much again to checkpoints and restarts. The source is
// the price forecast's; OnDemand is left to the caller.
func ForecastCandidate(pool market.PoolKey, typ market.InstanceType, pf forecast.PriceForecast, hz *hazard.Forecast, start time.Time, run time.Duration) PoolCandidate {
	mean, lo, hi := PriceOverRun(pf, run)
	c := PoolCandidate{Pool: pool, Type: typ, PriceMean: mean, PriceLo: lo, PriceHi: hi, Source: pf.Source}
	if hz != nil {
		c.Hazard = HazardFromForecast(*hz, start.Add(2*run+time.Hour))
	}
	return c
}

// PriceOverRun averages a price forecast over a run from its origin: the
// mean of the step means (at least the first step's), and of the 0.1 and
// 0.9 quantiles for the interval. An average of quantiles bounds the
// quantile of the average, so the band is a little wide, which errs on
// the safe side for ranking. A forecast without steps gives its last
// price for all three; one without quantiles gives the mean as the band.
func PriceOverRun(pf forecast.PriceForecast, run time.Duration) (mean, lo, hi float64) {
	n := 0
	for h, st := range pf.Steps {
		if h > 0 && st.Time.Sub(pf.Origin) > run {
			break
		}
		mean += st.Mean
		lo += pf.QuantileAt(0.1, h)
		hi += pf.QuantileAt(0.9, h)
		n++
	}
	if n == 0 {
		return pf.LastPrice, pf.LastPrice, pf.LastPrice
	}
	mean, lo, hi = mean/float64(n), lo/float64(n), hi/float64(n)
	if math.IsNaN(lo) || math.IsNaN(hi) {
		lo, hi = mean, mean
	}
	return mean, lo, hi
}
