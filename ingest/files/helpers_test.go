package files

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/ingesttest"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// collect is the in-memory sink parser tests write to.
type collect = ingesttest.Collector

// discard counts rows and keeps none: parse-only benchmarks.
type discard struct{ n int64 }

func (d *discard) AddPrice(market.PricePoint) error              { d.n++; return nil }
func (d *discard) AddAdvisor(market.AdvisorRow) error            { d.n++; return nil }
func (d *discard) AddInstanceType(market.InstanceType) error     { d.n++; return nil }
func (d *discard) AddOnDemand(market.OnDemandPrice) error        { d.n++; return nil }
func (d *discard) AddPlacementScore(market.PlacementScore) error { d.n++; return nil }
func (d *discard) AddEvent(market.Event) error                   { d.n++; return nil }

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func clock() time.Time { return fixedNow }

// dataDir is ../shared/data beside the repository; tests that need it
// skip when it is absent.
func dataDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	repoRoot := filepath.Join(filepath.Dir(file), "..", "..")
	d := filepath.Join(repoRoot, "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(d, "README.md")); err != nil {
		t.Skipf("real data not found at %s (expected ../shared/data beside the repository): %v", d, err)
	}
	return d
}

// parseFile parses a testdata file into a collecting sink.
func parseFile(t testing.TB, path string, opts Options) (*collect, Result, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if opts.Now == nil {
		opts.Now = clock
	}
	c := &collect{}
	res, err := Parse(context.Background(), f, path, c, opts)
	return c, res, err
}

// openStore opens a store in a temp dir.
func openStore(t testing.TB) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "t.duckdb"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func counts(t testing.TB, s *storage.Store) map[string]int64 {
	t.Helper()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseFloatStrict(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func storageFilterZone(zone string) storage.PoolFilter { return storage.PoolFilter{Zone: zone} }
