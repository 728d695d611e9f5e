package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// An import of more than a row group (122,880 rows) of a small table
// stores every row: the GCP price history alone carries 266k on-demand
// prices, which a staging table made with CREATE TABLE AS ... LIMIT 0
// lost without an error.
func TestImportManySmallRows(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	const n = 130000
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := s.Import(ctx, RunInfo{Kind: "file", Source: "file:many"}, func(w *Writer) error {
		for i := range n {
			if err := w.AddOnDemand(market.OnDemandPrice{Cloud: market.GCP, Region: "us-central1",
				InstanceType: fmt.Sprintf("t%d", i), Date: day, Price: 1, Source: "file:many"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Tables["ondemand_prices"]; got.Added != n || got.Stored != n {
		t.Fatalf("ondemand_prices %+v, want %d added and stored", got, n)
	}
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["ondemand_prices"] != n {
		t.Fatalf("store holds %d on-demand prices, want %d", c["ondemand_prices"], n)
	}
	od, err := s.OnDemand(ctx, market.GCP, "us-central1", "t129999", "", time.Time{})
	if err != nil || od.Price != 1 {
		t.Fatalf("last row: %+v %v", od, err)
	}
}
