package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/azure/azureemu"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// sampleItems are the items of the files package's sample page, written
// from the API's documentation.
func sampleItems(t *testing.T) []azureemu.Item {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "files", "testdata", "azure_retail_prices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Items []azureemu.Item }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.Items
}

// spotItems makes n spot meters of made-up sizes in a region, in the
// API's shape.
func spotItems(region string, n int) []azureemu.Item {
	var out []azureemu.Item
	for i := range n {
		out = append(out, azureemu.Item{
			"currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": 0.01 + float64(i)/1000, "unitPrice": 0.01 + float64(i)/1000,
			"armRegionName": region, "location": region, "effectiveStartDate": "2025-03-01T00:00:00Z",
			"meterName": fmt.Sprintf("E%d v5 Spot", i), "productName": "Virtual Machines Ev5 Series",
			"skuName": fmt.Sprintf("E%d v5 Spot", i), "serviceName": "Virtual Machines", "serviceFamily": "Compute",
			"unitOfMeasure": "1 Hour", "type": "Consumption", "isPrimaryMeterRegion": true,
			"armSkuName": fmt.Sprintf("Standard_E%d_v5", i),
		})
	}
	return out
}

// expected counts, per region, the spot and on-demand prices an item list
// should store, by the API's documented rules, read straight off the
// items.
func expected(items []azureemu.Item) map[string][2]int {
	out := map[string][2]int{}
	for _, it := range items {
		s := func(k string) string { v, _ := it[k].(string); return v }
		region := s("armRegionName")
		if s("serviceName") != "Virtual Machines" || s("type") != "Consumption" || strings.Contains(s("skuName"), "Low Priority") ||
			strings.Contains(s("productName"), "Cloud Services") || !market.KnownRegion(market.Azure, region) {
			continue
		}
		c := out[region]
		if strings.HasSuffix(s("skuName"), " Spot") {
			c[0]++
		} else {
			c[1]++
		}
		out[region] = c
	}
	return out
}

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), "", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func emulator(t *testing.T, items []azureemu.Item) (*azureemu.Server, string) {
	t.Helper()
	emu := azureemu.New(items)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.BaseURL = srv.URL
	return emu, srv.URL + "/api/retail/prices"
}

func noSleep(context.Context, time.Duration) error { return nil }

func clock() time.Time { return time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC) }

func count(t *testing.T, s *storage.Store, cloud, region string) (spot, od int) {
	t.Helper()
	pts, err := s.LatestPrices(context.Background(), storage.PoolFilter{Cloud: cloud, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	ods, err := s.OnDemandAt(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ods {
		if o.Cloud == cloud && o.Region == region {
			od++
		}
	}
	return len(pts), od
}

func TestIngestPagesEveryRegion(t *testing.T) {
	ctx := context.Background()
	items := append(sampleItems(t), spotItems("eastus", 230)...)
	want := expected(items)
	emu, url := emulator(t, items)
	s := openStore(t)
	opts := Options{URL: url, Regions: []string{"eastus", "westeurope"}, Now: clock, Sleep: noSleep}
	rep, err := Ingest(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	// eastus: 5 sample items and 230 made up = 235 items, 3 pages.
	if rep.Regions[0].Pages != 3 || rep.Regions[1].Pages != 1 {
		t.Fatalf("pages %+v", rep.Regions)
	}
	for _, r := range []string{"eastus", "westeurope"} {
		spot, od := count(t, s, market.Azure, r)
		if spot != want[r][0] || od != want[r][1] {
			t.Errorf("%s: stored %d spot and %d on-demand prices, the items have %d and %d", r, spot, od, want[r][0], want[r][1])
		}
	}
	if want["eastus"][0] != 232 || want["westeurope"][0] != 1 {
		t.Fatalf("independent count %v: the fixture changed", want)
	}
	requests := emu.Requests
	rep, err = Ingest(ctx, s, opts)
	if err != nil || rep.RowsStored != 0 {
		t.Fatalf("re-ingest stored %d (%v)", rep.RowsStored, err)
	}
	if emu.Requests != 2*requests {
		t.Fatalf("requests %d then %d", requests, emu.Requests)
	}
}

func TestIngestFailures(t *testing.T) {
	ctx := context.Background()
	items := append(sampleItems(t), spotItems("eastus", 150)...)
	want := expected(items)
	for _, tc := range []struct {
		name    string
		set     func(*azureemu.Server)
		opts    Options
		failed  string // the region that fails ("" none)
		message string
	}{
		{"throttled", func(e *azureemu.Server) { e.ThrottleFirst = 2 }, Options{}, "", ""},
		{"error answer", func(e *azureemu.Server) { e.FailRegion = "westeurope" }, Options{Retries: 2}, "westeurope", "An unexpected error occurred"},
		{"pages forever", func(e *azureemu.Server) { e.LoopRegion = "westeurope" }, Options{}, "westeurope", "never ends"},
		{"too many pages", func(*azureemu.Server) {}, Options{MaxPages: 1}, "eastus", "more than 1 pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, url := emulator(t, items)
			emu.Set(tc.set)
			s := openStore(t)
			o := tc.opts
			o.URL, o.Regions, o.Now, o.Sleep = url, []string{"eastus", "westeurope"}, clock, noSleep
			rep, err := Ingest(ctx, s, o)
			if tc.failed == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, ErrSomeRegionsFailed) || rep.FailedRegions != 1 || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v, report %+v", err, rep.Regions)
			}
			for _, r := range []string{"eastus", "westeurope"} {
				spot, od := count(t, s, market.Azure, r)
				if r == tc.failed {
					if spot != 0 || od != 0 {
						t.Errorf("failed region %s stored %d spot, %d on-demand", r, spot, od)
					}
					continue
				}
				if spot != want[r][0] || od != want[r][1] {
					t.Errorf("%s: stored %d/%d, want %d/%d", r, spot, od, want[r][0], want[r][1])
				}
			}
		})
	}
}

func TestIngestRefusedOrUnreachable(t *testing.T) {
	ctx := context.Background()
	emu, url := emulator(t, sampleItems(t))
	emu.Set(func(e *azureemu.Server) { e.BadFilter = true })
	s := openStore(t)
	_, err := Ingest(ctx, s, Options{URL: url, Regions: []string{"eastus"}, Sleep: noSleep})
	var se *httpfetch.StatusError
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(err.Error(), "Invalid OData") || emu.Requests != 1 {
		t.Fatalf("400: err = %v after %d requests; want one request and the API's message", err, emu.Requests)
	}
	dead := httptest.NewServer(azureemu.New(nil))
	dead.Close()
	_, err = Ingest(ctx, s, Options{URL: dead.URL + "/api/retail/prices", Regions: []string{"eastus"}, Sleep: noSleep, Retries: 1})
	if !errors.Is(err, httpfetch.ErrUnreachable) {
		t.Fatalf("unreachable: err = %v", err)
	}
	if c, _ := s.Counts(ctx); c["prices"] != 0 || c["ondemand_prices"] != 0 {
		t.Fatalf("stored %v", c)
	}
}
