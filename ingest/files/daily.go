package files

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// dailyOHLC: provider,region,instance_type,date,open,high,low,close,avg.
// Each row is one day of a region-level series (all zones pooled), so the
// point has no zone; the file does not say which OS the prices are for, so
// no product either. Time is the day's start (UTC), Price the day's
// average, Bar its open/high/low/close.
func (p *parser) dailyOHLC(r *bufio.Reader) error {
	c, err := p.openCSV(r, FormatDailyOHLC)
	if err != nil {
		return err
	}
	strs := interner{}
	dates := dateCache{}
	// Rows come grouped by series: remember the last provider/region.
	var lastProv, lastReg []byte
	var cloud, region, zone, typ string
	var lastType []byte
	var names = [...]string{"open", "high", "low", "close", "avg"}
	return c.each(func(f [][]byte) error {
		if cloud == "" || !bytes.Equal(f[0], lastProv) || !bytes.Equal(f[1], lastReg) {
			cl := string(f[0])
			switch cl {
			case market.AWS, market.GCP, market.Azure:
			default:
				return c.badRow("provider %q: expected aws, gcp or azure", f[0])
			}
			reg, ok := market.CanonicalRegion(cl, string(f[1]))
			group := ""
			if !ok && cl == market.AWS {
				// A Local Zone or Wavelength group ("us-west-2-lax-1"):
				// its own pools, filed under the parent region with the
				// group as the zone, since its prices differ.
				if parent, isGroup := market.AWSLocalZoneGroup(string(f[1])); isGroup {
					reg, group, ok = parent, string(f[1]), true
				}
			}
			if !ok {
				return c.badRow("unknown %s region %q", cl, f[1])
			}
			cloud, region, zone = cl, reg, group
			lastProv = append(lastProv[:0], f[0]...)
			lastReg = append(lastReg[:0], f[1]...)
		}
		if len(f[2]) == 0 {
			return c.badRow("instance_type is empty")
		}
		if typ == "" || !bytes.Equal(f[2], lastType) {
			typ = strs.get(f[2])
			lastType = append(lastType[:0], f[2]...)
		}
		day, err := dates.parse(f[3])
		if err != nil {
			return c.badRow("%v", err)
		}
		var v [5]float64
		for i := range v {
			v[i], err = parseSpotPrice(names[i], f[4+i])
			if err != nil {
				return c.badRow("%v", err)
			}
		}
		open, high, low, cl, avg := v[0], v[1], v[2], v[3], v[4]
		// The average can differ from the bounds by rounding only.
		const eps = 1e-9
		if low > high || open < low || open > high || cl < low || cl > high || avg < low-eps || avg > high+eps {
			return c.badRow("inconsistent bar: open %g high %g low %g close %g avg %g", open, high, low, cl, avg)
		}
		return p.price(market.PricePoint{
			Pool:   market.PoolKey{Cloud: cloud, Region: region, Zone: zone, InstanceType: typ},
			Time:   day,
			Price:  avg,
			Bar:    market.Bar{Open: open, High: high, Low: low, Close: cl},
			HasBar: true,
			Source: p.source, FetchedAt: p.fetched,
		})
	})
}

// onDemandRecord is one element of ondemand_<region>.json.
type onDemandRecord struct {
	Date         string       `json:"date"`
	InstanceType string       `json:"instance_type"`
	Price        *json.Number `json:"price"`
}

// onDemandJSON: [{"date","instance_type","price"}], on-demand prices
// effective from date. The records do not name their region: it comes
// from the file name ondemand_<region>.json (or Options.Region), and the
// cloud from the region. The product is not stated either, so it is left
// empty.
func (p *parser) onDemandJSON(r io.Reader) error {
	region := p.opts.Region
	if region == "" {
		m := onDemandName.FindStringSubmatch(filepath.Base(p.name))
		if m == nil {
			return fmt.Errorf("region unknown: the records do not name it and the file name is not ondemand_<region>.json; give Options.Region (--region): %w", ingest.ErrBadInput)
		}
		region = m[1]
		p.t.Note("region %s taken from the file name", region)
	}
	cloud := market.CloudOfRegion(region)
	if cloud == "" {
		return p.rowErr(0, 0, "unknown region %q", region)
	}
	d := newJSONDoc(p.name, r)
	strs := interner{}
	dates := dateCache{}
	err := d.array("document", func() error {
		var rec onDemandRecord
		line, bad, err := d.decodeRecord(&rec)
		if err != nil {
			return err
		}
		if err := p.tick(); err != nil {
			return err
		}
		if bad != "" {
			return p.row(line, d.record, bad)
		}
		if rec.InstanceType == "" {
			return p.row(line, d.record, "instance_type is missing")
		}
		if rec.Price == nil {
			return p.row(line, d.record, "price is missing")
		}
		day, err := dates.parse([]byte(rec.Date))
		if err != nil {
			return p.row(line, d.record, err.Error())
		}
		price, err := parsePrice("price", []byte(*rec.Price))
		if err != nil {
			return p.row(line, d.record, err.Error())
		}
		if price == 0 {
			p.t.Skip("on-demand price 0 (unknown)")
			return nil
		}
		return p.onDemand(market.OnDemandPrice{
			Cloud: cloud, Region: region, InstanceType: strs.get([]byte(rec.InstanceType)),
			Date: day, Price: price, Source: p.source, FetchedAt: p.fetched,
		})
	})
	if err != nil {
		return err
	}
	return d.end()
}

// snapshotDate is Options.SnapshotDate, or the first day of the YYYY-MM
// month in the file name, for formats whose content carries no date.
func (p *parser) snapshotDate() (time.Time, error) {
	if !p.opts.SnapshotDate.IsZero() {
		t := p.opts.SnapshotDate.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	base := filepath.Base(p.name)
	ms := yearMonth.FindAllStringSubmatch(base, -1)
	if len(ms) == 0 {
		return time.Time{}, fmt.Errorf("snapshot date unknown: the document carries none and the file name has no YYYY-MM; give Options.SnapshotDate: %w", ingest.ErrBadInput)
	}
	m := ms[len(ms)-1]
	t, err := time.Parse("2006-01", m[1]+"-"+m[2])
	if err != nil {
		return time.Time{}, fmt.Errorf("snapshot date from file name %q: %w", base, err)
	}
	p.t.Note("snapshot date %s taken from the file name (the document carries no date)", t.Format("2006-01-02"))
	return t, nil
}
