package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spotcast/spotcast/market"
)

// ForecastRun is one refit pass: when it ran, from data up to when, with
// what models, over how many pools.
type ForecastRun struct {
	ID                  int64
	Started, Finished   time.Time
	AsOf                time.Time // the forecasts' origin: no data after it was read
	Kind                string    // "full" or "changed"
	PriceModel          string
	HazardModel         string
	PriceHorizon        time.Duration
	HazardHorizon       time.Duration
	Pools, Refit, Fails int64
	Seconds             float64
	// Inputs fingerprints the interruption signals the run read (row
	// counts of events, advisor, on-demand prices, placement scores).
	Inputs string
}

// PoolForecast is one pool's persisted forecast (the documents are
// encoded by the caller).
type PoolForecast struct {
	RunID  int64
	PoolID int32
	// Generated is when the forecast was made.
	Generated time.Time
	// Points, FirstTS, LastTS and LastPrice are the pool's data when it
	// was fitted: its stored price count, first and newest price times and
	// newest price (the version a later refit compares).
	Points          int64
	FirstTS, LastTS time.Time
	LastPrice       float64
	// DataFrom and DataUntil span the prices the forecast read.
	DataFrom, DataUntil time.Time
	Source              string
	Simulated           bool
	Model               string
	OnDemand            float64 // 0: unknown
	OnDemandSource      string
	// Error says why the pool could not be fitted ("" if it was).
	Error               string
	Price, Hazard, Week []byte
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// WriteForecastRun stores a refit's forecasts in one transaction: the run
// row, one pool_forecasts row per pool (through the Appender), and the
// deletion of the rows they supersede. A run that fails or is killed
// before its commit leaves the previous forecasts in place. It returns
// the run's id.
func (s *Store) WriteForecastRun(ctx context.Context, run ForecastRun, rows []PoolForecast) (int64, error) {
	if s.readOnly {
		return 0, fmt.Errorf("write forecasts into %s: %w", s.name(), ErrReadOnly)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("write forecasts: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return 0, fmt.Errorf("write forecasts: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// Background: the rollback must run even when ctx has ended.
			conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	var id int64
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM forecast_runs`).Scan(&id); err != nil {
		return 0, fmt.Errorf("write forecasts: next run id: %w", err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO forecast_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, run.Started.UTC(), run.Finished.UTC(), run.AsOf.UTC(), run.Kind, run.PriceModel, run.HazardModel,
		int64(run.PriceHorizon/time.Second), int64(run.HazardHorizon/time.Second), run.Pools, run.Refit, run.Fails, run.Seconds, run.Inputs)
	if err != nil {
		return 0, fmt.Errorf("write forecasts: run: %w", err)
	}
	err = conn.Raw(func(dc any) error {
		ap, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "pool_forecasts")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := ctx.Err(); err != nil {
				ap.Close()
				return err
			}
			err := ap.AppendRow(id, r.PoolID, r.Generated.UTC(), r.Points, nullTime(r.FirstTS), nullTime(r.LastTS), r.LastPrice,
				nullTime(r.DataFrom), nullTime(r.DataUntil),
				r.Source, r.Simulated, r.Model, r.OnDemand, r.OnDemandSource, r.Error, nullBytes(r.Price), nullBytes(r.Hazard), nullBytes(r.Week))
			if err != nil {
				ap.Close()
				return err
			}
		}
		return ap.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("write forecasts: append: %w", err)
	}
	_, err = conn.ExecContext(ctx, `DELETE FROM pool_forecasts WHERE run_id < ? AND pool_id IN (SELECT pool_id FROM pool_forecasts WHERE run_id = ?)`, id, id)
	if err != nil {
		return 0, fmt.Errorf("write forecasts: drop superseded: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return 0, fmt.Errorf("write forecasts: commit: %w", err)
	}
	committed = true
	return id, nil
}

const forecastRunCols = `id, started, finished, as_of, kind, price_model, hazard_model, price_horizon_seconds, hazard_horizon_seconds, pools, refit, failed, seconds, inputs`

func scanRun(sc interface{ Scan(...any) error }) (ForecastRun, error) {
	var r ForecastRun
	var ph, hh int64
	err := sc.Scan(&r.ID, &r.Started, &r.Finished, &r.AsOf, &r.Kind, &r.PriceModel, &r.HazardModel, &ph, &hh, &r.Pools, &r.Refit, &r.Fails, &r.Seconds, &r.Inputs)
	r.Started, r.Finished, r.AsOf = r.Started.UTC(), r.Finished.UTC(), r.AsOf.UTC()
	r.PriceHorizon, r.HazardHorizon = time.Duration(ph)*time.Second, time.Duration(hh)*time.Second
	return r, err
}

// ForecastRuns returns the refit runs, newest first (limit <= 0: all).
func (s *Store) ForecastRuns(ctx context.Context, limit int) ([]ForecastRun, error) {
	q := `SELECT ` + forecastRunCols + ` FROM forecast_runs ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("forecast runs: %w", err)
	}
	defer rows.Close()
	var out []ForecastRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("forecast runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("forecast runs: %w", err)
	}
	return out, nil
}

const poolForecastCols = `run_id, pool_id, generated, points, first_ts, last_ts, last_price, data_from, data_until, source, simulated, model, on_demand, od_source, error, price, hazard, week`

func scanPoolForecast(sc interface{ Scan(...any) error }) (PoolForecast, error) {
	var f PoolForecast
	var first, last, from, until sql.NullTime
	err := sc.Scan(&f.RunID, &f.PoolID, &f.Generated, &f.Points, &first, &last, &f.LastPrice, &from, &until, &f.Source, &f.Simulated, &f.Model,
		&f.OnDemand, &f.OnDemandSource, &f.Error, &f.Price, &f.Hazard, &f.Week)
	f.Generated = f.Generated.UTC()
	if first.Valid {
		f.FirstTS = first.Time.UTC()
	}
	if last.Valid {
		f.LastTS = last.Time.UTC()
	}
	if from.Valid {
		f.DataFrom = from.Time.UTC()
	}
	if until.Valid {
		f.DataUntil = until.Time.UTC()
	}
	return f, err
}

// Forecasts streams every pool's served forecast (its row of the newest
// run that fitted it) to fn, in pool id order.
func (s *Store) Forecasts(ctx context.Context, fn func(PoolForecast) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+poolForecastCols+` FROM pool_forecasts
		QUALIFY run_id = max(run_id) OVER (PARTITION BY pool_id) ORDER BY pool_id`)
	if err != nil {
		return fmt.Errorf("forecasts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanPoolForecast(rows)
		if err != nil {
			return fmt.Errorf("forecasts: %w", err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("forecasts: %w", err)
	}
	return nil
}

// ForecastOf returns one pool's served forecast; ErrNotFound if none was
// persisted.
func (s *Store) ForecastOf(ctx context.Context, poolID int32) (PoolForecast, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+poolForecastCols+` FROM pool_forecasts WHERE pool_id = ? ORDER BY run_id DESC LIMIT 1`, poolID)
	f, err := scanPoolForecast(row)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("forecast of pool %d: %w", poolID, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("forecast of pool %d: %w", poolID, err)
	}
	return f, nil
}

// ForecastRunOf returns a run by id; ErrNotFound if there is none.
func (s *Store) ForecastRunOf(ctx context.Context, id int64) (ForecastRun, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+forecastRunCols+` FROM forecast_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("forecast run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("forecast run %d: %w", id, err)
	}
	return r, nil
}

// SeriesScan selects what ScanSeries reads.
type SeriesScan struct {
	// From is where a pool's points start (the point in effect then is
	// included), per resolution: ChangeFrom for change series, DailyFrom
	// for daily ones. To is the last time read (inclusive).
	ChangeFrom, DailyFrom, To time.Time
	// PoolIDs, if not nil, restricts the scan to these pools.
	PoolIDs []int32
}

// PoolSeries is one pool's points in time order, with the statistics of
// all its stored points (its data version).
type PoolSeries struct {
	PoolID int32
	// Group numbers the pools of one cloud, instance type and resolution
	// (the same number for all of them, increasing over the scan).
	Group int64
	// Count, First, Last, LastPrice and Source describe every stored
	// point of the pool (Source: the newest point's), as Pools does.
	Count       int64
	First, Last time.Time
	LastPrice   float64
	Source      string
	// Points are the window's, in time order.
	Points []market.PricePoint
}

// scanStatsSQL is every pool's statistics over all its points and the
// point in effect at its window's start, in one aggregate pass.
const scanStatsSQL = `
WITH sel AS (
	SELECT id, CASE WHEN resolution = '1d' THEN ?::TIMESTAMP ELSE ?::TIMESTAMP END AS since FROM pools %s)
SELECT x.pool_id, count(*), min(x.ts), max(x.ts), arg_max(x.price, x.ts), arg_max(x.prov_id, x.ts),
       epoch_us(max(x.ts) FILTER (WHERE x.ts < sel.since)),
       arg_max(x.price, x.ts) FILTER (WHERE x.ts < sel.since),
       arg_max(x.prov_id, x.ts) FILTER (WHERE x.ts < sel.since),
       count(*) FILTER (WHERE x.ts >= sel.since AND x.ts <= ?::TIMESTAMP)
FROM prices x JOIN sel ON sel.id = x.pool_id
GROUP BY x.pool_id`

// scanWindowSQL is every pool's window, ordered by sibling group, pool
// and time: integer sort keys (the group's rank), so the sort is cheap;
// a pool without a point in its window comes once with NULLs.
const scanWindowSQL = `
WITH sel AS (
	SELECT id, dense_rank() OVER (ORDER BY cloud, instance_type, resolution) AS g,
	       CASE WHEN resolution = '1d' THEN ?::TIMESTAMP ELSE ?::TIMESTAMP END AS since
	FROM pools %s)
SELECT sel.g, sel.id, epoch_us(x.ts), x.price, x.prov_id
FROM sel LEFT JOIN prices x ON x.pool_id = sel.id AND x.ts >= sel.since AND x.ts <= ?
ORDER BY sel.g, sel.id, x.ts`

type scanStats struct {
	count, beforeUS    int64
	window             int64 // points in the window
	first, last        time.Time
	lastPrice, before  float64
	lastProv, beforePv int32
	hasBefore          bool
}

// ScanSeries reads every pool (or PoolIDs) in two passes over the prices
// (the statistics, then the windows in sibling-group order) and gives fn
// each pool's points from its window's start (with the point in effect
// then) to its end, with the statistics of all its points, the pools of
// one cloud, instance type and resolution one after the other. Only one
// pool's points are held at a time, never the table's.
func (s *Store) ScanSeries(ctx context.Context, sc SeriesScan, fn func(PoolSeries) error) error {
	prov, err := s.provenanceSources(ctx)
	if err != nil {
		return err
	}
	filter := ""
	if sc.PoolIDs != nil {
		if len(sc.PoolIDs) == 0 {
			return nil
		}
		ids := make([]string, len(sc.PoolIDs))
		for i, id := range sc.PoolIDs {
			ids[i] = strconv.Itoa(int(id))
		}
		filter = "WHERE id IN (" + strings.Join(ids, ",") + ")"
	}
	daily, change, to := sc.DailyFrom.UTC(), sc.ChangeFrom.UTC(), sc.To.UTC()
	stats := map[int32]scanStats{}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(scanStatsSQL, filter), daily, change, to)
	if err != nil {
		return fmt.Errorf("scan series: statistics: %w", err)
	}
	for rows.Next() {
		var id int32
		var st scanStats
		var bUS sql.NullInt64
		var bPrice sql.NullFloat64
		var bProv sql.NullInt32
		if err := rows.Scan(&id, &st.count, &st.first, &st.last, &st.lastPrice, &st.lastProv, &bUS, &bPrice, &bProv, &st.window); err != nil {
			rows.Close()
			return fmt.Errorf("scan series: statistics: %w", err)
		}
		st.first, st.last = st.first.UTC(), st.last.UTC()
		st.hasBefore, st.beforeUS, st.before, st.beforePv = bUS.Valid, bUS.Int64, bPrice.Float64, bProv.Int32
		stats[id] = st
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fmt.Errorf("scan series: statistics: %w", err)
	}
	rows.Close()

	rows, err = s.db.QueryContext(ctx, fmt.Sprintf(scanWindowSQL, filter), daily, change, to)
	if err != nil {
		return fmt.Errorf("scan series: %w", err)
	}
	defer rows.Close()
	cur := PoolSeries{PoolID: -1}
	emit := func() error {
		if cur.PoolID < 0 {
			return nil
		}
		st, ok := stats[cur.PoolID]
		if !ok {
			return nil // no point at all
		}
		cur.Count, cur.First, cur.Last, cur.LastPrice, cur.Source = st.count, st.first, st.last, st.lastPrice, prov[st.lastProv].source
		return fn(cur)
	}
	for rows.Next() {
		var g int64
		var id int32
		var us sql.NullInt64
		var price sql.NullFloat64
		var pv sql.NullInt32
		if err := rows.Scan(&g, &id, &us, &price, &pv); err != nil {
			return fmt.Errorf("scan series: %w", err)
		}
		if id != cur.PoolID {
			if err := emit(); err != nil {
				return err
			}
			st := stats[id]
			// Sized once: growing it point by point was a fifth of what
			// a whole-market refit allocated.
			cur = PoolSeries{PoolID: id, Group: g, Points: make([]market.PricePoint, 0, st.window+1)}
			if st.hasBefore {
				p := prov[st.beforePv]
				cur.Points = append(cur.Points, market.PricePoint{Time: time.UnixMicro(st.beforeUS).UTC(), Price: st.before,
					Source: p.source, FetchedAt: p.fetched})
			}
		}
		if us.Valid {
			p := prov[pv.Int32]
			cur.Points = append(cur.Points, market.PricePoint{Time: time.UnixMicro(us.Int64).UTC(), Price: price.Float64,
				Source: p.source, FetchedAt: p.fetched})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan series: %w", err)
	}
	return emit()
}

type provRow struct {
	source  string
	fetched time.Time
}

// provenanceSources maps provenance ids to their source and fetch time.
func (s *Store) provenanceSources(ctx context.Context) (map[int32]provRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, source, fetched_at FROM provenance`)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	defer rows.Close()
	out := map[int32]provRow{}
	for rows.Next() {
		var id int32
		var p provRow
		if err := rows.Scan(&id, &p.source, &p.fetched); err != nil {
			return nil, fmt.Errorf("provenance: %w", err)
		}
		p.fetched = p.fetched.UTC()
		out[id] = p
	}
	return out, rows.Err()
}

// PoolCatalog lists every pool with its catalogue entry but without the
// price statistics Pools computes (which scan every price): what a server
// needs at start to name the pools of its persisted forecasts.
func (s *Store) PoolCatalog(ctx context.Context) ([]PoolInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.id, p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution,
	       c.cloud IS NOT NULL, `+catalogCols+`
	FROM pools p LEFT JOIN `+catalogSQL+` c ON c.cloud = p.cloud AND c.name = p.instance_type ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("pool catalogue: %w", err)
	}
	defer rows.Close()
	var out []PoolInfo
	for rows.Next() {
		var p PoolInfo
		var known bool
		var t nullType
		if err := rows.Scan(append([]any{&p.ID, &p.Cloud, &p.Region, &p.Zone, &p.InstanceType, &p.Product, &p.Resolution, &known},
			t.dest()...)...); err != nil {
			return nil, fmt.Errorf("pool catalogue: %w", err)
		}
		if known {
			p.Type = t.get()
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pool catalogue: %w", err)
	}
	return out, nil
}
