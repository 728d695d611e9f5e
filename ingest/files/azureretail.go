package files

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spotcast/spotcast/market"
)

// azureRetailItem is one element of Items, with the Retail Prices API's
// own field names.
type azureRetailItem struct {
	CurrencyCode       string   `json:"currencyCode"`
	RetailPrice        *float64 `json:"retailPrice"`
	ArmRegionName      string   `json:"armRegionName"`
	EffectiveStartDate string   `json:"effectiveStartDate"`
	ProductName        string   `json:"productName"`
	SkuName            string   `json:"skuName"`
	ServiceName        string   `json:"serviceName"`
	UnitOfMeasure      string   `json:"unitOfMeasure"`
	Type               string   `json:"type"`
	ArmSkuName         string   `json:"armSkuName"`
}

// azureRetail reads one page of the Azure Retail Prices API
// (prices.azure.com/api/retail/prices): {"BillingCurrency",
// "CustomerEntityId", "CustomerEntityType", "Items": [...],
// "NextPageLink", "Count"}. A Virtual Machines "Consumption" meter whose
// skuName ends in " Spot" is a spot price of its armSkuName in its
// armRegionName, from effectiveStartDate on (a region-level pool; the
// product is Windows when the productName says so, else Linux); any other
// Virtual Machines Consumption meter is the size's on-demand price. What
// is not a VM price per hour is skipped and counted: other services,
// reservations and dev/test rates, "Low Priority" meters (Batch's, not
// spot), Cloud Services meters (another product under the same service
// name), regions spotcast does not know, prices of 0. Prices are stored
// in USD only: an item in another currency is bad. Each item is one
// record; a NextPageLink means the API has more pages than this file.
func (p *parser) azureRetail(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	strs := interner{}
	var ts tsCache
	seen := false
	err := d.object("document", func(key string) error {
		switch key {
		case "Items":
			seen = true
			return d.array("Items", func() error {
				var it azureRetailItem
				line, bad, err := d.decodeRecord(&it)
				if err != nil {
					return err
				}
				if err := p.tick(); err != nil {
					return err
				}
				if bad == "" {
					bad, err = p.azureRetailItem(&it, strs, &ts)
					if err != nil {
						return err
					}
				}
				if bad != "" {
					return p.row(line, d.record, bad)
				}
				return nil
			})
		case "NextPageLink":
			var link *string
			line, bad, err := d.decodeRecord(&link)
			if err != nil {
				return err
			}
			if bad != "" {
				return p.rowErr(line, 0, "NextPageLink: %s", bad)
			}
			if link != nil && *link != "" {
				p.t.Note("the page has a NextPageLink: the API has more pages than this file holds")
			}
			return nil
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "Items" array`)
	}
	return d.end()
}

// azureRetailItem stores one item or says why it is bad ("" if not).
func (p *parser) azureRetailItem(it *azureRetailItem, strs interner, ts *tsCache) (string, error) {
	switch {
	case it.ServiceName != "Virtual Machines":
		p.t.Skip("not a Virtual Machines meter")
		return "", nil
	case it.Type != "Consumption":
		p.t.Skip("not a Consumption meter (reservation, dev/test)")
		return "", nil
	case strings.Contains(it.SkuName, "Low Priority"):
		p.t.Skip("Low Priority meter (Batch, not spot)")
		return "", nil
	case strings.Contains(it.ProductName, "Cloud Services") || strings.Contains(it.ProductName, "CloudServices"):
		p.t.Skip("Cloud Services meter")
		return "", nil
	case it.UnitOfMeasure != "1 Hour":
		p.t.Skip("not priced per hour")
		return "", nil
	}
	if it.CurrencyCode != "" && it.CurrencyCode != "USD" {
		return fmt.Sprintf("currencyCode %q: prices are stored in USD (query without currencyCode)", it.CurrencyCode), nil
	}
	if it.RetailPrice == nil {
		return "retailPrice is missing", nil
	}
	price := *it.RetailPrice
	if math.IsNaN(price) || math.IsInf(price, 0) || price < 0 {
		return fmt.Sprintf("retailPrice %v: not a price", price), nil
	}
	if it.EffectiveStartDate == "" {
		return "effectiveStartDate is missing", nil
	}
	at, err := ts.parse([]byte(it.EffectiveStartDate))
	if err != nil {
		return "effectiveStartDate: " + err.Error(), nil
	}
	if it.ArmSkuName == "" {
		p.t.Skip("no armSkuName (not a VM size)")
		return "", nil
	}
	region, ok := market.CanonicalRegion(market.Azure, it.ArmRegionName)
	if !ok {
		p.t.Skip("Azure region not in spotcast's list")
		return "", nil
	}
	if price == 0 {
		p.t.Skip("price 0")
		return "", nil
	}
	os := "Linux"
	if strings.Contains(it.ProductName, "Windows") {
		os = "Windows"
	}
	typ := strs.get([]byte(it.ArmSkuName))
	if strings.HasSuffix(it.SkuName, " Spot") {
		return "", p.price(market.PricePoint{
			Pool: market.PoolKey{Cloud: market.Azure, Region: region, InstanceType: typ, Product: os},
			Time: at, Price: price, Source: p.source, FetchedAt: p.fetched,
		})
	}
	return "", p.onDemand(market.OnDemandPrice{
		Cloud: market.Azure, Region: region, InstanceType: typ, Product: os,
		Date: at, Price: price, Source: p.source, FetchedAt: p.fetched,
	})
}
