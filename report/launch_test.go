package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/spotcast/spotcast/launch/launchcheck"
	"github.com/spotcast/spotcast/market"
)

// TestWhatToLaunch: every example workload gets a fleet request the AWS
// SDK's CreateFleetInput reads with no unknown member and NodePools
// Karpenter's CRDs accept, and the HTML report shows both.
func TestWhatToLaunch(t *testing.T) {
	r, _ := simReport(t)
	sec := r.Launch
	if sec.Title != "What to launch" || sec.Source != market.SourceSimulated || len(sec.Workloads) != len(ExampleWorkloads()) {
		t.Fatalf("section %q, source %q, %d workloads", sec.Title, sec.Source, len(sec.Workloads))
	}
	k, err := launchcheck.NewKarpenter()
	if err != nil {
		t.Fatal(err)
	}
	page, err := HTMLBytes(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sec.Workloads {
		if it.Error != "" {
			t.Fatalf("%s: %s", it.Name, it.Error)
		}
		dec := json.NewDecoder(strings.NewReader(it.FleetRequest))
		dec.DisallowUnknownFields()
		var in ec2.CreateFleetInput
		if err := dec.Decode(&in); err != nil || len(in.LaunchTemplateConfigs) != 1 || len(in.LaunchTemplateConfigs[0].Overrides) != it.Pools {
			t.Errorf("%s: fleet request: %v\n%s", it.Name, err, it.FleetRequest)
		}
		docs, errs, err := k.ValidateYAML([]byte(it.Karpenter))
		if err != nil || len(errs) > 0 || len(docs) == 0 {
			t.Errorf("%s: manifests: %v %v", it.Name, err, errs)
		}
		name, _ := docs[0]["metadata"].(map[string]any)["name"].(string)
		if !strings.Contains(string(page), "name: "+name) || !strings.Contains(string(page), "kind: NodeOverlay") {
			t.Errorf("%s: the HTML report lacks the manifests", it.Name)
		}
	}
	if !strings.Contains(string(page), "<h2>What to launch</h2>") {
		t.Error("the HTML report lacks the section")
	}
}
