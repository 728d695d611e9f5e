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
