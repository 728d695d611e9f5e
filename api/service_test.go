package api

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

func TestErrorStatuses(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{AuthToken: "tok", MaxBodyBytes: 1024}))
	defer srv.Close()
	pool := "instance_type=p3.2xlarge&zone=us-east-1a"
	cases := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code, param              string
	}{
		{"unknown pool", "GET", "/v1/forecast/price?instance_type=p3.2xlarge&zone=us-east-1f", "", nil, 404, engine.CodeNotFound, ""},
		{"unknown type", "GET", "/v1/forecast/interruption?instance_type=zz.large&region=us-east-1", "", nil, 404, engine.CodeNotFound, ""},
		{"region-level pool not stored", "GET", "/v1/prices?instance_type=p3.2xlarge&region=us-east-1", "", nil, 404, engine.CodeNotFound, ""},
		{"missing instance_type", "GET", "/v1/recommend/bid?zone=us-east-1a", "", nil, 400, engine.CodeInvalidArgument, "instance_type"},
		{"missing region and zone", "GET", "/v1/prices?instance_type=p3.2xlarge", "", nil, 400, engine.CodeInvalidArgument, "region"},
		{"zone outside region", "GET", "/v1/prices?instance_type=p3.2xlarge&zone=us-east-1a&region=eu-west-1", "", nil, 400, engine.CodeInvalidArgument, "zone"},
		{"bad zone", "GET", "/v1/prices?instance_type=p3.2xlarge&zone=x", "", nil, 400, engine.CodeInvalidArgument, "zone"},
		{"bad duration", "GET", "/v1/forecast/price?horizon=soon&" + pool, "", nil, 400, engine.CodeInvalidArgument, "horizon"},
		{"negative horizon", "GET", "/v1/forecast/price?horizon=-1h&" + pool, "", nil, 400, engine.CodeInvalidArgument, "horizon"},
		{"horizon too long", "GET", "/v1/forecast/interruption?horizon=60d&" + pool, "", nil, 400, engine.CodeInvalidArgument, "horizon"},
		{"unknown model", "GET", "/v1/forecast/price?model=prophet&" + pool, "", nil, 400, engine.CodeInvalidArgument, "model"},
		{"bad level", "GET", "/v1/forecast/interruption?level=abc&" + pool, "", nil, 400, engine.CodeInvalidArgument, "level"},
		{"bad time", "GET", "/v1/prices?from=yesterday&" + pool, "", nil, 400, engine.CodeInvalidArgument, "from"},
		{"to before from", "GET", "/v1/prices?from=2026-03-02&to=2026-03-01&" + pool, "", nil, 400, engine.CodeInvalidArgument, "to"},
		{"bad resolution", "GET", "/v1/prices?resolution=5m&" + pool, "", nil, 400, engine.CodeInvalidArgument, "resolution"},
		{"confidence 1", "GET", "/v1/recommend/bid?confidence=1&" + pool, "", nil, 400, engine.CodeInvalidArgument, "confidence"},
		{"checkpoint without cost", "GET", "/v1/recommend/checkpoint?mtbf=5h", "", nil, 400, engine.CodeInvalidArgument, "checkpoint_cost"},
		{"checkpoint without hazard", "GET", "/v1/recommend/checkpoint?checkpoint_cost=5m", "", nil, 400, engine.CodeInvalidArgument, "mtbf"},
		{"checkpoint pool and mtbf", "GET", "/v1/recommend/checkpoint?checkpoint_cost=5m&mtbf=5h&" + pool, "", nil, 400, engine.CodeInvalidArgument, "mtbf"},
		{"bad int", "GET", "/v1/pools?limit=ten", "", nil, 400, engine.CodeInvalidArgument, "limit"},
		{"repeated param", "GET", "/v1/pools?limit=1&limit=2", "", nil, 400, engine.CodeInvalidArgument, "limit"},
		{"unknown param", "GET", "/v1/pools?instance-type=p3.2xlarge", "", nil, 400, engine.CodeInvalidArgument, "instance-type"},
		{"parity type unknown", "GET", "/v1/recommend/bid?parity_type=zz.large&" + pool, "", nil, 400, engine.CodeInvalidArgument, "parity_type"},
		{"no fit", "GET", "/v1/recommend/placement?gpu_model=V100&min_gpu_memory_gib=80", "", nil, 422, engine.CodeUnprocessable, ""},
		{"unknown cloud", "GET", "/v1/recommend/placement?gpu_model=V100&cloud=ibm", "", nil, 400, engine.CodeInvalidArgument, "cloud"},
		{"missing token", "POST", "/v1/events", "{}", nil, 401, engine.CodeUnauthenticated, ""},
		{"wrong token", "POST", "/v1/events", "{}", http.Header{"Authorization": {"Bearer tok2"}}, 401, engine.CodeUnauthenticated, ""},
		{"basic auth", "POST", "/v1/events", "{}", http.Header{"Authorization": {"Basic dG9rOg=="}}, 401, engine.CodeUnauthenticated, ""},
		{"oversized body", "POST", "/v1/events", "[" + strings.Repeat(`{},`, 400) + "{}]", http.Header{"Authorization": {"Bearer tok"}}, 413, engine.CodeTooLarge, "body"},
		{"empty body", "POST", "/v1/events", "  ", http.Header{"Authorization": {"Bearer tok"}}, 400, engine.CodeMalformedBody, "body"},
		{"wrong method", "POST", "/v1/pools", "", nil, 405, engine.CodeMethodNotAllow, ""},
		{"GET events", "GET", "/v1/events", "", nil, 405, engine.CodeMethodNotAllow, ""},
		{"no route", "GET", "/v1/nothing", "", nil, 404, engine.CodeNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := do(t, srv, c.method, c.path, c.body, c.header)
			e, _ := body["error"].(map[string]any)
			if status != c.status || e == nil || e["code"] != c.code {
				t.Fatalf("status %d body %v; want %d with code %s", status, body, c.status, c.code)
			}
			if c.param != "" {
				if errParam(body) != c.param || !strings.HasPrefix(e["message"].(string), c.param) {
					t.Errorf("error %v does not name %s", e, c.param)
				}
			}
			if msg, _ := e["message"].(string); msg == "" || msg == "internal error" {
				t.Errorf("message %q says nothing", msg)
			}
		})
	}
}

func TestEventsPost(t *testing.T) {
	ctx := context.Background()
	store := newSimStore(t)
	svc := newTestService(t, store)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{AuthToken: "tok"}))
	defer srv.Close()
	auth := http.Header{"Authorization": {"Bearer tok"}}
	zone, typ := "us-east-1a", "p3.2xlarge"
	pool := "/v1/forecast/interruption?instance_type=" + typ + "&zone=" + zone
	count := func() int64 {
		c, err := store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c["events"]
	}
	_, before := get(t, srv, pool)
	n0 := count()

	// A batch with one malformed event stores nothing.
	bad := "[" + eventJSON("b-1", "i-00b1", zone, typ, testNow.Add(-time.Hour)) + `, {"id": "b-2", "detail-type": "EC2 Spot Instance Interruption Warning", "time": "not a time"}]`
	status, body := do(t, srv, "POST", "/v1/events", bad, auth)
	if status != 400 || body["error"].(map[string]any)["code"] != engine.CodeMalformedBody {
		t.Fatalf("malformed batch: %d %v", status, body)
	}
	if n := count(); n != n0 {
		t.Fatalf("malformed batch stored %d events", n-n0)
	}
	for _, b := range []string{`{"id": `, `not json`, `[1, 2]`} {
		if status, _ := do(t, srv, "POST", "/v1/events", b, auth); status != 400 {
			t.Errorf("body %q: status %d, want 400", b, status)
		}
	}
	if n := count(); n != n0 {
		t.Fatalf("malformed bodies stored %d events", n-n0)
	}

	// Three interruptions in the last hours: stored, and the next forecast
	// (the cache was dropped) counts them.
	var good []string
	for i, id := range []string{"g-1", "g-2", "g-3"} {
		good = append(good, eventJSON(id, "i-00g"+id, zone, typ, testNow.Add(-time.Duration(i+1)*20*time.Minute)))
	}
	status, body = do(t, srv, "POST", "/v1/events", "["+strings.Join(good, ",")+"]", auth)
	if status != 200 || body["rows_stored"].(float64) != 3 || body["rows_read"].(float64) != 3 {
		t.Fatalf("good batch: %d %v", status, body)
	}
	if n := count(); n != n0+3 {
		t.Fatalf("stored %d events, want 3", n-n0)
	}
	status, body = do(t, srv, "POST", "/v1/events", good[0], auth)
	if status != 200 || body["duplicates"].(float64) != 1 || body["rows_stored"].(float64) != 0 {
		t.Fatalf("re-post: %d %v", status, body)
	}
	// Each new warning is either counted or, when the model finds nothing
	// running to interrupt, skipped as inconsistent: either way it reached
	// the forecast.
	_, after := get(t, srv, pool)
	seen := func(m map[string]any) float64 { return m["events"].(float64) + m["skipped_events"].(float64) }
	if seen(after) != seen(before)+3 || after["events"].(float64) <= before["events"].(float64) {
		t.Errorf("forecast saw %v+%v own events after the POST, %v+%v before; want 3 more", after["events"], after["skipped_events"], before["events"], before["skipped_events"])
	}
	if !strings.Contains(after["source"].(string), market.SourceEventBridge) {
		t.Errorf("forecast source %q does not name eventbridge", after["source"])
	}
}

// TestSimulatedIsLabelled: every answer from the demo market says so.
func TestSimulatedIsLabelled(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	pool := "instance_type=g5.xlarge&zone=eu-west-1b"
	for _, p := range []string{"/v1/pools?limit=5", "/v1/prices?" + pool, "/v1/forecast/price?" + pool, "/v1/forecast/interruption?" + pool,
		"/v1/recommend/bid?" + pool, "/v1/recommend/checkpoint?checkpoint_cost=5m&" + pool, "/v1/recommend/placement?gpu_model=A10G"} {
		status, body := get(t, srv, p)
		if status != 200 {
			t.Fatalf("%s: %d %v", p, status, body)
		}
		if body["simulated"] != true || !strings.Contains(body["source"].(string), market.SourceSimulated) {
			t.Errorf("%s: source %v simulated %v; want simulated", p, body["source"], body["simulated"])
		}
	}
	// A request-only answer rests on no stored data.
	_, body := get(t, srv, "/v1/recommend/checkpoint?checkpoint_cost=5m&mtbf=10h")
	if body["simulated"] != false {
		t.Errorf("mtbf-only checkpoint: simulated %v", body["simulated"])
	}
}

// TestForecastsMatchTheirModels: the service adds nothing to the numbers:
// what it serves is what the forecast packages compute on the same data.
func TestForecastsMatchTheirModels(t *testing.T) {
	ctx := context.Background()
	store := sharedSimStore(t)
	svc := newTestService(t, store)
	key := market.PoolKey{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1c", InstanceType: "g5.xlarge", Product: "Linux/UNIX"}
	ref := engine.PoolRef{Zone: key.Zone, InstanceType: key.InstanceType}

	pf, err := svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: ref, Horizon: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	asOf := testNow.Truncate(time.Hour)
	pts, err := store.Series(ctx, key, time.Time{}, asOf.Add(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	want, err := forecast.ForecastSeries(pts, key, market.ResolutionChange, 48*time.Hour, forecast.Options{Now: clock, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if pf.Chosen != want.Chosen || len(pf.Steps) != len(want.Steps) || pf.LastPrice != want.LastPrice {
		t.Fatalf("served %s/%d steps/last %v, model gives %s/%d/%v", pf.Chosen, len(pf.Steps), pf.LastPrice, want.Chosen, len(want.Steps), want.LastPrice)
	}
	for _, h := range []int{0, 23, 47} {
		for _, p := range []float64{0.05, 0.5, 0.95} {
			if got, w := pf.QuantileAt(p, h), want.QuantileAt(p, h); math.Abs(got-w) > 1e-9*w {
				t.Errorf("step %d q%.2f: served %v, model %v", h, p, got, w)
			}
		}
	}
	if pf.Source != market.SourceSimulated || !pf.Simulated {
		t.Errorf("source %q simulated %v", pf.Source, pf.Simulated)
	}

	hf, err := svc.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: ref})
	if err != nil {
		t.Fatal(err)
	}
	hw, err := engine.HazardForPool(ctx, store, key, testNow.Truncate(time.Minute), hazard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(hf.ProbWithin24h-hw.ProbWithin(24*time.Hour)) > 1e-12 || hf.ProbWithin24h <= 0 || hf.ProbWithin24h >= 1 {
		t.Errorf("P(24h) served %v, model %v", hf.ProbWithin24h, hw.ProbWithin(24*time.Hour))
	}
	if hf.ProbWithin1h >= hf.ProbWithin24h {
		t.Errorf("P(1h) %v >= P(24h) %v", hf.ProbWithin1h, hf.ProbWithin24h)
	}
}

func TestPlacementRanksByCost(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, sharedSimStore(t))
	res, err := svc.Placement(ctx, engine.PlacementRequest{GPUModel: "A10G", Regions: []string{"us-east-1"}, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The set holds up to K pools, each within recommend.MaxSetPremium of
	// the best expected cost.
	if len(res.Ranked) < 4 || len(res.Diversified) < 1 || len(res.Diversified) > 2 {
		t.Fatalf("%d ranked, %d diversified", len(res.Ranked), len(res.Diversified))
	}
	for _, d := range res.Diversified {
		if d.CostPerUsefulGPUHr > res.Diversified[0].CostPerUsefulGPUHr*(1+recommend.MaxSetPremium)+1e-12 {
			t.Errorf("diversified %s costs %.4f, more than %.0f%% above the best %.4f", d.Pool, d.CostPerUsefulGPUHr, 100*recommend.MaxSetPremium, res.Diversified[0].CostPerUsefulGPUHr)
		}
	}
	for i, r := range res.Ranked {
		if r.Pool.Region != "us-east-1" || r.GPUModel != "A10G" {
			t.Errorf("ranked %s (%s) outside the request", r.Pool, r.GPUModel)
		}
		if i > 0 && r.CostPerUsefulGPUHr < res.Ranked[i-1].CostPerUsefulGPUHr {
			t.Errorf("rank %d cheaper than rank %d", i, i-1)
		}
	}
}

func TestReadiness(t *testing.T) {
	store := sharedSimStore(t)
	svc := newSvc(store, Options{Now: clock})
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	if status, body := get(t, srv, "/readyz"); status != 503 || body["error"].(map[string]any)["code"] != engine.CodeUnavailable {
		t.Errorf("before SetReady: %d %v", status, body)
	}
	if status, _ := get(t, srv, "/healthz"); status != 200 {
		t.Errorf("healthz before ready: %d", status)
	}
	svc.SetReady(true)
	if status, body := get(t, srv, "/readyz"); status != 200 || body["status"] != "ready" {
		t.Errorf("after SetReady: %d %v", status, body)
	}
}

func TestRequestTimeout(t *testing.T) {
	svc := newSvc(sharedSimStore(t), Options{Now: clock})
	svc.SetReady(true)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{RequestTimeout: time.Nanosecond}))
	defer srv.Close()
	status, body := get(t, srv, "/v1/forecast/interruption?instance_type=p3.2xlarge&zone=us-east-1a")
	e, _ := body["error"].(map[string]any)
	if status != 503 || e["code"] != engine.CodeUnavailable || e["message"] != "request timed out" {
		t.Fatalf("status %d body %v; want 503 request timed out", status, body)
	}
}

// pricesOnly passes only price points: a store like one filled from a
// price-history file, with no catalogue, events or advisor rows.
type pricesOnly struct{ w *storage.Writer }

func (p pricesOnly) AddPrice(x market.PricePoint) error          { return p.w.AddPrice(x) }
func (pricesOnly) AddAdvisor(market.AdvisorRow) error            { return nil }
func (pricesOnly) AddInstanceType(market.InstanceType) error     { return nil }
func (pricesOnly) AddOnDemand(market.OnDemandPrice) error        { return nil }
func (pricesOnly) AddPlacementScore(market.PlacementScore) error { return nil }
func (pricesOnly) AddEvent(market.Event) error                   { return nil }

// TestPlacementWithoutCatalogue: a store with prices only still places a
// GPU workload, knowing the GPUs from the built-in type table.
func TestPlacementWithoutCatalogue(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfg := simConfig()
	cfg.Regions, cfg.Types, cfg.Days = []string{"us-east-1"}, []string{"p3.2xlarge", "p3.8xlarge", "m5.large"}, 7
	if _, err := store.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
		_, err := sim.Generate(cfg, pricesOnly{w})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.Counts(ctx); n["instance_types"] != 0 || n["prices"] == 0 {
		t.Fatalf("store has %d catalogue rows, %d prices", n["instance_types"], n["prices"])
	}
	svc := newSvc(store, Options{Now: clock})
	res, err := svc.Placement(ctx, engine.PlacementRequest{GPUModel: "v100", GPUsPerNode: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ranked) == 0 {
		t.Fatal("nothing ranked")
	}
	for _, r := range res.Ranked {
		if r.InstanceType != "p3.8xlarge" || r.GPUModel != "V100" || r.GPUsPerInstance != 4 {
			t.Errorf("ranked %s (%s x%d) for 4 x V100 per node", r.InstanceType, r.GPUModel, r.GPUsPerInstance)
		}
	}
	if res.Candidates != 8 { // p3.2xlarge and p3.8xlarge in the 4 simulated zones; m5.large has no GPU
		t.Errorf("%d candidates, want 8", res.Candidates)
	}
}
