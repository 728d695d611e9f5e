package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// The simulated market imports into a real store: the stored counts equal
// the summary's, a second import stores nothing, and a pool's stored series
// is the truth's price path.
func TestImportIntoStore(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, ":memory:", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := sim.Config{Seed: 1, Days: 30, Now: clock}
	run := storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "sim:seed=1,days=30"}
	var sum sim.Summary
	start := time.Now()
	stats, err := st.Import(ctx, run, func(w *storage.Writer) error {
		var err error
		sum, err = sim.Generate(cfg, w)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d rows in %s", stats.Stored(), time.Since(start))
	counts, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range sum.Tables() {
		if counts[table] != n || stats.Tables[table].Stored != n {
			t.Errorf("%s: generated %d, import stored %d, store counts %d", table, n, stats.Tables[table].Stored, counts[table])
		}
	}
	if counts["pools"] != int64(sum.Pools) {
		t.Errorf("pools: generated %d, stored %d", sum.Pools, counts["pools"])
	}

	again, err := st.Import(ctx, run, func(w *storage.Writer) error {
		_, err := sim.Generate(cfg, w)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.Stored() != 0 {
		t.Errorf("re-import stored %d rows, want 0", again.Stored())
	}

	truth, err := sim.NewTruth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := truth.Pools[len(truth.Pools)/2]
	got, err := st.Series(ctx, p.Key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := p.PriceChanges(truth.Start, truth.End)
	if len(got) != len(want) {
		t.Fatalf("%s: stored %d points, truth %d", p.Key, len(got), len(want))
	}
	for i := range got {
		if !got[i].Time.Equal(want[i].Time) || got[i].Price != want[i].Price || got[i].Source != market.SourceSimulated {
			t.Fatalf("%s point %d: stored %v %v %s, truth %v %v", p.Key, i, got[i].Time, got[i].Price, got[i].Source, want[i].Time, want[i].Price)
		}
	}
}

// BenchmarkImportIntoStore: the default market (seed 1, 30 days) generated
// into a fresh in-memory store.
func BenchmarkImportIntoStore(b *testing.B) {
	ctx := context.Background()
	var rows int64
	for b.Loop() {
		st, err := storage.Open(ctx, ":memory:", storage.Options{Now: clock})
		if err != nil {
			b.Fatal(err)
		}
		stats, err := st.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated}, func(w *storage.Writer) error {
			_, err := sim.Generate(sim.Config{Seed: 1, Days: 30, Now: clock}, w)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rows = stats.Stored()
		st.Close()
	}
	b.ReportMetric(float64(rows), "rows/op")
}
