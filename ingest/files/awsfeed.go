package files

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// awsFeedRegions maps the legacy region names of the feed's JSONP
// generation (spot.js) to region codes; the JSON generation (spot.json)
// uses the codes themselves.
var awsFeedRegions = map[string]string{
	"us-east":    "us-east-1",
	"us-west":    "us-west-1",
	"eu-ireland": "eu-west-1",
	"apac-sin":   "ap-southeast-1",
	"apac-syd":   "ap-southeast-2",
	"apac-tokyo": "ap-northeast-1",
}

// awsFeedProducts maps the feed's value columns to the product
// descriptions DescribeSpotPriceHistory uses.
var awsFeedProducts = map[string]string{"linux": "Linux/UNIX", "mswin": "Windows"}

// jsonpPrefix opens the feed's older JSONP form, callback({...});
const jsonpPrefix = "callback("

type awsFeedSize struct {
	Size         string `json:"size"`
	ValueColumns []struct {
		Name   string            `json:"name"`
		Prices map[string]string `json:"prices"`
	} `json:"valueColumns"`
}

// awsSpotFeed reads the public AWS spot price feed behind the Spot pricing
// page (website.spot.ec2.aws.a2z.com/spot.json; its frozen JSONP
// predecessor spot-price.s3.amazonaws.com/spot.js wraps the same document
// in callback(...);): {"vers", "config": {"rate": "perhr",
// "valueColumns": ["linux","mswin"], "currencies": ["USD"], "regions":
// [{"region", "instanceTypes": [{"type", "sizes": [{"size",
// "valueColumns": [{"name", "prices": {"USD": "0.3555"}}]}]}]}]}}. Prices
// are per region (no zone), Linux and Windows, in USD per hour; "N/A"
// marks a type not offered with that OS (skipped, counted). The feed
// carries no time: a point is dated Options.SnapshotDate (the live source
// passes its fetch time), else the file's modification time (noted).
// Each size element is one record.
func (p *parser) awsSpotFeed(r *bufio.Reader) error {
	at, err := p.snapshotTime()
	if err != nil {
		return err
	}
	jsonp, err := skipJSONP(r)
	if err != nil {
		return err
	}
	d := newJSONDoc(p.name, r)
	strs := interner{}
	seenRegions := false
	err = d.object("document", func(key string) error {
		if key != "config" {
			return d.skip()
		}
		return d.object("config", func(key string) error {
			switch key {
			case "rate":
				var rate string
				line, bad, err := d.decodeRecord(&rate)
				if err != nil {
					return err
				}
				if bad == "" && rate != "perhr" {
					bad = fmt.Sprintf("%q: expected perhr", rate)
				}
				if bad != "" {
					return p.rowErr(line, 0, "config.rate: %s", bad)
				}
				return nil
			case "regions":
				seenRegions = true
				return d.array("config.regions", func() error {
					return p.awsFeedRegion(d, at, strs)
				})
			}
			return d.skip()
		})
	})
	if err != nil {
		return err
	}
	if !seenRegions {
		return d.shapeErr(`no "config.regions" array`)
	}
	if jsonp {
		return endJSONP(d)
	}
	return d.end()
}

func (p *parser) awsFeedRegion(d *jsonDoc, at time.Time, strs interner) error {
	region, known := "", false
	return d.object("region", func(key string) error {
		switch key {
		case "region":
			var name string
			line, bad, err := d.decodeRecord(&name)
			if err != nil {
				return err
			}
			if bad != "" {
				return p.rowErr(line, 0, "region: %s", bad)
			}
			region = name
			if c, ok := awsFeedRegions[name]; ok {
				region = c
			}
			known = market.KnownRegion(market.AWS, region)
			if !known {
				p.t.Note("region %q is not a known AWS region: its prices were skipped", name)
			}
			return nil
		case "instanceTypes":
			if region == "" {
				return d.shapeErr(`"instanceTypes" before "region"`)
			}
			return d.array("instanceTypes", func() error {
				return d.object("instanceTypes[]", func(key string) error {
					if key != "sizes" {
						return d.skip()
					}
					return d.array("sizes", func() error {
						var s awsFeedSize
						line, bad, err := d.decodeRecord(&s)
						if err != nil {
							return err
						}
						if err := p.tick(); err != nil {
							return err
						}
						if bad == "" && s.Size == "" {
							bad = `size is empty`
						}
						if bad != "" {
							return p.row(line, d.record, bad)
						}
						if !known {
							p.t.Skip("unknown region")
							return nil
						}
						return p.awsFeedSize(line, d.record, region, strs.get([]byte(s.Size)), &s, at)
					})
				})
			})
		}
		return d.skip()
	})
}

func (p *parser) awsFeedSize(line, record int64, region, typ string, s *awsFeedSize, at time.Time) error {
	type point struct {
		product string
		price   float64
	}
	var pts []point
	for _, c := range s.ValueColumns {
		product, ok := awsFeedProducts[c.Name]
		if !ok {
			p.t.Skip("value column other than linux and mswin")
			continue
		}
		v, ok := c.Prices["USD"]
		if !ok {
			return p.row(line, record, fmt.Sprintf("%s %s: no USD price", typ, c.Name))
		}
		if strings.HasPrefix(v, "N/A") {
			p.t.Skip("not offered with this OS (N/A)")
			continue
		}
		price, err := parseSpotPrice(typ+" "+c.Name, []byte(v))
		if err != nil {
			return p.row(line, record, err.Error())
		}
		pts = append(pts, point{product, price})
	}
	// The whole record is checked before any of it is stored, so a bad
	// record under --skip-bad stores nothing of itself.
	for _, x := range pts {
		if err := p.changedPrice(market.PricePoint{
			Pool: market.PoolKey{Cloud: market.AWS, Region: region, InstanceType: typ, Product: x.product},
			Time: at, Price: x.price, Source: p.source, FetchedAt: p.fetched,
		}); err != nil {
			return err
		}
	}
	return nil
}

// snapshotTime dates a snapshot that carries no time of its own:
// Options.SnapshotDate (to the second), else the file's modification time
// (noted in the run's info).
func (p *parser) snapshotTime() (time.Time, error) {
	switch {
	case !p.opts.SnapshotDate.IsZero():
		return p.opts.SnapshotDate.UTC().Truncate(time.Second), nil
	case !p.opts.modTime.IsZero():
		t := p.opts.modTime.UTC().Truncate(time.Second)
		p.t.Note("snapshot dated %s: the file's modification time (the content carries no time)", t.Format(time.RFC3339))
		return t, nil
	}
	return time.Time{}, fmt.Errorf("the time of this snapshot is unknown (the content carries none): give a snapshot time: %w", ingest.ErrBadInput)
}

// skipJSONP consumes a leading "callback(" and reports whether it was
// there.
func skipJSONP(r *bufio.Reader) (bool, error) {
	if _, err := peekJSON(r); err != nil {
		return false, err
	}
	b, _ := r.Peek(len(jsonpPrefix))
	if string(b) != jsonpPrefix {
		return false, nil
	}
	_, err := r.Discard(len(jsonpPrefix))
	return true, err
}

// peekJSON discards white space and a byte-order mark and returns the
// next byte, unread (0 at the end of the input).
func peekJSON(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.Peek(1)
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			r.Discard(1)
			continue
		case 0xef:
			if bom, _ := r.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
				r.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

// endJSONP checks that only ")" and an optional ";" follow the document.
func endJSONP(d *jsonDoc) error {
	line := d.line()
	rest, err := io.ReadAll(io.LimitReader(io.MultiReader(d.dec.Buffered(), d.lc), 1024))
	if err != nil {
		return d.fail(err)
	}
	rest = bytes.TrimSpace(rest)
	if !bytes.Equal(rest, []byte(");")) && !bytes.Equal(rest, []byte(")")) {
		return &ingest.RowError{File: d.name, Line: line, Reason: `the JSONP document does not end with ");"`}
	}
	return nil
}
