package report

import (
	"context"
	"github.com/spotcast/spotcast/engine"
	"image"
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
		sharedReport, sharedErr = Generate(ctx, engine.New(s, engine.Options{Now: clock}), Options{Now: clock})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedReport, sharedStore
}

// lumaVariance is the variance of the image's grey levels (0-255): a
// blank or single-colour image has none.
func lumaVariance(img image.Image) float64 {
	b := img.Bounds()
	var sum, sq, n float64
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sq += l * l
			n++
		}
	}
	m := sum / n
	return sq/n - m*m
}
