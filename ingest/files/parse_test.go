package files

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

func td(name string) string { return filepath.Join("testdata", name) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Format
	}{
		{"spot_prices.csv", FormatSpotPriceCSV},
		{"spot_prices.csv.gz", FormatSpotPriceCSV},
		{"describe_spot_price_history.json", FormatSpotPriceJSON},
		{"daily_ohlc.csv", FormatDailyOHLC},
		{"ondemand_us-east-1.json", FormatOnDemandJSON},
		{"spot-advisor-data_2024-01.json", FormatSpotAdvisor},
		{"describe_instance_types.json", FormatInstanceTypes},
		{"instances_by_region_2024-04.csv", FormatInstanceCatalog},
		{"gcp_prices.csv", FormatGCPPrices},
		{"gcp_machine_types.json", FormatGCPMachineTypes},
		{"placement_scores_wrapped.json", FormatPlacementScores},
		{"placement_scores_bare.json", FormatPlacementScores},
		{"events.ndjson", FormatEventBridge},
		{"events_array.json", FormatEventBridge},
		{"skypilot/preemption/4-node/aws-08-03-2023/us-east-2a_v100_1.json", FormatSkypilotTrace},
		// A header with a column missing is still recognised, so the
		// parser can say which column is missing.
		{"bad/missing_column_header.csv", FormatSpotPriceCSV},
	} {
		_, res, err := parseFile(t, td(tc.file), Options{})
		if res.Format != tc.want {
			t.Errorf("%s: format %q (err %v), want %q", tc.file, res.Format, err, tc.want)
		}
	}
}

func TestParseFormatUnknownListsFormats(t *testing.T) {
	_, err := ParseFormat("parquet")
	if err == nil || !strings.Contains(err.Error(), string(FormatSpotPriceCSV)) || !strings.Contains(err.Error(), string(FormatSkypilotTrace)) {
		t.Fatalf("ParseFormat(parquet) = %v, want an error listing the formats", err)
	}
	if f, err := ParseFormat("daily-ohlc-csv"); err != nil || f != FormatDailyOHLC {
		t.Fatalf("ParseFormat(daily-ohlc-csv) = %q, %v", f, err)
	}
}

func TestSpotPriceCSV(t *testing.T) {
	for _, file := range []string{"spot_prices.csv", "spot_prices.csv.gz"} {
		c, res, err := parseFile(t, td(file), Options{})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if res.Read != 5 || len(c.Prices) != 5 {
			t.Fatalf("%s: read %d, prices %d, want 5", file, res.Read, len(c.Prices))
		}
		p := c.Prices[0]
		want := market.PricePoint{
			Pool: market.PoolKey{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"},
			Time: time.Date(2021, 5, 30, 15, 22, 4, 0, time.UTC), Price: 0.918,
			Source: "file:" + file, FetchedAt: fixedNow,
		}
		if p != want {
			t.Errorf("%s: first point\n got %+v\nwant %+v", file, p, want)
		}
		// +02:00 offset and fractional seconds.
		if got := c.Prices[3].Time; !got.Equal(time.Date(2021, 5, 30, 15, 30, 0, 5e8, time.UTC)) {
			t.Errorf("offset timestamp = %v", got)
		}
		// Quoted fields.
		if k := c.Prices[4].Pool; k.Product != "Linux/UNIX (Amazon VPC)" || k.Region != "us-east-1" || k.Zone != "us-east-1f" {
			t.Errorf("quoted row = %+v", k)
		}
	}
}

func TestSpotPriceJSON(t *testing.T) {
	c, res, err := parseFile(t, td("describe_spot_price_history.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Prices) != 2 {
		t.Fatalf("prices = %d, want 2", len(c.Prices))
	}
	if k := c.Prices[1].Pool; k.Region != "us-west-2" || k.Zone != "us-west-2c" || k.Product != "Windows" || c.Prices[1].Price != 0.5123 {
		t.Errorf("second = %+v", c.Prices[1])
	}
	if len(res.Info) != 1 || !strings.Contains(res.Info[0], "NextToken") {
		t.Errorf("info = %q, want a NextToken note", res.Info)
	}
}

func TestDailyOHLC(t *testing.T) {
	c, _, err := parseFile(t, td("daily_ohlc.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Prices) != 4 {
		t.Fatalf("prices = %d", len(c.Prices))
	}
	p := c.Prices[0]
	if p.Pool != (market.PoolKey{Cloud: "aws", Region: "us-east-1", InstanceType: "p3.2xlarge"}) ||
		!p.Time.Equal(date(2024, 2, 1)) || p.Price != 0.95 || !p.HasBar ||
		p.Bar != (market.Bar{Open: 0.9, High: 1.1, Low: 0.8, Close: 1.0}) {
		t.Errorf("first = %+v", p)
	}
	if k := c.Prices[2].Pool; k.Cloud != "gcp" || k.Region != "us-central1" {
		t.Errorf("gcp row = %+v", k)
	}
	// Azure's aggregator alias becomes Azure's own region name.
	if k := c.Prices[3].Pool; k.Cloud != "azure" || k.Region != "westeurope" {
		t.Errorf("azure row = %+v", k)
	}
}

func TestOnDemandJSON(t *testing.T) {
	c, res, err := parseFile(t, td("ondemand_us-east-1.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OnDemand) != 2 || res.Skipped != 1 || res.SkipReasons["on-demand price 0 (unknown)"] != 1 {
		t.Fatalf("ondemand %d, skipped %d %v", len(c.OnDemand), res.Skipped, res.SkipReasons)
	}
	want := market.OnDemandPrice{Cloud: "aws", Region: "us-east-1", InstanceType: "p2.16xlarge", Date: date(2024, 1, 9), Price: 14.4,
		Source: "file:ondemand_us-east-1.json", FetchedAt: fixedNow}
	if c.OnDemand[1] != want {
		t.Errorf("got %+v\nwant %+v", c.OnDemand[1], want)
	}
	// --region overrides the file name.
	c, _, err = parseFile(t, td("ondemand_us-east-1.json"), Options{Region: "eu-west-1"})
	if err != nil || c.OnDemand[0].Region != "eu-west-1" {
		t.Errorf("override: %v %+v", err, c.OnDemand)
	}
	_, _, err = parseFile(t, td("ondemand_us-east-1.json"), Options{Region: "moon-1"})
	if err == nil || !strings.Contains(err.Error(), `unknown region "moon-1"`) {
		t.Errorf("unknown override region: %v", err)
	}
}

func TestSpotAdvisor(t *testing.T) {
	c, res, err := parseFile(t, td("spot-advisor-data_2024-01.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Advisor) != 3 {
		t.Fatalf("advisor rows = %d, want 3: %+v", len(c.Advisor), c.Advisor)
	}
	want := market.AdvisorRow{Region: "us-east-1", OS: "Windows", InstanceType: "p3.2xlarge", Bucket: 4, SavingsPct: 55,
		Snapshot: date(2024, 1, 1), Source: "file:spot-advisor-data_2024-01.json", FetchedAt: fixedNow}
	if c.Advisor[2] != want {
		t.Errorf("got %+v\nwant %+v", c.Advisor[2], want)
	}
	if res.SkipReasons["negative savings (spot price above on-demand)"] != 1 {
		t.Errorf("skips = %v", res.SkipReasons)
	}
	if len(res.Info) == 0 || !strings.Contains(res.Info[0], "from the file name") {
		t.Errorf("info = %q", res.Info)
	}
	c, _, err = parseFile(t, td("spot-advisor-data_2024-01.json"), Options{SnapshotDate: date(2024, 1, 15)})
	if err != nil || !c.Advisor[0].Snapshot.Equal(date(2024, 1, 15)) {
		t.Errorf("SnapshotDate override: %v %v", err, c.Advisor[0].Snapshot)
	}
}

func TestInstanceTypesJSON(t *testing.T) {
	c, _, err := parseFile(t, td("describe_instance_types.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []market.InstanceType{
		{Cloud: "aws", Name: "p3.8xlarge", VCPU: 32, MemoryGiB: 244, Arch: "x86_64", GPUModel: "V100", GPUManufacturer: "NVIDIA",
			GPUCount: 4, GPUMemoryGiB: 16, Source: "file:describe_instance_types.json", FetchedAt: fixedNow},
		{Cloud: "aws", Name: "c1.medium", VCPU: 2, MemoryGiB: 1740.0 / 1024, Arch: "x86_64",
			Source: "file:describe_instance_types.json", FetchedAt: fixedNow},
	}
	if len(c.Types) != len(want) {
		t.Fatalf("types = %+v", c.Types)
	}
	for i := range want {
		if c.Types[i] != want[i] {
			t.Errorf("type %d\n got %+v\nwant %+v", i, c.Types[i], want[i])
		}
	}
}

func TestInstanceCatalog(t *testing.T) {
	c, res, err := parseFile(t, td("instances_by_region_2024-04.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]market.InstanceType{}
	for _, it := range c.Types {
		if _, dup := byName[it.Name]; dup {
			t.Errorf("%s emitted twice", it.Name)
		}
		byName[it.Name] = it
	}
	if len(byName) != 5 {
		t.Fatalf("types = %v", byName)
	}
	// GPU_memory is the total: 64 GiB over 4 GPUs.
	if p3 := byName["p3.8xlarge"]; p3.GPUCount != 4 || p3.GPUMemoryGiB != 16 || p3.VCPU != 32 || p3.MemoryGiB != 244 {
		t.Errorf("p3.8xlarge = %+v", p3)
	}
	if inf := byName["inf1.xlarge"]; inf.GPUCount != 0 || inf.GPUMemoryGiB != 0 {
		t.Errorf("inf1 accelerators stored as GPUs: %+v", inf)
	}
	if byName["t2.micro"].Arch != "x86_64" {
		t.Errorf("i386 arch not mapped: %+v", byName["t2.micro"])
	}
	// 7 rows: p5 (0 = unknown) and the Local Zone have no storable price.
	if len(c.OnDemand) != 5 || res.Skipped != 2 {
		t.Errorf("ondemand = %d, skipped %d %v", len(c.OnDemand), res.Skipped, res.SkipReasons)
	}
	for _, o := range c.OnDemand {
		if o.Price <= 0 || !o.Date.Equal(date(2024, 4, 1)) {
			t.Errorf("on-demand %+v", o)
		}
	}
}

func TestGCPPrices(t *testing.T) {
	c, res, err := parseFile(t, td("gcp_prices.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Row 1: on-demand only (no spot yet); row 2: both; row 3: spot, on-demand
	// 0 (unknown); row 4: spot, no on-demand.
	if len(c.Prices) != 3 || len(c.OnDemand) != 2 {
		t.Fatalf("prices %d ondemand %d", len(c.Prices), len(c.OnDemand))
	}
	want := market.PricePoint{Pool: market.PoolKey{Cloud: "gcp", Region: "us-central1", InstanceType: "a2-highgpu-1g"},
		Time: time.Date(2023, 5, 10, 8, 0, 0, 0, time.UTC), Price: 1.10192, Source: "file:gcp_prices.csv", FetchedAt: fixedNow}
	if c.Prices[0] != want {
		t.Errorf("got %+v\nwant %+v", c.Prices[0], want)
	}
	if !c.OnDemand[0].Date.Equal(date(2022, 2, 9)) {
		t.Errorf("date-only snapshot = %v", c.OnDemand[0].Date)
	}
	if res.Skipped != 3 || res.Bad != 0 {
		t.Errorf("skipped %d %v bad %d", res.Skipped, res.SkipReasons, res.Bad)
	}
}

func TestGCPMachineTypes(t *testing.T) {
	c, res, err := parseFile(t, td("gcp_machine_types.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]market.InstanceType{}
	for _, it := range c.Types {
		byName[it.Name] = it
	}
	for name, want := range map[string]struct {
		model string
		count int
		mem   float64
		vcpu  int
		arch  string
	}{
		"a2-ultragpu-1g": {"A100", 1, 80, 12, "x86_64"}, // a100-80gb wins over a100
		"g2-standard-24": {"L4", 2, 24, 24, "x86_64"},
		"g4-standard-6":  {"RTX PRO 6000", 1, 12, 6, "x86_64"}, // 1/8 of 96 GB
		"e2-micro":       {"", 0, 0, 1, "x86_64"},
		"t2a-standard-1": {"", 0, 0, 1, "arm64"},
	} {
		it := byName[name]
		if it.GPUModel != want.model || it.GPUCount != want.count || it.GPUMemoryGiB != want.mem || it.VCPU != want.vcpu || it.Arch != want.arch || it.Cloud != "gcp" {
			t.Errorf("%s = %+v, want %+v", name, it, want)
		}
	}
	if len(res.Info) != 1 || !strings.Contains(res.Info[0], "shared") {
		t.Errorf("info = %q, want the unknown key listed", res.Info)
	}
}

func TestPlacementScores(t *testing.T) {
	c, _, err := parseFile(t, td("placement_scores_wrapped.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scores) != 2 {
		t.Fatalf("scores = %+v", c.Scores)
	}
	s := c.Scores[0]
	if s.Region != "us-east-1" || s.Zone != "use1-az4" || s.Score != 7 || s.TargetCapacity != 4 || s.CapacityUnit != "units" ||
		strings.Join(s.InstanceTypes, ",") != "p3.2xlarge,g5.xlarge" || !s.Time.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("score = %+v", s)
	}

	// Bare: the request comes from options; the time from the request.
	req := &PlacementRequest{InstanceTypes: []string{"p4d.24xlarge"}, TargetCapacity: 2, Time: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	c, _, err = parseFile(t, td("placement_scores_bare.json"), Options{Placement: req})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scores) != 2 || c.Scores[1].Region != "eu-west-1" || c.Scores[1].Score != 6 || c.Scores[1].Zone != "" ||
		c.Scores[1].TargetCapacity != 2 || !c.Scores[1].Time.Equal(req.Time) {
		t.Errorf("bare = %+v", c.Scores)
	}
}

func TestEventBridgeFiles(t *testing.T) {
	c, _, err := parseFile(t, td("events.ndjson"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 2 {
		t.Fatalf("events = %+v", c.Events)
	}
	w := c.Events[0]
	if w.Kind != market.EventInterruptionWarning || w.Region != "us-east-2" || w.Zone != "us-east-2a" || w.InstanceID != "i-1234567890abcdef0" ||
		w.InstanceType != "" || w.Count != 1 || w.EventID != "1e5527d7-bb36-4607-3370-4164db56a40e" || w.Source != "file:events.ndjson" {
		t.Errorf("warning = %+v", w)
	}
	r := c.Events[1]
	if r.Kind != market.EventRebalance || r.Zone != "us-east-1c" || r.InstanceType != "p3.2xlarge" {
		t.Errorf("rebalance = %+v", r)
	}
	c, _, err = parseFile(t, td("events_array.json"), Options{})
	if err != nil || len(c.Events) != 1 || c.Events[0].Zone != "" || c.Events[0].Region != "us-west-2" {
		t.Errorf("array: %v %+v", err, c.Events)
	}
}

func TestSkypilotTrace(t *testing.T) {
	start := date(2023, 8, 3)
	gap := 300 * time.Second
	c, res, err := parseFile(t, td("skypilot/preemption/4-node/aws-08-03-2023/us-east-2a_v100_1.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		i     int
		kind  string
		count int
	}
	// data [4 4 2 2 0 4]
	want := []ev{{0, "observation-start", 4}, {2, "preempted", 2}, {4, "preempted", 2}, {5, "launched", 4}, {6, "observation-end", 4}}
	if len(c.Events) != len(want) {
		t.Fatalf("events = %+v", c.Events)
	}
	for k, w := range want {
		e := c.Events[k]
		if e.Kind != w.kind || e.Count != w.count || !e.Time.Equal(start.Add(time.Duration(w.i)*gap)) ||
			e.Zone != "us-east-2a" || e.Region != "us-east-2" || e.InstanceType != "p3.2xlarge" || e.Cloud != "aws" {
			t.Errorf("event %d = %+v, want %+v", k, e, w)
		}
	}
	if res.Read != 6 {
		t.Errorf("read %d samples, want 6", res.Read)
	}

	// Availability: capacity events at each change.
	c, _, err = parseFile(t, td("skypilot/availability/1-node/aws-10-26-2022/us-west-2a_k80_8.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range c.Events {
		kinds = append(kinds, e.Kind+":"+strconv.Itoa(e.Count))
		if e.InstanceType != "p2.8xlarge" {
			t.Errorf("type = %q", e.InstanceType)
		}
	}
	if got := strings.Join(kinds, " "); got != "observation-start:1 capacity:0 capacity:1 observation-end:1" {
		t.Errorf("availability events = %s", got)
	}

	// Prices: one point per change.
	c, _, err = parseFile(t, td("skypilot/preemption/1-node/aws-04-22-2023/us-west-2b_v100_1.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Prices) != 2 || c.Prices[1].Price != 0.95 || !c.Prices[1].Time.Equal(date(2023, 4, 22).Add(64*time.Second)) || c.Prices[1].Pool.Product != "" {
		t.Errorf("trace prices = %+v", c.Prices)
	}
}

// TestBadInput: every kind of bad input fails with FILE:LINE: reason (or
// a file-level reason) and, with SkipBad, row-level problems are skipped
// and counted instead.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		file    string
		opts    Options
		wantErr string // substring; the file name is checked separately
		// With SkipBad: -1 means the failure is not row-level and
		// SkipBad must still fail; otherwise rows stored and bad.
		skipStored, skipBad int
	}{
		{file: "unknown_format.txt", wantErr: "unknown format", skipStored: -1},
		{file: "unknown_json.json", wantErr: "unknown format (a JSON object with keys Reservations)", skipStored: -1},
		{file: "array_of_numbers.json", wantErr: "unknown format", skipStored: -1},
		{file: "truncated.csv.gz", wantErr: "truncated input", skipStored: -1},
		{file: "truncated.json", wantErr: "truncated.json:1: input ends inside", skipStored: -1},
		{file: "missing_column_header.csv", wantErr: "missing_column_header.csv:1: header", skipStored: -1},
		{file: "missing_column_row.csv", wantErr: "missing_column_row.csv:3: 4 columns, expected 5", skipStored: 1, skipBad: 1},
		{file: "extra_column.csv", wantErr: "extra_column.csv:3: 6 columns, expected 5", skipStored: 2, skipBad: 1},
		{file: "negative_price.csv", wantErr: `negative_price.csv:3: spot_price "-0.5": negative`, skipStored: 1, skipBad: 1},
		{file: "nan_price.csv", wantErr: `nan_price.csv:2: spot_price "NaN": not a finite number`, skipStored: 0, skipBad: 1},
		{file: "not_a_number.csv", wantErr: `not_a_number.csv:4: spot_price "cheap": not a number`, skipStored: 2, skipBad: 1},
		{file: "timestamp_no_zone.csv", wantErr: `timestamp_no_zone.csv:2: timestamp "2021-05-30T15:22:04" has no time zone`, skipStored: 0, skipBad: 1},
		{file: "unknown_region.csv", wantErr: `unknown_region.csv:2: availability zone "xx-fake-1a": unknown region "xx-fake-1"`, skipStored: 0, skipBad: 1},
		{file: "unknown_region_daily.csv", wantErr: `unknown_region_daily.csv:3: unknown aws region "mars-north-1"`, skipStored: 1, skipBad: 1},
		{file: "empty.csv", wantErr: "empty file", skipStored: -1},
		{file: "blank.json", wantErr: "empty file", skipStored: -1},
		{file: "empty.json.gz", wantErr: "empty file", skipStored: -1},
		{file: "wrong_shape_object.json", wantErr: "wrong_shape_object.json:1: wrong shape: SpotPriceHistory: expected an array, got an object", skipStored: -1},
		{file: "wrong_shape_record.json", wantErr: `wrong_shape_record.json:10: field "SpotPrice": expected string, got JSON object`, skipStored: 1, skipBad: 1},
		{file: "advisor_bad_ranges.json", opts: Options{SnapshotDate: date(2024, 1, 1)}, wantErr: "advisor_bad_ranges.json:2: ranges: 2 ranges, expected 5", skipStored: -1},
		{file: "advisor_bad_bucket.json", opts: Options{SnapshotDate: date(2024, 1, 1)}, wantErr: "advisor_bad_bucket.json:2: us-east-1 Linux p3.8xlarge: r 7: expected a bucket 0-4", skipStored: 1, skipBad: 1},
		{file: "advisor_bad_bucket.json", wantErr: "snapshot date unknown", skipStored: -1},
		{file: "events_bad.ndjson", wantErr: `events_bad.ndjson:2: detail-type "EC2 Instance State-change Notification"`, skipStored: 1, skipBad: 2},
		{file: "placement_no_request.json", wantErr: "the request behind these scores is unknown", skipStored: -1},
		{file: "placement_bad_score.json", wantErr: "placement_bad_score.json:5: Score 11: expected an integer 1-10", skipStored: 1, skipBad: 1},
		{file: "ok.csv", opts: Options{Format: FormatDailyOHLC}, wantErr: "ok.csv:1: header", skipStored: -1},
		{file: "ok.csv", opts: Options{Format: "xml"}, wantErr: `unknown format "xml"`, skipStored: -1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := td("bad/" + tc.file)
			c, _, err := parseFile(t, path, tc.opts)
			if err == nil {
				t.Fatalf("no error; parsed %d rows", c.Total())
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), path) && !strings.Contains(tc.wantErr, "unknown format \"") {
				t.Errorf("error %q does not name the file", err)
			}
			if !errors.Is(err, ingest.ErrBadInput) {
				t.Errorf("error %q does not match ingest.ErrBadInput", err)
			}
			o := tc.opts
			o.SkipBad = true
			c, res, err := parseFile(t, path, o)
			if tc.skipStored < 0 {
				if err == nil {
					t.Errorf("SkipBad: no error, want the file to fail")
				}
				return
			}
			if err != nil {
				t.Fatalf("SkipBad: %v", err)
			}
			if c.Total() != tc.skipStored || res.Bad != int64(tc.skipBad) || len(res.BadReasons) != tc.skipBad {
				t.Errorf("SkipBad: stored %d bad %d (%q), want %d and %d", c.Total(), res.Bad, res.BadReasons, tc.skipStored, tc.skipBad)
			}
		})
	}
}

func TestAWSRegionOfZone(t *testing.T) {
	for zone, want := range map[string]string{
		"us-east-1a": "us-east-1", "eu-central-2c": "eu-central-2", "us-gov-west-1a": "us-gov-west-1",
		// A Local Zone belongs to its parent region (DescribeSpotPriceHistory
		// in us-east-1 lists it).
		"us-east-1-bos-1a": "us-east-1", "us-west-2-wl1-las1a": "us-west-2",
		"xx-fake-1a": "", "us-east-1": "", "": "",
	} {
		got, err := awsRegionOfZone(zone)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("awsRegionOfZone(%q) = %q, %v; want %q", zone, got, err, want)
		}
	}
}

func TestFastDecimalMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "1", "0.1", "0.0993", "14.4", "0.099714", "123456.789012", "0.000001", "9007199254740991", "0.30000000000000004"} {
		got, ok := fastDecimal([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if ok && got != want {
			t.Errorf("fastDecimal(%q) = %v, strconv %v", s, got, want)
		}
	}
	for _, s := range []string{"", "-1", "1e5", ".5", "5.", "1.2.3", "NaN", "9007199254740993", "0x10"} {
		if v, ok := fastDecimal([]byte(s)); ok {
			t.Errorf("fastDecimal(%q) = %v, want fallback", s, v)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2021-05-30T15:22:04+00:00", time.Date(2021, 5, 30, 15, 22, 4, 0, time.UTC), ""},
		{"2021-05-30T15:22:04Z", time.Date(2021, 5, 30, 15, 22, 4, 0, time.UTC), ""},
		{"2021-05-30T15:22:04-05:30", time.Date(2021, 5, 30, 20, 52, 4, 0, time.UTC), ""},
		{"2021-05-30T15:22:04.25Z", time.Date(2021, 5, 30, 15, 22, 4, 25e7, time.UTC), ""},
		{"2021-05-30T15:22:04", time.Time{}, "no time zone"},
		{"2021-05-30 15:22:04", time.Time{}, "no time zone"},
		{"2021-02-30T15:22:04Z", time.Time{}, "not RFC 3339"},
		{"yesterday", time.Time{}, "not RFC 3339"},
	} {
		got, err := parseTimestamp([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("%q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitCSV(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"a,b,c", []string{"a", "b", "c"}, false},
		{"a,,c,", []string{"a", "", "c", ""}, false},
		{"", []string{""}, false},
		{`"a,b",c`, []string{"a,b", "c"}, false},
		{`x,"say ""hi""",""`, []string{"x", `say "hi"`, ""}, false},
		{`"open,b`, nil, true},
		{`"a"x,b`, nil, true},
		{`a"b,c`, nil, true},
	} {
		var scratch []byte
		got, err := splitCSV(nil, []byte(tc.in), &scratch)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		var gs []string
		for _, f := range got {
			gs = append(gs, string(f))
		}
		if err != nil || strings.Join(gs, "|") != strings.Join(tc.want, "|") || len(gs) != len(tc.want) {
			t.Errorf("%q = %q, %v; want %q", tc.in, gs, err, tc.want)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A file of > 65536 rows notices cancellation.
	var b strings.Builder
	b.WriteString("provider,region,instance_type,date,open,high,low,close,avg\n")
	for i := range 70000 {
		b.WriteString("aws,us-east-1,t3.micro," + date(2024, 1, 1).AddDate(0, 0, i%300).Format("2006-01-02") + ",1,1,1,1,1\n")
	}
	_, err := Parse(ctx, strings.NewReader(b.String()), "big.csv", &discard{}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
