package engine

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// signalStore holds, for the pools it names, prices and the other
// clouds' capacity signals, AWS placement scores keyed by zone ID and the
// zone names those IDs stand for.
func signalStore(t *testing.T, fill func(w *storage.Writer) error) *storage.Store {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Import(ctx, storage.RunInfo{Kind: "file", Source: "file:signals"}, fill); err != nil {
		t.Fatal(err)
	}
	return st
}

var signalNow = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

func azureEviction(region, size, label string, lo, hi float64) market.CapacitySignal {
	return market.CapacitySignal{Cloud: market.Azure, Region: region, InstanceType: size, Kind: market.SignalEvictionRate,
		Value: lo, ValueHigh: hi, Label: label, Time: signalNow.Add(-24 * time.Hour), Source: "file:evictions.json"}
}

// forecastBoth forecasts the pools through one batch read from the store
// per pool and through one preloaded batch (refit's), and checks both
// agree.
func forecastBoth(t *testing.T, st *storage.Store, keys ...market.PoolKey) map[market.PoolKey]hazard.Forecast {
	t.Helper()
	ctx := context.Background()
	var ins []HazardInput
	for _, k := range keys {
		zero := 0.0
		ins = append(ins, HazardInput{Key: k, SpotPrice: &zero, OnDemand: &zero})
	}
	plain, err := HazardForPools(ctx, st, ins, signalNow, hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := NewHazardBatch(st, signalNow, hazard.Options{})
	if err := b.Preload(ctx, []string{market.AWS, market.GCP, market.Azure}); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		f, err := b.Forecast(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameForecast(f, plain[in.Key]); d != "" {
			t.Errorf("%s: preloaded and per-pool forecasts differ: %s", in.Key, d)
		}
	}
	return plain
}

// Azure's eviction buckets feed the prior: a size in the "20+" bucket has
// a higher hazard than one in "0-5", each the bucket's own rate per hour
// (hazard.RateHazard), and the prior names the signal's source and time.
func TestHazardAzureEvictionBuckets(t *testing.T) {
	st := signalStore(t, func(w *storage.Writer) error {
		for _, s := range []market.CapacitySignal{
			azureEviction("eastus", "Standard_NC24ads_A100_v4", "20+", 0.20, 1),
			// Resource Graph writes sizes in lower case at times.
			azureEviction("eastus", "standard_nc4as_t4_v3", "0-5", 0, 0.05),
		} {
			if err := w.AddCapacitySignal(s); err != nil {
				return err
			}
		}
		return nil
	})
	high := market.PoolKey{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_NC24ads_A100_v4", Product: "Linux"}
	low := market.PoolKey{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_NC4as_T4_v3", Product: "Linux"}
	none := market.PoolKey{Cloud: market.Azure, Region: "westus2", InstanceType: "Standard_NC4as_T4_v3", Product: "Linux"}
	fs := forecastBoth(t, st, high, low, none)
	wantHigh := -math.Log(1 - 0.30) // "20+" stands for 30% an hour
	wantLow := -math.Log(1 - 0.025) // "0-5": its midpoint
	for _, c := range []struct {
		key  market.PoolKey
		want float64
	}{{high, wantHigh}, {low, wantLow}} {
		f := fs[c.key]
		if got := hazardMeanPrior(t, f); math.Abs(got-c.want) > 5e-3*c.want {
			t.Errorf("%s: prior mean %v, want %v (%s)", c.key, got, c.want, f.Prior)
		}
		if f.PriorSource != "file:evictions.json" || !f.PriorTime.Equal(signalNow.Add(-24*time.Hour)) {
			t.Errorf("%s: prior source %q time %v", c.key, f.PriorSource, f.PriorTime)
		}
	}
	if !(fs[high].Hours[0].Rate > 10*fs[low].Hours[0].Rate) {
		t.Errorf("20+ bucket hazard %v not well above 0-5 bucket's %v", fs[high].Hours[0].Rate, fs[low].Hours[0].Rate)
	}
	if f := fs[none]; f.PriorSource != "assumed" || !strings.Contains(f.Prior, "no azure interruption signal") {
		t.Errorf("pool without a signal: source %q, prior %q", f.PriorSource, f.Prior)
	}
}

// hazardMeanPrior reads the prior mean back from the prior's description
// (three significant digits: compare within 0.5%).
func hazardMeanPrior(t *testing.T, f hazard.Forecast) float64 {
	t.Helper()
	i := strings.Index(f.Prior, "prior mean ")
	if i < 0 {
		t.Fatalf("prior %q names no mean", f.Prior)
	}
	var v float64
	if _, err := fmt.Sscanf(f.Prior[i+len("prior mean "):], "%g", &v); err != nil {
		t.Fatalf("prior %q: %v", f.Prior, err)
	}
	return v
}

// GCP's preemption rate feeds through to the region-level pool (its
// zone's signal stands for the region), and obtainability scales it.
func TestHazardGCPPreemptionRate(t *testing.T) {
	pre := func(zone, typ string, p float64) market.CapacitySignal {
		return market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: zone, InstanceType: typ,
			Kind: market.SignalPreemptionRate, Value: p, ValueHigh: p, Start: signalNow.Add(-30 * 24 * time.Hour),
			Time: signalNow.Add(-time.Hour), Source: "file:capacity_history.json"}
	}
	obt := market.CapacitySignal{Cloud: market.GCP, Region: "us-central1", Zone: "us-central1-a", InstanceType: "a2-highgpu-8g",
		Kind: market.SignalObtainability, Value: 1, ValueHigh: 1, Time: signalNow.Add(-time.Hour), Source: "file:capacity.json"}
	st := signalStore(t, func(w *storage.Writer) error {
		for _, s := range []market.CapacitySignal{pre("us-central1-a", "a2-highgpu-1g", 0.5), pre("us-central1-a", "a2-highgpu-8g", 0.5), obt} {
			if err := w.AddCapacitySignal(s); err != nil {
				return err
			}
		}
		return nil
	})
	one := market.PoolKey{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-1g"}
	eight := market.PoolKey{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g"}
	fs := forecastBoth(t, st, one, eight)
	// p = 0.5 of stops with voluntary stops at 1/24 h: h = (1/24)·p/(1-p).
	want := 1.0 / 24
	if got := hazardMeanPrior(t, fs[one]); math.Abs(got-want) > 5e-3*want {
		t.Errorf("preemption rate 0.5: prior mean %v, want %v (%s)", got, want, fs[one].Prior)
	}
	// Obtainability 1 halves it (hazard.ObtainabilityMultiplier).
	if got := hazardMeanPrior(t, fs[eight]); math.Abs(got-want/2) > 5e-3*want {
		t.Errorf("with obtainability 1: prior mean %v, want %v (%s)", got, want/2, fs[eight].Prior)
	}
	if src := fs[eight].PriorSource; src != "file:capacity.json,file:capacity_history.json" {
		t.Errorf("prior source %q", src)
	}
}

// AWS placement scores keyed by zone ID reach the pool named by the zone
// name the stored zone IDs pair it with, read on their own scale: a
// single-type score 3 of 3 weighs as a 10.
func TestHazardScoreByZoneID(t *testing.T) {
	st := signalStore(t, func(w *storage.Writer) error {
		if err := w.AddZoneID(market.ZoneID{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", ZoneID: "use1-az4", Source: "file:azs.json"}); err != nil {
			return err
		}
		return w.AddPlacementScore(market.PlacementScore{Region: "us-east-1", Zone: "use1-az4", InstanceTypes: []string{"p3.2xlarge"},
			TargetCapacity: 1, CapacityUnit: "units", Score: 3, ScaleMax: 3, Time: signalNow.Add(-time.Hour), Source: "file:spotlake.csv"})
	})
	a := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	b := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1b", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	fs := forecastBoth(t, st, a, b)
	if !strings.Contains(fs[a].Prior, "placement score 3 of 3 (10 of 10) x0.50") {
		t.Errorf("us-east-1a (use1-az4): prior %q", fs[a].Prior)
	}
	if strings.Contains(fs[b].Prior, "placement score") {
		t.Errorf("us-east-1b took use1-az4's score: %q", fs[b].Prior)
	}
	base, err := hazard.BucketHazard(hazard.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	if got := hazardMeanPrior(t, fs[a]); math.Abs(got-base/2) > 5e-3*base {
		t.Errorf("prior mean %v, want %v", got, base/2)
	}
}
