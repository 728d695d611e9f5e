package files

import (
	"bufio"
	"bytes"
	"time"

	"github.com/spotcast/spotcast/market"
)

// gcpPrices: snapshot_generated_utc,commit,machine_type,region,
// ondemand_hour,spot_hour, one row per change of either price (Cyclenerd's
// google-cloud-pricing-cost-calculator history). GCP prices a machine
// type per region, not per zone, and the table does not split by OS, so
// the spot series is region-level with no product. An empty spot_hour
// means the snapshot had no spot price for that type and region (before
// GCP offered it there): not a bad row, only nothing to store. The same
// holds for an empty or 0 ondemand_hour. snapshot_generated_utc is a date
// (older snapshots) or an RFC 3339 time.
func (p *parser) gcpPrices(r *bufio.Reader) error {
	c, err := p.openCSV(r, FormatGCPPrices)
	if err != nil {
		return err
	}
	strs := interner{}
	regions := interner{}
	var ts tsCache
	dates := dateCache{}
	return c.each(func(f [][]byte) error {
		at, err := gcpTime(f[0], &ts, dates)
		if err != nil {
			return c.badRow("snapshot_generated_utc: %v", err)
		}
		if len(f[2]) == 0 {
			return c.badRow("machine_type is empty")
		}
		region, ok := regions[string(f[3])]
		if !ok {
			if !market.KnownRegion(market.GCP, string(f[3])) {
				return c.badRow("unknown gcp region %q", f[3])
			}
			region = regions.get(f[3])
		}
		typ := strs.get(f[2])
		var spot, od float64
		hasSpot, hasOD := len(f[5]) > 0, len(f[4]) > 0
		if hasSpot {
			if spot, err = parseSpotPrice("spot_hour", f[5]); err != nil {
				return c.badRow("%v", err)
			}
		}
		if hasOD {
			if od, err = parsePrice("ondemand_hour", f[4]); err != nil {
				return c.badRow("%v", err)
			}
		}
		if !hasSpot {
			p.t.Skip("no spot price in this snapshot (empty spot_hour)")
		} else if err := p.price(market.PricePoint{
			Pool: market.PoolKey{Cloud: market.GCP, Region: region, InstanceType: typ},
			Time: at, Price: spot, Source: p.source, FetchedAt: p.fetched,
		}); err != nil {
			return err
		}
		switch {
		case !hasOD:
			p.t.Skip("no on-demand price in this snapshot (empty ondemand_hour)")
		case od == 0:
			p.t.Skip("on-demand price 0 (unknown)")
		default:
			return p.onDemand(market.OnDemandPrice{
				Cloud: market.GCP, Region: region, InstanceType: typ,
				Date: at, Price: od, Source: p.source, FetchedAt: p.fetched,
			})
		}
		return nil
	})
}

func gcpTime(b []byte, ts *tsCache, dates dateCache) (time.Time, error) {
	if len(b) == 10 && bytes.IndexByte(b, 'T') < 0 {
		return dates.parse(b)
	}
	return ts.parse(b)
}
