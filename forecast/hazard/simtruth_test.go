package hazard

import (
	"math"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/ingesttest"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
)

// TestRecoversSimulatorHazard is the end-to-end known-answer check on the
// market simulator (ingest/sim): its fleet events, as stored, go into
// Estimate, and the forecast mean hazard over the next week must match the
// simulator's true hazard over that week, per GPU family (V100 0.8 %/h,
// A100 2.3 %/h, H100 4.1 %/h on weekdays, x0.6 at weekends).
func TestRecoversSimulatorHazard(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	cfg := sim.Config{Seed: 7, Days: 28, Now: func() time.Time { return now }, Holdout: 7 * 24 * time.Hour,
		Types: []string{"p3.2xlarge", "p4d.24xlarge", "p5.48xlarge"}}
	var rows ingesttest.Collector
	if _, err := sim.Generate(cfg, &rows); err != nil {
		t.Fatal(err)
	}
	byPool := map[market.PoolKey][]market.Event{}
	for _, e := range rows.Events {
		k := market.PoolKey{Cloud: e.Cloud, Region: e.Region, Zone: e.Zone, InstanceType: e.InstanceType, Product: sim.Product}
		byPool[k] = append(byPool[k], e)
	}
	truth, err := sim.NewTruth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	type sum struct{ est, truth float64 }
	byType := map[string]*sum{}
	inside, pools := 0, 0
	for key, evs := range byPool {
		p, err := truth.Pool(key)
		if err != nil {
			t.Fatal(err)
		}
		// The simulator loses instances one by one at a Poisson rate.
		f, err := Estimate(Inputs{Pool: key, Events: evs}, truth.End, Options{Horizon: week, Params: independent})
		if err != nil {
			t.Fatal(err)
		}
		integrated, err := p.IntegratedHazard(truth.End, truth.End.Add(week))
		if err != nil {
			t.Fatal(err)
		}
		trueRate := integrated / week.Hours()
		est := f.RateOver(truth.End, week)
		s := byType[key.InstanceType]
		if s == nil {
			s = &sum{}
			byType[key.InstanceType] = s
		}
		s.est += est
		s.truth += trueRate
		var lo, hi float64
		for _, h := range f.Hours {
			lo += h.Lo
			hi += h.Hi
		}
		lo /= float64(len(f.Hours))
		hi /= float64(len(f.Hours))
		pools++
		if trueRate >= lo && trueRate <= hi {
			inside++
		}
	}
	if len(byType) != 3 {
		t.Fatalf("simulated types %v; want 3", byType)
	}
	for typ, s := range byType {
		// Each family has thousands of instance-hours and tens of
		// interruptions per pool; a correct exposure count lands within
		// 30% in aggregate, a wrong one (wall-clock hours instead of
		// instance-hours) is off by the fleet size.
		if r := s.est / s.truth; math.Abs(math.Log(r)) > math.Log(1.3) {
			t.Errorf("%s: estimated mean hazard %.4f/h vs true %.4f/h (ratio %.2f)", typ, s.est, s.truth, r)
		}
	}
	if share := float64(inside) / float64(pools); share < 0.7 {
		t.Errorf("true weekly mean inside the mean 90%% interval for %d of %d pools (%.0f%%); want most", inside, pools, 100*share)
	}
}
