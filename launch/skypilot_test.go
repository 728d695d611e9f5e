package launch_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spotcast/spotcast/launch"
	"github.com/spotcast/spotcast/recommend"
)

func TestSkyPilotResources(t *testing.T) {
	schema := skyPilotSchema(t)
	w := workload()
	res, err := launch.SkyPilot(launch.SkyPilotInput{Workload: w, Placement: placement(t, w, candidates())})
	if err != nil {
		t.Fatal(err)
	}
	y, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	// Read back what a user pastes into the task YAML and validate its
	// resources section.
	var task map[string]any
	if err := yaml.Unmarshal(y, &task); err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	resources := jsonValue(t, task["resources"])
	if err := schema.Validate(resources); err != nil {
		t.Fatalf("resources do not validate: %v\n%s", err, y)
	}
	// Across clouds and regions (SkyPilot fails over between them), best
	// expected cost first; us-west-2a is beyond the premium.
	var got []string
	for _, c := range res.Task.Resources.Ordered {
		got = append(got, c.Cloud+"/"+c.Zone+"/"+c.InstanceType)
	}
	// Four 1-GPU nodes: the best pool's p3.8xlarge carries all four, so
	// num_nodes is 1 and the 1-GPU candidates (which would need 4) go.
	if want := []string{"aws/us-west-2c/p3.8xlarge"}; !slices.Equal(got, want) || !res.Task.Resources.UseSpot || res.Task.NumNodes != 1 {
		t.Errorf("ordered %v, num_nodes %d; want %v, 1", got, res.Task.NumNodes, want)
	}
	if !strings.Contains(string(y), "USD per useful GPU-hour") {
		t.Errorf("no expected cost comments:\n%s", y)
	}
	// A one-node job keeps every cloud and region, best first.
	w1 := workload()
	w1.Nodes = 1
	res1, err := launch.SkyPilot(launch.SkyPilotInput{Workload: w1, Placement: placement(t, w1, candidates())})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range res1.Task.Resources.Ordered {
		got = append(got, c.Cloud+"/"+c.Zone+"/"+c.InstanceType)
	}
	// (one node on a 4-GPU p3.8xlarge pays for three idle GPUs: beyond the premium)
	if want := []string{"aws/us-west-2b/p3.2xlarge", "aws/us-east-1a/p3.2xlarge", "aws/us-west-2a/p3.2xlarge", "gcp/us-central1-a/a2-highgpu-1g"}; !slices.Equal(got, want) || res1.Task.NumNodes != 0 {
		t.Errorf("one node: ordered %v, num_nodes %d", got, res1.Task.NumNodes)
	}
	if err := schema.Validate(jsonValue(t, res1.Task.Resources)); err != nil {
		t.Errorf("one-node resources: %v", err)
	}

	// The schema bites.
	for name, edit := range map[string]func(m map[string]any){
		"misspelt field": func(m map[string]any) { m["ordered"].([]any)[0].(map[string]any)["instance-type"] = "p3.2xlarge" },
		"unknown cloud":  func(m map[string]any) { m["ordered"].([]any)[0].(map[string]any)["cloud"] = "awz" },
		"use_spot text":  func(m map[string]any) { m["use_spot"] = "yes" },
	} {
		r := jsonValue(t, task["resources"]).(map[string]any)
		edit(r)
		if schema.Validate(r) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSkyPilotBadInput(t *testing.T) {
	w := workload()
	p := placement(t, w, candidates())
	_, err := launch.SkyPilot(launch.SkyPilotInput{Workload: w, Placement: p, Clouds: []string{"lambda"}})
	var pe *recommend.ParamError
	if !errors.As(err, &pe) || pe.Param != "cloud" || !errors.Is(err, launch.ErrUnsupportedCloud) {
		t.Errorf("unknown cloud: %v", err)
	}
	res, err := launch.SkyPilot(launch.SkyPilotInput{Workload: w, Placement: p, Clouds: []string{"azure"}})
	if !errors.As(err, &pe) || pe.Param != "cloud" || len(res.Task.Resources.Ordered) != 0 {
		t.Errorf("no azure pool: %v", err)
	}
}
