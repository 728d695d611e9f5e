package files

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/spotcast/spotcast/market"
)

var yearMonth = regexp.MustCompile(`((?:19|20)\d\d)-(0[1-9]|1[0-2])`)

// advisorBuckets are the interruption-frequency buckets of
// market.AdvisorRow.Bucket, as the feed's "ranges" label them.
var advisorBuckets = []string{"<5%", "5-10%", "10-15%", "15-20%", ">20%"}

type advisorRange struct {
	Index *int   `json:"index"`
	Label string `json:"label"`
}

type advisorEntry struct {
	R *json.Number `json:"r"`
	S *json.Number `json:"s"`
}

// spotAdvisor reads the Spot Instance Advisor feed
// (spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json):
// {"spot_advisor": {REGION: {OS: {TYPE: {"r": bucket, "s": savings %}}}},
// "ranges": [{"index","label",...}], "instance_types": {...},
// "global_rate": ...}. "r" indexes "ranges"; the ranges are checked to
// mean what market.AdvisorRow.Bucket says, so a feed that ever changes
// its buckets fails loudly instead of being misread. The feed carries no
// date: the snapshot date is the file name's YYYY-MM (or
// Options.SnapshotDate), noted in the run's info.
func (p *parser) spotAdvisor(r io.Reader) error {
	snap, err := p.snapshotDate()
	if err != nil {
		return err
	}
	d := newJSONDoc(p.name, r)
	strs := interner{}
	seen := false
	err = d.object("document", func(key string) error {
		switch key {
		case "spot_advisor":
			seen = true
			return d.object("spot_advisor", func(region string) error {
				regionOK := market.KnownRegion(market.AWS, region)
				return d.object("spot_advisor."+region, func(os string) error {
					return d.object("spot_advisor."+region+"."+os, func(typ string) error {
						var e advisorEntry
						line, bad, err := d.decodeRecord(&e)
						if err != nil {
							return err
						}
						if err := p.tick(); err != nil {
							return err
						}
						if bad == "" {
							bad = checkAdvisor(region, regionOK, os, typ, &e)
						}
						if bad != "" {
							return p.row(line, d.record, bad)
						}
						b, _ := e.R.Int64()
						s, _ := e.S.Int64()
						if s < 0 {
							// Real feeds have it (spot above on-demand);
							// market.AdvisorRow keeps 0-100.
							p.t.Skip("negative savings (spot price above on-demand)")
							return nil
						}
						return p.advisor(market.AdvisorRow{
							Region: region, OS: strs.get([]byte(os)), InstanceType: strs.get([]byte(typ)),
							Bucket: int(b), SavingsPct: int(s), Snapshot: snap,
							Source: p.source, FetchedAt: p.fetched,
						})
					})
				})
			})
		case "ranges":
			var rs []advisorRange
			line, bad, err := d.decodeRecord(&rs)
			if err != nil {
				return err
			}
			if bad == "" {
				bad = checkRanges(rs)
			}
			if bad != "" {
				// The whole file would be misread: never skippable.
				return p.rowErr(line, 0, "ranges: %s", bad)
			}
			return nil
		default:
			return d.skip()
		}
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "spot_advisor" object`)
	}
	return d.end()
}

func checkAdvisor(region string, regionOK bool, os, typ string, e *advisorEntry) string {
	if !regionOK {
		return fmt.Sprintf("unknown region %q", region)
	}
	if os == "" || typ == "" {
		return "empty OS or instance type"
	}
	if e.R == nil || e.S == nil {
		return fmt.Sprintf("%s %s %s: needs \"r\" and \"s\"", region, os, typ)
	}
	b, err := e.R.Int64()
	if err != nil || b < 0 || b >= int64(len(advisorBuckets)) {
		return fmt.Sprintf("%s %s %s: r %s: expected a bucket 0-%d", region, os, typ, e.R, len(advisorBuckets)-1)
	}
	s, err := e.S.Int64()
	if err != nil || s < -100 || s > 100 {
		return fmt.Sprintf("%s %s %s: s %s: expected savings -100..100 %%", region, os, typ, e.S)
	}
	return ""
}

func checkRanges(rs []advisorRange) string {
	if len(rs) != len(advisorBuckets) {
		return fmt.Sprintf("%d ranges, expected %d (%v)", len(rs), len(advisorBuckets), advisorBuckets)
	}
	for _, r := range rs {
		if r.Index == nil || *r.Index < 0 || *r.Index >= len(advisorBuckets) {
			return "a range without a valid index"
		}
		if want := advisorBuckets[*r.Index]; r.Label != want {
			return fmt.Sprintf("range %d is labelled %q, expected %q", *r.Index, r.Label, want)
		}
	}
	return ""
}
