package files

import (
	"bufio"
	"strconv"
	"time"

	"github.com/spotcast/spotcast/market"
)

// spotlakeIF maps SpotLake's interruption-frequency grade to the Spot
// Instance Advisor bucket it stands for: 3.0 = <5%, 2.5 = 5-10%, 2.0 =
// 10-15%, 1.5 = 15-20%, 1.0 = >20% (the data set's README).
var spotlakeIF = map[string]int{"3.0": 0, "3": 0, "2.5": 1, "2.0": 2, "2": 2, "1.5": 3, "1.0": 4, "1": 4}

// spotlakePScaleChange is when AWS began giving single-type Spot
// Placement Score requests for P-family GPU instances scores on the full
// 1-10 scale (4 to 9 seen from then on); every other single-type score
// stays capped at 3, as AWS documents that requests naming fewer than
// three instance types get low scores. SpotLake reports it under "Known
// issues" (github.com/ddps-lab/spotlake-open-data, README).
var spotlakePScaleChange = time.Date(2025, 9, 25, 0, 0, 0, 0, time.UTC)

// spotlakeScale is the scale a SpotLake score was given on: 10 for a
// P-family type from 2025-09-25, 3 (AWS's cap on single-type requests)
// otherwise; a score above 3 is on the full scale whatever the family.
func spotlakeScale(typ string, at time.Time, score int) int {
	fam := market.InstanceFamily(typ)
	if score > 3 || len(fam) >= 2 && fam[0] == 'p' && fam[1] >= '0' && fam[1] <= '9' && !at.Before(spotlakePScaleChange) {
		return 10
	}
	return 3
}

// spotLake reads a SpotLake AWS snapshot (the open data set of
// github.com/ddps-lab/spotlake-open-data: one gzip CSV per 10 minutes,
// Time,InstanceType,Region,AZ,SPS,T3,T2,IF,OndemandPrice,SpotPrice,
// Savings; missing values are empty). Per row:
//   - SpotPrice: the Linux/UNIX spot price of the pool (region, AZ,
//     type); AZ is a zone ID (use1-az1), which names the same zone in
//     every account, so it is the pool's zone. The snapshot repeats
//     unchanged prices: with Options.Changes only changes are stored.
//   - SPS: a Spot Placement Score for the request SpotLake makes (this
//     type alone, a single AZ, target capacity 1), stored with the AZ and
//     the scale it was given on (spotlakeScale). T3 and T2 (the largest
//     capacities that recently scored at least 3 or 2) are lower bounds,
//     not scores, and are not stored.
//   - IF: the advisor's interruption bucket of the region and type,
//     stored as an advisor row of the snapshot's day (OS Linux, savings
//     from Savings, 0 when the spot price is above on-demand); once per
//     region, type and day.
//   - OndemandPrice: the Linux/UNIX on-demand price, once per region,
//     type and day.
//
// Time is "YYYY-MM-DD HH:MM:SS" in UTC, as the data set documents.
func (p *parser) spotLake(r *bufio.Reader) error {
	c, err := p.openCSV(r, FormatSpotLake)
	if err != nil {
		return err
	}
	strs := interner{}
	var lastT []byte
	var at time.Time
	type dayKey struct {
		region, typ string
		day         time.Time
	}
	seenAdvisor, seenOD := map[dayKey]bool{}, map[dayKey]bool{}
	notedScale := false
	return c.each(func(f [][]byte) error {
		if lastT == nil || string(f[0]) != string(lastT) {
			t, err := time.Parse("2006-01-02 15:04:05", string(f[0]))
			if err != nil {
				return c.badRow("Time %q: not YYYY-MM-DD HH:MM:SS (UTC)", f[0])
			}
			lastT, at = append(lastT[:0], f[0]...), t.UTC()
		}
		if len(f[1]) == 0 {
			return c.badRow("InstanceType is empty")
		}
		typ := strs.get(f[1])
		region := strs.get(f[2])
		if !market.KnownRegion(market.AWS, region) {
			return c.badRow("unknown region %q", f[2])
		}
		az := strs.get(f[3])
		if r, ok := market.AWSRegionOfZoneID(az); !ok || r != region {
			return c.badRow("AZ %q: not a zone ID of %s", f[3], region)
		}
		// Check the whole row before storing any of it.
		var score, scale int
		if len(f[4]) > 0 {
			v, err := strconv.ParseFloat(string(f[4]), 64)
			if err != nil || v != float64(int(v)) || v < 1 || v > 10 {
				return c.badRow("SPS %q: expected an integer 1-10", f[4])
			}
			score = int(v)
			scale = spotlakeScale(typ, at, score)
			if scale == 10 && score > 3 && !notedScale && at.Before(spotlakePScaleChange) {
				notedScale = true
				p.t.Note("SPS above 3 before %s (%s): read on the full 1-10 scale", spotlakePScaleChange.Format("2006-01-02"), typ)
			}
		}
		bucket := -1
		if len(f[7]) > 0 {
			b, ok := spotlakeIF[string(f[7])]
			if !ok {
				return c.badRow("IF %q: expected 3.0, 2.5, 2.0, 1.5 or 1.0", f[7])
			}
			bucket = b
		}
		var od, spot float64
		if len(f[8]) > 0 {
			if od, err = parsePrice("OndemandPrice", f[8]); err != nil {
				return c.badRow("%v", err)
			}
		}
		if len(f[9]) > 0 {
			if spot, err = parseSpotPrice("SpotPrice", f[9]); err != nil {
				return c.badRow("%v", err)
			}
		}
		savings, hasSavings := 0, false
		if len(f[10]) > 0 {
			v, err := strconv.ParseFloat(string(f[10]), 64)
			if err != nil || v > 100 || v < -1e6 {
				return c.badRow("Savings %q: expected a percentage", f[10])
			}
			savings, hasSavings = max(int(v), 0), true
		}

		if spot > 0 {
			if err := p.changedPrice(market.PricePoint{
				Pool: market.PoolKey{Cloud: market.AWS, Region: region, Zone: az, InstanceType: typ, Product: "Linux/UNIX"},
				Time: at, Price: spot, Source: p.source, FetchedAt: p.fetched,
			}); err != nil {
				return err
			}
		}
		if score > 0 {
			if err := p.placement(market.PlacementScore{
				Region: region, Zone: az, InstanceTypes: []string{typ}, TargetCapacity: 1, CapacityUnit: "units",
				Score: score, ScaleMax: scale, Time: at, Source: p.source, FetchedAt: p.fetched,
			}); err != nil {
				return err
			}
		}
		day := dateOfTime(at)
		k := dayKey{region, typ, day}
		switch {
		case bucket < 0:
		case !hasSavings:
			p.t.Skip("IF without Savings (no price to compare)")
		case !seenAdvisor[k]:
			seenAdvisor[k] = true
			if err := p.advisor(market.AdvisorRow{Region: region, OS: "Linux", InstanceType: typ, Bucket: bucket,
				SavingsPct: savings, Snapshot: day, Source: p.source, FetchedAt: p.fetched}); err != nil {
				return err
			}
		}
		if od > 0 && !seenOD[k] {
			seenOD[k] = true
			return p.onDemand(market.OnDemandPrice{Cloud: market.AWS, Region: region, InstanceType: typ, Product: "Linux/UNIX",
				Date: day, Price: od, Source: p.source, FetchedAt: p.fetched})
		}
		return nil
	})
}

func dateOfTime(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
