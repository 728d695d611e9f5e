package sim_test

import (
	"fmt"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
)

func ExampleMonthlyFrequency() {
	for _, h := range []float64{0.00005, 0.0002, 0.008} {
		f := sim.MonthlyFrequency(h)
		fmt.Printf("%.5f/h: %.1f%% a month, advisor bucket %d\n", h, 100*f, sim.AdvisorBucket(f))
	}
	// Output:
	// 0.00005/h: 3.6% a month, advisor bucket 0
	// 0.00020/h: 13.6% a month, advisor bucket 2
	// 0.00800/h: 99.7% a month, advisor bucket 4
}

func ExampleNewTruth() {
	end := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	tr, err := sim.NewTruth(sim.Config{Seed: 1, Days: 7, Now: func() time.Time { return end }, Types: []string{"p5.48xlarge"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	key := market.PoolKey{Cloud: market.AWS, Region: "us-west-2", Zone: "us-west-2b", InstanceType: "p5.48xlarge", Product: sim.Product}
	p, err := tr.Pool(key)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(tr.Pools), "pools from", tr.Start.Format(time.RFC3339))
	fmt.Printf("%s: H100 rate %.3f/h, weekend factor %.1f\n", p.Key, p.HazardModel.TypeRate, p.HazardModel.WeekendFactor)
	// Output:
	// 8 pools from 2026-01-08T12:00:00Z
	// aws/us-west-2b/p5.48xlarge/Linux/UNIX: H100 rate 0.041/h, weekend factor 0.6
}
