// Package storage keeps spotcast's data in an embedded DuckDB file: the
// schema and its forward-only migrations, batched appends with natural-key
// de-duplication, and the queries the rest of spotcast needs. It is the only
// package that imports the DuckDB driver.
package storage

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Sentinel errors callers branch on.
var (
	// ErrLocked: another process holds the store's file lock.
	ErrLocked = errors.New("store is locked by another process")
	// ErrNewerSchema: the file was written by a newer spotcast.
	ErrNewerSchema = errors.New("store was written by a newer spotcast")
	// ErrNotFound: the pool, instance type or row asked for is not stored.
	ErrNotFound = errors.New("not found")
	// ErrReadOnly: a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store is open read-only")
)

// DefaultPath is where the store lives unless --db says otherwise.
const DefaultPath = "spotcast.duckdb"

// Options tune Open.
type Options struct {
	// ReadOnly opens the file without taking the write lock.
	ReadOnly bool
	// Now is the clock (nil: time.Now); injected for tests.
	Now func() time.Time
	// SkipRecovery skips the integrity check Open runs after an unclean
	// shutdown (for `spotcast verify`, which runs it itself).
	SkipRecovery bool
	// MemoryLimit and Threads bound DuckDB (see settings.go; zero: the
	// defaults there).
	MemoryLimit string
	Threads     int
}

// Store is an open DuckDB store. Its methods are safe for concurrent use:
// queries run on pooled connections while at most one Import writes.
type Store struct {
	db       *sql.DB
	path     string
	readOnly bool
	now      func() time.Time

	// importMu serialises imports: DuckDB has one writer per file anyway,
	// and the pool-id cache below is only touched under it.
	importMu sync.Mutex
	pools    map[poolKey]int32 // nil until first loaded
	maxPool  int32
	// ranges is each pool's stored time range by pool id, loaded with
	// pools and kept up to date by Import.
	ranges  []tsRange
	lastRun int64 // the newest ingest_runs id the caches include

	// recovery is the check Open ran after an unclean shutdown.
	recovery *VerifyReport
}

func isMemory(path string) bool { return path == "" || path == ":memory:" }

// Open opens (creating if needed) and migrates the store at path; "" or
// ":memory:" opens an in-memory store.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s, err := open(ctx, path, opts, SchemaVersion)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// open is Open migrating to target (tests build older stores with it).
func open(ctx context.Context, path string, opts Options, target int) (*Store, error) {
	dsn := ":memory:"
	params := opts.settings()
	if !isMemory(path) {
		dsn = path
		if opts.ReadOnly {
			params.Set("access_mode", "read_only")
		}
	}
	dsn += "?" + params.Encode()
	walLeft := !isMemory(path) && walPending(path)
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, openError(path, err)
	}
	s := &Store{db: sql.OpenDB(connector), readOnly: opts.ReadOnly, now: opts.Now}
	if !isMemory(path) {
		s.path = path
	}
	if s.now == nil {
		s.now = time.Now
	}
	// Keep a few connections warm: each DuckDB connection is cheap, but
	// re-creating them per query is not free.
	s.db.SetMaxIdleConns(4)
	if err := s.migrate(ctx, target); err != nil {
		s.db.Close()
		return nil, err
	}
	if target >= journalVersion && !opts.SkipRecovery {
		if err := s.recoverOnOpen(ctx, walLeft); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	return s, nil
}

// journalVersion is the schema version that added import_journal and the
// run_id columns the integrity check needs.
const journalVersion = 3

var lockPID = regexp.MustCompile(`\bPID (\d+)`)

// openError classifies DuckDB's open failures: a conflicting file lock
// becomes ErrLocked with the holder's PID when DuckDB names it.
func openError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		if m := lockPID.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("open store %s: held by PID %s: %w", path, m[1], ErrLocked)
		}
		return fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
	return fmt.Errorf("open store %s: %w", path, err)
}

// LockHolderPID extracts the PID DuckDB named in a lock error (0 if none).
func LockHolderPID(err error) int {
	if err == nil {
		return 0
	}
	if m := lockPID.FindStringSubmatch(err.Error()); m != nil {
		pid, _ := strconv.Atoi(m[1])
		return pid
	}
	return 0
}

func (s *Store) name() string {
	if s.path == "" {
		return ":memory:"
	}
	return s.path
}

// schemaVersion reads the stored version (0 for a new, empty file).
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'schema_version'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

// migrate brings the schema to target, one transaction per step.
func (s *Store) migrate(ctx context.Context, target int) error {
	cur, err := s.schemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("store %s: read schema version: %w", s.name(), err)
	}
	if cur > SchemaVersion {
		return fmt.Errorf("store %s has schema version %d, this spotcast knows up to %d: %w",
			s.name(), cur, SchemaVersion, ErrNewerSchema)
	}
	if cur >= target {
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("store %s has schema version %d and needs %d: open it once read-write to upgrade: %w",
			s.name(), cur, target, ErrReadOnly)
	}
	for v := cur; v < target; v++ {
		if err := s.migrateStep(ctx, v); err != nil {
			return fmt.Errorf("store %s: migrate to version %d: %w", s.name(), v+1, err)
		}
	}
	return nil
}

func (s *Store) migrateStep(ctx context.Context, from int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, ?)`, from+1, s.now().UTC()); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the store cleanly (checkpointing the WAL).
func (s *Store) Close() error {
	if !s.readOnly && s.path != "" {
		crashPoint("checkpoint")
		if _, err := s.db.Exec(`CHECKPOINT`); err != nil {
			s.db.Close()
			return fmt.Errorf("close store %s: checkpoint: %w", s.path, err)
		}
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.name(), err)
	}
	return nil
}

// Path is the file the store was opened on ("" for in-memory).
func (s *Store) Path() string { return s.path }

// Ping checks that the store answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store %s: %w", s.name(), err)
	}
	return nil
}

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

// Added sums the rows handed to the Writer over tables.
func (s ImportStats) Added() int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Added
	}
	return n
}

// Stored sums the rows that were new over tables.
func (s ImportStats) Stored() int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Stored
	}
	return n
}

// importTables are the tables a Writer feeds, in merge order.
var importTables = []string{"prices", "advisor", "instance_types", "ondemand_prices", "placement_scores", "events",
	"capacity_signals", "zone_ids"}

// Import runs fill in one transaction. Price rows that cannot repeat a
// stored key stream straight into prices (one INSERT over a table
// function, see stream.go); the other rows go through DuckDB Appenders
// into staging tables and are merged into the real tables, skipping rows
// whose natural key is already stored (and repeats within the import).
// If fill returns an error, or ctx ends, nothing is written. Watermarks set
// with the Writer commit with the rows.
//
// An ingest_runs row is written for every committed import, also when it
// stored nothing new, so the run history shows re-imports.
func (s *Store) Import(ctx context.Context, run RunInfo, fill func(w *Writer) error) (ImportStats, error) {
	st, err := s.importTx(ctx, run, fill)
	if err != nil && strings.Contains(err.Error(), "No space left on device") {
		return st, fmt.Errorf("store %s: %w: nothing of this import was stored; free space and run it again (%w)", s.name(), ErrDiskFull, err)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
		// Cancelled before COMMIT (after it, a signal waits): say so.
		return st, fmt.Errorf("%w before COMMIT, nothing of it was stored: %w", ErrInterrupted, err)
	}
	return st, err
}

// ErrDiskFull: the disk filled during an import, which was rolled back.
var ErrDiskFull = errors.New("disk full")

// ErrInterrupted: an import was cancelled (a signal) before its COMMIT
// and rolled back.
var ErrInterrupted = errors.New("import interrupted")

func (s *Store) importTx(ctx context.Context, run RunInfo, fill func(w *Writer) error) (ImportStats, error) {
	if s.readOnly {
		return ImportStats{}, fmt.Errorf("import into %s: %w", s.name(), ErrReadOnly)
	}
	s.importMu.Lock()
	defer s.importMu.Unlock()
	started := s.now().UTC()

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	defer conn.Close()
	if err := registerStream(conn); err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	if err := s.loadPools(ctx, conn); err != nil {
		return ImportStats{}, err
	}
	// The journal row, committed on its own before the import starts and
	// deleted by the import's own transaction, tells the next Open that
	// this import never finished should the process die.
	var runID int64
	err = conn.QueryRowContext(ctx, `SELECT greatest((SELECT coalesce(max(id), 0) FROM ingest_runs), (SELECT coalesce(max(run_id), 0) FROM import_journal)) + 1`).Scan(&runID)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: next run id: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO import_journal VALUES (?, ?, ?, ?)`, runID, run.Path, started, os.Getpid()); err != nil {
		return ImportStats{}, fmt.Errorf("import: journal: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		conn.ExecContext(context.Background(), `DELETE FROM import_journal WHERE run_id = ?`, runID)
		return ImportStats{}, fmt.Errorf("import: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// Background: the rollback must run even when ctx has ended.
			conn.ExecContext(context.Background(), `ROLLBACK`)
			conn.ExecContext(context.Background(), dropStagingDDL)
			conn.ExecContext(context.Background(), `DELETE FROM import_journal WHERE run_id = ?`, runID)
		}
	}()

	var provBase int32
	err = conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM provenance`).Scan(&provBase)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: next provenance id: %w", err)
	}
	tablesDDL, err := stagingTablesDDL(ctx, conn)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: create staging tables: %w", err)
	}
	if _, err := conn.ExecContext(ctx, stagingDDL+tablesDDL); err != nil {
		return ImportStats{}, fmt.Errorf("import: create staging tables: %w", err)
	}

	w := &Writer{
		run:        run,
		started:    started,
		done:       ctx.Done(),
		ctxErr:     ctx.Err,
		pools:      s.pools,
		nextPool:   s.maxPool,
		stored:     s.ranges,
		prov:       map[provKey]int32{},
		provBase:   provBase,
		batch:      newPriceBatch(),
		jobs:       make(chan job, 2),
		free:       make(chan *priceBatch, priceBatches),
		added:      map[string]int64{},
		watermarks: map[string]time.Time{},
	}
	defer func() {
		if !committed {
			// Forget the pools this import added to the cache.
			for _, p := range w.newList {
				delete(s.pools, p.key)
			}
		}
	}()
	for range priceBatches - 1 {
		w.free <- newPriceBatch()
	}
	w.wg.Add(1)
	go s.appendLoop(ctx, conn, w)

	// Should fill panic, the appending goroutine must still let go of conn
	// before the deferred rollback uses it.
	defer w.finish()
	fillErr := fill(w)
	finishErr := w.finish()
	hook("filled")
	if fillErr != nil {
		return ImportStats{}, fillErr
	}
	if err := ctx.Err(); err != nil {
		return ImportStats{}, err
	}
	if finishErr != nil {
		return ImportStats{}, fmt.Errorf("import: %w", finishErr)
	}

	stats := ImportStats{RunID: runID, Tables: map[string]TableStats{}}
	if err := s.merge(ctx, conn, w, runID, &stats); err != nil {
		return ImportStats{}, fmt.Errorf("import: %w", err)
	}
	hook("merged")
	tables, _ := json.Marshal(stats.Tables)
	_, err = conn.ExecContext(ctx, `INSERT INTO ingest_runs
		(id, kind, source, path, format, sha256, started, finished, rows_stored, rows_added, tables)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, run.Kind, run.Source, run.Path, run.Format, cmp.Or(w.sha256, run.SHA256), started, s.now().UTC(),
		stats.Stored(), stats.Added(), string(tables))
	if err != nil {
		return ImportStats{}, fmt.Errorf("import: record run: %w", err)
	}
	for src, t := range w.watermarks {
		_, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?)`, src, t, started)
		if err != nil {
			return ImportStats{}, fmt.Errorf("import: watermark %s: %w", src, err)
		}
	}
	if _, err := conn.ExecContext(ctx, dropStagingDDL); err != nil {
		return ImportStats{}, fmt.Errorf("import: drop staging tables: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM import_journal WHERE run_id = ?`, runID); err != nil {
		return ImportStats{}, fmt.Errorf("import: journal: %w", err)
	}
	// Past this point the import is no longer cancelled: once COMMIT has
	// started, its outcome is what the caller must hear, so a signal
	// waits for it instead of interrupting it.
	if err := ctx.Err(); err != nil {
		return ImportStats{}, err
	}
	crashPoint("commit")
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), `COMMIT`); err != nil {
		return ImportStats{}, fmt.Errorf("import: commit: %w", err)
	}
	committed = true
	crashPoint("committed")
	hook("committed")
	s.maxPool = w.nextPool
	s.lastRun = runID
	// Every staged row lay inside its pool's stored or directly written
	// range, so the union of the two covers all the pool has now.
	for id, r := range w.wrote {
		if !r.ok {
			continue
		}
		if id >= len(s.ranges) {
			s.ranges = append(s.ranges, make([]tsRange, id+1-len(s.ranges))...)
		}
		old := &s.ranges[id]
		if old.ok {
			r.add(old.min)
			r.add(old.max)
		}
		*old = r
	}
	return stats, nil
}

// appendLoop owns conn while fill runs: it feeds every batch to the
// price stream or the Appenders and recycles price batches. After an error it keeps draining
// so the producer never blocks.
func (s *Store) appendLoop(ctx context.Context, conn *sql.Conn, w *Writer) {
	defer w.wg.Done()
	defer func() {
		// If Raw failed before its loop ran, the jobs still need a reader.
		for j := range w.jobs {
			if j.prices != nil {
				j.prices.reset()
				w.free <- j.prices
			}
		}
	}()
	err := conn.Raw(func(dc any) error {
		a := &appenders{
			conn: dc.(driver.Conn), by: map[string]*duckdb.Appender{}, args: make([]driver.Value, 8),
			ctx: ctx, recycle: func(b *priceBatch) { b.reset(); w.free <- b },
		}
		var err error
		for j := range w.jobs {
			kept := false
			if err == nil {
				if kept, err = a.run(j); err != nil {
					w.setErr(err)
				}
				crashPoint("append")
			}
			if j.prices != nil && !kept {
				a.recycle(j.prices)
			}
		}
		err = errors.Join(err, a.stopStream())
		w.nDirect, w.nMerged = a.nDirect, a.merged
		w.stagedLeft, w.stagedRange, w.stagedRepeat = a.staged > 0, a.stRange, a.repeat
		return errors.Join(err, a.close())
	})
	if err != nil {
		w.setErr(err)
	}
}

// loadPools fills the pool-id cache on first use, and again should
// another Store on the same file (sharing its database) have added pools.
func (s *Store) loadPools(ctx context.Context, conn *sql.Conn) error {
	if s.pools != nil {
		// The caches hold until another writer (a Store sharing the
		// database) commits an import.
		var maxID int32
		var lastRun int64
		if err := conn.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM pools), (SELECT coalesce(max(id), 0) FROM ingest_runs)`).Scan(&maxID, &lastRun); err != nil {
			return fmt.Errorf("load pools: %w", err)
		}
		if maxID == s.maxPool && lastRun == s.lastRun {
			return nil
		}
	}
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM ingest_runs`).Scan(&s.lastRun); err != nil {
		return fmt.Errorf("load pools: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT id, cloud, region, zone, instance_type, product, resolution FROM pools`)
	if err != nil {
		return fmt.Errorf("load pools: %w", err)
	}
	defer rows.Close()
	pools := map[poolKey]int32{}
	var maxID int32
	for rows.Next() {
		var id int32
		var k poolKey
		var res string
		if err := rows.Scan(&id, &k.Cloud, &k.Region, &k.Zone, &k.InstanceType, &k.Product, &res); err != nil {
			return fmt.Errorf("load pools: %w", err)
		}
		k.daily = res == "1d"
		pools[k] = id
		maxID = max(maxID, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load pools: %w", err)
	}
	s.pools, s.maxPool = pools, maxID
	return s.loadRanges(ctx, conn)
}

// loadRanges reads each pool's stored time range (one aggregate over
// prices, bounded by the number of pools), which decides which rows of
// an import can go straight into prices.
func (s *Store) loadRanges(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT pool_id, epoch_us(min(ts)), epoch_us(max(ts)) FROM prices GROUP BY pool_id`)
	if err != nil {
		return fmt.Errorf("load pool ranges: %w", err)
	}
	defer rows.Close()
	ranges := make([]tsRange, s.maxPool+1)
	for rows.Next() {
		var id int32
		var r tsRange
		if err := rows.Scan(&id, &r.min, &r.max); err != nil {
			return fmt.Errorf("load pool ranges: %w", err)
		}
		r.ok = true
		if int(id) >= len(ranges) {
			ranges = append(ranges, make([]tsRange, int(id)+1-len(ranges))...)
		}
		ranges[id] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load pool ranges: %w", err)
	}
	s.ranges = ranges
	return nil
}

// merge writes the import's pools and provenance, then moves every staging
// table into its real table with one set-based statement each.
func (s *Store) merge(ctx context.Context, conn *sql.Conn, w *Writer, runID int64, stats *ImportStats) error {
	if len(w.newList) > 0 || len(w.provList) > 0 {
		crashPoint("merge")
		err := conn.Raw(func(dc any) error {
			if len(w.newList) > 0 {
				ap, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "pools")
				if err != nil {
					return err
				}
				for _, p := range w.newList {
					k := p.key
					if err := ap.AppendRow(p.id, k.Cloud, k.Region, k.Zone, k.InstanceType, k.Product, k.resolution()); err != nil {
						ap.Close()
						return err
					}
				}
				if err := ap.Close(); err != nil {
					return err
				}
			}
			if len(w.provList) > 0 {
				ap, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "provenance")
				if err != nil {
					return err
				}
				for i, p := range w.provList {
					if err := ap.AppendRow(w.provBase+int32(i)+1, runID, p.source, p.fetched.UTC()); err != nil {
						ap.Close()
						return err
					}
				}
				return ap.Close()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store pools and provenance: %w", err)
		}
	}
	w.added["prices"] = w.nPrices
	for _, t := range importTables {
		added := w.added[t]
		if added == 0 {
			continue
		}
		var res sql.Result
		var err error
		crashPoint("merge")
		if t == "prices" {
			// Direct rows and merged chunks are in prices already; the
			// last staged chunk is merged here.
			stored := w.nDirect + w.nMerged
			if w.stagedLeft {
				q := mergePricesSQL
				if w.stagedRepeat || w.mayRepeat {
					q = mergePricesDedupSQL
				}
				res, err := conn.ExecContext(ctx, q, time.UnixMicro(w.stagedRange.min).UTC(), time.UnixMicro(w.stagedRange.max).UTC())
				if err != nil {
					return fmt.Errorf("merge prices: %w", err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("merge prices: %w", err)
				}
				stored += n
			}
			stats.Tables[t] = TableStats{Added: added, Stored: stored}
			continue
		} else {
			for _, m := range mergeSQL {
				if m.table == t {
					res, err = conn.ExecContext(ctx, m.sql, runID)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("merge %s: %w", t, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("merge %s: %w", t, err)
		}
		stats.Tables[t] = TableStats{Added: added, Stored: n}
	}
	return nil
}

// Watermark returns the stored watermark of source.
func (s *Store) Watermark(ctx context.Context, source string) (t time.Time, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT ts FROM watermarks WHERE source = ?`, source).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("watermark %s: %w", source, err)
	}
	return t.UTC(), true, nil
}

// countTables are the keys of Counts.
var countTables = []string{"prices", "pools", "advisor", "instance_types", "ondemand_prices",
	"placement_scores", "events", "ingest_runs", "watermarks", "capacity_signals", "zone_ids"}

// Counts returns the row count of each table, keyed "prices", "pools",
// "advisor", "instance_types", "ondemand_prices", "placement_scores",
// "events", "ingest_runs", "watermarks", "capacity_signals", "zone_ids".
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	var q strings.Builder
	q.WriteString("SELECT ")
	for i, t := range countTables {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(SELECT count(*) FROM %s)", t)
	}
	vals := make([]int64, len(countTables))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.db.QueryRowContext(ctx, q.String()).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	out := make(map[string]int64, len(vals))
	for i, t := range countTables {
		out[t] = vals[i]
	}
	return out, nil
}

// importHook, when set (by tests and benchmarks only), is called as an
// import passes each phase: "filled", "merged", "committed".
var importHook func(phase string)

func hook(phase string) {
	if importHook != nil {
		importHook(phase)
	}
}
