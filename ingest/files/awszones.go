package files

import (
	"fmt"
	"io"

	"github.com/spotcast/spotcast/market"
)

type awsZoneRecord struct {
	ZoneName   string `json:"ZoneName"`
	ZoneID     string `json:"ZoneId"`
	RegionName string `json:"RegionName"`
}

// awsAvailabilityZones reads what `aws ec2 describe-availability-zones`
// prints ({"AvailabilityZones": [{"ZoneName", "ZoneId", "RegionName",
// ...}]}): the account's pairing of zone names with zone IDs, which the
// csv format uses to store a zone given by ID under its name. Each zone
// is one record.
func (p *parser) awsAvailabilityZones(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	seen := false
	err := d.object("document", func(key string) error {
		if key != "AvailabilityZones" {
			return d.skip()
		}
		seen = true
		return d.array("AvailabilityZones", func() error {
			var z awsZoneRecord
			line, bad, err := d.decodeRecord(&z)
			if err != nil {
				return err
			}
			if err := p.tick(); err != nil {
				return err
			}
			if bad == "" {
				bad = checkZoneRecord(&z)
			}
			if bad != "" {
				return p.row(line, d.record, bad)
			}
			if !market.KnownRegion(market.AWS, z.RegionName) {
				p.t.Skip("unknown region")
				return nil
			}
			return p.zoneID(market.ZoneID{Cloud: market.AWS, Region: z.RegionName, Zone: z.ZoneName, ZoneID: z.ZoneID,
				Source: p.source, FetchedAt: p.fetched})
		})
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "AvailabilityZones" array`)
	}
	return d.end()
}

func checkZoneRecord(z *awsZoneRecord) string {
	if z.ZoneName == "" || z.ZoneID == "" || z.RegionName == "" {
		return "needs ZoneName, ZoneId and RegionName"
	}
	if r, ok := market.AWSRegionOfZoneID(z.ZoneID); !ok || r != z.RegionName {
		return fmt.Sprintf("ZoneId %q is not a zone ID of %s", z.ZoneID, z.RegionName)
	}
	if r, err := market.RegionOfZone(z.ZoneName); err != nil || r != z.RegionName {
		return fmt.Sprintf("ZoneName %q is not a zone of %s", z.ZoneName, z.RegionName)
	}
	return ""
}
