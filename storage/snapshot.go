package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
)

// NewestPriceTime is the time of the newest stored price (ok false on a
// store without prices).
func (s *Store) NewestPriceTime(ctx context.Context) (t time.Time, ok bool, err error) {
	var newest sql.NullTime
	if err := s.db.QueryRowContext(ctx, `SELECT max(ts) FROM prices`).Scan(&newest); err != nil {
		return time.Time{}, false, fmt.Errorf("newest price: %w", err)
	}
	return newest.Time.UTC(), newest.Valid, nil
}

// PoolPriceAt is one pool's price at a time and at two earlier times.
type PoolPriceAt struct {
	Pool       market.PoolKey
	Resolution string
	// Time and Price: the newest point at or before the time asked.
	Time  time.Time
	Price float64
	// Before is the price in effect at each of the earlier times asked
	// (0: no price then).
	Before [2]float64
	// Source of the newest point.
	Source string
}

// pricesAtSQL reads, per pool, the newest price at or before a time and
// the prices in effect at two earlier times (a series is a step function:
// the last point at or before a time holds at that time), in one scan of
// the prices table instead of a Series call per pool.
const pricesAtSQL = `
SELECT p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution,
       max(x.ts),
       arg_max(x.price, x.ts),
       arg_max(x.price, x.ts) FILTER (WHERE x.ts <= ?),
       arg_max(x.price, x.ts) FILTER (WHERE x.ts <= ?),
       arg_max(v.source, x.ts)
FROM prices x
JOIN pools p ON p.id = x.pool_id
JOIN provenance v ON v.id = x.prov_id
WHERE x.ts <= ?
GROUP BY p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution`

// PricesAt returns every pool's price at t and at the two earlier times
// before (each must be before t), for pools with a price at or before t.
func (s *Store) PricesAt(ctx context.Context, t time.Time, before [2]time.Time) ([]PoolPriceAt, error) {
	rows, err := s.db.QueryContext(ctx, pricesAtSQL, before[0].UTC(), before[1].UTC(), t.UTC())
	if err != nil {
		return nil, fmt.Errorf("prices at %s: %w", t.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var out []PoolPriceAt
	for rows.Next() {
		var p PoolPriceAt
		var b0, b1 sql.NullFloat64
		k := &p.Pool
		if err := rows.Scan(&k.Cloud, &k.Region, &k.Zone, &k.InstanceType, &k.Product, &p.Resolution, &p.Time, &p.Price, &b0, &b1, &p.Source); err != nil {
			return nil, fmt.Errorf("prices at %s: %w", t.Format(time.RFC3339), err)
		}
		p.Time = p.Time.UTC()
		p.Before = [2]float64{b0.Float64, b1.Float64}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prices at %s: %w", t.Format(time.RFC3339), err)
	}
	return out, nil
}
