package files

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/spotcast/spotcast/market"
)

// instanceTypeRecord is the part of a DescribeInstanceTypes InstanceTypeInfo
// spotcast keeps.
type instanceTypeRecord struct {
	InstanceType  string `json:"InstanceType"`
	ProcessorInfo struct {
		SupportedArchitectures []string `json:"SupportedArchitectures"`
	} `json:"ProcessorInfo"`
	VCpuInfo struct {
		DefaultVCpus int `json:"DefaultVCpus"`
	} `json:"VCpuInfo"`
	MemoryInfo struct {
		SizeInMiB int64 `json:"SizeInMiB"`
	} `json:"MemoryInfo"`
	GpuInfo *struct {
		Gpus []struct {
			Name         string `json:"Name"`
			Manufacturer string `json:"Manufacturer"`
			Count        int    `json:"Count"`
			MemoryInfo   struct {
				SizeInMiB int64 `json:"SizeInMiB"`
			} `json:"MemoryInfo"`
		} `json:"Gpus"`
	} `json:"GpuInfo"`
}

// instanceTypesJSON: {"InstanceTypes":[...],"NextToken":...}, what
// `aws ec2 describe-instance-types` prints. GpuInfo.Gpus[].MemoryInfo is
// per GPU, in MiB.
func (p *parser) instanceTypesJSON(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	seen := false
	err := d.object("document", func(key string) error {
		switch key {
		case "InstanceTypes":
			seen = true
			return d.array("InstanceTypes", func() error {
				var rec instanceTypeRecord
				line, bad, err := d.decodeRecord(&rec)
				if err != nil {
					return err
				}
				if err := p.tick(); err != nil {
					return err
				}
				var it market.InstanceType
				if bad == "" {
					it, bad = p.instanceTypeFromRecord(&rec)
				}
				if bad != "" {
					return p.row(line, d.record, bad)
				}
				return p.instanceType(it)
			})
		case "NextToken":
			return d.skip()
		default:
			return d.shapeErr("unexpected key %q (expected InstanceTypes, NextToken)", key)
		}
	})
	if err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "InstanceTypes" array`)
	}
	return d.end()
}

func (p *parser) instanceTypeFromRecord(rec *instanceTypeRecord) (market.InstanceType, string) {
	if rec.InstanceType == "" {
		return market.InstanceType{}, "InstanceType is missing"
	}
	if rec.VCpuInfo.DefaultVCpus <= 0 {
		return market.InstanceType{}, fmt.Sprintf("%s: VCpuInfo.DefaultVCpus missing or not positive", rec.InstanceType)
	}
	if rec.MemoryInfo.SizeInMiB <= 0 {
		return market.InstanceType{}, fmt.Sprintf("%s: MemoryInfo.SizeInMiB missing or not positive", rec.InstanceType)
	}
	it := market.InstanceType{
		Cloud: market.AWS, Name: rec.InstanceType,
		VCPU:      rec.VCpuInfo.DefaultVCpus,
		MemoryGiB: float64(rec.MemoryInfo.SizeInMiB) / 1024,
		Arch:      pickArch(rec.ProcessorInfo.SupportedArchitectures),
		Source:    p.source, FetchedAt: p.fetched,
	}
	if rec.GpuInfo != nil {
		for i, g := range rec.GpuInfo.Gpus {
			if g.Count <= 0 || g.MemoryInfo.SizeInMiB <= 0 || g.Name == "" {
				return market.InstanceType{}, fmt.Sprintf("%s: GpuInfo.Gpus[%d]: needs Name, Count > 0 and MemoryInfo.SizeInMiB > 0", rec.InstanceType, i)
			}
			// Every type AWS sells has one GPU model; should one ever
			// mix, the first model names it and the counts add up.
			if i == 0 {
				it.GPUModel, it.GPUManufacturer = g.Name, g.Manufacturer
				it.GPUMemoryGiB = float64(g.MemoryInfo.SizeInMiB) / 1024
			}
			it.GPUCount += g.Count
		}
	}
	return it, ""
}

// pickArch prefers a 64-bit architecture: old types list i386 and x86_64.
func pickArch(archs []string) string {
	for _, want := range []string{"arm64", "x86_64", "x86_64_mac", "arm64_mac"} {
		for _, a := range archs {
			if a == want {
				return a
			}
		}
	}
	if len(archs) > 0 {
		return archs[0]
	}
	return ""
}

// instanceCatalog: instance-type,region,arch,vCPU,memory,GPU,GPU_memory,
// current-generation,ondemand,spot_avg (ec2instances.info, one row per
// type and region).
//   - Each type becomes one catalogue entry; its rows in other regions
//     must agree with it (a disagreement is a bad row).
//   - GPU_memory is the total over the type's GPUs: per-GPU memory is
//     GPU_memory / GPU. The file has no GPU model.
//   - "GPU" counts Inferentia/Trainium accelerators for inf*/trn* types;
//     those are not GPUs (EC2 reports them as NeuronInfo, not GpuInfo), so
//     their GPU fields stay zero.
//   - arch "i386" marks types that also run 32-bit code; all of them are
//     x86_64, which is what they are stored as.
//   - ondemand becomes an on-demand price of the region, effective from the
//     file's snapshot month; 0 means unknown and is skipped. Locations that
//     are Local Zone or Wavelength groups (us-east-1-bos-1) have their own
//     prices and no region to file them under: skipped.
//   - spot_avg, an average over an unstated window with no time stamp, is
//     not stored.
func (p *parser) instanceCatalog(r *bufio.Reader) error {
	snap, err := p.snapshotDate()
	if err != nil {
		return err
	}
	c, err := p.openCSV(r, FormatInstanceCatalog)
	if err != nil {
		return err
	}
	type seenType struct {
		it   market.InstanceType
		line int64
	}
	types := map[string]seenType{}
	strs := interner{}
	err = c.each(func(f [][]byte) error {
		name := string(f[0])
		if name == "" {
			return c.badRow("instance-type is empty")
		}
		loc := string(f[1])
		region := ""
		switch {
		case market.KnownRegion(market.AWS, loc):
			region = loc
		default:
			if _, ok := market.AWSLocalZoneGroup(loc); !ok {
				return c.badRow("unknown region %q", loc)
			}
		}
		arch := string(f[2])
		switch arch {
		case "x86_64", "arm64":
		case "i386":
			arch = "x86_64"
		default:
			return c.badRow("arch %q: expected x86_64, arm64 or i386", f[2])
		}
		vcpu, err := strconv.Atoi(string(f[3]))
		if err != nil || vcpu <= 0 {
			return c.badRow("vCPU %q: expected a positive integer", f[3])
		}
		mem, err := parsePrice("memory", f[4])
		if err != nil || mem <= 0 {
			return c.badRow("memory %q: expected a positive number of GiB", f[4])
		}
		gpus, err := strconv.Atoi(string(f[5]))
		if err != nil || gpus < 0 {
			return c.badRow("GPU %q: expected a count", f[5])
		}
		gpuMem, err := parsePrice("GPU_memory", f[6])
		if err != nil {
			return c.badRow("%v", err)
		}
		it := market.InstanceType{
			Cloud: market.AWS, Name: strs.get(f[0]), VCPU: vcpu, MemoryGiB: mem, Arch: arch,
			Source: p.source, FetchedAt: p.fetched,
		}
		if gpus > 0 && !strings.HasPrefix(name, "inf") && !strings.HasPrefix(name, "trn") {
			it.GPUCount = gpus
			it.GPUMemoryGiB = gpuMem / float64(gpus)
		}
		if prev, ok := types[name]; ok {
			a, b := prev.it, it
			a.FetchedAt, b.FetchedAt = b.FetchedAt, a.FetchedAt
			if a != b {
				return c.badRow("%s: attributes differ from line %d (%d vCPU, %g GiB, %s, %d GPU x %g GiB)",
					name, prev.line, prev.it.VCPU, prev.it.MemoryGiB, prev.it.Arch, prev.it.GPUCount, prev.it.GPUMemoryGiB)
			}
		} else {
			types[name] = seenType{it, c.lr.line}
			if err := p.instanceType(it); err != nil {
				return err
			}
		}
		od, err := parsePrice("ondemand", f[8])
		if err != nil {
			return c.badRow("%v", err)
		}
		if region == "" {
			p.t.Skip("Local Zone or Wavelength location: no region to file its on-demand price under")
			return nil
		}
		if od == 0 {
			p.t.Skip("on-demand price 0 (unknown)")
			return nil
		}
		return p.onDemand(market.OnDemandPrice{
			Cloud: market.AWS, Region: region, InstanceType: it.Name,
			Date: snap, Price: od, Source: p.source, FetchedAt: p.fetched,
		})
	})
	if err != nil {
		return err
	}
	p.t.Note("spot_avg is not stored: an average over an unstated window, without a time stamp")
	return nil
}

// gcpGPU is what Google's documentation says of a GPU attribute key of the
// machine-type table: the model and memory per GPU. Source: "GPU machine
// types" and "About GPUs on Compute Engine"
// (cloud.google.com/compute/docs/gpus): A100 40 GB and 80 GB HBM2e, H100
// 80 GB HBM3, L4 24 GB GDDR6, T4 16 GB, V100 16 GB, P100 16 GB, P4 8 GB,
// K80 12 GB, H200 141 GB, B200 180 GB, RTX PRO 6000 96 GB. Google quotes
// GB; stored as GiB like AWS's nominal figures (AWS reports the same A100
// as 40960 MiB).
var gcpGPU = map[string]struct {
	model  string
	memGiB float64
	rank   int // a type listing several keys (a100 and a100-80gb) takes the highest
}{
	"k80":            {"K80", 12, 1},
	"p4":             {"P4", 8, 1},
	"p100":           {"P100", 16, 1},
	"v100":           {"V100", 16, 1},
	"t4":             {"T4", 16, 1},
	"l4":             {"L4", 24, 1},
	"a100":           {"A100", 40, 1},
	"a100-80gb":      {"A100", 80, 2},
	"h100":           {"H100", 80, 1},
	"h100-80gb":      {"H100", 80, 2},
	"h100-80gb-mega": {"H100", 80, 3},
	"h200":           {"H200", 141, 1},
	"h200-141gb":     {"H200", 141, 2},
	"b200":           {"B200", 180, 1},
	"rtx6000":        {"RTX PRO 6000", 96, 1},
}

// gcpNonGPUKeys are the other attributes of the table.
var gcpNonGPUKeys = map[string]bool{
	"cpu": true, "ram": true, "bandwidth": true, "type": true,
	"local": true, "local-ssd": true, "tier1": true,
}

// gcpMachineTypes: {"<machine type>": {"cpu": "12", "ram": "85" (GB),
// "<gpu key>": "<count>", ...}} (Cyclenerd's google-cloud-pricing-cost-
// calculator machine-type table). A fractional GPU count (G4's 1/8 of an
// RTX PRO 6000) is a vGPU slice: stored as one GPU with its share of the
// memory. Unknown keys are ignored and listed in the run's info.
func (p *parser) gcpMachineTypes(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	unknown := map[string]bool{}
	err := d.object("document", func(name string) error {
		var attrs map[string]json.RawMessage
		line, bad, err := d.decodeRecord(&attrs)
		if err != nil {
			return err
		}
		if err := p.tick(); err != nil {
			return err
		}
		var it market.InstanceType
		if bad == "" {
			it, bad = p.gcpMachineType(name, attrs, unknown)
		}
		if bad != "" {
			return p.row(line, d.record, bad)
		}
		return p.instanceType(it)
	})
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		var ks []string
		for k := range unknown {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		p.t.Note("ignored unknown attributes: %s", strings.Join(ks, ", "))
	}
	return d.end()
}

func (p *parser) gcpMachineType(name string, attrs map[string]json.RawMessage, unknown map[string]bool) (market.InstanceType, string) {
	num := func(k string) (float64, string) {
		raw, ok := attrs[k]
		if !ok {
			return 0, fmt.Sprintf("%s: %q is missing", name, k)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(raw) // a bare number
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Sprintf("%s: %q is %s, not a non-negative number", name, k, raw)
		}
		return v, ""
	}
	if name == "" {
		return market.InstanceType{}, "empty machine type name"
	}
	cpu, bad := num("cpu")
	if bad != "" {
		return market.InstanceType{}, bad
	}
	ram, bad := num("ram")
	if bad != "" {
		return market.InstanceType{}, bad
	}
	if cpu <= 0 || ram <= 0 {
		return market.InstanceType{}, fmt.Sprintf("%s: cpu %g / ram %g: expected positive vCPU and memory", name, cpu, ram)
	}
	it := market.InstanceType{
		// Shared-core types (e2-micro: 0.25) get a fraction of a vCPU
		// over time; market.InstanceType counts whole vCPUs, so round up.
		Cloud: market.GCP, Name: name, VCPU: int(math.Ceil(cpu)), MemoryGiB: ram,
		Arch:   gcpArch(name),
		Source: p.source, FetchedAt: p.fetched,
	}
	rank := 0
	for k := range attrs {
		g, ok := gcpGPU[k]
		if !ok {
			if !gcpNonGPUKeys[k] {
				unknown[k] = true
			}
			continue
		}
		n, bad := num(k)
		if bad != "" {
			return market.InstanceType{}, bad
		}
		if n <= 0 || g.rank <= rank {
			continue
		}
		rank = g.rank
		it.GPUModel, it.GPUManufacturer = g.model, "NVIDIA"
		if n < 1 {
			it.GPUCount, it.GPUMemoryGiB = 1, g.memGiB*n
		} else {
			if n != math.Trunc(n) {
				return market.InstanceType{}, fmt.Sprintf("%s: %q count %g: expected a whole number or a fraction below 1", name, k, n)
			}
			it.GPUCount, it.GPUMemoryGiB = int(n), g.memGiB
		}
	}
	return it, ""
}

// gcpArch: Tau T2A, C4A and other Axion/Ampere families run on Arm.
func gcpArch(name string) string {
	for _, prefix := range []string{"t2a-", "c4a-", "n4a-"} {
		if strings.HasPrefix(name, prefix) {
			return "arm64"
		}
	}
	return "x86_64"
}
