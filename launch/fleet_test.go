package launch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/spotcast/spotcast/ingest/awsapi/ec2emu"
	"github.com/spotcast/spotcast/launch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

func overrides(r launch.FleetResult) []string {
	var s []string
	for _, o := range r.Request.LaunchTemplateConfigs[0].Overrides {
		s = append(s, o.AvailabilityZone+"/"+o.InstanceType)
	}
	return s
}

func TestFleetFollowsTheForecast(t *testing.T) {
	w := workload()
	p := placement(t, w, candidates())
	res, err := launch.Fleet(launch.FleetInput{Workload: w, Placement: p})
	if err != nil {
		t.Fatal(err)
	}
	// One region (the best pool's), ranked by expected cost; us-west-2a
	// is left out, its forecast overhead puts it more than 50% above the best.
	if got, want := overrides(res), []string{"us-west-2c/p3.8xlarge", "us-west-2b/p3.2xlarge"}; !slices.Equal(got, want) {
		t.Fatalf("overrides %v, want %v", got, want)
	}
	if res.Region != "us-west-2" {
		t.Errorf("region %q", res.Region)
	}
	// 2b has the lower list price per GPU but ranks second: only the
	// prioritized strategy carries that ranking.
	if res.AllocationStrategy != launch.StrategyCapacityPrioritized || !strings.Contains(res.StrategyReason, "us-west-2b") {
		t.Errorf("strategy %s (%s)", res.AllocationStrategy, res.StrategyReason)
	}
	o := res.Request.LaunchTemplateConfigs[0].Overrides
	if o[0].WeightedCapacity != 4 || o[1].WeightedCapacity != 1 || o[0].Priority != 1 || o[1].Priority != 2 {
		t.Errorf("weights/priorities %+v", o)
	}
	if tc := res.Request.TargetCapacitySpecification; tc.TotalTargetCapacity != 4 || tc.DefaultTargetCapacityType != "spot" {
		t.Errorf("target %+v", tc)
	}
	if o[0].MaxPrice != "" || o[1].MaxPrice != "" {
		t.Error("max price set without a bid recommendation")
	}
	ms := res.Request.SpotOptions.MaintenanceStrategies
	if res.Request.Type != launch.FleetTypeMaintain || ms == nil || ms.CapacityRebalance.ReplacementStrategy != "launch-before-terminate" || ms.CapacityRebalance.TerminationDelay != 360 {
		t.Errorf("maintain fleet without rebalancing: %+v", res.Request)
	}

	// When the best expected cost is also the lowest list price, EC2's own
	// price-and-capacity choice agrees.
	c := candidates()
	c[1].Hazard = recommend.Hazard{{Start: start, Rate: 0.001}}
	c[2].PriceMean, c[2].PriceLo, c[2].PriceHi = 4.2, 4.0, 4.4
	res2, err := launch.Fleet(launch.FleetInput{Workload: w, Placement: placement(t, w, c)})
	if err != nil {
		t.Fatal(err)
	}
	if res2.AllocationStrategy != launch.StrategyPriceCapacity || overrides(res2)[0] != "us-west-2b/p3.2xlarge" {
		t.Errorf("strategy %s for %v", res2.AllocationStrategy, overrides(res2))
	}
}

func TestFleetOptions(t *testing.T) {
	w := workload()
	p := placement(t, w, candidates())
	b := p.Ranked[1] // us-west-2b
	bids := map[market.PoolKey]recommend.BidResult{
		b.Pool:           {Pool: b.Pool, MaxPrice: 1.2, OnDemand: 3.06, CurrentPrice: 0.95, ProbStaysUnder: 0.95},
		p.Ranked[0].Pool: {Pool: p.Ranked[0].Pool, MaxPrice: 12.24, OnDemand: 12.24, CappedAtOnDemand: true},
	}
	res, err := launch.Fleet(launch.FleetInput{Workload: w, Placement: p, Bids: bids, Type: launch.FleetTypeInstant, Unit: launch.UnitInstances,
		Selection: launch.Selection{Region: "us-west-2"}, Subnets: map[string]string{"us-west-2b": "subnet-0abc"}, LaunchTemplateID: "lt-0123456789abcdef0"})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Request.LaunchTemplateConfigs[0].Overrides
	// Counting instances keeps only the pools whose instances carry as
	// many useful GPUs as the best pool's (4: p3.8xlarge).
	if len(o) != 1 || o[0].InstanceType != "p3.8xlarge" || o[0].WeightedCapacity != 1 || res.Request.TargetCapacitySpecification.TotalTargetCapacity != 1 {
		t.Fatalf("instance-unit request %+v", res.Request)
	}
	if o[0].MaxPrice != "" || !strings.Contains(res.Pools[0].MaxPriceReason, "default cap") {
		t.Errorf("capped-at-on-demand bid wrote a max price: %+v", res.Pools[0])
	}
	so := res.Request.SpotOptions
	if !so.SingleAvailabilityZone || so.MinTargetCapacity != 1 || so.MaintenanceStrategies != nil {
		t.Errorf("instant multi-node spot options %+v", so)
	}

	res, err = launch.Fleet(launch.FleetInput{Workload: w, Placement: p, Bids: bids, Subnets: map[string]string{"us-west-2b": "subnet-0abc"}})
	if err != nil {
		t.Fatal(err)
	}
	o = res.Request.LaunchTemplateConfigs[0].Overrides
	if o[1].MaxPrice != "1.20000" || o[1].SubnetID != "subnet-0abc" || o[1].AvailabilityZone != "" {
		t.Errorf("override of us-west-2b %+v", o[1])
	}
	if res.Request.LaunchTemplateConfigs[0].LaunchTemplateSpecification.LaunchTemplateName != launch.DefaultLaunchTemplate {
		t.Error("default launch template not named")
	}
}

func TestCapHelps(t *testing.T) {
	for _, tc := range []struct {
		b    recommend.BidResult
		want bool
	}{
		{recommend.BidResult{MaxPrice: 1.2, OnDemand: 3.06, CurrentPrice: 0.9}, true},
		{recommend.BidResult{MaxPrice: 3.06, OnDemand: 3.06, CappedAtOnDemand: true}, false},
		{recommend.BidResult{MaxPrice: 2.95, OnDemand: 3.06}, false},
		{recommend.BidResult{MaxPrice: 0.8, OnDemand: 3.06, CurrentPrice: 0.9}, false},
		{recommend.BidResult{MaxPrice: 1.2}, false},
	} {
		if got, why := launch.CapHelps(tc.b); got != tc.want || why == "" {
			t.Errorf("CapHelps(%+v) = %v (%s), want %v", tc.b, got, why, tc.want)
		}
	}
}

func TestFleetBadInput(t *testing.T) {
	w := workload()
	p := placement(t, w, candidates())
	gcpOnly := placement(t, w, candidates()[4:])
	for _, tc := range []struct {
		name  string
		in    launch.FleetInput
		param string
		is    error
	}{
		{"gcp only", launch.FleetInput{Workload: w, Placement: gcpOnly}, "cloud", launch.ErrUnsupportedCloud},
		{"nothing ranked", launch.FleetInput{Workload: w}, "workload", recommend.ErrNoFit},
		{"region without pools", launch.FleetInput{Workload: w, Placement: p, Selection: launch.Selection{Region: "eu-west-1"}}, "region", recommend.ErrNoFit},
		{"bad type", launch.FleetInput{Workload: w, Placement: p, Type: "spot"}, "type", recommend.ErrInvalidInput},
		{"bad unit", launch.FleetInput{Workload: w, Placement: p, Unit: "vcpu"}, "unit", recommend.ErrInvalidInput},
		{"too many pools", launch.FleetInput{Workload: w, Placement: p, Selection: launch.Selection{MaxPools: 51}}, "max_pools", recommend.ErrInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := launch.Fleet(tc.in)
			var pe *recommend.ParamError
			if !errors.As(err, &pe) || pe.Param != tc.param || !errors.Is(err, tc.is) || !errors.Is(err, recommend.ErrInvalidInput) {
				t.Fatalf("got %v, want a %q error wrapping %v", err, tc.param, tc.is)
			}
			if len(res.Request.LaunchTemplateConfigs) != 0 {
				t.Error("a request came with the error")
			}
		})
	}
}

// fleetServer is the EC2 emulator with the fixture's spot prices.
func fleetServer(t *testing.T) (*ec2emu.Server, string) {
	t.Helper()
	emu := ec2emu.New()
	for _, c := range candidates() {
		if c.Pool.Cloud == market.AWS {
			emu.AddSpotPrices(ec2emu.SpotPrice{AvailabilityZone: c.Pool.Zone, InstanceType: c.Pool.InstanceType, ProductDescription: c.Pool.Product,
				SpotPrice: strconv.FormatFloat(c.PriceMean, 'f', 4, 64), Timestamp: start})
		}
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

func fleetDoc(t *testing.T, typ string) []byte {
	t.Helper()
	w := workload()
	res, err := launch.Fleet(launch.FleetInput{Workload: w, Placement: placement(t, w, candidates()), Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(res.Request, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFleetAWSCLI hands the request to the AWS CLI exactly as a user
// would (aws ec2 create-fleet --cli-input-json file://...): the CLI's own
// parameter validation (botocore's, against the EC2 service model) must
// accept it, and the emulator must launch from the requested pools.
func TestFleetAWSCLI(t *testing.T) {
	cli, err := ec2emu.AWSCLI()
	if err != nil {
		t.Skipf("skipping the AWS CLI round trip: %v", err)
	}
	emu, url := fleetServer(t)
	home := t.TempDir()
	run := func(doc []byte) ([]byte, string, error) {
		f := filepath.Join(home, "fleet.json")
		if err := os.WriteFile(f, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, "ec2", "create-fleet", "--cli-input-json", "file://"+f,
			"--endpoint-url", url, "--region", "us-west-2", "--output", "json")
		cmd.Env = ec2emu.CLIEnv(home, "us-west-2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return out, stderr.String(), err
	}

	for _, typ := range []string{launch.FleetTypeInstant, launch.FleetTypeMaintain} {
		t.Run(typ, func(t *testing.T) {
			out, stderr, err := run(fleetDoc(t, typ))
			if err != nil {
				t.Fatalf("aws ec2 create-fleet: %v\n%s", err, stderr)
			}
			var resp struct {
				FleetId   string
				Instances []struct {
					LaunchTemplateAndOverrides struct {
						Overrides struct{ InstanceType, AvailabilityZone string }
					}
					InstanceIds []string
					Lifecycle   string
				}
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("CLI output: %v\n%s", err, out)
			}
			if !strings.HasPrefix(resp.FleetId, "fleet-") {
				t.Errorf("fleet id %q", resp.FleetId)
			}
			fl := emu.Fleets()
			last := fl[len(fl)-1]
			if last.AllocationStrategy != launch.StrategyCapacityPrioritized || last.TotalTarget != 4 || len(last.Overrides) != 2 {
				t.Errorf("emulator read %+v", last)
			}
			if typ == launch.FleetTypeMaintain {
				if len(resp.Instances) != 0 {
					t.Errorf("maintain fleet listed instances")
				}
				return
			}
			// Prioritized: the first override, the 4-GPU p3.8xlarge in 2c,
			// covers the 4 GPUs with one instance.
			if len(resp.Instances) != 1 || resp.Instances[0].LaunchTemplateAndOverrides.Overrides.AvailabilityZone != "us-west-2c" ||
				len(resp.Instances[0].InstanceIds) != 1 || resp.Instances[0].Lifecycle != "spot" {
				t.Errorf("instances %+v", resp.Instances)
			}
		})
	}

	t.Run("the CLI's validation rejects a malformed request", func(t *testing.T) {
		doc := bytes.Replace(fleetDoc(t, launch.FleetTypeInstant), []byte(`"WeightedCapacity": 4`), []byte(`"WeightedCapacity": "four"`), 1)
		before := emu.Calls(ec2emu.ActionCreateFleet)
		_, stderr, err := run(doc)
		if err == nil || !strings.Contains(stderr, "Parameter validation failed") {
			t.Fatalf("malformed request: err %v, stderr %s", err, stderr)
		}
		if emu.Calls(ec2emu.ActionCreateFleet) != before {
			t.Error("the CLI sent a request it should have rejected")
		}
	})
}

// TestFleetSDK reads the document into the Go SDK's own CreateFleetInput
// (unknown members are errors) and sends it.
func TestFleetSDK(t *testing.T) {
	_, url := fleetServer(t)
	dec := json.NewDecoder(bytes.NewReader(fleetDoc(t, launch.FleetTypeInstant)))
	dec.DisallowUnknownFields()
	var in ec2.CreateFleetInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("document does not fit ec2.CreateFleetInput: %v", err)
	}
	c := ec2.New(ec2.Options{Region: "us-west-2", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	out, err := c.CreateFleet(context.Background(), &in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 1 || string(out.Instances[0].InstanceType) != "p3.8xlarge" || len(out.Errors) != 0 {
		t.Errorf("SDK answer: %d instance sets, %d errors", len(out.Instances), len(out.Errors))
	}
}
