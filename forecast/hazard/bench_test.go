package hazard

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// BenchmarkEstimate: one pool, 4 instances watched for 4 weeks (~110
// interruptions) plus the same again as siblings, 168-hour forecast.
func BenchmarkEstimate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	hours := 4 * HoursPerWeek
	own := simPool(rng, 4, hours, func(time.Time) float64 { return 0.04 })
	sib := simPool(rng, 4, hours, func(time.Time) float64 { return 0.04 })
	for i := range sib {
		sib[i].Zone = "us-east-1b"
	}
	in := Inputs{Advisor: &market.AdvisorRow{Bucket: 2}, Events: own, Siblings: sib}
	now := simStart.Add(time.Duration(hours) * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Estimate(in, now, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
