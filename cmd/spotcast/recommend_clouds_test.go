package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPlacementAnyCloudRealData ranks AWS and GCP pools together for one
// workload on the real data: AWS's daily prices (2024-2026, us-east-1's
// p4 and p5 rows) with its on-demand prices, GCP's price changes with its
// machine types. 8 x A100
// per node is served by AWS's p4d/p4de and GCP's a2 8- and 16-GPU types.
// Each pool carries its own cloud's notice, and its inputs name their
// sources; the GCP price and on-demand price are checked against the CSV
// read here directly.
func TestPlacementAnyCloudRealData(t *testing.T) {
	daily := sharedData(t, "aws/spot-daily/spot_daily_ohlc_until_2026-01-31.csv.gz")
	od := sharedData(t, "aws/spot-daily/ondemand_us-east-1.json")
	gcpPrices := sharedData(t, "gcp/gcp_spot_price_changes.csv.gz")
	gcpTypes := sharedData(t, "gcp/machine_type_attributes_latest.json")
	dir := t.TempDir()
	db := filepath.Join(dir, "s.duckdb")
	// The daily file's p4 and p5 rows only: the whole file takes most of
	// a minute to import on a busy machine.
	daily = filterLines(t, daily, filepath.Join(dir, "daily_p4_p5.csv"), func(line string) bool {
		return strings.HasPrefix(line, "provider,") || strings.HasPrefix(line, "aws,us-east-1,p4") || strings.HasPrefix(line, "aws,us-east-1,p5")
	})
	if _, errOut, err := spotcast(t, "", "ingest", "file", "--db", db, "--quiet", daily, od, gcpPrices, gcpTypes); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	const asOf = "2026-01-31T00:00:00Z"
	out, errOut, err := spotcast(t, "", "recommend", "placement", "--db", db, "--cloud", "any", "--gpu-model", "A100",
		"--gpus-per-node", "8", "--regions", "us-east-1,us-central1", "--as-of", asOf, "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	type input struct {
		Input, Source, Detail string
		Time                  time.Time
	}
	var res struct {
		Ranked []struct {
			Pool struct {
				Cloud, Region, Zone, Product string
				InstanceType                 string `json:"instance_type"`
			} `json:"pool"`
			PriceUSDPerHour    float64 `json:"price_usd_per_hour"`
			GPUs               int     `json:"gpus_per_instance"`
			NoticeSeconds      float64 `json:"notice_window_seconds"`
			OnDemandPerGPUHour float64 `json:"on_demand_cost_per_useful_gpu_hour"`
			Inputs             []input `json:"inputs"`
		} `json:"ranked"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	gcpSpot, gcpOD := lastGCPPrices(t, gcpPrices, "a2-highgpu-8g", "us-central1", asOf)
	clouds := map[string]int{}
	checkedGCP := false
	for _, r := range res.Ranked {
		clouds[r.Pool.Cloud]++
		want := map[string]float64{"aws": 120, "gcp": 30}[r.Pool.Cloud]
		if r.NoticeSeconds != want {
			t.Errorf("%+v: notice %v s, want %v", r.Pool, r.NoticeSeconds, want)
		}
		srcs := map[string]input{}
		for _, in := range r.Inputs {
			srcs[in.Input] = in
		}
		for _, name := range []string{"spot_price", "interruption_prior", "on_demand_price", "gpu_type", "notice_window"} {
			if srcs[name].Source == "" {
				t.Errorf("%+v: input %s names no source (%+v)", r.Pool, name, r.Inputs)
			}
		}
		wantPrice := map[string]string{"aws": "file:daily_p4_p5.csv", "gcp": "file:gcp_spot_price_changes.csv.gz"}[r.Pool.Cloud]
		if in := srcs["spot_price"]; in.Source != wantPrice || in.Time.IsZero() || in.Time.After(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%+v: spot price input %+v", r.Pool, in)
		}
		if r.Pool.Cloud == "gcp" {
			if in := srcs["gpu_type"]; in.Source != "file:machine_type_attributes_latest.json" {
				t.Errorf("%+v: gpu type from %q", r.Pool, in.Source)
			}
			if in := srcs["on_demand_price"]; in.Source != "file:gcp_spot_price_changes.csv.gz" || in.Time.IsZero() {
				t.Errorf("%+v: on-demand input %+v", r.Pool, in)
			}
		}
		if r.Pool.Cloud == "gcp" && r.Pool.InstanceType == "a2-highgpu-8g" {
			checkedGCP = true
			// The naive forecast of a price series holds its last price.
			if !near(r.PriceUSDPerHour, gcpSpot) || !near(r.OnDemandPerGPUHour, gcpOD/8) {
				t.Errorf("a2-highgpu-8g: price %v, on demand per GPU %v; the CSV says %v and %v/8", r.PriceUSDPerHour, r.OnDemandPerGPUHour, gcpSpot, gcpOD)
			}
		}
	}
	if clouds["aws"] == 0 || clouds["gcp"] == 0 || !checkedGCP {
		t.Fatalf("ranked pools per cloud %v (a2-highgpu-8g seen: %v); want both clouds", clouds, checkedGCP)
	}
	// Without --cloud any, the same request ranks one cloud only.
	out, _, err = spotcast(t, "", "recommend", "placement", "--db", db, "--cloud", "gcp", "--gpu-model", "A100",
		"--gpus-per-node", "8", "--regions", "us-east-1,us-central1", "--as-of", asOf, "--json")
	if err != nil || strings.Contains(out, `"cloud": "aws"`) || !strings.Contains(out, `"cloud": "gcp"`) {
		t.Fatalf("--cloud gcp: %v\n%s", err, out)
	}
	if _, _, err := spotcast(t, "", "recommend", "placement", "--db", db, "--cloud", "ibm", "--gpu-model", "A100"); err == nil || !strings.Contains(err.Error(), "cloud") {
		t.Fatalf("--cloud ibm: %v", err)
	}
}

// filterLines writes the lines of the gzipped file src that keep accepts
// to dst.
func filterLines(t *testing.T, src, dst string, keep func(string) bool) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(gunzip(t, src)), "\n") {
		if keep(line) {
			out.WriteString(line)
		}
	}
	if err := os.WriteFile(dst, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// gunzip reads a gzipped file whole.
func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lastGCPPrices reads the newest spot and on-demand price of a machine
// type in a region at or before asOf from the GCP price-change CSV.
func lastGCPPrices(t *testing.T, path, typ, region, asOf string) (spot, od float64) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(gunzip(t, path)))
	at, _ := time.Parse(time.RFC3339, asOf)
	var spotAt, odAt time.Time
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[2] != typ || rec[3] != region {
			continue
		}
		ts, err := time.Parse(time.RFC3339, rec[0])
		if err != nil {
			if ts, err = time.Parse("2006-01-02", rec[0]); err != nil {
				t.Fatalf("snapshot time %q", rec[0])
			}
		}
		if ts.After(at) {
			continue
		}
		if v, err := strconv.ParseFloat(rec[5], 64); err == nil && v > 0 && !ts.Before(spotAt) {
			spot, spotAt = v, ts
		}
		if v, err := strconv.ParseFloat(rec[4], 64); err == nil && v > 0 && !ts.Before(odAt) {
			od, odAt = v, ts
		}
	}
	return spot, od
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-6*max(a, b, 1)
}
