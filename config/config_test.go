package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"24h", 24 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"xd", 0, true},
		{"1.5d", 0, true},
		{"", 0, true},
		{"10", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
db: /var/lib/spotcast/store.duckdb
aws:
  regions: [us-east-1, us-west-2]
  backfill: 3d
  placement_requests:
    - name: a100x8
      instance_types: [p4d.24xlarge]
      target_capacity: 2
watch:
  - zone: us-east-1a
    instance_type: p3.2xlarge
    product: Linux/UNIX
serve:
  ingest_every: 15m
`)
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "/var/lib/spotcast/store.duckdb" || len(c.AWS.Regions) != 2 || time.Duration(c.AWS.Backfill) != 72*time.Hour {
		t.Errorf("loaded %+v", c)
	}
	if time.Duration(c.Serve.IngestEvery) != 15*time.Minute || c.Serve.HTTPAddr != "127.0.0.1:8080" {
		t.Errorf("serve = %+v; want overridden ingest_every and default http_addr", c.Serve)
	}
	k, err := c.Watch[0].Key()
	if err != nil || k.Region != "us-east-1" || k.Cloud != "aws" {
		t.Errorf("watch key = %+v, %v", k, err)
	}

	bad := []struct{ name, body, want string }{
		{"typo.yaml", "aws:\n  regoins: [us-east-1]\n", "regoins"},
		{"dur.yaml", "aws:\n  backfill: soon\n", "line 2"},
		{"unit.yaml", "aws:\n  placement_requests:\n    - instance_types: [p3.2xlarge]\n      target_capacity: 1\n      capacity_unit: gpus\n", "capacity_unit"},
		{"watch.yaml", "watch:\n  - instance_type: p3.2xlarge\n", "watch[0]"},
	}
	for _, b := range bad {
		_, err := Load(write(b.name, b.body))
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.Contains(err.Error(), b.name) {
			t.Errorf("Load(%s) error = %v; want it to name %q and the file", b.name, err, b.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load(missing) succeeded")
	}
}

func TestLoadReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Load(write("report.yaml", `
report:
  schedule: "0 6 * * *"
  out_dir: /srv/reports
  formats: [html, json]
  keep_last: 7
  keep_for: 30d
  workloads:
    - name: llm-finetune
      gpu_model: A100
      gpus_per_node: 8
      nodes: 2
      run_length: 2d
      checkpoint_cost: 5m
      confidence: 0.9
      utilisation: 0.5
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Report
	if r.Schedule != "0 6 * * *" || r.OutDir != "/srv/reports" || len(r.Formats) != 2 || r.KeepLast != 7 ||
		time.Duration(r.KeepFor) != 30*24*time.Hour || len(r.Workloads) != 1 {
		t.Fatalf("report = %+v", r)
	}
	w := r.Workloads[0]
	if w.GPUModel != "A100" || w.GPUsPerNode != 8 || w.Nodes != 2 || time.Duration(w.RunLength) != 48*time.Hour ||
		time.Duration(w.CheckpointCost) != 5*time.Minute || w.Confidence != 0.9 || w.Utilisation != 0.5 {
		t.Errorf("workload = %+v", w)
	}
	if d := Default().Report; d.Schedule != "" || d.KeepLast != 30 || len(d.Formats) != 3 {
		t.Errorf("default report = %+v; want no schedule, keep_last 30, all formats", d)
	}

	bad := []struct{ name, body, want string }{
		{"cron.yaml", "report:\n  schedule: \"0 25 * * *\"\n", `report.schedule: cron "0 25 * * *": hour field "25"`},
		{"cron5.yaml", "report:\n  schedule: \"0 6 * *\"\n", "report.schedule"},
		{"format.yaml", "report:\n  formats: [html, pdf]\n", `report.formats[1]: "pdf"`},
		{"keep.yaml", "report:\n  keep_last: -1\n", "report.keep_last"},
		{"keepfor.yaml", "report:\n  keep_for: -2h\n", "report.keep_for"},
		{"noname.yaml", "report:\n  workloads:\n    - gpu_model: A100\n", "report.workloads[0].name"},
		{"nogpu.yaml", "report:\n  workloads:\n    - name: x\n", "report.workloads[0].gpu_model"},
		{"conf.yaml", "report:\n  workloads:\n    - name: x\n      gpu_model: A100\n      confidence: 1.5\n", "report.workloads[0].confidence"},
		{"util.yaml", "report:\n  workloads:\n    - name: x\n      gpu_model: A100\n      utilisation: 2\n", "report.workloads[0].utilisation"},
		{"typo.yaml", "report:\n  shedule: daily\n", "shedule"},
	}
	for _, b := range bad {
		_, err := Load(write(b.name, b.body))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Load(%s) error = %v; want it to contain %q", b.name, err, b.want)
		}
	}
}

// TestServeLimitsAndStorage: the serve guards, limits and the DuckDB
// bounds read from the file; a negative limit or a memory limit DuckDB
// would not take is an error naming the key.
func TestServeLimitsAndStorage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	write := func(body string) {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`serve:
  insecure_no_token: true
  allowed_hosts: [spotcast.internal]
  auth_reads: true
  auth_metrics: true
  limits: {max_concurrent: 8, max_queue: 100, max_wait: 2s, max_regions: 40, max_k: 10, max_nodes: 64}
storage: {memory_limit: 4GB, threads: 2}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{MaxConcurrent: 8, MaxQueue: 100, MaxWait: Duration(2 * time.Second), MaxRegions: 40, MaxK: 10, MaxNodes: 64}
	if s := c.Serve; !s.InsecureNoToken || !s.AuthReads || !s.AuthMetrics || len(s.AllowedHosts) != 1 || s.Limits != want ||
		c.Storage != (Storage{MemoryLimit: "4GB", Threads: 2}) {
		t.Errorf("read %+v, storage %+v", c.Serve, c.Storage)
	}
	for body, key := range map[string]string{
		"serve: {limits: {max_k: -1}}\n":    "serve.limits.max_k",
		"storage: {memory_limit: plenty}\n": "storage.memory_limit",
		"storage: {threads: -2}\n":          "storage.threads",
	} {
		write(body)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: %v, want an error naming %s", body, err, key)
		}
	}
}
