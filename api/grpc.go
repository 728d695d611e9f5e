package api

//go:generate protoc --proto_path=proto --proto_path=/usr/include --go_out=spotcastpb --go_opt=paths=source_relative --go-grpc_out=spotcastpb --go-grpc_opt=paths=source_relative proto/spotcast.proto

import (
	"github.com/spotcast/spotcast/engine"

	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/spotcast/spotcast/api/spotcastpb"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// GRPCOptions configure the gRPC server.
type GRPCOptions struct {
	// AuthToken, if set, is the bearer token PostEvents requires.
	AuthToken string
	// MaxBodyBytes bounds PostEvents' body (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// TLSCert and TLSKey, both set, serve TLS.
	TLSCert, TLSKey string
	// Metrics, if set, records call counts and latencies.
	Metrics *Metrics
	Logger  *slog.Logger
	// AuthReads puts every Spotcast method behind AuthToken (the health
	// service stays open).
	AuthReads bool
}

// grpcServer adapts the Service to the generated interface: conversion
// only, every decision stays in the Service.
type grpcServer struct {
	spotcastpb.UnimplementedSpotcastServer
	svc  *Service
	opts GRPCOptions
}

// NewGRPCServer returns a gRPC server with the Spotcast service, the
// standard health service (serving once svc is ready) and reflection.
// The returned health server lets the caller mark it NOT_SERVING on
// shutdown.
func NewGRPCServer(svc *Service, opts GRPCOptions) (*grpc.Server, *health.Server, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sopts := []grpc.ServerOption{
		// A body at the limit plus the message framing fits; more is
		// refused by gRPC itself with ResourceExhausted.
		grpc.MaxRecvMsgSize(int(opts.MaxBodyBytes) + 4096),
		grpc.ForceServerCodecV2(newTextCodec()),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			start := time.Now()
			ctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
			defer cancel()
			var resp any
			err := grpcAdmit(ctx, opts, info, req)
			if err == nil {
				resp, err = h(ctx, req)
			}
			opts.Metrics.observeGRPC(info.FullMethod, status.Code(err).String(), time.Since(start))
			log.Info("grpc", "method", info.FullMethod, "code", status.Code(err).String(), "duration_ms", float64(time.Since(start).Microseconds())/1000)
			return resp, err
		}),
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, nil, errors.New("tls: give both a certificate and a key")
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("tls: %w", err)
		}
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	}
	s := grpc.NewServer(sopts...)
	spotcastpb.RegisterSpotcastServer(s, &grpcServer{svc: svc, opts: opts})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	return s, hs, nil
}

// ServeGRPC serves s on ln until ctx ends, marking health SERVING while
// svc is ready, then stops gracefully (in-flight calls finish within
// DefaultShutdownTimeout).
func ServeGRPC(ctx context.Context, ln net.Listener, s *grpc.Server, hs *health.Server, svc *Service) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	setHealth := func() {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if svc.ready.Load() {
			st = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus("", st)
		hs.SetServingStatus(spotcastpb.Spotcast_ServiceDesc.ServiceName, st)
	}
	setHealth()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("grpc server: %w", err)
		case <-tick.C:
			setHealth()
			continue
		case <-ctx.Done():
		}
		break
	}
	hs.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(DefaultShutdownTimeout):
		s.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc server: %w", err)
	}
	return nil
}

// grpcError maps the Service's errors onto gRPC status codes.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "request timed out")
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "request cancelled")
	}
	e := engine.AsError(err)
	c := codes.Internal
	switch e.Code {
	case engine.CodeInvalidArgument, engine.CodeMalformedBody:
		c = codes.InvalidArgument
	case engine.CodeUnauthenticated:
		c = codes.Unauthenticated
	case engine.CodeNotFound:
		c = codes.NotFound
	case engine.CodeTooLarge:
		c = codes.ResourceExhausted
	case engine.CodeUnprocessable:
		c = codes.FailedPrecondition
	case engine.CodeUnavailable:
		c = codes.Unavailable
	case engine.CodeOverloaded:
		c = codes.ResourceExhausted
	case engine.CodeForbidden:
		c = codes.PermissionDenied
	}
	return status.Error(c, e.Message)
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

func fromDur(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func fromDurPtr(d *durationpb.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := d.AsDuration()
	return &v
}

func refOf(p *spotcastpb.PoolRef) engine.PoolRef {
	if p == nil {
		return engine.PoolRef{}
	}
	return engine.PoolRef{Cloud: p.Cloud, Region: p.Region, Zone: p.Zone, InstanceType: p.InstanceType, Product: p.Product}
}

func pbRef(k market.PoolKey) *spotcastpb.PoolRef {
	return &spotcastpb.PoolRef{Cloud: k.Cloud, Region: k.Region, Zone: k.Zone, InstanceType: k.InstanceType, Product: k.Product}
}

func pbProv(p engine.Provenance) *spotcastpb.Provenance {
	return &spotcastpb.Provenance{Source: p.Source, Simulated: p.Simulated}
}

func pbBasis(b engine.Basis) *spotcastpb.Basis {
	return &spotcastpb.Basis{ForecastGenerated: ts(b.ForecastGenerated), DataUntil: ts(b.DataUntil), Precomputed: b.Precomputed}
}

func pbExplain(e recommend.Explanation) *spotcastpb.Explanation {
	b, err := json.Marshal(e.Inputs)
	if err != nil {
		b = []byte("{}")
	}
	return &spotcastpb.Explanation{InputsJson: string(b), Formula: e.Formula, Notes: e.Notes}
}

func (g *grpcServer) ListPools(ctx context.Context, r *spotcastpb.ListPoolsRequest) (*spotcastpb.ListPoolsResponse, error) {
	res, err := g.svc.Pools(ctx, engine.PoolsRequest{Cloud: r.Cloud, Region: r.Region, Zone: r.Zone, InstanceType: r.InstanceType,
		Product: r.Product, GPUModel: r.GpuModel, MinGPUMemoryGiB: r.MinGpuMemoryGib, Source: r.Source, Limit: int(r.Limit)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.ListPoolsResponse{Truncated: res.Truncated, Provenance: pbProv(res.Provenance)}
	for _, p := range res.Pools {
		out.Pools = append(out.Pools, &spotcastpb.Pool{Id: p.ID, Pool: pbRef(p.PoolKey), Resolution: p.Resolution, Points: p.Points,
			First: ts(p.First), Last: ts(p.Last), LastPrice: p.LastPrice, Source: p.Source, Vcpu: int32(p.VCPU),
			MemoryGib: p.MemoryGiB, GpuModel: p.GPUModel, GpuCount: int32(p.GPUCount), GpuMemoryGib: p.GPUMemoryGiB})
	}
	return out, nil
}

func (g *grpcServer) ListPrices(ctx context.Context, r *spotcastpb.ListPricesRequest) (*spotcastpb.ListPricesResponse, error) {
	res, err := g.svc.Prices(ctx, engine.PricesRequest{Pool: refOf(r.Pool), Resolution: r.Resolution, From: fromTS(r.From), To: fromTS(r.To), Limit: int(r.Limit)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.ListPricesResponse{Pool: pbRef(res.Pool), Resolution: res.Resolution, Truncated: res.Truncated, Provenance: pbProv(res.Provenance)}
	for _, p := range res.Points {
		out.Points = append(out.Points, &spotcastpb.PricePoint{Time: ts(p.Time), PriceUsdPerHour: p.Price, Open: p.Open, High: p.High,
			Low: p.Low, Close: p.Close, Source: p.Source})
	}
	return out, nil
}

func (g *grpcServer) ForecastPrice(ctx context.Context, r *spotcastpb.ForecastPriceRequest) (*spotcastpb.PriceForecast, error) {
	f, err := g.svc.PriceForecast(ctx, engine.PriceForecastRequest{Pool: refOf(r.Pool), Resolution: r.Resolution, Horizon: fromDur(r.Horizon),
		Model: r.Model, AsOf: fromTS(r.AsOf)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.PriceForecast{Pool: pbRef(f.Pool), Model: f.Model, Chosen: f.Chosen, Note: f.Note, Generated: ts(f.Generated),
		Origin: ts(f.Origin), Resolution: f.Resolution, Step: durationpb.New(f.PriceForecast.StepSize), LastPrice: f.LastPrice, Volatility: f.Volatility,
		ValidationMase: f.ValidationMASE, AsOf: ts(f.AsOf), DataAgeSeconds: f.DataAgeSeconds,
		Provenance: &spotcastpb.Provenance{Source: f.Source, Simulated: f.Simulated}, Basis: pbBasis(f.Basis)}
	for _, st := range f.Steps {
		s := &spotcastpb.PriceStep{Time: ts(st.Time), Mean: st.Mean, Median: st.Median}
		for _, q := range st.Quantiles {
			s.Quantiles = append(s.Quantiles, &spotcastpb.Quantile{P: q.P, Value: q.Value})
		}
		out.Steps = append(out.Steps, s)
	}
	return out, nil
}

func (g *grpcServer) ForecastInterruption(ctx context.Context, r *spotcastpb.ForecastInterruptionRequest) (*spotcastpb.InterruptionForecast, error) {
	f, err := g.svc.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: refOf(r.Pool), Horizon: fromDur(r.Horizon), Level: r.Level, AsOf: fromTS(r.AsOf)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.InterruptionForecast{Pool: pbRef(f.Pool), Generated: ts(f.Generated), Baseline: f.Baseline, Prior: f.Prior,
		Events: int32(f.Events), ExposureHours: f.ExposureHours, Level: f.Level, ProbInterruptedWithin_1H: f.ProbWithin1h,
		ProbInterruptedWithin_24H: f.ProbWithin24h, MtbfSeconds: f.MTBFSeconds,
		Provenance: &spotcastpb.Provenance{Source: f.Source, Simulated: f.Simulated}, Basis: pbBasis(f.Basis)}
	for _, h := range f.Hours {
		out.Hours = append(out.Hours, &spotcastpb.HazardHour{Time: ts(h.Time), Rate: h.Rate, Lo: h.Lo, Hi: h.Hi})
	}
	return out, nil
}

func (g *grpcServer) RecommendBid(ctx context.Context, r *spotcastpb.RecommendBidRequest) (*spotcastpb.Bid, error) {
	b, err := g.svc.Bid(ctx, engine.BidRequest{Pool: refOf(r.Pool), RunLength: fromDur(r.RunLength), Confidence: r.Confidence,
		ParityType: r.ParityType, AsOf: fromTS(r.AsOf)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.Bid{Pool: pbRef(b.Pool), RunLengthSeconds: b.RunLengthSeconds, Confidence: b.Confidence,
		MaxPriceUsdPerHour: b.MaxPrice, ProbStaysUnder: b.ProbStaysUnder, CurrentPriceUsdPerHour: b.CurrentPrice,
		OnDemandUsdPerHour: b.OnDemand, CappedAtOnDemand: b.CappedAtOnDemand, Advice: b.Advice, Explain: pbExplain(b.Explain),
		Provenance: pbProv(b.Provenance), Basis: pbBasis(b.Basis)}
	if b.Parity != nil {
		out.ParityMaxPriceUsdPerHour = b.Parity.MaxPrice
	}
	return out, nil
}

func (g *grpcServer) RecommendCheckpoint(ctx context.Context, r *spotcastpb.RecommendCheckpointRequest) (*spotcastpb.Checkpoint, error) {
	req := engine.CheckpointRequest{MTBF: fromDur(r.Mtbf), CheckpointCost: fromDur(r.CheckpointCost), RestartCost: fromDur(r.RestartCost),
		NoticeWindow: fromDurPtr(r.NoticeWindow), MissedNoticeShare: r.MissedNoticeShare, RunLength: fromDur(r.RunLength),
		Nodes: int(r.Nodes), AsOf: fromTS(r.AsOf)}
	if r.Pool != nil {
		ref := refOf(r.Pool)
		req.Pool = &ref
	}
	c, err := g.svc.Checkpoint(ctx, req)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.Checkpoint{IntervalSeconds: c.IntervalSeconds, YoungIntervalSeconds: c.YoungIntervalSeconds,
		ExpectedOverheadRatio: c.ExpectedOverheadRatio, ExpectedOverheadRatioLo: c.ExpectedOverheadRatioLo,
		ExpectedOverheadRatioHi: c.ExpectedOverheadRatioHi, ExpectedLostWorkSeconds: c.ExpectedLostWorkSeconds,
		ExpectedTimeLostSeconds: c.ExpectedTimeLostSeconds, MtbfSeconds: c.MTBFSeconds, LossMtbfSeconds: c.LossMTBFSeconds,
		EmergencyCheckpointOnNotice: c.EmergencyCheckpoint, PeriodicIsInsurance: c.PeriodicIsInsurance, PeriodicNeeded: c.PeriodicNeeded,
		Regime: c.Regime, ExpectedWallSeconds: c.ExpectedWallSeconds, ExpectedInterruptions: c.ExpectedInterruptions,
		Explain: pbExplain(c.Explain), Provenance: pbProv(c.Provenance)}
	if c.Pool != nil {
		out.Pool = pbRef(*c.Pool)
	}
	if c.Basis != nil {
		out.Basis = pbBasis(*c.Basis)
	}
	return out, nil
}

func pbRank(r recommend.PoolRank) *spotcastpb.PoolRank {
	return &spotcastpb.PoolRank{Pool: pbRef(r.Pool), GpuModel: r.GPUModel, GpuMemoryGib: r.GPUMemoryGiB, GpusPerInstance: int32(r.GPUsPerInstance),
		Instances: int32(r.Instances), PriceUsdPerHour: r.PriceUSDPerHour, PricePerGpuHour: r.PricePerGPUHour,
		HazardPerInstanceHour: r.HazardPerHour, CheckpointIntervalSeconds: r.CheckpointInterval, ExpectedOverheadRatio: r.OverheadRatio,
		CostPerUsefulGpuHour: r.CostPerUsefulGPUHr, CostPerUsefulGpuHourLo: r.CostPerUsefulGPUHrL, CostPerUsefulGpuHourHi: r.CostPerUsefulGPUHrH,
		ExpectedRunCostUsd: r.ExpectedRunCostUSD, SavingsVsOnDemand: r.SavingsVsOnDemand, Source: r.Source,
		NoticeWindowSeconds: r.NoticeWindowSeconds, Inputs: pbInputs(r.Inputs)}
}

func pbInputs(in []recommend.InputSource) []*spotcastpb.InputSource {
	out := make([]*spotcastpb.InputSource, len(in))
	for i, s := range in {
		out[i] = &spotcastpb.InputSource{Input: s.Input, Source: s.Source, Time: ts(s.Time), Detail: s.Detail}
	}
	return out
}

func (g *grpcServer) RecommendPlacement(ctx context.Context, r *spotcastpb.RecommendPlacementRequest) (*spotcastpb.Placement, error) {
	p, err := g.svc.Placement(ctx, engine.PlacementRequest{Cloud: r.Cloud, Product: r.Product, GPUModel: r.GpuModel, MinGPUMemoryGiB: r.MinGpuMemoryGib,
		GPUsPerNode: int(r.GpusPerNode), Nodes: int(r.Nodes), Regions: r.Regions, RunLength: fromDur(r.RunLength),
		CheckpointCost: fromDur(r.CheckpointCost), RestartCost: fromDur(r.RestartCost), NoticeWindow: fromDurPtr(r.NoticeWindow),
		MissedNoticeShare: r.MissedNoticeShare, K: int(r.K), Model: r.Model, MaxCandidates: int(r.MaxCandidates), AsOf: fromTS(r.AsOf)})
	if err != nil {
		return nil, grpcError(err)
	}
	out := &spotcastpb.Placement{UsefulGpus: int32(p.UsefulGPUs), Candidates: int32(p.Candidates), Explain: pbExplain(p.Explain),
		Provenance: pbProv(p.Provenance), Basis: pbBasis(p.Basis)}
	for _, x := range p.Ranked {
		out.Ranked = append(out.Ranked, pbRank(x))
	}
	for _, x := range p.Diversified {
		out.Diversified = append(out.Diversified, pbRank(x))
	}
	for _, x := range p.Rejected {
		out.Rejected = append(out.Rejected, &spotcastpb.Rejection{Pool: pbRef(x.Pool), Reason: x.Reason})
	}
	return out, nil
}

func (g *grpcServer) PostEvents(ctx context.Context, r *spotcastpb.PostEventsRequest) (*spotcastpb.PostEventsResponse, error) {
	if g.opts.AuthToken != "" && !grpcAuthorized(ctx, g.opts.AuthToken) {
		return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token (metadata authorization: Bearer TOKEN)")
	}
	if int64(len(r.Body)) > g.opts.MaxBodyBytes {
		return nil, grpcError(&engine.Error{Code: engine.CodeTooLarge, Param: "body", Message: fmt.Sprintf("body: larger than %d bytes; send fewer events per request", g.opts.MaxBodyBytes)})
	}
	res, err := g.svc.IngestEvents(ctx, r.Body)
	if err != nil {
		return nil, grpcError(err)
	}
	return &spotcastpb.PostEventsResponse{RowsRead: res.RowsRead, RowsStored: res.RowsStored, Duplicates: res.Duplicates,
		Skipped: res.Skipped, RunId: res.RunID, Source: res.Source}, nil
}

func grpcAuthorized(ctx context.Context, token string) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		const prefix = "bearer "
		if len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(v[len(prefix):])), []byte(token)) == 1 {
			return true
		}
	}
	return false
}
