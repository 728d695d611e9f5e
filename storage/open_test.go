package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helper process: tests re-exec the test binary with helperEnv set so
// a second process can hold the store's lock or be killed mid-import.
const helperEnv = "SPOTCAST_STORAGE_HELPER"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for other tests")
	}
	path := os.Getenv("SPOTCAST_STORAGE_PATH")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	switch mode {
	case "hold":
		// Hold the lock until the parent closes our stdin.
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		s.Close()
		os.Exit(0)
	case "kill-mid-fill", "kill-after-merge", "kill-after-commit":
		n, _ := strconv.Atoi(os.Getenv("SPOTCAST_STORAGE_ROWS"))
		pts := syntheticPrices(n, 3000)
		importHook = func(phase string) {
			if (mode == "kill-after-merge" && phase == "merged") || (mode == "kill-after-commit" && phase == "committed") {
				fmt.Println("ready")
				time.Sleep(time.Minute) // the parent kills us here
			}
		}
		_, err := s.Import(ctx, RunInfo{Source: "file:synthetic.csv"}, func(w *Writer) error {
			for i, p := range pts {
				if mode == "kill-mid-fill" && i == n/2 {
					fmt.Println("ready")
					time.Sleep(50 * time.Millisecond)
				}
				if err := w.AddPrice(p); err != nil {
					return err
				}
			}
			return nil
		})
		fmt.Println("import finished:", err)
		time.Sleep(time.Minute)
	}
	os.Exit(3)
}

// helper starts the test binary as a helper in mode on path and waits for
// it to say "ready". The returned stop ends it (closing stdin, then
// killing if needed).
func helper(t *testing.T, mode, path string, env ...string) (pid int, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode, "SPOTCAST_STORAGE_PATH="+path)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			stdin.Close()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %s said %q (%v)", mode, line, err)
	}
	return cmd.Process.Pid, kill
}

func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	pid, stop := helper(t, "hold", path)
	ctx := context.Background()
	for _, ro := range []bool{false, true} {
		_, err := Open(ctx, path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("read-only %v: err = %v, want ErrLocked", ro, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
		if got := LockHolderPID(err); got != pid {
			t.Errorf("holder PID = %d, want %d (%v)", got, pid, err)
		}
	}
	stop()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("open after the holder exited: %v", err)
	}
	s.Close()
}

func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	old, err := open(ctx, path, Options{Now: fixedClock()}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A v1 import run: v1 has no rows_added/tables columns.
	if _, err := old.db.Exec(`INSERT INTO ingest_runs VALUES (1, 'file', 'file:a.csv', '/a.csv', 'csv', '', now()::TIMESTAMP, now()::TIMESTAMP, 5)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.db.Exec(`SELECT rows_added FROM ingest_runs`); err == nil {
		t.Fatal("v1 store already has rows_added")
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	// Read-only cannot upgrade.
	if _, err := Open(ctx, path, Options{ReadOnly: true}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only open of a v1 store: err = %v, want ErrReadOnly", err)
	}

	s, err := Open(ctx, path, Options{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.schemaVersion(ctx); err != nil || v != SchemaVersion || SchemaVersion < 2 {
		t.Fatalf("version after upgrade = %d (%v), want %d >= 2", v, err, SchemaVersion)
	}
	runs, err := s.IngestRuns(ctx, 0)
	if err != nil || len(runs) != 1 || runs[0].RowsStored != 5 || runs[0].RowsAdded != 0 || runs[0].Tables != "{}" {
		t.Fatalf("runs after upgrade = %+v, %v", runs, err)
	}
	// The upgraded store takes imports, which fill the new columns.
	st, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(zoneKey("us-east-1a", "m5.large"), 0, 1), pt(zoneKey("us-east-1a", "m5.large"), 0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = s.IngestRuns(ctx, 1)
	if st.RunID != 2 || runs[0].RowsAdded != 2 || runs[0].RowsStored != 1 || !strings.Contains(runs[0].Tables, `"prices":{"added":2,"stored":1}`) {
		t.Errorf("run after upgrade = %+v", runs[0])
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.duckdb")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_version VALUES (99, now()::TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, ro := range []bool{false, true} {
		_, err = Open(ctx, path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("err = %v, want ErrNewerSchema", err)
		}
		for _, want := range []string{path, "99", strconv.Itoa(SchemaVersion)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
}

func TestReopenAndReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "spotcast.duckdb")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := zoneKey("us-east-1a", "m5.large")
	if _, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 0, 1), pt(k, 1, 2))); err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("path = %q", s.Path())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := counts(t, ro); c["prices"] != 2 || c["pools"] != 1 {
		t.Errorf("read-only counts = %v", c)
	}
	if _, err := ro.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 2, 3))); !errors.Is(err, ErrReadOnly) {
		t.Errorf("import into read-only store: err = %v", err)
	}
	ro.Close()

	// Reopened read-write, pool ids continue where they were.
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k2 := zoneKey("us-east-1b", "m5.large")
	st, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 1, 2), pt(k, 2, 3), pt(k2, 0, 1)))
	if err != nil || st.Stored() != 2 {
		t.Fatalf("import after reopen: %+v %v", st, err)
	}
	pools, err := s.Pools(ctx, PoolFilter{})
	if err != nil || len(pools) != 2 || pools[0].ID != 1 || pools[1].ID != 2 {
		t.Errorf("pools = %+v, %v", pools, err)
	}
}

// TestKillDuringImport kills (SIGKILL) a process in the middle of a large
// import at three points; the store must open with none or all of that
// import, and re-running the import must complete.
func TestKillDuringImport(t *testing.T) {
	const rows = 300_000
	for _, tc := range []struct {
		mode string
		want int64 // prices after reopening
	}{
		{"kill-mid-fill", 0},
		{"kill-after-merge", 0},
		{"kill-after-commit", rows},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "crash.duckdb")
			// An earlier import that must survive.
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			k := zoneKey("eu-west-1a", "m5.large")
			if _, err := s.Import(ctx, RunInfo{Source: "test"}, addAll(pt(k, 0, 1))); err != nil {
				t.Fatal(err)
			}
			s.Close()

			pid, _ := helper(t, tc.mode, path, "SPOTCAST_STORAGE_ROWS="+strconv.Itoa(rows))
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			// Wait until the OS has released the lock.
			var reopened *Store
			for i := 0; ; i++ {
				reopened, err = Open(ctx, path, Options{})
				if err == nil || !errors.Is(err, ErrLocked) || i > 100 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("reopen after kill: %v", err)
			}
			defer reopened.Close()
			c := counts(t, reopened)
			if c["prices"] != tc.want+1 {
				t.Errorf("prices after kill = %d, want %d", c["prices"], tc.want+1)
			}
			wantRuns := int64(1)
			if tc.want > 0 {
				wantRuns = 2
			}
			if c["ingest_runs"] != wantRuns {
				t.Errorf("ingest_runs after kill = %d, want %d", c["ingest_runs"], wantRuns)
			}
			st, err := reopened.Import(ctx, RunInfo{Source: "file:synthetic.csv"}, addAll(syntheticPrices(rows, 3000)...))
			if err != nil {
				t.Fatal(err)
			}
			if st.Stored() != rows-tc.want {
				t.Errorf("re-run stored %d, want %d", st.Stored(), rows-tc.want)
			}
			if c := counts(t, reopened); c["prices"] != rows+1 || c["pools"] != 3001 {
				t.Errorf("counts after re-run = %v", c)
			}
		})
	}
}

// TestConcurrentQueriesDuringImport runs queries while an import writes:
// every query sees the store before or after the import, never between.
func TestConcurrentQueriesDuringImport(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	const rows = 200_000
	pts := syntheticPrices(rows, 500)
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 16)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch g {
				case 0:
					var c map[string]int64
					c, err = s.Counts(ctx)
					if err == nil && c["prices"] != 0 && c["prices"] != rows {
						err = fmt.Errorf("counts saw %d prices mid-import", c["prices"])
					}
				case 1:
					_, err = s.Pools(ctx, PoolFilter{Region: "us-east-1", Limit: 10})
				case 2:
					_, err = s.Series(ctx, pts[0].Pool, time.Time{}, time.Time{})
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	st, err := s.Import(ctx, RunInfo{Source: "file:synthetic.csv"}, addAll(pts...))
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err != nil || st.Stored() != rows {
		t.Fatalf("import: %+v %v", st, err)
	}
}
