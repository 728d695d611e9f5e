package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIngestFlagsAfterPathAndVerify: `ingest file x.csv --skip-bad` takes
// the flag as a flag, not as a second path; `verify` reports a store
// written by imports as clean.
func TestIngestFlagsAfterPathAndVerify(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.duckdb")
	file := filepath.Join(dir, "x.csv")
	os.WriteFile(file, []byte("timestamp,availability_zone,instance_type,product_description,spot_price\n"+
		"2021-05-01T00:00:00+00:00,us-east-1a,p3.2xlarge,Linux/UNIX,0.9\n"+
		"2021-05-01T01:00:00+00:00,us-east-1q,p3.2xlarge,Linux/UNIX,0.9\n"), 0o644)
	out, _, err := spotcast(t, "", "ingest", "file", "--db", db, file, "--skip-bad", "--json", "--quiet")
	if err != nil {
		t.Fatalf("flags after the path: %v\n%s", err, out)
	}
	var rep ingestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || rep.RowsStored != 1 || rep.BadRows != 1 {
		t.Errorf("report = %+v; want one file, 1 stored, 1 bad", rep)
	}
	out, _, err = spotcast(t, "", "verify", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Orphans  map[string]int64 `json:"orphans"`
		Repaired bool             `json:"repaired"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Orphans["prices"] != 0 || v.Repaired {
		t.Errorf("verify = %s (%v)", out, err)
	}
	if out, _, err := spotcast(t, "", "verify", "--db", db); err != nil || !strings.Contains(out, "no orphaned rows") {
		t.Errorf("verify text = %q, %v", out, err)
	}
}
