package recommend

import (
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// hourlyForecast is a price forecast from origin with one step an hour of
// the given means, each with its 0.1 and 0.9 quantiles at mean-1 and
// mean+1 (none when band is false).
func hourlyForecast(origin time.Time, last float64, band bool, means ...float64) forecast.PriceForecast {
	pf := forecast.PriceForecast{Origin: origin, LastPrice: last, StepSize: time.Hour, Source: market.SourceSimulated}
	for i, m := range means {
		st := forecast.Step{Time: origin.Add(time.Duration(i+1) * time.Hour), Mean: m, Median: m}
		if band {
			st.Quantiles = []forecast.Quantile{{P: 0.1, Value: m - 1}, {P: 0.5, Value: m}, {P: 0.9, Value: m + 1}}
		}
		pf.Steps = append(pf.Steps, st)
	}
	return pf
}

func TestPriceOverRun(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		pf           forecast.PriceForecast
		run          time.Duration
		mean, lo, hi float64
	}{
		// Steps at 1h, 2h, 3h, 4h: a 3 h run averages the first three.
		{"three of four steps", hourlyForecast(t0, 9, true, 2, 4, 6, 100), 3 * time.Hour, 4, 3, 5},
		{"whole forecast", hourlyForecast(t0, 9, true, 2, 4, 6, 100), 10 * time.Hour, 28, 27, 29},
		// A run shorter than the first step still reads that step.
		{"shorter than a step", hourlyForecast(t0, 9, true, 2, 4), 10 * time.Minute, 2, 1, 3},
		{"no steps", hourlyForecast(t0, 9, true), time.Hour, 9, 9, 9},
		{"no quantiles", hourlyForecast(t0, 9, false, 2, 4), 2 * time.Hour, 3, 3, 3},
	} {
		mean, lo, hi := PriceOverRun(tc.pf, tc.run)
		if math.Abs(mean-tc.mean) > 1e-12 || math.Abs(lo-tc.lo) > 1e-12 || math.Abs(hi-tc.hi) > 1e-12 {
			t.Errorf("%s: %v %v %v, want %v %v %v", tc.name, mean, lo, hi, tc.mean, tc.lo, tc.hi)
		}
	}
}

func TestForecastCandidate(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge"}
	typ := market.InstanceType{Name: "p3.2xlarge", GPUCount: 1, GPUModel: "V100"}
	pf := hourlyForecast(t0, 3, true, 2, 4, 6)
	run := 2 * time.Hour

	c := ForecastCandidate(key, typ, pf, nil, t0, run)
	if c.Pool != key || c.Type != typ || c.PriceMean != 3 || c.PriceLo != 2 || c.PriceHi != 4 ||
		c.Source != market.SourceSimulated || c.Hazard != nil || c.OnDemand != 0 {
		t.Errorf("without a hazard forecast: %+v", c)
	}

	hf := hazard.Forecast{Source: market.SourceSimulated}
	for i := range hazard.HoursPerWeek {
		r := 0.001 * float64(1+i%3)
		hf.Hours = append(hf.Hours, hazard.Hour{Time: t0.Add(time.Duration(i) * time.Hour), Rate: r, Lo: r / 2, Hi: 2 * r})
	}
	// A run longer than the forecast: the hazard repeats the week up to
	// twice the run and an hour past the start.
	long := 100 * time.Hour
	c = ForecastCandidate(key, typ, pf, &hf, t0, long)
	until := t0.Add(2*long + time.Hour)
	if len(c.Hazard) == 0 || !c.Hazard[0].Start.Equal(t0) {
		t.Fatalf("hazard %d steps", len(c.Hazard))
	}
	if last := c.Hazard[len(c.Hazard)-1].Start; !last.Equal(until.Add(-time.Hour)) {
		t.Errorf("hazard ends with a step at %s, want %s", last, until.Add(-time.Hour))
	}
	want := HazardFromForecast(hf, until)
	if len(c.Hazard) != len(want) {
		t.Fatalf("%d hazard steps, HazardFromForecast gives %d", len(c.Hazard), len(want))
	}
	for i := range want {
		if c.Hazard[i] != want[i] {
			t.Fatalf("step %d: %+v, want %+v", i, c.Hazard[i], want[i])
		}
	}
}
