package files

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

func TestAzureSpotResources(t *testing.T) {
	snap := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	c, res, err := parseFile(t, td("azure_spot_resources.json"), Options{SnapshotDate: snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatAzureSpot {
		t.Fatalf("format %s", res.Format)
	}
	// Independent count straight off the document.
	b, err := os.ReadFile(td("azure_spot_resources.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data []struct {
			Type       string
			Properties struct{ SpotPrices []json.RawMessage }
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rates, prices := 0, 0
	for _, r := range doc.Data {
		switch r.Type {
		case argEvictionRate:
			rates++
		case argPriceHistory:
			prices += len(r.Properties.SpotPrices)
		}
	}
	if len(c.Signals) != rates || len(c.Prices) != prices || res.Skipped != 1 {
		t.Fatalf("signals %d prices %d skipped %d; the document has %d rates, %d prices and 1 other row",
			len(c.Signals), len(c.Prices), res.Skipped, rates, prices)
	}
	want := market.CapacitySignal{Cloud: market.Azure, Region: "eastus", InstanceType: "Standard_NC24ads_A100_v4",
		Kind: market.SignalEvictionRate, Value: 0.10, ValueHigh: 0.15, Label: "10-15", Time: snap,
		Source: "file:azure_spot_resources.json", FetchedAt: fixedNow}
	if c.Signals[0] != want {
		t.Errorf("first signal\n got %+v\nwant %+v", c.Signals[0], want)
	}
	if s := c.Signals[2]; s.Label != "20+" || s.Value != 0.20 || s.ValueHigh != 1 {
		t.Errorf("open bucket %+v", s)
	}
	if p := c.Prices[3]; p.Pool.Product != "Windows" || p.Pool.Region != "westeurope" || p.Price != 0.028 ||
		!p.Time.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("windows price %+v", p)
	}

	// The projection of Microsoft's sample query, as az graph query prints it.
	c, _, err = parseFile(t, td("azure_spot_eviction_cli.json"), Options{SnapshotDate: snap})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Signals) != 3 || c.Signals[2].Region != "southcentralus" || c.Signals[2].Value != 0.15 {
		t.Fatalf("projected rows %+v", c.Signals)
	}
}

func TestAzureSpotResourcesBad(t *testing.T) {
	snap := fixedNow
	_, _, err := parseFile(t, td("bad/azure_spot_bad_bucket.json"), Options{SnapshotDate: snap})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != 3 || !strings.Contains(err.Error(), `"low"`) {
		t.Fatalf("err = %v, want FILE:3 naming the bucket", err)
	}
	c, res, err := parseFile(t, td("bad/azure_spot_bad_bucket.json"), Options{SnapshotDate: snap, SkipBad: true})
	if err != nil || res.Bad != 1 || len(c.Signals) != 1 {
		t.Fatalf("skip-bad: %v, bad %d, signals %d", err, res.Bad, len(c.Signals))
	}
	// No time: the content has none and Parse was given none.
	if _, _, err := parseFile(t, td("azure_spot_resources.json"), Options{}); !errors.Is(err, ingest.ErrBadInput) {
		t.Fatalf("no snapshot time: err = %v", err)
	}
}

func TestAzureSpotResourcesImport(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	paths := []string{td("azure_spot_resources.json"), td("azure_spot_eviction_cli.json")}
	rep, err := Import(ctx, s, paths, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// 3 + 3 signals, 5 prices.
	if rep.RowsStored != 11 {
		t.Fatalf("stored %d: %+v", rep.RowsStored, rep.Files)
	}
	rep, err = Import(ctx, s, paths, Options{Now: clock})
	if err != nil || rep.RowsStored != 0 {
		t.Fatalf("re-import stored %d (%v)", rep.RowsStored, err)
	}
	if n := counts(t, s)["capacity_signals"]; n != 6 {
		t.Fatalf("capacity_signals %d", n)
	}
}
