package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// `spotcast refit` fits every pool and says so in one JSON document;
// forecasts are then served from what it persisted, and a refit of the
// changed pools fits none when nothing changed.
func TestRefitCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "14"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := spotcast(t, "", "refit", "--db", db, "--json")
	if err != nil {
		t.Fatalf("refit: %v\n%s", err, stderr)
	}
	var res struct {
		Pools   *int     `json:"pools"`
		Refit   *int     `json:"refit"`
		Failed  *int     `json:"failed"`
		Seconds *float64 `json:"seconds"`
		Kept    int      `json:"kept"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("refit --json: %v\n%s", err, out)
	}
	if res.Pools == nil || res.Refit == nil || res.Failed == nil || res.Seconds == nil {
		t.Fatalf("refit --json lacks pools, refit, failed or seconds:\n%s", out)
	}
	if *res.Pools == 0 || *res.Refit != *res.Pools || *res.Failed != 0 || *res.Seconds <= 0 {
		t.Errorf("refit %s", out)
	}
	if !strings.Contains(stderr, "refit:") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	out, _, err = spotcast(t, "", "forecast", "--db", db, "--zone", "us-east-1a", "--instance-type", "p3.2xlarge", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Precomputed bool   `json:"precomputed"`
		Generated   string `json:"forecast_generated"`
		DataUntil   string `json:"data_until"`
	}
	if err := json.Unmarshal([]byte(out), &f); err != nil || !f.Precomputed || f.Generated == "" || f.DataUntil == "" {
		t.Errorf("forecast after a refit: %+v (%v)", f, err)
	}
	out, _, err = spotcast(t, "", "refit", "--db", db, "--json", "--changed")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || *res.Refit != 0 || res.Kept != *res.Pools {
		t.Errorf("refit --changed on unchanged data: %s (%v)", out, err)
	}
	if _, _, err := spotcast(t, "", "refit", "--db", filepath.Join(t.TempDir(), "none.duckdb"), "--workers", "-1"); err == nil {
		t.Error("refit --workers -1: no error")
	}
}
