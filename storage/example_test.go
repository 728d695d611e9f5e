package storage_test

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

func Example() {
	ctx := context.Background()
	s, err := storage.Open(ctx, ":memory:", storage.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	day := time.Date(2021, 3, 2, 0, 0, 0, 0, time.UTC)
	fill := func(w *storage.Writer) error {
		for h, price := range []float64{0.918, 0.921, 0.921, 0.930} {
			p := market.PricePoint{Pool: key, Time: day.Add(time.Duration(h) * 6 * time.Hour), Price: price}
			if err := w.AddPrice(p); err != nil {
				return err
			}
		}
		return nil
	}
	for range 2 {
		st, err := s.Import(ctx, storage.RunInfo{Kind: "file", Source: "file:example.csv"}, fill)
		if err != nil {
			panic(err)
		}
		fmt.Printf("added %d, stored %d\n", st.Added(), st.Stored())
	}

	// The step function's value at 09:00 is the 06:00 point.
	pts, err := s.Series(ctx, key, day.Add(9*time.Hour), day.Add(24*time.Hour))
	if err != nil {
		panic(err)
	}
	for _, p := range pts {
		fmt.Println(p.Time.Format("15:04"), p.Price, p.Source)
	}
	counts, _ := s.Counts(ctx)
	fmt.Println("prices:", counts["prices"], "pools:", counts["pools"], "runs:", counts["ingest_runs"])
	// Output:
	// added 4, stored 4
	// added 4, stored 0
	// 06:00 0.921 file:example.csv
	// 12:00 0.921 file:example.csv
	// 18:00 0.93 file:example.csv
	// prices: 4 pools: 1 runs: 2
}
