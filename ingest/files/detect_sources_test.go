package files

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// detectSamples are a sample of every detectable format; each must be
// detected as its own format and as no other.
var detectSamples = []struct {
	file string
	want Format
}{
	{"spot_prices.csv", FormatSpotPriceCSV},
	{"spot_prices.csv.gz", FormatSpotPriceCSV},
	{"describe_spot_price_history.json", FormatSpotPriceJSON},
	{"daily_ohlc.csv", FormatDailyOHLC},
	{"ondemand_us-east-1.json", FormatOnDemandJSON},
	{"spot-advisor-data_2024-01.json", FormatSpotAdvisor},
	{"describe_instance_types.json", FormatInstanceTypes},
	{"instances_by_region_2024-04.csv", FormatInstanceCatalog},
	{"gcp_prices.csv", FormatGCPPrices},
	{"gcp_machine_types.json", FormatGCPMachineTypes},
	{"placement_scores_wrapped.json", FormatPlacementScores},
	{"placement_scores_bare.json", FormatPlacementScores},
	{"events.ndjson", FormatEventBridge},
	{"events_array.json", FormatEventBridge},
	{"skypilot/preemption/4-node/aws-08-03-2023/us-east-2a_v100_1.json", FormatSkypilotTrace},
	{"aws_spot_feed.json", FormatAWSSpotFeed},
	{"aws_spot_feed_jsonp.js", FormatAWSSpotFeed},
	{"azure_retail_prices.json", FormatAzureRetail},
	{"azure_spot_resources.json", FormatAzureSpot},
	{"azure_spot_eviction_cli.json", FormatAzureSpot},
	{"bad/azure_spot_bad_bucket.json", FormatAzureSpot},
	{"gcp_capacity_history.json", FormatGCPCapacityHistory},
	{"gcp_capacity_history_list.json", FormatGCPCapacityHistory},
	{"gcp_capacity_advice.json", FormatGCPCapacityAdvice},
	{spotlakeSample, FormatSpotLake},
	{"describe_availability_zones.json", FormatAWSZones},
}

// TestDetectAcrossFormats runs detection over a sample of every format,
// also with its JSON keys in another order where the format allows, and
// checks that every detectable format has a sample. The csv format is
// never detected: a CSV of another shape fails detection instead of
// being read as something it is not.
func TestDetectAcrossFormats(t *testing.T) {
	covered := map[Format]bool{}
	for _, tc := range detectSamples {
		_, res, err := parseFile(t, td(tc.file), Options{SnapshotDate: fixedNow})
		if res.Format != tc.want {
			t.Errorf("%s: detected %q (err %v), want %q", tc.file, res.Format, err, tc.want)
		}
		covered[tc.want] = true
	}
	for _, f := range Formats() {
		if f != FormatCSV && !covered[f] {
			t.Errorf("format %s has no detection sample", f)
		}
	}
	for _, tc := range []struct {
		name, in string
		want     Format
	}{
		{"retail page, Count first", `{"Count":1,"Items":[{"armSkuName":"x"}],"NextPageLink":null}`, FormatAzureRetail},
		{"graph rows, count first", `{"count":1,"data":[{"location":"eastus","skuName":"x","spotEvictionRate":"0-5"}]}`, FormatAzureSpot},
		{"graph rows, bare", `[{"type":"microsoft.compute/skuspotevictionrate/location","location":"eastus","sku":{"name":"x"}}]`, FormatAzureSpot},
		{"history, machineType first", `{"machineType":"a2-highgpu-1g","location":"zones/us-central1-a","preemptionHistory":[]}`, FormatGCPCapacityHistory},
		{"history, bare array", `[{"location":"zones/us-central1-a","machineType":"a2-highgpu-1g"}]`, FormatGCPCapacityHistory},
		{"feed, config first", `{"config":{"regions":[]},"vers":0.01}`, FormatAWSSpotFeed},
		{"trace, data before metadata", `{"data":[0,1,1],"metadata":{"gap_seconds":300}}`, FormatSkypilotTrace},
		{"trace, data of objects", `{"data":[{"a":1}],"metadata":{"gap_seconds":300}}`, FormatSkypilotTrace},
	} {
		got, err := detect([]byte(tc.in), "x.json")
		if got != tc.want {
			t.Errorf("%s: detected %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
	// A CSV of an unknown shape is refused, not read as a near format.
	for _, in := range []string{"Timestamp,Region,SpotPrice\n2024-05-01T00:00:00Z,us-east-1,0.1\n", "use1-az4;p3.2xlarge;2024-05-01T00:00:00Z;0.9\n"} {
		if f, err := detect([]byte(in), "x.csv"); err == nil {
			t.Errorf("%q detected as %s", in, f)
		}
	}
}

// TestREADMEListsEveryFormat: the README's format table has a row per
// format.
func TestREADMEListsEveryFormat(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	table := b[bytes.Index(b, []byte("## Input formats")):]
	table = table[:bytes.Index(table, []byte("\n## "))]
	for _, f := range Formats() {
		row := "\n| `" + string(f) + "` |"
		if !strings.Contains(string(table), row) {
			t.Errorf("README's format table has no row for %s", f)
		}
	}
}
