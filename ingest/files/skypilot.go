package files

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
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
// <zone>_<accelerator>_<count>.json, and from the repository's README, or
// from Options.Trace and Options.TraceStart for a file kept anywhere.

// TraceInfo says what a skypilot trace is about when its path does not
// (each field left empty keeps what the path says).
type TraceInfo struct {
	// Cloud is "aws" or "gcp".
	Cloud string
	// Zone is the availability zone the trace was taken in.
	Zone string
	// InstanceType names the type directly; without it the file name's
	// accelerator tag is mapped (see SkypilotInstanceType).
	InstanceType string
	// Kind is "preemption" (data = running nodes) or "availability"
	// (data = nodes that could be obtained); default: the path's, else
	// preemption.
	Kind string
}

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

// skypilotNonGPU maps the traces' CPU tags to instance types, from the
// README: intel_64 is r5.16xlarge (64 vCPUs) on AWS, c3-88 c3-highcpu-88 on
// GCP.
var skypilotNonGPU = map[string]string{
	"aws/intel_64": "r5.16xlarge",
	"gcp/c3-88":    "c3-highcpu-88",
}

// gcpGPUTypes are the GCP machine types that come with their GPUs
// attached (A2, A3, G2), per GPU model, memory and count, from Google's
// GPU machine-type tables. V100, T4, P100 and K80 attach to N1 machines
// of any size and name no single machine type.
var gcpGPUTypes = map[string]string{
	"A100/40/1": "a2-highgpu-1g", "A100/40/2": "a2-highgpu-2g", "A100/40/4": "a2-highgpu-4g",
	"A100/40/8": "a2-highgpu-8g", "A100/40/16": "a2-megagpu-16g",
	"A100/80/1": "a2-ultragpu-1g", "A100/80/2": "a2-ultragpu-2g", "A100/80/4": "a2-ultragpu-4g", "A100/80/8": "a2-ultragpu-8g",
	"H100/80/1": "a3-highgpu-1g", "H100/80/2": "a3-highgpu-2g", "H100/80/4": "a3-highgpu-4g", "H100/80/8": "a3-highgpu-8g",
	"L4/24/1": "g2-standard-4", "L4/24/2": "g2-standard-24", "L4/24/4": "g2-standard-48", "L4/24/8": "g2-standard-96",
}

// gcpGPUMemory is the memory of each GCP GPU model without a size in its
// name.
var gcpGPUMemory = map[string]float64{"A100": 40, "H100": 80, "L4": 24}

var acceleratorTag = regexp.MustCompile(`^([a-z][a-z0-9]*?)(?:[-_](\d+)gb)?[-_](\d+)$`)

// SkypilotInstanceType maps a skypilot trace's accelerator tag
// ("v100_1", "a100_40gb_8", "k80_8", "intel_64") to the instance type
// with that many of that GPU on the cloud: on AWS the smallest size of
// the family with that GPU model, memory (when the tag gives it) and
// count in market's built-in GPU table (V100 with no memory is the 16 GB
// p3; K80:1 is p2.xlarge, as SkyPilot's catalogue maps it), on GCP the
// A2/A3/G2 machine type.
func SkypilotInstanceType(cloud, tag string) (string, error) {
	tag = strings.ToLower(tag)
	if t, ok := skypilotNonGPU[cloud+"/"+tag]; ok {
		return t, nil
	}
	m := acceleratorTag.FindStringSubmatch(tag)
	if m == nil {
		return "", fmt.Errorf("accelerator %q: expected <gpu>[_<memory>gb]_<count>, such as v100_1 or a100_40gb_8", tag)
	}
	model := strings.ToUpper(m[1])
	count, _ := strconv.Atoi(m[3])
	mem := 0.0
	if m[2] != "" {
		mem, _ = strconv.ParseFloat(m[2], 64)
	}
	switch cloud {
	case market.AWS:
		best, bestSize := "", math.Inf(1)
		for _, it := range market.BuiltinAWSGPUTypes() {
			if !strings.EqualFold(it.GPUModel, model) || it.GPUCount != count {
				continue
			}
			if mem != 0 && it.GPUMemoryGiB != mem {
				continue
			}
			if mem == 0 && model == "V100" && it.GPUMemoryGiB != 16 {
				continue // plain "V100" is the 16 GB part; p3dn says v100_32gb
			}
			if sz := awsSize(it.Name); sz < bestSize || (sz == bestSize && it.Name < best) {
				best, bestSize = it.Name, sz
			}
		}
		if best == "" {
			return "", fmt.Errorf("accelerator %q: no AWS instance type has %d x %s%s", tag, count, model, memText(mem))
		}
		return best, nil
	case market.GCP:
		if mem == 0 {
			mem = gcpGPUMemory[model]
		}
		if t, ok := gcpGPUTypes[fmt.Sprintf("%s/%g/%d", model, mem, count)]; ok {
			return t, nil
		}
		return "", fmt.Errorf("accelerator %q: no GCP machine type comes with %d x %s%s (V100, T4, P100 and K80 attach to N1 machines: give the instance type)", tag, count, model, memText(mem))
	}
	return "", fmt.Errorf("accelerator %q: cloud %q: expected aws or gcp", tag, cloud)
}

func memText(mem float64) string {
	if mem == 0 {
		return ""
	}
	return fmt.Sprintf(" %gGB", mem)
}

// awsSize orders sizes within a family: large 0.5, xlarge 1, Nxlarge N,
// metal after every other size.
func awsSize(name string) float64 {
	_, size, _ := strings.Cut(name, ".")
	switch {
	case size == "metal":
		return 1e6
	case size == "large":
		return 0.5
	case size == "xlarge":
		return 1
	case strings.HasSuffix(size, "xlarge"):
		if n, err := strconv.ParseFloat(strings.TrimSuffix(size, "xlarge"), 64); err == nil {
			return n
		}
	}
	return 1e5
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
	m, err := skypilotMeta(p.name, p.opts.Trace)
	if err != nil {
		return err
	}
	kind, folder, cloud, zone, region, typ := m.kind, m.folder, m.cloud, m.zone, m.region, m.typ
	if m.assumedKind {
		p.t.Note("trace kind not in the path: read as a preemption trace (data = running nodes)")
	}
	start := p.opts.TraceStart.UTC()
	if p.opts.TraceStart.IsZero() {
		s, ok := skypilotStart[folder]
		if !ok {
			return fmt.Errorf("trace %q: start date unknown (the path is not a folder of the skypilot README): give the start (--start): %w", p.name, ingest.ErrBadInput)
		}
		start, _ = time.Parse("2006-01-02", s)
		p.t.Note("trace starts %s (the README's start date for %s, 00:00 UTC)", s, folder)
	} else if folder == "" || skypilotStart[folder] == "" {
		// Traces given by flags are grouped by kind and start.
		folder = kind + "/" + cloud + "-" + start.Format("2006-01-02T15:04:05Z")
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

// skypilotInfo is what a trace is about.
type skypilotInfo struct {
	kind, folder, cloud, zone, region, typ string
	assumedKind                            bool // no kind given or in the path
}

// skypilotMeta reads what a trace's path says about it,
// .../<availability|preemption>/<N-node>/<cloud>-<date>/<zone>_<accelerator>_<count>.json,
// as far as it goes, with the fields of o replacing it, and checks that
// the cloud, zone and type are known.
func skypilotMeta(name string, o TraceInfo) (skypilotInfo, error) {
	var m skypilotInfo
	parts := strings.Split(filepath.ToSlash(filepath.Clean(name)), "/")
	file := parts[len(parts)-1]
	if n := len(parts); n >= 4 && (parts[n-4] == "availability" || parts[n-4] == "preemption") {
		m.kind = parts[n-4]
		m.folder = strings.Join(parts[n-4:n-1], "/")
		m.cloud, _, _ = strings.Cut(parts[n-2], "-")
	}
	stem := strings.TrimSuffix(file, ".json")
	zone, accel, hasAccel := strings.Cut(stem, "_")
	if hasAccel {
		m.zone = zone
	}
	if o.Kind != "" {
		if o.Kind != "availability" && o.Kind != "preemption" {
			return m, fmt.Errorf("trace kind %q: expected availability or preemption: %w", o.Kind, ingest.ErrBadInput)
		}
		if o.Kind != m.kind {
			m.folder = ""
		}
		m.kind = o.Kind
	}
	if m.kind == "" {
		m.kind, m.assumedKind = "preemption", true
	}
	if o.Cloud != "" {
		if o.Cloud != m.cloud {
			m.folder = ""
		}
		m.cloud = o.Cloud
	}
	if o.Zone != "" {
		m.zone = o.Zone
	}
	if m.cloud != market.AWS && m.cloud != market.GCP {
		if m.cloud == "" {
			return m, fmt.Errorf("trace %q: the path does not say the cloud (.../<cloud>-<date>/...): give the cloud (--cloud aws or gcp): %w", name, ingest.ErrBadInput)
		}
		return m, fmt.Errorf("trace %q: cloud %q: expected aws or gcp: %w", name, m.cloud, ingest.ErrBadInput)
	}
	if m.zone == "" {
		return m, fmt.Errorf("trace %q: the file name does not say the zone (<zone>_<accelerator>_<count>.json): give the zone (--zone): %w", name, ingest.ErrBadInput)
	}
	region, err := market.RegionOfZone(m.zone)
	if err != nil || !market.KnownRegion(m.cloud, region) {
		return m, fmt.Errorf("trace %q: zone %q is not in a known %s region: %w", name, m.zone, m.cloud, ingest.ErrBadInput)
	}
	m.region = region
	switch {
	case o.InstanceType != "":
		m.typ = o.InstanceType
	case !hasAccel:
		return m, fmt.Errorf("trace %q: the file name does not say the accelerator (<zone>_<accelerator>_<count>.json): give the instance type (--instance-type): %w", name, ingest.ErrBadInput)
	default:
		if m.typ, err = SkypilotInstanceType(m.cloud, accel); err != nil {
			return m, fmt.Errorf("trace %q: %w: %w", name, err, ingest.ErrBadInput)
		}
	}
	return m, nil
}
