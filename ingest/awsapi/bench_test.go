package awsapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/spotcast/spotcast/ingest/awsapi/ec2emu"
	"github.com/spotcast/spotcast/storage"
)

// BenchmarkIngestRealWeek ingests the real us-east-1 week (75k records,
// 76 pages of 1000) from the emulator over loopback HTTP into a fresh
// in-memory store: SDK calls, XML decoding, conversion and the store
// import together.
func BenchmarkIngestRealWeek(b *testing.B) {
	data := loadRealPrices(b)
	emu := ec2emu.New()
	emu.AddSpotPrices(data...)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	o := Options{
		EndpointURL:   srv.URL,
		Regions:       []string{"us-east-1"},
		SkipCatalogue: true,
		Now:           func() time.Time { return realNow },
		Logger:        slog.New(slog.DiscardHandler),
	}
	ctx := context.Background()
	var rows int64
	for b.Loop() {
		b.StopTimer()
		st, err := storage.Open(ctx, "", storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := Ingest(ctx, st, cfg, o)
		if err != nil {
			b.Fatal(err)
		}
		rows += rep.RowsRead
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
