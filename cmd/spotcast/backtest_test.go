package main

import (
	"encoding/json"
	"path/filepath"
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
