package files

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Azure Resource Graph SpotResources types this format reads.
const (
	argEvictionRate = "microsoft.compute/skuspotevictionrate/location"
	argPriceHistory = "microsoft.compute/skuspotpricehistory/ostype/location"
)

// azureEvictionBuckets are Azure's eviction-rate buckets as fractions;
// "20+" is open-ended, so its upper edge is 1.
var azureEvictionBuckets = map[string][2]float64{
	"0-5": {0, 0.05}, "5-10": {0.05, 0.10}, "10-15": {0.10, 0.15}, "15-20": {0.15, 0.20}, "20+": {0.20, 1},
}

type argSpotPrice struct {
	EffectiveDate string   `json:"effectiveDate"`
	PriceUSD      *float64 `json:"priceUSD"`
}

// argRow is one SpotResources row: the resource as stored (type,
// location, sku.name, properties) or the columns of Microsoft's sample
// eviction-rate query (skuName, location, spotEvictionRate).
type argRow struct {
	Type     string `json:"type"`
	Location string `json:"location"`
	Sku      *struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties *struct {
		EvictionRate string         `json:"evictionRate"`
		OSType       string         `json:"osType"`
		SpotPrices   []argSpotPrice `json:"spotPrices"`
	} `json:"properties"`
	SkuName          string `json:"skuName"`
	SpotEvictionRate string `json:"spotEvictionRate"`
	EvictionRate     string `json:"evictionRate"`
}

// azureSpotResources reads an Azure Resource Graph answer over the
// SpotResources table (learn.microsoft.com/azure/virtual-machines/spot-vms,
// "Azure Resource Graph"): the REST API's {"totalRecords", "count",
// "data": [...], "resultTruncated", "$skipToken"}, what `az graph query`
// prints ({"count", "data", "skip_token", "total_records"}), or a bare
// array of rows. Rows of type skuspotevictionrate/location give a size's
// eviction-rate bucket in a region (properties.evictionRate "0-5" ...
// "20+", the share of spot VMs Azure evicts per hour), stored as a
// capacity signal dated Options.SnapshotDate or the file's modification
// time, since rows carry no time; rows of type
// skuspotpricehistory/ostype/location give its spot price history
// (properties.spotPrices[] of effectiveDate and priceUSD, per
// properties.osType), stored as region-level prices. Rows of other types,
// and regions spotcast does not know, are skipped and counted. Each row is
// one record; a row is checked whole before any of it is stored.
func (p *parser) azureSpotResources(r io.Reader) error {
	var at time.Time
	d := newJSONDoc(p.name, r)
	strs := interner{}
	var ts tsCache
	row := func() error {
		var x argRow
		line, bad, err := d.decodeRecord(&x)
		if err != nil {
			return err
		}
		if err := p.tick(); err != nil {
			return err
		}
		if bad == "" {
			if bad, err = p.argRow(&x, &at, strs, &ts); err != nil {
				return err
			}
		}
		if bad != "" {
			return p.row(line, d.record, bad)
		}
		return nil
	}
	t, err := d.dec.Token()
	if err != nil {
		return d.fail(err)
	}
	switch t {
	case json.Delim('['):
		for d.dec.More() {
			if err := row(); err != nil {
				return err
			}
		}
		if err := d.delim(']', "rows"); err != nil {
			return err
		}
	case json.Delim('{'):
		seen := false
		for d.dec.More() {
			k, err := d.key()
			if err != nil {
				return err
			}
			switch k {
			case "data":
				seen = true
				if err := d.array("data", row); err != nil {
					return err
				}
			case "resultTruncated", "skip_token", "$skipToken":
				var v any
				if _, _, err := d.decodeRecord(&v); err != nil {
					return err
				}
				if v == true || v == "true" || (k != "resultTruncated" && v != nil && v != "") {
					p.t.Note("the answer is truncated or has a skip token: Resource Graph has more rows than this file holds")
				}
			default:
				if err := d.skip(); err != nil {
					return err
				}
			}
		}
		if err := d.delim('}', "document"); err != nil {
			return err
		}
		if !seen {
			return d.shapeErr(`no "data" array`)
		}
	default:
		return d.shapeErr("document: expected an object or an array, got %s", tokenName(t))
	}
	return d.end()
}

// argRow stores one row or says why it is bad. at is the snapshot time,
// found on the first eviction-rate row that needs it.
func (p *parser) argRow(x *argRow, at *time.Time, strs interner, ts *tsCache) (string, error) {
	typ := strings.ToLower(x.Type)
	sku := x.SkuName
	if x.Sku != nil && x.Sku.Name != "" {
		sku = x.Sku.Name
	}
	rate := x.SpotEvictionRate
	if rate == "" {
		rate = x.EvictionRate
	}
	var prices []argSpotPrice
	os := ""
	if x.Properties != nil {
		if rate == "" {
			rate = x.Properties.EvictionRate
		}
		prices, os = x.Properties.SpotPrices, x.Properties.OSType
	}
	switch {
	case typ == "" && rate != "":
		typ = argEvictionRate
	case typ != argEvictionRate && typ != argPriceHistory:
		p.t.Skip("Resource Graph row of another type")
		return "", nil
	}
	if sku == "" {
		return "no sku.name", nil
	}
	if x.Location == "" {
		return "no location", nil
	}
	region, ok := market.CanonicalRegion(market.Azure, x.Location)
	if !ok {
		p.t.Skip("Azure region not in spotcast's list")
		return "", nil
	}
	sku = strs.get([]byte(sku))
	if typ == argEvictionRate {
		b, ok := azureEvictionBuckets[strings.TrimSuffix(strings.TrimSpace(rate), "%")]
		if !ok {
			return fmt.Sprintf("evictionRate %q: expected one of 0-5, 5-10, 10-15, 15-20, 20+", rate), nil
		}
		if at.IsZero() {
			t, err := p.snapshotTime()
			if err != nil {
				return "", err
			}
			*at = t
		}
		return "", p.signal(market.CapacitySignal{
			Cloud: market.Azure, Region: region, InstanceType: sku, Kind: market.SignalEvictionRate,
			Value: b[0], ValueHigh: b[1], Label: rate, Time: *at, Source: p.source, FetchedAt: p.fetched,
		})
	}
	switch strings.ToLower(os) {
	case "linux":
		os = "Linux"
	case "windows":
		os = "Windows"
	default:
		return fmt.Sprintf("properties.osType %q: expected Linux or Windows", os), nil
	}
	if len(prices) == 0 {
		return "properties.spotPrices is empty", nil
	}
	pts := make([]market.PricePoint, 0, len(prices))
	for i, sp := range prices {
		if sp.PriceUSD == nil || math.IsNaN(*sp.PriceUSD) || math.IsInf(*sp.PriceUSD, 0) || *sp.PriceUSD <= 0 {
			return fmt.Sprintf("spotPrices[%d].priceUSD: missing or not a positive price", i), nil
		}
		t, err := ts.parse([]byte(sp.EffectiveDate))
		if err != nil {
			return fmt.Sprintf("spotPrices[%d].effectiveDate: %v", i, err), nil
		}
		pts = append(pts, market.PricePoint{
			Pool: market.PoolKey{Cloud: market.Azure, Region: region, InstanceType: sku, Product: os},
			Time: t, Price: *sp.PriceUSD, Source: p.source, FetchedAt: p.fetched,
		})
	}
	for _, pt := range pts {
		if err := p.price(pt); err != nil {
			return "", err
		}
	}
	return "", nil
}
