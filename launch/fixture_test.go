package launch_test

import (
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

var start = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// workload: four 1-GPU nodes of a 24 h job with at least 16 GiB per GPU.
func workload() recommend.Workload {
	return recommend.Workload{
		MinGPUMemoryGiB: 16, GPUsPerNode: 1, Nodes: 4, Start: start, RunLength: 24 * time.Hour,
		CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, NoticeWindow: recommend.NoticeAWS, MissedNoticeShare: 0.2,
	}
}

func awsPool(zone, typ string) market.PoolKey {
	r, _ := market.RegionOfZone(zone)
	return market.PoolKey{Cloud: market.AWS, Region: r, Zone: zone, InstanceType: typ, Product: "Linux/UNIX"}
}

func cand(p market.PoolKey, price, hazard, onDemand float64) recommend.PoolCandidate {
	return recommend.PoolCandidate{Pool: p, PriceMean: price, PriceLo: price * 0.9, PriceHi: price * 1.1,
		Hazard: recommend.Hazard{{Start: start, Rate: hazard}}, OnDemand: onDemand, Source: "test"}
}

// candidates: in us-west-2 the zone with the lowest list price (2a) is
// interrupted often, so the forecast ranks it below 2b and the 4-GPU type
// in 2c; one pool in us-east-1 and one in GCP fit as well.
func candidates() []recommend.PoolCandidate {
	a100 := market.InstanceType{Cloud: market.GCP, Name: "a2-highgpu-1g", GPUModel: "A100", GPUCount: 1, GPUMemoryGiB: 40}
	gcp := cand(market.PoolKey{Cloud: market.GCP, Region: "us-central1", Zone: "us-central1-a", InstanceType: "a2-highgpu-1g"}, 1.20, 0.02, 3.67)
	gcp.Type = a100
	return []recommend.PoolCandidate{
		cand(awsPool("us-west-2a", "p3.2xlarge"), 0.90, 0.40, 3.06),
		cand(awsPool("us-west-2b", "p3.2xlarge"), 0.95, 0.01, 3.06),
		cand(awsPool("us-west-2c", "p3.8xlarge"), 3.90, 0.01, 12.24),
		cand(awsPool("us-east-1a", "p3.2xlarge"), 1.00, 0.01, 3.06),
		gcp,
	}
}

func placement(t *testing.T, w recommend.Workload, c []recommend.PoolCandidate) recommend.PlacementResult {
	t.Helper()
	p, err := recommend.Placement(w, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
