package api

import (
	"github.com/spotcast/spotcast/engine"

	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// testNow is the fixed clock of every test: the simulated market ends at
// this hour, and the Service forecasts from it.
var testNow = time.Date(2026, 3, 4, 15, 30, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// simConfig is a small simulated market: two regions, three weeks.
func simConfig() sim.Config {
	return sim.Config{Seed: 7, Days: 21, Now: clock, Regions: []string{"us-east-1", "eu-west-1"}}
}

// newSimStore opens an in-memory store filled by the simulator.
func newSimStore(t testing.TB) *storage.Store {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	_, err = s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
		func(w *storage.Writer) error {
			_, err := sim.Generate(simConfig(), w)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	sharedOnce  sync.Once
	sharedStore *storage.Store
)

// sharedSimStore is one simulated store for the read-only tests of the
// package (filling it takes most of a second).
func sharedSimStore(t testing.TB) *storage.Store {
	t.Helper()
	sharedOnce.Do(func() {
		ctx := context.Background()
		s, err := storage.Open(ctx, "", storage.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: "test", Format: "simulated"},
			func(w *storage.Writer) error {
				_, err := sim.Generate(simConfig(), w)
				return err
			})
		if err != nil {
			t.Fatal(err)
		}
		sharedStore = s
	})
	if sharedStore == nil {
		t.Fatal("shared store failed to load")
	}
	return sharedStore
}

// watchKeys are pools the simulated market has.
var watchKeys = []market.PoolKey{
	{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"},
	{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1b", InstanceType: "g5.xlarge", Product: "Linux/UNIX"},
}

func newTestService(t testing.TB, store *storage.Store) *Service {
	svc := newSvc(store, Options{Now: clock, Watch: watchKeys})
	svc.SetReady(true)
	return svc
}

// get fetches path from srv and decodes the JSON body.
func get(t testing.TB, srv *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	return do(t, srv, "GET", path, "", nil)
}

func do(t testing.TB, srv *httptest.Server, method, path, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		// What every client of the API sends; the tests of the
		// Content-Type rule set their own.
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON object: %v\n%s", method, path, resp.StatusCode, err, b)
	}
	return resp.StatusCode, m
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// newSvc is the serving runtime over an engine on store, with opts's clock.
func newSvc(store *storage.Store, opts Options) *Service {
	return New(engine.New(store, engine.Options{Now: opts.Now}), opts)
}
