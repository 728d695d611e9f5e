// Package storage keeps spotcast's data in an embedded DuckDB file: the
// schema and its forward-only migrations, batched appends with natural-key
// de-duplication, and the queries the rest of spotcast needs. It is the only
// package that imports the DuckDB driver.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Sentinel errors callers branch on.
var (
	// ErrLocked: another process holds the store's file lock.
	ErrLocked = errors.New("store is locked by another process")
	// ErrNewerSchema: the file was written by a newer spotcast.
	ErrNewerSchema = errors.New("store was written by a newer spotcast")
	// ErrNotFound: the pool, instance type or row asked for is not stored.
	ErrNotFound = errors.New("not found")
)

// DefaultPath is where the store lives unless --db says otherwise.
const DefaultPath = "spotcast.duckdb"

// Options tune Open.
type Options struct {
	// ReadOnly opens the file without taking the write lock.
	ReadOnly bool
	// Now is the clock (nil: time.Now); injected for tests.
	Now func() time.Time
}

// Store is an open DuckDB store.
type Store struct {
	// implementation fields
}

// Open opens (creating if needed) and migrates the store at path; "" or
// ":memory:" opens an in-memory store.
func Open(ctx context.Context, path string, opts Options) (*Store, error) { panic("todo") }

// Close closes the store cleanly (checkpointing the WAL).
func (s *Store) Close() error { panic("todo") }

// Path is the file the store was opened on ("" for in-memory).
func (s *Store) Path() string { panic("todo") }

// RunInfo describes one import for the ingest_runs table.
type RunInfo struct {
	Kind   string // "file", "aws", "events", "sim"
	Source string // the source written on every row, e.g. "file:x.csv.gz"
	Path   string // file path or endpoint, for provenance
	Format string // detected or forced format
	SHA256 string // of the file's bytes, when a file
}

// TableStats counts one table's rows in an import.
type TableStats struct {
	Added  int64 `json:"added"`  // rows handed to the Writer
	Stored int64 `json:"stored"` // rows that were new (natural key not yet stored)
}

// ImportStats is what Import did, per table name ("prices", "advisor",
// "instance_types", "ondemand_prices", "placement_scores", "events").
type ImportStats struct {
	RunID  int64                 `json:"run_id"`
	Tables map[string]TableStats `json:"tables"`
}

// Added and Stored sum over tables.
func (s ImportStats) Added() int64  { panic("todo") }
func (s ImportStats) Stored() int64 { panic("todo") }

// Import runs fill in one transaction. Rows go through DuckDB Appenders into
// staging tables and are merged into the real tables at the end, skipping
// rows whose natural key is already stored (and repeats within the import).
// If fill returns an error, or ctx ends, nothing is written. Watermarks set
// with the Writer commit with the rows.
func (s *Store) Import(ctx context.Context, run RunInfo, fill func(w *Writer) error) (ImportStats, error) {
	panic("todo")
}

// Writer takes the rows of one Import. Not safe for concurrent use.
type Writer struct {
	// implementation fields
}

func (w *Writer) AddPrice(p market.PricePoint) error              { panic("todo") }
func (w *Writer) AddAdvisor(a market.AdvisorRow) error            { panic("todo") }
func (w *Writer) AddInstanceType(t market.InstanceType) error     { panic("todo") }
func (w *Writer) AddOnDemand(o market.OnDemandPrice) error        { panic("todo") }
func (w *Writer) AddPlacementScore(p market.PlacementScore) error { panic("todo") }
func (w *Writer) AddEvent(e market.Event) error                   { panic("todo") }

// SetWatermark records that source (e.g. "aws-api:us-east-1") is complete
// up to t; it is written in the same transaction as the rows.
func (w *Writer) SetWatermark(source string, t time.Time) { panic("todo") }

// Watermark returns the stored watermark of source.
func (s *Store) Watermark(ctx context.Context, source string) (t time.Time, ok bool, err error) {
	panic("todo")
}

// Counts returns the row count of each table, keyed "prices", "pools",
// "advisor", "instance_types", "ondemand_prices", "placement_scores",
// "events", "ingest_runs", "watermarks".
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) { panic("todo") }

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
func (s *Store) Series(ctx context.Context, key market.PoolKey, from, to time.Time) ([]market.PricePoint, error) {
	panic("todo")
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
