package hazard

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestRateHazardAgreesWithTheAdvisorMapping(t *testing.T) {
	// The advisor's buckets are monthly shares: the general mapping over a
	// 730-hour window must give BucketHazard's answers.
	month := time.Duration(HoursPerMonth * float64(time.Hour))
	for b, edges := range [][2]float64{{0, 0.05}, {0.05, 0.10}, {0.10, 0.15}, {0.15, 0.20}, {0.20, 1}} {
		got, err := RateHazard(edges[0], edges[1], month)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := BucketHazard(b)
		if !near(got, want) {
			t.Errorf("bucket %d: RateHazard %v, BucketHazard %v", b, got, want)
		}
	}
}

func TestCloudHazardsKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  func() (float64, error)
		want float64
	}{
		{"azure 0-5 per hour", func() (float64, error) { return RateHazard(0, 0.05, time.Hour) }, -math.Log(0.975)},
		{"azure 20+ per hour", func() (float64, error) { return RateHazard(0.20, 1, time.Hour) }, -math.Log(0.7)},
		{"gcp half the stops preempted", func() (float64, error) { return PreemptionShareHazard(0.5) }, 1.0 / 24},
		{"gcp no preemptions", func() (float64, error) { return PreemptionShareHazard(0) }, minHazard},
		{"gcp every stop preempted (capped)", func() (float64, error) { return PreemptionShareHazard(1) }, 19.0 / 24},
		{"gcp uptime 24 h", func() (float64, error) { return UptimeHazard(24) }, math.Ln2 / 24},
		{"obtainability 1", func() (float64, error) { return ObtainabilityMultiplier(1) }, 0.5},
		{"obtainability 0", func() (float64, error) { return ObtainabilityMultiplier(0) }, 2},
	} {
		got, err := tc.got()
		if err != nil || !near(got, tc.want) {
			t.Errorf("%s = %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []func() (float64, error){
		func() (float64, error) { return RateHazard(0.1, 0.05, time.Hour) },
		func() (float64, error) { return RateHazard(0, 0.05, 0) },
		func() (float64, error) { return PreemptionShareHazard(1.5) },
		func() (float64, error) { return UptimeHazard(0) },
		func() (float64, error) { return ObtainabilityMultiplier(math.NaN()) },
	} {
		if _, err := bad(); err == nil {
			t.Error("an out-of-range input was accepted")
		}
	}
	// Worse buckets, higher hazards.
	prev := 0.0
	for _, e := range [][2]float64{{0, 0.05}, {0.05, 0.10}, {0.10, 0.15}, {0.15, 0.20}, {0.20, 1}} {
		h, _ := RateHazard(e[0], e[1], time.Hour)
		if !(h > prev) {
			t.Errorf("bucket %v: hazard %v not above %v", e, h, prev)
		}
		prev = h
	}
}

func TestNormalizedScore(t *testing.T) {
	for _, tc := range []struct{ score, scale, want int }{
		{1, 3, 1}, {2, 3, 6}, {3, 3, 10}, {7, 10, 7}, {7, 0, 7}, {1, 10, 1},
	} {
		if got, err := NormalizedScore(tc.score, tc.scale); err != nil || got != tc.want {
			t.Errorf("NormalizedScore(%d, %d) = %d (%v), want %d", tc.score, tc.scale, got, err, tc.want)
		}
	}
	if _, err := NormalizedScore(4, 3); err == nil {
		t.Error("a 4 on a 1-3 scale was accepted")
	}
}

func TestPickCloudPrior(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	sig := func(zone, kind string, v float64, age time.Duration) market.CapacitySignal {
		return market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: zone, InstanceType: "a2-highgpu-1g",
			Kind: kind, Value: v, ValueHigh: v, Start: now.Add(-age - 24*time.Hour), Time: now.Add(-age)}
	}
	all := []market.CapacitySignal{
		sig("", market.SignalPreemptionRate, 0.2, time.Hour),
		sig("us-central1-a", market.SignalPreemptionRate, 0.5, 2*time.Hour),
		sig("us-central1-a", market.SignalPreemptionRate, 0.1, 30*time.Hour),
		sig("us-central1-b", market.SignalEstimatedUptime, 3, time.Hour),
		sig("us-central1-a", market.SignalObtainability, 0.9, time.Hour),
		sig("us-central1-a", market.SignalEstimatedUptime, 8, -time.Hour), // after now
	}
	p, ok := PickCloudPrior(all, "us-central1-a", now)
	if !ok || p.Signal.Value != 0.5 || !near(p.Hazard, 1.0/24) {
		t.Fatalf("zone a: %+v %v; want the newest zone-level preemption rate 0.5", p, ok)
	}
	p, ok = PickCloudPrior(all, "us-central1-b", now)
	if !ok || p.Signal.Kind != market.SignalEstimatedUptime || !near(p.Hazard, math.Ln2/3) {
		t.Fatalf("zone b: %+v", p)
	}
	p, ok = PickCloudPrior(all, "us-central1-c", now)
	if !ok || p.Signal.Zone != "" {
		t.Fatalf("zone c: %+v; want the region's signal", p)
	}
	if _, ok := PickCloudPrior(all[4:5], "us-central1-a", now); ok {
		t.Fatal("obtainability alone gave a hazard")
	}
	// A region-level pool spans its zones: the region's signal first,
	// else a zone's (GCP's price series are per region, its advice per
	// zone).
	p, ok = PickCloudPrior(all, "", now)
	if !ok || p.Signal.Zone != "" || p.Signal.Value != 0.2 {
		t.Fatalf("region pool: %+v", p)
	}
	p, ok = PickCloudPrior(all[1:], "", now)
	if !ok || p.Signal.Kind != market.SignalEstimatedUptime || p.Signal.Zone != "us-central1-b" {
		t.Fatalf("region pool, zone signals only: %+v", p)
	}
	if o := PickObtainability(all, "", now); o == nil || o.Value != 0.9 {
		t.Fatalf("region pool obtainability: %+v", o)
	}
	if o := PickObtainability(all, "us-central1-b", now); o != nil {
		t.Fatalf("zone b took zone a's obtainability: %+v", o)
	}
}

func ExampleSignalHazard() {
	s := market.CapacitySignal{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_NC24ads_A100_v4",
		Kind: market.SignalEvictionRate, Value: 0.10, ValueHigh: 0.15, Label: "10-15",
		Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	p, err := SignalHazard(s)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Desc)
	// Output: Azure eviction rate 10-15%/h (azure eastus Standard_NC24ads_A100_v4, 2026-01-02) -> 0.134/h
}
