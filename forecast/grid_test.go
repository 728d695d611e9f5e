package forecast

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func TestToGrid(t *testing.T) {
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	pp := func(h, p float64) market.PricePoint { return market.PricePoint{Time: at(h), Price: p} }
	tests := []struct {
		name    string
		pts     []market.PricePoint
		end     time.Time
		start   time.Time
		want    []float64
		skipped int
		err     error
	}{
		{"on the grid", []market.PricePoint{pp(0, 1), pp(1, 2), pp(2, 3)}, time.Time{}, at(0), []float64{1, 2, 3}, 0, nil},
		// A change at 1:30 is not visible at 1:00 (no look-ahead).
		{"between grid times", []market.PricePoint{pp(0.5, 1), pp(1.5, 2), pp(3, 3)}, time.Time{}, at(1), []float64{1, 2, 3}, 0, nil},
		{"several changes in an hour: last wins", []market.PricePoint{pp(0, 1), pp(0.2, 5), pp(0.9, 2), pp(1, 3)}, time.Time{}, at(0), []float64{1, 3}, 0, nil},
		{"gap carries the last price", []market.PricePoint{pp(0, 1), pp(5, 2)}, time.Time{}, at(0), []float64{1, 1, 1, 1, 1, 2}, 0, nil},
		{"extended to end", []market.PricePoint{pp(0, 1)}, at(2.5), at(0), []float64{1, 1, 1}, 0, nil},
		{"unsorted", []market.PricePoint{pp(2, 3), pp(0, 1), pp(1, 2)}, time.Time{}, at(0), []float64{1, 2, 3}, 0, nil},
		{"bad prices skipped", []market.PricePoint{pp(0, 1), pp(1, math.NaN()), pp(1.5, -2), pp(2, math.Inf(1)), pp(2, 0)}, time.Time{}, at(0), []float64{1}, 4, nil},
		{"empty", nil, time.Time{}, time.Time{}, nil, 0, ErrNoData},
		{"end before start", []market.PricePoint{pp(5, 1)}, at(1), time.Time{}, nil, 0, ErrNoData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ToGrid(tc.pts, time.Hour, tc.end)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !g.Start.Equal(tc.start) || len(g.Values) != len(tc.want) || g.Skipped != tc.skipped {
				t.Fatalf("start %v values %v skipped %d; want %v %v %d", g.Start, g.Values, g.Skipped, tc.start, tc.want, tc.skipped)
			}
			for i := range tc.want {
				if g.Values[i] != tc.want[i] {
					t.Fatalf("values %v, want %v", g.Values, tc.want)
				}
			}
		})
	}
}

func TestToGridDaily(t *testing.T) {
	day := 24 * time.Hour
	pts := []market.PricePoint{
		{Time: t0, Price: 1}, {Time: t0.Add(day), Price: 2}, {Time: t0.Add(3 * day), Price: 4},
	}
	g, err := ToGrid(pts, day, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1, 2, 2, 4}; len(g.Values) != 4 || g.Values[2] != 2 || g.Values[3] != 4 {
		t.Fatalf("daily grid %v, want %v", g.Values, want)
	}
	// A backtest origin at day 3's start knows days 0..2 only.
	s := Series{Resolution: market.ResolutionDaily, Grid: g}
	if i := originIndex(s, t0.Add(3*day)); i != 2 {
		t.Errorf("daily origin index %d, want 2", i)
	}
	hs := Series{Resolution: market.ResolutionChange, Grid: g}
	if i := originIndex(hs, t0.Add(3*day)); i != 3 {
		t.Errorf("change-series origin index %d, want 3", i)
	}
}

// FuzzForecastSeries feeds arbitrary prices, gaps and horizons to the
// model entry point: it must return an error or a finite forecast.
func FuzzForecastSeries(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 240, 63}, uint16(24), uint8(0))
	f.Add([]byte{}, uint16(1), uint8(1))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 248, 127, 1, 0, 0, 0, 0, 0, 240, 63}, uint16(168), uint8(3))
	models := Models()
	f.Fuzz(func(t *testing.T, data []byte, hours uint16, model uint8) {
		var pts []market.PricePoint
		tm := t0
		for len(data) >= 9 {
			gap := time.Duration(data[0]) * 17 * time.Minute
			price := math.Float64frombits(binary.LittleEndian.Uint64(data[1:9]))
			data = data[9:]
			tm = tm.Add(gap)
			pts = append(pts, market.PricePoint{Time: tm, Price: price})
		}
		// Repeat the points to reach lengths the seasonal models accept.
		for len(pts) > 0 && len(pts) < 400 {
			last := pts[len(pts)-1].Time
			for _, p := range pts[:min(len(pts), 400-len(pts))] {
				p.Time = last.Add(p.Time.Sub(t0) + time.Hour)
				pts = append(pts, p)
			}
		}
		opts := Options{Model: models[int(model)%len(models)]}
		for _, res := range []string{market.ResolutionChange, market.ResolutionDaily} {
			fc, err := ForecastSeries(pts, market.PoolKey{}, res, time.Duration(hours)*time.Hour, opts)
			if err != nil {
				if !errors.Is(err, ErrNoData) && !errors.Is(err, ErrBadHorizon) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			checkFinite(t, fc)
			for _, b := range []float64{0, fc.LastPrice, 2 * fc.LastPrice} {
				if p := fc.ExceedProb(b, time.Duration(hours)*time.Hour); math.IsNaN(p) || p < 0 || p > 1 {
					t.Fatalf("ExceedProb(%v) = %v", b, p)
				}
			}
		}
	})
}
