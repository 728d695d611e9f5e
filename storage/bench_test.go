package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// syntheticPrices is n price changes over pools pools, in time order the
// way DescribeSpotPriceHistory files come.
func syntheticPrices(n, pools int) []market.PricePoint {
	keys := make([]market.PoolKey, pools)
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}
	for i := range keys {
		keys[i] = market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: zones[i%len(zones)],
			InstanceType: fmt.Sprintf("m%d.%dxlarge", i/len(zones)%50, i/len(zones)/50), Product: "Linux/UNIX"}
	}
	fetched := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	out := make([]market.PricePoint, n)
	for i := range out {
		out[i] = market.PricePoint{Pool: keys[(i*7919)%pools], Time: t0.Add(time.Duration(i) * time.Second),
			Price: 0.1 + float64(i%1000)/1000, Source: "file:synthetic.csv", FetchedAt: fetched}
	}
	return out
}

// BenchmarkImportPrices measures the Writer path alone (no parsing): 1M
// price rows through AddPrice, the Appender and the merge, into a new
// in-memory store.
func BenchmarkImportPrices(b *testing.B) {
	const n = 1_000_000
	pts := syntheticPrices(n, 5000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := Open(ctx, "", Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := s.Import(ctx, RunInfo{Source: "file:synthetic.csv"}, addAll(pts...))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if st.Stored() != n {
			b.Fatalf("stored %d, want %d", st.Stored(), n)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
