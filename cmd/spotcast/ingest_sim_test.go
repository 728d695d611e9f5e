package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ingest sim --pools writes the full market as a per-AZ CSV with its
// sidecar; ingest file reads it back as simulated; the same market goes
// straight into a store too.
func TestIngestSimFullMarket(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "m.csv.gz")
	out, _, err := spotcast(t, "", "ingest", "sim", "--pools", "300", "--days", "2", "--seed", "5", "--regions", "us-east-1,eu-west-1", "--csv", csv, "--catalogue", "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var gen struct {
		Source    string   `json:"source"`
		Catalogue []string `json:"catalogue_files"`
		Simulated struct {
			Pools   int   `json:"pools"`
			Regions int   `json:"regions"`
			Prices  int64 `json:"prices"`
		} `json:"simulated"`
	}
	if err := json.Unmarshal([]byte(out), &gen); err != nil {
		t.Fatal(err)
	}
	catalogue := filepath.Join(dir, "m.catalogue")
	if gen.Catalogue == nil || filepath.Dir(gen.Catalogue[0]) != catalogue {
		t.Fatalf("catalogue files %v, want them in %s", gen.Catalogue, catalogue)
	}
	if gen.Source != "simulated" || gen.Simulated.Pools != 300 || gen.Simulated.Regions != 2 || gen.Simulated.Prices < 600 {
		t.Fatalf("ingest sim --csv = %s", out)
	}
	if b, err := os.ReadFile(csv + ".source"); err != nil || string(b) != "simulated\n" {
		t.Fatalf("sidecar %q, %v", b, err)
	}

	db := filepath.Join(dir, "f.duckdb")
	out, _, err = spotcast(t, "", "ingest", "file", "--db", db, "--json", "--quiet", csv, catalogue)
	if err != nil {
		t.Fatal(err)
	}
	var rep ingestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RowsStored <= gen.Simulated.Prices || rep.Files[0].Format != "aws-spot-price-csv" || rep.Files[0].RowsStored != gen.Simulated.Prices {
		t.Fatalf("ingest file = %s", out)
	}
	out, _, err = spotcast(t, "", "stats", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "simulated") || strings.Contains(out, "file:") {
		t.Errorf("stats after importing the generated CSV:\n%s\nwant every row's source simulated", out)
	}

	db2 := filepath.Join(dir, "s.duckdb")
	out, _, err = spotcast(t, "", "ingest", "sim", "--db", db2, "--pools", "300", "--days", "2", "--seed", "5", "--regions", "us-east-1,eu-west-1", "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Source string                      `json:"source"`
		Tables map[string]map[string]int64 `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != "simulated" || st.Tables["prices"]["stored"] != gen.Simulated.Prices ||
		st.Tables["instance_types"]["stored"] == 0 || st.Tables["ondemand_prices"]["stored"] == 0 || st.Tables["advisor"]["stored"] == 0 {
		t.Errorf("ingest sim --pools into a store = %s", out)
	}
}

func TestIngestSimFlagErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e.duckdb")
	for _, args := range [][]string{
		{"--csv", "x.csv"},
		{"--pools", "10", "--catalogue"},
		{"--regions", "us-east-1"},
		{"--days", "0"},
		{"--pools", "-3"},
		{"--pools", "10", "--regions", "mars-1", "--csv", filepath.Join(t.TempDir(), "x.csv")},
		{"--pools", "10", "--end", "yesterday", "--csv", filepath.Join(t.TempDir(), "x.csv")},
	} {
		if _, _, err := spotcast(t, "", append([]string{"ingest", "sim", "--db", db}, args...)...); err == nil {
			t.Errorf("ingest sim %v: no error", args)
		}
	}
}
