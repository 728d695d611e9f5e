package forecast

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// BenchmarkForecastSeries: fit + forecast (24 h ahead, quantiles
// included) of one pool with 90 days of hourly points, per model.
func BenchmarkForecastSeries(b *testing.B) {
	rng := rand.New(rand.NewPCG(40, 40))
	pts := points(randomWalk(rng, 90*24, 0.005), time.Hour)
	for _, m := range []string{ModelNaive, ModelSES, ModelDamped, ModelHoltWinters, ModelARIMA, ModelAuto} {
		b.Run(m, func(b *testing.B) {
			for b.Loop() {
				if _, err := ForecastSeries(pts, market.PoolKey{}, market.ResolutionChange, 24*time.Hour, Options{Model: m}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "series/s")
		})
	}
}

// BenchmarkAll2021Pools forecasts every one of the 4,911 pools of the
// per-AZ 2021 history end to end (grid, selection, quantiles) on both
// cores, 24 h ahead, from the points read from the CSV.
func BenchmarkAll2021Pools(b *testing.B) {
	series := loadHourly(b)
	type job struct {
		pts []market.PricePoint
		key market.PoolKey
	}
	var jobs []job
	for _, s := range series {
		pts := make([]market.PricePoint, len(s.Grid.Values))
		for i, v := range s.Grid.Values {
			pts[i] = market.PricePoint{Time: s.Grid.Time(i), Price: v}
		}
		jobs = append(jobs, job{pts, s.Key})
	}
	for b.Loop() {
		ch := make(chan job)
		done := make(chan error, 2)
		for range 2 {
			go func() {
				for j := range ch {
					if _, err := ForecastSeries(j.pts, j.key, market.ResolutionChange, 24*time.Hour, Options{}); err != nil {
						done <- err
						for range ch {
						}
						return
					}
				}
				done <- nil
			}()
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		for range 2 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(jobs)*b.N)/b.Elapsed().Seconds(), "series/s")
	b.ReportMetric(float64(len(jobs)), "pools")
}
