package files

import "testing"

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
