package ec2emu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// LoadSpotPriceHistoryJSON reads the JSON that
// `aws ec2 describe-spot-price-history` prints
// ({"SpotPriceHistory":[{"AvailabilityZone",...}]}), so the emulator can
// serve real recorded data. Records are returned as they are, prices as
// text; only the document's shape and the timestamps are checked.
func LoadSpotPriceHistoryJSON(r io.Reader) ([]SpotPrice, error) {
	var doc struct {
		SpotPriceHistory *[]struct {
			AvailabilityZone   string
			InstanceType       string
			ProductDescription string
			SpotPrice          string
			Timestamp          string
		}
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("describe-spot-price-history json: %w", err)
	}
	if doc.SpotPriceHistory == nil {
		return nil, errors.New("describe-spot-price-history json: no SpotPriceHistory array")
	}
	out := make([]SpotPrice, 0, len(*doc.SpotPriceHistory))
	for i, rec := range *doc.SpotPriceHistory {
		ts, err := time.Parse(time.RFC3339Nano, rec.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("describe-spot-price-history json: record %d: timestamp %q: %w", i, rec.Timestamp, err)
		}
		out = append(out, SpotPrice{
			AvailabilityZone:   rec.AvailabilityZone,
			InstanceType:       rec.InstanceType,
			ProductDescription: rec.ProductDescription,
			SpotPrice:          rec.SpotPrice,
			Timestamp:          ts.UTC(),
		})
	}
	return out, nil
}

// LoadInstanceTypesJSON reads the JSON that
// `aws ec2 describe-instance-types` prints ({"InstanceTypes":[...]}).
func LoadInstanceTypesJSON(r io.Reader) ([]InstanceType, error) {
	var doc struct {
		InstanceTypes *[]struct {
			InstanceType  string
			ProcessorInfo struct {
				SupportedArchitectures []string
			}
			VCpuInfo struct {
				DefaultVCpus int
			}
			MemoryInfo struct {
				SizeInMiB int64
			}
			GpuInfo *struct {
				Gpus []struct {
					Name         string
					Manufacturer string
					Count        int
					MemoryInfo   struct {
						SizeInMiB int64
					}
				}
				TotalGpuMemoryInMiB int64
			}
		}
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("describe-instance-types json: %w", err)
	}
	if doc.InstanceTypes == nil {
		return nil, errors.New("describe-instance-types json: no InstanceTypes array")
	}
	out := make([]InstanceType, 0, len(*doc.InstanceTypes))
	for i, rec := range *doc.InstanceTypes {
		if rec.InstanceType == "" {
			return nil, fmt.Errorf("describe-instance-types json: entry %d: no InstanceType", i)
		}
		t := InstanceType{
			Name:          rec.InstanceType,
			VCPUs:         rec.VCpuInfo.DefaultVCpus,
			MemoryMiB:     rec.MemoryInfo.SizeInMiB,
			Architectures: rec.ProcessorInfo.SupportedArchitectures,
		}
		if g := rec.GpuInfo; g != nil {
			t.TotalGPUMemoryMiB = g.TotalGpuMemoryInMiB
			for _, d := range g.Gpus {
				t.GPUs = append(t.GPUs, GPU{Name: d.Name, Manufacturer: d.Manufacturer, Count: d.Count, MemoryMiB: d.MemoryInfo.SizeInMiB})
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// StandardRegions is a set of commercial regions as DescribeRegions lists
// them, with one opt-in region not enabled.
func StandardRegions() []Region {
	names := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1"}
	out := make([]Region, 0, len(names)+1)
	for _, n := range names {
		out = append(out, Region{Name: n, Endpoint: "ec2." + n + ".amazonaws.com", OptInStatus: "opt-in-not-required"})
	}
	return append(out, Region{Name: "af-south-1", Endpoint: "ec2.af-south-1.amazonaws.com", OptInStatus: "not-opted-in"})
}
