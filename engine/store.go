package engine

import (
	"context"

	"github.com/spotcast/spotcast/storage"
)

// Ping checks that the store answers a query.
func (e *Engine) Ping(ctx context.Context) error { return e.store.Ping(ctx) }

// Freshness says, per source, how many rows the store holds, when they
// were last fetched and the newest time they speak of.
func (e *Engine) Freshness(ctx context.Context) ([]storage.SourceFreshness, error) {
	return e.store.Freshness(ctx)
}
