package engine

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLaunch writes each launch output for the A100 pools of the
// whole-market store from the persisted forecasts, with the placement
// they all rest on as the reference: what each output adds to it.
func BenchmarkLaunch(b *testing.B) {
	st := scaleStore(b)
	e := loadedEngine(b, st)
	ctx := context.Background()
	lr := LaunchRequest{PlacementRequest: PlacementRequest{GPUModel: "A100", GPUsPerNode: 8, RunLength: 24 * time.Hour}}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"placement", func() error { _, err := e.Placement(ctx, lr.PlacementRequest); return err }},
		{"fleet", func() error { _, err := e.Fleet(ctx, FleetRequest{LaunchRequest: lr}); return err }},
		{"karpenter", func() error { _, err := e.Karpenter(ctx, KarpenterRequest{LaunchRequest: lr}); return err }},
		{"skypilot", func() error {
			_, err := e.SkyPilot(ctx, SkyPilotRequest{LaunchRequest: lr, Clouds: []string{"aws"}})
			return err
		}},
		{"plan", func() error {
			_, err := e.Plan(ctx, PlanRequest{LaunchRequest: lr, Deadline: 36 * time.Hour})
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
