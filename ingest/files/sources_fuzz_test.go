package files

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"

	"github.com/spotcast/spotcast/market"
)

func FuzzAWSSpotFeed(f *testing.F) {
	fuzzFormat(f, FormatAWSSpotFeed, "spot.json", "aws_spot_feed.json", "aws_spot_feed_jsonp.js", "bad/aws_spot_feed_bad_price.json")
}

func FuzzAzureRetail(f *testing.F) {
	fuzzFormat(f, FormatAzureRetail, "prices.json", "azure_retail_prices.json", "bad/azure_retail_bad_price.json")
}

func FuzzAzureSpotResources(f *testing.F) {
	fuzzFormat(f, FormatAzureSpot, "graph.json", "azure_spot_resources.json", "azure_spot_eviction_cli.json", "bad/azure_spot_bad_bucket.json")
}

func FuzzGCPCapacityHistory(f *testing.F) {
	fuzzFormat(f, FormatGCPCapacityHistory, "history.json", "gcp_capacity_history.json", "gcp_capacity_history_list.json", "bad/gcp_capacity_history_bad_rate.json")
}

func FuzzGCPCapacityAdvice(f *testing.F) {
	fuzzFormat(f, FormatGCPCapacityAdvice, "advice.json", "gcp_capacity_advice.json", "bad/gcp_capacity_advice_bad_uptime.json")
}

func FuzzSpotLake(f *testing.F) {
	fuzzFormat(f, FormatSpotLake, "x.csv", spotlakeSample, "bad/spotlake_bad_az.csv")
}

func FuzzGenericCSV(f *testing.F) {
	for _, s := range []string{"csv_timestamp_region_price.csv", "bad/csv_bad_rows.csv"} {
		b, err := os.ReadFile(td(s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, byte(','), false)
	}
	f.Add([]byte("use1-az4;p3.2xlarge;2024-05-01T00:00:00Z;0.9\n"), byte(';'), true)
	f.Fuzz(func(t *testing.T, in []byte, delim byte, noHeader bool) {
		cols := "timestamp=Timestamp,region=Region,price=SpotPrice"
		if noHeader {
			cols = "zone=1,instance_type=2,timestamp=3,price=4"
		}
		m, err := ParseCSVMap(cols)
		if err != nil {
			t.Fatal(err)
		}
		c := &collect{}
		res, err := Parse(context.Background(), bytes.NewReader(in), "x.csv", c, Options{Format: FormatCSV, Now: clock, SkipBad: true,
			CSV: &CSVMapping{Columns: m, Delimiter: delim, NoHeader: noHeader, Constants: map[string]string{"instance_type": "t3.micro"}}})
		if int64(c.Total()) != res.Added {
			t.Fatalf("added %d, sink got %d", res.Added, c.Total())
		}
		if err != nil {
			return
		}
		for _, p := range c.Prices {
			if !(p.Price > 0) || math.IsInf(p.Price, 0) || p.Time.IsZero() || !market.KnownRegion(p.Pool.Cloud, p.Pool.Region) {
				t.Fatalf("stored a bad price %+v", p)
			}
		}
	})
}

func FuzzAWSAvailabilityZones(f *testing.F) {
	fuzzFormat(f, FormatAWSZones, "zones.json", "describe_availability_zones.json")
}
