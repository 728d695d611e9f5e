package files

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// CSVMapping describes a CSV file of any shape holding spot prices, for
// the "csv" format: which column holds each field, and constants for the
// fields the file does not have.
type CSVMapping struct {
	// Columns maps a field (CSVFields) to its column: a header name
	// (case-insensitive) or a 1-based column number.
	Columns map[string]string
	// Constants gives fields the file lacks one value for every row.
	Constants map[string]string
	// Delimiter separates fields (0: ',').
	Delimiter byte
	// NoHeader: the first line is data; columns are numbers only.
	NoHeader bool
}

// CSVFields are the fields a CSVMapping can map or set.
var CSVFields = []string{"timestamp", "cloud", "region", "zone", "zone_id", "instance_type", "product", "price"}

// ParseCSVMap reads the --map flag: "field=COL,field=COL".
func ParseCSVMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("--map %q: want field=COLUMN", part)
		}
		if !isCSVField(k) {
			return nil, fmt.Errorf("--map: unknown field %q (fields: %s)", k, strings.Join(CSVFields, ", "))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--map: field %q mapped twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func isCSVField(f string) bool {
	for _, x := range CSVFields {
		if x == f {
			return true
		}
	}
	return false
}

// csvPlan is a CSVMapping resolved against a header: the 0-based column
// of each mapped field.
type csvPlan struct {
	col    map[string]int
	consts map[string]string
	need   int // columns a row must have
}

func (m *CSVMapping) plan(header []string) (*csvPlan, error) {
	pl := &csvPlan{col: map[string]int{}, consts: map[string]string{}}
	for k, v := range m.Constants {
		if !isCSVField(k) {
			return nil, fmt.Errorf("constant for unknown field %q", k)
		}
		if v != "" {
			pl.consts[k] = v
		}
	}
	fields := make([]string, 0, len(m.Columns))
	for f := range m.Columns {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		ref := m.Columns[f]
		if !isCSVField(f) {
			return nil, fmt.Errorf("unknown field %q", f)
		}
		if _, dup := pl.consts[f]; dup {
			return nil, fmt.Errorf("field %s is both mapped to a column and given as a constant", f)
		}
		i, err := strconv.Atoi(ref)
		switch {
		case err == nil && i >= 1:
			i--
			if header != nil && i >= len(header) {
				return nil, fmt.Errorf("%s=%d: the header has %d columns", f, i+1, len(header))
			}
		case err == nil:
			return nil, fmt.Errorf("%s=%s: columns are numbered from 1", f, ref)
		case header == nil:
			return nil, fmt.Errorf("%s=%s: without a header, name columns by number", f, ref)
		default:
			i = -1
			for j, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), ref) {
					i = j
					break
				}
			}
			if i < 0 {
				return nil, fmt.Errorf("%s=%s: no such column in the header (%s)", f, ref, strings.Join(header, ","))
			}
		}
		pl.col[f] = i
		pl.need = max(pl.need, i+1)
	}
	for _, f := range []string{"timestamp", "price"} {
		if _, ok := pl.col[f]; !ok {
			return nil, fmt.Errorf("map the %s column (--map %s=COLUMN)", f, f)
		}
	}
	if !pl.has("instance_type") {
		return nil, errors.New("map the instance_type column or give --instance-type")
	}
	if !pl.has("region") && !pl.has("zone") {
		return nil, errors.New("map a region or zone column, or give --region or --zone")
	}
	return pl, nil
}

func (pl *csvPlan) has(f string) bool {
	_, c := pl.col[f]
	_, k := pl.consts[f]
	return c || k
}

// get returns a field's value in a row.
func (pl *csvPlan) get(f string, row [][]byte) string {
	if i, ok := pl.col[f]; ok {
		return strings.TrimSpace(string(row[i]))
	}
	return pl.consts[f]
}

// genericCSV reads spot prices from a CSV of any shape under
// Options.CSV: one price point per row, at the pool the row's region,
// zone, instance type and product name (cloud: the constant, else the
// region's). A zone may be a name (us-east-1a) or an AWS zone ID
// (use1-az4): an ID whose name is known (Options.ZoneNames) is stored as
// that name, with the pair kept; an unknown ID is the pool's zone itself.
// A zone_id column beside a zone column keeps each row's pair.
// Timestamps are RFC 3339 with a zone, or dates (UTC midnight).
func (p *parser) genericCSV(r *bufio.Reader) error {
	m := p.opts.CSV
	if m == nil {
		return fmt.Errorf("format csv needs a column mapping (--map timestamp=COL,price=COL,...): %w", ingest.ErrBadInput)
	}
	delim := m.Delimiter
	if delim == 0 {
		delim = ','
	}
	if delim == '"' || delim == '\n' || delim == '\r' {
		return fmt.Errorf("delimiter %q: %w", delim, ingest.ErrBadInput)
	}
	lr := lineReader{r: r}
	var fields [][]byte
	var scratch []byte
	var header []string
	if !m.NoHeader {
		line, err := lr.next()
		if err == io.EOF {
			return p.rowErr(1, 0, "empty file")
		}
		if err != nil {
			return err
		}
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		fields, err = splitDelim(fields[:0], line, delim, &scratch)
		if err != nil {
			return p.rowErr(1, 0, "header: %v", err)
		}
		for _, f := range fields {
			header = append(header, strings.TrimSpace(string(f)))
		}
	}
	pl, err := m.plan(header)
	if err != nil {
		line := int64(0)
		if header != nil {
			line = 1
		}
		return &ingest.RowError{File: p.name, Line: line, Reason: "column mapping: " + err.Error()}
	}
	var ts tsCache
	dates := dateCache{}
	zones := map[string]bool{}
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err == errTooLong {
			if err := p.bad(p.rowErr(lr.line, 0, "%v", err)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := p.tick(); err != nil {
			return err
		}
		fields, err = splitDelim(fields[:0], line, delim, &scratch)
		var pp market.PricePoint
		var zid market.ZoneID
		bad := ""
		switch {
		case err != nil:
			bad = err.Error()
		case len(fields) < pl.need:
			bad = fmt.Sprintf("%d columns, the mapping reads column %d", len(fields), pl.need)
		default:
			pp, zid, bad = p.csvRow(pl, fields, &ts, dates)
		}
		if bad != "" {
			if err := p.bad(p.rowErr(lr.line, 0, "%s", bad)); err != nil {
				return err
			}
			continue
		}
		if zid.ZoneID != "" && !zones[zid.Zone+" "+zid.ZoneID] {
			zones[zid.Zone+" "+zid.ZoneID] = true
			if err := p.zoneID(zid); err != nil {
				return err
			}
		}
		if err := p.price(pp); err != nil {
			return err
		}
	}
}

// csvRow makes a row's price point (and zone pair) or says why it is bad.
func (p *parser) csvRow(pl *csvPlan, row [][]byte, ts *tsCache, dates dateCache) (market.PricePoint, market.ZoneID, string) {
	var none market.ZoneID
	raw := pl.get("timestamp", row)
	var at time.Time
	var err error
	if len(raw) == 10 && !strings.Contains(raw, "T") {
		at, err = dates.parse([]byte(raw))
	} else {
		at, err = ts.parse([]byte(raw))
	}
	if err != nil {
		return market.PricePoint{}, none, "timestamp: " + err.Error()
	}
	price, err := parseSpotPrice("price", []byte(pl.get("price", row)))
	if err != nil {
		return market.PricePoint{}, none, err.Error()
	}
	typ := pl.get("instance_type", row)
	if typ == "" {
		return market.PricePoint{}, none, "instance_type is empty"
	}
	cloud, region, zone, zoneID := pl.get("cloud", row), pl.get("region", row), pl.get("zone", row), pl.get("zone_id", row)
	if zoneID != "" && !market.IsAWSZoneID(zoneID) {
		return market.PricePoint{}, none, fmt.Sprintf("zone_id %q: not an AWS zone ID such as use1-az4", zoneID)
	}
	if market.IsAWSZoneID(zone) {
		if zoneID != "" && zoneID != zone {
			return market.PricePoint{}, none, fmt.Sprintf("zone %q and zone_id %q disagree", zone, zoneID)
		}
		zoneID = zone
		zone = p.opts.ZoneNames[zoneID] // "" when unknown: the ID is the zone
		if zone == "" {
			zone, zoneID = zoneID, ""
		}
	}
	if zone != "" {
		r, err := market.RegionOfZone(zone)
		if err != nil {
			return market.PricePoint{}, none, fmt.Sprintf("zone %q: %v", zone, err)
		}
		if parent, ok := market.AWSLocalZoneGroup(r); ok {
			r = parent
		}
		if region == "" {
			region = r
		} else if r != region {
			return market.PricePoint{}, none, fmt.Sprintf("zone %q is not in region %q", zone, region)
		}
	}
	if cloud == "" {
		if cloud = market.CloudOfRegion(region); cloud == "" {
			cloud = market.AWS
		}
	}
	canon, ok := market.CanonicalRegion(cloud, region)
	if !ok {
		return market.PricePoint{}, none, fmt.Sprintf("unknown %s region %q", cloud, region)
	}
	pp := market.PricePoint{
		Pool: market.PoolKey{Cloud: cloud, Region: canon, Zone: zone, InstanceType: typ, Product: pl.get("product", row)},
		Time: at, Price: price, Source: p.source, FetchedAt: p.fetched,
	}
	if zoneID != "" && zone != "" {
		if cloud != market.AWS {
			return market.PricePoint{}, none, "zone IDs are AWS's"
		}
		return pp, market.ZoneID{Cloud: cloud, Region: canon, Zone: zone, ZoneID: zoneID, Source: p.source, FetchedAt: p.fetched}, ""
	}
	return pp, none, ""
}

// splitDelim splits a line on delim, honouring double quotes ("" inside
// quotes is a quote); ',' takes splitCSV's fast path.
func splitDelim(dst [][]byte, line []byte, delim byte, scratch *[]byte) ([][]byte, error) {
	if delim == ',' {
		return splitCSV(dst, line, scratch)
	}
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, delim)
			if i < 0 {
				return append(dst, line), nil
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
		}
	}
	// Quotes with another delimiter: rewrite to commas inside a copy is
	// wrong when fields hold commas, so unquote by hand.
	var out [][]byte
	buf := (*scratch)[:0]
	type span struct{ lo, hi int }
	var spans []span
	for {
		lo := len(buf)
		if len(line) > 0 && line[0] == '"' {
			i := 1
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return dst, errors.New("unterminated quoted field")
				}
				buf = append(buf, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					buf = append(buf, '"')
					i++
					continue
				}
				break
			}
			line = line[i:]
			spans = append(spans, span{lo, len(buf)})
			if len(line) == 0 {
				break
			}
			if line[0] != delim {
				return dst, errors.New("text after closing quote")
			}
			line = line[1:]
			continue
		}
		i := bytes.IndexByte(line, delim)
		if i < 0 {
			buf = append(buf, line...)
			spans = append(spans, span{lo, len(buf)})
			break
		}
		buf = append(buf, line[:i]...)
		spans = append(spans, span{lo, len(buf)})
		line = line[i+1:]
	}
	for _, s := range spans {
		out = append(out, buf[s.lo:s.hi])
	}
	*scratch = buf
	return append(dst, out...), nil
}
