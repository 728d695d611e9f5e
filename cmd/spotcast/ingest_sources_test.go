package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcast/spotcast/ingest/azure/azureemu"
)

// noAWSCredentials hides every credential source the SDK would find.
func noAWSCredentials(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "AWS_CONFIG_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "HOME": dir,
	} {
		t.Setenv(k, v)
	}
}

// TestRunWithoutCredentials is `make run`'s first step without AWS
// credentials: the public feed when it answers, the simulator (said out
// loud) when it cannot be reached.
func TestRunWithoutCredentials(t *testing.T) {
	noAWSCredentials(t)
	feed, err := os.ReadFile(filepath.Join("..", "..", "ingest", "files", "testdata", "aws_spot_feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(feed) }))
	defer srv.Close()

	db := filepath.Join(t.TempDir(), "feed.duckdb")
	out, errOut, err := spotcast(t, "", "ingest", "aws", "--db", db, "--simulate-without-credentials", "--feed-url", srv.URL, "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	var rep struct {
		RowsStored int64 `json:"rows_stored"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.RowsStored != 15 {
		t.Fatalf("feed report %s (%v), want 15 prices stored", out, err)
	}
	if !strings.Contains(errOut, "no AWS credentials") || !strings.Contains(errOut, "REAL prices") || strings.Contains(errOut, "SIMULATED") {
		t.Errorf("stderr does not say the feed was used:\n%s", errOut)
	}
	out, _, err = spotcast(t, "", "stats", "--db", db, "--json")
	if err != nil || !strings.Contains(out, "aws-spot-feed") || strings.Contains(out, `"simulated"`) {
		t.Errorf("stats after the feed: %s (%v)", out, err)
	}

	// Unreachable: the simulator, announced.
	srv.Close()
	db = filepath.Join(t.TempDir(), "sim.duckdb")
	_, errOut, err = spotcast(t, "", "ingest", "aws", "--db", db, "--simulate-without-credentials", "--feed-url", srv.URL)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	if !strings.Contains(errOut, "cannot be reached") || !strings.Contains(errOut, "SIMULATED") {
		t.Errorf("stderr does not say the simulator was used:\n%s", errOut)
	}
	out, _, err = spotcast(t, "", "stats", "--db", db, "--json")
	if err != nil || !strings.Contains(out, "simulated") {
		t.Errorf("stats after the fallback: %s (%v)", out, err)
	}
}

func TestIngestAWSFeedCommand(t *testing.T) {
	feed, err := os.ReadFile(filepath.Join("..", "..", "ingest", "files", "testdata", "aws_spot_feed_jsonp.js"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(feed) }))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "s.duckdb")
	out, errOut, err := spotcast(t, "", "ingest", "aws-feed", "--db", db, "--url", srv.URL)
	if err != nil || !strings.Contains(out, "stored 5 changed prices") {
		t.Fatalf("first poll: %s %s (%v)", out, errOut, err)
	}
	out, errOut, err = spotcast(t, "", "ingest", "aws-feed", "--db", db, "--url", srv.URL)
	if err != nil || !strings.Contains(out, "stored 0 changed prices") {
		t.Fatalf("second poll: %s %s (%v)", out, errOut, err)
	}
	srv.Close()
	_, _, err = spotcast(t, "", "ingest", "aws-feed", "--db", db, "--url", srv.URL, "--retries", "0")
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("unreachable feed: err = %v", err)
	}
}

// azureEmulator serves the Azure Retail Prices testdata page through the
// emulator of that API until the test ends.
func azureEmulator(t *testing.T) (*azureemu.Server, *httptest.Server) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "ingest", "files", "testdata", "azure_retail_prices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Items []azureemu.Item }
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	emu := azureemu.New(page.Items)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.BaseURL = srv.URL
	return emu, srv
}

func TestIngestAzureCommand(t *testing.T) {
	emu, srv := azureEmulator(t)
	emu.Set(func(e *azureemu.Server) { e.FailRegion = "westeurope" })
	db := filepath.Join(t.TempDir(), "s.duckdb")
	out, errOut, err := spotcast(t, "", "ingest", "azure", "--db", db, "--url", srv.URL+"/api/retail/prices",
		"--regions", "eastus,westeurope", "--retries", "0", "--json")
	if err == nil || !strings.Contains(errOut, "westeurope") {
		t.Fatalf("a failed region must fail the command: %v %s", err, errOut)
	}
	var rep struct {
		RowsStored    int64 `json:"rows_stored"`
		FailedRegions int   `json:"failed_regions"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// eastus: 2 spot prices (Linux, Windows) and 1 on-demand price.
	if rep.RowsStored != 3 || rep.FailedRegions != 1 {
		t.Fatalf("report %s", out)
	}
	out, _, err = spotcast(t, "", "pools", "--db", db, "--cloud", "azure", "--product", "")
	if err != nil || !strings.Contains(out, "azure/eastus/Standard_NC24ads_A100_v4/Linux") {
		t.Fatalf("pools: %s (%v)", out, err)
	}
}

// TestGCPGPUsFromStoredMachineTypes: GCP GPU machine types resolve their
// GPUs from the stored machine types (the real catalogue), whatever file
// their prices came from.
func TestGCPGPUsFromStoredMachineTypes(t *testing.T) {
	types := sharedData(t, "gcp/machine_type_attributes_latest.json")
	db := filepath.Join(t.TempDir(), "s.duckdb")
	hist := filepath.Join("..", "..", "ingest", "files", "testdata", "gcp_capacity_history.json")
	if _, errOut, err := spotcast(t, "", "ingest", "file", "--db", db, "--quiet", types, hist); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	out, _, err := spotcast(t, "", "pools", "--db", db, "--cloud", "gcp", "--product", "", "--gpu-model", "A100", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Pools []struct {
			InstanceType string  `json:"instance_type"`
			GPUModel     string  `json:"gpu_model"`
			GPUCount     int     `json:"gpu_count"`
			GPUMemoryGiB float64 `json:"gpu_memory_gib"`
		} `json:"pools"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pools) != 1 || rep.Pools[0].InstanceType != "a2-highgpu-1g" || rep.Pools[0].GPUModel != "A100" ||
		rep.Pools[0].GPUCount != 1 || rep.Pools[0].GPUMemoryGiB != 40 {
		t.Fatalf("pools %s", out)
	}
}

// TestIngestFileCSV: a CSV of another shape through --format csv, with
// the account's zone names learnt from describe-availability-zones.
func TestIngestFileCSV(t *testing.T) {
	td := filepath.Join("..", "..", "ingest", "files", "testdata")
	db := filepath.Join(t.TempDir(), "s.duckdb")
	out, errOut, err := spotcast(t, "", "ingest", "file", "--db", db, "--quiet", "--json", "--format", "csv",
		"--map", "timestamp=Timestamp,region=Region,price=3", "--instance-type", "t3.micro", "--product", "Linux/UNIX",
		filepath.Join(td, "csv_timestamp_region_price.csv"))
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	var rep ingestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.RowsStored != 4 {
		t.Fatalf("report %s (%v)", out, err)
	}
	if _, errOut, err := spotcast(t, "", "ingest", "file", "--db", db, "--quiet", filepath.Join(td, "describe_availability_zones.json")); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	out, errOut, err = spotcast(t, "", "ingest", "file", "--db", db, "--quiet", "--format", "csv", "--no-header", "--delimiter", ";",
		"--map", "zone=1,instance_type=2,timestamp=3,price=4", "--product", "Linux/UNIX", filepath.Join(td, "csv_zone_ids_semicolon.csv"))
	if err != nil {
		t.Fatalf("%v: %s %s", err, out, errOut)
	}
	out, _, err = spotcast(t, "", "prices", "--db", db, "--zone", "us-east-1d", "--instance-type", "p3.2xlarge", "--product", "Linux/UNIX", "--json")
	if err != nil || !strings.Contains(out, "0.923") {
		t.Fatalf("prices of use1-az4 under its name us-east-1d: %s (%v)", out, err)
	}
	// A bad row names its file and line; the file stores nothing.
	_, _, err = spotcast(t, "", "ingest", "file", "--db", db, "--quiet", "--format", "csv",
		"--map", "timestamp=Timestamp,region=Region,price=SpotPrice", "--instance-type", "t3.micro", filepath.Join(td, "bad", "csv_bad_rows.csv"))
	if err == nil || !strings.Contains(err.Error(), "csv_bad_rows.csv:3:") {
		t.Fatalf("bad rows: err = %v", err)
	}
	if _, _, err := spotcast(t, "", "ingest", "file", "--db", db, "--map", "price=1", filepath.Join(td, "csv_timestamp_region_price.csv")); err == nil ||
		!strings.Contains(err.Error(), "--format csv") {
		t.Fatalf("--map without --format csv: err = %v", err)
	}
}
