package report

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// testNow is the fixed clock: the simulated market ends at this hour.
var testNow = time.Date(2026, 3, 4, 15, 30, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// simStore opens a store in dir (or in memory for "") filled by the
// simulator: two regions, three weeks.
func simStore(t testing.TB, path string) *storage.Store {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, path, storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
		func(w *storage.Writer) error {
			_, err := sim.Generate(sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1", "eu-west-1"}}, w)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	sharedOnce   sync.Once
	sharedReport Report
	sharedErr    error
	sharedStore  *storage.Store
)

// simReport is one report on the simulated store, shared by the tests
// that only read it (generating takes a few seconds).
func simReport(t testing.TB) (Report, *storage.Store) {
	t.Helper()
	sharedOnce.Do(func() {
		ctx := context.Background()
		s, err := storage.Open(ctx, "", storage.Options{Now: clock})
		if err != nil {
			sharedErr = err
			return
		}
		_, err = s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
			func(w *storage.Writer) error {
				_, err := sim.Generate(sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1", "eu-west-1"}}, w)
				return err
			})
		if err != nil {
			sharedErr = err
			return
		}
		sharedStore = s
		sharedReport, sharedErr = Generate(ctx, s, Options{Now: clock})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedReport, sharedStore
}
