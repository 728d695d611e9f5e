package api

import (
	"context"
	"sync"
	"time"
)

// maxCacheEntries bounds each cache; past it the expired entries go, and
// if that is not enough, all of them (a simple bound beats an LRU here:
// the precomputed forecasts answer the common requests without it).
const maxCacheEntries = 4096

// cache keeps answers computed on request for a while, keyed by a typed
// request key. Concurrent requests for the same key share one computation,
// so a burst of requests for a cold answer computes it once.
type cache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	gen      uint64
	m        map[K]cacheEntry[V]
	inflight map[flightKey[K]]*flight[V]
}

type cacheEntry[V any] struct {
	v   V
	exp time.Time
}

// flightKey is a computation under way: its key in one generation, so a
// computation started before an invalidation is not joined after it.
type flightKey[K comparable] struct {
	gen uint64
	key K
}

type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func newCache[K comparable, V any](ttl time.Duration, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, now: now, m: map[K]cacheEntry[V]{}, inflight: map[flightKey[K]]*flight[V]{}}
}

// computeTimeout bounds a shared computation.
const computeTimeout = DefaultRequestTimeout

// get returns the cached value of key or computes it. A value computed
// while the cache was invalidated is returned but not kept. The
// computation may be shared by several requests, so it runs on a context
// that the first request's cancellation does not end (only
// computeTimeout); each caller waits at most until its own ctx ends.
func (c *cache[K, V]) get(ctx context.Context, key K, compute func(ctx context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok && c.now().Before(e.exp) {
		c.mu.Unlock()
		return e.v, nil
	}
	fk := flightKey[K]{c.gen, key}
	f, ok := c.inflight[fk]
	if !ok {
		f = &flight[V]{done: make(chan struct{})}
		c.inflight[fk] = f
		go func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
			defer cancel()
			f.v, f.err = compute(cctx)
			c.mu.Lock()
			delete(c.inflight, fk)
			c.mu.Unlock()
			if f.err == nil {
				c.put(fk.gen, key, f.v)
			}
			close(f.done)
		}()
	}
	c.mu.Unlock()
	// A caller whose own deadline passes stops waiting; the computation
	// goes on for the others and fills the cache for the next request.
	select {
	case <-f.done:
		return f.v, f.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// peek returns the cached value of key, if fresh.
func (c *cache[K, V]) peek(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && c.now().Before(e.exp) {
		return e.v, true
	}
	var zero V
	return zero, false
}

func (c *cache[K, V]) put(gen uint64, key K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	now := c.now()
	if len(c.m) >= maxCacheEntries {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCacheEntries {
			clear(c.m)
		}
	}
	c.m[key] = cacheEntry[V]{v: v, exp: now.Add(c.ttl)}
}

func (c *cache[K, V]) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

func (c *cache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
