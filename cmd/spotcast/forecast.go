package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// durationFlag parses a duration flag value, naming the flag on error.
func durationFlag(name, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--%s %q: want a positive duration such as 90s, 10m, 24h or 7d", name, v)
	}
	return d, nil
}

// engine opens the store read-only and puts the application layer (the
// one under the HTTP and gRPC APIs and the reports) on it.
func (c *common) engine(ctx context.Context) (*engine.Engine, func(), error) {
	s, _, err := c.open(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	return engine.New(s, engine.Options{}), func() { s.Close() }, nil
}

// engineAsOf parses --as-of and opens the application layer on the store.
func (c *common) engineAsOf(ctx context.Context, asOf string) (*engine.Engine, time.Time, func(), error) {
	at, err := parseTime("as-of", asOf)
	if err != nil {
		return nil, at, nil, err
	}
	eng, done, err := c.engine(ctx)
	return eng, at, done, err
}

func runForecast(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var horizon, model, asOf, kind, resolution string
	fs := newFlags(e, "forecast", "forecast --zone Z|--region R --instance-type T [--product P] [--horizon 24h] [--kind price|interruption] [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&horizon, "horizon", "24h", "forecast horizon")
	fs.StringVar(&model, "model", "", "price model (default auto: chosen per pool by rolling-origin validation)")
	fs.StringVar(&asOf, "as-of", "", "forecast origin (default now); nothing after it is read")
	fs.StringVar(&kind, "kind", "price", "price or interruption")
	fs.StringVar(&resolution, "resolution", "", "series resolution when a pool has several: change or 1d")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := requirePool(k); err != nil {
		return err
	}
	h, err := durationFlag("horizon", horizon)
	if err != nil {
		return err
	}
	eng, at, done, err := c.engineAsOf(ctx, asOf)
	if err != nil {
		return err
	}
	defer done()
	ref := engine.Ref(k)
	switch kind {
	case "price":
		f, err := eng.PriceForecast(ctx, engine.PriceForecastRequest{Pool: ref, Resolution: resolution, Horizon: h, Model: model, AsOf: at})
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, f)
	case "interruption":
		f, err := eng.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: ref, Horizon: h, AsOf: at})
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, f)
	}
	return fmt.Errorf("--kind %q: want price or interruption", kind)
}

func runRecommend(ctx context.Context, e env, args []string) error {
	sub := map[string]func(context.Context, env, []string) error{
		"bid":        runRecommendBid,
		"checkpoint": runRecommendCheckpoint,
		"placement":  runRecommendPlacement,
		"fleet":      runRecommendFleet,
		"karpenter":  runRecommendKarpenter,
		"skypilot":   runRecommendSkyPilot,
		"plan":       runRecommendPlan,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(e.stderr, "usage: spotcast recommend bid|checkpoint|placement|fleet|karpenter|skypilot|plan [flags]")
		if len(args) == 0 {
			return fmt.Errorf("recommend: name one: bid, checkpoint, placement, fleet, karpenter, skypilot or plan")
		}
		return fmt.Errorf("recommend: unknown recommendation %q: want bid, checkpoint, placement, fleet, karpenter, skypilot or plan", args[0])
	}
	return sub[args[0]](ctx, e, args[1:])
}

func runRecommendBid(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var run, parity, asOf string
	var p float64
	fs := newFlags(e, "recommend bid", "recommend bid --zone Z|--region R --instance-type T [--run-length 8h] [--confidence 0.95] [--parity-type T] [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&run, "run-length", "8h", "run length the instance must keep running")
	deprecatedAlias(fs, "run", "run-length")
	fs.Float64Var(&p, "confidence", 0.95, "probability wanted that the spot price stays under the max price for the whole run, in (0,1)")
	fs.StringVar(&parity, "parity-type", "", "cap the max price at this instance type's on-demand price per GPU")
	fs.StringVar(&asOf, "as-of", "", "forecast origin (default now)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := requirePool(k); err != nil {
		return err
	}
	if p <= 0 || p >= 1 {
		return fmt.Errorf("--confidence %v: must be in (0,1), e.g. 0.95", p)
	}
	d, err := durationFlag("run-length", run)
	if err != nil {
		return err
	}
	eng, at, done, err := c.engineAsOf(ctx, asOf)
	if err != nil {
		return err
	}
	defer done()
	r, err := eng.Bid(ctx, engine.BidRequest{Pool: engine.Ref(k), RunLength: d, Confidence: p, ParityType: parity, AsOf: at})
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, r)
}

func runRecommendCheckpoint(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var delta, restart, mtbf, notice, run, asOf string
	var missed float64
	var nodes int
	fs := newFlags(e, "recommend checkpoint", "recommend checkpoint --checkpoint-cost 5m [--restart-cost 10m] (--mtbf 24h | --zone Z --instance-type T) [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&delta, "checkpoint-cost", "", "time to write one checkpoint (required)")
	fs.StringVar(&restart, "restart-cost", "", "time to restart from a checkpoint")
	fs.StringVar(&mtbf, "mtbf", "", "mean time between interruptions; instead of a pool's forecast hazard")
	fs.StringVar(&notice, "notice-window", "", "interruption notice window (default: the cloud's, 120s on AWS, 30s on GCP and Azure)")
	deprecatedAlias(fs, "notice", "notice-window")
	fs.Float64Var(&missed, "missed-notice-share", 1, "share of interruptions whose notice is missed or too short for an emergency checkpoint, 0-1 (1: rely on periodic checkpoints only)")
	fs.StringVar(&run, "run-length", "", "run length (default: the forecast horizon)")
	deprecatedAlias(fs, "run", "run-length")
	fs.IntVar(&nodes, "nodes", 1, "nodes in the job (any one's interruption stops it)")
	fs.StringVar(&asOf, "as-of", "", "forecast origin (default now)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if delta == "" {
		return fmt.Errorf("--checkpoint-cost is required")
	}
	if missed < 0 || missed > 1 {
		return fmt.Errorf("--missed-notice-share %v: must be in [0,1]", missed)
	}
	req := engine.CheckpointRequest{MissedNoticeShare: missed, Nodes: nodes}
	var err error
	if req.CheckpointCost, err = durationFlag("checkpoint-cost", delta); err != nil {
		return err
	}
	if req.RestartCost, err = durationFlag("restart-cost", restart); err != nil {
		return err
	}
	if req.MTBF, err = durationFlag("mtbf", mtbf); err != nil {
		return err
	}
	if req.RunLength, err = durationFlag("run-length", run); err != nil {
		return err
	}
	if notice != "" {
		w, err := config.ParseDuration(notice)
		if err != nil || w < 0 {
			return fmt.Errorf("--notice-window %q: want a duration such as 120s", notice)
		}
		req.NoticeWindow = &w
	}
	if req.AsOf, err = parseTime("as-of", asOf); err != nil {
		return err
	}
	if req.MTBF == 0 && k.InstanceType == "" {
		return fmt.Errorf("give --mtbf, or a pool (--zone/--region and --instance-type) whose forecast hazard to use")
	}
	if req.MTBF > 0 && k.InstanceType != "" {
		return fmt.Errorf("give --mtbf or a pool, not both")
	}
	eng := engine.New(nil, engine.Options{}) // a constant hazard needs no store
	if k.InstanceType != "" {
		ref := engine.Ref(k)
		req.Pool = &ref
		var done func()
		if eng, done, err = c.engine(ctx); err != nil {
			return err
		}
		defer done()
	}
	r, err := eng.Checkpoint(ctx, req)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, r)
}

func runRecommendPlacement(ctx context.Context, e env, args []string) error {
	var c common
	var req engine.WorkloadRequest
	var epoch string
	fs := newFlags(e, "recommend placement", "recommend placement (--gpu-model M | --min-gpu-memory-gib GiB) [--gpus-per-node N] [--nodes N] [--regions a,b] [--run-length 24h] [--json]", &c)
	w := addWorkloadFlags(fs, &req.PlacementRequest)
	fs.IntVar(&req.K, "k", 3, "pools in the diversified set")
	fs.StringVar(&epoch, "epoch-time", "", "compute time of one training epoch without interruptions, for the cost per epoch")
	fs.Float64Var(&req.Confidence, "confidence", 0.95, "probability wanted that the spot price stays under the max price for the whole run, in (0,1)")
	fs.Float64Var(&req.Utilisation, "utilisation", 1, "share of the month the fleet runs, for the monthly projection, (0,1]")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if req.Utilisation <= 0 || req.Utilisation > 1 {
		return fmt.Errorf("--utilisation %v: must be in (0,1]", req.Utilisation)
	}
	if req.Confidence <= 0 || req.Confidence >= 1 {
		return fmt.Errorf("--confidence %v: must be in (0,1), e.g. 0.95", req.Confidence)
	}
	if req.K <= 0 {
		return fmt.Errorf("--k must be > 0")
	}
	if err := w.parse(); err != nil {
		return err
	}
	var err error
	if req.EpochTime, err = durationFlag("epoch-time", epoch); err != nil {
		return err
	}
	eng, done, err := w.engine(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	plan, err := eng.Workload(ctx, req)
	if err != nil {
		return err
	}
	out := placementOutput{PlacementResponse: plan.Placement, Cost: plan.Cost, BidError: plan.BidError}
	if plan.MaxPrice != nil {
		out.MaxPrice = &plan.MaxPrice.BidResult
	}
	if plan.Checkpoint != nil {
		out.Checkpoint = &plan.Checkpoint.CheckpointResult
	}
	return writeJSON(e.stdout, out)
}

// placementOutput is a placement with, for the first pool of the
// recommended set, the month's cost projection, the max price and the
// fleet's checkpoint policy.
type placementOutput struct {
	engine.PlacementResponse
	Cost       *recommend.CostResult       `json:"cost,omitempty"`
	MaxPrice   *recommend.BidResult        `json:"max_price,omitempty"`
	BidError   string                      `json:"max_price_error,omitempty"`
	Checkpoint *recommend.CheckpointResult `json:"checkpoint,omitempty"`
}
