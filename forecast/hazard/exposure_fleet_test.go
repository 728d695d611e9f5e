package hazard

import (
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// A fleet that brackets each instance separately (as the simulator and a
// per-instance event feed do) is exposed for the sum of its instances'
// hours, not for the wall-clock span.
func TestReplayPerInstanceBrackets(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var evs []market.Event
	for i, id := range []string{"i-1", "i-2", "i-3", "i-4"} {
		evs = append(evs,
			market.Event{Time: t0, Kind: market.EventObservationStart, InstanceID: id, Count: 1},
			market.Event{Time: t0.Add(10 * time.Hour), Kind: market.EventObservationEnd, InstanceID: id, Count: 1})
		if i == 0 {
			// i-1 is interrupted after 4 h and replaced by i-5.
			evs[len(evs)-1] = market.Event{Time: t0.Add(4 * time.Hour), Kind: market.EventPreempted, InstanceID: id, Count: 1}
			evs = append(evs,
				market.Event{Time: t0.Add(5 * time.Hour), Kind: market.EventLaunched, InstanceID: "i-5", Count: 1},
				market.Event{Time: t0.Add(10 * time.Hour), Kind: market.EventObservationEnd, InstanceID: "i-5", Count: 1})
		}
	}
	h := replay(evs, t0.Add(24*time.Hour), 0)
	var hours float64
	for _, s := range h.spans {
		hours += s.n * s.end.Sub(s.start).Hours()
	}
	// 3 instances x 10 h + i-1 4 h + i-5 5 h.
	if want := 39.0; math.Abs(hours-want) > 1e-9 || h.interruptions != 1 {
		t.Errorf("exposure %.2f instance-hours, %d interruptions; want %.0f and 1", hours, h.interruptions, want)
	}

	// A trace without instance ids keeps the absolute meaning: Count
	// nodes watched from start to end.
	trace := []market.Event{
		{Time: t0, Kind: market.EventObservationStart, Count: 4},
		{Time: t0.Add(10 * time.Hour), Kind: market.EventObservationEnd},
	}
	h = replay(trace, t0.Add(24*time.Hour), 0)
	hours = 0
	for _, s := range h.spans {
		hours += s.n * s.end.Sub(s.start).Hours()
	}
	if hours != 40 {
		t.Errorf("trace exposure %.2f instance-hours; want 40", hours)
	}
}
