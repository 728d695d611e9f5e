package httpfetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder replaces the sleeps with a record of them.
type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return nil
}

func TestGetRetriesThenSucceeds(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "7")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	var rec recorder
	resp, err := Client{Backoff: time.Second, Sleep: rec.sleep}.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || resp.Attempts != 3 {
		t.Fatalf("body %q attempts %d", resp.Body, resp.Attempts)
	}
	// 1 s, then the server's 7 s over the doubled 2 s.
	if len(rec.waits) != 2 || rec.waits[0] != time.Second || rec.waits[1] != 7*time.Second {
		t.Fatalf("waits %v", rec.waits)
	}
}

func TestGetGivesUp(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
	}))
	defer srv.Close()
	var rec recorder
	_, err := Client{Retries: 2, Sleep: rec.sleep}.Get(context.Background(), srv.URL)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), `{"error":"internal"}`) {
		t.Fatalf("err = %v, want unreachable naming the status and body", err)
	}
	if n.Load() != 3 || len(rec.waits) != 2 || rec.waits[1] != 2*DefaultBackoff {
		t.Fatalf("attempts %d waits %v", n.Load(), rec.waits)
	}
}

func TestGetFinalAnswers(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", 100)))
			return
		}
		http.Error(w, "no such feed", http.StatusNotFound)
	}))
	defer srv.Close()
	var rec recorder
	c := Client{Sleep: rec.sleep, MaxBytes: 10}
	_, err := c.Get(context.Background(), srv.URL+"/missing")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || errors.Is(err, ErrUnreachable) || n.Load() != 1 {
		t.Fatalf("404: err = %v after %d attempts; want one attempt and a StatusError", err, n.Load())
	}
	_, err = c.Get(context.Background(), srv.URL+"/big")
	if err == nil || !strings.Contains(err.Error(), "too large") || n.Load() != 2 {
		t.Fatalf("big body: err = %v after %d attempts", err, n.Load())
	}
}

func TestGetUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	var rec recorder
	_, err := Client{Retries: 1, Sleep: rec.sleep}.Get(context.Background(), url)
	if !errors.Is(err, ErrUnreachable) || len(rec.waits) != 1 {
		t.Fatalf("err = %v, waits %v", err, rec.waits)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Client{}).Get(ctx, url); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}
