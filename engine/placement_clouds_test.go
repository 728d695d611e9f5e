package engine

import (
	"context"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// After a refit, a placement for every cloud answers from the persisted
// forecasts: AWS, GCP and Azure pools ranked together, each with its
// cloud's notice, the GCP pool kept by the default product although it
// has none, and each interruption prior naming the signal it rests on.
func TestPlacementAnyCloudServed(t *testing.T) {
	ctx := context.Background()
	now := signalNow
	aws := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p4d.24xlarge", Product: "Linux/UNIX"}
	awsWin := aws
	awsWin.Product = "Windows" // not the default product
	gcp := market.PoolKey{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g"}
	az := market.PoolKey{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_ND96asr_v4", Product: "Linux"}
	st := signalStore(t, func(w *storage.Writer) error {
		for i, k := range []market.PoolKey{aws, awsWin, gcp, az} {
			for d := range 10 {
				p := market.PricePoint{Pool: k, Time: now.Add(-time.Duration(10-d) * 24 * time.Hour), Price: 10 + float64(i) + 0.1*float64(d%3), Source: "file:prices.csv"}
				if err := w.AddPrice(p); err != nil {
					return err
				}
			}
		}
		if err := w.AddInstanceType(market.InstanceType{Cloud: market.GCP, Name: "a2-highgpu-8g", VCPU: 96, MemoryGiB: 680,
			GPUModel: "A100", GPUManufacturer: "NVIDIA", GPUCount: 8, GPUMemoryGiB: 40, Source: "file:types.json"}); err != nil {
			return err
		}
		if err := w.AddOnDemand(market.OnDemandPrice{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g",
			Date: now.Add(-48 * time.Hour), Price: 29.39, Source: "file:gcp.csv"}); err != nil {
			return err
		}
		if err := w.AddCapacitySignal(azureEviction("eastus", "Standard_ND96asr_v4", "5-10", 0.05, 0.10)); err != nil {
			return err
		}
		return w.AddCapacitySignal(market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: "us-central1-b", InstanceType: "a2-highgpu-8g",
			Kind: market.SignalPreemptionRate, Value: 0.2, ValueHigh: 0.2, Start: now.Add(-30 * 24 * time.Hour), Time: now.Add(-time.Hour), Source: "file:capacity_history.json"})
	})
	e := New(st, Options{Now: func() time.Time { return now }})
	if _, err := e.Refit(ctx, RefitOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Placement(ctx, PlacementRequest{Cloud: CloudAny, GPUModel: "A100", GPUsPerNode: 8, CheckpointCost: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Precomputed {
		t.Errorf("placement after a refit computed forecasts on request: %+v", res.Basis)
	}
	got := map[market.PoolKey]bool{}
	for _, r := range res.Ranked {
		got[r.Pool] = true
		if want := map[string]float64{"aws": 120, "gcp": 30, "azure": 30}[r.Pool.Cloud]; r.NoticeWindowSeconds != want {
			t.Errorf("%s: notice %v s, want %v", r.Pool, r.NoticeWindowSeconds, want)
		}
		inputs := map[string]string{}
		for _, in := range r.Inputs {
			inputs[in.Input] = in.Source
		}
		wantPrior := map[string]string{"aws": "assumed", "gcp": "file:capacity_history.json", "azure": "file:evictions.json"}[r.Pool.Cloud]
		if inputs[InputInterruptionPrior] != wantPrior || inputs[InputSpotPrice] != "file:prices.csv" {
			t.Errorf("%s: inputs %+v; want the prior from %s", r.Pool, r.Inputs, wantPrior)
		}
		if r.Pool.Cloud == market.GCP {
			if inputs[InputOnDemandPrice] != "file:gcp.csv" || inputs[InputGPUType] != "file:types.json" {
				t.Errorf("gcp inputs %+v", r.Inputs)
			}
			// The persisted forecast keeps the on-demand price, the store
			// its date.
			for _, in := range r.Inputs {
				if in.Input == InputOnDemandPrice && !in.Time.Equal(now.Add(-48*time.Hour).Truncate(24*time.Hour)) {
					t.Errorf("gcp on-demand input dated %v: %+v", in.Time, in)
				}
			}
		}
		if r.Pool.Cloud == market.Azure && inputs[InputGPUType] != market.SourceBuiltinAzureDocs {
			t.Errorf("azure inputs %+v", r.Inputs)
		}
	}
	if len(res.Ranked) != 3 || !got[aws] || !got[gcp] || !got[az] {
		t.Fatalf("ranked %v; want the Linux (or product-less) pool of each cloud", got)
	}
	one, err := e.Placement(ctx, PlacementRequest{GPUModel: "A100", GPUsPerNode: 8})
	if err != nil || len(one.Ranked) != 1 || one.Ranked[0].Pool != aws {
		t.Fatalf("default cloud: %+v %v; want AWS's Linux pool alone", one.Ranked, err)
	}
}
