package api

import (
	"github.com/spotcast/spotcast/engine"

	"context"
	"encoding/json"
	"math"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/spotcast/spotcast/api/spotcastpb"
)

// startGRPC serves svc over gRPC on loopback and returns a client
// connection and the address.
func startGRPC(t *testing.T, svc *Service, opts GRPCOptions) (*grpc.ClientConn, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, hs, err := NewGRPCServer(svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeGRPC(ctx, ln, s, hs, svc) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeGRPC: %v", err)
		}
	})
	return conn, ln.Addr().String()
}

func TestGRPCMatchesService(t *testing.T) {
	ctx := context.Background()
	svc := newTestService(t, sharedSimStore(t))
	conn, _ := startGRPC(t, svc, GRPCOptions{})
	c := spotcastpb.NewSpotcastClient(conn)
	pool := &spotcastpb.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1a"}

	pools, err := c.ListPools(ctx, &spotcastpb.ListPoolsRequest{GpuModel: "V100", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools.Pools) != 5 || !pools.Truncated || !pools.Provenance.Simulated || pools.Pools[0].GpuModel != "V100" {
		t.Errorf("ListPools: %d pools, truncated %v, provenance %v", len(pools.Pools), pools.Truncated, pools.Provenance)
	}

	pf, err := c.ForecastPrice(ctx, &spotcastpb.ForecastPriceRequest{Pool: pool, Horizon: durationpb.New(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: refOf(pool), Horizon: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.Steps) != len(want.Steps) || pf.Chosen != want.Chosen || pf.Provenance.Source != "simulated" {
		t.Fatalf("ForecastPrice: %d steps %s %v; service %d %s", len(pf.Steps), pf.Chosen, pf.Provenance, len(want.Steps), want.Chosen)
	}
	for i, st := range pf.Steps {
		if st.Median != want.Steps[i].Median || len(st.Quantiles) != len(want.Steps[i].Quantiles) || !st.Time.AsTime().Equal(want.Steps[i].Time) {
			t.Fatalf("step %d differs: %v vs %v", i, st, want.Steps[i])
		}
	}

	hf, err := c.ForecastInterruption(ctx, &spotcastpb.ForecastInterruptionRequest{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	hw, _ := svc.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: refOf(pool)})
	if hf.ProbInterruptedWithin_24H != hw.ProbWithin24h || len(hf.Hours) != 168 || !hf.Provenance.Simulated {
		t.Errorf("ForecastInterruption: P24 %v (service %v), %d hours", hf.ProbInterruptedWithin_24H, hw.ProbWithin24h, len(hf.Hours))
	}

	bid, err := c.RecommendBid(ctx, &spotcastpb.RecommendBidRequest{Pool: pool, RunLength: durationpb.New(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if bid.MaxPriceUsdPerHour < bid.CurrentPriceUsdPerHour || bid.Explain.Formula == "" || !json.Valid([]byte(bid.Explain.InputsJson)) {
		t.Errorf("RecommendBid: %v", bid)
	}

	ck, err := c.RecommendCheckpoint(ctx, &spotcastpb.RecommendCheckpointRequest{Mtbf: durationpb.New(10 * time.Hour),
		CheckpointCost: durationpb.New(5 * time.Minute), NoticeWindow: durationpb.New(0)})
	if err != nil {
		t.Fatal(err)
	}
	// Daly's interval for δ = 5 min, M = 10 h with no notice to react to.
	if want := svcCheckpoint(t, svc); math.Abs(ck.IntervalSeconds-want) > 1e-9 || ck.EmergencyCheckpointOnNotice {
		t.Errorf("RecommendCheckpoint: interval %v, service %v", ck.IntervalSeconds, want)
	}

	pl, err := c.RecommendPlacement(ctx, &spotcastpb.RecommendPlacementRequest{GpuModel: "A10G", K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Ranked) == 0 || len(pl.Diversified) != 2 || !pl.Provenance.Simulated {
		t.Errorf("RecommendPlacement: %d ranked, %d diversified", len(pl.Ranked), len(pl.Diversified))
	}
	// Every ranked pool says its notice and where each input came from,
	// as over HTTP; cloud=any ranks every cloud's pools.
	all, err := c.RecommendPlacement(ctx, &spotcastpb.RecommendPlacementRequest{Cloud: "any", GpuModel: "A10G", K: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all.Ranked {
		inputs := map[string]bool{}
		for _, in := range r.Inputs {
			if in.Source == "" {
				t.Errorf("%s: input %s has no source", r.Pool.InstanceType, in.Input)
			}
			inputs[in.Input] = true
		}
		if r.NoticeWindowSeconds != 120 || !inputs["spot_price"] || !inputs["interruption_prior"] || !inputs["on_demand_price"] {
			t.Errorf("cloud=any %s/%s: notice %v s, inputs %v", r.Pool.Zone, r.Pool.InstanceType, r.NoticeWindowSeconds, inputs)
		}
	}
	if len(all.Ranked) == 0 {
		t.Error("cloud=any ranked nothing")
	}

	// Health and its service name.
	hc := healthpb.NewHealthClient(conn)
	for _, name := range []string{"", "spotcast.v1.Spotcast"} {
		h, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", name, h, err)
		}
	}
}

func svcCheckpoint(t *testing.T, svc *Service) float64 {
	zero := time.Duration(0)
	c, err := svc.Checkpoint(context.Background(), engine.CheckpointRequest{MTBF: 10 * time.Hour, CheckpointCost: 5 * time.Minute, NoticeWindow: &zero})
	if err != nil {
		t.Fatal(err)
	}
	return c.IntervalSeconds
}

func TestGRPCErrors(t *testing.T) {
	svc := newTestService(t, sharedSimStore(t))
	m := NewMetrics(prometheus.NewRegistry())
	conn, _ := startGRPC(t, svc, GRPCOptions{AuthToken: "tok", MaxBodyBytes: 1024, Metrics: m})
	c := spotcastpb.NewSpotcastClient(conn)
	ctx := context.Background()
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok")
	cases := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"unknown pool", func() error {
			_, err := c.ForecastPrice(ctx, &spotcastpb.ForecastPriceRequest{Pool: &spotcastpb.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1f"}})
			return err
		}, codes.NotFound, "not stored"},
		{"missing instance type", func() error {
			_, err := c.ListPrices(ctx, &spotcastpb.ListPricesRequest{Pool: &spotcastpb.PoolRef{Zone: "us-east-1a"}})
			return err
		}, codes.InvalidArgument, "instance_type"},
		{"bad level", func() error {
			_, err := c.ForecastInterruption(ctx, &spotcastpb.ForecastInterruptionRequest{Pool: &spotcastpb.PoolRef{InstanceType: "p3.2xlarge", Zone: "us-east-1a"}, Level: 3})
			return err
		}, codes.InvalidArgument, "level"},
		{"no fit", func() error {
			_, err := c.RecommendPlacement(ctx, &spotcastpb.RecommendPlacementRequest{GpuModel: "B300"})
			return err
		}, codes.FailedPrecondition, "B300"},
		{"no token", func() error {
			_, err := c.PostEvents(ctx, &spotcastpb.PostEventsRequest{Body: []byte("{}")})
			return err
		}, codes.Unauthenticated, "token"},
		{"wrong token", func() error {
			_, err := c.PostEvents(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer nope"), &spotcastpb.PostEventsRequest{Body: []byte("{}")})
			return err
		}, codes.Unauthenticated, "token"},
		{"too large", func() error {
			_, err := c.PostEvents(authed, &spotcastpb.PostEventsRequest{Body: []byte(strings.Repeat(" ", 2000))})
			return err
		}, codes.ResourceExhausted, "larger than"},
		{"malformed", func() error {
			_, err := c.PostEvents(authed, &spotcastpb.PostEventsRequest{Body: []byte(`{"id": `)})
			return err
		}, codes.InvalidArgument, "body"},
	}
	for _, tc := range cases {
		err := tc.call()
		st, _ := status.FromError(err)
		if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: %v; want %s mentioning %q", tc.name, err, tc.code, tc.msg)
		}
	}
	if v := testutil.ToFloat64(m.grpcRequests.WithLabelValues("/spotcast.v1.Spotcast/PostEvents", "Unauthenticated")); v != 2 {
		t.Errorf("unauthenticated PostEvents counted %v, want 2", v)
	}
}

// TestGRPCurl: grpcurl (an outside client, from the Go module proxy)
// lists the services through reflection and calls one.
func TestGRPCurl(t *testing.T) {
	bin, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Skip("grpcurl not installed (go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest)")
	}
	svc := newTestService(t, sharedSimStore(t))
	_, addr := startGRPC(t, svc, GRPCOptions{})
	out, err := exec.Command(bin, "-plaintext", addr, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl list: %v\n%s", err, out)
	}
	for _, s := range []string{"spotcast.v1.Spotcast", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("grpcurl list lacks %s:\n%s", s, out)
		}
	}
	out, err = exec.Command(bin, "-plaintext", "-d", `{"pool": {"instance_type": "g5.xlarge", "zone": "us-east-1b"}, "horizon": "3600s"}`,
		addr, "spotcast.v1.Spotcast/ForecastInterruption").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl call: %v\n%s", err, out)
	}
	var r struct {
		Hours      []any `json:"hours"`
		Provenance struct {
			Source    string `json:"source"`
			Simulated bool   `json:"simulated"`
		} `json:"provenance"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("grpcurl output: %v\n%s", err, out)
	}
	if len(r.Hours) != 1 || !r.Provenance.Simulated || r.Provenance.Source != "simulated" {
		t.Errorf("grpcurl ForecastInterruption: %d hours, provenance %+v", len(r.Hours), r.Provenance)
	}
	out, err = exec.Command(bin, "-plaintext", "-d", `{"pool": {"instance_type": "g5.xlarge", "zone": "us-east-1z"}}`,
		addr, "spotcast.v1.Spotcast/ForecastPrice").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NotFound") {
		t.Errorf("grpcurl unknown pool: %v\n%s", err, out)
	}
}
