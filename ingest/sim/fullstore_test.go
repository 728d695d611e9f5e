package sim_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// The full market reaches a real store the same way both ways: straight
// through Import, and as a per-AZ CSV (with its source sidecar) through
// `ingest file`. Both store the same price rows, labelled simulated; the
// direct import also stores the catalogue, and a second import nothing.
func TestFullIntoStore(t *testing.T) {
	ctx := context.Background()
	m := fullMarket(t, sim.FullConfig{Seed: 4, Pools: 400, Days: 3})
	open := func() *storage.Store {
		st, err := storage.Open(ctx, ":memory:", storage.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	direct := open()
	run := storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "full market seed=4"}
	var sum sim.FullSummary
	stats, err := direct.Import(ctx, run, func(w *storage.Writer) error {
		var err error
		sum, err = m.Write(ctx, w, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := direct.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range sum.Tables() {
		if counts[table] != n || stats.Tables[table].Stored != n {
			t.Errorf("%s: generated %d, import stored %d, store counts %d", table, n, stats.Tables[table].Stored, counts[table])
		}
	}
	if counts["pools"] != int64(len(m.Pools)) {
		t.Errorf("pools: %d generated, %d stored", len(m.Pools), counts["pools"])
	}
	again, err := direct.Import(ctx, run, func(w *storage.Writer) error {
		_, err := m.Write(ctx, w, nil)
		return err
	})
	if err != nil || again.Stored() != 0 {
		t.Errorf("re-import stored %d rows (%v), want 0", again.Stored(), err)
	}

	path := filepath.Join(t.TempDir(), "market.csv")
	if _, err := m.WriteCSVFile(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	viaFile := open()
	rep, err := files.Import(ctx, viaFile, []string{path}, files.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files[0].Format != files.FormatSpotPriceCSV || rep.RowsStored != sum.Prices {
		t.Fatalf("ingest file: format %s, %d rows stored; want %s, %d", rep.Files[0].Format, rep.RowsStored, files.FormatSpotPriceCSV, sum.Prices)
	}
	// The catalogue files give the same catalogue and advisor rows, and
	// the Linux/UNIX on-demand prices (the format has no product).
	dir := sim.CatalogueDir(path)
	if _, err := m.WriteCatalogueFiles(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := files.Import(ctx, viaFile, []string{dir}, files.Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	fileCounts, err := viaFile.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fileCounts["instance_types"] != sum.InstanceTypes || fileCounts["advisor"] != sum.Advisor || fileCounts["ondemand_prices"] == 0 || fileCounts["ondemand_prices"] >= sum.OnDemand {
		t.Errorf("from the catalogue files: %v; direct: %+v", fileCounts, sum)
	}
	for _, k := range m.Pools {
		if _, ok := market.AWSGPUFamily(k.InstanceType); !ok {
			continue
		}
		a, errA := direct.InstanceType(ctx, market.AWS, k.InstanceType)
		b, errB := viaFile.InstanceType(ctx, market.AWS, k.InstanceType)
		if errA != nil || errB != nil || a.GPUModel == "" || a.GPUModel != b.GPUModel || a.GPUCount != b.GPUCount || a.VCPU != b.VCPU || b.Source != market.SourceSimulated {
			t.Errorf("%s: direct %+v (%v), via the files %+v (%v)", k.InstanceType, a, errA, b, errB)
		}
		break
	}

	for _, k := range []market.PoolKey{m.Pools[0], m.Pools[len(m.Pools)/2], m.Pools[len(m.Pools)-1]} {
		a, err := direct.Series(ctx, k, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := viaFile.Series(ctx, k, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d points direct, %d via the CSV", k, len(a), len(b))
		}
		for i := range a {
			if !a[i].Time.Equal(b[i].Time) || a[i].Price != b[i].Price || a[i].Source != market.SourceSimulated || b[i].Source != market.SourceSimulated {
				t.Fatalf("%s point %d: direct %v %v %s, via the CSV %v %v %s", k, i, a[i].Time, a[i].Price, a[i].Source, b[i].Time, b[i].Price, b[i].Source)
			}
		}
	}
}
