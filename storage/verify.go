package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrNeedsRepair: a store opened read-only holds rows no committed import
// owns; a read-write open (or `spotcast verify --repair`) removes them.
var ErrNeedsRepair = errors.New("store needs repair")

// InterruptedImport is an import that started and neither committed nor
// rolled back: its process died.
type InterruptedImport struct {
	RunID   int64     `json:"run_id"`
	Path    string    `json:"path"`
	Started time.Time `json:"started"`
	PID     int       `json:"pid"`
}

// VerifyReport is what Verify found and did.
type VerifyReport struct {
	DB string `json:"db"`
	// Orphans counts, per table, the rows that no committed import owns:
	// prices whose provenance or pool is missing or whose provenance
	// belongs to no committed run; provenance of no committed run; pools
	// with no owned price left; rows of the other tables whose run_id is
	// no committed run. They are what a crash during COMMIT can leave.
	Orphans map[string]int64 `json:"orphans"`
	// Interrupted lists imports whose process died mid-import.
	Interrupted []InterruptedImport `json:"interrupted"`
	// Repaired: the orphans were removed and the interrupted imports
	// cleared, in one transaction.
	Repaired bool `json:"repaired"`
	// Reason says why the check ran when it ran on open.
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds"`
}

// OrphanRows sums Orphans.
func (r VerifyReport) OrphanRows() int64 {
	var n int64
	for _, v := range r.Orphans {
		n += v
	}
	return n
}

// Clean reports whether the store holds nothing to repair.
func (r VerifyReport) Clean() bool { return r.OrphanRows() == 0 && len(r.Interrupted) == 0 }

// String is a one-line summary.
func (r VerifyReport) String() string {
	if r.Clean() {
		return fmt.Sprintf("store %s: no orphaned rows, no interrupted import", r.DB)
	}
	var parts []string
	for _, t := range orphanOrder {
		if n := r.Orphans[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	s := fmt.Sprintf("store %s: %d interrupted import(s), orphaned rows: ", r.DB, len(r.Interrupted))
	if len(parts) == 0 {
		s += "none"
	} else {
		s += strings.Join(parts, ", ")
	}
	if r.Repaired {
		s += "; removed"
	}
	return s
}

// committedProv is the provenance ids some committed run owns.
const committedProv = `(SELECT v.id FROM provenance v WHERE v.run_id IN (SELECT id FROM ingest_runs))`

// orphanWhere is, per table, the condition that makes a row an orphan.
// Pools are checked after prices: a pool is an orphan when no owned price
// refers to it (every pool is created with its first prices).
var orphanWhere = map[string]string{
	"prices":           `prov_id NOT IN ` + committedProv + ` OR pool_id NOT IN (SELECT id FROM pools)`,
	"provenance":       `run_id NOT IN (SELECT id FROM ingest_runs)`,
	"advisor":          `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"instance_types":   `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"ondemand_prices":  `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"placement_scores": `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"events":           `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"capacity_signals": `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"zone_ids":         `run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM ingest_runs)`,
	"pools":            `id NOT IN (SELECT DISTINCT pool_id FROM prices WHERE prov_id IN ` + committedProv + `)`,
}

// orphanOrder is the order rows are removed in: prices before the
// provenance and pools they point at.
var orphanOrder = []string{"prices", "advisor", "instance_types", "ondemand_prices", "placement_scores", "events",
	"capacity_signals", "zone_ids", "provenance", "pools"}

// Verify checks that every row belongs to a committed import and lists
// interrupted imports. With repair it removes the orphans and clears the
// interrupted imports in one transaction, then checkpoints, so the store
// holds exactly what committed imports wrote.
func (s *Store) Verify(ctx context.Context, repair bool) (VerifyReport, error) {
	start := time.Now()
	rep := VerifyReport{DB: s.name(), Orphans: map[string]int64{}}
	if repair && s.readOnly {
		return rep, fmt.Errorf("repair %s: %w", s.name(), ErrReadOnly)
	}
	s.importMu.Lock()
	defer s.importMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify %s: %w", s.name(), err)
	}
	defer conn.Close()

	rows, err := conn.QueryContext(ctx, `SELECT run_id, path, started, pid FROM import_journal ORDER BY run_id`)
	if err != nil {
		return rep, fmt.Errorf("verify %s: read import journal: %w", s.name(), err)
	}
	for rows.Next() {
		var in InterruptedImport
		if err := rows.Scan(&in.RunID, &in.Path, &in.Started, &in.PID); err != nil {
			rows.Close()
			return rep, fmt.Errorf("verify %s: %w", s.name(), err)
		}
		in.Started = in.Started.UTC()
		rep.Interrupted = append(rep.Interrupted, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify %s: %w", s.name(), err)
	}

	var q strings.Builder
	q.WriteString("SELECT ")
	for i, t := range orphanOrder {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(SELECT count(*) FROM %s WHERE %s)", t, orphanWhere[t])
	}
	vals := make([]int64, len(orphanOrder))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := conn.QueryRowContext(ctx, q.String()).Scan(ptrs...); err != nil {
		return rep, fmt.Errorf("verify %s: count orphans: %w", s.name(), err)
	}
	for i, t := range orphanOrder {
		rep.Orphans[t] = vals[i]
	}
	if !repair || rep.Clean() {
		rep.Seconds = time.Since(start).Seconds()
		return rep, nil
	}

	// Repair: one transaction, so a crash here leaves the orphans for the
	// next check rather than half of them.
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return rep, fmt.Errorf("repair %s: %w", s.name(), err)
	}
	for _, t := range orphanOrder {
		if rep.Orphans[t] == 0 {
			continue
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s`, t, orphanWhere[t])); err != nil {
			conn.ExecContext(context.Background(), `ROLLBACK`)
			return rep, fmt.Errorf("repair %s: remove orphaned %s: %w", s.name(), t, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM import_journal`); err != nil {
		conn.ExecContext(context.Background(), `ROLLBACK`)
		return rep, fmt.Errorf("repair %s: clear import journal: %w", s.name(), err)
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), `COMMIT`); err != nil {
		return rep, fmt.Errorf("repair %s: commit: %w", s.name(), err)
	}
	rep.Repaired = true
	// The pool-id cache may hold pools just removed.
	s.pools = nil
	if s.path != "" {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `CHECKPOINT`); err != nil {
			return rep, fmt.Errorf("repair %s: checkpoint: %w", s.name(), err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// walPending reports whether path's write-ahead log holds anything: a
// clean Close checkpoints and leaves none, so a non-empty one means the
// last writer did not close cleanly.
func walPending(path string) bool {
	fi, err := os.Stat(path + ".wal")
	return err == nil && fi.Size() > 0
}

// recoverOnOpen runs the integrity check when the last writer did not
// close cleanly (a WAL left behind, or an import in the journal); a clean
// open costs one small query. Read-write, it repairs; read-only, a store
// with orphans is refused with ErrNeedsRepair.
func (s *Store) recoverOnOpen(ctx context.Context, walLeft bool) error {
	var pending int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM import_journal`).Scan(&pending); err != nil {
		return fmt.Errorf("store %s: read import journal: %w", s.name(), err)
	}
	if !walLeft && pending == 0 {
		return nil
	}
	rep, err := s.Verify(ctx, !s.readOnly)
	if err != nil {
		return err
	}
	if walLeft {
		rep.Reason = "the last writer did not close the store (its write-ahead log was left)"
	}
	if pending > 0 {
		rep.Reason = fmt.Sprintf("%d import(s) were interrupted", pending)
	}
	s.recovery = &rep
	if s.readOnly && rep.OrphanRows() > 0 {
		return fmt.Errorf("%s (%s): run `spotcast verify --repair --db %s`, or any command that writes, to remove them: %w",
			rep, rep.Reason, s.name(), ErrNeedsRepair)
	}
	return nil
}

// Recovery is the integrity check Open ran because the store was not
// closed cleanly (nil if it was).
func (s *Store) Recovery() *VerifyReport { return s.recovery }
