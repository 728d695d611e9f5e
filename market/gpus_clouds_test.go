package market

import "testing"

func TestBuiltinGPUType(t *testing.T) {
	for _, tc := range []struct {
		cloud, name, model string
		count              int
		mem                float64
		ok                 bool
	}{
		{AWS, "p4d.24xlarge", "A100", 8, 40, true},
		{"", "g5.xlarge", "A10G", 1, 24, true},
		{Azure, "Standard_NC24ads_A100_v4", "A100", 1, 80, true},
		{Azure, "Standard_ND96asr_v4", "A100", 8, 40, true},
		{Azure, "Standard_ND96isr_H100_v5", "H100", 8, 80, true},
		{Azure, "Standard_NC64as_T4_v3", "T4", 4, 16, true},
		{Azure, "Standard_D2s_v5", "", 0, 0, false},
		{Azure, "p4d.24xlarge", "", 0, 0, false},
		{GCP, "a2-highgpu-1g", "", 0, 0, false},
	} {
		got, ok := BuiltinGPUType(tc.cloud, tc.name)
		if ok != tc.ok || got.GPUModel != tc.model || got.GPUCount != tc.count || got.GPUMemoryGiB != tc.mem {
			t.Errorf("BuiltinGPUType(%q, %q) = %+v, %v", tc.cloud, tc.name, got, ok)
		}
		if ok && (got.Name != tc.name || got.Source == "") {
			t.Errorf("%s: name %q source %q", tc.name, got.Name, got.Source)
		}
	}
}
