package hazard

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// ForPool reads the same inputs from a real (in-memory) store that a
// direct Estimate call is given, and so returns the same forecast.
func TestForPoolMatchesEstimate(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, ":memory:", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := simStart.Add(14 * 24 * time.Hour)
	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}

	// Empty store: the default prior, no sources.
	f0, err := ForPool(ctx, st, key, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f0.Source != "prior" || f0.Events != 0 || len(f0.Hours) != HoursPerWeek {
		t.Fatalf("empty store: source %q, events %d, %d hours", f0.Source, f0.Events, len(f0.Hours))
	}

	rng := rand.New(rand.NewPCG(3, 3))
	own := simPool(rng, 3, 14*24, func(time.Time) float64 { return 0.01 })
	sib := simPool(rng, 3, 14*24, func(time.Time) float64 { return 0.02 })
	for i := range sib {
		sib[i].Zone = "us-east-1b"
	}
	adv := market.AdvisorRow{Region: "us-east-1", OS: "Linux", InstanceType: "p3.2xlarge", Bucket: 3, SavingsPct: 70,
		Snapshot: simStart, Source: market.SourceSimulated, FetchedAt: simStart}
	score := market.PlacementScore{Region: "us-east-1", Zone: "us-east-1a", InstanceTypes: []string{"p3.2xlarge"},
		TargetCapacity: 1, CapacityUnit: "units", Score: 3, Time: now.Add(-time.Hour), Source: market.SourceSimulated, FetchedAt: now}
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		if err := w.AddAdvisor(adv); err != nil {
			return err
		}
		if err := w.AddPlacementScore(score); err != nil {
			return err
		}
		if err := w.AddPrice(market.PricePoint{Pool: key, Time: now.Add(-2 * time.Hour), Price: 2.4,
			Source: market.SourceSimulated, FetchedAt: now}); err != nil {
			return err
		}
		if err := w.AddOnDemand(market.OnDemandPrice{Cloud: market.AWS, Region: "us-east-1", InstanceType: "p3.2xlarge",
			Product: "Linux/UNIX", Date: simStart, Price: 3.06, Source: market.SourceSimulated, FetchedAt: now}); err != nil {
			return err
		}
		for i, e := range append(append([]market.Event{}, own...), sib...) {
			e.EventID = string(rune('A'+i%26)) + time.Duration(i).String()
			e.FetchedAt = now
			if err := w.AddEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ForPool(ctx, st, key, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, ps := EstimateProfile(append(append([]market.Event{}, own...), sib...), now, ProfileOptions{})
	if ps.Flat {
		t.Fatalf("profile from %+v is flat", ps)
	}
	want, err := Estimate(Inputs{Pool: key, Advisor: &adv, Score: &score, SpotPrice: 2.4, OnDemand: 3.06,
		Events: own, Siblings: sib, Profile: &p}, now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != want.Events || got.SiblingEvents != want.SiblingEvents || got.Events == 0 ||
		math.Abs(got.ExposureHours-want.ExposureHours) > 1e-6 {
		t.Errorf("events %d/%d, siblings %d/%d, exposure %g/%g", got.Events, want.Events,
			got.SiblingEvents, want.SiblingEvents, got.ExposureHours, want.ExposureHours)
	}
	for i := range want.Hours {
		if math.Abs(got.Hours[i].Rate/want.Hours[i].Rate-1) > 1e-9 || math.Abs(got.Hours[i].Hi/want.Hours[i].Hi-1) > 1e-9 {
			t.Fatalf("hour %d: %+v, want %+v", i, got.Hours[i], want.Hours[i])
		}
	}
	if got.Source != market.SourceSimulated {
		t.Errorf("source %q", got.Source)
	}
	t.Logf("prior: %s", got.Prior)
}
