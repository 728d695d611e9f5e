package ec2emu

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

var update = flag.Bool("update", false, "rewrite golden files")

var requestIDs = regexp.MustCompile(`<(requestId|RequestID)>[^<]*</(?:requestId|RequestID)>`)

// sharedData is ../shared/data beside the repository.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not found at %s (expected ../shared/data beside the repository): %v", dir, err)
	}
	return dir
}

func loadRealPrices(t testing.TB) []SpotPrice {
	t.Helper()
	path := filepath.Join(sharedData(t), "aws", "spot-price-history", "us-east-1_2021-05-24_2021-05-31.describe-spot-price-history.json.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("real describe-spot-price-history data not found: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p, err := LoadSpotPriceHistoryJSON(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func loadRealTypes(t testing.TB, names ...string) []InstanceType {
	t.Helper()
	dir := filepath.Join(sharedData(t), "aws", "instance-types", "describe-instance-types")
	var out []InstanceType
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n+".json"))
		if err != nil {
			t.Skipf("real describe-instance-types data not found: %v", err)
		}
		ts, err := LoadInstanceTypesJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, ts...)
	}
	return out
}

// bufferedBody gives the transport its own copy of the request body: the
// SDK closes the body it built as soon as response headers arrive, racing
// net/http's check for trailing body bytes, which then closes the
// connection under the response (aws/aws-sdk-go-v2 issues 1825, 2737).
// Package awsapi does the same for its clients.
type bufferedBody struct{ next *http.Client }

func (c bufferedBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	return c.next.Do(req)
}

// newClient is an SDK client without retries, so every call the test
// makes is one call the emulator sees.
func newClient(url, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:           region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bufferedBody{&http.Client{}},
	})
}

// record is a comparable form of one price record.
type record struct {
	Zone, Type, Product, Price string
	Time                       time.Time
}

func expected(data []SpotPrice, region string, start, end time.Time, typesIn, products []string) []record {
	type key struct{ z, t, p string }
	var out []record
	last := map[key]SpotPrice{}
	for _, p := range data {
		if p.AvailabilityZone == "" {
			continue
		}
		r := p.AvailabilityZone[:len(p.AvailabilityZone)-1]
		if r != region || (len(typesIn) > 0 && !slices.Contains(typesIn, p.InstanceType)) || (len(products) > 0 && !slices.Contains(products, p.ProductDescription)) {
			continue
		}
		if p.Timestamp.After(end) {
			continue
		}
		if p.Timestamp.Before(start) {
			k := key{p.AvailabilityZone, p.InstanceType, p.ProductDescription}
			if b, ok := last[k]; !ok || p.Timestamp.After(b.Timestamp) {
				last[k] = p
			}
			continue
		}
		out = append(out, record{p.AvailabilityZone, p.InstanceType, p.ProductDescription, p.SpotPrice, p.Timestamp})
	}
	for _, p := range last {
		out = append(out, record{p.AvailabilityZone, p.InstanceType, p.ProductDescription, p.SpotPrice, p.Timestamp})
	}
	sortRecords(out)
	return out
}

func sortRecords(r []record) {
	sort.Slice(r, func(i, j int) bool {
		a, b := r[i], r[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Zone+a.Type+a.Product < b.Zone+b.Type+b.Product
	})
}

func TestSDKPagesSpotPriceHistory(t *testing.T) {
	data := loadRealPrices(t)
	emu := New()
	emu.AddSpotPrices(data...)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	client := newClient(srv.URL, "us-east-1")

	start := time.Date(2021, 5, 27, 0, 0, 0, 0, time.UTC)
	end := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	typesIn := []string{"p3.2xlarge", "p3.8xlarge", "g4dn.xlarge", "g4dn.2xlarge", "m5.large", "m5.xlarge", "c5.xlarge", "r5.large"}
	products := []string{"Linux/UNIX", "Windows"}
	want := expected(data, "us-east-1", start, end, typesIn, products)
	if len(want) < 200 {
		t.Fatalf("test window too small: %d records", len(want))
	}

	tests := []struct {
		name      string
		pageSize  int32
		wantPages int
	}{
		{"default page", 0, (len(want) + 999) / 1000},
		{"small pages", 25, (len(want) + 24) / 25},
		{"one record per page", 1, len(want)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &ec2.DescribeSpotPriceHistoryInput{
				StartTime:           aws.Time(start),
				EndTime:             aws.Time(end),
				ProductDescriptions: products,
			}
			for _, it := range typesIn {
				in.InstanceTypes = append(in.InstanceTypes, types.InstanceType(it))
			}
			if tc.pageSize > 0 {
				in.MaxResults = aws.Int32(tc.pageSize)
			}
			before := emu.Calls(ActionDescribeSpotPriceHistory)
			pager := ec2.NewDescribeSpotPriceHistoryPaginator(client, in)
			var got []record
			pages := 0
			for pager.HasMorePages() {
				out, err := pager.NextPage(context.Background())
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				for _, p := range out.SpotPriceHistory {
					got = append(got, record{aws.ToString(p.AvailabilityZone), string(p.InstanceType), string(p.ProductDescription), aws.ToString(p.SpotPrice), aws.ToTime(p.Timestamp)})
				}
			}
			sortRecords(got)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d records, want %d (first got %+v, first want %+v)", len(got), len(want), got[:min(1, len(got))], want[0])
			}
			if pages != tc.wantPages {
				t.Errorf("pages = %d, want %d", pages, tc.wantPages)
			}
			if calls := emu.Calls(ActionDescribeSpotPriceHistory) - before; calls != pages {
				t.Errorf("emulator saw %d calls for %d pages", calls, pages)
			}
		})
	}
}

func TestSpotPriceHistoryRegionAndFilters(t *testing.T) {
	t0 := time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)
	emu := New()
	emu.AddSpotPrices(
		SpotPrice{"us-east-1a", "m5.large", "Linux/UNIX", "0.0400", t0, ""},
		SpotPrice{"us-east-1b", "m5.large", "Linux/UNIX", "0.0410", t0.Add(time.Hour), ""},
		SpotPrice{"us-east-1a", "m5.large", "Windows", "0.1200", t0.Add(2 * time.Hour), ""},
		SpotPrice{"us-west-2a", "m5.large", "Linux/UNIX", "0.0380", t0.Add(time.Hour), ""},
		SpotPrice{"", "m5.large", "Linux/UNIX", "0.0500", t0.Add(3 * time.Hour), "us-west-2"},
	)
	srv := httptest.NewServer(emu)
	defer srv.Close()

	tests := []struct {
		name   string
		region string
		in     ec2.DescribeSpotPriceHistoryInput
		want   []string // zone/product/price
	}{
		{"region by signature", "us-west-2", ec2.DescribeSpotPriceHistoryInput{}, []string{"/Linux/UNIX/0.0500", "us-west-2a/Linux/UNIX/0.0380"}},
		{"availability zone", "us-east-1", ec2.DescribeSpotPriceHistoryInput{AvailabilityZone: aws.String("us-east-1b")}, []string{"us-east-1b/Linux/UNIX/0.0410"}},
		{"product", "us-east-1", ec2.DescribeSpotPriceHistoryInput{ProductDescriptions: []string{"Windows"}}, []string{"us-east-1a/Windows/0.1200"}},
		{"filter", "us-east-1", ec2.DescribeSpotPriceHistoryInput{Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}}, []string{"us-east-1a/Windows/0.1200", "us-east-1a/Linux/UNIX/0.0400"}},
		// The change before StartTime is the price in effect at StartTime.
		{"start time keeps price in effect", "us-east-1", ec2.DescribeSpotPriceHistoryInput{StartTime: aws.Time(t0.Add(90 * time.Minute)), ProductDescriptions: []string{"Linux/UNIX"}}, []string{"us-east-1b/Linux/UNIX/0.0410", "us-east-1a/Linux/UNIX/0.0400"}},
		{"end time", "us-east-1", ec2.DescribeSpotPriceHistoryInput{EndTime: aws.Time(t0.Add(30 * time.Minute))}, []string{"us-east-1a/Linux/UNIX/0.0400"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := newClient(srv.URL, tc.region).DescribeSpotPriceHistory(context.Background(), &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range out.SpotPriceHistory {
				got = append(got, aws.ToString(p.AvailabilityZone)+"/"+string(p.ProductDescription)+"/"+aws.ToString(p.SpotPrice))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q (newest first)", got, tc.want)
			}
		})
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestErrors(t *testing.T) {
	emu := New()
	emu.AddSpotPrices(SpotPrice{"us-east-1a", "m5.large", "Linux/UNIX", "0.04", time.Now(), ""})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	ctx := context.Background()
	c := newClient(srv.URL, "us-east-1")

	emu.Throttle(ActionDescribeSpotPriceHistory, 1)
	_, err := c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{})
	if apiCode(err) != "RequestLimitExceeded" {
		t.Errorf("throttled call: got %v, want RequestLimitExceeded", err)
	}
	if _, err := c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{}); err != nil {
		t.Errorf("call after the throttled one: %v", err)
	}

	emu.FailRegion("us-east-1", Fault{Status: 403, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	_, err = c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{})
	if apiCode(err) != "UnauthorizedOperation" {
		t.Errorf("failed region: got %v", err)
	}
	if _, err := newClient(srv.URL, "us-west-2").DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{}); err != nil {
		t.Errorf("other region: %v", err)
	}
	emu.FailRegion("us-east-1", Fault{})

	_, err = c.DescribeSpotPriceHistory(ctx, &ec2.DescribeSpotPriceHistoryInput{NextToken: aws.String("bm90LWEtdG9rZW4")})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("bad token: got %v", err)
	}
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"x9.huge"}})
	if apiCode(err) != "InvalidInstanceType" || !strings.Contains(err.Error(), "x9.huge") {
		t.Errorf("unknown instance type: got %v", err)
	}
	_, err = c.GetSpotPlacementScores(ctx, &ec2.GetSpotPlacementScoresInput{TargetCapacity: aws.Int32(3)})
	if apiCode(err) != "MissingParameter" {
		t.Errorf("placement without types or requirements: got %v", err)
	}
}

// TestTokenBoundToQuery: a token from one query is refused for another.
func TestTokenBoundToQuery(t *testing.T) {
	emu := New()
	t0 := time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		emu.AddSpotPrices(SpotPrice{"us-east-1a", "m5.large", "Linux/UNIX", "0.04", t0.Add(time.Duration(i) * time.Minute), ""})
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	c := newClient(srv.URL, "us-east-1")
	out, err := c.DescribeSpotPriceHistory(context.Background(), &ec2.DescribeSpotPriceHistoryInput{MaxResults: aws.Int32(3)})
	if err != nil || out.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, out.NextToken)
	}
	_, err = c.DescribeSpotPriceHistory(context.Background(), &ec2.DescribeSpotPriceHistoryInput{MaxResults: aws.Int32(3), NextToken: out.NextToken, ProductDescriptions: []string{"Windows"}})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("token reused for another query: got %v", err)
	}
}

func TestSDKRegionsTypesScores(t *testing.T) {
	emu := New()
	emu.SetRegions(StandardRegions()...)
	emu.AddInstanceTypes(loadRealTypes(t, "p3.2xlarge", "p3.16xlarge", "g4dn.xlarge", "m5.large")...)
	emu.SetPlacementScores(
		PlacementScore{"us-east-1", "", 7},
		PlacementScore{"us-west-2", "", 9},
		PlacementScore{"eu-west-1", "", 3},
		PlacementScore{"us-east-1", "use1-az1", 8},
		PlacementScore{"us-east-1", "use1-az2", 2},
	)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	ctx := context.Background()
	c := newClient(srv.URL, "us-east-1")

	t.Run("regions", func(t *testing.T) {
		out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		all, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Regions) != len(StandardRegions())-1 || len(all.Regions) != len(StandardRegions()) {
			t.Errorf("enabled %d, all %d regions; want %d, %d", len(out.Regions), len(all.Regions), len(StandardRegions())-1, len(StandardRegions()))
		}
		if r := out.Regions[0]; aws.ToString(r.RegionName) != "us-east-1" || aws.ToString(r.Endpoint) != "ec2.us-east-1.amazonaws.com" || aws.ToString(r.OptInStatus) != "opt-in-not-required" {
			t.Errorf("first region %+v", r)
		}
	})
	t.Run("instance types", func(t *testing.T) {
		pager := ec2.NewDescribeInstanceTypesPaginator(c, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(1)})
		got := map[string]types.InstanceTypeInfo{}
		pages := 0
		for pager.HasMorePages() {
			out, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range out.InstanceTypes {
				got[string(it.InstanceType)] = it
			}
		}
		if pages != 4 || len(got) != 4 {
			t.Fatalf("%d pages, %d types; want 4, 4", pages, len(got))
		}
		p3 := got["p3.16xlarge"]
		if p3.GpuInfo == nil || len(p3.GpuInfo.Gpus) != 1 {
			t.Fatalf("p3.16xlarge GpuInfo = %+v", p3.GpuInfo)
		}
		g := p3.GpuInfo.Gpus[0]
		if aws.ToString(g.Name) != "V100" || aws.ToString(g.Manufacturer) != "NVIDIA" || aws.ToInt32(g.Count) != 8 || aws.ToInt32(g.MemoryInfo.SizeInMiB) != 16384 || aws.ToInt32(p3.GpuInfo.TotalGpuMemoryInMiB) != 8*16384 {
			t.Errorf("p3.16xlarge GPU = %s %s x%d %d MiB, total %d", aws.ToString(g.Name), aws.ToString(g.Manufacturer), aws.ToInt32(g.Count), aws.ToInt32(g.MemoryInfo.SizeInMiB), aws.ToInt32(p3.GpuInfo.TotalGpuMemoryInMiB))
		}
		if aws.ToInt32(p3.VCpuInfo.DefaultVCpus) != 64 || aws.ToInt64(p3.MemoryInfo.SizeInMiB) != 499712 || p3.ProcessorInfo.SupportedArchitectures[0] != "x86_64" {
			t.Errorf("p3.16xlarge vcpu %d mem %d arch %v", aws.ToInt32(p3.VCpuInfo.DefaultVCpus), aws.ToInt64(p3.MemoryInfo.SizeInMiB), p3.ProcessorInfo.SupportedArchitectures)
		}
		if got["m5.large"].GpuInfo != nil {
			t.Errorf("m5.large has GpuInfo %+v", got["m5.large"].GpuInfo)
		}
	})
	t.Run("placement scores", func(t *testing.T) {
		in := &ec2.GetSpotPlacementScoresInput{InstanceTypes: []string{"p3.2xlarge", "p3.8xlarge", "g4dn.xlarge"}, TargetCapacity: aws.Int32(4), MaxResults: aws.Int32(10)}
		out, err := c.GetSpotPlacementScores(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range out.SpotPlacementScores {
			got = append(got, fmt.Sprintf("%s/%s=%d", aws.ToString(s.Region), aws.ToString(s.AvailabilityZoneId), aws.ToInt32(s.Score)))
		}
		if want := []string{"us-west-2/=9", "us-east-1/=7", "eu-west-1/=3"}; !slices.Equal(got, want) {
			t.Errorf("region scores %q, want %q", got, want)
		}
		in.SingleAvailabilityZone = aws.Bool(true)
		in.RegionNames = []string{"us-east-1"}
		out, err = c.GetSpotPlacementScores(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.SpotPlacementScores) != 2 || aws.ToString(out.SpotPlacementScores[0].AvailabilityZoneId) != "use1-az1" {
			t.Errorf("zone scores %+v", out.SpotPlacementScores)
		}
		if n := emu.PlacementConfigs(); n != 2 {
			t.Errorf("PlacementConfigs = %d, want 2", n)
		}
	})
}

// TestGoldenXML pins the wire format of each answer.
func TestGoldenXML(t *testing.T) {
	t0 := time.Date(2021, 5, 30, 15, 22, 4, 0, time.UTC)
	emu := New()
	emu.SetRegions(Region{"us-east-1", "ec2.us-east-1.amazonaws.com", "opt-in-not-required"})
	emu.AddSpotPrices(
		SpotPrice{"us-east-1a", "p3.2xlarge", "Linux/UNIX", "0.918000", t0, ""},
		SpotPrice{"us-east-1b", "p3.2xlarge", "Linux/UNIX", "0.918000", t0.Add(-time.Hour), ""},
	)
	emu.AddInstanceTypes(InstanceType{Name: "p3.2xlarge", VCPUs: 8, MemoryMiB: 62464, Architectures: []string{"x86_64"}, GPUs: []GPU{{"V100", "NVIDIA", 1, 16384}}})
	emu.SetPlacementScores(PlacementScore{"us-east-1", "", 6})
	emu.Throttle("Throttled", 1)

	tests := []struct {
		name string
		form url.Values
	}{
		{"describe_regions", url.Values{"Action": {"DescribeRegions"}}},
		{"describe_spot_price_history", url.Values{"Action": {"DescribeSpotPriceHistory"}, "MaxResults": {"1"}}},
		{"describe_instance_types", url.Values{"Action": {"DescribeInstanceTypes"}, "InstanceType.1": {"p3.2xlarge"}}},
		{"get_spot_placement_scores", url.Values{"Action": {"GetSpotPlacementScores"}, "TargetCapacity": {"2"}, "InstanceType.1": {"p3.2xlarge"}}},
		{"error_throttled", url.Values{"Action": {"Throttled"}}},
		{"error_invalid_action", url.Values{"Action": {"RunInstances"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("Version", APIVersion)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			emu.ServeHTTP(rec, req)
			got := rec.Body.Bytes()
			// Every answer is well-formed XML.
			dec := xml.NewDecoder(bytes.NewReader(got))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("answer is not well-formed XML: %v\n%s", err, got)
				}
			}
			// Request ids differ from run to run; pin the rest.
			got = requestIDs.ReplaceAll(got, []byte("<$1>REQUEST-ID</$1>"))
			got = append(fmt.Appendf(nil, "HTTP %d\n", rec.Code), got...)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not json", "SpotPriceHistory", "invalid character"},
		{"wrong shape", `{"InstanceTypes": []}`, "no SpotPriceHistory array"},
		{"bad timestamp", `{"SpotPriceHistory":[{"AvailabilityZone":"us-east-1a","Timestamp":"2021-05-30 15:22"}]}`, "record 0: timestamp"},
		{"truncated", `{"SpotPriceHistory":[{"AvailabilityZone":"us-east-1a"`, "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSpotPriceHistoryJSON(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := LoadInstanceTypesJSON(strings.NewReader(`{"InstanceTypes":[{"VCpuInfo":{}}]}`)); err == nil || !strings.Contains(err.Error(), "entry 0: no InstanceType") {
		t.Errorf("instance type without name: %v", err)
	}
}

func FuzzLoadSpotPriceHistoryJSON(f *testing.F) {
	f.Add([]byte(`{"SpotPriceHistory":[{"AvailabilityZone":"us-east-1a","InstanceType":"m5.large","ProductDescription":"Linux/UNIX","SpotPrice":"0.04","Timestamp":"2021-05-30T15:22:04+00:00"}],"NextToken":""}`))
	f.Add([]byte(`{"SpotPriceHistory":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := LoadSpotPriceHistoryJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Timestamp.Location() != time.UTC {
				t.Fatalf("timestamp %v not in UTC", r.Timestamp)
			}
		}
	})
}

func FuzzLoadInstanceTypesJSON(f *testing.F) {
	f.Add([]byte(`{"InstanceTypes":[{"InstanceType":"p3.2xlarge","VCpuInfo":{"DefaultVCpus":8},"GpuInfo":{"Gpus":[{"Name":"V100","Count":1,"MemoryInfo":{"SizeInMiB":16384}}]}}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := LoadInstanceTypesJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, it := range ts {
			if it.Name == "" {
				t.Fatal("instance type without a name accepted")
			}
		}
	})
}

// FuzzServeHTTP: whatever form arrives, the answer is well-formed XML and
// a 200 or a 4xx, never a server error.
func FuzzServeHTTP(f *testing.F) {
	f.Add("DescribeSpotPriceHistory", "MaxResults", "0")
	f.Add("DescribeSpotPriceHistory", "StartTime", "yesterday")
	f.Add("DescribeSpotPriceHistory", "NextToken", "!!")
	f.Add("GetSpotPlacementScores", "TargetCapacity", "-1")
	f.Add("DescribeInstanceTypes", "InstanceType.1", "p3.2xlarge")
	f.Add("DescribeRegions", "AllRegions", "maybe")
	emu := New()
	emu.SetRegions(StandardRegions()...)
	emu.AddSpotPrices(SpotPrice{"us-east-1a", "m5.large", "Linux/UNIX", "0.04", time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC), ""})
	emu.AddInstanceTypes(InstanceType{Name: "p3.2xlarge", VCPUs: 8})
	f.Fuzz(func(t *testing.T, action, key, value string) {
		form := url.Values{"Action": {action}, "Version": {APIVersion}, key: {value}}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		emu.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %v", rec.Code, form)
		}
		dec := xml.NewDecoder(rec.Body)
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("not XML for %v: %v", form, err)
			}
		}
	})
}

// cliRecord is one record as the AWS CLI prints it.
type cliRecord struct {
	AvailabilityZone   string
	InstanceType       string
	ProductDescription string
	SpotPrice          string
	Timestamp          time.Time
}

// TestAWSCLIReadsEmulator runs the AWS CLI, a second and independent
// client, against the emulator: it must page through and parse the same
// records the Go SDK reads.
func TestAWSCLIReadsEmulator(t *testing.T) {
	cli, err := AWSCLI()
	if err != nil {
		t.Skipf("skipping the AWS CLI check: %v", err)
	}
	data := loadRealPrices(t)
	emu := New()
	emu.AddSpotPrices(data...)
	emu.SetRegions(StandardRegions()...)
	emu.AddInstanceTypes(loadRealTypes(t, "p3.2xlarge", "g4dn.xlarge")...)
	emu.SetPlacementScores(PlacementScore{"us-east-1", "", 7}, PlacementScore{"us-west-2", "", 9})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	home := t.TempDir()

	run := func(t *testing.T, args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append(args, "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json")
		cmd := exec.CommandContext(ctx, cli, args...)
		cmd.Env = CLIEnv(home, "us-east-1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", cli, strings.Join(args, " "), err, stderr.String())
		}
		return out
	}

	t.Run("describe-spot-price-history", func(t *testing.T) {
		start := time.Date(2021, 5, 30, 0, 0, 0, 0, time.UTC)
		end := time.Date(2021, 5, 30, 12, 0, 0, 0, time.UTC)
		typesIn := []string{"p3.2xlarge", "g4dn.xlarge", "m5.large"}
		want := expected(data, "us-east-1", start, end, typesIn, nil)
		before := emu.Calls(ActionDescribeSpotPriceHistory)
		out := run(t, "ec2", "describe-spot-price-history",
			"--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339),
			"--instance-types", typesIn[0], typesIn[1], typesIn[2], "--page-size", "20")
		var doc struct{ SpotPriceHistory []cliRecord }
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("CLI output: %v\n%s", err, out)
		}
		var got []record
		for _, r := range doc.SpotPriceHistory {
			got = append(got, record{r.AvailabilityZone, r.InstanceType, r.ProductDescription, r.SpotPrice, r.Timestamp.UTC()})
		}
		sortRecords(got)
		if !slices.Equal(got, want) {
			t.Fatalf("CLI read %d records, want %d", len(got), len(want))
		}
		if calls := emu.Calls(ActionDescribeSpotPriceHistory) - before; calls != (len(want)+19)/20 {
			t.Errorf("CLI made %d calls for %d records in pages of 20", calls, len(want))
		}
	})
	t.Run("describe-instance-types", func(t *testing.T) {
		out := run(t, "ec2", "describe-instance-types", "--instance-types", "p3.2xlarge")
		var doc struct {
			InstanceTypes []struct {
				InstanceType string
				VCpuInfo     struct{ DefaultVCpus int }
				GpuInfo      struct {
					Gpus []struct {
						Name       string
						Count      int
						MemoryInfo struct{ SizeInMiB int }
					}
					TotalGpuMemoryInMiB int
				}
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.InstanceTypes) != 1 {
			t.Fatalf("got %s", out)
		}
		it := doc.InstanceTypes[0]
		if it.InstanceType != "p3.2xlarge" || it.VCpuInfo.DefaultVCpus != 8 || len(it.GpuInfo.Gpus) != 1 || it.GpuInfo.Gpus[0].Name != "V100" || it.GpuInfo.Gpus[0].MemoryInfo.SizeInMiB != 16384 || it.GpuInfo.TotalGpuMemoryInMiB != 16384 {
			t.Errorf("CLI read %+v", it)
		}
	})
	t.Run("describe-regions", func(t *testing.T) {
		out := run(t, "ec2", "describe-regions")
		var doc struct {
			Regions []struct{ RegionName, Endpoint, OptInStatus string }
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Regions) != len(StandardRegions())-1 || doc.Regions[0].RegionName != "us-east-1" || doc.Regions[0].Endpoint == "" {
			t.Errorf("CLI read %+v", doc.Regions)
		}
	})
	t.Run("get-spot-placement-scores", func(t *testing.T) {
		out := run(t, "ec2", "get-spot-placement-scores", "--instance-types", "p3.2xlarge", "p3.8xlarge", "g4dn.xlarge", "--target-capacity", "4")
		var doc struct {
			SpotPlacementScores []struct {
				Region string
				Score  int
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.SpotPlacementScores) != 2 || doc.SpotPlacementScores[0].Region != "us-west-2" || doc.SpotPlacementScores[0].Score != 9 {
			t.Errorf("CLI read %+v", doc.SpotPlacementScores)
		}
	})
}
