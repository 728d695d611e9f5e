package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sim.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "14"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "reports")
	stdout, _, err := spotcast(t, "", "report", "--db", db, "--out", out, "--format", "json,csv", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Dir   string   `json:"dir"`
		Files []string `json:"files"`
	}
	if err := json.Unmarshal([]byte(stdout), &w); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if filepath.Dir(w.Dir) != out || !strings.HasPrefix(filepath.Base(w.Dir), "spotcast-report-") {
		t.Errorf("report folder %s not under %s", w.Dir, out)
	}
	b, err := os.ReadFile(filepath.Join(w.Dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Simulated bool `json:"simulated"`
		Cheapest  struct {
			ByPrice []struct {
				PricePerGPUHour float64 `json:"price_per_gpu_hour"`
			} `json:"by_price_per_gpu_hour"`
		} `json:"cheapest"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Simulated || len(rep.Cheapest.ByPrice) == 0 || rep.Cheapest.ByPrice[0].PricePerGPUHour <= 0 {
		t.Errorf("report: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(w.Dir, "report.html")); err == nil {
		t.Error("html written though --format json,csv")
	}

	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("report:\n  schedule: \"0 6 * * 8\"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--db", db, "--out", out, "--format", "pdf"}, `--format: format "pdf"`},
		{[]string{"report", "--db", db, "--out", notDir}, notDir},
		{[]string{"report", "--db", filepath.Join(dir, "missing.duckdb"), "--out", out}, "does not exist"},
		{[]string{"report", "--db", db, "--config", cfg}, `day-of-week field "8"`},
	} {
		_, _, err := spotcast(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
