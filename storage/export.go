package storage

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ExportStats says what ExportParquet wrote.
type ExportStats struct {
	Files int   `json:"files"`
	Rows  int64 `json:"rows"`
}

// exportTables are written as one Parquet file each.
var exportTables = []string{"pools", "advisor", "instance_types", "ondemand_prices",
	"placement_scores", "events", "ingest_runs", "watermarks", "capacity_signals", "zone_ids"}

// ExportParquet writes the prices (joined with their pools and provenance)
// as Parquet partitioned by cloud/region/month under dir/prices (hive
// layout: dir/prices/cloud=aws/region=us-east-1/month=2021-03/*.parquet,
// replacing an earlier export there), plus the other tables as one Parquet
// file each (dir/advisor.parquet, ...). DuckDB, Spark and Trino read the
// layout as is, e.g. read_parquet('dir/prices/**/*.parquet',
// hive_partitioning = true).
func (s *Store) ExportParquet(ctx context.Context, dir string) (ExportStats, error) {
	var st ExportStats
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("export parquet: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return st, fmt.Errorf("export parquet: %w", err)
	}
	defer conn.Close()
	// One snapshot for every file, so the export is consistent while an
	// import runs.
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return st, fmt.Errorf("export parquet: %w", err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)

	pricesDir := filepath.Join(dir, "prices")
	res, err := conn.ExecContext(ctx, `COPY (
		SELECT p.cloud, p.region, strftime(x.ts, '%Y-%m') AS month,
		       p.zone, p.instance_type, p.product, p.resolution,
		       x.ts, x.price, x.open, x.high, x.low, x."close", v.source, v.fetched_at
		FROM prices x JOIN pools p ON p.id = x.pool_id JOIN provenance v ON v.id = x.prov_id
		ORDER BY p.cloud, p.region, month, p.zone, p.instance_type, p.product, x.ts)
		TO `+quote(pricesDir)+` (FORMAT parquet, PARTITION_BY (cloud, region, month), OVERWRITE)`)
	if err != nil {
		return st, fmt.Errorf("export parquet: prices: %w", err)
	}
	n, _ := res.RowsAffected()
	st.Rows += n
	err = filepath.WalkDir(pricesDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			st.Files++
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		return st, fmt.Errorf("export parquet: %w", err)
	}
	for _, t := range exportTables {
		res, err := conn.ExecContext(ctx, `COPY (SELECT * FROM `+t+`) TO `+
			quote(filepath.Join(dir, t+".parquet"))+` (FORMAT parquet)`)
		if err != nil {
			return st, fmt.Errorf("export parquet: %s: %w", t, err)
		}
		n, _ := res.RowsAffected()
		st.Rows += n
		st.Files++
	}
	return st, nil
}

// quote is a SQL string literal (COPY takes no parameter for its target).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
