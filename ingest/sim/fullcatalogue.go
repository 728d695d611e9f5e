package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// The full market's catalogue: the 17 AWS regions enabled by default in
// every account, their availability zones, and about 110 instance
// families. It is a summary of public facts, not a copy of any data set:
//
//   - zones: the zone names EC2 reports in a new account (us-east-1 has
//     six, us-west-1 two, ap-northeast-1 has no "b", ca-central-1 no "c");
//   - on-demand factors: the median ratio of a type's Linux on-demand
//     price in the region to its us-east-1 price, over the types both
//     offer (ec2instances.info, 2024-04);
//   - families: vCPU per size, memory per vCPU, the us-east-1 Linux
//     on-demand price per vCPU-hour (median over the family's sizes) and
//     the number of these regions that offer the family (same source);
//     GPU types carry their own us-east-1 prices (AWS's public price
//     list, after the June 2025 P4/P5 cut).
//
// The regions and families of the demo market (catalogue.go) stay as they
// are: the demo's tests pin answers on them.

// fullRegion is one region of the full market.
type fullRegion struct {
	Name  string
	Zones []string
	// OnDemandFactor multiplies the us-east-1 on-demand price.
	OnDemandFactor float64
	// UTCOffset is the region's standard local time in seconds (its
	// nights and weekends).
	UTCOffset int64
}

// fullRegions is ordered by how many instance types the region offers,
// largest first: a family offered in k regions is offered in the first k
// (new families open in the large regions first).
var fullRegions = []fullRegion{
	{"us-east-1", zonesOf("us-east-1", "abcdef"), 1.0, -5 * 3600},
	{"us-west-2", zonesOf("us-west-2", "abcd"), 1.0, -8 * 3600},
	{"eu-west-1", zonesOf("eu-west-1", "abc"), 1.115, 0},
	{"ap-northeast-1", zonesOf("ap-northeast-1", "acd"), 1.259, 9 * 3600},
	{"us-east-2", zonesOf("us-east-2", "abc"), 1.0, -5 * 3600},
	{"eu-central-1", zonesOf("eu-central-1", "abc"), 1.198, 1 * 3600},
	{"ap-southeast-1", zonesOf("ap-southeast-1", "abc"), 1.207, 8 * 3600},
	{"ap-southeast-2", zonesOf("ap-southeast-2", "abc"), 1.257, 10 * 3600},
	{"ap-south-1", zonesOf("ap-south-1", "abc"), 1.001, 5*3600 + 1800},
	{"us-west-1", zonesOf("us-west-1", "ac"), 1.167, -8 * 3600},
	{"ap-northeast-2", zonesOf("ap-northeast-2", "abcd"), 1.206, 9 * 3600},
	{"eu-west-2", zonesOf("eu-west-2", "abc"), 1.174, 0},
	{"ca-central-1", zonesOf("ca-central-1", "abd"), 1.1, -5 * 3600},
	{"sa-east-1", zonesOf("sa-east-1", "abc"), 1.593, -3 * 3600},
	{"eu-north-1", zonesOf("eu-north-1", "abc"), 1.063, 1 * 3600},
	{"eu-west-3", zonesOf("eu-west-3", "abc"), 1.173, 1 * 3600},
	{"ap-northeast-3", zonesOf("ap-northeast-3", "abc"), 1.265, 9 * 3600},
}

func zonesOf(region, letters string) []string {
	out := make([]string, len(letters))
	for i, l := range letters {
		out[i] = region + string(l)
	}
	return out
}

// FullRegions returns the names of the full market's regions.
func FullRegions() []string {
	out := make([]string, len(fullRegions))
	for i, r := range fullRegions {
		out[i] = r.Name
	}
	return out
}

// fullFamily is one instance family of the full market.
type fullFamily struct {
	name       string
	arm        bool    // arm64 (Graviton): no Windows
	memPerVCPU float64 // GiB
	usdPerVCPU float64 // us-east-1 Linux on-demand, per vCPU-hour
	regions    int     // offered in the first regions of fullRegions
	// sizes: size names; the vCPU count follows the name (Nxlarge: 4N,
	// xlarge 4, large 2, medium, small, micro and nano 1, metal: the
	// largest size, metal-Nxl: 4N) unless given as size=vCPU.
	sizes string
}

// burstable families (t2, t3, t3a, t4g) are priced by memory, which
// doubles from 0.5 GiB (nano) to 32 GiB (2xlarge).
type burstable struct {
	name      string
	arm       bool
	usdPerGiB float64
	regions   int
	vcpus     []int // nano, micro, small, medium, large, xlarge, 2xlarge
}

var burstableSizes = []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"}

var burstables = []burstable{
	{"t2", false, 0.0116, 16, []int{1, 1, 1, 2, 2, 4, 8}},
	{"t3", false, 0.0104, 17, []int{2, 2, 2, 2, 2, 4, 8}},
	{"t3a", false, 0.0094, 15, []int{2, 2, 2, 2, 2, 4, 8}},
	{"t4g", true, 0.0084, 17, []int{2, 2, 2, 2, 2, 4, 8}},
}

const (
	sizesToMetal24 = "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge"
	sizesToMetal32 = sizesToMetal24 + " 32xlarge metal"
	sizesToMetal48 = sizesToMetal24 + " 32xlarge 48xlarge metal"
	sizesGraviton  = "medium large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge"
	sizesC5        = "large xlarge 2xlarge 4xlarge 9xlarge 12xlarge 18xlarge 24xlarge metal"
	sizesGen7Intel = sizesToMetal24 + " metal-24xl 48xlarge metal-48xl"
	sizesGen7AMD   = "medium " + sizesToMetal24 + " 32xlarge 48xlarge metal-48xl"
)

var fullFamilies = []fullFamily{
	// General purpose.
	{"a1", true, 2, 0.0255, 9, "medium large xlarge 2xlarge 4xlarge metal"},
	{"m3", false, 3.75, 0.0665, 10, "medium large xlarge 2xlarge"},
	{"m4", false, 4, 0.05, 15, "large xlarge 2xlarge 4xlarge 10xlarge 16xlarge"},
	{"m5", false, 4, 0.048, 17, sizesToMetal24 + " metal"},
	{"m5a", false, 4, 0.043, 15, sizesToMetal24},
	{"m5ad", false, 4, 0.0515, 15, sizesToMetal24},
	{"m5d", false, 4, 0.0565, 17, sizesToMetal24 + " metal"},
	{"m5dn", false, 4, 0.068, 7, sizesToMetal24 + " metal"},
	{"m5n", false, 4, 0.0595, 7, sizesToMetal24 + " metal"},
	{"m5zn", false, 4, 0.0826, 11, "large xlarge 2xlarge 3xlarge 6xlarge 12xlarge metal"},
	{"m6a", false, 4, 0.0432, 13, sizesToMetal48},
	{"m6g", true, 4, 0.0385, 17, sizesGraviton + " metal"},
	{"m6gd", true, 4, 0.0452, 17, sizesGraviton + " metal"},
	{"m6i", false, 4, 0.048, 17, sizesToMetal32},
	{"m6id", false, 4, 0.0593, 12, sizesToMetal32},
	{"m6idn", false, 4, 0.0796, 10, sizesToMetal32},
	{"m6in", false, 4, 0.0696, 10, sizesToMetal32},
	{"m7a", false, 4, 0.058, 5, sizesGen7AMD},
	{"m7g", true, 4, 0.0408, 16, sizesGraviton + " metal"},
	{"m7gd", true, 4, 0.0534, 12, sizesGraviton + " metal"},
	{"m7i", false, 4, 0.0504, 16, sizesGen7Intel},
	{"m7i-flex", false, 4, 0.0479, 16, "large xlarge 2xlarge 4xlarge 8xlarge"},
	// Compute optimised.
	{"c3", false, 1.88, 0.0525, 10, "large xlarge 2xlarge 4xlarge 8xlarge"},
	{"c4", false, 1.88, 0.0498, 15, "large xlarge 2xlarge 4xlarge 8xlarge=36"},
	{"c5", false, 2, 0.0425, 17, sizesC5},
	{"c5a", false, 2, 0.0385, 16, sizesToMetal24},
	{"c5ad", false, 2, 0.043, 8, sizesToMetal24},
	{"c5d", false, 2, 0.048, 17, sizesC5},
	{"c5n", false, 2.62, 0.054, 17, "large xlarge 2xlarge 4xlarge 9xlarge 18xlarge metal"},
	{"c6a", false, 2, 0.0382, 13, sizesToMetal48},
	{"c6g", true, 2, 0.034, 17, sizesGraviton + " metal"},
	{"c6gd", true, 2, 0.0384, 17, sizesGraviton + " metal"},
	{"c6gn", true, 2, 0.0432, 17, sizesGraviton},
	{"c6i", false, 2, 0.0425, 17, sizesToMetal32},
	{"c6id", false, 2, 0.0504, 10, sizesToMetal32},
	{"c6in", false, 2, 0.0567, 16, sizesToMetal32},
	{"c7a", false, 2, 0.0513, 7, sizesGen7AMD},
	{"c7g", true, 2, 0.0362, 14, sizesGraviton + " metal"},
	{"c7gd", true, 2, 0.0454, 11, sizesGraviton + " metal"},
	{"c7gn", true, 2, 0.0624, 5, sizesGraviton},
	{"c7i", false, 2, 0.0446, 15, sizesGen7Intel},
	// Memory optimised.
	{"r3", false, 7.62, 0.0831, 12, "large xlarge 2xlarge 4xlarge 8xlarge"},
	{"r4", false, 7.62, 0.0665, 16, "large xlarge 2xlarge 4xlarge 8xlarge 16xlarge"},
	{"r5", false, 8, 0.063, 17, sizesToMetal24 + " metal"},
	{"r5a", false, 8, 0.0565, 15, sizesToMetal24},
	{"r5ad", false, 8, 0.0655, 15, sizesToMetal24},
	{"r5b", false, 8, 0.0745, 13, sizesToMetal24 + " metal"},
	{"r5d", false, 8, 0.072, 17, sizesToMetal24 + " metal"},
	{"r5dn", false, 8, 0.0835, 11, sizesToMetal24 + " metal"},
	{"r5n", false, 8, 0.0745, 16, sizesToMetal24 + " metal"},
	{"r6a", false, 8, 0.0567, 10, sizesToMetal48},
	{"r6g", true, 8, 0.0504, 17, sizesGraviton + " metal"},
	{"r6gd", true, 8, 0.0576, 17, sizesGraviton + " metal"},
	{"r6i", false, 8, 0.063, 17, sizesToMetal32},
	{"r6id", false, 8, 0.0756, 11, sizesToMetal32},
	{"r6idn", false, 8, 0.0977, 8, sizesToMetal32},
	{"r6in", false, 8, 0.0872, 8, sizesToMetal32},
	{"r7a", false, 8, 0.0761, 7, sizesGen7AMD},
	{"r7g", true, 8, 0.0536, 14, sizesGraviton + " metal"},
	{"r7gd", true, 8, 0.068, 11, sizesGraviton + " metal"},
	{"r7i", false, 8, 0.0662, 16, sizesGen7Intel},
	{"r7iz", false, 8, 0.093, 6, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge metal-16xl 32xlarge metal-32xl"},
	{"x1", false, 15.25, 0.1042, 15, "16xlarge 32xlarge"},
	{"x1e", false, 30.5, 0.2085, 13, "xlarge 2xlarge 4xlarge 8xlarge 16xlarge 32xlarge"},
	{"x2gd", true, 16, 0.0835, 4, sizesGraviton + " metal"},
	{"x2idn", false, 16, 0.1042, 17, "16xlarge 24xlarge 32xlarge metal"},
	{"x2iedn", false, 32, 0.2084, 17, "xlarge 2xlarge 4xlarge 8xlarge 16xlarge 24xlarge 32xlarge metal"},
	{"x2iezn", false, 32, 0.2085, 4, "2xlarge 4xlarge 6xlarge 8xlarge 12xlarge metal"},
	{"z1d", false, 8, 0.093, 12, "large xlarge 2xlarge 3xlarge 6xlarge 12xlarge metal"},
	// Storage optimised.
	{"d2", false, 7.62, 0.1725, 16, "xlarge 2xlarge 4xlarge 8xlarge=36"},
	{"d3", false, 8, 0.1249, 11, "xlarge 2xlarge 4xlarge 8xlarge"},
	{"d3en", false, 4, 0.1314, 6, "xlarge 2xlarge 4xlarge 6xlarge 8xlarge 12xlarge"},
	{"h1", false, 4, 0.0585, 4, "2xlarge 4xlarge 8xlarge 16xlarge"},
	{"i2", false, 7.62, 0.2131, 11, "xlarge 2xlarge 4xlarge 8xlarge"},
	{"i3", false, 7.62, 0.078, 17, "large xlarge 2xlarge 4xlarge 8xlarge 16xlarge metal=72"},
	{"i3en", false, 8, 0.113, 17, "large xlarge 2xlarge 3xlarge 6xlarge 12xlarge 24xlarge metal"},
	{"i4g", true, 8, 0.0772, 6, "large xlarge 2xlarge 4xlarge 8xlarge 16xlarge"},
	{"i4i", false, 8, 0.0858, 17, sizesToMetal32},
	{"im4gn", true, 4, 0.0909, 11, "large xlarge 2xlarge 4xlarge 8xlarge 16xlarge"},
	{"is4gen", true, 6, 0.1441, 12, "medium large xlarge 2xlarge 4xlarge 8xlarge"},
	// Accelerators without a GPU (Inferentia, Trainium, Gaudi, FPGA,
	// video transcoding).
	{"dl1", false, 8, 0.1366, 2, "24xlarge"},
	{"f1", false, 15.25, 0.2062, 6, "2xlarge 4xlarge 16xlarge"},
	{"inf1", false, 2, 0.0492, 16, "xlarge 2xlarge 6xlarge 24xlarge"},
	{"inf2", false, 4, 0.0676, 8, "xlarge 8xlarge 24xlarge 48xlarge"},
	{"trn1", false, 4, 0.168, 3, "2xlarge 32xlarge"},
	{"trn1n", false, 4, 0.1936, 3, "32xlarge"},
	{"vt1", false, 2, 0.0542, 4, "3xlarge 6xlarge 24xlarge"},
	// GPU families: their prices are per type (gpuOnDemand), not per
	// vCPU; memPerVCPU and the region counts as above (g6 and p5: as
	// offered in 2025).
	{"g3", false, 7.62, 0, 12, "4xlarge 8xlarge 16xlarge"},
	{"g3s", false, 7.62, 0, 9, "xlarge"},
	{"g4ad", false, 4, 0, 8, "xlarge 2xlarge 4xlarge 8xlarge 16xlarge"},
	{"g4dn", false, 4, 0, 17, "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge metal=96"},
	{"g5", false, 4, 0, 13, "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge"},
	{"g5g", true, 2, 0, 6, "xlarge 2xlarge 4xlarge 8xlarge 16xlarge metal"},
	{"g6", false, 4, 0, 10, "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge"},
	{"g6e", false, 8, 0, 6, "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge"},
	{"p2", false, 15.25, 0, 10, "xlarge 8xlarge 16xlarge"},
	{"p3", false, 7.62, 0, 11, "2xlarge 8xlarge 16xlarge"},
	{"p3dn", false, 8, 0, 4, "24xlarge"},
	{"p4d", false, 12, 0, 8, "24xlarge"},
	{"p4de", false, 12, 0, 3, "24xlarge"},
	{"p5", false, 10.67, 0, 6, "48xlarge"},
}

// gpuOnDemand is the us-east-1 Linux on-demand price of every GPU type.
var gpuOnDemand = map[string]float64{
	"g3.4xlarge": 1.14, "g3.8xlarge": 2.28, "g3.16xlarge": 4.56, "g3s.xlarge": 0.75,
	"g4ad.xlarge": 0.37853, "g4ad.2xlarge": 0.54117, "g4ad.4xlarge": 0.867, "g4ad.8xlarge": 1.734, "g4ad.16xlarge": 3.468,
	"g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
	"g4dn.12xlarge": 3.912, "g4dn.16xlarge": 4.352, "g4dn.metal": 7.824,
	"g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448,
	"g5.12xlarge": 5.672, "g5.16xlarge": 4.096, "g5.24xlarge": 8.144, "g5.48xlarge": 16.288,
	"g5g.xlarge": 0.42, "g5g.2xlarge": 0.556, "g5g.4xlarge": 0.828, "g5g.8xlarge": 1.372, "g5g.16xlarge": 2.744, "g5g.metal": 2.744,
	"g6.xlarge": 0.8048, "g6.2xlarge": 0.9776, "g6.4xlarge": 1.3232, "g6.8xlarge": 2.0144,
	"g6.12xlarge": 4.6016, "g6.16xlarge": 3.3968, "g6.24xlarge": 6.6752, "g6.48xlarge": 13.3504,
	"g6e.xlarge": 1.861, "g6e.2xlarge": 2.24208, "g6e.4xlarge": 3.00424, "g6e.8xlarge": 4.52856,
	"g6e.12xlarge": 10.49264, "g6e.16xlarge": 7.57719, "g6e.24xlarge": 15.06559, "g6e.48xlarge": 30.13118,
	"p2.xlarge": 0.9, "p2.8xlarge": 7.2, "p2.16xlarge": 14.4,
	"p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "p3.16xlarge": 24.48, "p3dn.24xlarge": 31.212,
	"p4d.24xlarge": 21.95764, "p4de.24xlarge": 27.44705, "p5.48xlarge": 55.04,
}

// fullType is one instance type of the full market.
type fullType struct {
	Name      string
	Family    string
	Arm       bool
	VCPU      int
	MemoryGiB float64
	// OnDemand is the us-east-1 Linux/UNIX on-demand price, USD per hour.
	OnDemand float64
	Regions  int // offered in fullRegions[:Regions]
	GPU      bool
}

// fullTypes expands the families into types.
func fullTypes() ([]fullType, error) {
	var out []fullType
	for _, b := range burstables {
		for i, size := range burstableSizes {
			mem := 0.5 * float64(int(1)<<i)
			out = append(out, fullType{
				Name: b.name + "." + size, Family: b.name, Arm: b.arm, VCPU: b.vcpus[i], MemoryGiB: mem,
				OnDemand: roundTo(b.usdPerGiB*mem, 1e-4), Regions: b.regions,
			})
		}
	}
	for _, f := range fullFamilies {
		sizes := strings.Fields(f.sizes)
		vcpus := make([]int, len(sizes))
		largest := 0
		for i, s := range sizes {
			name, v, err := sizeVCPU(s)
			if err != nil {
				return nil, fmt.Errorf("family %s: %w", f.name, err)
			}
			sizes[i], vcpus[i] = name, v
			largest = max(largest, v)
		}
		for i, size := range sizes {
			v := vcpus[i]
			if v == 0 { // metal
				v = largest
			}
			t := fullType{
				Name: f.name + "." + size, Family: f.name, Arm: f.arm, VCPU: v,
				MemoryGiB: roundTo(f.memPerVCPU*float64(v), 0.5), Regions: f.regions,
			}
			if f.usdPerVCPU > 0 {
				t.OnDemand = roundTo(f.usdPerVCPU*float64(v), 1e-4)
			} else {
				od, ok := gpuOnDemand[t.Name]
				if !ok {
					return nil, fmt.Errorf("GPU type %s: no on-demand price", t.Name)
				}
				t.OnDemand, t.GPU = od, true
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// sizeVCPU reads one size of a family's size list: its name and vCPU
// count (0 for "metal", which takes the family's largest).
func sizeVCPU(s string) (string, int, error) {
	if name, v, ok := strings.Cut(s, "="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return "", 0, fmt.Errorf("size %q: bad vCPU count", s)
		}
		return name, n, nil
	}
	switch {
	case s == "metal":
		return s, 0, nil
	case strings.HasPrefix(s, "metal-") && strings.HasSuffix(s, "xl"):
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, "metal-"), "xl"))
		if err != nil {
			return "", 0, fmt.Errorf("size %q: bad metal size", s)
		}
		return s, 4 * n, nil
	case s == "xlarge":
		return s, 4, nil
	case s == "large":
		return s, 2, nil
	case s == "medium" || s == "small" || s == "micro" || s == "nano":
		return s, 1, nil
	case strings.HasSuffix(s, "xlarge"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "xlarge"))
		if err != nil {
			return "", 0, fmt.Errorf("size %q: not N + xlarge", s)
		}
		return s, 4 * n, nil
	}
	return "", 0, fmt.Errorf("size %q: unknown", s)
}

func roundTo(x, unit float64) float64 {
	r := float64(int64(x/unit+0.5)) * unit
	if r == 0 {
		r = unit
	}
	// Strip the binary residue of the multiplication (0.1+0.2 style).
	v, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'f', 6, 64), 64)
	return v
}

// The products of the full market, in the order rows sharing a time are
// written (the order of the real per-AZ file). Red Hat and SUSE share the
// Linux/UNIX pool's change times and add a fixed licence premium, as in
// DescribeSpotPriceHistory; Windows has its own, quieter path plus its
// licence.
const (
	prodRHEL = iota
	prodSUSE
	prodLinux
	prodWindows
	numProducts
)

var productNames = [numProducts]string{"Red Hat Enterprise Linux", "SUSE Linux", "Linux/UNIX", "Windows"}

// premiumMicro is the product's licence premium over Linux/UNIX in
// micro-dollars per hour, the same for spot and on-demand: Red Hat $0.06
// up to 4 vCPUs, else $0.13; SUSE $0.063 up to 2 vCPUs, $0.10 up to 4,
// else $0.15 (the premiums in the 2021 us-east-1 per-AZ history);
// Windows $0.046 per vCPU (AWS's Windows on-demand premium).
func premiumMicro(product, vcpu int) int64 {
	switch product {
	case prodRHEL:
		if vcpu <= 4 {
			return 60_000
		}
		return 130_000
	case prodSUSE:
		switch {
		case vcpu <= 2:
			return 63_000
		case vcpu <= 4:
			return 100_000
		}
		return 150_000
	case prodWindows:
		return 46_000 * int64(vcpu)
	}
	return 0
}
