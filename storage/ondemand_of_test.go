package storage

import (
	"context"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// OnDemandOf answers what OnDemandAt does, for the types asked only.
func TestOnDemandOf(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := s.Import(ctx, RunInfo{Kind: "file", Source: "file:od"}, func(w *Writer) error {
		for _, o := range []market.OnDemandPrice{
			{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g", Date: d1, Price: 29, Source: "file:od"},
			{Cloud: market.GCP, Region: "us-central1", InstanceType: "a2-highgpu-8g", Date: d1.AddDate(0, 0, 10), Price: 30, Source: "file:od"},
			{Cloud: market.AWS, Region: "us-east-1", InstanceType: "p4d.24xlarge", Product: "Linux/UNIX", Date: d1, Price: 21.96, Source: "file:od"},
		} {
			if err := w.AddOnDemand(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OnDemandOf(ctx, []string{"a2-highgpu-8g", "nothing"}, d1.AddDate(0, 0, 5))
	if err != nil || len(got) != 1 || got[0].Price != 29 || !got[0].Date.Equal(d1) {
		t.Fatalf("at day 5: %+v %v", got, err)
	}
	all, err := s.OnDemandAt(ctx, time.Time{})
	if err != nil || len(all) != 2 {
		t.Fatalf("OnDemandAt: %+v %v", all, err)
	}
	if got, err := s.OnDemandOf(ctx, nil, time.Time{}); err != nil || got != nil {
		t.Fatalf("no types: %+v %v", got, err)
	}
}
