package awsapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/spotcast/spotcast/ingest/awsapi"
	"github.com/spotcast/spotcast/ingest/awsapi/ec2emu"
	"github.com/spotcast/spotcast/storage"
)

// Ingest from any EC2-compatible endpoint; here the local emulator.
func ExampleIngest() {
	now := time.Date(2021, 5, 31, 0, 0, 0, 0, time.UTC)
	emu := ec2emu.New()
	emu.SetRegions(ec2emu.StandardRegions()...)
	emu.AddSpotPrices(
		ec2emu.SpotPrice{AvailabilityZone: "us-east-1a", InstanceType: "p3.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.918000", Timestamp: now.Add(-3 * time.Hour)},
		ec2emu.SpotPrice{AvailabilityZone: "us-east-1a", InstanceType: "p3.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.921000", Timestamp: now.Add(-time.Hour)},
		ec2emu.SpotPrice{AvailabilityZone: "us-west-2b", InstanceType: "p3.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "bad", Timestamp: now.Add(-time.Hour)},
	)
	srv := httptest.NewServer(emu)
	defer srv.Close()

	ctx := context.Background()
	store, err := storage.Open(ctx, ":memory:", storage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	rep, err := awsapi.Ingest(ctx, store, cfg, awsapi.Options{
		EndpointURL:   srv.URL,
		Regions:       []string{"us-east-1", "us-west-2"},
		SkipCatalogue: true,
		Now:           func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("read %d, stored %d, bad %d\n", rep.RowsRead, rep.RowsStored, rep.BadRows)
	for _, r := range rep.Regions {
		fmt.Println(r.Region, r.RowsStored, r.BadRecords)
	}
	// Output:
	// read 3, stored 2, bad 1
	// us-east-1 2 []
	// us-west-2 0 [page 1 record 1: us-west-2b p3.2xlarge: spot price "bad" is not a non-negative number]
}
