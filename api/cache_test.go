package api

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newCache[string, int](time.Minute, clock)
	var calls atomic.Int32
	ctx := context.Background()
	compute := func(context.Context) (int, error) { return int(calls.Add(1)), nil }

	if v, _ := c.get(ctx, "k", compute); v != 1 {
		t.Fatalf("first get: %v", v)
	}
	if v, _ := c.get(ctx, "k", compute); v != 1 {
		t.Fatalf("cached get recomputed: %v", v)
	}
	advance(time.Minute)
	if v, _ := c.get(ctx, "k", compute); v != 2 {
		t.Fatalf("expired entry reused: %v", v)
	}
	c.invalidate()
	if c.len() != 0 {
		t.Fatalf("%d entries after invalidate", c.len())
	}
	if v, _ := c.get(ctx, "k", compute); v != 3 {
		t.Fatalf("after invalidate: %v", v)
	}
	// Errors are not cached.
	boom := errors.New("boom")
	if _, err := c.get(ctx, "e", func(context.Context) (int, error) { return 0, boom }); err != boom {
		t.Fatalf("error: %v", err)
	}
	if v, _ := c.get(ctx, "e", compute); v != 4 {
		t.Fatalf("an error was cached: %v", v)
	}
	// A value computed across an invalidation is returned but not kept.
	started, gate := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.get(ctx, "slow", func(context.Context) (int, error) { close(started); <-gate; return -1, nil })
		done <- v
	}()
	<-started
	c.invalidate()
	close(gate)
	if v := <-done; v != -1 {
		t.Fatalf("slow get: %v", v)
	}
	if _, ok := c.peek("slow"); ok {
		t.Fatal("a value computed before an invalidation was kept")
	}
	// The bound holds.
	for i := range maxCacheEntries + 10 {
		c.put(c.gen, strings.Repeat("x", i%7)+string(rune('a'+i%26))+url.QueryEscape(time.Duration(i).String()), i)
	}
	if c.len() > maxCacheEntries {
		t.Fatalf("%d entries, bound %d", c.len(), maxCacheEntries)
	}
}
