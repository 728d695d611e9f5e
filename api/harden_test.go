package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/spotcast/spotcast/api/spotcastpb"
	"github.com/spotcast/spotcast/engine"
)

// manyRegions is the placement of the issue: 5,000 regions in one GET.
func manyRegions(n int) string {
	rs := make([]string, n)
	for i := range rs {
		rs[i] = "us-east-1"
		if i > 0 {
			rs[i] = "xx-region-" + strings.Repeat("9", i%7) + string(rune('a'+i%26)) + "-" + strings.Repeat("1", 1+i/26%40)
		}
	}
	return strings.Join(rs, ",")
}

// TestRequestBounds: a request over a cost bound is a 400 naming the
// parameter and the limit, answered before any work; the as_of rules
// hold; text that is not UTF-8 is a 400 naming where it was.
func TestRequestBounds(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	pool := "instance_type=p3.2xlarge&zone=us-east-1a"
	for _, c := range []struct {
		name, path, param, says string
	}{
		{"5000 regions", "/v1/recommend/placement?gpu_model=V100&regions=" + manyRegions(5000), "regions", "limit of 100"},
		{"k", "/v1/recommend/placement?gpu_model=V100&k=100000", "k", "limit of 50"},
		{"nodes", "/v1/recommend/placement?gpu_model=V100&nodes=1000000", "nodes", "limit of 10000"},
		{"checkpoint nodes", "/v1/recommend/checkpoint?checkpoint_cost=5m&mtbf=5h&nodes=1000000", "nodes", "limit of 10000"},
		{"max_candidates", "/v1/recommend/placement?gpu_model=V100&max_candidates=100000", "max_candidates", "limit of 2000"},
		{"horizon steps", "/v1/forecast/price?horizon=100000d&" + pool, "horizon", "1344 steps"},
		{"hourly horizon steps", "/v1/forecast/price?resolution=change&horizon=60d&" + pool, "horizon", "1344 steps of 1h0m0s"},
		{"as_of far future", "/v1/forecast/price?as_of=9999-12-31&" + pool, "as_of", "outside the stored data's range 2026-02-1"},
		{"as_of future bid", "/v1/recommend/bid?as_of=2026-03-04T17:00:00Z&" + pool, "as_of", "2026-03-04T16:30:00Z (now + 1h0m0s)"},
		{"as_of before data", "/v1/forecast/interruption?as_of=2020-01-01&" + pool, "as_of", "outside the stored data's range"},
		{"as_of placement", "/v1/recommend/placement?gpu_model=V100&as_of=9999-12-31", "as_of", "outside"},
		{"as_of checkpoint", "/v1/recommend/checkpoint?checkpoint_cost=5m&as_of=1999-01-01&" + pool, "as_of", "outside"},
		{"as_of zero time", "/v1/forecast/price?as_of=0001-01-01&" + pool, "as_of", "zero time"},
		{"invalid UTF-8 value", "/v1/pools?instance_type=%FF%FE", "instance_type", "UTF-8"},
		{"invalid UTF-8 forecast", "/v1/forecast/price?instance_type=p3%FF&zone=us-east-1a", "instance_type", "UTF-8"},
		{"NUL byte", "/v1/prices?instance_type=p3%00&zone=us-east-1a", "instance_type", "control character"},
		{"invalid UTF-8 name", "/v1/pools?%FF=1", "query", "UTF-8"},
		{"invalid UTF-8 path", "/v1/po%FFols", "path", "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			code, body := get(t, srv, c.path)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if code != http.StatusBadRequest || errParam(body) != c.param || !strings.Contains(msg, c.says) {
				t.Fatalf("status %d, %v; want 400 naming %s and saying %q", code, body, c.param, c.says)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refused after %s: the bound must be checked before the work", d)
			}
		})
	}
	// Within the bounds, repeated regions are one region.
	if code, body := get(t, srv, "/v1/recommend/placement?gpu_model=V100&regions=us-east-1,us-east-1,us-east-1"); code != 200 {
		t.Errorf("repeated region: %d %v", code, body)
	}
}

// TestAsOfCachedByData: every as_of past the newest stored price reads
// the same data and shares one cached answer, as do as_of values within
// one minute; the answer says the origin it was made at.
func TestAsOfCachedByData(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, sharedSimStore(t))
	ref := engine.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1a"}
	r, err := svc.dataRange(ctx)
	if err != nil || !r.ok {
		t.Fatal(r, err)
	}
	var origins []time.Time
	for i := range 20 {
		asOf := r.last.Add(time.Duration(i+1) * time.Second)
		if i%2 == 1 {
			asOf = testNow.Add(time.Duration(i) * time.Minute)
		}
		f, err := svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: ref, Model: "naive", AsOf: asOf})
		if err != nil {
			t.Fatalf("as_of %s: %v", asOf, err)
		}
		origins = append(origins, f.AsOf)
	}
	if n := svc.prices.len(); n != 1 {
		t.Errorf("20 as_of values past the data made %d cache entries, want 1", n)
	}
	if !origins[0].Equal(r.last) {
		t.Errorf("as_of past the data answered at %s, want the newest price's time %s", origins[0], r.last)
	}
	mid := r.last.Add(-48 * time.Hour).Truncate(time.Minute)
	for _, s := range []time.Duration{0, 7 * time.Second, 59*time.Second + 999*time.Millisecond} {
		f, err := svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: ref, Model: "naive", AsOf: mid.Add(s)})
		if err != nil || !f.AsOf.Equal(mid) {
			t.Fatalf("as_of %s: origin %s, %v; want %s", mid.Add(s), f.AsOf, err, mid)
		}
	}
	if n := svc.prices.len(); n != 2 {
		t.Errorf("three as_of values within a minute made %d more cache entries, want 1", n-1)
	}
}

// TestOverloadSheds: with every slot taken and the queue full, a request
// that needs a computation gets 503 with Retry-After at once (gRPC:
// ResourceExhausted); a cached answer is still served.
func TestOverloadSheds(t *testing.T) {
	svc := newSvc(sharedSimStore(t), Options{Now: clock, Limits: Limits{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 50 * time.Millisecond}})
	svc.SetReady(true)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{}))
	defer srv.Close()
	cached := "/v1/recommend/checkpoint?checkpoint_cost=5m&mtbf=5h"
	if code, body := get(t, srv, cached); code != 200 {
		t.Fatalf("%s: %d %v", cached, code, body)
	}
	leave, err := svc.gate.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	resp, err := srv.Client().Get(srv.URL + "/v1/forecast/price?instance_type=p3.2xlarge&zone=us-east-1a&model=naive")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), `"overloaded"`) {
		t.Errorf("at the cap: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if code, body := get(t, srv, cached); code != 200 {
		t.Errorf("a cached answer at the cap: %d %v", code, body)
	}
	conn, _ := startGRPC(t, svc, GRPCOptions{})
	_, err = spotcastpb.NewSpotcastClient(conn).ForecastPrice(context.Background(), &spotcastpb.ForecastPriceRequest{
		Pool: &spotcastpb.PoolRef{InstanceType: "g5.xlarge", Zone: "us-east-1b"}, Model: "naive"})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("gRPC at the cap: %v, want ResourceExhausted", err)
	}
}

// TestGRPCAsOf: gRPC bounds as_of like HTTP, and the zero time is not now.
func TestGRPCAsOf(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	conn, _ := startGRPC(t, svc, GRPCOptions{})
	c := spotcastpb.NewSpotcastClient(conn)
	pool := &spotcastpb.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1a"}
	for _, at := range []*timestamppb.Timestamp{
		timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)),
		timestamppb.New(time.Time{}),
		timestamppb.New(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)),
		{Seconds: 1 << 62},
	} {
		_, err := c.ForecastPrice(context.Background(), &spotcastpb.ForecastPriceRequest{Pool: pool, AsOf: at})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "as_of") {
			t.Errorf("as_of %v: %v, want InvalidArgument naming as_of", at, err)
		}
		_, err = c.RecommendPlacement(context.Background(), &spotcastpb.RecommendPlacementRequest{GpuModel: "V100", AsOf: at})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("placement as_of %v: %v, want InvalidArgument", at, err)
		}
	}
	_, err := c.RecommendPlacement(context.Background(), &spotcastpb.RecommendPlacementRequest{GpuModel: "V100",
		Regions: strings.Split(manyRegions(5000), ",")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "regions") {
		t.Errorf("5000 regions: %v", err)
	}
}

// TestWriteGuards: writes are refused to a foreign Host, to another
// site's page and for a body not declared JSON; a write that passes them
// is stored.
func TestWriteGuards(t *testing.T) {
	svc := newTestService(t, newSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{AllowedHosts: []string{"spotcast.internal"}}))
	defer srv.Close()
	event := eventJSON("w-1", "i-0w01", "us-east-1a", "p3.2xlarge", testNow.Add(-time.Hour))
	post := func(header http.Header, host string) (int, string) {
		req, err := http.NewRequest("POST", srv.URL+"/v1/events", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		if host != "" {
			req.Host = host
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	events := func() int64 {
		c, err := svc.Engine().Store().Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return c["events"]
	}
	before := events()
	json := http.Header{"Content-Type": {"application/json"}}
	self := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		name   string
		header http.Header
		host   string
		want   int
		says   string
	}{
		{"cross-origin text/plain", http.Header{"Content-Type": {"text/plain"}, "Origin": {"https://evil.example"}}, "", 403, "evil.example"},
		{"cross-origin form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {"null"}}, "", 403, "another site"},
		{"cross-site fetch", http.Header{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}}, "", 403, "other sites"},
		{"foreign Host", json, "evil.example:8080", 403, "evil.example"},
		{"rebound name", json, "attacker.example", 403, "serve.allowed_hosts"},
		{"same-origin text/plain", http.Header{"Content-Type": {"text/plain"}, "Origin": {srv.URL}}, "", 415, "application/json"},
		{"no content type", http.Header{}, "", 415, "application/json"},
	} {
		if code, body := post(c.header, c.host); code != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, code, body, c.want, c.says)
		}
	}
	if n := events(); n != before {
		t.Fatalf("refused writes stored %d events", n-before)
	}
	for _, host := range []string{"", "localhost:8080", "spotcast.internal", "[::1]:8080", self} {
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Origin": {"http://" + self}}
		if host != "" && host != self {
			h.Del("Origin")
		}
		if code, body := post(h, host); code != 200 {
			t.Errorf("Host %q: %d %s", host, code, body)
		}
	}
	// Reads stay open to any Host.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/pools?limit=1", nil)
	req.Host = "attacker.example"
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET with another Host: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestTokenForReadsAndMetrics: with AuthReads and AuthMetrics, every
// route but the probes needs the token, over HTTP and gRPC.
func TestTokenForReadsAndMetrics(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{AuthToken: "tok", AuthReads: true, AuthMetrics: true,
		MetricsHandler: Handler(prometheus.NewRegistry())}))
	defer srv.Close()
	auth := http.Header{"Authorization": {"Bearer tok"}}
	for _, c := range []struct {
		path   string
		header http.Header
		want   int
	}{
		{"/v1/pools?limit=1", nil, 401}, {"/v1/pools?limit=1", auth, 200},
		{"/v1/openapi.json", nil, 401}, {"/metrics", nil, 401}, {"/metrics", auth, 200},
		{"/healthz", nil, 200}, {"/readyz", nil, 200},
	} {
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		for k, v := range c.header {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (token %v): %d, want %d", c.path, c.header != nil, resp.StatusCode, c.want)
		}
	}
	conn, _ := startGRPC(t, svc, GRPCOptions{AuthToken: "tok", AuthReads: true})
	c := spotcastpb.NewSpotcastClient(conn)
	if _, err := c.ListPools(context.Background(), &spotcastpb.ListPoolsRequest{Limit: 1}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC read without token: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")
	if _, err := c.ListPools(ctx, &spotcastpb.ListPoolsRequest{Limit: 1}); err != nil {
		t.Errorf("gRPC read with token: %v", err)
	}
}

// rawCodec sends a request's bytes as they are, as a client that does not
// check its strings would.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

// TestGRPCInvalidUTF8: a request whose strings are not UTF-8 is
// InvalidArgument naming the field (gRPC itself would answer Internal).
func TestGRPCInvalidUTF8(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	conn, _ := startGRPC(t, svc, GRPCOptions{})
	// ForecastPriceRequest{pool: {instance_type: typ, zone: "us-east-1a"}, model: "naive"}
	request := func(typ string) []byte {
		var pool []byte
		pool = protowire.AppendTag(pool, 4, protowire.BytesType)
		pool = protowire.AppendBytes(pool, []byte(typ))
		pool = protowire.AppendTag(pool, 3, protowire.BytesType)
		pool = protowire.AppendBytes(pool, []byte("us-east-1a"))
		req := protowire.AppendTag(nil, 1, protowire.BytesType)
		req = protowire.AppendBytes(req, pool)
		req = protowire.AppendTag(req, 4, protowire.BytesType)
		return protowire.AppendBytes(req, []byte("naive"))
	}
	var resp []byte
	err := conn.Invoke(context.Background(), "/spotcast.v1.Spotcast/ForecastPrice", request("p3\xff"), &resp, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "pool.instance_type: not valid UTF-8 text" {
		t.Errorf("invalid UTF-8: %v, want InvalidArgument naming pool.instance_type", err)
	}
	// The same request with valid text is answered.
	if err := conn.Invoke(context.Background(), "/spotcast.v1.Spotcast/ForecastPrice", request("p3.2xlarge"), &resp, grpc.ForceCodecV2(rawCodec{})); err != nil {
		t.Errorf("valid text: %v", err)
	}
}
