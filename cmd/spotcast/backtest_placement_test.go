package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcast/spotcast/recommend"
)

// TestBacktestPlacementSection runs `backtest --placement` on the
// simulated market (price-change pools only, so the section falls back
// to them) and checks the placement section: every strategy scored on
// real runs, finite costs, and on-demand dearer than the spot picks.
func TestBacktestPlacementSection(t *testing.T) {
	db := filepath.Join(t.TempDir(), "p.duckdb")
	if _, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "36"); err != nil {
		t.Fatal(err)
	}
	args := []string{"backtest", "--db", db, "--region", "us-east-1", "--horizon", "24h", "--max-series", "1", "--no-interruptions"}
	out, stderr, err := spotcast(t, "", append(args, "--json")...)
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, stderr)
	}
	if strings.Contains(out, "placement") {
		t.Fatal("placement section present without --placement")
	}
	out, stderr, err = spotcast(t, "", append(args, "--json", "--placement")...)
	if err != nil {
		t.Fatalf("backtest --placement: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "backtest placement:") {
		t.Errorf("no placement progress on stderr:\n%s", stderr)
	}
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Errorf("placement JSON holds a non-finite number:\n%s", out)
	}
	var rep struct {
		Placement *recommend.PlacementBacktest `json:"placement"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("backtest --json --placement: %v\n%s", err, out)
	}
	pb := rep.Placement
	if pb == nil || pb.Origins == 0 || len(pb.Runs) == 0 || len(pb.Rows) == 0 {
		t.Fatalf("placement section = %+v; want origins, runs and rows", pb)
	}
	for _, s := range recommend.PlacementStrategies {
		r, ok := pb.Row("all", s)
		if !ok || r.Runs == 0 {
			t.Errorf("strategy %q: row %+v, found %v; want runs", s, r, ok)
		}
	}
	od, _ := pb.Row("all", recommend.StrategyOnDemand)
	now, _ := pb.Row("all", recommend.StrategyCheapestNow)
	if !(now.MeanCost > 0 && now.MeanCost < od.MeanCost) {
		t.Errorf("cheapest-now %.4f, on-demand %.4f USD per useful GPU-hour; want 0 < spot < on-demand on the simulated market", now.MeanCost, od.MeanCost)
	}
	if !strings.Contains(strings.Join(pb.Notes, "\n"), "newest stored on-demand price") {
		t.Errorf("notes %q do not say the newest on-demand price is applied throughout", pb.Notes)
	}
	text, stderr, err := spotcast(t, "", append(args, "--placement", "--placement-run", "3d")...)
	if err != nil {
		t.Fatalf("backtest --placement (text): %v\n%s", err, stderr)
	}
	if !strings.Contains(text, "placement backtest") || !strings.Contains(text, recommend.StrategyOnDemand) {
		t.Errorf("text output lacks the placement table:\n%s", text)
	}
	if _, _, err := spotcast(t, "", append(args, "--placement", "--placement-run", "-1d")...); err == nil {
		t.Error("negative --placement-run accepted")
	}
}
