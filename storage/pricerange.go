package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PriceRange is the time of the oldest and the newest stored price (ok
// false on a store without prices): the range a past origin (as_of) may
// fall in.
func (s *Store) PriceRange(ctx context.Context) (first, last time.Time, ok bool, err error) {
	var lo, hi sql.NullTime
	if err := s.db.QueryRowContext(ctx, `SELECT min(ts), max(ts) FROM prices`).Scan(&lo, &hi); err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("price range: %w", err)
	}
	return lo.Time.UTC(), hi.Time.UTC(), lo.Valid && hi.Valid, nil
}
