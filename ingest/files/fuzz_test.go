package files

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"

	"github.com/spotcast/spotcast/market"
)

// fuzzFormat fuzzes one parser (the format forced, so every input reaches
// it) seeded with testdata files. Invariants: no panic, the sink gets
// exactly the rows the tally says were added, and every stored value
// passes the checks bad rows are refused by.
func fuzzFormat(f *testing.F, format Format, name string, seeds ...string) {
	for _, s := range seeds {
		b, err := os.ReadFile(td(s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, skip := range []bool{false, true} {
			c := &collect{}
			res, err := Parse(context.Background(), bytes.NewReader(in), name, c, Options{
				Format: format, SkipBad: skip, Now: clock, SnapshotDate: date(2024, 1, 1),
				Placement: &PlacementRequest{InstanceTypes: []string{"p3.2xlarge"}, TargetCapacity: 1, Time: fixedNow},
			})
			if int64(c.Total()) != res.Added {
				t.Fatalf("added %d, sink got %d", res.Added, c.Total())
			}
			if err != nil {
				continue
			}
			for _, p := range c.Prices {
				if !(p.Price > 0) || math.IsInf(p.Price, 0) || p.Time.IsZero() || p.Pool.InstanceType == "" ||
					!market.KnownRegion(p.Pool.Cloud, p.Pool.Region) {
					t.Fatalf("stored a bad price %+v", p)
				}
			}
			for _, o := range c.OnDemand {
				if !(o.Price > 0) || math.IsInf(o.Price, 0) || !market.KnownRegion(o.Cloud, o.Region) {
					t.Fatalf("stored a bad on-demand price %+v", o)
				}
			}
			for _, a := range c.Advisor {
				if a.Bucket < 0 || a.Bucket > 4 || a.SavingsPct < 0 || a.SavingsPct > 100 {
					t.Fatalf("stored a bad advisor row %+v", a)
				}
			}
			for _, s := range c.Scores {
				if s.Score < 1 || s.Score > 10 {
					t.Fatalf("stored a bad score %+v", s)
				}
			}
			for _, g := range c.Signals {
				if g.Kind == "" || !(g.ValueHigh >= g.Value) || math.IsInf(g.ValueHigh, 0) || g.Time.IsZero() ||
					g.Start.After(g.Time) || !market.KnownRegion(g.Cloud, g.Region) {
					t.Fatalf("stored a bad capacity signal %+v", g)
				}
			}
			for _, z := range c.ZoneIDs {
				if z.Zone == "" || !market.IsAWSZoneID(z.ZoneID) {
					t.Fatalf("stored a bad zone id %+v", z)
				}
			}
			for _, it := range c.Types {
				if it.Name == "" || it.VCPU <= 0 || it.GPUCount < 0 || math.IsNaN(it.GPUMemoryGiB) {
					t.Fatalf("stored a bad instance type %+v", it)
				}
			}
		}
	})
}

func FuzzSpotPriceCSV(f *testing.F) {
	fuzzFormat(f, FormatSpotPriceCSV, "x.csv", "spot_prices.csv", "bad/extra_column.csv", "bad/not_a_number.csv")
}
func FuzzSpotPriceJSON(f *testing.F) {
	fuzzFormat(f, FormatSpotPriceJSON, "x.json", "describe_spot_price_history.json", "bad/wrong_shape_record.json")
}
func FuzzDailyOHLC(f *testing.F) { fuzzFormat(f, FormatDailyOHLC, "x.csv", "daily_ohlc.csv") }
func FuzzOnDemandJSON(f *testing.F) {
	fuzzFormat(f, FormatOnDemandJSON, "ondemand_us-east-1.json", "ondemand_us-east-1.json")
}
func FuzzSpotAdvisor(f *testing.F) {
	fuzzFormat(f, FormatSpotAdvisor, "advisor.json", "spot-advisor-data_2024-01.json", "bad/advisor_bad_bucket.json")
}
func FuzzInstanceTypes(f *testing.F) {
	fuzzFormat(f, FormatInstanceTypes, "x.json", "describe_instance_types.json")
}
func FuzzInstanceCatalog(f *testing.F) {
	fuzzFormat(f, FormatInstanceCatalog, "x.csv", "instances_by_region_2024-04.csv")
}
func FuzzGCPPrices(f *testing.F) { fuzzFormat(f, FormatGCPPrices, "x.csv", "gcp_prices.csv") }
func FuzzGCPMachineTypes(f *testing.F) {
	fuzzFormat(f, FormatGCPMachineTypes, "x.json", "gcp_machine_types.json")
}
func FuzzPlacementScores(f *testing.F) {
	fuzzFormat(f, FormatPlacementScores, "x.json", "placement_scores_wrapped.json", "placement_scores_bare.json")
}
func FuzzSkypilotTrace(f *testing.F) {
	fuzzFormat(f, FormatSkypilotTrace, "t/preemption/4-node/aws-08-03-2023/us-east-2a_v100_1.json",
		"skypilot/preemption/4-node/aws-08-03-2023/us-east-2a_v100_1.json",
		"skypilot/preemption/1-node/aws-04-22-2023/us-west-2b_v100_1.json")
}

// FuzzDetect: detection never panics, and whatever it picks, parsing
// keeps the sink and the tally in step.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"spot_prices.csv", "events.ndjson", "gcp_machine_types.json", "spot-advisor-data_2024-01.json", "bad/unknown_json.json"} {
		b, _ := os.ReadFile(td(s))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &collect{}
		res, _ := Parse(context.Background(), bytes.NewReader(in), "x", c, Options{Now: clock, SkipBad: true})
		if int64(c.Total()) != res.Added {
			t.Fatalf("added %d, sink got %d", res.Added, c.Total())
		}
	})
}

// FuzzSplitCSV: fields joined back with commas give the line whenever
// no field needed quoting.
func FuzzSplitCSV(f *testing.F) {
	f.Add([]byte(`a,b,"c,d",e`))
	f.Add([]byte("2021-05-30T15:22:04+00:00,us-east-1a,p3.2xlarge,Linux/UNIX,0.918000"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var scratch []byte
		fields, err := splitCSV(nil, line, &scratch)
		if err != nil || bytes.IndexByte(line, '"') >= 0 {
			return
		}
		if got := bytes.Join(fields, []byte(",")); !bytes.Equal(got, line) {
			t.Fatalf("split %q, joined %q", line, got)
		}
	})
}

// FuzzFastDecimal: the fast path agrees with strconv whenever it answers.
func FuzzFastDecimal(f *testing.F) {
	f.Add([]byte("0.0993"))
	f.Add([]byte("14.4"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := fastDecimal(b)
		if !ok {
			return
		}
		want, err := parseFloatStrict(string(b))
		if err != nil || v != want {
			t.Fatalf("fastDecimal(%q) = %v, strconv %v (%v)", b, v, want, err)
		}
	})
}
