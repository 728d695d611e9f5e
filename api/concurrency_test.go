package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// TestConcurrentClientsDuringIngest: 100 clients hammer the read routes
// while imports (a second simulated market, event POSTs) and refits run.
// Every request must succeed; run with -race to check the sharing.
// SPOTCAST_SOAK=1m holds the load for that long instead of a fixed count.
func TestConcurrentClientsDuringIngest(t *testing.T) {
	store := newSimStore(t)
	svc := newTestService(t, store)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var soak time.Duration
	if s := os.Getenv("SPOTCAST_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SPOTCAST_SOAK: %v", err)
		}
		soak = d
	}
	perClient := 6
	if testing.Short() {
		perClient = 2
	}

	// Writers: a second market (new rows for the same pools) and refits.
	var writers sync.WaitGroup
	writers.Add(2)
	ingestErr := make(chan error, 1)
	go func() {
		defer writers.Done()
		cfg := simConfig()
		cfg.Seed, cfg.Days = 99, 7
		_, err := store.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "second", Format: "simulated"},
			func(w *storage.Writer) error { _, err := sim.Generate(cfg, w); return err })
		svc.Invalidate()
		ingestErr <- err
	}()
	go func() {
		defer writers.Done()
		for range 3 {
			if _, err := svc.UpdateSnapshot(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("refit: %v", err)
				return
			}
		}
	}()

	paths := []string{
		"/v1/pools?limit=50",
		"/v1/prices?instance_type=p3.2xlarge&zone=us-east-1a&limit=100",
		"/v1/forecast/price?instance_type=p3.2xlarge&zone=us-east-1a",
		"/v1/forecast/price?instance_type=g5.xlarge&zone=eu-west-1a&model=naive",
		"/v1/forecast/interruption?instance_type=g5.xlarge&zone=us-east-1b",
		"/v1/recommend/bid?instance_type=p3.2xlarge&zone=us-east-1a",
		"/v1/recommend/checkpoint?instance_type=g5.xlarge&zone=us-east-1b&checkpoint_cost=5m",
		"/v1/recommend/placement?gpu_model=V100&regions=us-east-1",
		"/readyz",
	}
	var failures, served atomic.Int64
	start := time.Now()
	var clients sync.WaitGroup
	for c := range 100 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := 0; ; i++ {
				if soak > 0 && time.Since(start) > soak || soak == 0 && i >= perClient {
					return
				}
				path := paths[(c+i)%len(paths)]
				resp, err := srv.Client().Get(srv.URL + path)
				if err != nil {
					failures.Add(1)
					t.Errorf("%s: %v", path, err)
					continue
				}
				resp.Body.Close()
				served.Add(1)
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					t.Errorf("%s: status %d", path, resp.StatusCode)
				}
				if c%25 == 0 && i == 1 {
					// Some clients also post events.
					id := fmt.Sprintf("c%d-%d", c, i)
					body := eventJSON(id, "i-"+id, "us-east-1a", "p3.2xlarge", testNow.Add(-time.Duration(i+1)*time.Minute))
					resp, err := srv.Client().Post(srv.URL+"/v1/events", "application/json", stringsReader(body))
					if err != nil || resp.StatusCode != 200 {
						failures.Add(1)
						t.Errorf("POST events: %v %v", err, resp)
					} else {
						resp.Body.Close()
					}
				}
			}
		}()
	}
	clients.Wait()
	if err := <-ingestErr; err != nil {
		t.Fatalf("ingest during load: %v", err)
	}
	cancel()
	writers.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed", failures.Load(), served.Load())
	}
	t.Logf("%d requests served", served.Load())
}
