package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBacktestJSON runs the backtest command on the simulated market and
// checks the contract's key names and that the baselines and the
// selection are all present, with forecasts counted.
func TestBacktestJSON(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "21"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := spotcast(t, "", "backtest", "--db", db, "--json", "--horizon", "24h", "--every", "2d", "--max-series", "12", "--max-traces", "4")
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, stderr)
	}
	var rep struct {
		Simulated    bool             `json:"simulated"`
		Sources      []string         `json:"sources"`
		Models       []map[string]any `json:"models"`
		Interruption *struct {
			Traces int `json:"traces"`
			Model  struct {
				Brier     float64 `json:"brier"`
				Forecasts int     `json:"forecasts"`
			} `json:"model"`
		} `json:"interruption"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("backtest --json: %v\n%s", err, out)
	}
	if !rep.Simulated || len(rep.Sources) != 1 || rep.Sources[0] != "simulated" {
		t.Errorf("backtest of the simulated market: simulated=%v sources=%v", rep.Simulated, rep.Sources)
	}
	names := map[string]bool{}
	for _, m := range rep.Models {
		name, _ := m["name"].(string)
		names[name] = true
		for _, k := range []string{"mase_median", "mae_ratio_to_naive_median", "coverage_80", "coverage_95", "pinball_mean", "forecasts"} {
			if _, ok := m[k]; !ok {
				t.Errorf("model %q lacks %q", name, k)
			}
		}
		if f, _ := m["forecasts"].(float64); f <= 0 {
			t.Errorf("model %q has no forecasts", name)
		}
	}
	for _, want := range []string{"auto", "naive", "seasonal_naive", "naive_pooled_quantiles"} {
		if !names[want] {
			t.Errorf("backtest lacks model %q (has %v)", want, names)
		}
	}
	if rep.Interruption == nil || rep.Interruption.Traces == 0 || rep.Interruption.Model.Forecasts == 0 {
		t.Errorf("interruption section = %+v; want the simulated fleet's events evaluated", rep.Interruption)
	}
	if _, _, err := spotcast(t, "", "backtest", "--db", db, "--models", "prophet"); err == nil {
		t.Error("unknown model accepted")
	}
}

// TestBacktestTracesOnly: a trace file kept anywhere is imported with its
// cloud, zone, type and start given by flags, and the backtest of a store
// that holds nothing but traces scores the interruption forecast (the
// price section is left out, and said so).
func TestBacktestTracesOnly(t *testing.T) {
	dir := t.TempDir()
	// One node sampled every 10 minutes for 4 days, preempted every
	// 7 hours and back 20 minutes later.
	data := make([]string, 4*24*6)
	for i := range data {
		data[i] = "1"
		if m := i % 42; m == 41 || m == 0 && i > 0 {
			data[i] = "0"
		}
	}
	trace := filepath.Join(dir, "fleet-a.json")
	if err := os.WriteFile(trace, []byte(`{"metadata":{"gap_seconds":600},"data":[`+strings.Join(data, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.duckdb")
	if _, stderr, err := spotcast(t, "", "ingest", "file", "--db", db, "--format", "skypilot-trace-json", "--cloud", "aws",
		"--zone", "us-east-1c", "--instance-type", "p3.2xlarge", "--start", "2024-05-01T00:00:00Z", trace); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr)
	}
	if _, _, err := spotcast(t, "", "ingest", "file", "--db", db, "--format", "daily-ohlc-csv", "--zone", "us-east-1c", trace); err == nil {
		t.Error("trace flags accepted with another format")
	}
	out, stderr, err := spotcast(t, "", "backtest", "--db", db, "--json")
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "price section left out") {
		t.Errorf("stderr does not say the price section is left out:\n%s", stderr)
	}
	var rep struct {
		Interruption *struct {
			Model struct {
				Forecasts int `json:"forecasts"`
				Positives int `json:"positives"`
			} `json:"model"`
			Sets []struct {
				Set string `json:"set"`
			} `json:"sets"`
			OwnClimatology struct {
				Forecasts int `json:"forecasts"`
			} `json:"own_zone_climatology"`
		} `json:"interruption"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("backtest --json: %v\n%s", err, out)
	}
	if rep.Interruption == nil || rep.Interruption.Model.Forecasts < 80 || rep.Interruption.Model.Positives < 10 ||
		rep.Interruption.OwnClimatology.Forecasts != rep.Interruption.Model.Forecasts || len(rep.Interruption.Sets) != 1 {
		t.Errorf("interruption section %+v; want about 95 hourly forecasts, 13 interrupted, one set, every baseline", rep.Interruption)
	}
}
