package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecommendCheckpointContract: Daly's worked example (delta = 5 min,
// R = 10 min, M = 24 h gives about 117 min) through the CLI contract.
func TestRecommendCheckpointContract(t *testing.T) {
	out, _, err := spotcast(t, "", "recommend", "checkpoint", "--json", "--checkpoint-cost", "5m", "--restart-cost", "10m", "--mtbf", "24h")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Interval float64 `json:"interval_seconds"`
		Overhead float64 `json:"expected_overhead_ratio"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if math.Abs(r.Interval/60-117) > 0.5 || r.Overhead <= 0 || r.Overhead >= 1 {
		t.Errorf("interval %.1f min, overhead %.3f; want ~117 min and an overhead in (0,1)", r.Interval/60, r.Overhead)
	}
	// delta >= MTBF is answered with an explanation, not a silent number.
	out, _, err = spotcast(t, "", "recommend", "checkpoint", "--json", "--checkpoint-cost", "30h", "--mtbf", "24h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "at least the mean time between") {
		t.Errorf("delta >= MTBF answer lacks its explanation:\n%.1000s", out)
	}
	for _, bad := range [][]string{
		{"recommend", "checkpoint", "--mtbf", "24h"},
		{"recommend", "checkpoint", "--checkpoint-cost", "-5m", "--mtbf", "24h"},
		{"recommend", "checkpoint", "--checkpoint-cost", "5m"},
		{"recommend", "checkpoint", "--checkpoint-cost", "5m", "--mtbf", "24h", "--missed-notice-share", "2"},
		{"recommend", "frobnicate"},
	} {
		if _, _, err := spotcast(t, "", bad...); err == nil {
			t.Errorf("spotcast %v succeeded; want a clear error", bad)
		}
	}
}

// TestForecastAndBidOnSim runs the forecast and bid commands on the
// simulated market: every answer carries the simulated source.
func TestForecastAndBidOnSim(t *testing.T) {
	db := filepath.Join(t.TempDir(), "f.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "14"); err != nil {
		t.Fatal(err)
	}
	pool := []string{"--zone", "us-east-1a", "--instance-type", "p3.2xlarge", "--product", "Linux/UNIX"}
	out, _, err := spotcast(t, "", append([]string{"forecast", "--db", db, "--json", "--horizon", "24h"}, pool...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"simulated"`) || !strings.Contains(out, "quantiles") {
		t.Errorf("forecast output lacks the simulated source or quantiles:\n%.600s", out)
	}
	out, _, err = spotcast(t, "", append([]string{"forecast", "--db", db, "--json", "--kind", "interruption", "--horizon", "48h"}, pool...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"simulated"`) {
		t.Errorf("interruption forecast lacks the simulated source:\n%.600s", out)
	}
	out, _, err = spotcast(t, "", append([]string{"recommend", "bid", "--db", db, "--json", "--run-length", "8h", "--confidence", "0.9"}, pool...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "max price below the current spot price") || !strings.Contains(out, `"run_length_seconds": 28800`) {
		t.Errorf("bid output does not warn about max prices below the spot price or lacks the run length:\n%.800s", out)
	}
	// The former flag name still works, with the same answer.
	old, _, err := spotcast(t, "", append([]string{"recommend", "bid", "--db", db, "--json", "--run", "8h", "--confidence", "0.9"}, pool...)...)
	var a, b struct {
		Run      float64 `json:"run_length_seconds"`
		MaxPrice float64 `json:"max_price_usd_per_hour"`
	}
	if err != nil || json.Unmarshal([]byte(out), &a) != nil || json.Unmarshal([]byte(old), &b) != nil || a != b || a.MaxPrice <= 0 {
		t.Errorf("--run 8h (deprecated alias) gives %+v, --run-length 8h %+v (%v)", b, a, err)
	}
	out, _, err = spotcast(t, "", "recommend", "placement", "--db", db, "--json", "--gpu-model", "V100", "--epoch-time", "2h", "--utilisation", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	var pl struct {
		Ranked []struct {
			GPUModel string `json:"gpu_model"`
		} `json:"ranked"`
		Cost struct {
			MonthlySpot    float64 `json:"monthly_spot_usd"`
			MonthlySavings float64 `json:"monthly_savings_usd"`
			PerEpoch       float64 `json:"cost_per_epoch_usd"`
			PerEpochOD     float64 `json:"cost_per_epoch_on_demand_usd"`
		} `json:"cost"`
	}
	if err := json.Unmarshal([]byte(out), &pl); err != nil {
		t.Fatal(err)
	}
	if len(pl.Ranked) == 0 || pl.Ranked[0].GPUModel != "V100" {
		t.Errorf("placement ranked %+v; want V100 pools", pl.Ranked)
	}
	if c := pl.Cost; c.MonthlySpot <= 0 || c.MonthlySavings <= 0 || c.PerEpoch <= 0 || c.PerEpochOD <= c.PerEpoch {
		t.Errorf("cost projection %+v; want a monthly spot cost, savings and a per-epoch cost below on-demand's", c)
	}
	for _, bad := range [][]string{
		{"recommend", "placement", "--db", db, "--gpu-model", "V100", "--utilisation", "0"},
		append([]string{"recommend", "bid", "--db", db, "--confidence", "1.5"}, pool...),
		append([]string{"forecast", "--db", db, "--horizon", "soon"}, pool...),
		{"forecast", "--db", db, "--zone", "us-east-1a", "--instance-type", "nonexistent.type"},
		{"recommend", "placement", "--db", db, "--gpu-model", "TPU"},
	} {
		if _, _, err := spotcast(t, "", bad...); err == nil {
			t.Errorf("spotcast %v succeeded; want a clear error", bad)
		}
	}
}
