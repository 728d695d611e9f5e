package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// An interruption forecast persisted before the prior named its sources
// (codec 1) still decodes, without them; a refit rewrites it.
func TestCodecReadsHazardV1(t *testing.T) {
	pool := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	f := hazard.Forecast{Pool: pool, Generated: simStoreEnd, Source: "prior", Prior: "no advisor row", Level: 0.9, Baseline: 1e-3,
		Posterior: []hazard.Component{{Weight: 1, Shape: 3, Rate: 3000}},
		Hours:     []hazard.Hour{{Time: simStoreEnd, Rate: 1e-3, Lo: 1e-4, Hi: 1e-2}, {Time: simStoreEnd.Add(time.Hour), Rate: 1e-3, Lo: 1e-4, Hi: 1e-2}}}
	doc := encodeHazard(f)
	// Where the prior's source starts: the first byte a non-empty source
	// changes (its length).
	g := f
	g.PriorSource = "x"
	other := encodeHazard(g)
	at := 0
	for doc[at] == other[at] {
		at++
	}
	// Codec 1: no source (4-byte length) and no time (1-byte zero flag).
	v1 := append([]byte{hazardCodecV1}, doc[1:at]...)
	v1 = append(v1, doc[at+5:]...)
	got, err := decodeHazard(v1, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("codec 1 decodes to %+v, want %+v", got, f)
	}
	g.PriorTime = simStoreEnd.Add(-time.Hour)
	if back, err := decodeHazard(encodeHazard(g), pool); err != nil || back.PriorSource != "x" || !back.PriorTime.Equal(g.PriorTime) {
		t.Errorf("codec 2 round trip: %+v %v", back, err)
	}
}
