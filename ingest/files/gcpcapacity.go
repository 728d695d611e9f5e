package files

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

type gcpShard struct {
	Zone              string `json:"zone"`
	MachineType       string `json:"machineType"`
	InstanceCount     *int   `json:"instanceCount"`
	ProvisioningModel string `json:"provisioningModel"`
}

type gcpRecommendation struct {
	Scores *struct {
		Obtainability   *float64 `json:"obtainability"`
		EstimatedUptime *string  `json:"estimatedUptime"`
	} `json:"scores"`
	Shards []gcpShard `json:"shards"`
}

// gcpCapacityAdvice reads the response of Compute Engine's
// advice.capacity (cloud.google.com/compute/docs/reference/rest/beta/
// advice/capacity, CapacityAdviceResponse): {"recommendations":
// [{"scores": {"obtainability": 0-1, "estimatedUptime": a Duration such
// as "10800s"}, "shards": [{"zone", "machineType", "instanceCount",
// "provisioningModel"}]}]}. The scores are the recommendation's as a
// whole; each SPOT shard gets them as capacity signals of its zone and
// machine type (obtainability, estimated uptime in hours), with the
// recommendation's total instance count as the target capacity. The
// response carries no time: the signals are dated Options.SnapshotDate,
// else the file's modification time. Each recommendation is one record.
func (p *parser) gcpCapacityAdvice(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	strs := interner{}
	var at time.Time
	seen := false
	err := d.object("document", func(key string) error {
		if key != "recommendations" {
			return d.skip()
		}
		seen = true
		return d.array("recommendations", func() error {
			var rec gcpRecommendation
			line, bad, err := d.decodeRecord(&rec)
			if err != nil {
				return err
			}
			if err := p.tick(); err != nil {
				return err
			}
			if bad == "" && at.IsZero() {
				if at, err = p.snapshotTime(); err != nil {
					return err
				}
			}
			var sigs []market.CapacitySignal
			if bad == "" {
				sigs, bad = gcpAdviceSignals(&rec, strs, at)
			}
			if bad != "" {
				return p.row(line, d.record, bad)
			}
			if len(sigs) == 0 {
				p.t.Skip("no SPOT shard")
			}
			for _, s := range sigs {
				s.Source, s.FetchedAt = p.source, p.fetched
				if err := p.signal(s); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "recommendations" array`)
	}
	return d.end()
}

// gcpAdviceSignals checks a recommendation whole and returns its signals.
func gcpAdviceSignals(rec *gcpRecommendation, strs interner, at time.Time) ([]market.CapacitySignal, string) {
	if rec.Scores == nil || rec.Scores.Obtainability == nil && rec.Scores.EstimatedUptime == nil {
		return nil, "scores: neither obtainability nor estimatedUptime"
	}
	if len(rec.Shards) == 0 {
		return nil, "shards: empty"
	}
	var obt, uptime float64
	hasObt, hasUp := rec.Scores.Obtainability != nil, rec.Scores.EstimatedUptime != nil
	if hasObt {
		obt = *rec.Scores.Obtainability
		if !(obt >= 0 && obt <= 1) {
			return nil, fmt.Sprintf("scores.obtainability %v: want 0-1", obt)
		}
	}
	if hasUp {
		d, err := protoDuration(*rec.Scores.EstimatedUptime)
		if err != nil || d <= 0 {
			return nil, fmt.Sprintf("scores.estimatedUptime %q: want a positive duration such as \"10800s\"", *rec.Scores.EstimatedUptime)
		}
		uptime = d.Hours()
	}
	total := 0
	for i, s := range rec.Shards {
		if s.InstanceCount == nil || *s.InstanceCount < 1 {
			return nil, fmt.Sprintf("shards[%d].instanceCount: missing or below 1", i)
		}
		total += *s.InstanceCount
	}
	var out []market.CapacitySignal
	for i, s := range rec.Shards {
		if s.ProvisioningModel != "" && s.ProvisioningModel != "SPOT" {
			continue
		}
		zone := lastSegment(s.Zone)
		region, err := market.RegionOfZone(zone)
		if err != nil || zone == "" {
			return nil, fmt.Sprintf("shards[%d].zone %q: not a zone", i, s.Zone)
		}
		if !market.KnownRegion(market.GCP, region) {
			return nil, fmt.Sprintf("shards[%d].zone %q: unknown gcp region %q", i, s.Zone, region)
		}
		typ := lastSegment(s.MachineType)
		if typ == "" {
			return nil, fmt.Sprintf("shards[%d].machineType is empty", i)
		}
		base := market.CapacitySignal{Cloud: market.GCP, Region: region, Zone: zone, InstanceType: strs.get([]byte(typ)),
			TargetCapacity: total, Time: at}
		if hasObt {
			s := base
			s.Kind, s.Value, s.ValueHigh, s.Label = market.SignalObtainability, obt, obt, strconv.FormatFloat(obt, 'g', -1, 64)
			out = append(out, s)
		}
		if hasUp {
			s := base
			s.Kind, s.Value, s.ValueHigh, s.Label = market.SignalEstimatedUptime, uptime, uptime, *rec.Scores.EstimatedUptime
			out = append(out, s)
		}
	}
	return out, ""
}

// protoDuration reads a google.protobuf.Duration in its JSON form:
// seconds with an "s" suffix, fractions allowed ("3600s", "1.5s").
func protoDuration(s string) (time.Duration, error) {
	v, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, fmt.Errorf("no s suffix")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e10 {
		return 0, fmt.Errorf("not seconds")
	}
	return time.Duration(f * float64(time.Second)), nil
}
