package market

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestBuiltinAWSGPUType(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		count  int
		memGiB float64
		ok     bool
	}{
		{"g5.12xlarge", "A10G", 4, 24, true},
		{"g5.16xlarge", "A10G", 1, 24, true},
		{"g6e.xlarge", "L40S", 1, 48, true},
		{"p4de.24xlarge", "A100", 8, 80, true},
		{"p5en.48xlarge", "H200", 8, 141, true},
		{"g4ad.16xlarge", "Radeon Pro V520", 4, 8, true},
		{"m5.large", "", 0, 0, false},
		{"g5.13xlarge", "", 0, 0, false},
		{"", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BuiltinAWSGPUType(tt.name)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got.GPUModel != tt.model || got.GPUCount != tt.count || got.GPUMemoryGiB != tt.memGiB {
				t.Errorf("got %s x%d %v GiB, want %s x%d %v GiB", got.GPUModel, got.GPUCount, got.GPUMemoryGiB, tt.model, tt.count, tt.memGiB)
			}
			if got.Source != SourceBuiltinAWSDocs || got.Cloud != AWS {
				t.Errorf("source %q cloud %q", got.Source, got.Cloud)
			}
		})
	}
}

// TestBuiltinAgreesWithCatalogue checks the built-in table against an
// independent catalogue (ec2instances.info, 2024-04) for every type both
// know.
func TestBuiltinAgreesWithCatalogue(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "aws", "instance-types", "instances_by_region_2024-04.csv")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("real data not present at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// instance-type,region,arch,vCPU,memory,GPU,GPU_memory,...
	checked := 0
	seen := map[string]bool{}
	for i, r := range rows[1:] {
		name := r[0]
		want, ok := BuiltinAWSGPUType(name)
		// ec2instances.info counts K80 boards (two GPUs each) for p2;
		// AWS counts GPUs, checked against AWS's own API output below.
		if !ok || seen[name] || InstanceFamily(name) == "p2" {
			continue
		}
		seen[name] = true
		n, err1 := strconv.Atoi(r[5])
		mem, err2 := strconv.ParseFloat(r[6], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s line %d: bad GPU fields %q %q", path, i+2, r[5], r[6])
		}
		if n != want.GPUCount {
			t.Errorf("%s: catalogue says %d GPUs, builtin %d", name, n, want.GPUCount)
		}
		if n > 0 && mem/float64(n) != want.GPUMemoryGiB {
			t.Errorf("%s: catalogue says %v GiB per GPU, builtin %v", name, mem/float64(n), want.GPUMemoryGiB)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d built-in types found in the catalogue; expected most of them", checked)
	}
}

func TestInstanceFamily(t *testing.T) {
	for in, want := range map[string]string{"g5.12xlarge": "g5", "p3dn.24xlarge": "p3dn", "g5": "g5", "": ""} {
		if got := InstanceFamily(in); got != want {
			t.Errorf("InstanceFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBuiltinAgreesWithDescribeInstanceTypes checks the table against
// AWS's own DescribeInstanceTypes answers (2021) for the types they cover.
func TestBuiltinAgreesWithDescribeInstanceTypes(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "aws", "instance-types", "describe-instance-types")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("real data not present at %s", dir)
	}
	checked := 0
	for _, want := range BuiltinAWSGPUTypes() {
		b, err := os.ReadFile(filepath.Join(dir, want.Name+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			InstanceTypes []struct {
				GpuInfo struct {
					Gpus []struct {
						Name         string
						Manufacturer string
						Count        int
						MemoryInfo   struct{ SizeInMiB float64 }
					}
				}
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil || len(doc.InstanceTypes) != 1 || len(doc.InstanceTypes[0].GpuInfo.Gpus) != 1 {
			t.Fatalf("%s.json: unexpected shape (%v)", want.Name, err)
		}
		g := doc.InstanceTypes[0].GpuInfo.Gpus[0]
		if g.Name != want.GPUModel || g.Manufacturer != want.GPUManufacturer || g.Count != want.GPUCount || g.MemoryInfo.SizeInMiB/1024 != want.GPUMemoryGiB {
			t.Errorf("%s: AWS says %s %s x%d %v MiB; builtin %s %s x%d %v GiB", want.Name,
				g.Manufacturer, g.Name, g.Count, g.MemoryInfo.SizeInMiB, want.GPUManufacturer, want.GPUModel, want.GPUCount, want.GPUMemoryGiB)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d built-in types checked against DescribeInstanceTypes output", checked)
	}
}
