package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxCacheEntries bounds the cache; past it the expired entries go, and if
// that is not enough, all of them (a simple bound beats an LRU here: the
// watched pools are refilled by the next refit).
const maxCacheEntries = 4096

// cache keeps computed forecasts for a while. Concurrent requests for the
// same key share one computation (singleflight), so a burst of requests
// for a cold forecast fits it once.
type cache struct {
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	gen uint64
	m   map[string]cacheEntry
	sf  singleflight.Group
}

type cacheEntry struct {
	v   any
	exp time.Time
}

func newCache(ttl time.Duration, now func() time.Time) *cache {
	return &cache{ttl: ttl, now: now, m: map[string]cacheEntry{}}
}

// computeTimeout bounds a shared computation.
const computeTimeout = DefaultRequestTimeout

// get returns the cached value of key or computes it. A value computed
// while the cache was invalidated is returned but not kept. The
// computation may be shared by several requests, so it runs on a context
// that the first request's cancellation does not end (only
// computeTimeout); each caller waits at most until its own ctx ends.
func (c *cache) get(ctx context.Context, key string, compute func(ctx context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok && c.now().Before(e.exp) {
		c.mu.Unlock()
		return e.v, nil
	}
	gen := c.gen
	c.mu.Unlock()
	ch := c.sf.DoChan(strconv.FormatUint(gen, 10)+"|"+key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		v, err := compute(cctx)
		if err != nil {
			return nil, err
		}
		c.put(gen, key, v)
		return v, nil
	})
	// A caller whose own deadline passes stops waiting; the computation
	// goes on for the others and fills the cache for the next request.
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// peek returns the cached value of key, if fresh.
func (c *cache) peek(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && c.now().Before(e.exp) {
		return e.v, true
	}
	return nil, false
}

// set stores v under key now (used by the refit to warm the cache).
func (c *cache) set(key string, v any) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	c.put(gen, key, v)
}

func (c *cache) put(gen uint64, key string, v any) {
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
			c.m = map[string]cacheEntry{}
		}
	}
	c.m[key] = cacheEntry{v: v, exp: now.Add(c.ttl)}
}

func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.m = map[string]cacheEntry{}
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
