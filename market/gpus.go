package market

import (
	"sort"
	"strings"
)

// SourceBuiltinAWSDocs labels catalogue entries filled from the built-in
// GPU table below rather than from DescribeInstanceTypes or a file.
const SourceBuiltinAWSDocs = "builtin:aws-instance-types-docs"

// GPUFamily is the accelerator every size of an AWS instance family
// carries. MemoryGiB is per GPU.
type GPUFamily struct {
	Family       string  `json:"family"`
	GPUModel     string  `json:"gpu_model"`
	Manufacturer string  `json:"gpu_manufacturer"`
	MemoryGiB    float64 `json:"gpu_memory_gib"`
}

// awsGPUFamilies and awsGPUCounts are transcribed from AWS's documentation
// of accelerated-computing instances ("Amazon EC2 instance types:
// Accelerated computing", the specifications tables listing GPU model,
// count and GPU memory per instance size). They let spotcast decide what
// fits a workload when the store has no DescribeInstanceTypes row for a
// type; entries built from them carry Source = SourceBuiltinAWSDocs.
// Fractional-GPU sizes (g6f, gr6f) and non-GPU accelerators (Trainium,
// Inferentia, Gaudi) are left out on purpose: they do not host a whole GPU.
var awsGPUFamilies = []GPUFamily{
	{"p2", "K80", "NVIDIA", 12},
	{"p3", "V100", "NVIDIA", 16},
	{"p3dn", "V100", "NVIDIA", 32},
	{"p4d", "A100", "NVIDIA", 40},
	{"p4de", "A100", "NVIDIA", 80},
	{"p5", "H100", "NVIDIA", 80},
	{"p5e", "H200", "NVIDIA", 141},
	{"p5en", "H200", "NVIDIA", 141},
	{"g3", "M60", "NVIDIA", 8},
	{"g3s", "M60", "NVIDIA", 8},
	{"g4dn", "T4", "NVIDIA", 16},
	{"g4ad", "Radeon Pro V520", "AMD", 8},
	{"g5", "A10G", "NVIDIA", 24},
	{"g5g", "T4G", "NVIDIA", 16},
	{"g6", "L4", "NVIDIA", 24},
	{"gr6", "L4", "NVIDIA", 24},
	{"g6e", "L40S", "NVIDIA", 48},
}

// awsGPUCounts is GPUs per instance size.
var awsGPUCounts = map[string]int{
	"p2.xlarge": 1, "p2.8xlarge": 8, "p2.16xlarge": 16,
	"p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8,
	"p3dn.24xlarge": 8,
	"p4d.24xlarge":  8,
	"p4de.24xlarge": 8,
	"p5.4xlarge":    1, "p5.48xlarge": 8,
	"p5e.48xlarge":  8,
	"p5en.48xlarge": 8,
	"g3.4xlarge":    1, "g3.8xlarge": 2, "g3.16xlarge": 4,
	"g3s.xlarge":  1,
	"g4dn.xlarge": 1, "g4dn.2xlarge": 1, "g4dn.4xlarge": 1, "g4dn.8xlarge": 1,
	"g4dn.12xlarge": 4, "g4dn.16xlarge": 1, "g4dn.metal": 8,
	"g4ad.xlarge": 1, "g4ad.2xlarge": 1, "g4ad.4xlarge": 1, "g4ad.8xlarge": 2, "g4ad.16xlarge": 4,
	"g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1,
	"g5.12xlarge": 4, "g5.16xlarge": 1, "g5.24xlarge": 4, "g5.48xlarge": 8,
	"g5g.xlarge": 1, "g5g.2xlarge": 1, "g5g.4xlarge": 1, "g5g.8xlarge": 1,
	"g5g.16xlarge": 2, "g5g.metal": 2,
	"g6.xlarge": 1, "g6.2xlarge": 1, "g6.4xlarge": 1, "g6.8xlarge": 1,
	"g6.12xlarge": 4, "g6.16xlarge": 1, "g6.24xlarge": 4, "g6.48xlarge": 8,
	"gr6.4xlarge": 1, "gr6.8xlarge": 1,
	"g6e.xlarge": 1, "g6e.2xlarge": 1, "g6e.4xlarge": 1, "g6e.8xlarge": 1,
	"g6e.12xlarge": 4, "g6e.16xlarge": 1, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
}

// InstanceFamily returns the family part of an instance type name
// ("g5.12xlarge" -> "g5").
func InstanceFamily(instanceType string) string {
	if i := strings.IndexByte(instanceType, '.'); i >= 0 {
		return instanceType[:i]
	}
	return instanceType
}

// AWSGPUFamily returns the built-in GPU description of an AWS instance
// type's family.
func AWSGPUFamily(instanceType string) (GPUFamily, bool) {
	fam := InstanceFamily(instanceType)
	for _, f := range awsGPUFamilies {
		if f.Family == fam {
			return f, true
		}
	}
	return GPUFamily{}, false
}

// BuiltinAWSGPUType returns the built-in catalogue entry of an AWS GPU
// instance type: GPU fields only (VCPU and MemoryGiB are zero), Source
// SourceBuiltinAWSDocs.
func BuiltinAWSGPUType(name string) (InstanceType, bool) {
	n, ok := awsGPUCounts[name]
	if !ok {
		return InstanceType{}, false
	}
	f, ok := AWSGPUFamily(name)
	if !ok {
		return InstanceType{}, false
	}
	return InstanceType{
		Cloud:           AWS,
		Name:            name,
		GPUModel:        f.GPUModel,
		GPUManufacturer: f.Manufacturer,
		GPUCount:        n,
		GPUMemoryGiB:    f.MemoryGiB,
		Source:          SourceBuiltinAWSDocs,
	}, true
}

// BuiltinAWSGPUTypes lists every built-in AWS GPU instance type, by name.
func BuiltinAWSGPUTypes() []InstanceType {
	out := make([]InstanceType, 0, len(awsGPUCounts))
	for name := range awsGPUCounts {
		t, _ := BuiltinAWSGPUType(name)
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
