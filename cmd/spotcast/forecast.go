package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
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

// service opens the store read-only and puts the shared service layer
// (the one under the HTTP and gRPC APIs) on it.
func (c *common) service(ctx context.Context) (*api.Service, func(), error) {
	s, _, err := c.open(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	return api.New(s, api.Options{}), func() { s.Close() }, nil
}

// serviceAsOf parses --as-of and opens the service layer on the store.
func (c *common) serviceAsOf(ctx context.Context, asOf string) (*api.Service, time.Time, func(), error) {
	at, err := parseTime("as-of", asOf)
	if err != nil {
		return nil, at, nil, err
	}
	svc, done, err := c.service(ctx)
	return svc, at, done, err
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
	svc, at, done, err := c.serviceAsOf(ctx, asOf)
	if err != nil {
		return err
	}
	defer done()
	ref := api.Ref(k)
	switch kind {
	case "price":
		f, err := svc.PriceForecast(ctx, api.PriceForecastRequest{Pool: ref, Resolution: resolution, Horizon: h, Model: model, AsOf: at})
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, f)
	case "interruption":
		f, err := svc.InterruptionForecast(ctx, api.InterruptionForecastRequest{Pool: ref, Horizon: h, AsOf: at})
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
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(e.stderr, "usage: spotcast recommend bid|checkpoint|placement [flags]")
		if len(args) == 0 {
			return fmt.Errorf("recommend: name one: bid, checkpoint or placement")
		}
		return fmt.Errorf("recommend: unknown recommendation %q: want bid, checkpoint or placement", args[0])
	}
	return sub[args[0]](ctx, e, args[1:])
}

func runRecommendBid(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var run, parity, asOf string
	var p float64
	fs := newFlags(e, "recommend bid", "recommend bid --zone Z|--region R --instance-type T [--run 8h] [--confidence 0.95] [--parity-type T] [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&run, "run", "8h", "run length the instance must keep running")
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
	d, err := durationFlag("run", run)
	if err != nil {
		return err
	}
	svc, at, done, err := c.serviceAsOf(ctx, asOf)
	if err != nil {
		return err
	}
	defer done()
	r, err := svc.Bid(ctx, api.BidRequest{Pool: api.Ref(k), RunLength: d, Confidence: p, ParityType: parity, AsOf: at})
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
	fs.StringVar(&notice, "notice", "", "interruption notice window (default: the cloud's, 120s on AWS, 30s on GCP and Azure)")
	fs.Float64Var(&missed, "missed-notice-share", 1, "share of interruptions whose notice is missed or too short for an emergency checkpoint, 0-1 (1: rely on periodic checkpoints only)")
	fs.StringVar(&run, "run", "", "run length (default: the forecast horizon)")
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
	req := api.CheckpointRequest{MissedNoticeShare: missed, Nodes: nodes}
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
	if req.RunLength, err = durationFlag("run", run); err != nil {
		return err
	}
	if notice != "" {
		w, err := config.ParseDuration(notice)
		if err != nil || w < 0 {
			return fmt.Errorf("--notice %q: want a duration such as 120s", notice)
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
	var svc *api.Service
	if k.InstanceType != "" {
		ref := api.Ref(k)
		req.Pool = &ref
		var done func()
		if svc, done, err = c.service(ctx); err != nil {
			return err
		}
		defer done()
	} else {
		// A constant hazard needs no store.
		svc = api.New(nil, api.Options{})
	}
	r, err := svc.Checkpoint(ctx, req)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, r)
}

func runRecommendPlacement(ctx context.Context, e env, args []string) error {
	var c common
	var req api.PlacementRequest
	var regions, run, delta, restart, asOf, epoch string
	var utilisation float64
	fs := newFlags(e, "recommend placement", "recommend placement (--gpu-model M | --min-gpu-memory GiB) [--gpus-per-node N] [--nodes N] [--regions a,b] [--run 24h] [--json]", &c)
	fs.StringVar(&req.Cloud, "cloud", "aws", "cloud")
	fs.StringVar(&req.Product, "product", "", "product description (default Linux/UNIX)")
	fs.StringVar(&req.GPUModel, "gpu-model", "", "GPU model, e.g. A100, H100, L40S")
	fs.Float64Var(&req.MinGPUMemoryGiB, "min-gpu-memory", 0, "minimum memory per GPU in GiB (e.g. 48 for a 24B model in bf16)")
	fs.IntVar(&req.GPUsPerNode, "gpus-per-node", 1, "GPUs each node needs")
	fs.IntVar(&req.Nodes, "nodes", 1, "nodes")
	fs.StringVar(&regions, "regions", "", "comma-separated allowed regions (default: all)")
	fs.StringVar(&run, "run", "24h", "run length")
	fs.StringVar(&delta, "checkpoint-cost", "5m", "time to write one checkpoint")
	fs.StringVar(&restart, "restart-cost", "10m", "time to restart from a checkpoint")
	fs.IntVar(&req.K, "k", 3, "pools in the diversified set")
	fs.StringVar(&asOf, "as-of", "", "forecast origin (default now)")
	fs.StringVar(&epoch, "epoch-time", "", "compute time of one training epoch without interruptions, for the cost per epoch")
	fs.Float64Var(&utilisation, "utilisation", 1, "share of the month the fleet runs, for the monthly projection, (0,1]")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if utilisation <= 0 || utilisation > 1 {
		return fmt.Errorf("--utilisation %v: must be in (0,1]", utilisation)
	}
	if req.GPUModel == "" && req.MinGPUMemoryGiB <= 0 {
		return fmt.Errorf("give --gpu-model or --min-gpu-memory")
	}
	if req.GPUsPerNode <= 0 || req.Nodes <= 0 || req.K <= 0 {
		return fmt.Errorf("--gpus-per-node, --nodes and --k must be > 0")
	}
	req.Regions = splitList(regions)
	var err error
	if req.RunLength, err = durationFlag("run", run); err != nil {
		return err
	}
	if req.CheckpointCost, err = durationFlag("checkpoint-cost", delta); err != nil {
		return err
	}
	if req.RestartCost, err = durationFlag("restart-cost", restart); err != nil {
		return err
	}
	svc, at, done, err := c.serviceAsOf(ctx, asOf)
	if err != nil {
		return err
	}
	defer done()
	req.AsOf = at
	epochTime, err := durationFlag("epoch-time", epoch)
	if err != nil {
		return err
	}
	r, err := svc.Placement(ctx, req)
	if err != nil {
		return err
	}
	out := placementOutput{PlacementResponse: r}
	if len(r.Ranked) > 0 {
		// Cost monitoring for the top-ranked pool: the monthly projection
		// and savings against the same type on demand.
		top := r.Ranked[0]
		in := recommend.CostInput{SpotPrice: top.PriceUSDPerHour, Instances: top.Instances, UsefulGPUs: r.UsefulGPUs,
			OverheadRatio: top.OverheadRatio, Utilisation: utilisation, EpochTime: epochTime}
		if top.OnDemandCostPerUsefulGPUHr > 0 && top.Instances > 0 {
			in.OnDemand = top.OnDemandCostPerUsefulGPUHr * float64(r.UsefulGPUs) / float64(top.Instances)
		}
		c, err := recommend.Cost(in)
		if err != nil {
			return fmt.Errorf("cost of %s: %w", top.Pool, err)
		}
		out.Cost = &c
	}
	return writeJSON(e.stdout, out)
}

// placementOutput is a placement with the cost projection of its
// top-ranked pool.
type placementOutput struct {
	api.PlacementResponse
	Cost *recommend.CostResult `json:"cost,omitempty"`
}
