package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
)

// PoolFilter selects pools; empty fields match anything.
type PoolFilter struct {
	Cloud, Region, Zone, InstanceType, Product string
	GPUModel                                   string  // case-insensitive, e.g. "A100"
	MinGPUMemoryGiB                            float64 // per GPU
	Source                                     string
	Limit                                      int // 0: no limit
}

// PoolInfo is a pool with its catalogue entry (zero if unknown).
type PoolInfo struct {
	market.Pool
	Type market.InstanceType `json:"-"`
}

// Pools lists pools matching f with their point counts, span and last price.
func (s *Store) Pools(ctx context.Context, f PoolFilter) ([]PoolInfo, error) { panic("todo") }

// Series returns the pool's points in time order covering [from, to): the
// last point at or before from (so the step function's value at from is
// known) and every point after it up to to. Zero from/to are open ends.
// ErrNotFound if the pool is not stored.
//
// A key with a Zone but no Region takes the zone's region; an empty Cloud
// means AWS. When the key has both a change series and a daily series,
// the change series (the finer one) is returned; SeriesOf picks one.
func (s *Store) Series(ctx context.Context, key market.PoolKey, from, to time.Time) ([]market.PricePoint, error) {
	return s.SeriesOf(ctx, key, "", from, to)
}

// SeriesOf is Series for the pool of the given resolution
// (market.ResolutionChange or market.ResolutionDaily; "" prefers change).
func (s *Store) SeriesOf(ctx context.Context, key market.PoolKey, resolution string, from, to time.Time) ([]market.PricePoint, error) {
	key = normalizeKey(key)
	var id int64
	var res string
	err := s.db.QueryRowContext(ctx, `SELECT id, resolution FROM pools
		WHERE cloud = ? AND region = ? AND zone = ? AND instance_type = ? AND product = ?
		  AND (? = '' OR resolution = ?)
		ORDER BY resolution = 'change' DESC LIMIT 1`,
		key.Cloud, key.Region, key.Zone, key.InstanceType, key.Product, resolution, resolution).Scan(&id, &res)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("series %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", key, err)
	}
	q := `SELECT x.ts, x.price, x.open, x.high, x.low, x.close, v.source, v.fetched_at
		FROM prices x JOIN provenance v ON v.id = x.prov_id
		WHERE x.pool_id = $1`
	args := []any{id}
	if !from.IsZero() {
		// The last point at or before from carries the value at from.
		q += ` AND x.ts >= coalesce((SELECT max(ts) FROM prices WHERE pool_id = $1 AND ts <= $2), $2)`
		args = append(args, from.UTC())
	}
	if !to.IsZero() {
		q += fmt.Sprintf(` AND x.ts < $%d`, len(args)+1)
		args = append(args, to.UTC())
	}
	q += ` ORDER BY x.ts`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", key, err)
	}
	defer rows.Close()
	var out []market.PricePoint
	for rows.Next() {
		p := market.PricePoint{Pool: key}
		var o, h, l, c sql.NullFloat64
		if err := rows.Scan(&p.Time, &p.Price, &o, &h, &l, &c, &p.Source, &p.FetchedAt); err != nil {
			return nil, fmt.Errorf("series %s: %w", key, err)
		}
		p.Time, p.FetchedAt = p.Time.UTC(), p.FetchedAt.UTC()
		if o.Valid {
			p.HasBar = true
			p.Bar = market.Bar{Open: o.Float64, High: h.Float64, Low: l.Float64, Close: c.Float64}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series %s: %w", key, err)
	}
	return out, nil
}

// normalizeKey fills an empty Cloud (AWS) and an empty Region from Zone.
func normalizeKey(k market.PoolKey) market.PoolKey {
	if k.Cloud == "" {
		k.Cloud = market.AWS
	}
	if k.Region == "" && k.Zone != "" {
		if r, err := market.RegionOfZone(k.Zone); err == nil {
			k.Region = r
		}
	}
	return k
}

// LatestPrices returns the newest point of every pool matching f.
func (s *Store) LatestPrices(ctx context.Context, f PoolFilter) ([]market.PricePoint, error) {
	panic("todo")
}

// Advisor returns the newest advisor row for the type in the region/OS
// at or before at (zero at: newest); ErrNotFound if none.
func (s *Store) Advisor(ctx context.Context, region, os, instanceType string, at time.Time) (market.AdvisorRow, error) {
	panic("todo")
}

// InstanceType returns the catalogue entry; ErrNotFound if none.
func (s *Store) InstanceType(ctx context.Context, cloud, name string) (market.InstanceType, error) {
	panic("todo")
}

// InstanceTypes lists catalogue entries of a cloud ("" all).
func (s *Store) InstanceTypes(ctx context.Context, cloud string) ([]market.InstanceType, error) {
	panic("todo")
}

// OnDemand returns the on-demand price in effect at at (zero: newest).
// Product "" matches any product, preferring Linux.
func (s *Store) OnDemand(ctx context.Context, cloud, region, instanceType, product string, at time.Time) (market.OnDemandPrice, error) {
	panic("todo")
}

// EventFilter selects events; empty fields match anything.
type EventFilter struct {
	Cloud, Region, Zone, InstanceType, Kind string
	From, To                                time.Time
}

// Events returns matching events in time order.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]market.Event, error) { panic("todo") }

// PlacementScores returns the newest score per (region, zone, request)
// for requests that include instanceType ("" any).
func (s *Store) PlacementScores(ctx context.Context, region, instanceType string) ([]market.PlacementScore, error) {
	panic("todo")
}

// IngestRun is a row of ingest_runs.
type IngestRun struct {
	ID int64
	RunInfo
	Started    time.Time
	Finished   time.Time
	RowsStored int64
}

// IngestRuns returns the newest runs first.
func (s *Store) IngestRuns(ctx context.Context, limit int) ([]IngestRun, error) { panic("todo") }

// SourceFreshness is the newest data point and newest successful ingest
// per source.
type SourceFreshness struct {
	Source      string
	LastIngest  time.Time
	NewestPoint time.Time
	Rows        int64
}

// Freshness lists every source's freshness.
func (s *Store) Freshness(ctx context.Context) ([]SourceFreshness, error) { panic("todo") }

// ExportStats says what ExportParquet wrote.
type ExportStats struct {
	Files int   `json:"files"`
	Rows  int64 `json:"rows"`
}

// ExportParquet writes the prices (joined with their pools) as Parquet
// partitioned by cloud/region/month under dir (hive layout:
// cloud=aws/region=us-east-1/month=2021-03/*.parquet), plus the other tables
// as one Parquet file each.
func (s *Store) ExportParquet(ctx context.Context, dir string) (ExportStats, error) { panic("todo") }
