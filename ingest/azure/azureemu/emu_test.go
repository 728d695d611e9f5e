package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func items(n int) []Item {
	var out []Item
	for i := range n {
		region := "eastus"
		if i%2 == 1 {
			region = "westeurope"
		}
		out = append(out, Item{"armRegionName": region, "type": "Consumption", "serviceName": "Virtual Machines",
			"armSkuName": fmt.Sprintf("Standard_E%d_v5", i)})
	}
	return out
}

func get(t *testing.T, u string) (int, page) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p page
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, p
}

// TestPagingAndFilter: 450 items, half in eastus: the eastus filter pages
// through 225 items in 3 pages of at most 100, each linking the next.
func TestPagingAndFilter(t *testing.T) {
	emu := New(items(450))
	srv := httptest.NewServer(emu)
	defer srv.Close()
	emu.BaseURL = srv.URL
	q := url.Values{"$filter": {"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq 'eastus'"}}
	link := srv.URL + "/api/retail/prices?" + q.Encode()
	total, pages := 0, 0
	for link != "" {
		code, p := get(t, link)
		if code != http.StatusOK || p.Count != len(p.Items) || p.Count > PageSize {
			t.Fatalf("page %d: status %d count %d items %d", pages+1, code, p.Count, len(p.Items))
		}
		for _, it := range p.Items {
			if it["armRegionName"] != "eastus" {
				t.Fatalf("filter let through %v", it)
			}
		}
		total += len(p.Items)
		pages++
		link = ""
		if p.NextPageLink != nil {
			link = *p.NextPageLink
		}
	}
	if total != 225 || pages != 3 {
		t.Fatalf("%d items in %d pages", total, pages)
	}
	if code, _ := get(t, srv.URL+"/api/retail/prices?$filter="+url.QueryEscape("serviceName eq Virtual")); code != http.StatusBadRequest {
		t.Fatalf("malformed filter: status %d", code)
	}
	emu.Set(func(s *Server) { s.ThrottleFirst = 1 })
	if code, _ := get(t, srv.URL+"/api/retail/prices"); code != http.StatusTooManyRequests {
		t.Fatalf("throttle: status %d", code)
	}
	if code, p := get(t, srv.URL+"/api/retail/prices"); code != http.StatusOK || p.Count != PageSize {
		t.Fatalf("after the throttle: status %d count %d", code, p.Count)
	}
}
