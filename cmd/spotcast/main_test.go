package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// spotcast runs the CLI in-process and returns stdout, stderr and the error.
func spotcast(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func sharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not available: %v", p, err)
	}
	return p
}

type ingestReport struct {
	RowsRead   int64 `json:"rows_read"`
	RowsStored int64 `json:"rows_stored"`
	Duplicates int64 `json:"duplicates"`
	BadRows    int64 `json:"bad_rows"`
	Files      []struct {
		Path       string `json:"path"`
		Format     string `json:"format"`
		RowsStored int64  `json:"rows_stored"`
		Error      string `json:"error"`
	} `json:"files"`
}

// TestContract runs the output contract of issue 2 on the real
// describe-spot-price-history JSON: ingest file --json, stats --json and
// prices --json, with every figure checked against a count made here
// directly from the file.
func TestContract(t *testing.T) {
	file := sharedData(t, "aws/spot-price-history/us-east-1_2021-05-24_2021-05-31.describe-spot-price-history.json.gz")
	db := filepath.Join(t.TempDir(), "c.duckdb")

	// Independent count: decode the whole document with encoding/json.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SpotPriceHistory []struct {
			AvailabilityZone, InstanceType, ProductDescription, SpotPrice, Timestamp string
		}
	}
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	f.Close()
	type key struct{ zone, typ, prod, ts string }
	distinct := map[key]bool{}
	pools := map[[3]string]bool{}
	var want []string // timestamps of one pool
	for _, r := range doc.SpotPriceHistory {
		ts, err := time.Parse(time.RFC3339, r.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		distinct[key{r.AvailabilityZone, r.InstanceType, r.ProductDescription, ts.UTC().Format(time.RFC3339)}] = true
		pools[[3]string{r.AvailabilityZone, r.InstanceType, r.ProductDescription}] = true
		if r.AvailabilityZone == "us-east-1a" && r.InstanceType == "p3.2xlarge" && r.ProductDescription == "Linux/UNIX" {
			want = append(want, ts.UTC().Format(time.RFC3339))
		}
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("test pool not in the file")
	}

	out, _, err := spotcast(t, "", "ingest", "file", "--db", db, "--json", "--quiet", file)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	var rep ingestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("ingest --json output is not JSON: %v\n%s", err, out)
	}
	if rep.RowsRead != int64(len(doc.SpotPriceHistory)) || rep.RowsStored != int64(len(distinct)) ||
		rep.Duplicates != rep.RowsRead-rep.RowsStored || rep.BadRows != 0 || len(rep.Files) != 1 {
		t.Errorf("first import = %+v; want read %d, stored %d", rep, len(doc.SpotPriceHistory), len(distinct))
	}

	out, _, err = spotcast(t, "", "ingest", "file", "--db", db, "--json", "--quiet", file)
	if err != nil {
		t.Fatalf("re-ingest: %v", err)
	}
	rep = ingestReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RowsStored != 0 || rep.Duplicates != rep.RowsRead {
		t.Errorf("re-import stored %d, duplicates %d of %d; want 0 new rows", rep.RowsStored, rep.Duplicates, rep.RowsRead)
	}

	out, _, err = spotcast(t, "", "stats", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	if err := json.Unmarshal([]byte(out), &stats); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prices", "pools", "advisor", "instance_types", "events", "placement_scores"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats --json lacks %q: %s", k, out)
		}
	}
	if got := stats["prices"].(float64); int(got) != len(distinct) {
		t.Errorf("stats prices = %v; want %d", got, len(distinct))
	}
	if got := stats["pools"].(float64); int(got) != len(pools) {
		t.Errorf("stats pools = %v; want %d", got, len(pools))
	}

	out, _, err = spotcast(t, "", "prices", "--db", db, "--json", "--zone", "us-east-1a", "--instance-type", "p3.2xlarge", "--product", "Linux/UNIX")
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Points []struct {
			Time   time.Time `json:"time"`
			Price  float64   `json:"price"`
			Source string    `json:"source"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &pr); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pr.Points {
		got = append(got, p.Time.UTC().Format(time.RFC3339))
		if p.Price <= 0 || !strings.HasPrefix(p.Source, "file:") {
			t.Errorf("point %+v: want a positive price and a file source", p)
		}
	}
	if strings.Join(got, ",") != strings.Join(dedupe(want), ",") {
		t.Errorf("prices returned %d points, want %d in time order\n got %v\nwant %v", len(got), len(dedupe(want)), got, dedupe(want))
	}
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestIngestSimAndEvents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	out, _, err := spotcast(t, "", "ingest", "sim", "--db", db, "--days", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sim struct {
		Source     string `json:"source"`
		RowsStored int64  `json:"rows_stored"`
	}
	if err := json.Unmarshal([]byte(out), &sim); err != nil {
		t.Fatal(err)
	}
	if sim.Source != "simulated" || sim.RowsStored == 0 {
		t.Errorf("ingest sim = %s", out)
	}

	ev := `{"version":"0","id":"7f3c6a2e-0000-4000-8000-000000000001","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","account":"123456789012","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1a:instance/i-0abc"],"detail":{"instance-id":"i-0abc","instance-action":"terminate"}}`
	out, _, err = spotcast(t, ev+"\n", "ingest", "events", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var er eventsReport
	if err := json.Unmarshal([]byte(out), &er); err != nil {
		t.Fatal(err)
	}
	if er.RowsRead != 1 || er.RowsStored != 1 {
		t.Errorf("ingest events = %+v; want 1 read, 1 stored", er)
	}
	out, _, err = spotcast(t, ev+"\n", "ingest", "events", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	er = eventsReport{}
	json.Unmarshal([]byte(out), &er)
	if er.RowsStored != 0 || er.Duplicates != 1 {
		t.Errorf("re-sent event = %+v; want stored as a duplicate", er)
	}

	// A malformed event stores nothing and fails.
	if _, _, err := spotcast(t, ev+"\n{\"detail-type\": 5}\n", "ingest", "events", "--db", db); err == nil {
		t.Error("malformed event accepted")
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.duckdb")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown ingest source", []string{"ingest", "ftp"}, "unknown source"},
		{"no files", []string{"ingest", "file", "--db", db}, "at least one file"},
		{"bad format name", []string{"ingest", "file", "--db", db, "--format", "xml", "x"}, "aws-spot-price-csv"},
		{"missing store", []string{"stats", "--db", filepath.Join(dir, "none.duckdb")}, "does not exist"},
		{"prices without type", []string{"prices", "--db", db, "--zone", "us-east-1a"}, "--instance-type"},
		{"bad zone", []string{"prices", "--db", db, "--zone", "x", "--instance-type", "p3.2xlarge"}, "--zone"},
		{"bad time", []string{"prices", "--db", db, "--zone", "us-east-1a", "--instance-type", "p3.2xlarge", "--from", "yesterday"}, "--from"},
		{"export without out", []string{"export", "parquet", "--db", db}, "--out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := spotcast(t, "", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("spotcast %v: error %v; want it to mention %q", tt.args, err, tt.want)
			}
		})
	}

	// A file that fails names itself in the report and stores nothing.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("timestamp,availability_zone,instance_type,product_description,spot_price\n2021-05-01T00:00:00+00:00,us-east-1a,p3.2xlarge,Linux/UNIX,-1\n"), 0o644)
	out, _, err := spotcast(t, "", "ingest", "file", "--db", db, "--json", bad)
	if err == nil {
		t.Fatal("negative price accepted")
	}
	var rep ingestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 1 || !strings.Contains(rep.Files[0].Error, "bad.csv:2") || rep.RowsStored != 0 {
		t.Errorf("report = %+v; want bad.csv:2 named and nothing stored", rep)
	}
}
