package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcast/spotcast/market"
)

// tearStore writes what a crash during COMMIT can leave behind: rows of
// an import no ingest_runs row owns, in every table that can hold them,
// and that import's journal entry.
func tearStore(t *testing.T, s *Store) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO import_journal VALUES (7, '/data/big.csv', TIMESTAMP '2026-01-02 03:04:05', 4242)`,
		`INSERT INTO provenance VALUES (50, 7, 'file:big.csv', TIMESTAMP '2026-01-02 03:04:05')`,
		// Prices of a provenance no run owns, and of a pool and provenance
		// that are both missing.
		`INSERT INTO prices (pool_id, ts, price, prov_id) VALUES (1, TIMESTAMP '2021-03-05 00:00:00', 1.5, 50), (99, TIMESTAMP '2021-03-05 00:00:00', 2.5, 51)`,
		`INSERT INTO pools VALUES (98, 'aws', 'us-west-2', 'us-west-2a', 'm5.large', 'Linux/UNIX', 'change')`,
		`INSERT INTO events (ts, cloud, region, zone, instance_type, instance_id, kind, count, event_id, source, fetched_at, run_id)
			VALUES (TIMESTAMP '2021-03-05 00:00:00', 'aws', 'us-east-1', 'us-east-1a', 'p3.2xlarge', 'i-1', 'interruption', 1, 'e1', 'file:big.csv', TIMESTAMP '2026-01-02 03:04:05', 7)`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestVerifyFindsAndRepairsOrphans(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	k := zoneKey("us-east-1a", "m5.large")
	if _, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 0, 1), pt(k, 1, 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, RunInfo{Source: "events"}, func(w *Writer) error {
		return w.AddEvent(market.Event{Time: t0, Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", InstanceID: "i-0", Kind: "interruption", Count: 1, EventID: "e0"})
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Verify(ctx, false)
	if err != nil || !rep.Clean() {
		t.Fatalf("clean store: %+v, %v", rep, err)
	}
	tearStore(t, s)

	rep, err = s.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"prices": 2, "provenance": 1, "pools": 1, "events": 1}
	for table, n := range want {
		if rep.Orphans[table] != n {
			t.Errorf("orphaned %s = %d, want %d (%+v)", table, rep.Orphans[table], n, rep.Orphans)
		}
	}
	if rep.OrphanRows() != 5 || len(rep.Interrupted) != 1 || rep.Interrupted[0].Path != "/data/big.csv" || rep.Repaired {
		t.Errorf("report = %+v", rep)
	}
	if c := counts(t, s); c["prices"] != 4 {
		t.Errorf("verify without repair changed the store: %v", c)
	}

	rep, err = s.Verify(ctx, true)
	if err != nil || !rep.Repaired {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	if c := counts(t, s); c["prices"] != 2 || c["pools"] != 1 || c["events"] != 1 || c["ingest_runs"] != 2 {
		t.Errorf("counts after repair = %v", c)
	}
	if rep, err := s.Verify(ctx, false); err != nil || !rep.Clean() {
		t.Errorf("after repair: %+v, %v", rep, err)
	}
	// The ids the orphans held are free again and the next import works.
	st, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(zoneKey("us-west-2a", "m5.large"), 0, 3)))
	if err != nil || st.Stored() != 1 || st.RunID != 3 {
		t.Errorf("import after repair: %+v, %v", st, err)
	}
}

// TestOpenRepairsAfterInterruptedImport: a store whose journal lists an
// interrupted import is checked on open: read-only it is refused with
// ErrNeedsRepair, read-write it is repaired and says so.
func TestOpenRepairsAfterInterruptedImport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "torn.duckdb")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := zoneKey("us-east-1a", "m5.large")
	if _, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 0, 1))); err != nil {
		t.Fatal(err)
	}
	if s.Recovery() != nil {
		t.Errorf("a new store ran recovery: %+v", s.Recovery())
	}
	tearStore(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := Open(ctx, path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsRepair) {
		t.Fatalf("read-only open of a torn store: %v, want ErrNeedsRepair", err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Recovery()
	if r == nil || !r.Repaired || r.OrphanRows() != 5 || r.Reason == "" {
		t.Fatalf("recovery = %+v", r)
	}
	if c := counts(t, s); c["prices"] != 1 || c["pools"] != 1 {
		t.Errorf("counts after recovery = %v", c)
	}
	s.Close()
	// Closed cleanly: the next open does not check again.
	s, err = Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Recovery() != nil {
		t.Errorf("clean open ran recovery: %+v", s.Recovery())
	}
}

// TestTextBounds: over-long, non-UTF-8 or NUL-holding text is a row error
// (ErrInvalidRow) on every table, whatever path the row came by.
func TestTextBounds(t *testing.T) {
	s := openMem(t)
	ev := market.Event{Time: t0, Cloud: "aws", Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge",
		InstanceID: "i-0", Kind: "interruption", Count: 1}
	for _, id := range []string{strings.Repeat("x", MaxText+1), "e\xff", "e\x00"} {
		e := ev
		e.EventID = id
		_, err := s.Import(context.Background(), RunInfo{Source: "test"}, func(w *Writer) error { return w.AddEvent(e) })
		if !errors.Is(err, ErrInvalidRow) || !strings.Contains(err.Error(), "event_id") {
			t.Errorf("event id %.20q: err = %v, want ErrInvalidRow naming event_id", id, err)
		}
	}
	p := pt(zoneKey("us-east-1a", "m5.large"), 0, 1e308)
	if _, err := s.Import(context.Background(), RunInfo{Source: "test"}, addAll(p)); !errors.Is(err, ErrInvalidRow) {
		t.Errorf("price 1e308: err = %v, want ErrInvalidRow", err)
	}
	if c := counts(t, s); c["events"] != 0 || c["prices"] != 0 {
		t.Errorf("stored %v", c)
	}
}
