package files

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

func TestAzureRetail(t *testing.T) {
	c, res, err := parseFile(t, td("azure_retail_prices.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatAzureRetail {
		t.Fatalf("format %s", res.Format)
	}
	// The independent count: items read straight off the document.
	b, err := os.ReadFile(td("azure_retail_prices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Items []azureRetailItem }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	spot, od := 0, 0
	for _, it := range doc.Items {
		if it.Type == "Consumption" && it.ServiceName == "Virtual Machines" && market.KnownRegion(market.Azure, it.ArmRegionName) &&
			!strings.Contains(it.SkuName, "Low Priority") && !strings.Contains(it.ProductName, "Cloud Services") {
			if strings.HasSuffix(it.SkuName, " Spot") {
				spot++
			} else {
				od++
			}
		}
	}
	if len(c.Prices) != spot || len(c.OnDemand) != od || res.Read != int64(len(doc.Items)) {
		t.Fatalf("prices %d on-demand %d read %d; the document has %d spot, %d on-demand, %d items",
			len(c.Prices), len(c.OnDemand), res.Read, spot, od, len(doc.Items))
	}
	want := market.PricePoint{
		Pool: market.PoolKey{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_NC24ads_A100_v4", Product: "Linux"},
		Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Price: 0.7346, Source: "file:azure_retail_prices.json", FetchedAt: fixedNow,
	}
	if c.Prices[0] != want {
		t.Errorf("first spot price\n got %+v\nwant %+v", c.Prices[0], want)
	}
	if c.Prices[1].Pool.Product != "Windows" || c.OnDemand[0].Price != 3.673 || c.OnDemand[0].Product != "Linux" {
		t.Errorf("windows %+v, on-demand %+v", c.Prices[1], c.OnDemand[0])
	}
	for _, r := range []string{"Low Priority meter (Batch, not spot)", "not a Consumption meter (reservation, dev/test)",
		"Cloud Services meter", "Azure region not in spotcast's list"} {
		if res.SkipReasons[r] == 0 {
			t.Errorf("no skip counted for %q: %v", r, res.SkipReasons)
		}
	}
	if len(res.Info) != 1 || !strings.Contains(res.Info[0], "NextPageLink") {
		t.Errorf("info %q", res.Info)
	}
}

func TestAzureRetailBad(t *testing.T) {
	_, _, err := parseFile(t, td("bad/azure_retail_bad_price.json"), Options{})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != 3 || !strings.Contains(err.Error(), "retailPrice") {
		t.Fatalf("err = %v, want FILE:3 naming retailPrice", err)
	}
	c, res, err := parseFile(t, td("bad/azure_retail_bad_price.json"), Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad != 2 || len(c.Prices) != 1 || !strings.Contains(res.BadReasons[1], "effectiveStartDate") {
		t.Fatalf("bad %d %q, prices %d", res.Bad, res.BadReasons, len(c.Prices))
	}
	_, _, err = parseFile(t, td("aws_spot_feed.json"), Options{Format: FormatAzureRetail})
	if !errors.Is(err, ingest.ErrBadInput) || !strings.Contains(err.Error(), "Items") {
		t.Fatalf("another format forced: err = %v", err)
	}
}
