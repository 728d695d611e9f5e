package api

import (
	"github.com/spotcast/spotcast/engine"

	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHandler serves requests in-process (no sockets) with warm
// caches: the cost of the handler, the cache lookup and JSON encoding.
func BenchmarkHandler(b *testing.B) {
	svc := newTestService(b, sharedSimStore(b))
	h := NewHandler(svc, HTTPOptions{})
	pool := "instance_type=p3.2xlarge&zone=us-east-1a"
	for _, path := range []string{
		"/healthz",
		"/v1/forecast/price?" + pool,
		"/v1/forecast/interruption?" + pool,
		"/v1/recommend/bid?" + pool,
		"/v1/recommend/placement?gpu_model=V100",
	} {
		b.Run(path, func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
					if rec.Code != http.StatusOK {
						b.Errorf("%s: %d", path, rec.Code)
					}
				}
			})
		})
	}
}

// BenchmarkColdForecasts: what a cache miss costs.
func BenchmarkColdForecasts(b *testing.B) {
	store := sharedSimStore(b)
	ctx := context.Background()
	ref := engine.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1a"}
	b.Run("price-auto-24h", func(b *testing.B) {
		for b.Loop() {
			svc := newSvc(store, Options{Now: clock})
			if _, err := svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: ref}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("interruption-168h", func(b *testing.B) {
		for b.Loop() {
			svc := newSvc(store, Options{Now: clock})
			if _, err := svc.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: ref}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("placement-V100", func(b *testing.B) {
		for b.Loop() {
			svc := newSvc(store, Options{Now: clock})
			if _, err := svc.Placement(ctx, engine.PlacementRequest{GPUModel: "V100", RunLength: 24 * time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
