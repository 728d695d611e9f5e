package api

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/spotcast/spotcast/launch/launchcheck"
)

// TestGRPCurlLaunch calls the four launch RPCs through grpcurl (an outside
// client reading the schema by reflection): the fleet request reads into
// the SDK's CreateFleetInput, the Karpenter YAML passes the CRDs, the
// SkyPilot YAML SkyPilot's schema, the plan has its figures, and a bad
// request is InvalidArgument naming the parameter.
func TestGRPCurlLaunch(t *testing.T) {
	bin, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Skip("grpcurl not installed (go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest)")
	}
	_, addr := startGRPC(t, newTestService(t, sharedSimStore(t)), GRPCOptions{})
	call := func(method, body string) ([]byte, error) {
		return exec.Command(bin, "-plaintext", "-d", body, addr, "spotcast.v1.Spotcast/"+method).CombinedOutput()
	}
	work := `"launch": {"gpu_model": "V100", "run_length": "86400s", "nodes": 2}`

	out, err := call("RecommendFleet", `{`+work+`, "fleet_type": "instant"}`)
	if err != nil {
		t.Fatalf("RecommendFleet: %v\n%s", err, out)
	}
	var fl struct {
		RequestJSON string `json:"requestJson"`
		MultiNode   struct {
			Best struct {
				Single float64 `json:"probSingleNodeSurvives"`
				All    float64 `json:"probAllNodesSurvive"`
			} `json:"best"`
		} `json:"multiNode"`
		Provenance struct{ Simulated bool } `json:"provenance"`
	}
	if err := json.Unmarshal(out, &fl); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(fl.RequestJSON))
	dec.DisallowUnknownFields()
	var in ec2.CreateFleetInput
	if err := dec.Decode(&in); err != nil || in.Type != "instant" {
		t.Errorf("request_json is not a CreateFleet request: %v\n%s", err, fl.RequestJSON)
	}
	if !fl.Provenance.Simulated || !(fl.MultiNode.Best.All > 0 && fl.MultiNode.Best.All <= fl.MultiNode.Best.Single) {
		t.Errorf("fleet provenance or multi-node figures: %s", out)
	}

	out, err = call("RecommendKarpenter", `{`+work+`}`)
	if err != nil {
		t.Fatalf("RecommendKarpenter: %v\n%s", err, out)
	}
	var kp struct{ Yaml string }
	if err := json.Unmarshal(out, &kp); err != nil {
		t.Fatal(err)
	}
	k, err := launchcheck.NewKarpenter()
	if err != nil {
		t.Fatal(err)
	}
	if docs, errs, err := k.ValidateYAML([]byte(kp.Yaml)); err != nil || len(errs) > 0 || len(docs) == 0 {
		t.Errorf("karpenter: %v %v\n%s", err, errs, kp.Yaml)
	}

	out, err = call("RecommendSkyPilot", `{`+work+`, "clouds": ["aws"]}`)
	if err != nil {
		t.Fatalf("RecommendSkyPilot: %v\n%s", err, out)
	}
	var sp struct{ Yaml string }
	if err := json.Unmarshal(out, &sp); err != nil {
		t.Fatal(err)
	}
	if err := launchcheck.ValidateSkyPilotYAML([]byte(sp.Yaml)); err != nil {
		t.Errorf("skypilot: %v\n%s", err, sp.Yaml)
	}

	out, err = call("RecommendPlan", `{`+work+`, "deadline": "129600s", "runs": 200}`)
	if err != nil {
		t.Fatalf("RecommendPlan: %v\n%s", err, out)
	}
	var pl struct {
		Expected float64 `json:"expectedCostUsd"`
		OnDemand float64 `json:"onDemandCostUsd"`
		Prob     float64 `json:"probMeetsDeadline"`
		Schedule []any   `json:"schedule"`
	}
	if err := json.Unmarshal(out, &pl); err != nil {
		t.Fatal(err)
	}
	if !(pl.Expected > 0 && pl.Expected < pl.OnDemand) || pl.Prob < 0.99 || len(pl.Schedule) == 0 {
		t.Errorf("plan: %s", bytes.TrimSpace(out)[:min(len(out), 600)])
	}

	out, err = call("RecommendPlan", `{`+work+`, "deadline": "72000s"}`)
	if err == nil || !strings.Contains(string(out), "InvalidArgument") || !strings.Contains(string(out), "minimum feasible deadline") {
		t.Errorf("infeasible deadline: %v\n%s", err, out)
	}
	out, err = call("RecommendKarpenter", `{"launch": {"gpu_model": "V100", "cloud": "gcp"}}`)
	if err == nil || !strings.Contains(string(out), "InvalidArgument") || !strings.Contains(string(out), "cloud:") {
		t.Errorf("karpenter on gcp: %v\n%s", err, out)
	}
}
