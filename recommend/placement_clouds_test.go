package recommend

import (
	"strings"
	"testing"

	"github.com/spotcast/spotcast/market"
)

// Each candidate's own notice window sets its checkpoint policy: a GCP
// pool (30 s) ranked beside an AWS pool (120 s) pays the overhead
// Checkpoint gives for 30 s, and the rank says which notice it assumed.
func TestPlacementNoticePerCandidate(t *testing.T) {
	aws := cand("us-east-1a", "p4d.24xlarge", 20, 24, 0)
	aws.NoticeWindow = NoticeAWS
	gcp := cand("us-east-1a", "p4d.24xlarge", 20, 24, 0)
	gcp.Pool = market.PoolKey{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g"}
	gcp.Type = market.InstanceType{Cloud: market.GCP, Name: "a2-highgpu-8g", GPUModel: "A100", GPUCount: 8, GPUMemoryGiB: 40, Source: "file:types.json"}
	gcp.NoticeWindow = NoticeGCP
	gcp.Inputs = []InputSource{{Input: "spot_price", Source: "file:gcp.csv"}}
	w := baseWorkload
	w.GPUModel = "A100"
	res, err := Placement(w, []PoolCandidate{aws, gcp})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranked) != 2 {
		t.Fatalf("ranked %+v", res.Ranked)
	}
	for _, r := range res.Ranked {
		notice := NoticeOf(r.Pool.Cloud)
		ck, err := Checkpoint(CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: notice,
			MissedNoticeShare: w.MissedNoticeShare, Hazard: aws.Hazard, Start: w.Start, RunLength: w.RunLength, Nodes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.NoticeWindowSeconds != notice.Seconds() || r.OverheadRatio != ck.ExpectedOverheadRatio {
			t.Errorf("%s: notice %v s, overhead %v; want %v s, %v", r.Pool, r.NoticeWindowSeconds, r.OverheadRatio, notice.Seconds(), ck.ExpectedOverheadRatio)
		}
	}
	// Same price and hazard: the shorter notice costs more, so AWS ranks first.
	if res.Ranked[0].Pool.Cloud != market.AWS || !(res.Ranked[1].OverheadRatio > res.Ranked[0].OverheadRatio) {
		t.Errorf("ranking %s (%v) before %s (%v)", res.Ranked[0].Pool, res.Ranked[0].OverheadRatio, res.Ranked[1].Pool, res.Ranked[1].OverheadRatio)
	}
	if in := res.Ranked[1].Inputs; len(in) != 1 || in[0].Source != "file:gcp.csv" {
		t.Errorf("inputs not passed through: %+v", in)
	}
}

// A catalogue row that counts GPUs but names no model (ec2instances.info)
// gives way to the cloud's built-in table, and says so; without a
// built-in entry it stands as it is.
func TestResolveTypeCountWithoutModel(t *testing.T) {
	row := market.InstanceType{Cloud: market.AWS, Name: "p4d.24xlarge", GPUCount: 8, GPUMemoryGiB: 40, Source: "file:instances.csv"}
	got, err := ResolveType(market.AWS, "p4d.24xlarge", &row)
	if err != nil || got.GPUModel != "A100" || got.GPUCount != 8 ||
		!strings.HasPrefix(got.Source, market.SourceBuiltinAWSDocs) || !strings.Contains(got.Source, "file:instances.csv counts 8 GPUs but names no model") {
		t.Errorf("p4d.24xlarge: %+v %v", got, err)
	}
	az := market.InstanceType{Cloud: market.Azure, Name: "Standard_NC24ads_A100_v4", GPUCount: 1, Source: "file:x"}
	if got, err := ResolveType(market.Azure, az.Name, &az); err != nil || got.GPUModel != "A100" || got.GPUMemoryGiB != 80 {
		t.Errorf("azure: %+v %v", got, err)
	}
	if got, err := ResolveType(market.Azure, "Standard_ND96isr_H100_v5", nil); err != nil || got.GPUModel != "H100" {
		t.Errorf("azure without a catalogue row: %+v %v", got, err)
	}
	odd := market.InstanceType{Cloud: market.GCP, Name: "x9-gpu-2g", GPUCount: 2, Source: "file:y"}
	if got, err := ResolveType(market.GCP, odd.Name, &odd); err != nil || got.Source != "file:y" || got.GPUCount != 2 {
		t.Errorf("no built-in entry: %+v %v", got, err)
	}
}
