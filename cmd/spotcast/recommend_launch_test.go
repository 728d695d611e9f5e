package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/spotcast/spotcast/ingest/awsapi/ec2emu"
	"github.com/spotcast/spotcast/launch/launchcheck"
)

// launchDB is a simulated store for the launch output tests.
func launchDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "launch.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "14"); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRecommendFleetContract: `recommend fleet` prints the CreateFleet
// request alone on stdout; the Go SDK's own CreateFleetInput reads it with
// no unknown member, and the Debian AWS CLI sends it (its parameter
// validation passing) to the EC2 emulator, which launches from the
// requested pools. --json wraps it with the explanation.
func TestRecommendFleetContract(t *testing.T) {
	db := launchDB(t)
	out, stderr, err := spotcast(t, "", "recommend", "fleet", "--db", db, "--gpu-model", "V100", "--run", "24h")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var in ec2.CreateFleetInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("stdout is not a CreateFleet request: %v\n%s", err, out)
	}
	if len(in.LaunchTemplateConfigs) != 1 || len(in.LaunchTemplateConfigs[0].Overrides) == 0 || in.Type != "maintain" {
		t.Errorf("request %s", out)
	}
	simTag := false
	for _, ts := range in.TagSpecifications {
		for _, tg := range ts.Tags {
			simTag = simTag || (ts.ResourceType == "fleet" && *tg.Key == "spotcast:simulated" && *tg.Value == "true")
		}
	}
	if !simTag {
		t.Errorf("the fleet request does not tag the fleet as resting on simulated data: %s", out)
	}
	if !strings.Contains(stderr, "SIMULATED") {
		t.Errorf("stderr does not say the data is simulated: %s", stderr)
	}

	js, _, err := spotcast(t, "", "recommend", "fleet", "--db", db, "--gpu-model", "V100", "--run", "24h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var wrapped struct {
		Request   json.RawMessage `json:"request"`
		Strategy  string          `json:"allocation_strategy"`
		Reason    string          `json:"strategy_reason"`
		Simulated bool            `json:"simulated"`
		Explain   struct {
			Formula string `json:"formula"`
		} `json:"explain"`
	}
	if err := json.Unmarshal([]byte(js), &wrapped); err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(wrapped.Request, &a)
	json.Unmarshal([]byte(out), &b)
	if !jsonEqual(a, b) || wrapped.Reason == "" || wrapped.Explain.Formula == "" || !wrapped.Simulated {
		t.Errorf("--json does not wrap the same request with its explanation:\n%.1500s", js)
	}

	cli, err := ec2emu.AWSCLI()
	if err != nil {
		t.Skipf("skipping the AWS CLI round trip: %v", err)
	}
	inst, _, err := spotcast(t, "", "recommend", "fleet", "--db", db, "--gpu-model", "V100", "--run", "24h", "--gpus-per-node", "4", "--fleet-type", "instant")
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		LaunchTemplateConfigs []struct {
			Overrides []struct {
				InstanceType, AvailabilityZone string
				WeightedCapacity               float64
			}
		}
		TargetCapacitySpecification struct{ TotalTargetCapacity int }
	}
	if err := json.Unmarshal([]byte(inst), &req); err != nil {
		t.Fatal(err)
	}
	region := req.LaunchTemplateConfigs[0].Overrides[0].AvailabilityZone
	region = region[:len(region)-1]
	emu := ec2emu.New()
	srv := httptest.NewServer(emu)
	defer srv.Close()
	home := t.TempDir()
	f := filepath.Join(home, "fleet.json")
	if err := os.WriteFile(f, []byte(inst), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "ec2", "create-fleet", "--cli-input-json", "file://"+f, "--endpoint-url", srv.URL, "--region", region, "--output", "json")
	cmd.Env = ec2emu.CLIEnv(home, region)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws ec2 create-fleet --cli-input-json file://fleet.json: %v\n%s", err, errb.String())
	}
	var resp struct {
		FleetId   string
		Instances []struct {
			LaunchTemplateAndOverrides struct {
				Overrides struct{ InstanceType, AvailabilityZone string }
			}
			InstanceIds []string
		}
	}
	if err := json.Unmarshal(got, &resp); err != nil {
		t.Fatalf("CLI output: %v\n%s", err, got)
	}
	asked := map[string]float64{}
	for _, o := range req.LaunchTemplateConfigs[0].Overrides {
		asked[o.AvailabilityZone+"/"+o.InstanceType] = o.WeightedCapacity
	}
	capacity := 0.0
	for _, s := range resp.Instances {
		o := s.LaunchTemplateAndOverrides.Overrides
		w, ok := asked[o.AvailabilityZone+"/"+o.InstanceType]
		if !ok {
			t.Errorf("instance from %s/%s, a pool the request did not name", o.AvailabilityZone, o.InstanceType)
		}
		capacity += w * float64(len(s.InstanceIds))
	}
	if !strings.HasPrefix(resp.FleetId, "fleet-") || capacity < float64(req.TargetCapacitySpecification.TotalTargetCapacity) || capacity == 0 {
		t.Errorf("fleet %s launched %.0f of %d GPUs: %s", resp.FleetId, capacity, req.TargetCapacitySpecification.TotalTargetCapacity, got)
	}
	if fl := emu.Fleets(); len(fl) != 1 || fl[0].TotalTarget != 4 || len(fl[0].Overrides) != len(asked) {
		t.Errorf("emulator read %+v", fl)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestRecommendKarpenterSkyPilotPlan: karpenter prints NodePools and
// NodeOverlays that Karpenter's CRDs accept; skypilot prints a resources
// block SkyPilot's schema accepts; plan --json carries the contract's
// fields; bad input names its flag or parameter.
func TestRecommendKarpenterSkyPilotPlan(t *testing.T) {
	db := launchDB(t)
	work := []string{"--db", db, "--gpu-model", "V100", "--run", "24h"}
	y, stderr, err := spotcast(t, "", append([]string{"recommend", "karpenter"}, work...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	k, err := launchcheck.NewKarpenter()
	if err != nil {
		t.Fatal(err)
	}
	docs, errs, err := k.ValidateYAML([]byte(y))
	if err != nil || len(errs) > 0 {
		t.Fatalf("manifests invalid: %v %s\n%s", err, strings.Join(errs, "\n"), y)
	}
	kinds := map[any]int{}
	for _, d := range docs {
		kinds[d["kind"]]++
	}
	if kinds["NodePool"] == 0 || kinds["NodeOverlay"] == 0 {
		t.Errorf("kinds %v", kinds)
	}

	sk, _, err := spotcast(t, "", append([]string{"recommend", "skypilot"}, work...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := launchcheck.ValidateSkyPilotYAML([]byte(sk)); err != nil || !strings.Contains(sk, "use_spot: true") {
		t.Errorf("skypilot resources invalid: %v\n%s", err, sk)
	}

	pl, _, err := spotcast(t, "", append([]string{"recommend", "plan", "--deadline", "36h", "--json", "--runs", "300"}, work...)...)
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		Expected  *float64          `json:"expected_cost_usd"`
		OnDemand  *float64          `json:"on_demand_cost_usd"`
		Prob      *float64          `json:"prob_meets_deadline"`
		Schedule  []json.RawMessage `json:"schedule"`
		Simulated bool              `json:"simulated"`
	}
	if err := json.Unmarshal([]byte(pl), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Expected == nil || plan.OnDemand == nil || plan.Prob == nil || len(plan.Schedule) == 0 || !plan.Simulated {
		t.Fatalf("plan lacks the contract's fields:\n%.1500s", pl)
	}
	if *plan.Prob < 0.99 || !(*plan.Expected < *plan.OnDemand) {
		t.Errorf("plan: meets the deadline with p=%v, cost %v against %v on demand", *plan.Prob, *plan.Expected, *plan.OnDemand)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"recommend", "plan", "--deadline", "20h"}, "minimum feasible deadline is 24h10m0s"},
		{[]string{"recommend", "plan"}, "--deadline is required"},
		{[]string{"recommend", "karpenter", "--cloud", "gcp"}, "cloud: Karpenter launches only on AWS"},
		{[]string{"recommend", "fleet", "--nodes", "5000"}, "nodes:"},
		{[]string{"recommend", "fleet", "--fleet-type", "spot-block"}, "type:"},
		{[]string{"recommend", "skypilot", "--clouds", "oracle"}, "clouds:"},
	} {
		args := append(append([]string{}, c.args...), work...)
		out, _, err := spotcast(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("spotcast %v: err %v, stdout %q; want an error containing %q and nothing on stdout", c.args, err, out, c.want)
		}
	}
	if _, _, err := spotcast(t, "", "recommend", "fleet", "--db", db, "--gpu-model", "Z9000"); err == nil || !strings.Contains(err.Error(), "gpu_model") {
		t.Errorf("a workload nothing fits: %v", err)
	}
}
