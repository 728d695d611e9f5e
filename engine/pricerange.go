package engine

import (
	"context"
	"time"
)

// PriceRange is the time of the oldest and the newest stored price (ok
// false when the store holds none): the range a request's as_of may fall
// in.
func (e *Engine) PriceRange(ctx context.Context) (first, last time.Time, ok bool, err error) {
	return e.store.PriceRange(ctx)
}
