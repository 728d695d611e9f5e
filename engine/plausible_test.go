package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// TestImplausiblePriceLeftOut: a price far above any plausible one (a
// broken feed's value, stored before the import checked its bounds) is
// left out of the forecasts, the bid and the refit, and the answer says
// so; the answers equal those of the store without it.
func TestImplausiblePriceLeftOut(t *testing.T) {
	ctx := context.Background()
	clock := func() time.Time { return simStoreEnd }
	clean, spiked := simStore(t), simStore(t)
	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	_, err := spiked.Import(ctx, storage.RunInfo{Kind: "file", Source: market.SourceSimulated, Path: "spike", Format: "test"},
		func(w *storage.Writer) error {
			return w.AddPrice(market.PricePoint{Pool: key, Time: simStoreEnd.Add(-30 * time.Minute), Price: 999999,
				Source: market.SourceSimulated, FetchedAt: simStoreEnd})
		})
	if err != nil {
		t.Fatal(err)
	}
	ref := Ref(key)
	want, err := New(clean, Options{Now: clock}).Bid(ctx, BidRequest{Pool: ref, RunLength: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := New(spiked, Options{Now: clock})
	f, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: ref, Model: "naive"})
	if err != nil {
		t.Fatalf("forecast over an implausible price: %v", err)
	}
	if f.LastPrice != want.CurrentPrice || !strings.Contains(f.Note, "1 stored price(s) left out as implausible") {
		t.Errorf("forecast last price %v (want %v), note %q", f.LastPrice, want.CurrentPrice, f.Note)
	}
	got, err := e.Bid(ctx, BidRequest{Pool: ref, RunLength: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxPrice != want.MaxPrice || got.CurrentPrice != want.CurrentPrice {
		t.Errorf("bid over an implausible price: max %v current %v; without it %v, %v", got.MaxPrice, got.CurrentPrice, want.MaxPrice, want.CurrentPrice)
	}
	res, err := e.Refit(ctx, RefitOptions{})
	if err != nil || res.Failed != 0 {
		t.Fatalf("refit: %+v, %v", res, err)
	}
	served, err := e.Bid(ctx, BidRequest{Pool: ref, RunLength: 24 * time.Hour})
	if err != nil || !served.Basis.Precomputed || served.CurrentPrice != want.CurrentPrice || served.MaxPrice > want.CurrentPrice*10 {
		t.Errorf("bid from the refit: %+v, %v", served, err)
	}
}
