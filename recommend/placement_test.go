package recommend

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func cand(zone, typ string, price, mtbfHours, onDemand float64) PoolCandidate {
	region, _ := market.RegionOfZone(zone)
	return PoolCandidate{
		Pool:      market.PoolKey{Cloud: market.AWS, Region: region, Zone: zone, InstanceType: typ, Product: "Linux/UNIX"},
		PriceMean: price, PriceLo: 0.9 * price, PriceHi: 1.2 * price,
		Hazard:   Hazard{{Rate: 1 / mtbfHours, Lo: 0.5 / mtbfHours, Hi: 2 / mtbfHours}},
		OnDemand: onDemand,
		Source:   market.SourceFile,
	}
}

var baseWorkload = Workload{
	RunLength: 24 * time.Hour, CheckpointCost: 2 * time.Minute, RestartCost: 5 * time.Minute,
	NoticeWindow: NoticeAWS, MissedNoticeShare: 0.2,
}

func TestPlacementCatalogueDecidesFit(t *testing.T) {
	w := baseWorkload
	w.GPUsPerNode = 4
	cands := []PoolCandidate{
		cand("us-east-1a", "g5.12xlarge", 2.0, 48, 5.672),
		cand("us-east-1a", "g5.16xlarge", 1.2, 48, 4.096),
		cand("us-east-1b", "g5.48xlarge", 5.0, 48, 16.288),
		cand("us-east-1a", "g5.xlarge", 0.4, 48, 1.006),
	}
	res, err := Placement(w, cands)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranked) != 2 || res.Ranked[0].InstanceType != "g5.12xlarge" || res.Ranked[1].InstanceType != "g5.48xlarge" {
		t.Fatalf("ranked %+v, want g5.12xlarge then g5.48xlarge", res.Ranked)
	}
	if len(res.Rejected) != 2 {
		t.Fatalf("rejected %+v", res.Rejected)
	}
	for _, r := range res.Rejected {
		if !strings.Contains(r.Reason, "1 GPUs per instance, need 4") {
			t.Errorf("%s rejected for %q", r.Pool, r.Reason)
		}
	}
	// Known answer: one g5.12xlarge, cost = 2.0 / 4 x (1 + Daly overhead).
	ck, err := Checkpoint(CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: w.NoticeWindow,
		MissedNoticeShare: w.MissedNoticeShare, MTBF: 48 * time.Hour, RunLength: w.RunLength})
	if err != nil {
		t.Fatal(err)
	}
	top := res.Ranked[0]
	if want := 2.0 / 4 * (1 + ck.ExpectedOverheadRatio); math.Abs(top.CostPerUsefulGPUHr-want) > 1e-12 {
		t.Errorf("cost %v, want %v", top.CostPerUsefulGPUHr, want)
	}
	if !(top.CostPerUsefulGPUHrL < top.CostPerUsefulGPUHr && top.CostPerUsefulGPUHr < top.CostPerUsefulGPUHrH) {
		t.Errorf("interval [%v, %v] does not bracket %v", top.CostPerUsefulGPUHrL, top.CostPerUsefulGPUHrH, top.CostPerUsefulGPUHr)
	}
	if top.Instances != 1 || res.Ranked[1].Instances != 1 || res.UsefulGPUs != 4 {
		t.Errorf("instances %d, %d; useful %d", top.Instances, res.Ranked[1].Instances, res.UsefulGPUs)
	}
	// On demand: g5.12xlarge 5.672/4 per GPU beats g5.48xlarge 16.288/4.
	if res.OnDemand == nil || res.OnDemand.InstanceType != "g5.12xlarge" || math.Abs(res.OnDemand.CostPerUsefulGPUHr-5.672/4) > 1e-12 {
		t.Errorf("on-demand %+v", res.OnDemand)
	}
	if top.CatalogueSource != market.SourceBuiltinAWSDocs {
		t.Errorf("catalogue source %q, want the built-in label", top.CatalogueSource)
	}
}

func TestPlacementModelNeedsL40S(t *testing.T) {
	w := baseWorkload
	w.MinGPUMemoryGiB = WeightsGiB(24e9, 2) // 24B parameters in bf16
	if math.Abs(w.MinGPUMemoryGiB-44.703) > 0.001 {
		t.Fatalf("WeightsGiB = %v", w.MinGPUMemoryGiB)
	}
	res, err := Placement(w, []PoolCandidate{
		cand("us-east-1a", "g5.xlarge", 0.4, 48, 1.006),
		cand("us-east-1b", "g6e.xlarge", 0.9, 48, 1.861),
		cand("us-east-1c", "p4d.24xlarge", 12, 48, 32.77),
		cand("us-east-1c", "g6.xlarge", 0.3, 48, 0.805),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranked) != 1 || res.Ranked[0].GPUModel != "L40S" {
		t.Fatalf("ranked %+v, want only the L40S", res.Ranked)
	}
}

func TestPlacementNoFit(t *testing.T) {
	w := baseWorkload
	w.GPUModel, w.GPUsPerNode = "H100", 8
	_, err := Placement(w, []PoolCandidate{
		cand("us-east-1a", "g5.48xlarge", 5, 48, 16.288),
		cand("us-east-1a", "p4d.24xlarge", 12, 48, 32.77),
	})
	var nf *NoFitError
	if !errors.As(err, &nf) || !errors.Is(err, ErrNoFit) {
		t.Fatalf("err = %v, want a NoFitError", err)
	}
	if len(nf.Closest) != 2 || len(nf.Rejected) != 2 || !strings.Contains(err.Error(), "GPU is A100, not H100") {
		t.Errorf("closest %+v rejected %+v msg %q", nf.Closest, nf.Rejected, err)
	}
	// With no candidates at all, the built-in table says what would fit.
	_, err = Placement(w, nil)
	if !errors.As(err, &nf) || len(nf.Closest) == 0 || nf.Closest[0].GPUModel != "H100" || nf.Closest[0].GPUCount != 8 {
		t.Errorf("no candidates: err = %v closest %+v", err, nf.Closest)
	}
	// Nothing has 200 GiB per GPU: the closest is the largest memory.
	w = baseWorkload
	w.MinGPUMemoryGiB = 200
	_, err = Placement(w, nil)
	if !errors.As(err, &nf) || nf.Closest[0].GPUModel != "H200" {
		t.Errorf("200 GiB: err = %v", err)
	}
}

func TestPlacementUnknownType(t *testing.T) {
	c := cand("us-east-1a", "x9.large", 1, 48, 2)
	_, err := Placement(baseWorkload, []PoolCandidate{c})
	var nf *NoFitError
	if !errors.As(err, &nf) || len(nf.Rejected) != 1 || !strings.Contains(nf.Rejected[0].Reason, "not in the catalogue") {
		t.Fatalf("err = %v", err)
	}
	_, err = ResolveType(market.AWS, "g5.13xlarge", nil)
	if !errors.Is(err, ErrUnknownInstanceType) || !strings.Contains(err.Error(), "g5.12xlarge") {
		t.Errorf("ResolveType: %v (want a hint naming known g5 sizes)", err)
	}
	// A stored entry wins over the built-in table.
	st := market.InstanceType{Name: "g5.xlarge", GPUModel: "A10G", GPUCount: 1, GPUMemoryGiB: 24, Source: "aws-api"}
	if got, err := ResolveType(market.AWS, "g5.xlarge", &st); err != nil || got.Source != "aws-api" {
		t.Errorf("stored entry: %+v %v", got, err)
	}
}

func TestPlacementDiversified(t *testing.T) {
	// Equal hazards, so the order follows the price: A < B < C < D.
	cands := []PoolCandidate{
		cand("us-east-1a", "g5.xlarge", 1.00, 48, 0),   // A
		cand("us-east-1a", "g6.xlarge", 1.01, 48, 0),   // B: same zone as A
		cand("us-east-1b", "g5.xlarge", 1.05, 48, 0),   // C: same type as A
		cand("us-east-1c", "g6.xlarge", 1.08, 48, 0),   // D: shares nothing with A
		cand("us-east-1d", "g4dn.xlarge", 1.30, 48, 0), // E: independent, but 30% dearer than A
		cand("us-west-2a", "g5.xlarge", 0.50, 48, 0),   // not allowed
	}
	w := baseWorkload
	w.Regions = []string{"us-east-1"}
	res, err := Placement(w, cands)
	if err != nil {
		t.Fatal(err)
	}
	// Greedy: A; then D 1.08 < C 1.05x1.10 = 1.155 < B 1.01x1.15 = 1.1615;
	// then C 1.155 < B 1.01x1.25. E would score 1.30 but is more than
	// MaxSetPremium above A, so it never joins.
	var got []string
	for _, r := range res.Diversified {
		got = append(got, r.Pool.Zone+"/"+r.InstanceType)
	}
	if want := "us-east-1a/g5.xlarge us-east-1c/g6.xlarge us-east-1b/g5.xlarge"; strings.Join(got, " ") != want {
		t.Errorf("diversified %v, want %s", got, want)
	}
	if len(res.Ranked) != 5 || res.Ranked[1].Pool.Zone != "us-east-1a" || len(res.Rejected) != 1 {
		t.Errorf("ranked %d rejected %+v", len(res.Ranked), res.Rejected)
	}
	if res.OnDemand != nil || !strings.Contains(strings.Join(res.Explain.Notes, " "), "no on-demand price") {
		t.Errorf("on-demand %+v notes %q", res.OnDemand, res.Explain.Notes)
	}
}

func TestPlacementMultiNode(t *testing.T) {
	w := baseWorkload
	w.Nodes = 4
	res, err := Placement(w, []PoolCandidate{cand("us-east-1a", "g5.xlarge", 0.5, 96, 1.006), cand("us-east-1a", "g5.48xlarge", 5, 96, 16.288)})
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]PoolRank{}
	for _, r := range res.Ranked {
		byType[r.InstanceType] = r
	}
	// 4 single-GPU nodes: 4 g5.xlarge, or 1 g5.48xlarge (8 GPUs, 4 used).
	if byType["g5.xlarge"].Instances != 4 || byType["g5.48xlarge"].Instances != 1 {
		t.Fatalf("instances %+v", byType)
	}
	ck, _ := Checkpoint(CheckpointInput{CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost, NoticeWindow: w.NoticeWindow,
		MissedNoticeShare: w.MissedNoticeShare, MTBF: 96 * time.Hour, RunLength: w.RunLength, Nodes: 4})
	if got := byType["g5.xlarge"].OverheadRatio; math.Abs(got-ck.ExpectedOverheadRatio) > 1e-12 {
		t.Errorf("4-instance overhead %v, want %v", got, ck.ExpectedOverheadRatio)
	}
	if got, want := byType["g5.48xlarge"].CostPerUsefulGPUHr, 5.0/4*(1+byType["g5.48xlarge"].OverheadRatio); math.Abs(got-want) > 1e-12 {
		t.Errorf("g5.48xlarge cost %v, want %v (paying for 8 GPUs, using 4)", got, want)
	}
}

func TestPlacementBadInput(t *testing.T) {
	c := []PoolCandidate{cand("us-east-1a", "g5.xlarge", 1, 48, 2)}
	for name, mut := range map[string]func(*Workload){
		"zero run":       func(w *Workload) { w.RunLength = 0 },
		"negative nodes": func(w *Workload) { w.Nodes = -1 },
		"NaN memory":     func(w *Workload) { w.MinGPUMemoryGiB = math.NaN() },
		"no checkpoint":  func(w *Workload) { w.CheckpointCost = 0 },
		"missed share 2": func(w *Workload) { w.MissedNoticeShare = 2 },
	} {
		w := baseWorkload
		mut(&w)
		if _, err := Placement(w, c); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	// A pool whose hazard makes progress impossible is rejected with the reason.
	bad := cand("us-east-1a", "g5.xlarge", 1, 0.01, 2)
	_, err := Placement(baseWorkload, []PoolCandidate{bad})
	var nf *NoFitError
	if !errors.As(err, &nf) || !strings.Contains(nf.Rejected[0].Reason, "cannot make progress") {
		t.Errorf("hopeless pool: %v", err)
	}
	// Missing forecasts are reasons, not zeros.
	np := cand("us-east-1a", "g5.xlarge", 0, 48, 2)
	nh := cand("us-east-1a", "g5.xlarge", 1, 48, 2)
	nh.Hazard = nil
	_, err = Placement(baseWorkload, []PoolCandidate{np, nh})
	if !errors.As(err, &nf) || !strings.Contains(nf.Rejected[0].Reason, "price forecast") || !strings.Contains(nf.Rejected[1].Reason, "hazard forecast") {
		t.Errorf("missing forecasts: %v %+v", err, nf)
	}
}

// TestPlacementNoNaN: random workloads and pools give finite JSON, sorted
// ranks, or a NoFitError that names the closest types.
func TestPlacementNoNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	types := market.BuiltinAWSGPUTypes()
	zones := []string{"us-east-1a", "us-east-1b", "us-west-2a", "eu-west-1c"}
	for i := range 500 {
		w := Workload{
			GPUModel:        []string{"", "A10G", "H100", "L4", "nope"}[rng.IntN(5)],
			MinGPUMemoryGiB: []float64{0, 16, 44.7, 100}[rng.IntN(4)],
			GPUsPerNode:     rng.IntN(9), Nodes: rng.IntN(5), K: rng.IntN(5),
			RunLength:      time.Duration(1+rng.IntN(200)) * time.Hour,
			CheckpointCost: time.Duration(1+rng.IntN(600)) * time.Second, RestartCost: time.Duration(rng.IntN(1800)) * time.Second,
			NoticeWindow: NoticeAWS, MissedNoticeShare: rng.Float64(),
		}
		var cs []PoolCandidate
		for range rng.IntN(12) {
			c := cand(zones[rng.IntN(len(zones))], types[rng.IntN(len(types))].Name, math.Exp(rng.NormFloat64()), math.Exp(rng.NormFloat64()*2+3), rng.Float64()*10)
			cs = append(cs, c)
		}
		res, err := Placement(w, cs)
		if err != nil {
			var nf *NoFitError
			if !errors.As(err, &nf) || len(nf.Closest) == 0 {
				t.Fatalf("case %d: %v", i, err)
			}
			continue
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for j := 1; j < len(res.Ranked); j++ {
			if res.Ranked[j].CostPerUsefulGPUHr < res.Ranked[j-1].CostPerUsefulGPUHr {
				t.Fatalf("case %d: not sorted", i)
			}
		}
		if len(res.Diversified) == 0 {
			t.Fatalf("case %d: empty diversified set", i)
		}
	}
}
