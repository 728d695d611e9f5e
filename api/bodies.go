package api

import (
	"context"
	"sync"

	"github.com/spotcast/spotcast/engine"
)

// maxBodyBytes bounds the encoded answers each bodies cache keeps (about
// 6,000 24 h price answers of 20 KB); past it, entries picked at random go.
const maxBodyBytes = 128 << 20

// bodies keeps the encoded JSON of answers taken from the persisted
// forecasts. Such an answer does not change until the served forecasts
// do (it says when its forecast was made, from data up to when; nothing
// in it depends on the time of the request), so it is encoded once, not
// per request: encoding a price forecast's 24 steps of quantiles costs
// hundreds of microseconds and allocates tens of KB, where writing the
// kept bytes costs neither. Invalidate (a refit, an ingest; posted events
// for the interruption answers) empties it.
type bodies[K comparable] struct {
	limit int // bytes kept at most

	mu   sync.Mutex
	gen  uint64
	m    map[K]encoded
	size int
}

func newBodies[K comparable](limit int) *bodies[K] {
	return &bodies[K]{limit: limit, m: map[K]encoded{}}
}

// get returns key's body, or the generation a body computed now must be
// put under.
func (c *bodies[K]) get(key K) (encoded, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b, c.gen, ok
}

// put keeps b for key unless the cache was invalidated since gen (the
// body may rest on forecasts no longer served).
func (c *bodies[K]) put(gen uint64, key K, b encoded) {
	if len(b) > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if old, ok := c.m[key]; ok {
		c.size -= len(old)
	}
	for k, old := range c.m { // map order: a random victim
		if c.size+len(b) <= c.limit {
			break
		}
		delete(c.m, k)
		c.size -= len(old)
	}
	c.m[key] = b
	c.size += len(b)
}

func (c *bodies[K]) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.size
}

func (c *bodies[K]) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
	c.size = 0
}

// encodedAnswer returns the encoded answer of req: the kept body when
// there is one; else, when persisted (nil: req asks for what is computed
// on request) finds it in the persisted forecasts, that answer, kept; else
// answer's (the Service's cached computation), encoded per request.
// Answers of the persisted forecasts stay out of the Service's caches,
// which are for the computed ones (and would only be flooded).
func encodedAnswer[K comparable, V any](ctx context.Context, c *bodies[K], req K,
	persisted func(context.Context, K) (V, bool), answer func(context.Context, K) (V, error)) (encoded, error) {
	b, gen, ok := c.get(req)
	if ok {
		return b, nil
	}
	if persisted != nil {
		if v, ok := persisted(ctx, req); ok {
			b, err := encodeJSON(v)
			if err != nil {
				return nil, err
			}
			c.put(gen, req, b)
			return b, nil
		}
	}
	v, err := answer(ctx, req)
	if err != nil {
		return nil, err
	}
	return encodeJSON(v)
}

// priceForecastJSON is PriceForecast as the HTTP API's JSON.
func (s *Service) priceForecastJSON(ctx context.Context, req engine.PriceForecastRequest) (encoded, error) {
	var persisted func(context.Context, engine.PriceForecastRequest) (engine.PriceForecastResponse, bool)
	if !priceOnRequest(req) && checkHorizon(req.Horizon, req.Resolution) == nil {
		persisted = s.eng.PersistedPriceForecast
	}
	return encodedAnswer(ctx, s.priceBodies, req, persisted, s.PriceForecast)
}

// interruptionForecastJSON is InterruptionForecast as the HTTP API's JSON.
func (s *Service) interruptionForecastJSON(ctx context.Context, req engine.InterruptionForecastRequest) (encoded, error) {
	var persisted func(context.Context, engine.InterruptionForecastRequest) (engine.InterruptionForecastResponse, bool)
	if !hazardOnRequest(req) {
		persisted = s.eng.PersistedInterruptionForecast
	}
	return encodedAnswer(ctx, s.hazardBodies, req, persisted, s.InterruptionForecast)
}
