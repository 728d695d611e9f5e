package files

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

type gcpInterval struct {
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
}

type gcpPreemptionRecord struct {
	Interval       *gcpInterval `json:"interval"`
	PreemptionRate *float64     `json:"preemptionRate"`
}

// gcpMoney is google.type.Money: units is an int64, which the JSON
// mapping writes as a string (a number is accepted too).
type gcpMoney struct {
	CurrencyCode string `json:"currencyCode"`
	Units        any    `json:"units"`
	Nanos        *int64 `json:"nanos"`
}

type gcpPriceRecord struct {
	Interval  *gcpInterval `json:"interval"`
	ListPrice *gcpMoney    `json:"listPrice"`
}

// gcpCapacityHistory reads the response of Compute Engine's
// advice.capacityHistory (cloud.google.com/compute/docs/reference/rest/
// beta/advice/capacityHistory, CapacityHistoryResponse): {"location":
// URL of the zone or region, "machineType", "preemptionHistory":
// [{"interval": {"startTime", "endTime"}, "preemptionRate"}],
// "priceHistory": [{"interval", "listPrice": {"currencyCode", "units",
// "nanos"}}]}, or an array of such responses. A preemption record is a
// capacity signal of the zone (or region) over its interval: preempted
// Spot VMs over all that stopped running. A price record is the Spot list
// price from its interval's start; GCP prices Spot VMs per region, so it
// is stored in the region-level pool (no product), beside the
// gcp-price-changes-csv series. Each history record is one record.
func (p *parser) gcpCapacityHistory(r *bufio.Reader) error {
	d := newJSONDoc(p.name, r)
	strs := interner{}
	var ts tsCache
	one := func() error {
		var loc, typ string
		var region, zone string
		where := func() error {
			if typ == "" || loc == "" {
				return d.shapeErr(`"location" and "machineType" must come before the histories`)
			}
			return nil
		}
		return d.object("response", func(key string) error {
			switch key {
			case "location", "machineType":
				var v string
				line, bad, err := d.decodeRecord(&v)
				if err != nil {
					return err
				}
				if bad != "" {
					return p.rowErr(line, 0, "%s: %s", key, bad)
				}
				if key == "machineType" {
					typ = strs.get([]byte(lastSegment(v)))
					return nil
				}
				loc = v
				if region, zone, bad = gcpLocation(v); bad != "" {
					return p.rowErr(line, 0, "location: %s", bad)
				}
				return nil
			case "preemptionHistory":
				if err := where(); err != nil {
					return err
				}
				return d.array("preemptionHistory", func() error {
					var rec gcpPreemptionRecord
					line, bad, err := d.decodeRecord(&rec)
					if err != nil {
						return err
					}
					if err := p.tick(); err != nil {
						return err
					}
					var start, end time.Time
					if bad == "" {
						start, end, bad = intervalOf(rec.Interval, &ts)
					}
					if bad == "" && (rec.PreemptionRate == nil || !(*rec.PreemptionRate >= 0 && *rec.PreemptionRate <= 1)) {
						bad = "preemptionRate: missing or not 0-1"
					}
					if bad != "" {
						return p.row(line, d.record, bad)
					}
					v := *rec.PreemptionRate
					return p.signal(market.CapacitySignal{
						Cloud: market.GCP, Region: region, Zone: zone, InstanceType: typ,
						Kind: market.SignalPreemptionRate, Value: v, ValueHigh: v,
						Label: strconv.FormatFloat(v, 'g', -1, 64), Start: start, Time: end,
						Source: p.source, FetchedAt: p.fetched,
					})
				})
			case "priceHistory":
				if err := where(); err != nil {
					return err
				}
				return d.array("priceHistory", func() error {
					var rec gcpPriceRecord
					line, bad, err := d.decodeRecord(&rec)
					if err != nil {
						return err
					}
					if err := p.tick(); err != nil {
						return err
					}
					var start time.Time
					var price float64
					if bad == "" {
						start, _, bad = intervalOf(rec.Interval, &ts)
					}
					if bad == "" {
						price, bad = moneyUSD(rec.ListPrice)
					}
					if bad != "" {
						return p.row(line, d.record, bad)
					}
					return p.price(market.PricePoint{
						Pool: market.PoolKey{Cloud: market.GCP, Region: region, InstanceType: typ},
						Time: start, Price: price, Source: p.source, FetchedAt: p.fetched,
					})
				})
			}
			return d.skip()
		})
	}
	b, err := peekJSON(r)
	if err != nil {
		return err
	}
	if b == '[' {
		err = d.array("responses", one)
	} else {
		err = one()
	}
	if err != nil {
		return err
	}
	return d.end()
}

// gcpLocation reads "…/zones/us-central1-a" or "…/regions/us-central1"
// (a full or partial URL, or a bare name) into a known region and zone.
func gcpLocation(loc string) (region, zone, bad string) {
	name := lastSegment(loc)
	kind := ""
	if parts := strings.Split(strings.TrimRight(loc, "/"), "/"); len(parts) >= 2 {
		kind = parts[len(parts)-2]
	}
	switch {
	case kind == "regions" || kind != "zones" && market.KnownRegion(market.GCP, name):
		region = name
	default:
		r, err := market.RegionOfZone(name)
		if err != nil {
			return "", "", fmt.Sprintf("%q is not a zone or region", loc)
		}
		region, zone = r, name
	}
	if !market.KnownRegion(market.GCP, region) {
		return "", "", fmt.Sprintf("unknown gcp region %q", region)
	}
	return region, zone, ""
}

func lastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// intervalOf checks a google.type.Interval; the end may be absent (an
// open interval ends now, which a record of the past does not: bad).
func intervalOf(iv *gcpInterval, ts *tsCache) (start, end time.Time, bad string) {
	if iv == nil {
		return start, end, "interval is missing"
	}
	start, err := ts.parse([]byte(iv.StartTime))
	if err != nil {
		return start, end, "interval.startTime: " + err.Error()
	}
	end, err = ts.parse([]byte(iv.EndTime))
	if err != nil {
		return start, end, "interval.endTime: " + err.Error()
	}
	if end.Before(start) {
		return start, end, "interval ends before it starts"
	}
	return start, end, ""
}

// moneyUSD reads a google.type.Money in USD as a positive price.
func moneyUSD(m *gcpMoney) (float64, string) {
	if m == nil {
		return 0, "listPrice is missing"
	}
	if m.CurrencyCode != "USD" {
		return 0, fmt.Sprintf("listPrice.currencyCode %q: prices are stored in USD", m.CurrencyCode)
	}
	var units int64
	switch u := m.Units.(type) {
	case nil:
	case string:
		v, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return 0, fmt.Sprintf("listPrice.units %q: not an integer", u)
		}
		units = v
	case json.Number:
		v, err := u.Int64()
		if err != nil {
			return 0, fmt.Sprintf("listPrice.units %s: not an integer", u)
		}
		units = v
	default:
		return 0, fmt.Sprintf("listPrice.units: expected a string, got %T", u)
	}
	var nanos int64
	if m.Nanos != nil {
		nanos = *m.Nanos
	}
	if nanos <= -1e9 || nanos >= 1e9 || units > 0 && nanos < 0 || units < 0 && nanos > 0 {
		return 0, fmt.Sprintf("listPrice.nanos %d: out of range", nanos)
	}
	v := float64(units) + float64(nanos)/1e9
	if !(v > 0) || math.IsInf(v, 0) || units > 1e9 {
		return 0, fmt.Sprintf("listPrice %d.%09d: not a positive price", units, nanos)
	}
	return v, ""
}
