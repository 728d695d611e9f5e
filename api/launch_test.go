package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/spotcast/spotcast/launch/launchcheck"
)

// TestLaunchRoutesValidate: each launch document the HTTP API serves
// passes its real schema: the fleet request reads into the AWS SDK's own
// CreateFleetInput with no unknown member, the Karpenter YAML passes
// Karpenter's CRDs, the SkyPilot YAML SkyPilot's resources schema.
func TestLaunchRoutesValidate(t *testing.T) {
	srv := httptest.NewServer(NewHandler(newTestService(t, sharedSimStore(t)), HTTPOptions{}))
	defer srv.Close()

	code, fl := get(t, srv, "/v1/recommend/fleet?gpu_model=V100&nodes=2&run_length=24h")
	if code != http.StatusOK {
		t.Fatalf("fleet: %d %v", code, fl)
	}
	b, _ := json.Marshal(fl["request"])
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in ec2.CreateFleetInput
	if err := dec.Decode(&in); err != nil || len(in.LaunchTemplateConfigs) != 1 {
		t.Errorf("fleet request is not a CreateFleet request: %v\n%s", err, b)
	}
	m, _ := fl["multi_node"].(map[string]any)
	best, _ := m["best"].(map[string]any)
	if best["prob_single_node_survives"] == nil || best["prob_all_nodes_survive"] == nil || fl["simulated"] != true {
		t.Errorf("fleet for 2 nodes lacks the single-node and N-node figures or the simulated flag: %v", fl["multi_node"])
	}

	code, kp := get(t, srv, "/v1/recommend/karpenter?gpu_model=V100")
	if code != http.StatusOK {
		t.Fatalf("karpenter: %d %v", code, kp)
	}
	k, err := launchcheck.NewKarpenter()
	if err != nil {
		t.Fatal(err)
	}
	y, _ := kp["yaml"].(string)
	docs, errs, err := k.ValidateYAML([]byte(y))
	if err != nil || len(errs) > 0 || len(docs) == 0 {
		t.Errorf("karpenter manifests: %v %s\n%s", err, strings.Join(errs, "\n"), y)
	}

	code, sp := get(t, srv, "/v1/recommend/skypilot?gpu_model=V100&clouds=aws")
	if code != http.StatusOK {
		t.Fatalf("skypilot: %d %v", code, sp)
	}
	y, _ = sp["yaml"].(string)
	if err := launchcheck.ValidateSkyPilotYAML([]byte(y)); err != nil || !strings.Contains(y, "use_spot: true") {
		t.Errorf("skypilot resources: %v\n%s", err, y)
	}
}

// TestLaunchRoutesBounded: the parameters that buy CPU are capped, each
// over-large value a 400 naming it before any work.
func TestLaunchRoutesBounded(t *testing.T) {
	srv := httptest.NewServer(NewHandler(newTestService(t, sharedSimStore(t)), HTTPOptions{}))
	defer srv.Close()
	for path, param := range map[string]string{
		"/v1/recommend/fleet?gpu_model=V100&nodes=20000":                                "nodes",
		"/v1/recommend/karpenter?gpu_model=V100&max_candidates=100000":                  "max_candidates",
		"/v1/recommend/fleet?gpu_model=V100&max_pools=500":                              "max_pools",
		"/v1/recommend/plan?gpu_model=V100&deadline=36h&runs=1000000":                   "runs",
		"/v1/recommend/plan?gpu_model=V100&deadline=80d&run_length=70d&runs=20000":      "runs",
		"/v1/recommend/plan?gpu_model=V100&deadline=36h&max_pools=100":                  "max_pools",
		"/v1/recommend/plan?gpu_model=V100&deadline=36h&step=1s":                        "step",
		"/v1/recommend/skypilot?gpu_model=V100&clouds=aws,gcp,azure,oracle":             "clouds",
		"/v1/recommend/plan?gpu_model=V100&deadline=36h&common_share=2":                 "common_share",
		"/v1/recommend/fleet?gpu_model=V100&subnets=us-east-1a":                         "subnets",
		"/v1/recommend/plan?gpu_model=V100&deadline=36h&seed=-1":                        "seed",
		"/v1/recommend/karpenter?gpu_model=V100&cloud=azure":                            "cloud",
		"/v1/recommend/plan?gpu_model=V100&run_length=24h&restart_cost=10m&deadline=1d": "deadline",
	} {
		code, body := get(t, srv, path)
		if code != http.StatusBadRequest || errParam(body) != param {
			t.Errorf("%s: %d %v, want 400 naming %s", path, code, body["error"], param)
		}
	}
}
