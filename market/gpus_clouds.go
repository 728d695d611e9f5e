package market

// SourceBuiltinAzureDocs labels catalogue entries filled from the built-in
// Azure GPU table below.
const SourceBuiltinAzureDocs = "builtin:azure-gpu-sizes-docs"

// azureGPUSizes is transcribed from Microsoft's documentation of GPU
// accelerated sizes ("Sizes for virtual machines in Azure: GPU
// accelerated", the NC and ND family pages: GPU model, count and memory
// per size). The Retail Prices API lists the sizes' prices but nothing of
// their GPUs, so without it no Azure pool could be matched to a GPU
// workload. Sizes with a fraction of a GPU (NVadsA10 v5, NCadsA10 v4) and
// sizes retired in 2025 (NCv3) are left out on purpose. MemoryGiB is per
// GPU.
var azureGPUSizes = map[string]struct {
	model, maker string
	count        int
	memGiB       float64
}{
	"Standard_NC4as_T4_v3":      {"T4", "NVIDIA", 1, 16},
	"Standard_NC8as_T4_v3":      {"T4", "NVIDIA", 1, 16},
	"Standard_NC16as_T4_v3":     {"T4", "NVIDIA", 1, 16},
	"Standard_NC64as_T4_v3":     {"T4", "NVIDIA", 4, 16},
	"Standard_NC24ads_A100_v4":  {"A100", "NVIDIA", 1, 80},
	"Standard_NC48ads_A100_v4":  {"A100", "NVIDIA", 2, 80},
	"Standard_NC96ads_A100_v4":  {"A100", "NVIDIA", 4, 80},
	"Standard_ND96asr_v4":       {"A100", "NVIDIA", 8, 40},
	"Standard_ND96amsr_A100_v4": {"A100", "NVIDIA", 8, 80},
	"Standard_ND96isr_H100_v5":  {"H100", "NVIDIA", 8, 80},
	"Standard_ND96isr_H200_v5":  {"H200", "NVIDIA", 8, 141},
}

// BuiltinGPUType returns the built-in catalogue entry of a GPU instance
// type of cloud: AWS's from the AWS table, Azure's from the Azure table.
// GCP has none: its machine types come with the stored catalogue
// (gcp-machine-types-json). An empty cloud is AWS.
func BuiltinGPUType(cloud, name string) (InstanceType, bool) {
	switch cloud {
	case "", AWS:
		return BuiltinAWSGPUType(name)
	case Azure:
		g, ok := azureGPUSizes[name]
		if !ok {
			return InstanceType{}, false
		}
		return InstanceType{Cloud: Azure, Name: name, GPUModel: g.model, GPUManufacturer: g.maker,
			GPUCount: g.count, GPUMemoryGiB: g.memGiB, Source: SourceBuiltinAzureDocs}, true
	}
	return InstanceType{}, false
}
