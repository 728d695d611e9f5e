package hazard_test

import (
	"fmt"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// A pool the advisor puts in bucket 1 (5-10% a month), watched for 100
// instance-hours with 2 interruptions.
func ExampleEstimate() {
	t0 := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	ev := func(h int, kind string) market.Event {
		return market.Event{Time: t0.Add(time.Duration(h) * time.Hour), Kind: kind, Count: 1}
	}
	in := hazard.Inputs{
		Advisor: &market.AdvisorRow{Region: "us-east-1", OS: "Linux", InstanceType: "p3.2xlarge", Bucket: 1},
		Events: []market.Event{
			ev(0, market.EventObservationStart), ev(40, market.EventPreempted), ev(40, market.EventLaunched),
			ev(70, market.EventPreempted), ev(70, market.EventLaunched),
		},
	}
	f, err := hazard.Estimate(in, t0.Add(100*time.Hour), hazard.Options{HalfLife: -1, Dispersion: -1})
	if err != nil {
		panic(err)
	}
	h := f.Hours[0]
	fmt.Printf("%d events in %.0f instance-hours\n", f.Events, f.ExposureHours)
	fmt.Printf("hazard %.4f/h, 90%% interval [%.4f, %.4f]\n", h.Rate, h.Lo, h.Hi)
	fmt.Printf("P(interrupted within 24h) = %.2f\n", f.ProbWithin(24*time.Hour))
	// Output:
	// 2 events in 100 instance-hours
	// hazard 0.0090/h, 90% interval [0.0007, 0.0265]
	// P(interrupted within 24h) = 0.18
}
