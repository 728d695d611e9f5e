package files

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func TestSkypilotInstanceType(t *testing.T) {
	for _, c := range []struct{ cloud, tag, want string }{
		{"aws", "v100_1", "p3.2xlarge"},
		{"aws", "v100_8", "p3.16xlarge"},
		{"aws", "v100_32gb_8", "p3dn.24xlarge"},
		{"aws", "a100_40gb_8", "p4d.24xlarge"},
		{"aws", "a100_80gb_8", "p4de.24xlarge"},
		{"aws", "A100-80GB_8", "p4de.24xlarge"},
		{"aws", "k80_1", "p2.xlarge"},
		{"aws", "k80_8", "p2.8xlarge"},
		{"aws", "t4_1", "g4dn.xlarge"},
		{"aws", "t4_4", "g4dn.12xlarge"},
		{"aws", "a10g_1", "g5.xlarge"},
		{"aws", "h100_8", "p5.48xlarge"},
		{"aws", "l4_1", "g6.xlarge"},
		{"aws", "intel_64", "r5.16xlarge"},
		{"gcp", "a100_40gb_8", "a2-highgpu-8g"},
		{"gcp", "a100_1", "a2-highgpu-1g"},
		{"gcp", "a100_80gb_4", "a2-ultragpu-4g"},
		{"gcp", "h100_8", "a3-highgpu-8g"},
		{"gcp", "l4_2", "g2-standard-24"},
		{"gcp", "c3-88", "c3-highcpu-88"},
	} {
		got, err := SkypilotInstanceType(c.cloud, c.tag)
		if err != nil || got != c.want {
			t.Errorf("SkypilotInstanceType(%s, %s) = %q, %v; want %q", c.cloud, c.tag, got, err, c.want)
		}
	}
	for _, c := range []struct{ cloud, tag, want string }{
		{"gcp", "v100_1", "attach to N1 machines"},
		{"aws", "a100_40gb_1", "no AWS instance type has 1 x A100 40GB"},
		{"aws", "bogus", "expected <gpu>[_<memory>gb]_<count>"},
		{"azure", "v100_1", "expected aws or gcp"},
	} {
		if _, err := SkypilotInstanceType(c.cloud, c.tag); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SkypilotInstanceType(%s, %s): error %v, want one saying %q", c.cloud, c.tag, err, c.want)
		}
	}
}

// A trace kept anywhere: what its path cannot say comes from options,
// and a missing piece is named with the flag that gives it.
func TestSkypilotTraceAnywhere(t *testing.T) {
	const doc = `{"metadata": {"gap_seconds": 300}, "data": [4, 4, 2, 2, 0, 4]}`
	start := time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	parse := func(name string, o Options) (*collect, Result, error) {
		c := &collect{}
		o.Format, o.Now = FormatSkypilotTrace, clock
		res, err := Parse(context.Background(), strings.NewReader(doc), name, c, o)
		return c, res, err
	}
	c, res, err := parse("/data/fleet/trace.json", Options{TraceStart: start,
		Trace: TraceInfo{Cloud: "aws", Zone: "us-east-2a", InstanceType: "p3.8xlarge"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 5 {
		t.Fatalf("events = %+v", c.Events)
	}
	first, lost := c.Events[0], c.Events[1]
	if first.Kind != market.EventObservationStart || !first.Time.Equal(start) || first.Zone != "us-east-2a" ||
		first.Region != "us-east-2" || first.InstanceType != "p3.8xlarge" || first.Cloud != "aws" {
		t.Errorf("first event %+v", first)
	}
	if lost.Kind != market.EventPreempted || lost.Count != 2 || !lost.Time.Equal(start.Add(10*time.Minute)) {
		t.Errorf("second event %+v", lost)
	}
	if !strings.Contains(strings.Join(res.Info, "; "), "read as a preemption trace") {
		t.Errorf("notes %v: want the assumed kind said", res.Info)
	}

	// The accelerator in the file name gives the type.
	c, _, err = parse("x/us-east-1c_a100_40gb_8.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws"}})
	if err != nil || c.Events[0].InstanceType != "p4d.24xlarge" || c.Events[0].Zone != "us-east-1c" {
		t.Errorf("accelerator from the name: %v %+v", err, c.Events)
	}
	// Availability, by option.
	c, _, err = parse("x/us-east-1c_v100_1.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws", Kind: "availability"}})
	if err != nil || c.Events[1].Kind != market.EventCapacity {
		t.Errorf("availability by option: %v %+v", err, c.Events)
	}

	for _, b := range []struct {
		name string
		o    Options
		want string
	}{
		{"trace.json", Options{TraceStart: start, Trace: TraceInfo{Zone: "us-east-2a", InstanceType: "p3.2xlarge"}}, "--cloud"},
		{"trace.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws", InstanceType: "p3.2xlarge"}}, "--zone"},
		{"trace.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws", Zone: "us-east-2a"}}, "--instance-type"},
		{"trace.json", Options{Trace: TraceInfo{Cloud: "aws", Zone: "us-east-2a", InstanceType: "p3.2xlarge"}}, "--start"},
		{"trace.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws", Zone: "mars-1a", InstanceType: "p3.2xlarge"}}, "not in a known aws region"},
		{"trace.json", Options{TraceStart: start, Trace: TraceInfo{Cloud: "aws", Zone: "us-east-2a", InstanceType: "p3.2xlarge", Kind: "spot"}}, "expected availability or preemption"},
	} {
		if _, _, err := parse(b.name, b.o); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want one naming %q", b.o, err, b.want)
		}
	}
}
