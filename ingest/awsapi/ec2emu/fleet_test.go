package ec2emu

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func fleetOverride(typ, zone string, weight, prio float64, maxPrice string) types.FleetLaunchTemplateOverridesRequest {
	o := types.FleetLaunchTemplateOverridesRequest{InstanceType: types.InstanceType(typ), AvailabilityZone: aws.String(zone),
		WeightedCapacity: aws.Float64(weight), Priority: aws.Float64(prio)}
	if maxPrice != "" {
		o.MaxPrice = aws.String(maxPrice)
	}
	return o
}

func fleetInput(typ types.FleetType, strategy types.SpotAllocationStrategy, total int32, o ...types.FleetLaunchTemplateOverridesRequest) *ec2.CreateFleetInput {
	return &ec2.CreateFleetInput{
		Type:        typ,
		SpotOptions: &types.SpotOptionsRequest{AllocationStrategy: strategy},
		LaunchTemplateConfigs: []types.FleetLaunchTemplateConfigRequest{{
			LaunchTemplateSpecification: &types.FleetLaunchTemplateSpecificationRequest{LaunchTemplateName: aws.String("gpu"), Version: aws.String("$Latest")},
			Overrides:                   o,
		}},
		TargetCapacitySpecification: &types.TargetCapacitySpecificationRequest{TotalTargetCapacity: aws.Int32(total), DefaultTargetCapacityType: types.DefaultTargetCapacityTypeSpot},
	}
}

// launchedFrom lists "zone/type xN" per instance set of the answer.
func launchedFrom(out *ec2.CreateFleetOutput) []string {
	var s []string
	for _, in := range out.Instances {
		s = append(s, aws.ToString(in.LaunchTemplateAndOverrides.Overrides.AvailabilityZone)+"/"+string(in.InstanceType)+" x"+strconv.Itoa(len(in.InstanceIds)))
	}
	return s
}

func TestCreateFleet(t *testing.T) {
	emu := New()
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	emu.AddSpotPrices(
		SpotPrice{AvailabilityZone: "us-west-2a", InstanceType: "p3.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.9000", Timestamp: now},
		SpotPrice{AvailabilityZone: "us-west-2b", InstanceType: "p3.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.8000", Timestamp: now},
		SpotPrice{AvailabilityZone: "us-west-2b", InstanceType: "p3.8xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "4.0000", Timestamp: now},
	)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	c := newClient(srv.URL, "us-west-2")
	ctx := context.Background()

	cases := []struct {
		name string
		in   *ec2.CreateFleetInput
		want []string
		errs []string
	}{
		{"prioritized follows priority", fleetInput(types.FleetTypeInstant, types.SpotAllocationStrategyCapacityOptimizedPrioritized, 2,
			fleetOverride("p3.2xlarge", "us-west-2a", 1, 1, ""), fleetOverride("p3.2xlarge", "us-west-2b", 1, 2, "")),
			[]string{"us-west-2a/p3.2xlarge x2"}, nil},
		{"price-capacity follows price per unit", fleetInput(types.FleetTypeInstant, types.SpotAllocationStrategyPriceCapacityOptimized, 4,
			fleetOverride("p3.8xlarge", "us-west-2b", 4, 1, ""), fleetOverride("p3.2xlarge", "us-west-2a", 1, 2, "")),
			[]string{"us-west-2a/p3.2xlarge x4"}, nil},
		{"max price below spot skips the pool", fleetInput(types.FleetTypeInstant, types.SpotAllocationStrategyCapacityOptimizedPrioritized, 1,
			fleetOverride("p3.2xlarge", "us-west-2a", 1, 1, "0.5"), fleetOverride("p3.2xlarge", "us-west-2b", 1, 2, "")),
			[]string{"us-west-2b/p3.2xlarge x1"}, []string{"SpotMaxPriceTooLow"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.CreateFleet(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.FleetId) == "" {
				t.Error("no fleet id")
			}
			if got := launchedFrom(out); !slices.Equal(got, tc.want) {
				t.Errorf("launched %v, want %v", got, tc.want)
			}
			var codes []string
			for _, e := range out.Errors {
				codes = append(codes, aws.ToString(e.ErrorCode))
			}
			if !slices.Equal(codes, tc.errs) {
				t.Errorf("errors %v, want %v", codes, tc.errs)
			}
		})
	}

	t.Run("capacity spills over to the next pool", func(t *testing.T) {
		emu.SetSpotCapacity("us-west-2a", "p3.2xlarge", 1)
		out, err := c.CreateFleet(ctx, fleetInput(types.FleetTypeInstant, types.SpotAllocationStrategyCapacityOptimizedPrioritized, 3,
			fleetOverride("p3.2xlarge", "us-west-2a", 1, 1, ""), fleetOverride("p3.2xlarge", "us-west-2b", 1, 2, "")))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := launchedFrom(out), []string{"us-west-2a/p3.2xlarge x1", "us-west-2b/p3.2xlarge x2"}; !slices.Equal(got, want) {
			t.Errorf("launched %v, want %v", got, want)
		}
	})

	t.Run("maintain fleet answers its id only", func(t *testing.T) {
		in := fleetInput(types.FleetTypeMaintain, types.SpotAllocationStrategyPriceCapacityOptimized, 2, fleetOverride("p3.2xlarge", "us-west-2a", 1, 1, ""))
		in.SpotOptions.MaintenanceStrategies = &types.FleetSpotMaintenanceStrategiesRequest{CapacityRebalance: &types.FleetSpotCapacityRebalanceRequest{
			ReplacementStrategy: types.FleetReplacementStrategyLaunchBeforeTerminate, TerminationDelay: aws.Int32(300)}}
		out, err := c.CreateFleet(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FleetId) == "" || len(out.Instances) != 0 {
			t.Errorf("maintain fleet: id %q, %d instance sets", aws.ToString(out.FleetId), len(out.Instances))
		}
		fl := emu.Fleets()
		if last := fl[len(fl)-1]; last.Type != "maintain" || last.TotalTarget != 2 || len(last.Overrides) != 1 {
			t.Errorf("recorded %+v", last)
		}
	})

	bad := []struct {
		name string
		edit func(*ec2.CreateFleetInput)
		code string
	}{
		{"zone of another region", func(in *ec2.CreateFleetInput) {
			in.LaunchTemplateConfigs[0].Overrides[0].AvailabilityZone = aws.String("us-east-1a")
		}, "InvalidParameterValue"},
		{"rebalance on an instant fleet", func(in *ec2.CreateFleetInput) {
			in.SpotOptions.MaintenanceStrategies = &types.FleetSpotMaintenanceStrategiesRequest{CapacityRebalance: &types.FleetSpotCapacityRebalanceRequest{ReplacementStrategy: types.FleetReplacementStrategyLaunch}}
		}, "InvalidParameterValue"},
		{"termination delay out of range", func(in *ec2.CreateFleetInput) {
			in.Type = types.FleetTypeMaintain
			in.SpotOptions.MaintenanceStrategies = &types.FleetSpotMaintenanceStrategiesRequest{CapacityRebalance: &types.FleetSpotCapacityRebalanceRequest{
				ReplacementStrategy: types.FleetReplacementStrategyLaunchBeforeTerminate, TerminationDelay: aws.Int32(30)}}
		}, "InvalidParameterValue"},
		{"no template", func(in *ec2.CreateFleetInput) {
			in.LaunchTemplateConfigs[0].LaunchTemplateSpecification.LaunchTemplateName = nil
		}, "InvalidParameterValue"},
		{"unknown strategy", func(in *ec2.CreateFleetInput) { in.SpotOptions.AllocationStrategy = "cheapest" }, "InvalidParameterValue"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := fleetInput(types.FleetTypeInstant, types.SpotAllocationStrategyPriceCapacityOptimized, 1, fleetOverride("p3.2xlarge", "us-west-2a", 1, 1, ""))
			tc.edit(in)
			_, err := c.CreateFleet(ctx, in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("got %v, want API error %s", err, tc.code)
			}
		})
	}
}
