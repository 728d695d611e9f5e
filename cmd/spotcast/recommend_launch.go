package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/spotcast/spotcast/engine"
	"io"
	"strconv"
	"strings"
	"time"
)

// workloadFlags are the flags that describe a workload, one set for
// recommend placement and the launch outputs, so a workload is written the
// same way for each.
type workloadFlags struct {
	req                                *engine.PlacementRequest
	regions, run, delta, restart, asOf string
}

func addWorkloadFlags(fs *flag.FlagSet, req *engine.PlacementRequest) *workloadFlags {
	w := &workloadFlags{req: req}
	fs.StringVar(&req.Cloud, "cloud", "aws", "cloud: aws, gcp, azure, or any (rank every cloud's pools together, each with its own notice window)")
	fs.StringVar(&req.Product, "product", "", "product description (default: Linux on every cloud, or no product where prices do not split by OS, as GCP's)")
	fs.StringVar(&req.GPUModel, "gpu-model", "", "GPU model, e.g. A100, H100, L40S")
	fs.Float64Var(&req.MinGPUMemoryGiB, "min-gpu-memory-gib", 0, "minimum memory per GPU in GiB (e.g. 48 for a 24B model in bf16)")
	deprecatedAlias(fs, "min-gpu-memory", "min-gpu-memory-gib")
	fs.IntVar(&req.GPUsPerNode, "gpus-per-node", 1, "GPUs each node needs")
	fs.IntVar(&req.Nodes, "nodes", 1, "nodes")
	fs.StringVar(&w.regions, "regions", "", "comma-separated allowed regions (default: all)")
	fs.StringVar(&w.run, "run-length", "24h", "run length")
	deprecatedAlias(fs, "run", "run-length")
	fs.StringVar(&w.delta, "checkpoint-cost", "5m", "time to write one checkpoint")
	fs.StringVar(&w.restart, "restart-cost", "10m", "time to restart from a checkpoint")
	fs.StringVar(&w.asOf, "as-of", "", "forecast origin (default now)")
	return w
}

// parse checks the workload flags and fills the request's durations.
func (w *workloadFlags) parse() error {
	req := w.req
	if req.GPUModel == "" && req.MinGPUMemoryGiB <= 0 {
		return fmt.Errorf("give --gpu-model or --min-gpu-memory-gib")
	}
	if req.GPUsPerNode <= 0 || req.Nodes <= 0 {
		return fmt.Errorf("--gpus-per-node and --nodes must be > 0")
	}
	req.Regions = splitList(w.regions)
	var err error
	if req.RunLength, err = durationFlag("run-length", w.run); err != nil {
		return err
	}
	if req.CheckpointCost, err = durationFlag("checkpoint-cost", w.delta); err != nil {
		return err
	}
	if req.RestartCost, err = durationFlag("restart-cost", w.restart); err != nil {
		return err
	}
	return nil
}

// engine opens the application layer with the --as-of origin.
func (w *workloadFlags) engine(ctx context.Context, c *common) (*engine.Engine, func(), error) {
	eng, at, done, err := c.engineAsOf(ctx, w.asOf)
	if err != nil {
		return nil, nil, err
	}
	w.req.AsOf = at
	return eng, done, nil
}

// launchFlags are the workload flags plus which ranked pools a launch
// document lists.
type launchFlags struct {
	*workloadFlags
	req         *engine.LaunchRequest
	commonShare string
}

func addLaunchFlags(fs *flag.FlagSet, req *engine.LaunchRequest) *launchFlags {
	l := &launchFlags{workloadFlags: addWorkloadFlags(fs, &req.PlacementRequest), req: req}
	fs.StringVar(&req.Region, "region", "", "region of a regional output (EC2 Fleet, Karpenter; default: the best pool's)")
	fs.IntVar(&req.MaxPools, "max-pools", 0, "at most this many pools in the document (default 10)")
	fs.Float64Var(&req.MaxPremium, "max-premium", 0, "leave out pools whose expected cost per useful GPU-hour is more than this share above the best (default 0.5)")
	fs.StringVar(&l.commonShare, "common-share", "", "share of a pool's interruptions that take all its instances at once, 0-1 (default 0.6, from the skypilot multi-node traces)")
	fs.IntVar(&req.MaxCandidates, "max-candidates", 0, "pools forecast at most (default 200)")
	return l
}

func (l *launchFlags) parse() error {
	if err := l.workloadFlags.parse(); err != nil {
		return err
	}
	if l.commonShare != "" {
		s, err := strconv.ParseFloat(l.commonShare, 64)
		if err != nil || !(s >= 0 && s <= 1) {
			return fmt.Errorf("--common-share %q: want a share in [0,1], e.g. 0.6", l.commonShare)
		}
		l.req.CommonShare = &s
	}
	return nil
}

func runRecommendFleet(ctx context.Context, e env, args []string) error {
	var c common
	var req engine.FleetRequest
	var template, subnets string
	fs := newFlags(e, "recommend fleet", "recommend fleet (--gpu-model M | --min-gpu-memory-gib GiB) [--run-length 24h] [--nodes N] [--fleet-type maintain|instant|request] [--target gpus|instances] [--json]", &c)
	l := addLaunchFlags(fs, &req.LaunchRequest)
	fs.StringVar(&req.Type, "fleet-type", "maintain", "EC2 Fleet type: maintain (with capacity rebalancing), instant or request")
	fs.StringVar(&req.Unit, "target", "gpus", "count the target capacity in gpus or instances")
	fs.StringVar(&req.Strategy, "strategy", "", "allocation strategy (default: chosen from the forecast): price-capacity-optimized or capacity-optimized-prioritized")
	fs.StringVar(&template, "launch-template", "", "launch template name, or lt-... id (default "+`"spotcast-gpu"`+")")
	fs.StringVar(&req.LaunchTemplateVersion, "launch-template-version", "", "launch template version (default $Latest)")
	fs.StringVar(&subnets, "subnets", "", "comma-separated zone=subnet-id pairs: launch in these subnets instead of naming the zone")
	fs.Float64Var(&req.Confidence, "confidence", 0.95, "probability wanted that the spot price stays under a max price for the whole run, in (0,1)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := l.parse(); err != nil {
		return err
	}
	if strings.HasPrefix(template, "lt-") {
		req.LaunchTemplateID = template
	} else {
		req.LaunchTemplateName = template
	}
	for _, p := range splitList(subnets) {
		zone, sub, ok := strings.Cut(p, "=")
		if !ok || zone == "" || sub == "" {
			return fmt.Errorf("--subnets %q: want zone=subnet-id pairs, e.g. us-east-1a=subnet-0abc", p)
		}
		if req.Subnets == nil {
			req.Subnets = map[string]string{}
		}
		req.Subnets[zone] = sub
	}
	eng, done, err := l.engine(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	r, err := eng.Fleet(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, r)
	}
	summary(e.stderr, fmt.Sprintf("EC2 Fleet request for %d pools in %s, %s: %s", len(r.Pools), r.Region, r.AllocationStrategy, r.StrategyReason), r.Provenance, r.Basis)
	return writeJSON(e.stdout, r.Request)
}

func runRecommendKarpenter(ctx context.Context, e env, args []string) error {
	var c common
	var req engine.KarpenterRequest
	fs := newFlags(e, "recommend karpenter", "recommend karpenter (--gpu-model M | --min-gpu-memory-gib GiB) [--run-length 24h] [--region R] [--node-class NAME] [--json]", &c)
	l := addLaunchFlags(fs, &req.LaunchRequest)
	fs.StringVar(&req.NodeClass, "node-class", "", "EC2NodeClass the NodePools launch with (default \"default\")")
	fs.StringVar(&req.Name, "name", "", "prefix of every object's name (default \"spotcast\")")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := l.parse(); err != nil {
		return err
	}
	eng, done, err := l.engine(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	r, err := eng.Karpenter(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, r)
	}
	y, err := r.YAML()
	if err != nil {
		return err
	}
	summary(e.stderr, fmt.Sprintf("Karpenter: %d NodePools and %d NodeOverlays in %s", len(r.NodePools), len(r.NodeOverlays), r.Region), r.Provenance, r.Basis)
	_, err = e.stdout.Write(y)
	return err
}

func runRecommendSkyPilot(ctx context.Context, e env, args []string) error {
	var c common
	var req engine.SkyPilotRequest
	var clouds string
	fs := newFlags(e, "recommend skypilot", "recommend skypilot (--gpu-model M | --min-gpu-memory-gib GiB) [--run-length 24h] [--clouds aws,gcp,azure] [--json]", &c)
	l := addLaunchFlags(fs, &req.LaunchRequest)
	fs.StringVar(&clouds, "clouds", "aws,gcp,azure", "comma-separated clouds whose pools are candidates")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := l.parse(); err != nil {
		return err
	}
	req.Clouds = splitList(clouds)
	eng, done, err := l.engine(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	r, err := eng.SkyPilot(ctx, req)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, r)
	}
	y, err := r.YAML()
	if err != nil {
		return err
	}
	summary(e.stderr, fmt.Sprintf("SkyPilot resources: %d ordered candidates", len(r.Task.Resources.Ordered)), r.Provenance, r.Basis)
	_, err = e.stdout.Write(y)
	return err
}

func runRecommendPlan(ctx context.Context, e env, args []string) error {
	var c common
	var req engine.PlanRequest
	var deadline, step string
	var seed uint64
	fs := newFlags(e, "recommend plan", "recommend plan (--gpu-model M | --min-gpu-memory-gib GiB) --run-length 24h --deadline 36h [--runs 1000] [--json]", &c)
	l := addLaunchFlags(fs, &req.LaunchRequest)
	fs.StringVar(&deadline, "deadline", "", "when the job must be done, from now (required), e.g. 36h")
	fs.StringVar(&step, "step", "", "decision interval of the plan (default 5m)")
	fs.IntVar(&req.Runs, "runs", 0, "Monte Carlo runs (default 1000)")
	fs.Uint64Var(&seed, "seed", 1, "Monte Carlo seed")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := l.parse(); err != nil {
		return err
	}
	if deadline == "" {
		return fmt.Errorf("--deadline is required, e.g. --deadline 36h")
	}
	var err error
	if req.Deadline, err = durationFlag("deadline", deadline); err != nil {
		return err
	}
	if req.Step, err = durationFlag("step", step); err != nil {
		return err
	}
	req.Seed = seed
	eng, done, err := l.engine(ctx, &c)
	if err != nil {
		return err
	}
	defer done()
	r, err := eng.Plan(ctx, req)
	if err != nil {
		return err
	}
	summary(e.stderr, fmt.Sprintf("plan on %d pools of %s: expected %.2f USD against %.2f on demand, deadline met in %.1f%% of %d runs",
		len(r.Pools), r.InstanceType, r.ExpectedCostUSD, r.OnDemandCostUSD, 100*r.ProbMeetsDeadline, r.Runs), r.Provenance, r.Basis)
	return writeJSON(e.stdout, r)
}

// summary says on stderr what a document printed alone on stdout rests
// on: simulated data is said out loud there too.
func summary(w io.Writer, what string, p engine.Provenance, b engine.Basis) {
	sim := ""
	if p.Simulated {
		sim = " (SIMULATED market data)"
	}
	fmt.Fprintf(w, "spotcast: %s\nspotcast: source %s%s, data until %s\n", what, p.Source, sim, b.DataUntil.Format(time.RFC3339))
}
