package sim

import (
	"math"
	"time"
)

// TypeSpec is one simulated instance type: its catalogue entry, its
// us-east-1 on-demand price and its base interruption hazard.
type TypeSpec struct {
	Name         string
	Family       string // "p3", "g5", "m5", ...
	VCPU         int
	MemoryGiB    float64
	GPUModel     string // "" for CPU types
	GPUCount     int
	GPUMemoryGiB float64 // per GPU
	// OnDemandUSEast1 is the Linux/UNIX on-demand price in us-east-1, USD
	// per hour.
	OnDemandUSEast1 float64
	// Hazard is the base interruption hazard, interruptions per
	// instance-hour, on a weekday away from price pressure.
	Hazard float64
	// HazardBasis says where Hazard comes from: "published" (the per-GPU
	// family figures V100 0.8%/h, A100 2.3%/h, H100 4.1%/h) or
	// "advisor-2025-07:B" (the midpoint of Spot Advisor bucket B for the
	// type in us-east-1, see advisorHazard).
	HazardBasis string
	// Regions the type is offered in (nil: every simulated region).
	Regions []string
}

// GPU reports whether the type has GPUs.
func (t TypeSpec) GPU() bool { return t.GPUCount > 0 }

// Region is a simulated AWS region.
type Region struct {
	Name  string
	Zones []string
	// OnDemandFactor multiplies the us-east-1 on-demand price.
	OnDemandFactor float64
	// UTCOffset is the region's standard local time, which decides its
	// nights and weekends (no daylight saving, so the weekly pattern is
	// fixed in UTC).
	UTCOffset time.Duration
}

// Published per-GPU-family hazards, interruptions per instance-hour. These
// are the figures spotcast's issue tracker states for AWS GPU spot capacity:
// V100 0.8%/h, A100 2.3%/h, H100 4.1%/h.
const (
	hazardV100 = 0.008
	hazardA100 = 0.023
	hazardH100 = 0.041
)

// advisorMidpoint is the monthly interruption frequency taken for each Spot
// Advisor bucket: the middle of 0: <5%, 1: 5-10%, 2: 10-15%, 3: 15-20%;
// bucket 4 (>20%, open-ended) is read as 30%.
var advisorMidpoint = [5]float64{0.025, 0.075, 0.125, 0.175, 0.30}

// advisorHazard turns an advisor bucket into the constant hourly hazard
// whose monthly (730 h) interruption probability is the bucket's midpoint:
// h = -ln(1-f)/730, the inverse of MonthlyFrequency.
func advisorHazard(bucket int) float64 {
	return -math.Log1p(-advisorMidpoint[bucket]) / HoursPerMonth
}

// Regions simulated, with documented on-demand multipliers. us-west-2 prices
// equal us-east-1's for every type listed here; eu-west-1's are 1.07-1.13x
// (median 1.116) in AWS's public price list for the same types.
var regions = []Region{
	{Name: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"}, OnDemandFactor: 1.0, UTCOffset: -5 * time.Hour},
	{Name: "us-west-2", Zones: []string{"us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"}, OnDemandFactor: 1.0, UTCOffset: -8 * time.Hour},
	{Name: "eu-west-1", Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, OnDemandFactor: 1.116, UTCOffset: 0},
}

var usOnly = []string{"us-east-1", "us-west-2"}

// catalogue lists the simulated types. On-demand prices are AWS's public
// Linux/UNIX on-demand prices for us-east-1 (https://aws.amazon.com/ec2/pricing/on-demand/,
// as of 2025-06, after the June 2025 P4/P5 price cut: p4d.24xlarge was
// $32.7726, p5.48xlarge $98.32 before). Specs are from the EC2 instance type
// pages (vCPU, memory GiB, GPUs, per-GPU memory GiB). p5 and g6e are not
// offered in eu-west-1 (neither AWS's price list nor the Spot Advisor feed
// lists them there).
//
// Hazards: the three GPU families with a published figure use it for every
// size. Every other type (T4, A10G, L40S and the CPU types) has no published
// hourly figure; it takes the hazard implied by its own bucket in the AWS
// Spot Instance Advisor feed of 2025-07 for us-east-1 Linux
// (advisorHazard), which keeps them below the V100/A100/H100 rates (at most
// 4.9e-4/h against 8e-3/h) and makes the simulated advisor reproduce the
// real buckets.
var catalogue = []TypeSpec{
	// NVIDIA V100 16 GB.
	{Name: "p3.2xlarge", Family: "p3", VCPU: 8, MemoryGiB: 61, GPUModel: "V100", GPUCount: 1, GPUMemoryGiB: 16, OnDemandUSEast1: 3.06, Hazard: hazardV100, HazardBasis: "published"},
	{Name: "p3.8xlarge", Family: "p3", VCPU: 32, MemoryGiB: 244, GPUModel: "V100", GPUCount: 4, GPUMemoryGiB: 16, OnDemandUSEast1: 12.24, Hazard: hazardV100, HazardBasis: "published"},
	{Name: "p3.16xlarge", Family: "p3", VCPU: 64, MemoryGiB: 488, GPUModel: "V100", GPUCount: 8, GPUMemoryGiB: 16, OnDemandUSEast1: 24.48, Hazard: hazardV100, HazardBasis: "published"},
	// NVIDIA A100 40 GB.
	{Name: "p4d.24xlarge", Family: "p4d", VCPU: 96, MemoryGiB: 1152, GPUModel: "A100", GPUCount: 8, GPUMemoryGiB: 40, OnDemandUSEast1: 21.95764, Hazard: hazardA100, HazardBasis: "published"},
	// NVIDIA H100 80 GB.
	{Name: "p5.48xlarge", Family: "p5", VCPU: 192, MemoryGiB: 2048, GPUModel: "H100", GPUCount: 8, GPUMemoryGiB: 80, OnDemandUSEast1: 55.04, Hazard: hazardH100, HazardBasis: "published", Regions: usOnly},
	// NVIDIA A10G 24 GB.
	{Name: "g5.xlarge", Family: "g5", VCPU: 4, MemoryGiB: 16, GPUModel: "A10G", GPUCount: 1, GPUMemoryGiB: 24, OnDemandUSEast1: 1.006, Hazard: advisorHazard(4), HazardBasis: "advisor-2025-07:4"},
	{Name: "g5.2xlarge", Family: "g5", VCPU: 8, MemoryGiB: 32, GPUModel: "A10G", GPUCount: 1, GPUMemoryGiB: 24, OnDemandUSEast1: 1.212, Hazard: advisorHazard(3), HazardBasis: "advisor-2025-07:3"},
	{Name: "g5.12xlarge", Family: "g5", VCPU: 48, MemoryGiB: 192, GPUModel: "A10G", GPUCount: 4, GPUMemoryGiB: 24, OnDemandUSEast1: 5.672, Hazard: advisorHazard(4), HazardBasis: "advisor-2025-07:4"},
	{Name: "g5.16xlarge", Family: "g5", VCPU: 64, MemoryGiB: 256, GPUModel: "A10G", GPUCount: 1, GPUMemoryGiB: 24, OnDemandUSEast1: 4.096, Hazard: advisorHazard(4), HazardBasis: "advisor-2025-07:4"},
	{Name: "g5.48xlarge", Family: "g5", VCPU: 192, MemoryGiB: 768, GPUModel: "A10G", GPUCount: 8, GPUMemoryGiB: 24, OnDemandUSEast1: 16.288, Hazard: advisorHazard(4), HazardBasis: "advisor-2025-07:4"},
	// NVIDIA L40S 48 GB.
	{Name: "g6e.xlarge", Family: "g6e", VCPU: 4, MemoryGiB: 32, GPUModel: "L40S", GPUCount: 1, GPUMemoryGiB: 48, OnDemandUSEast1: 1.861, Hazard: advisorHazard(1), HazardBasis: "advisor-2025-07:1", Regions: usOnly},
	{Name: "g6e.12xlarge", Family: "g6e", VCPU: 48, MemoryGiB: 384, GPUModel: "L40S", GPUCount: 4, GPUMemoryGiB: 48, OnDemandUSEast1: 10.49264, Hazard: advisorHazard(4), HazardBasis: "advisor-2025-07:4", Regions: usOnly},
	// NVIDIA T4 16 GB.
	{Name: "g4dn.xlarge", Family: "g4dn", VCPU: 4, MemoryGiB: 16, GPUModel: "T4", GPUCount: 1, GPUMemoryGiB: 16, OnDemandUSEast1: 0.526, Hazard: advisorHazard(3), HazardBasis: "advisor-2025-07:3"},
	{Name: "g4dn.12xlarge", Family: "g4dn", VCPU: 48, MemoryGiB: 192, GPUModel: "T4", GPUCount: 4, GPUMemoryGiB: 16, OnDemandUSEast1: 3.912, Hazard: advisorHazard(2), HazardBasis: "advisor-2025-07:2"},
}

// cpuFamily describes a CPU family whose on-demand price is linear in size,
// as AWS prices these families.
type cpuFamily struct {
	name        string
	memPerVCPU  float64 // GiB
	usdPerVCPU  float64 // us-east-1 on-demand, per vCPU-hour
	sizes       []string
	vcpus       []int
	advisorBkts []int // us-east-1 Linux buckets, Spot Advisor 2025-07
}

var cpuFamilies = []cpuFamily{
	{"m5", 4, 0.048, []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge"}, []int{2, 4, 8, 16, 32}, []int{3, 4, 2, 3, 4}},
	{"c5", 2, 0.0425, []string{"large", "xlarge", "2xlarge", "4xlarge", "9xlarge"}, []int{2, 4, 8, 16, 36}, []int{0, 0, 1, 4, 0}},
	{"r5", 8, 0.063, []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge"}, []int{2, 4, 8, 16, 32}, []int{0, 3, 4, 4, 4}},
	{"m6i", 4, 0.048, []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge"}, []int{2, 4, 8, 16, 32}, []int{2, 1, 4, 4, 3}},
	{"c6i", 2, 0.0425, []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge"}, []int{2, 4, 8, 16, 32}, []int{1, 3, 1, 3, 1}},
	{"r6i", 8, 0.063, []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge"}, []int{2, 4, 8, 16, 32}, []int{4, 4, 4, 4, 4}},
}

func init() {
	for _, f := range cpuFamilies {
		for i, size := range f.sizes {
			v := f.vcpus[i]
			b := f.advisorBkts[i]
			catalogue = append(catalogue, TypeSpec{
				Name:            f.name + "." + size,
				Family:          f.name,
				VCPU:            v,
				MemoryGiB:       f.memPerVCPU * float64(v),
				OnDemandUSEast1: math.Round(f.usdPerVCPU*float64(v)*1e4) / 1e4,
				Hazard:          advisorHazard(b),
				HazardBasis:     "advisor-2025-07:" + string(rune('0'+b)),
			})
		}
	}
}

// Catalogue returns the simulated instance types.
func Catalogue() []TypeSpec {
	out := make([]TypeSpec, len(catalogue))
	copy(out, catalogue)
	return out
}

// Regions returns the simulated regions.
func Regions() []Region {
	out := make([]Region, len(regions))
	copy(out, regions)
	return out
}

func (t TypeSpec) offeredIn(region string) bool {
	if t.Regions == nil {
		return true
	}
	for _, r := range t.Regions {
		if r == region {
			return true
		}
	}
	return false
}
