package files

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// collect is an in-memory ingest.Sink for parser tests.
type collect struct {
	prices    []market.PricePoint
	advisor   []market.AdvisorRow
	types     []market.InstanceType
	ondemand  []market.OnDemandPrice
	placement []market.PlacementScore
	events    []market.Event
}

func (c *collect) AddPrice(p market.PricePoint) error { c.prices = append(c.prices, p); return nil }
func (c *collect) AddAdvisor(a market.AdvisorRow) error {
	c.advisor = append(c.advisor, a)
	return nil
}
func (c *collect) AddInstanceType(t market.InstanceType) error {
	c.types = append(c.types, t)
	return nil
}
func (c *collect) AddOnDemand(o market.OnDemandPrice) error {
	c.ondemand = append(c.ondemand, o)
	return nil
}
func (c *collect) AddPlacementScore(p market.PlacementScore) error {
	c.placement = append(c.placement, p)
	return nil
}
func (c *collect) AddEvent(e market.Event) error { c.events = append(c.events, e); return nil }

func (c *collect) total() int {
	return len(c.prices) + len(c.advisor) + len(c.types) + len(c.ondemand) + len(c.placement) + len(c.events)
}

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
