package engine

import (
	"context"
	"slices"
	"testing"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// With no configured watch list the server watches, for each GPU model,
// the Linux/UNIX zone pool with the lowest price per GPU: checked against
// the store's own GPU-model filter, before a refit (from the store) and
// after one (from the persisted forecasts), which must agree.
func TestDefaultWatchCheapestPerGPUModel(t *testing.T) {
	ctx := context.Background()
	st, e, _ := refitStore(t)
	fromServed, err := e.DefaultWatch(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	fromStore, err := New(st, Options{}).DefaultWatch(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromServed, fromStore) {
		t.Fatalf("from the persisted forecasts %v, from the store %v", fromServed, fromStore)
	}
	if len(fromStore) < 3 {
		t.Fatalf("default watch %v: want one pool for each of the simulated market's GPU models", fromStore)
	}
	models := map[string]bool{}
	for _, k := range fromStore {
		ps, err := st.Pools(ctx, storage.PoolFilter{InstanceType: k.InstanceType, Zone: k.Zone, Product: k.Product})
		if err != nil || len(ps) != 1 {
			t.Fatalf("%s: %d pools, %v", k, len(ps), err)
		}
		p := ps[0]
		if p.Product != "Linux/UNIX" || p.Zone == "" || p.Type.GPUCount == 0 {
			t.Fatalf("%s: product %q zone %q GPUs %d", k, p.Product, p.Zone, p.Type.GPUCount)
		}
		model := p.Type.GPUModel
		if models[model] {
			t.Fatalf("two pools of GPU model %s in %v", model, fromStore)
		}
		models[model] = true
		same, err := st.Pools(ctx, storage.PoolFilter{Product: "Linux/UNIX", GPUModel: model})
		if err != nil {
			t.Fatal(err)
		}
		perGPU := p.LastPrice / float64(p.Type.GPUCount)
		for _, q := range same {
			if q.Type.GPUModel != model || q.Zone == "" || q.Resolution != market.ResolutionChange || q.Points == 0 {
				continue
			}
			if q.LastPrice/float64(q.Type.GPUCount) < perGPU {
				t.Errorf("%s: %s is cheaper per %s GPU (%.4f < %.4f)", k, q.PoolKey, model, q.LastPrice/float64(q.Type.GPUCount), perGPU)
			}
		}
	}
	// n bounds the list, keeping the first models in name order.
	two, err := e.DefaultWatch(ctx, 2)
	if err != nil || len(two) != 2 {
		t.Fatalf("DefaultWatch(2) = %v, %v", two, err)
	}
}
