package awsfeed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/storage"
)

// feed is the sample document of the files package, written from the
// feed's published shape.
func feed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "files", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), "", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func counts(t *testing.T, s *storage.Store) map[string]int64 {
	t.Helper()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clock returns a clock that advances an hour per poll.
func clock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	return func() time.Time { return t }
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestIngestStoresChangesOnly(t *testing.T) {
	ctx := context.Background()
	body := feed(t, "aws_spot_feed.json")
	var doc atomic.Value
	doc.Store(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(doc.Load().([]byte))
	}))
	defer srv.Close()
	s := openStore(t)
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	poll := func() Report {
		t.Helper()
		rep, err := Ingest(ctx, s, Options{URL: srv.URL, Now: func() time.Time { return at }, Sleep: noSleep})
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Hour)
		return rep
	}
	// 15 numeric prices in the sample: 9 Linux, 6 Windows.
	if rep := poll(); rep.RowsStored != 15 || rep.Attempts != 1 || rep.Unchanged != 0 {
		t.Fatalf("first poll %+v", rep)
	}
	if rep := poll(); rep.RowsStored != 0 || rep.Unchanged != 15 {
		t.Fatalf("unchanged poll %+v", rep)
	}
	doc.Store([]byte(strings.Replace(string(body), `"0.4020"`, `"0.4100"`, 1)))
	if rep := poll(); rep.RowsStored != 1 || rep.Unchanged != 14 {
		t.Fatalf("poll with one change %+v", rep)
	}
	c := counts(t, s)
	if c["prices"] != 16 || c["ingest_runs"] != 3 {
		t.Fatalf("counts %v: every poll is a run, only changes are points", c)
	}
	fr, err := s.Freshness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fr) != 1 || fr[0].Source != "aws-spot-feed" || !fr[0].LastIngest.Equal(time.Date(2026, 1, 2, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("freshness %+v", fr)
	}
}

func TestIngestFailures(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	mode := atomic.Value{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch mode.Load().(string) {
		case "throttle":
			if n <= 2 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "Rate exceeded", http.StatusTooManyRequests)
				return
			}
			w.Write(feed(t, "aws_spot_feed_jsonp.js"))
		case "error":
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
		case "html":
			w.Write([]byte("<html><body>Access Denied</body></html>"))
		case "truncated":
			b := feed(t, "aws_spot_feed.json")
			w.Write(b[:len(b)/2])
		}
	}))
	defer srv.Close()
	s := openStore(t)

	mode.Store("error")
	_, err := Ingest(ctx, s, Options{URL: srv.URL, Now: clock(), Sleep: noSleep, Retries: 2})
	if !errors.Is(err, httpfetch.ErrUnreachable) || !strings.Contains(err.Error(), "SlowDown") || calls.Load() != 3 {
		t.Fatalf("error body: err = %v after %d calls", err, calls.Load())
	}
	for _, m := range []string{"html", "truncated"} {
		mode.Store(m)
		_, err = Ingest(ctx, s, Options{URL: srv.URL, Now: clock(), Sleep: noSleep})
		if !errors.Is(err, ingest.ErrBadInput) || errors.Is(err, httpfetch.ErrUnreachable) {
			t.Fatalf("%s: err = %v, want bad input", m, err)
		}
	}
	if c := counts(t, s); c["prices"] != 0 || c["ingest_runs"] != 0 {
		t.Fatalf("failed polls stored %v", c)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = Ingest(ctx, s, Options{URL: dead.URL, Now: clock(), Sleep: noSleep, Retries: 1})
	if !errors.Is(err, httpfetch.ErrUnreachable) {
		t.Fatalf("unreachable: err = %v", err)
	}

	calls.Store(0)
	mode.Store("throttle")
	rep, err := Ingest(ctx, s, Options{URL: srv.URL, Now: clock(), Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	// The JSONP sample: 5 numeric prices.
	if rep.Attempts != 3 || rep.RowsStored != 5 {
		t.Fatalf("throttled poll %+v", rep)
	}
}
