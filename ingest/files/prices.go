package files

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// csvTable reads a CSV file with a known header line by line.
type csvTable struct {
	p      *parser
	lr     lineReader
	fields [][]byte
	quoted []byte
	header []string
}

// open reads and checks the header line.
func (p *parser) openCSV(r *bufio.Reader, f Format) (*csvTable, error) {
	c := &csvTable{p: p, lr: lineReader{r: r}, header: csvHeaders[f]}
	line, err := c.lr.next()
	if err != nil {
		if err == io.EOF {
			return nil, p.rowErr(1, 0, "empty file")
		}
		return nil, err
	}
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	cols, err := splitCSV(nil, line, &c.quoted)
	if err != nil {
		return nil, p.rowErr(1, 0, "header: %v", err)
	}
	got := make([]string, len(cols))
	for i, col := range cols {
		got[i] = strings.TrimSpace(string(col))
	}
	if !equalFold(got, c.header) {
		return nil, p.rowErr(1, 0, "header %q does not match format %s: %s", strings.Join(got, ","), f, headerDiff(got, c.header))
	}
	return c, nil
}

// headerDiff names missing and extra columns.
func headerDiff(got, want []string) string {
	var missing, extra []string
	for _, w := range want {
		if overlap([]string{w}, got) == 0 {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if overlap([]string{g}, want) == 0 {
			extra = append(extra, g)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "extra "+strings.Join(extra, ", "))
	}
	if len(parts) == 0 {
		return "columns out of order; expected " + strings.Join(want, ",")
	}
	return strings.Join(parts, "; ")
}

// next returns the next data row's fields, skipping blank lines; io.EOF at
// the end. A row with the wrong number of columns is returned as a bad-row
// error the caller passes to p.bad.
func (c *csvTable) next() ([][]byte, error) {
	for {
		line, err := c.lr.next()
		if err != nil {
			if err == errTooLong {
				return nil, c.p.rowErr(c.lr.line, 0, "%v", err)
			}
			return nil, err
		}
		if len(line) == 0 {
			continue
		}
		if err := c.p.tick(); err != nil {
			return nil, err
		}
		c.fields, err = splitCSV(c.fields[:0], line, &c.quoted)
		if err != nil {
			return nil, c.badRow("%v", err)
		}
		if len(c.fields) != len(c.header) {
			return nil, c.badRow("%d columns, expected %d (%s)", len(c.fields), len(c.header), strings.Join(c.header, ","))
		}
		return c.fields, nil
	}
}

// badRow is a bad-row error at the current line.
func (c *csvTable) badRow(format string, args ...any) error {
	return &badRowErr{c.p.rowErr(c.lr.line, 0, format, args...)}
}

// badRowErr marks an error as one bad row (as opposed to a fatal error).
type badRowErr struct{ err error }

func (e *badRowErr) Error() string { return e.err.Error() }
func (e *badRowErr) Unwrap() error { return e.err }

// each runs fn on every row; fn returns a bad-row error (from c.badRow) or
// a fatal one. Bad rows go through the bad-row policy.
func (c *csvTable) each(fn func(f [][]byte) error) error {
	for {
		f, err := c.next()
		if err == nil {
			err = fn(f)
		}
		if err == nil {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if b, ok := err.(*badRowErr); ok {
			if err := c.p.bad(b.err); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, storage.ErrInvalidRow) {
			// The store refused the row's content: a bad row too.
			if err := c.p.bad(c.p.rowErr(c.lr.line, 0, "%v", err)); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// spotPriceCSV: timestamp,availability_zone,instance_type,
// product_description,spot_price, one row per price change per pool.
// The whole-market history is tens of millions of rows: its lines are
// parsed on every core (parallelLines) and stored in file order.
func (p *parser) spotPriceCSV(r *bufio.Reader) error {
	c, err := p.openCSV(r, FormatSpotPriceCSV)
	if err != nil {
		return err
	}
	ps, _ := p.sink.(ingest.PoolSink)
	return parallelLines(r, c.lr.line+1, p.spotPriceWorker, func(r *spotRow) int32 { return r.rel },
		func(line int64, r *spotRow) error {
			if err := p.tick(); err != nil {
				return err
			}
			switch {
			case r.bad != "":
				return p.bad(p.rowErr(line, 0, "%s", r.bad))
			case r.skip:
				p.t.Skip(zeroPrice)
				return nil
			}
			pp := market.PricePoint{Pool: r.pool.key, Time: r.t, Price: r.price, Source: p.source, FetchedAt: p.fetched}
			var err error
			if ps != nil && r.pool.handle == 0 {
				r.pool.handle, err = ps.Pool(pp.Pool)
			}
			switch {
			case err != nil:
			case r.pool.handle != 0:
				if err = ps.AddPriceTo(r.pool.handle, pp); err == nil {
					p.t.Added++
				}
			default:
				err = p.price(pp)
			}
			if errors.Is(err, storage.ErrInvalidRow) {
				// The store refused the row's content: a bad row too.
				return p.bad(p.rowErr(line, 0, "%v", err))
			}
			return err
		},
		func(line int64) error { return p.rowErr(line, 0, "%v", errTooLong) })
}

// spotRow is one parsed line of a spot price CSV: a price, a zero price
// to skip, or why the line is bad.
type spotRow struct {
	rel   int32 // line within its block
	skip  bool
	bad   string
	pool  *spotPool
	t     time.Time
	price float64
}

// spotPool is a worker's pool for the raw bytes of a line's zone,
// instance type and product, and its handle in a PoolSink (0 until the
// rows reach the sink; only the goroutine that stores rows sets it).
type spotPool struct {
	key    market.PoolKey
	handle int32
}

// spotPriceWorker parses lines of a spot price CSV; each worker keeps its
// own caches (zones checked once, strings interned, the last timestamp,
// the pool of each distinct zone,type,product).
func (p *parser) spotPriceWorker() lineWorker[spotRow] {
	zones := zoneCache{}
	strs := interner{}
	pools := map[string]*spotPool{}
	var ts tsCache
	var fields [][]byte
	var quoted []byte
	header := csvHeaders[FormatSpotPriceCSV]
	return func(line []byte, rel int32, out []spotRow) []spotRow {
		bad := func(format string, args ...any) []spotRow {
			return append(out, spotRow{rel: rel, bad: fmt.Sprintf(format, args...)})
		}
		var err error
		fields, err = splitCSV(fields[:0], line, &quoted)
		if err != nil {
			return bad("%v", err)
		}
		f := fields
		if len(f) != len(header) {
			return bad("%d columns, expected %d (%s)", len(f), len(header), strings.Join(header, ","))
		}
		t, err := ts.parse(f[0])
		if err != nil {
			return bad("%v", err)
		}
		// In a line without quotes the zone, type and product fields lie
		// side by side: one map lookup finds the pool of most lines.
		var pool *spotPool
		var raw []byte
		if bytes.IndexByte(line, '"') < 0 {
			raw = line[len(f[0])+1 : len(line)-len(f[4])-1]
			pool = pools[string(raw)]
		}
		if pool == nil {
			zone, region, err := zones.get(f[1])
			if err != nil {
				return bad("%v", err)
			}
			if len(f[2]) == 0 {
				return bad("instance_type is empty")
			}
			if len(f[3]) == 0 {
				return bad("product_description is empty")
			}
			pool = &spotPool{key: market.PoolKey{
				Cloud: market.AWS, Region: region, Zone: zone,
				InstanceType: strs.get(f[2]), Product: strs.get(f[3]),
			}}
			if raw != nil {
				pools[string(raw)] = pool
			}
		}
		price, skip, err := p.spotPrice("spot_price", f[4])
		if err != nil {
			return bad("%v", err)
		}
		if skip {
			return append(out, spotRow{rel: rel, skip: true})
		}
		return append(out, spotRow{rel: rel, pool: pool, t: t, price: price})
	}
}

// zoneCache validates each AWS availability zone once.
type zoneCache map[string][2]string

func (z zoneCache) get(b []byte) (zone, region string, err error) {
	if v, ok := z[string(b)]; ok {
		return v[0], v[1], nil
	}
	zone = string(b)
	region, err = awsRegionOfZone(zone)
	if err != nil {
		return "", "", err
	}
	z[zone] = [2]string{zone, region}
	return zone, region, nil
}

// awsRegionOfZone returns the region of an AWS zone, which must be a known
// region's zone (a Local Zone belongs to its parent region).
func awsRegionOfZone(zone string) (string, error) {
	if zone == "" {
		return "", fmt.Errorf("availability zone is empty")
	}
	region, err := market.RegionOfZone(zone)
	if err != nil {
		return "", fmt.Errorf("availability zone %q: %v", zone, err)
	}
	if market.KnownRegion(market.AWS, region) {
		if !market.KnownZone(market.AWS, zone) {
			return "", fmt.Errorf("availability zone %q: not a zone of %s", zone, region)
		}
		return region, nil
	}
	if parent, ok := market.AWSLocalZoneGroup(region); ok {
		return parent, nil
	}
	return "", fmt.Errorf("availability zone %q: unknown region %q", zone, region)
}

// spotPriceRecord is one element of SpotPriceHistory, as the EC2 API and
// the AWS CLI name its fields.
type spotPriceRecord struct {
	AvailabilityZone   string  `json:"AvailabilityZone"`
	InstanceType       string  `json:"InstanceType"`
	ProductDescription string  `json:"ProductDescription"`
	SpotPrice          *string `json:"SpotPrice"`
	Timestamp          string  `json:"Timestamp"`
}

// spotPriceJSON: {"SpotPriceHistory":[...],"NextToken":"..."}, what
// `aws ec2 describe-spot-price-history` prints. A NextToken means more
// pages exist; the file holds what was fetched, so it is noted, not an
// error.
func (p *parser) spotPriceJSON(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	zones := zoneCache{}
	strs := interner{}
	var ts tsCache
	seen := false
	err := d.object("document", func(key string) error {
		switch key {
		case "SpotPriceHistory":
			seen = true
			return d.array("SpotPriceHistory", func() error {
				var rec spotPriceRecord
				line, bad, err := d.decodeRecord(&rec)
				if err != nil {
					return err
				}
				if err := p.tick(); err != nil {
					return err
				}
				if bad == "" {
					var pp marketPoint
					pp, bad = p.spotPriceFromRecord(&rec, zones, strs, &ts)
					if bad == "" {
						return p.rowOf(line, d.record, p.price(pp))
					}
					if bad == zeroPrice {
						p.t.Skip(zeroPrice)
						return nil
					}
				}
				return p.row(line, d.record, bad)
			})
		case "NextToken":
			var tok *string
			if _, bad, err := d.decodeRecord(&tok); err != nil || bad != "" {
				if err != nil {
					return err
				}
				return d.shapeErr("NextToken: %s", bad)
			}
			if tok != nil && *tok != "" {
				p.t.Note("the document has a NextToken: more pages exist than this file holds")
			}
			return nil
		default:
			return d.shapeErr("unexpected key %q (expected SpotPriceHistory, NextToken)", key)
		}
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "SpotPriceHistory" array`)
	}
	return d.end()
}

type marketPoint = market.PricePoint

func (p *parser) spotPriceFromRecord(rec *spotPriceRecord, zones zoneCache, strs interner, ts *tsCache) (market.PricePoint, string) {
	switch {
	case rec.Timestamp == "":
		return market.PricePoint{}, "Timestamp is missing"
	case rec.InstanceType == "":
		return market.PricePoint{}, "InstanceType is missing"
	case rec.ProductDescription == "":
		return market.PricePoint{}, "ProductDescription is missing"
	case rec.SpotPrice == nil:
		return market.PricePoint{}, "SpotPrice is missing"
	}
	t, err := ts.parse([]byte(rec.Timestamp))
	if err != nil {
		return market.PricePoint{}, err.Error()
	}
	zone, region, err := zones.get([]byte(rec.AvailabilityZone))
	if err != nil {
		return market.PricePoint{}, err.Error()
	}
	price, skip, err := p.spotPrice("SpotPrice", []byte(*rec.SpotPrice))
	if err != nil {
		return market.PricePoint{}, err.Error()
	}
	if skip {
		return market.PricePoint{}, zeroPrice
	}
	return market.PricePoint{
		Pool: market.PoolKey{
			Cloud: market.AWS, Region: region, Zone: zone,
			InstanceType: strs.get([]byte(rec.InstanceType)), Product: strs.get([]byte(rec.ProductDescription)),
		},
		Time: t, Price: price, Source: p.source, FetchedAt: p.fetched,
	}, ""
}
