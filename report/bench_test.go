package report

import (
	"context"
	"github.com/spotcast/spotcast/engine"
	"testing"
)

// BenchmarkGenerate measures one report on the simulated store (two
// regions, three weeks), with the small backtest it runs itself.
func BenchmarkGenerate(b *testing.B) {
	_, st := simReport(b)
	for b.Loop() {
		if _, err := Generate(context.Background(), engine.New(st, engine.Options{Now: clock}), Options{Now: clock}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTML measures rendering a generated report as HTML.
func BenchmarkHTML(b *testing.B) {
	r, _ := simReport(b)
	for b.Loop() {
		if _, err := HTMLBytes(r); err != nil {
			b.Fatal(err)
		}
	}
}
