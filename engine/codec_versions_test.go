package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// An interruption forecast persisted by an older codec is refused as
// such (errCodec), so the served pool falls back to an on-demand forecast
// instead of misreading it; the prior's source and time round-trip.
func TestCodecRefusesOlderHazard(t *testing.T) {
	pool := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	f := hazard.Forecast{Pool: pool, Generated: simStoreEnd, Source: "prior", Prior: "no advisor row", Level: 0.9, Baseline: 1e-3,
		PriorSource: "x", PriorTime: simStoreEnd.Add(-time.Hour),
		Posterior: []hazard.Component{{Weight: 1, Shape: 3, Rate: 3000}},
		Hours:     []hazard.Hour{{Time: simStoreEnd, Rate: 1e-3, Lo: 1e-4, Hi: 1e-2}, {Time: simStoreEnd.Add(time.Hour), Rate: 1e-3, Lo: 1e-4, Hi: 1e-2}}}
	doc := encodeHazard(f)
	back, err := decodeHazard(doc, pool)
	if err != nil || back.PriorSource != "x" || !back.PriorTime.Equal(f.PriorTime) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for v := byte(1); v < hazardCodec; v++ {
		old := append([]byte{v}, doc[1:]...)
		if _, err := decodeHazard(old, pool); !errors.Is(err, errCodec) {
			t.Errorf("codec %d document: err %v, want errCodec", v, err)
		}
	}
	sp := &servedPool{info: storage.PoolInfo{Pool: market.Pool{PoolKey: pool}}}
	sp.row.Hazard = append([]byte{1}, doc[1:]...)
	if _, ok, err := sp.precomputedHazard(); ok || err != nil {
		t.Errorf("older document served as precomputed: ok %v, err %v", ok, err)
	}
}
