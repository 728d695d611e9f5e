package api

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// loadStore is the store `spotcast ingest sim` writes (every simulated
// region, 30 days), refitted as serve does at start.
func loadStore(b *testing.B) (*storage.Store, *engine.Engine) {
	b.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	_, err = st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "bench", Format: "simulated"},
		func(w *storage.Writer) error {
			_, err := sim.Generate(sim.Config{Seed: 1, Now: clock}, w)
			return err
		})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(st, engine.Options{Now: clock})
	if _, err := eng.Refit(ctx, engine.RefitOptions{}); err != nil {
		b.Fatal(err)
	}
	return st, eng
}

// BenchmarkPlacementUnderLoad is the load on a served simulated
// market: 50 concurrent readers of GET /v1/recommend/placement (a dozen
// workloads, one request in ten with its own as_of in the past week)
// while 20 writers post 2,000 interruption events, each of which drops
// the cached placements. It reports the latency percentiles of the
// placements (all, "now" only, as_of only), how many were shed (503) and
// how many failed otherwise (any other status, or no response).
// One op is one placement request.
func BenchmarkPlacementUnderLoad(b *testing.B) {
	_, eng := loadStore(b)
	svc := New(eng, Options{Now: clock})
	svc.SetReady(true)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	var workloads []string
	for _, gpu := range []string{"V100", "A100", "T4", "A10G"} {
		for _, regions := range []string{"", "us-east-1", "us-east-1,us-west-2,eu-west-1"} {
			q := "gpu_model=" + gpu + "&run_length=24h"
			if regions != "" {
				q += "&regions=" + regions
			}
			workloads = append(workloads, q)
		}
	}
	type sample struct {
		d    time.Duration
		asOf bool
	}
	var (
		mu      sync.Mutex
		samples []sample
		shed    atomic.Int64
		failed  atomic.Int64
		next    atomic.Int64
		codes   sync.Map // status (0: no response) -> count, of the failures
	)
	get := func(path string) (int, error) {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Warm the caches as serve's first requests would.
	for _, w := range workloads {
		if code, err := get("/v1/recommend/placement?" + w); err != nil || code != 200 {
			b.Fatalf("%s: %d %v", w, code, err)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var writers sync.WaitGroup
	for wr := range 20 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 100 && ctx.Err() == nil; i++ {
				id := fmt.Sprintf("load-%d-%d", wr, i)
				body := eventJSON(id, "i-"+id, "us-east-1a", "p3.2xlarge", testNow.Add(-time.Duration(wr*100+i+1)*time.Minute))
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/events", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	b.ResetTimer()
	var readers sync.WaitGroup
	for r := range 50 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for next.Add(1) <= int64(b.N) {
				path := "/v1/recommend/placement?" + workloads[rng.IntN(len(workloads))]
				asOf := rng.IntN(10) == 0
				if asOf {
					at := testNow.Add(-time.Duration(rng.IntN(7*24*60)) * time.Minute)
					path += "&as_of=" + at.Format(time.RFC3339)
				}
				start := time.Now()
				code, err := get(path)
				d := time.Since(start)
				switch {
				case err != nil || code != 200 && code != http.StatusServiceUnavailable:
					failed.Add(1)
					n, _ := codes.LoadOrStore(code, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				case code == http.StatusServiceUnavailable:
					shed.Add(1)
				}
				mu.Lock()
				samples = append(samples, sample{d, asOf})
				mu.Unlock()
			}
		}()
	}
	readers.Wait()
	b.StopTimer()
	stop()
	writers.Wait()
	if failed.Load() > 0 {
		// Reported rather than fatal, so that a version that fails some
		// requests can still be measured against; "failed" must be 0.
		codes.Range(func(k, v any) bool {
			b.Logf("%d placements answered status %d (0: no response)", v.(*atomic.Int64).Load(), k)
			return true
		})
	}
	pct := func(keep func(sample) bool, p float64) float64 {
		var ds []time.Duration
		for _, s := range samples {
			if keep(s) {
				ds = append(ds, s.d)
			}
		}
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	all := func(sample) bool { return true }
	now := func(s sample) bool { return !s.asOf }
	past := func(s sample) bool { return s.asOf }
	b.ReportMetric(pct(all, 0.5), "p50-ms")
	b.ReportMetric(pct(all, 0.99), "p99-ms")
	b.ReportMetric(pct(now, 0.99), "now-p99-ms")
	b.ReportMetric(pct(past, 0.99), "as_of-p99-ms")
	b.ReportMetric(float64(shed.Load()), "shed")
	b.ReportMetric(float64(failed.Load()), "failed")
}

// BenchmarkPlacementManyRegions: the 5,000-region placement is
// refused (400) before any work; beside it, a one-region placement
// answered from the cache, the cheapest answer there is.
func BenchmarkPlacementManyRegions(b *testing.B) {
	svc := newTestService(b, sharedSimStore(b))
	h := NewHandler(svc, HTTPOptions{})
	for _, c := range []struct {
		name, path string
		want       int
	}{
		{"5000-regions", "/v1/recommend/placement?gpu_model=V100&regions=" + manyRegions(5000), 400},
		{"1-region-cached", "/v1/recommend/placement?gpu_model=V100&regions=us-east-1", 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
				if rec.Code != c.want {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
