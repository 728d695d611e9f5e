package awsapi

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spotcast/spotcast/market"
)

func TestPricePoint(t *testing.T) {
	ts := time.Date(2021, 5, 30, 15, 22, 4, 0, time.UTC)
	fetched := time.Date(2021, 5, 31, 0, 0, 0, 0, time.FixedZone("x", 3600))
	rec := func(zone, typ, product, price string, tm *time.Time) types.SpotPrice {
		return types.SpotPrice{AvailabilityZone: aws.String(zone), InstanceType: types.InstanceType(typ), ProductDescription: types.RIProductDescription(product), SpotPrice: aws.String(price), Timestamp: tm}
	}
	tests := []struct {
		name    string
		region  string
		in      types.SpotPrice
		want    float64
		wantErr string
	}{
		{"good", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "0.918000", &ts), 0.918, ""},
		{"zero price", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "0", &ts), 0, ""},
		{"not a number", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "abc", &ts), 0, `spot price "abc"`},
		{"negative", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "-1", &ts), 0, `spot price "-1"`},
		{"NaN", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "NaN", &ts), 0, `spot price "NaN"`},
		{"infinite", "us-east-1", rec("us-east-1a", "p3.2xlarge", "Linux/UNIX", "+Inf", &ts), 0, `spot price "+Inf"`},
		{"no zone", "us-east-1", rec("", "p3.2xlarge", "Linux/UNIX", "1", &ts), 0, "no availability zone"},
		{"bad zone", "us-east-1", rec("east", "p3.2xlarge", "Linux/UNIX", "1", &ts), 0, `zone "east"`},
		{"zone of another region", "us-east-1", rec("us-west-2a", "p3.2xlarge", "Linux/UNIX", "1", &ts), 0, `not in region "us-east-1"`},
		{"no type", "us-east-1", rec("us-east-1a", "", "Linux/UNIX", "1", &ts), 0, "no instance type"},
		{"no product", "us-east-1", rec("us-east-1a", "m5.large", "", "1", &ts), 0, "no product description"},
		{"no time", "us-east-1", rec("us-east-1a", "m5.large", "Windows", "1", nil), 0, "no timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PricePoint(tc.region, tc.in, fetched)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Price != tc.want || !p.Time.Equal(ts) || p.Source != market.SourceAWSAPI || !p.FetchedAt.Equal(fetched) || p.FetchedAt.Location() != time.UTC {
				t.Errorf("point %+v", p)
			}
			if p.Pool.Cloud != market.AWS || p.Pool.Region != tc.region || p.Pool.Zone != aws.ToString(tc.in.AvailabilityZone) || p.Pool.Product != string(tc.in.ProductDescription) {
				t.Errorf("pool %+v", p.Pool)
			}
		})
	}
}

func FuzzPricePoint(f *testing.F) {
	f.Add("us-east-1", "us-east-1a", "p3.2xlarge", "Linux/UNIX", "0.918000", int64(1622388124))
	f.Add("us-east-1", "", "m5.large", "Windows", "1e400", int64(0))
	f.Add("eu-west-1", "eu-west-1-lhr-1a", "c5.large", "SUSE Linux", "-0", int64(-1))
	f.Fuzz(func(t *testing.T, region, zone, typ, product, price string, unix int64) {
		ts := time.Unix(unix, 0)
		in := types.SpotPrice{AvailabilityZone: aws.String(zone), InstanceType: types.InstanceType(typ), ProductDescription: types.RIProductDescription(product), SpotPrice: aws.String(price), Timestamp: &ts}
		p, err := PricePoint(region, in, time.Unix(0, 0))
		if err != nil {
			return
		}
		if math.IsNaN(p.Price) || math.IsInf(p.Price, 0) || p.Price < 0 {
			t.Fatalf("price %v accepted from %q", p.Price, price)
		}
		if r, err := market.RegionOfZone(p.Pool.Zone); err != nil || r != region || p.Pool.Region != region {
			t.Fatalf("zone %q accepted for region %q", p.Pool.Zone, region)
		}
		if p.Pool.InstanceType == "" || p.Pool.Product == "" {
			t.Fatalf("empty type or product accepted: %+v", p.Pool)
		}
	})
}

func TestCatalogueEntry(t *testing.T) {
	fetched := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   types.InstanceTypeInfo
		want market.InstanceType
	}{
		{
			"gpu",
			types.InstanceTypeInfo{
				InstanceType:  "p3.16xlarge",
				VCpuInfo:      &types.VCpuInfo{DefaultVCpus: aws.Int32(64)},
				MemoryInfo:    &types.MemoryInfo{SizeInMiB: aws.Int64(499712)},
				ProcessorInfo: &types.ProcessorInfo{SupportedArchitectures: []types.ArchitectureType{"x86_64"}},
				GpuInfo: &types.GpuInfo{Gpus: []types.GpuDeviceInfo{{
					Name: aws.String("V100"), Manufacturer: aws.String("NVIDIA"), Count: aws.Int32(8),
					MemoryInfo: &types.GpuDeviceMemoryInfo{SizeInMiB: aws.Int32(16384)},
				}}, TotalGpuMemoryInMiB: aws.Int32(131072)},
			},
			market.InstanceType{Cloud: "aws", Name: "p3.16xlarge", VCPU: 64, MemoryGiB: 488, Arch: "x86_64", GPUModel: "V100", GPUManufacturer: "NVIDIA", GPUCount: 8, GPUMemoryGiB: 16, Source: "aws-api", FetchedAt: fetched},
		},
		{
			"cpu",
			types.InstanceTypeInfo{InstanceType: "m6g.large", VCpuInfo: &types.VCpuInfo{DefaultVCpus: aws.Int32(2)}, MemoryInfo: &types.MemoryInfo{SizeInMiB: aws.Int64(8192)}, ProcessorInfo: &types.ProcessorInfo{SupportedArchitectures: []types.ArchitectureType{"arm64"}}},
			market.InstanceType{Cloud: "aws", Name: "m6g.large", VCPU: 2, MemoryGiB: 8, Arch: "arm64", Source: "aws-api", FetchedAt: fetched},
		},
		{
			"sparse",
			types.InstanceTypeInfo{InstanceType: "x1.tiny"},
			market.InstanceType{Cloud: "aws", Name: "x1.tiny", Source: "aws-api", FetchedAt: fetched},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CatalogueEntry(tc.in, fetched); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
