package files

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// Skypilot spot traces (github.com/skypilot-org/spot-traces, the data of
// "Can't Be Late", NSDI'24): {"metadata":{"gap_seconds":N},"data":[...],
// "prices":[...]} sampled every gap_seconds. In availability traces data[i]
// is the number of instances that could be obtained; in preemption traces
// the number running (1/0, or 0-4 for the 4-node traces). The file holds
// neither its start, its zone nor its instance type: they come from its
// path, .../<availability|preemption>/<N-node>/<cloud>-<MM-DD-YYYY>/
// <zone>_<accelerator>_<count>.json, and from the repository's README.

// skypilotStart is the start date the README gives for each trace folder.
// The folder name is a date too, but not always the start: the README says
// the traces in preemption/1-node/aws-04-19-2023 start on 05/01/2023. The
// README gives no time of day: traces start at 00:00 UTC of that date.
var skypilotStart = map[string]string{
	"availability/1-node/aws-10-26-2022":  "2022-10-26",
	"availability/1-node/aws-02-15-2023":  "2023-02-15",
	"availability/16-node/aws-08-27-2023": "2023-08-27",
	"preemption/1-node/aws-04-22-2023":    "2023-04-22",
	"preemption/1-node/gcp-04-30-2023":    "2023-04-30",
	"preemption/1-node/aws-04-19-2023":    "2023-05-01",
	"preemption/4-node/aws-08-03-2023":    "2023-08-03",
}

// skypilotType maps the file name's accelerator and count to an instance
// type. V100, Intel and C3 follow the README. For K80 the README names
// p2.2xlarge (no such type) and p2.16xlarge (16 GPUs) for "1/8 K80"; the
// files are named by SkyPilot accelerator count, and SkyPilot's AWS
// catalogue maps K80:1 to p2.xlarge and K80:8 to p2.8xlarge.
var skypilotType = map[string]string{
	"aws/v100_1":   "p3.2xlarge",
	"aws/v100_8":   "p3.16xlarge",
	"aws/k80_1":    "p2.xlarge",
	"aws/k80_8":    "p2.8xlarge",
	"aws/intel_64": "r5.16xlarge",
	"gcp/c3-88":    "c3-highcpu-88",
}

type skypilotDoc struct {
	Metadata *struct {
		GapSeconds *json.Number `json:"gap_seconds"`
	} `json:"metadata"`
	Data   []json.Number `json:"data"`
	Prices []json.Number `json:"prices"`
}

// skypilotTrace turns a trace into events: observation-start (Count = the
// value at the start), then at every change either preempted/launched
// (preemption traces, Count = nodes lost or regained) or capacity
// (availability traces, Count = nodes available from then on), and
// observation-end one gap after the last sample. The "prices" array, when
// present, is the spot price seen at each sample: its changes become
// price points of the zone's pool with no product (the trace does not say
// which OS). The document is a few hundred KB and is decoded whole.
func (p *parser) skypilotTrace(r io.Reader) error {
	kind, folder, cloud, zone, region, typ, err := skypilotPath(p.name)
	if err != nil {
		return err
	}
	start := p.opts.TraceStart.UTC()
	if p.opts.TraceStart.IsZero() {
		s, ok := skypilotStart[folder]
		if !ok {
			return fmt.Errorf("trace folder %q: start date unknown (not in the skypilot README); give Options.TraceStart: %w", folder, ingest.ErrBadInput)
		}
		start, _ = time.Parse("2006-01-02", s)
		p.t.Note("trace starts %s (the README's start date for %s, 00:00 UTC)", s, folder)
	}
	d := newJSONDoc(p.name, r)
	var doc skypilotDoc
	line, bad, err := d.decodeRecord(&doc)
	if err != nil {
		return err
	}
	if bad != "" {
		return p.rowErr(line, 0, "wrong shape: %s", bad)
	}
	if err := d.end(); err != nil {
		return err
	}
	if doc.Metadata == nil || doc.Metadata.GapSeconds == nil {
		return p.rowErr(line, 0, "wrong shape: metadata.gap_seconds is missing")
	}
	gapS, err := doc.Metadata.GapSeconds.Float64()
	if err != nil || gapS <= 0 || gapS > 86400 || math.IsNaN(gapS) {
		return p.rowErr(line, 0, "metadata.gap_seconds %s: expected seconds between samples", doc.Metadata.GapSeconds)
	}
	gap := time.Duration(gapS * float64(time.Second))
	if len(doc.Data) == 0 {
		return p.rowErr(line, 0, "wrong shape: data is empty")
	}
	if doc.Prices != nil && len(doc.Prices) != len(doc.Data) {
		return p.rowErr(line, 0, "prices has %d samples, data %d", len(doc.Prices), len(doc.Data))
	}
	id := "skypilot:" + folder + "/" + path.Base(filepath.ToSlash(p.name))
	ev := func(i int, kind string, count int) error {
		return p.event(market.Event{
			Time:  start.Add(time.Duration(i) * gap),
			Cloud: cloud, Region: region, Zone: zone, InstanceType: typ,
			Kind: kind, Count: count, EventID: fmt.Sprintf("%s#%d", id, i),
			Source: p.source, FetchedAt: p.fetched,
		})
	}
	prev, prevPrice := -1, -1.0
	for i, v := range doc.Data {
		if err := p.tick(); err != nil {
			return err
		}
		n, err := v.Int64()
		if err != nil || n < 0 || n > 1<<20 {
			// A bad sample cannot be skipped: the series would gain a
			// change that did not happen.
			return p.rowErr(0, int64(i)+1, "data[%d] %s: expected a node count", i, v)
		}
		cur := int(n)
		switch {
		case i == 0:
			err = ev(0, market.EventObservationStart, cur)
		case cur == prev:
		case kind == "availability":
			err = ev(i, market.EventCapacity, cur)
		case cur < prev:
			err = ev(i, market.EventPreempted, prev-cur)
		default:
			err = ev(i, market.EventLaunched, cur-prev)
		}
		if err != nil {
			return err
		}
		prev = cur
		if doc.Prices != nil {
			price, err := parseSpotPrice(fmt.Sprintf("prices[%d]", i), []byte(doc.Prices[i]))
			if err != nil {
				return p.rowErr(0, int64(i)+1, "%v", err)
			}
			if price != prevPrice {
				if err := p.price(market.PricePoint{
					Pool: market.PoolKey{Cloud: cloud, Region: region, Zone: zone, InstanceType: typ},
					Time: start.Add(time.Duration(i) * gap), Price: price,
					Source: p.source, FetchedAt: p.fetched,
				}); err != nil {
					return err
				}
				prevPrice = price
			}
		}
	}
	return ev(len(doc.Data), market.EventObservationEnd, prev)
}

// skypilotPath reads what a trace's path says about it.
func skypilotPath(name string) (kind, folder, cloud, zone, region, typ string, err error) {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(name)), "/")
	if len(parts) < 4 {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace path %q: expected .../<availability|preemption>/<N-node>/<cloud>-<date>/<zone>_<accelerator>_<count>.json: %w", name, ingest.ErrBadInput)
	}
	kind, nodes, dir, file := parts[len(parts)-4], parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
	if kind != "availability" && kind != "preemption" {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace path %q: %q is neither availability nor preemption: %w", name, kind, ingest.ErrBadInput)
	}
	folder = kind + "/" + nodes + "/" + dir
	cloud, _, _ = strings.Cut(dir, "-")
	if cloud != market.AWS && cloud != market.GCP {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace folder %q: cloud %q: expected aws or gcp: %w", dir, cloud, ingest.ErrBadInput)
	}
	stem := strings.TrimSuffix(file, ".json")
	zone, accel, ok := strings.Cut(stem, "_")
	if !ok {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace file %q: expected <zone>_<accelerator>_<count>.json: %w", file, ingest.ErrBadInput)
	}
	typ, ok = skypilotType[cloud+"/"+accel]
	if !ok {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace file %q: accelerator %q on %s has no known instance type: %w", file, accel, cloud, ingest.ErrBadInput)
	}
	region, err = market.RegionOfZone(zone)
	if err != nil || !market.KnownRegion(cloud, region) {
		return "", "", "", "", "", "", fmt.Errorf("skypilot trace file %q: zone %q is not in a known %s region: %w", file, zone, cloud, ingest.ErrBadInput)
	}
	return kind, folder, cloud, zone, region, typ, nil
}
