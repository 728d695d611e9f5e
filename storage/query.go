package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// where collects AND-ed conditions with positional arguments.
type where struct {
	conds []string
	args  []any
}

// eq adds "col = v" when v is not empty.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// catalogSQL merges the instance catalogue across sources field by field:
// each field comes from the highest-ranked entry that has it, entries with
// a GPU model ranking first (a source that knows the GPU is the better
// description of a GPU type), then the newest.
const catalogSQL = `(
	WITH r AS (
		SELECT *, row_number() OVER (PARTITION BY cloud, name
			ORDER BY gpu_model <> '' DESC, fetched_at DESC, source) AS rk
		FROM instance_types)
	SELECT cloud, name,
		coalesce(arg_min(vcpu, rk) FILTER (WHERE vcpu > 0), 0) AS vcpu,
		coalesce(arg_min(memory_gib, rk) FILTER (WHERE memory_gib > 0), 0) AS memory_gib,
		coalesce(arg_min(arch, rk) FILTER (WHERE arch <> ''), '') AS arch,
		coalesce(arg_min(gpu_model, rk) FILTER (WHERE gpu_model <> ''), '') AS gpu_model,
		coalesce(arg_min(gpu_manufacturer, rk) FILTER (WHERE gpu_manufacturer <> ''), '') AS gpu_manufacturer,
		coalesce(arg_min(gpu_count, rk) FILTER (WHERE gpu_count > 0), 0) AS gpu_count,
		coalesce(arg_min(gpu_memory_gib, rk) FILTER (WHERE gpu_memory_gib > 0), 0) AS gpu_memory_gib,
		arg_min(source, rk) AS source,
		max(fetched_at) AS fetched_at
	FROM r GROUP BY cloud, name)`

const catalogCols = `c.cloud, c.name, c.vcpu, c.memory_gib, c.arch, c.gpu_model, c.gpu_manufacturer, c.gpu_count, c.gpu_memory_gib, c.source, c.fetched_at`

func scanType(sc interface{ Scan(...any) error }) (market.InstanceType, error) {
	var t market.InstanceType
	err := sc.Scan(&t.Cloud, &t.Name, &t.VCPU, &t.MemoryGiB, &t.Arch, &t.GPUModel, &t.GPUManufacturer,
		&t.GPUCount, &t.GPUMemoryGiB, &t.Source, &t.FetchedAt)
	t.FetchedAt = t.FetchedAt.UTC()
	return t, err
}

// PoolFilter selects pools; empty fields match anything.
type PoolFilter struct {
	Cloud, Region, Zone, InstanceType, Product string
	GPUModel                                   string  // case-insensitive substring, e.g. "A100"
	MinGPUMemoryGiB                            float64 // per GPU
	// Source keeps pools with a point from this source; a bare prefix
	// such as "file" matches every "file:NAME".
	Source string
	Limit  int // 0: no limit
}

// PoolInfo is a pool with its catalogue entry (zero if unknown).
type PoolInfo struct {
	market.Pool
	Type market.InstanceType `json:"-"`
}

// poolWhere is the SQL condition (on pools p) selecting f's pools.
func poolWhere(f PoolFilter) *where {
	w := &where{}
	w.eq("p.cloud", f.Cloud)
	w.eq("p.region", f.Region)
	w.eq("p.zone", f.Zone)
	w.eq("p.instance_type", f.InstanceType)
	w.eq("p.product", f.Product)
	if f.GPUModel != "" || f.MinGPUMemoryGiB > 0 {
		cond := "p.instance_type IN (SELECT name FROM " + catalogSQL + " c WHERE c.cloud = p.cloud"
		var args []any
		if f.GPUModel != "" {
			cond += " AND c.gpu_model ILIKE ?"
			args = append(args, "%"+f.GPUModel+"%")
		}
		if f.MinGPUMemoryGiB > 0 {
			cond += " AND c.gpu_memory_gib >= ?"
			args = append(args, f.MinGPUMemoryGiB)
		}
		w.add(cond+")", args...)
	}
	if f.Source != "" {
		// "file" matches every "file:NAME" source.
		w.add(`p.id IN (SELECT x.pool_id FROM prices x WHERE x.prov_id IN
			(SELECT id FROM provenance WHERE source = ? OR starts_with(source, ? || ':')))`, f.Source, f.Source)
	}
	return w
}

// Pools lists pools matching f with their point counts, span and last
// price, ordered by cloud, region, zone, instance type, product and
// resolution. Source is the source of the pool's newest point.
func (s *Store) Pools(ctx context.Context, f PoolFilter) ([]PoolInfo, error) {
	w := poolWhere(f)
	q := `WITH sel AS (SELECT * FROM pools p WHERE ` + w.sql() + `),
	st AS (
		SELECT pool_id, count(*) AS n, min(ts) AS first, max(ts) AS last,
		       arg_max(price, ts) AS last_price, arg_max(prov_id, ts) AS prov
		FROM prices WHERE pool_id IN (SELECT id FROM sel) GROUP BY pool_id)
	SELECT p.id, p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution,
	       coalesce(st.n, 0), st.first, st.last, coalesce(st.last_price, 0), coalesce(v.source, ''),
	       c.cloud IS NOT NULL, ` + catalogCols + `
	FROM sel p
	LEFT JOIN st ON st.pool_id = p.id
	LEFT JOIN provenance v ON v.id = st.prov
	LEFT JOIN ` + catalogSQL + ` c ON c.cloud = p.cloud AND c.name = p.instance_type
	ORDER BY p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	defer rows.Close()
	var out []PoolInfo
	for rows.Next() {
		var p PoolInfo
		var first, last sql.NullTime
		var known bool
		var t nullType
		err := rows.Scan(append([]any{&p.ID, &p.Cloud, &p.Region, &p.Zone, &p.InstanceType, &p.Product, &p.Resolution,
			&p.Points, &first, &last, &p.LastPrice, &p.Source, &known}, t.dest()...)...)
		if err != nil {
			return nil, fmt.Errorf("list pools: %w", err)
		}
		p.First, p.Last = first.Time.UTC(), last.Time.UTC()
		if !first.Valid {
			p.First, p.Last = time.Time{}, time.Time{}
		}
		if known {
			p.Type = t.get()
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return out, nil
}

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

// LatestPrices returns the newest point of every pool matching f, ordered
// like Pools.
func (s *Store) LatestPrices(ctx context.Context, f PoolFilter) ([]market.PricePoint, error) {
	w := poolWhere(f)
	q := `WITH sel AS (SELECT * FROM pools p WHERE ` + w.sql() + `),
	latest AS (
		SELECT pool_id, max(ts) AS ts, arg_max(price, ts) AS price, arg_max(open, ts) AS open,
		       arg_max(high, ts) AS high, arg_max(low, ts) AS low, arg_max("close", ts) AS "close",
		       arg_max(prov_id, ts) AS prov
		FROM prices WHERE pool_id IN (SELECT id FROM sel) GROUP BY pool_id)
	SELECT p.cloud, p.region, p.zone, p.instance_type, p.product,
	       l.ts, l.price, l.open, l.high, l.low, l."close", v.source, v.fetched_at
	FROM sel p JOIN latest l ON l.pool_id = p.id JOIN provenance v ON v.id = l.prov
	ORDER BY p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("latest prices: %w", err)
	}
	defer rows.Close()
	var out []market.PricePoint
	for rows.Next() {
		var p market.PricePoint
		var o, h, l, c sql.NullFloat64
		k := &p.Pool
		if err := rows.Scan(&k.Cloud, &k.Region, &k.Zone, &k.InstanceType, &k.Product,
			&p.Time, &p.Price, &o, &h, &l, &c, &p.Source, &p.FetchedAt); err != nil {
			return nil, fmt.Errorf("latest prices: %w", err)
		}
		p.Time, p.FetchedAt = p.Time.UTC(), p.FetchedAt.UTC()
		if o.Valid {
			p.HasBar, p.Bar = true, market.Bar{Open: o.Float64, High: h.Float64, Low: l.Float64, Close: c.Float64}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest prices: %w", err)
	}
	return out, nil
}

// Advisor returns the newest advisor row for the type in the region/OS
// at or before at (zero at: newest); ErrNotFound if none. OS "" matches
// any OS, preferring Linux.
func (s *Store) Advisor(ctx context.Context, region, os, instanceType string, at time.Time) (market.AdvisorRow, error) {
	w := &where{}
	w.add("region = ?", region)
	w.add("instance_type = ?", instanceType)
	w.eq("os", os)
	if !at.IsZero() {
		w.add("snapshot <= ?::DATE", dateOf(at))
	}
	var a market.AdvisorRow
	err := s.db.QueryRowContext(ctx, `SELECT region, os, instance_type, bucket, savings_pct, snapshot, source, fetched_at
		FROM advisor WHERE `+w.sql()+` ORDER BY snapshot DESC, os = 'Linux' DESC, os LIMIT 1`, w.args...).
		Scan(&a.Region, &a.OS, &a.InstanceType, &a.Bucket, &a.SavingsPct, &a.Snapshot, &a.Source, &a.FetchedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("advisor %s %s %s: %w", region, os, instanceType, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("advisor %s %s %s: %w", region, os, instanceType, err)
	}
	a.Snapshot, a.FetchedAt = a.Snapshot.UTC(), a.FetchedAt.UTC()
	return a, nil
}

// AdvisorRows lists the advisor rows of a region ("" all) from the newest
// snapshot at or before at (zero: the newest snapshot of each region).
func (s *Store) AdvisorRows(ctx context.Context, region string, at time.Time) ([]market.AdvisorRow, error) {
	w := &where{}
	w.eq("region", region)
	if !at.IsZero() {
		w.add("snapshot <= ?::DATE", dateOf(at))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT region, os, instance_type, bucket, savings_pct, snapshot, source, fetched_at
		FROM advisor WHERE `+w.sql()+`
		QUALIFY snapshot = max(snapshot) OVER (PARTITION BY region)
		ORDER BY region, os, instance_type`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("advisor rows %s: %w", region, err)
	}
	defer rows.Close()
	var out []market.AdvisorRow
	for rows.Next() {
		var a market.AdvisorRow
		if err := rows.Scan(&a.Region, &a.OS, &a.InstanceType, &a.Bucket, &a.SavingsPct, &a.Snapshot, &a.Source, &a.FetchedAt); err != nil {
			return nil, fmt.Errorf("advisor rows %s: %w", region, err)
		}
		a.Snapshot, a.FetchedAt = a.Snapshot.UTC(), a.FetchedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("advisor rows %s: %w", region, err)
	}
	return out, nil
}

// InstanceType returns the catalogue entry, merged across sources field by
// field (entries that name a GPU model first, then the newest);
// ErrNotFound if none.
func (s *Store) InstanceType(ctx context.Context, cloud, name string) (market.InstanceType, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+catalogCols+` FROM `+catalogSQL+` c WHERE c.cloud = ? AND c.name = ?`, cloud, name)
	t, err := scanType(row)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("instance type %s/%s: %w", cloud, name, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("instance type %s/%s: %w", cloud, name, err)
	}
	return t, nil
}

// InstanceTypes lists catalogue entries of a cloud ("" all), merged like
// InstanceType, ordered by cloud and name.
func (s *Store) InstanceTypes(ctx context.Context, cloud string) ([]market.InstanceType, error) {
	w := &where{}
	w.eq("c.cloud", cloud)
	rows, err := s.db.QueryContext(ctx, `SELECT `+catalogCols+` FROM `+catalogSQL+` c WHERE `+w.sql()+` ORDER BY c.cloud, c.name`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("instance types %s: %w", cloud, err)
	}
	defer rows.Close()
	var out []market.InstanceType
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			return nil, fmt.Errorf("instance types %s: %w", cloud, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("instance types %s: %w", cloud, err)
	}
	return out, nil
}

// OnDemand returns the on-demand price in effect at at (zero: newest):
// the newest price dated at or before at. Product "" matches any product,
// preferring Linux. ErrNotFound if none.
func (s *Store) OnDemand(ctx context.Context, cloud, region, instanceType, product string, at time.Time) (market.OnDemandPrice, error) {
	w := &where{}
	w.add("cloud = ?", cloud)
	w.add("region = ?", region)
	w.add("instance_type = ?", instanceType)
	// A price stored without a product (a catalogue's list price, GCP and
	// Azure, which have none) stands for any product; one stored for the
	// product asked wins over it.
	if product != "" {
		w.add("(product = ? OR product = '')", product)
	}
	if !at.IsZero() {
		w.add("date <= ?::DATE", dateOf(at))
	}
	var o market.OnDemandPrice
	err := s.db.QueryRowContext(ctx, `SELECT cloud, region, instance_type, product, date, price, source, fetched_at
		FROM ondemand_prices WHERE `+w.sql()+`
		ORDER BY product = ? DESC, (product ILIKE 'linux%' OR product = '') DESC, date DESC, product LIMIT 1`, append(w.args, product)...).
		Scan(&o.Cloud, &o.Region, &o.InstanceType, &o.Product, &o.Date, &o.Price, &o.Source, &o.FetchedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("on-demand price %s/%s/%s: %w", cloud, region, instanceType, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("on-demand price %s/%s/%s: %w", cloud, region, instanceType, err)
	}
	o.Date, o.FetchedAt = o.Date.UTC(), o.FetchedAt.UTC()
	return o, nil
}

// EventFilter selects events; empty fields match anything. From is
// inclusive, To exclusive.
type EventFilter struct {
	Cloud, Region, Zone, InstanceType, Kind string
	From, To                                time.Time
}

// Events returns matching events in time order.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]market.Event, error) {
	w := &where{}
	w.eq("cloud", f.Cloud)
	w.eq("region", f.Region)
	w.eq("zone", f.Zone)
	w.eq("instance_type", f.InstanceType)
	w.eq("kind", f.Kind)
	if !f.From.IsZero() {
		w.add("ts >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		w.add("ts < ?", f.To.UTC())
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, cloud, region, zone, instance_type, instance_id, kind, count, event_id, source, fetched_at
		FROM events WHERE `+w.sql()+` ORDER BY ts, cloud, region, zone, instance_type, instance_id, kind, event_id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []market.Event
	for rows.Next() {
		var e market.Event
		if err := rows.Scan(&e.Time, &e.Cloud, &e.Region, &e.Zone, &e.InstanceType, &e.InstanceID, &e.Kind,
			&e.Count, &e.EventID, &e.Source, &e.FetchedAt); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		e.Time, e.FetchedAt = e.Time.UTC(), e.FetchedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// PlacementScores returns the newest score per (region, zone, request)
// for requests that include instanceType ("" any), in a region ("" any),
// ordered by region, zone and request.
func (s *Store) PlacementScores(ctx context.Context, region, instanceType string) ([]market.PlacementScore, error) {
	w := &where{}
	w.eq("region", region)
	if instanceType != "" {
		w.add("list_contains(string_split(instance_types, ','), ?)", instanceType)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT region, zone, instance_types, requirements, target_capacity, capacity_unit, score, ts, source, fetched_at,
		       coalesce(scale_max, 10)
		FROM placement_scores WHERE `+w.sql()+`
		QUALIFY row_number() OVER (PARTITION BY region, zone, instance_types, requirements, target_capacity, capacity_unit ORDER BY ts DESC) = 1
		ORDER BY region, zone, instance_types, requirements, target_capacity, capacity_unit`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("placement scores: %w", err)
	}
	defer rows.Close()
	var out []market.PlacementScore
	for rows.Next() {
		var p market.PlacementScore
		var types string
		if err := rows.Scan(&p.Region, &p.Zone, &types, &p.Requirements, &p.TargetCapacity, &p.CapacityUnit,
			&p.Score, &p.Time, &p.Source, &p.FetchedAt, &p.ScaleMax); err != nil {
			return nil, fmt.Errorf("placement scores: %w", err)
		}
		if types != "" {
			p.InstanceTypes = strings.Split(types, ",")
		}
		p.Time, p.FetchedAt = p.Time.UTC(), p.FetchedAt.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("placement scores: %w", err)
	}
	return out, nil
}

// IngestRun is a row of ingest_runs.
type IngestRun struct {
	ID int64
	RunInfo
	Started    time.Time
	Finished   time.Time
	RowsStored int64
	RowsAdded  int64
	Tables     string // JSON of the per-table ImportStats
}

// IngestRuns returns the newest runs first (limit <= 0: all).
func (s *Store) IngestRuns(ctx context.Context, limit int) ([]IngestRun, error) {
	q := `SELECT id, kind, source, path, format, sha256, started, finished, rows_stored,
		coalesce(rows_added, 0), coalesce(tables, '{}') FROM ingest_runs ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ingest runs: %w", err)
	}
	defer rows.Close()
	var out []IngestRun
	for rows.Next() {
		var r IngestRun
		if err := rows.Scan(&r.ID, &r.Kind, &r.Source, &r.Path, &r.Format, &r.SHA256, &r.Started, &r.Finished,
			&r.RowsStored, &r.RowsAdded, &r.Tables); err != nil {
			return nil, fmt.Errorf("ingest runs: %w", err)
		}
		r.Started, r.Finished = r.Started.UTC(), r.Finished.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ingest runs: %w", err)
	}
	return out, nil
}

// SourceFreshness is the newest data point and newest successful ingest
// per source.
type SourceFreshness struct {
	Source      string
	LastIngest  time.Time // newest fetch time of the source's rows
	NewestPoint time.Time // newest time the data speaks of
	Rows        int64
}

// Freshness lists every source's freshness over all tables, by source.
func (s *Store) Freshness(ctx context.Context) ([]SourceFreshness, error) {
	rows, err := s.db.QueryContext(ctx, `
	WITH f AS (
		SELECT v.source, max(v.fetched_at) AS fetched, max(x.ts) AS newest, count(*) AS n
		FROM prices x JOIN provenance v ON v.id = x.prov_id GROUP BY v.source
		UNION ALL SELECT source, max(fetched_at), max(snapshot)::TIMESTAMP, count(*) FROM advisor GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(fetched_at), count(*) FROM instance_types GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(date)::TIMESTAMP, count(*) FROM ondemand_prices GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(ts), count(*) FROM placement_scores GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(ts), count(*) FROM events GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(ts), count(*) FROM capacity_signals GROUP BY source
		UNION ALL SELECT source, max(fetched_at), max(fetched_at), count(*) FROM zone_ids GROUP BY source)
	SELECT source, max(fetched), max(newest), sum(n)::BIGINT FROM f GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("freshness: %w", err)
	}
	defer rows.Close()
	var out []SourceFreshness
	for rows.Next() {
		var f SourceFreshness
		if err := rows.Scan(&f.Source, &f.LastIngest, &f.NewestPoint, &f.Rows); err != nil {
			return nil, fmt.Errorf("freshness: %w", err)
		}
		f.LastIngest, f.NewestPoint = f.LastIngest.UTC(), f.NewestPoint.UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("freshness: %w", err)
	}
	return out, nil
}

// nullType scans the instance_types columns of a LEFT JOIN, which are NULL
// for a pool whose type the catalogue does not know.
type nullType struct {
	cloud, name, arch, model, manu, source sql.NullString
	vcpu, count                            sql.NullInt64
	mem, gmem                              sql.NullFloat64
	fetched                                sql.NullTime
}

// dest are the scan destinations, in the columns' order (cloud, name,
// vcpu, memory, arch, GPU model, manufacturer, count, GPU memory, source,
// fetched_at).
func (t *nullType) dest() []any {
	return []any{&t.cloud, &t.name, &t.vcpu, &t.mem, &t.arch, &t.model, &t.manu, &t.count, &t.gmem, &t.source, &t.fetched}
}

func (t *nullType) get() market.InstanceType {
	return market.InstanceType{Cloud: t.cloud.String, Name: t.name.String, VCPU: int(t.vcpu.Int64),
		MemoryGiB: t.mem.Float64, Arch: t.arch.String, GPUModel: t.model.String,
		GPUManufacturer: t.manu.String, GPUCount: int(t.count.Int64), GPUMemoryGiB: t.gmem.Float64,
		Source: t.source.String, FetchedAt: t.fetched.Time.UTC()}
}
