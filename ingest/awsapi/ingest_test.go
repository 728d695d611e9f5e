package awsapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spotcast/spotcast/ingest/awsapi/ec2emu"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// ---- fixtures ----

func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not found at %s (expected ../shared/data beside the repository): %v", dir, err)
	}
	return dir
}

var (
	realOnce   sync.Once
	realPrices []ec2emu.SpotPrice
	realErr    error
)

// loadRealPrices is the real us-east-1 week of
// `aws ec2 describe-spot-price-history` output (75k records).
func loadRealPrices(t testing.TB) []ec2emu.SpotPrice {
	t.Helper()
	path := filepath.Join(sharedData(t), "aws", "spot-price-history", "us-east-1_2021-05-24_2021-05-31.describe-spot-price-history.json.gz")
	realOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			realErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			realErr = err
			return
		}
		realPrices, realErr = ec2emu.LoadSpotPriceHistoryJSON(zr)
	})
	if realErr != nil {
		t.Fatalf("%s: %v", path, realErr)
	}
	return realPrices
}

// loadRealTypes is every real describe-instance-types document.
func loadRealTypes(t testing.TB) []ec2emu.InstanceType {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedData(t), "aws", "instance-types", "describe-instance-types", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no describe-instance-types data: %v", err)
	}
	var out []ec2emu.InstanceType
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue // a few documents in the data set are empty
		}
		ts, err := ec2emu.LoadInstanceTypesJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ts...)
	}
	return out
}

// realNow is just after the last record of the real week.
var realNow = time.Date(2021, 5, 31, 2, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	emu   *ec2emu.Server
	srv   *httptest.Server
	store *storage.Store
	cfg   aws.Config
	now   time.Time
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, emu: ec2emu.New(), now: realNow, logs: &syncBuffer{}}
	f.emu.SetRegions(ec2emu.StandardRegions()...)
	f.srv = httptest.NewServer(f.emu)
	t.Cleanup(f.srv.Close)
	st, err := storage.Open(context.Background(), "", storage.Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	f.cfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	return f
}

func (f *fixture) opts() Options {
	return Options{
		EndpointURL: f.srv.URL,
		Now:         func() time.Time { return f.now },
		MaxBackoff:  2 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(f.logs, nil)),
	}
}

func (f *fixture) ingest(o Options) (Report, error) {
	f.t.Helper()
	return Ingest(context.Background(), f.store, f.cfg, o)
}

func (f *fixture) count(table string) int64 {
	f.t.Helper()
	c, err := f.store.Counts(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return c[table]
}

func (f *fixture) watermark(region string) (time.Time, bool) {
	f.t.Helper()
	wm, ok, err := f.store.Watermark(context.Background(), WatermarkSource(region))
	if err != nil {
		f.t.Fatal(err)
	}
	return wm, ok
}

func regionReport(t *testing.T, rep Report, region string) RegionReport {
	t.Helper()
	for _, r := range rep.Regions {
		if r.Region == region {
			return r
		}
	}
	t.Fatalf("no report for region %s in %+v", region, rep.Regions)
	return RegionReport{}
}

// served computes, independently of the emulator, what EC2 answers for a
// window: the records in [from, to] plus each pool's last change before
// from. It returns the records and the number of distinct natural keys.
func served(data []ec2emu.SpotPrice, region string, from, to time.Time, typesIn []string) (recs []ec2emu.SpotPrice, distinct int) {
	type key struct{ z, t, p string }
	last := map[key]ec2emu.SpotPrice{}
	for _, p := range data {
		r, err := market.RegionOfZone(p.AvailabilityZone)
		if err != nil || r != region || p.Timestamp.After(to) || (len(typesIn) > 0 && !slices.Contains(typesIn, p.InstanceType)) {
			continue
		}
		if p.Timestamp.Before(from) {
			k := key{p.AvailabilityZone, p.InstanceType, p.ProductDescription}
			if b, ok := last[k]; !ok || p.Timestamp.After(b.Timestamp) {
				last[k] = p
			}
			continue
		}
		recs = append(recs, p)
	}
	for _, p := range last {
		recs = append(recs, p)
	}
	type nk struct {
		key
		ts time.Time
	}
	seen := map[nk]bool{}
	for _, p := range recs {
		seen[nk{key{p.AvailabilityZone, p.InstanceType, p.ProductDescription}, p.Timestamp}] = true
	}
	return recs, len(seen)
}

// inRegion copies records into another region's zones (us-east-1a ->
// us-west-2a), for tests that need several regions with data.
func inRegion(data []ec2emu.SpotPrice, region string, typesIn ...string) []ec2emu.SpotPrice {
	var out []ec2emu.SpotPrice
	for _, p := range data {
		if !slices.Contains(typesIn, p.InstanceType) {
			continue
		}
		p.AvailabilityZone = region + p.AvailabilityZone[len(p.AvailabilityZone)-1:]
		out = append(out, p)
	}
	return out
}

// synthetic makes n records per pool in us-east-1, one an hour ending at
// end, with prices that change every record.
func synthetic(end time.Time, n int, zones, typesIn []string) []ec2emu.SpotPrice {
	var out []ec2emu.SpotPrice
	for zi, z := range zones {
		for ti, it := range typesIn {
			for i := range n {
				out = append(out, ec2emu.SpotPrice{
					AvailabilityZone:   z,
					InstanceType:       it,
					ProductDescription: "Linux/UNIX",
					SpotPrice:          strconv.FormatFloat(0.1+float64(zi)*0.01+float64(ti)*0.1+float64(i)*0.001, 'f', 6, 64),
					Timestamp:          end.Add(-time.Duration(n-1-i) * time.Hour),
				})
			}
		}
	}
	return out
}

// ---- tests ----

// TestIngestRealWeek ingests the real us-east-1 week through the SDK and
// checks every count against one computed from the data directly.
func TestIngestRealWeek(t *testing.T) {
	data := loadRealPrices(t)
	f := newFixture(t)
	f.emu.AddSpotPrices(data...)
	f.emu.AddInstanceTypes(loadRealTypes(t)...)
	o := f.opts()
	o.Regions = []string{"us-east-1"}

	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	from := realNow.Add(-DefaultBackfill)
	want, distinct := served(data, "us-east-1", from, realNow, nil)
	r := regionReport(t, rep, "us-east-1")
	if r.Error != "" || r.BadRows != 0 {
		t.Fatalf("region report %+v", r)
	}
	if r.RowsRead != int64(len(want)) || r.RowsStored != int64(distinct) || r.Duplicates != int64(len(want)-distinct) {
		t.Errorf("read %d stored %d duplicates %d; want %d, %d, %d", r.RowsRead, r.RowsStored, r.Duplicates, len(want), distinct, len(want)-distinct)
	}
	if wantPages := (len(want) + 999) / 1000; r.Pages != wantPages {
		t.Errorf("pages = %d, want %d", r.Pages, wantPages)
	}
	if !r.From.Equal(from) || !r.To.Equal(realNow) {
		t.Errorf("window %s..%s, want %s..%s", r.From, r.To, from, realNow)
	}
	if got := f.count("prices"); got != int64(distinct) {
		t.Errorf("store has %d prices, want %d", got, distinct)
	}
	if wm, ok := f.watermark("us-east-1"); !ok || !wm.Equal(realNow) {
		t.Errorf("watermark = %v %v, want %v", wm, ok, realNow)
	}

	// One pool, point by point.
	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	var wantPts []ec2emu.SpotPrice
	for _, p := range want {
		if p.AvailabilityZone == key.Zone && p.InstanceType == key.InstanceType && p.ProductDescription == key.Product {
			wantPts = append(wantPts, p)
		}
	}
	slices.SortFunc(wantPts, func(a, b ec2emu.SpotPrice) int { return a.Timestamp.Compare(b.Timestamp) })
	got, err := f.store.Series(context.Background(), key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wantPts) || len(got) == 0 {
		t.Fatalf("%s: %d points stored, want %d", key, len(got), len(wantPts))
	}
	for i, p := range got {
		wp, _ := strconv.ParseFloat(wantPts[i].SpotPrice, 64)
		if !p.Time.Equal(wantPts[i].Timestamp) || p.Price != wp || p.Source != market.SourceAWSAPI || !p.FetchedAt.Equal(realNow) {
			t.Errorf("point %d = %v %v %s %v; want %v %v aws-api %v", i, p.Time, p.Price, p.Source, p.FetchedAt, wantPts[i].Timestamp, wp, realNow)
		}
	}

	// The catalogue of the types seen: the real documents cover most.
	c := rep.InstanceTypes
	if c == nil || c.Error != "" {
		t.Fatalf("catalogue report %+v", c)
	}
	known := map[string]bool{}
	for _, it := range loadRealTypes(t) {
		known[it.Name] = true
	}
	seen := map[string]bool{}
	for _, p := range want {
		seen[p.InstanceType] = true
	}
	wantFound := 0
	var wantMissing []string
	for n := range seen {
		if known[n] {
			wantFound++
		} else {
			wantMissing = append(wantMissing, n)
		}
	}
	slices.Sort(wantMissing)
	gotMissing := slices.Sorted(slices.Values(c.NotFound))
	if c.Requested != len(seen) || c.RowsRead != int64(wantFound) || c.RowsStored != int64(wantFound) || !slices.Equal(gotMissing, wantMissing) {
		t.Errorf("catalogue requested %d read %d stored %d missing %v; want %d, %d, %d, %v", c.Requested, c.RowsRead, c.RowsStored, gotMissing, len(seen), wantFound, wantFound, wantMissing)
	}
	if c.GPUTypes == 0 {
		t.Error("no GPU type in the catalogue")
	}
	if got := f.count("instance_types"); got != int64(wantFound) {
		t.Errorf("store has %d instance types, want %d", got, wantFound)
	}
	if rep.RowsRead != r.RowsRead+c.RowsRead || rep.RowsStored != r.RowsStored+c.RowsStored {
		t.Errorf("totals read %d stored %d do not add up", rep.RowsRead, rep.RowsStored)
	}
}

// TestIngestPagesAllEnabledRegions: DescribeRegions picks the enabled
// regions, each is paged through in small pages, and regions without data
// succeed with nothing.
func TestIngestPagesAllEnabledRegions(t *testing.T) {
	data := loadRealPrices(t)
	types := []string{"p3.2xlarge", "g4dn.xlarge", "m5.large"}
	f := newFixture(t)
	f.emu.AddSpotPrices(data...)
	f.emu.AddSpotPrices(inRegion(data, "us-west-2", types...)...)
	f.emu.AddSpotPrices(inRegion(data, "eu-west-1", types[:1]...)...)
	o := f.opts()
	o.InstanceTypes = types
	o.PageSize = 7
	o.Concurrency = 3
	o.SkipCatalogue = true

	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Regions) != len(ec2emu.StandardRegions())-1 {
		t.Fatalf("%d regions read, want the %d enabled ones", len(rep.Regions), len(ec2emu.StandardRegions())-1)
	}
	all := append(append(slices.Clone(data), inRegion(data, "us-west-2", types...)...), inRegion(data, "eu-west-1", types[:1]...)...)
	var total int64
	for _, r := range rep.Regions {
		want, distinct := served(all, r.Region, realNow.Add(-DefaultBackfill), realNow, types)
		if r.Error != "" || r.RowsRead != int64(len(want)) || r.RowsStored != int64(distinct) {
			t.Errorf("%s: %+v; want %d read, %d stored", r.Region, r, len(want), distinct)
		}
		if wantPages := max(1, (len(want)+6)/7); r.Pages != wantPages {
			t.Errorf("%s: %d pages, want %d", r.Region, r.Pages, wantPages)
		}
		if _, ok := f.watermark(r.Region); !ok {
			t.Errorf("%s: no watermark", r.Region)
		}
		total += int64(distinct)
	}
	if regionReport(t, rep, "us-west-2").RowsStored == 0 || regionReport(t, rep, "eu-west-1").RowsStored == 0 {
		t.Error("regions with data stored nothing")
	}
	if got := f.count("prices"); got != total || rep.RowsStored != total {
		t.Errorf("store has %d prices, report says %d, want %d", got, rep.RowsStored, total)
	}
	if got := f.emu.LastForm(ec2emu.ActionDescribeSpotPriceHistory)["InstanceType.3"]; len(got) != 1 || got[0] != "m5.large" {
		t.Errorf("instance type filter not sent: %v", got)
	}
}

// TestThrottlingRetried checks that the configured retryer retries EC2's
// throttle codes with backoff, and gives up after MaxAttempts.
func TestThrottlingRetried(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	data := synthetic(end, 48, []string{"us-east-1a", "us-east-1b"}, []string{"m5.large", "c5.large"}) // 192 records
	tests := []struct {
		name        string
		action      string
		after, n    int
		fault       ec2emu.Fault
		maxAttempts int
		wantErr     string
		wantCalls   int // DescribeSpotPriceHistory calls
	}{
		{"RequestLimitExceeded mid-paging", ec2emu.ActionDescribeSpotPriceHistory, 2, 3, ec2emu.Throttled, 5, "", 4 + 3},
		{"EC2ThrottledException", ec2emu.ActionDescribeSpotPriceHistory, 0, 2, ec2emu.Fault{Status: 400, Code: "EC2ThrottledException", Message: "slow down"}, 5, "", 4 + 2},
		{"server error", ec2emu.ActionDescribeSpotPriceHistory, 1, 1, ec2emu.Fault{Status: 500, Code: "InternalError", Message: "An internal error has occurred"}, 3, "", 4 + 1},
		{"DescribeRegions throttled", ec2emu.ActionDescribeRegions, 0, 2, ec2emu.Throttled, 5, "", 4},
		{"gives up after max attempts", ec2emu.ActionDescribeSpotPriceHistory, 0, 10, ec2emu.Throttled, 3, "RequestLimitExceeded", 3},
		{"client error not retried", ec2emu.ActionDescribeSpotPriceHistory, 0, 1, ec2emu.Fault{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}, 5, "UnauthorizedOperation", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.emu.AddSpotPrices(data...)
			f.emu.SetRegions(ec2emu.Region{Name: "us-east-1", Endpoint: "ec2.us-east-1.amazonaws.com", OptInStatus: "opt-in-not-required"})
			f.now = end
			f.emu.Inject(tc.action, tc.after, tc.n, tc.fault)
			o := f.opts()
			o.PageSize = 50
			o.MaxAttempts = tc.maxAttempts
			o.SkipCatalogue = true
			rep, err := f.ingest(o)
			calls := f.emu.Calls(ec2emu.ActionDescribeSpotPriceHistory)
			if calls != tc.wantCalls {
				t.Errorf("DescribeSpotPriceHistory calls = %d, want %d", calls, tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rep.RowsStored != int64(len(data)) || f.count("prices") != int64(len(data)) {
					t.Errorf("stored %d (store %d), want %d", rep.RowsStored, f.count("prices"), len(data))
				}
				return
			}
			if !errors.Is(err, ErrAllRegionsFailed) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want ErrAllRegionsFailed naming %s", err, tc.wantErr)
			}
			if r := regionReport(t, rep, "us-east-1"); !strings.Contains(r.Error, tc.wantErr) {
				t.Errorf("region error %q, want %s", r.Error, tc.wantErr)
			}
			if f.count("prices") != 0 {
				t.Error("a failed region stored rows")
			}
		})
	}
}

// TestMalformedRecordsSkippedAndCounted: bad records are skipped,
// counted and named; the good ones are stored.
func TestMalformedRecordsSkippedAndCounted(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	good := synthetic(end, 10, []string{"us-east-1a"}, []string{"m5.large"})
	bad := []ec2emu.SpotPrice{
		{AvailabilityZone: "us-east-1b", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "abc", Timestamp: end.Add(-time.Hour)},
		{AvailabilityZone: "us-east-1b", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "-0.5", Timestamp: end.Add(-2 * time.Hour)},
		{AvailabilityZone: "us-east-1b", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "NaN", Timestamp: end.Add(-3 * time.Hour)},
		{AvailabilityZone: "us-east-1b", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "", Timestamp: end.Add(-4 * time.Hour)},
		{AvailabilityZone: "", Region: "us-east-1", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.1", Timestamp: end.Add(-5 * time.Hour)},
		{AvailabilityZone: "us-east-1c", InstanceType: "m5.large", ProductDescription: "", SpotPrice: "0.1", Timestamp: end.Add(-6 * time.Hour)},
	}
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(good...)
	f.emu.AddSpotPrices(bad...)
	o := f.opts()
	o.Regions = []string{"us-east-1"}
	o.SkipCatalogue = true
	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	r := regionReport(t, rep, "us-east-1")
	if r.BadRows != int64(len(bad)) || rep.BadRows != int64(len(bad)) || r.RowsRead != int64(len(good)+len(bad)) || r.RowsStored != int64(len(good)) {
		t.Fatalf("report %+v; want %d bad, %d read, %d stored", r, len(bad), len(good)+len(bad), len(good))
	}
	joined := strings.Join(r.BadRecords, "\n")
	for _, want := range []string{`"abc"`, `"-0.5"`, `"NaN"`, `""`, "no availability zone", "no product description"} {
		if !strings.Contains(joined, want) {
			t.Errorf("bad records do not name %s:\n%s", want, joined)
		}
	}
	if f.count("prices") != int64(len(good)) {
		t.Errorf("store has %d prices, want %d", f.count("prices"), len(good))
	}
	if !strings.Contains(f.logs.String(), "bad records skipped") {
		t.Errorf("no warning logged:\n%s", f.logs.String())
	}
}

// TestRegionFailureIsolated: one region failing is reported while the
// others finish; all failing is an error.
func TestRegionFailureIsolated(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	data := synthetic(end, 20, []string{"us-east-1a"}, []string{"m5.large", "p3.2xlarge"})
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(data...)
	f.emu.AddSpotPrices(inRegion(data, "us-west-2", "m5.large")...)
	f.emu.AddSpotPrices(inRegion(data, "eu-west-1", "p3.2xlarge")...)
	f.emu.AddInstanceTypes(ec2emu.InstanceType{Name: "m5.large", VCPUs: 2, MemoryMiB: 8192, Architectures: []string{"x86_64"}},
		ec2emu.InstanceType{Name: "p3.2xlarge", VCPUs: 8, MemoryMiB: 62464, Architectures: []string{"x86_64"}, GPUs: []ec2emu.GPU{{Name: "V100", Manufacturer: "NVIDIA", Count: 1, MemoryMiB: 16384}}})
	f.emu.FailRegion("us-west-2", ec2emu.Fault{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	o := f.opts()
	o.Regions = []string{"us-east-1", "us-west-2", "eu-west-1"}

	rep, err := f.ingest(o)
	if err != nil {
		t.Fatalf("one failed region failed the run: %v", err)
	}
	if rep.FailedRegions != 1 || !strings.Contains(regionReport(t, rep, "us-west-2").Error, "UnauthorizedOperation") {
		t.Errorf("failed %d, us-west-2 %+v", rep.FailedRegions, regionReport(t, rep, "us-west-2"))
	}
	if _, ok := f.watermark("us-west-2"); ok {
		t.Error("failed region got a watermark")
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		if r := regionReport(t, rep, region); r.Error != "" || r.RowsStored == 0 {
			t.Errorf("%s: %+v", region, r)
		}
	}
	if want := int64(len(data) + 20); f.count("prices") != want {
		t.Errorf("store has %d prices, want %d", f.count("prices"), want)
	}
	if c := rep.InstanceTypes; c == nil || c.RowsStored != 2 || c.GPUTypes != 1 {
		t.Errorf("catalogue %+v", c)
	}
	if !strings.Contains(f.logs.String(), "region failed") {
		t.Error("failed region not logged")
	}

	f.emu.FailRegion("us-east-1", ec2emu.Fault{Status: 403, Code: "UnauthorizedOperation", Message: "no"})
	f.emu.FailRegion("eu-west-1", ec2emu.Fault{Status: 403, Code: "UnauthorizedOperation", Message: "no"})
	rep, err = f.ingest(o)
	if !errors.Is(err, ErrAllRegionsFailed) || rep.FailedRegions != 3 {
		t.Errorf("all regions failing: err %v, %d failed", err, rep.FailedRegions)
	}
}

// TestFailureMidRegionStoresNothing: a region that fails after some
// pages stores none of them and keeps its old watermark; the next run
// reads the whole window again.
func TestFailureMidRegionStoresNothing(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(synthetic(end, 24, []string{"us-east-1a", "us-east-1b"}, []string{"m5.large"})...)
	o := f.opts()
	o.Regions = []string{"us-east-1"}
	o.PageSize = 4
	o.MaxAttempts = 2
	o.SkipCatalogue = true
	if _, err := f.ingest(o); err != nil {
		t.Fatal(err)
	}
	first := f.count("prices")
	wm1, _ := f.watermark("us-east-1")

	// Three hours later, with new prices; the run fails on its 3rd page.
	f.now = end.Add(3 * time.Hour)
	f.emu.AddSpotPrices(synthetic(f.now, 3, []string{"us-east-1a", "us-east-1b"}, []string{"m5.large"})...)
	// The window [end-1h, end+3h] holds 2 pools x (1 point before it + 5
	// in it) = 12 records: 3 pages of 4.
	f.emu.Inject(ec2emu.ActionDescribeSpotPriceHistory, 2, 2, ec2emu.Fault{Status: 503, Code: "Unavailable", Message: "The service is unavailable."})
	rep, err := f.ingest(o)
	if !errors.Is(err, ErrAllRegionsFailed) || !strings.Contains(regionReport(t, rep, "us-east-1").Error, "page 3") {
		t.Fatalf("err %v, report %+v", err, rep.Regions)
	}
	if f.count("prices") != first {
		t.Errorf("failed run changed the store: %d prices, was %d", f.count("prices"), first)
	}
	if wm, _ := f.watermark("us-east-1"); !wm.Equal(wm1) {
		t.Errorf("watermark moved to %v on a failed run", wm)
	}

	rep, err = f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	r := regionReport(t, rep, "us-east-1")
	if !r.From.Equal(wm1.Add(-DefaultOverlap)) {
		t.Errorf("resumed from %v, want the last committed watermark less the overlap, %v", r.From, wm1.Add(-DefaultOverlap))
	}
	// 3 new hourly points per pool (end+1h..end+3h); the rest were stored.
	if r.RowsStored != 6 || f.count("prices") != first+6 {
		t.Errorf("resumed run stored %d (store %d), want 6 (%d)", r.RowsStored, f.count("prices"), first+6)
	}
}

// TestIncrementalRun: a second run re-reads only the overlap and stores
// nothing new; a change published late inside the overlap is picked up.
func TestIncrementalRun(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.now = end
	data := synthetic(end, 72, []string{"us-east-1a", "us-east-1b", "us-east-1c"}, []string{"m5.large", "c5.large"})
	f.emu.AddSpotPrices(data...)
	o := f.opts()
	o.Regions = []string{"us-east-1"}
	o.SkipCatalogue = true
	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsStored != int64(len(data)) {
		t.Fatalf("first run stored %d, want %d", rep.RowsStored, len(data))
	}

	f.now = end.Add(30 * time.Minute)
	rep, err = f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	r := regionReport(t, rep, "us-east-1")
	// The window is [end-1h, end+30m]: for each of 6 pools the points
	// at end-1h and end, and the one before the window (the price in
	// effect at its start), all already stored.
	if !r.From.Equal(end.Add(-DefaultOverlap)) || r.RowsRead != 18 || r.RowsStored != 0 || r.Duplicates != 18 {
		t.Errorf("second run %+v; want from %v, 18 read, 0 stored, 18 duplicates", r, end.Add(-DefaultOverlap))
	}
	if f.count("prices") != int64(len(data)) {
		t.Errorf("store has %d prices after the second run, want %d", f.count("prices"), len(data))
	}

	// A change stamped 20 minutes before the last run but published only
	// now, and a change after it.
	f.emu.AddSpotPrices(
		ec2emu.SpotPrice{AvailabilityZone: "us-east-1a", InstanceType: "m5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.5", Timestamp: end.Add(10 * time.Minute)},
		ec2emu.SpotPrice{AvailabilityZone: "us-east-1b", InstanceType: "c5.large", ProductDescription: "Linux/UNIX", SpotPrice: "0.6", Timestamp: end.Add(50 * time.Minute)},
	)
	f.now = end.Add(time.Hour)
	rep, err = f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsStored != 2 || f.count("prices") != int64(len(data))+2 {
		t.Errorf("third run stored %d (store %d), want 2 (%d)", rep.RowsStored, f.count("prices"), len(data)+2)
	}

	// Since overrides the watermark.
	o.Since = 24 * time.Hour
	rep, err = f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if r := regionReport(t, rep, "us-east-1"); !r.From.Equal(f.now.Add(-24*time.Hour)) || r.RowsStored != 0 || r.Duplicates < 24*6 {
		t.Errorf("since run %+v", r)
	}
}

// TestPlacementBudget: requests within the budget are sent and stored,
// one over it is skipped with a warning, and configurations already used
// in the last 24 h may be sent again.
func TestPlacementBudget(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(synthetic(end, 2, []string{"us-east-1a"}, []string{"m5.large"})...)
	f.emu.SetPlacementScores(
		ec2emu.PlacementScore{Region: "us-east-1", Score: 7},
		ec2emu.PlacementScore{Region: "us-west-2", Score: 9},
		ec2emu.PlacementScore{Region: "us-east-1", AvailabilityZoneID: "use1-az1", Score: 8},
		ec2emu.PlacementScore{Region: "us-east-1", AvailabilityZoneID: "use1-az2", Score: 3},
	)
	o := f.opts()
	o.Regions = []string{"us-east-1", "us-west-2"}
	o.SkipCatalogue = true
	o.PlacementBudget = 2
	o.PlacementRequests = []PlacementRequest{
		{Name: "gpu", InstanceTypes: []string{"p3.2xlarge", "p3.8xlarge", "g4dn.xlarge"}, TargetCapacity: 4},
		{Name: "az", InstanceTypes: []string{"m5.large", "m5.xlarge", "c5.large"}, TargetCapacity: 10, SingleAZ: true, Regions: []string{"us-east-1"}},
		{Name: "big", InstanceTypes: []string{"p4d.24xlarge", "p5.48xlarge", "p3dn.24xlarge"}, TargetCapacity: 64, CapacityUnit: "vcpu"},
	}
	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Placement) != 3 {
		t.Fatalf("placement reports %+v", rep.Placement)
	}
	gpu, az, big := rep.Placement[0], rep.Placement[1], rep.Placement[2]
	if gpu.RowsStored != 2 || az.RowsStored != 2 || gpu.Skipped != "" || az.Skipped != "" {
		t.Errorf("within budget: %+v %+v", gpu, az)
	}
	if big.Skipped == "" || big.RowsRead != 0 {
		t.Errorf("over budget request was not skipped: %+v", big)
	}
	if n := f.emu.PlacementConfigs(); n != 2 {
		t.Errorf("emulator saw %d configurations, want 2", n)
	}
	if f.count("placement_scores") != 4 {
		t.Errorf("store has %d placement scores, want 4", f.count("placement_scores"))
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "budget=2") || !strings.Contains(logs, "placement request skipped: over budget") {
		t.Errorf("budget not logged:\n%s", logs)
	}
	if got := f.emu.LastForm(ec2emu.ActionGetSpotPlacementScores); got["SingleAvailabilityZone"][0] != "true" || got["RegionName.1"][0] != "us-east-1" || got["TargetCapacity"][0] != "10" {
		t.Errorf("az request sent as %v", got)
	}

	// An hour later the same two configurations are sent again; the third
	// is still over budget.
	f.now = end.Add(time.Hour)
	rep, err = f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Placement[0].RowsStored != 2 || rep.Placement[1].RowsStored != 2 || rep.Placement[2].Skipped == "" {
		t.Errorf("second run %+v", rep.Placement)
	}
	if n := f.emu.PlacementConfigs(); n != 2 {
		t.Errorf("emulator saw %d configurations, want still 2", n)
	}
	if f.count("placement_scores") != 8 {
		t.Errorf("store has %d placement scores, want 8", f.count("placement_scores"))
	}
}

func TestPlacementRequirements(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(synthetic(end, 2, []string{"us-east-1a"}, []string{"m5.large"})...)
	f.emu.SetPlacementScores(ec2emu.PlacementScore{Region: "us-east-1", Score: 6})
	o := f.opts()
	o.Regions = []string{"us-east-1"}
	o.SkipCatalogue = true
	o.PlacementRequests = []PlacementRequest{{
		Requirements:   `{"ArchitectureTypes": ["x86_64"], "InstanceRequirements": {"VCpuCount": {"Min": 4, "Max": 16}, "MemoryMiB": {"Min": 16384}}}`,
		TargetCapacity: 32, CapacityUnit: "vcpu",
	}}
	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Placement[0]; p.Error != "" || p.RowsStored != 1 {
		t.Fatalf("placement %+v", p)
	}
	form := f.emu.LastForm(ec2emu.ActionGetSpotPlacementScores)
	for k, want := range map[string]string{
		"InstanceRequirementsWithMetadata.ArchitectureType.1":                 "x86_64",
		"InstanceRequirementsWithMetadata.InstanceRequirements.VCpuCount.Min": "4",
		"InstanceRequirementsWithMetadata.InstanceRequirements.VCpuCount.Max": "16",
		"InstanceRequirementsWithMetadata.InstanceRequirements.MemoryMiB.Min": "16384",
		"TargetCapacityUnitType": "vcpu",
	} {
		if got := form[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}

	bad := []PlacementRequest{
		{Requirements: `{"VCpus": 4}`, TargetCapacity: 1},
		{InstanceTypes: []string{"m5.large"}, Requirements: `{}`, TargetCapacity: 1},
		{InstanceTypes: []string{"m5.large"}},
		{InstanceTypes: []string{"m5.large"}, TargetCapacity: 1, CapacityUnit: "gpus"},
	}
	for i, p := range bad {
		o.PlacementRequests = []PlacementRequest{p}
		if _, err := f.ingest(o); err == nil || !strings.Contains(err.Error(), "placement request 1") {
			t.Errorf("bad request %d: err = %v", i, err)
		}
	}
}

// TestAWSCLIReadsWhatGoStored: the AWS CLI, pointed at the same endpoint,
// reads exactly the records the Go SDK ingested into the store.
func TestAWSCLIReadsWhatGoStored(t *testing.T) {
	cli, err := ec2emu.AWSCLI()
	if err != nil {
		t.Skipf("skipping the AWS CLI cross-check: %v", err)
	}
	data := loadRealPrices(t)
	types := []string{"p3.2xlarge", "g4dn.xlarge", "m5.large", "c5.2xlarge"}
	products := []string{"Linux/UNIX", "Windows"}
	f := newFixture(t)
	f.emu.AddSpotPrices(data...)
	o := f.opts()
	o.Regions = []string{"us-east-1"}
	o.InstanceTypes = types
	o.ProductDescriptions = products
	o.Backfill = 3 * 24 * time.Hour
	o.SkipCatalogue = true
	rep, err := f.ingest(o)
	if err != nil {
		t.Fatal(err)
	}
	r := regionReport(t, rep, "us-east-1")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"ec2", "describe-spot-price-history",
		"--start-time", r.From.Format(time.RFC3339), "--end-time", r.To.Format(time.RFC3339),
		"--instance-types"}
	args = append(args, types...)
	args = append(args, "--product-descriptions")
	args = append(args, products...)
	args = append(args, "--endpoint-url", f.srv.URL, "--region", "us-east-1", "--output", "json")
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = ec2emu.CLIEnv(t.TempDir(), "us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", cli, strings.Join(args, " "), err, stderr.String())
	}
	var doc struct {
		SpotPriceHistory []struct {
			AvailabilityZone, InstanceType, ProductDescription, SpotPrice string
			Timestamp                                                     time.Time
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("CLI output: %v", err)
	}
	if int64(len(doc.SpotPriceHistory)) != r.RowsRead || r.RowsStored == 0 {
		t.Fatalf("CLI read %d records, the Go client %d", len(doc.SpotPriceHistory), r.RowsRead)
	}

	type point struct {
		ts    time.Time
		price float64
	}
	cliPools := map[market.PoolKey][]point{}
	for _, rec := range doc.SpotPriceHistory {
		price, err := strconv.ParseFloat(rec.SpotPrice, 64)
		if err != nil {
			t.Fatal(err)
		}
		k := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: rec.AvailabilityZone, InstanceType: rec.InstanceType, Product: rec.ProductDescription}
		cliPools[k] = append(cliPools[k], point{rec.Timestamp.UTC(), price})
	}
	var total int64
	for k, pts := range cliPools {
		slices.SortFunc(pts, func(a, b point) int { return a.ts.Compare(b.ts) })
		pts = slices.CompactFunc(pts, func(a, b point) bool { return a.ts.Equal(b.ts) })
		stored, err := f.store.Series(context.Background(), k, time.Time{}, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		var got []point
		for _, p := range stored {
			got = append(got, point{p.Time, p.Price})
		}
		if !slices.Equal(got, pts) {
			t.Errorf("%s: store has %v, the CLI read %v", k, got, pts)
		}
		total += int64(len(pts))
	}
	if f.count("prices") != total {
		t.Errorf("store has %d prices, the CLI read %d distinct", f.count("prices"), total)
	}
}

func TestReportJSON(t *testing.T) {
	rep := Report{Source: market.SourceAWSAPI, RowsRead: 3, RowsStored: 2, Duplicates: 1,
		Regions: []RegionReport{{Region: "us-east-1", RowsRead: 3}}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rows_read", "rows_stored", "duplicates", "bad_rows", "failed_regions", "regions", "source"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
	if m["rows_read"].(float64) != 3 || m["regions"].([]any)[0].(map[string]any)["region"] != "us-east-1" {
		t.Errorf("report JSON %s", b)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"empty region", Options{Regions: []string{"us-east-1", " "}}, "region 2 is empty"},
		{"negative overlap", Options{Overlap: -time.Minute}, "overlap"},
		{"negative page size", Options{PageSize: -1}, "page size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Ingest(context.Background(), nil, aws.Config{}, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	o, err := Options{Backfill: 200 * 24 * time.Hour}.withDefaults()
	if err != nil || o.Backfill != MaxHistory || o.Concurrency != DefaultConcurrency || o.Overlap != DefaultOverlap || o.PlacementBudget != DefaultPlacementBudget {
		t.Errorf("defaults %+v, %v", o, err)
	}
}

func TestCredentialsAndConfig(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, Options{EndpointURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != DefaultRegion || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Errorf("region %q endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	if HaveCredentials(ctx, cfg) {
		t.Error("credentials found with none configured")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err = LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !HaveCredentials(ctx, cfg) || cfg.Region != "eu-west-1" || cfg.BaseEndpoint != nil {
		t.Errorf("with env credentials: have %v, region %q", HaveCredentials(ctx, cfg), cfg.Region)
	}
}

// TestNoClosedConnections: the clients Ingest builds survive the SDK
// closing its request body early. Without bufferedBodyClient about a third
// of these calls failed with "use of closed network connection".
func TestNoClosedConnections(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	emu := ec2emu.New()
	emu.AddSpotPrices(synthetic(end, 50, []string{"us-east-1a", "us-east-1b"}, []string{"m5.large", "c5.large", "r5.large"})...)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	o, err := Options{EndpointURL: srv.URL, MaxAttempts: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	clients := sdkClients(aws.Config{Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}, o)
	in := &ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(end.Add(-24 * time.Hour)), EndTime: aws.Time(end), InstanceTypes: []types.InstanceType{"m5.large", "c5.large"}}
	for i := range 60 {
		if _, err := clients("us-east-1").DescribeSpotPriceHistory(context.Background(), in); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if n := emu.Calls(ec2emu.ActionDescribeSpotPriceHistory); n != 60 {
		t.Errorf("emulator saw %d calls, want 60", n)
	}
}

// TestCancelled: an ended context ends the run with its error and stores
// nothing.
func TestCancelled(t *testing.T) {
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.now = end
	f.emu.AddSpotPrices(synthetic(end, 24, []string{"us-east-1a"}, []string{"m5.large"})...)
	o := f.opts()
	o.Regions = []string{"us-east-1", "us-west-2"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Ingest(ctx, f.store, f.cfg, o)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if f.count("prices") != 0 {
		t.Error("a cancelled run stored rows")
	}
}
