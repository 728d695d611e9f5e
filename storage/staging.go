package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// stagedTables are the tables staged column for column (all but run_id).
var stagedTables = []string{"advisor", "instance_types", "ondemand_prices", "placement_scores", "events", "capacity_signals", "zone_ids"}

// stagingTablesDDL declares the staging table of each of stagedTables
// with the real table's columns, read from the catalogue. They are not
// made with CREATE TABLE AS SELECT ... LIMIT 0: DuckDB (2.0) loses the
// rows of a table made that way once one transaction appends more than
// a row group (122,880 rows) to it: count(*) sees them, scans return
// none, and the import stored nothing of them without an error
// (TestImportManySmallRows).
func stagingTablesDDL(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT table_name, string_agg('"' || column_name || '" ' || data_type, ', ' ORDER BY column_index)
		FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = 'main' AND column_name <> 'run_id' AND list_contains(?::VARCHAR[], table_name)
		GROUP BY table_name ORDER BY table_name`, stagedTables)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	n := 0
	for rows.Next() {
		var table, cols string
		if err := rows.Scan(&table, &cols); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "CREATE OR REPLACE TEMP TABLE stage_%s (%s);\n", table, cols)
		n++
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if n != len(stagedTables) {
		return "", fmt.Errorf("staging tables: %d of %d tables found", n, len(stagedTables))
	}
	return b.String(), nil
}
