package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spotcast/spotcast/engine"
)

func TestBodiesBoundAndGeneration(t *testing.T) {
	c := newBodies[string](100)
	_, gen, ok := c.get("a")
	if ok {
		t.Fatal("empty cache has a body")
	}
	c.put(gen, "a", bytes.Repeat([]byte("a"), 40))
	c.put(gen, "b", bytes.Repeat([]byte("b"), 40))
	if b, _, ok := c.get("a"); !ok || string(b) != string(bytes.Repeat([]byte("a"), 40)) {
		t.Fatalf("a: %q %v", b, ok)
	}
	// A third body over the bound evicts one of the others.
	c.put(gen, "c", bytes.Repeat([]byte("c"), 40))
	if n, size := c.len(); n != 2 || size != 80 {
		t.Fatalf("after a put past the bound: %d bodies, %d bytes; want 2, 80", n, size)
	}
	if _, _, ok := c.get("c"); !ok {
		t.Fatal("the newest body was not kept")
	}
	// Replacing a body counts its size once.
	c.put(gen, "c", []byte("cc"))
	if n, size := c.len(); n != 2 || size != 42 {
		t.Fatalf("after a replacement: %d bodies, %d bytes; want 2, 42", n, size)
	}
	// Larger than the bound: never kept.
	c.put(gen, "big", make([]byte, 101))
	if _, _, ok := c.get("big"); ok {
		t.Fatal("a body over the bound was kept")
	}
	// A body computed before an invalidation rests on what is no longer
	// served: not kept.
	c.invalidate()
	if n, size := c.len(); n != 0 || size != 0 {
		t.Fatalf("after invalidate: %d bodies, %d bytes", n, size)
	}
	c.put(gen, "a", []byte("old"))
	if _, _, ok := c.get("a"); ok {
		t.Fatal("a body of the previous generation was kept")
	}
}

// TestEncodedAnswers: the answers of the persisted forecasts are encoded
// once and then served as the same bytes until the served forecasts
// change; answers computed on request are not kept.
func TestEncodedAnswers(t *testing.T) {
	ctx := context.Background()
	store := newSimStore(t)
	eng := engine.New(store, engine.Options{Now: clock})
	svc := New(eng, Options{Now: clock, Watch: watchKeys})
	svc.SetReady(true)
	h := NewHandler(svc, HTTPOptions{})
	fetch := func(path string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	const price = "/v1/forecast/price?instance_type=p3.2xlarge&zone=us-east-1a"
	const hazard = "/v1/forecast/interruption?instance_type=p3.2xlarge&zone=us-east-1a"

	// Before any refit every answer is computed on request: none is kept.
	fetch(price)
	fetch(hazard)
	if n, _ := svc.priceBodies.len(); n != 0 {
		t.Fatalf("%d price answers computed on request kept", n)
	}
	if n, _ := svc.hazardBodies.len(); n != 0 {
		t.Fatalf("%d interruption answers computed on request kept", n)
	}

	if _, err := eng.Refit(ctx, engine.RefitOptions{}); err != nil {
		t.Fatal(err)
	}
	svc.Invalidate()
	for _, path := range []string{price, hazard} {
		first := fetch(path)
		var doc struct {
			engine.Basis
			Pool map[string]any `json:"pool"`
		}
		if err := json.Unmarshal(first, &doc); err != nil {
			t.Fatal(err)
		}
		if !doc.Precomputed || doc.ForecastGenerated.IsZero() || doc.DataUntil.IsZero() || doc.Pool["instance_type"] != "p3.2xlarge" {
			t.Fatalf("%s: not a persisted answer with its basis: %s", path, first[:min(len(first), 300)])
		}
		if bytes.Contains(first, []byte("\n ")) {
			t.Fatalf("%s: the answer is indented", path)
		}
		if again := fetch(path); !bytes.Equal(again, first) {
			t.Fatalf("%s: a second request got another answer", path)
		}
	}
	if n, _ := svc.priceBodies.len(); n != 1 {
		t.Fatalf("%d price answers kept, want 1", n)
	}
	if n, _ := svc.hazardBodies.len(); n != 1 {
		t.Fatalf("%d interruption answers kept, want 1", n)
	}
	// The caches of computed answers hold none of them.
	if n, m := svc.prices.len(), svc.hazards.len(); n != 0 || m != 0 {
		t.Fatalf("persisted answers in the caches of computed ones: %d prices, %d interruptions", n, m)
	}
	// An answer for a given time is computed for it, and not kept.
	fetch(price + "&as_of=2026-03-03T00:00:00Z")
	if n, _ := svc.priceBodies.len(); n != 1 || svc.prices.len() != 1 {
		t.Fatalf("an as_of answer: %d price answers kept, %d computed answers cached; want 1 and 1", n, svc.prices.len())
	}
	// A refit or an ingest changes what is served: the kept answers go.
	svc.Invalidate()
	if n, _ := svc.priceBodies.len(); n != 0 {
		t.Fatalf("%d price answers kept after Invalidate", n)
	}
	if n, _ := svc.hazardBodies.len(); n != 0 {
		t.Fatalf("%d interruption answers kept after Invalidate", n)
	}
}
