package forecast

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// BenchmarkForecastSeries: fit + forecast (24 h ahead, quantiles and
// path-maximum quantiles included) of one pool with 90 days of hourly
// points, per model: "own" builds the residual pool from the series
// itself on every call (ForecastSeries alone), "shared" takes a pool
// built once for its sibling group (what Forecaster does, see
// BenchmarkNewResidualPool for the build).
func BenchmarkForecastSeries(b *testing.B) {
	rng := rand.New(rand.NewPCG(40, 40))
	pts := points(randomWalk(rng, 90*24, 0.005), time.Hour)
	group := [][]market.PricePoint{pts}
	for range 8 {
		group = append(group, points(jumpWalk(rng, 90*24, 0.2, 0.01), time.Hour))
	}
	shared, err := NewResidualPool(group, market.ResolutionChange, 24*time.Hour, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []string{ModelNaive, ModelSES, ModelDamped, ModelHoltWinters, ModelARIMA, ModelAuto} {
		for _, pool := range []string{"own", "shared"} {
			b.Run(m+"/"+pool, func(b *testing.B) {
				opts := Options{Model: m}
				if pool == "shared" {
					opts.Pool = shared
				}
				for b.Loop() {
					if _, err := ForecastSeries(pts, market.PoolKey{}, market.ResolutionChange, 24*time.Hour, opts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "series/s")
			})
		}
	}
}

// BenchmarkNewResidualPool builds the residual pool of a sibling group of
// 9 pools with 90 days of hourly points, 24 h ahead.
func BenchmarkNewResidualPool(b *testing.B) {
	rng := rand.New(rand.NewPCG(41, 41))
	var group [][]market.PricePoint
	for range 9 {
		group = append(group, points(jumpWalk(rng, 90*24, 0.2, 0.01), time.Hour))
	}
	for b.Loop() {
		if _, err := NewResidualPool(group, market.ResolutionChange, 24*time.Hour, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAll2021Pools forecasts every one of the 4,911 pools of the
// per-AZ 2021 history end to end (grid, residual pool, selection,
// quantiles) on both cores, 24 h ahead, from the points read from the
// CSV, the way Forecaster does: one residual pool per sibling group (an
// instance type and product in every zone), shared by its members.
func BenchmarkAll2021Pools(b *testing.B) {
	series := loadHourly(b)
	type job struct {
		pts   []market.PricePoint
		key   market.PoolKey
		group string
	}
	var jobs []job
	groups := map[string][][]market.PricePoint{}
	for _, s := range series {
		pts := make([]market.PricePoint, len(s.Grid.Values))
		for i, v := range s.Grid.Values {
			pts[i] = market.PricePoint{Time: s.Grid.Time(i), Price: v}
		}
		g := s.Key.InstanceType + "|" + s.Key.Product
		jobs = append(jobs, job{pts, s.Key, g})
		groups[g] = append(groups[g], pts)
	}
	for b.Loop() {
		var mu sync.Mutex
		pools := map[string]*ResidualPool{}
		pool := func(g string) (*ResidualPool, error) {
			mu.Lock()
			defer mu.Unlock()
			if p, ok := pools[g]; ok {
				return p, nil
			}
			p, err := NewResidualPool(groups[g], market.ResolutionChange, 24*time.Hour, Options{})
			pools[g] = p
			return p, err
		}
		ch := make(chan job)
		done := make(chan error, 2)
		for range 2 {
			go func() {
				for j := range ch {
					p, err := pool(j.group)
					if err == nil {
						_, err = ForecastSeries(j.pts, j.key, market.ResolutionChange, 24*time.Hour, Options{Pool: p})
					}
					if err != nil {
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
	b.ReportMetric(float64(len(groups)), "groups")
}

// BenchmarkRefitGroup is the refit pass's work for one group of 9 hourly
// pools with a year of history (365 days of hours; the price changes in
// 5% of hours, and only changes are points, as spot prices are stored),
// 24 h ahead: the group's residual pool
// (NewResidualPool), auto's choice once for the group (ScoreCandidates,
// then Choose) and each pool's forecast with the chosen model and the
// shared pool (ForecastSeries). "pool", "choice" and "forecast" time each
// step alone; pools/s is per goroutine (one core).
func BenchmarkRefitGroup(b *testing.B) {
	rng := rand.New(rand.NewPCG(42, 42))
	var group [][]market.PricePoint
	for range 9 {
		var pts []market.PricePoint
		for i, p := range points(jumpWalk(rng, 365*24, 0.05, 0.01), time.Hour) {
			if i == 0 || p.Price != pts[len(pts)-1].Price {
				pts = append(pts, p)
			}
		}
		group = append(group, pts)
	}
	end := group[0][0].Time.Add(365 * 24 * time.Hour)
	const h = 24 * time.Hour
	opts := Options{AsOf: end}
	pool, err := NewResidualPool(group, market.ResolutionChange, h, opts)
	if err != nil {
		b.Fatal(err)
	}
	withPool := opts
	withPool.Pool = pool
	choice, _, err := ChooseModel(group, market.ResolutionChange, h, withPool)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			p, err := NewResidualPool(group, market.ResolutionChange, h, opts)
			if err != nil {
				b.Fatal(err)
			}
			o := opts
			o.Pool = p
			m, _, err := ChooseModel(group, market.ResolutionChange, h, o)
			if err != nil {
				b.Fatal(err)
			}
			o.Model = m
			for _, pts := range group {
				if _, err := ForecastSeries(pts, market.PoolKey{}, market.ResolutionChange, h, o); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(group)*b.N)/b.Elapsed().Seconds(), "pools/s")
	})
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewResidualPool(group, market.ResolutionChange, h, opts); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(group)*b.N)/b.Elapsed().Seconds(), "pools/s")
	})
	b.Run("choice", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ChooseModel(group, market.ResolutionChange, h, withPool); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(group)*b.N)/b.Elapsed().Seconds(), "pools/s")
	})
	b.Run("forecast", func(b *testing.B) {
		o := withPool
		o.Model = choice
		for b.Loop() {
			for _, pts := range group {
				if _, err := ForecastSeries(pts, market.PoolKey{}, market.ResolutionChange, h, o); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(group)*b.N)/b.Elapsed().Seconds(), "pools/s")
		b.ReportMetric(0, "ns/op")
	})
}
