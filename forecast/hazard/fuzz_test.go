package hazard

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

var fuzzKinds = []string{
	market.EventObservationStart, market.EventObservationEnd, market.EventLaunched, market.EventPreempted,
	market.EventCapacity, market.EventInterruptionWarning, market.EventRebalance, "bogus",
}

// FuzzEstimate feeds arbitrary event sequences and options to Estimate:
// it must return an error or a forecast without NaN, and never panic.
func FuzzEstimate(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 2, 1, 5, 0}, uint8(2), 0.5, int64(24))
	f.Add([]byte{5, 1, 7, 6, 1, 2, 3, 9, 9, 0, 4, 250}, uint8(4), 1.2, int64(1))
	f.Add([]byte{}, uint8(9), math.NaN(), int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, bucket uint8, pressure float64, horizonH int64) {
		var evs []market.Event
		for i := 0; i+4 <= len(data) && len(evs) < 200; i += 4 {
			mins := binary.LittleEndian.Uint16(data[i:])
			evs = append(evs, market.Event{
				Time:       t0.Add(time.Duration(mins) * time.Minute),
				Kind:       fuzzKinds[int(data[i+2])%len(fuzzKinds)],
				Count:      int(int8(data[i+3])),
				InstanceID: string(rune('a' + data[i+3]%3)),
			})
		}
		in := Inputs{Advisor: &market.AdvisorRow{Bucket: int(bucket)}, PricePressure: pressure, Events: evs, Siblings: evs}
		o := Options{Horizon: time.Duration(horizonH) * time.Hour}
		fc, err := Estimate(in, t0.Add(2000*time.Hour), o)
		if err != nil {
			return
		}
		for _, h := range fc.Hours {
			if math.IsNaN(h.Rate) || math.IsNaN(h.Lo) || math.IsNaN(h.Hi) || h.Lo > h.Hi || h.Rate < 0 {
				t.Fatalf("hour %+v", h)
			}
		}
		for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 1000 * time.Hour} {
			if p := fc.ProbWithin(d); math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("ProbWithin(%v) = %v", d, p)
			}
		}
		if math.IsNaN(fc.Baseline) || fc.MTBF() < 0 {
			t.Fatalf("baseline %v, MTBF %v", fc.Baseline, fc.MTBF())
		}
	})
}
