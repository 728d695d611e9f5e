package storage

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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

// The crash-injection harness. It runs the real `spotcast ingest file`
// binary on a copy of a store and kills it (SIGKILL, or SIGTERM, once or
// twice) at a point chosen by a seed: at a phase hook inside the binary
// (CrashEnv), possibly some microseconds into the phase, or at a random
// time from outside. After each kill it checks, counting with its own SQL
// on a direct DuckDB connection:
//
//   - the store, once spotcast has opened it again, holds all of the file
//     or none of it, and no orphan rows;
//   - what the killed process said matches the store (it claimed success
//     only if the rows are there, failure only if they are not, or said
//     the outcome is unknown);
//   - the next import completes and stores exactly the missing rows, and
//     one more import stores nothing.
//
// `go test ./storage -run Crash` runs a bounded set of seeds; a soak runs
// seeds for a while:
//
//	SPOTCAST_CRASH_SOAK=30m go test ./storage -run Crash -timeout 0 -v
//
// SPOTCAST_CRASH_SEED=N starts at seed N (a failing trial names its seed)
// and SPOTCAST_CRASH_TRIALS=N sets how many seeds the bounded run takes;
// SPOTCAST_CRASH_PHASES=commit,checkpoint restricts the hook phases (and
// drops the kills from outside).

// crashRows and crashPools size the file the harness imports: several of
// DuckDB's row groups (122,880 rows), so the merge writes to the file
// before COMMIT as a big import does.
const (
	crashRows    = 300_000
	crashPools   = 2000
	crashOverlap = 30_000
)

// writeHead copies the header and the first n rows of the CSV from to to.
func writeHead(t *testing.T, from, to string, n int) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	end := 0
	for range n + 1 {
		end += bytes.IndexByte(b[end:], '\n') + 1
	}
	if err := os.WriteFile(to, b[:end], 0o644); err != nil {
		t.Fatal(err)
	}
}

// crashPhases are the hook points the harness cycles through.
var crashPhases = []string{"fill", "append", "merge", "commit", "committed", "checkpoint"}

// storeCounts is the raw state of a store file, counted with plain SQL.
type storeCounts struct {
	prices, pools, runs, provenance int64
	orphanPrices, orphanProv        int64
	orphanPools                     int64
}

func (c storeCounts) orphans() int64 { return c.orphanPrices + c.orphanProv + c.orphanPools }

// rawCounts opens path read-only through the DuckDB driver alone (no
// Store, no repair) and counts.
func rawCounts(t *testing.T, path string) storeCounts {
	t.Helper()
	var db *sql.DB
	var err error
	for i := 0; ; i++ {
		db, err = sql.Open("duckdb", path+"?access_mode=read_only")
		if err == nil {
			err = db.Ping()
		}
		if err == nil || i > 100 || !strings.Contains(err.Error(), "lock") {
			break
		}
		db.Close()
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var c storeCounts
	err = db.QueryRow(`SELECT
		(SELECT count(*) FROM prices),
		(SELECT count(*) FROM pools),
		(SELECT count(*) FROM ingest_runs),
		(SELECT count(*) FROM provenance),
		(SELECT count(*) FROM prices x WHERE x.prov_id NOT IN (
			SELECT v.id FROM provenance v JOIN ingest_runs r ON r.id = v.run_id)
			OR x.pool_id NOT IN (SELECT id FROM pools)),
		(SELECT count(*) FROM provenance WHERE run_id NOT IN (SELECT id FROM ingest_runs)),
		(SELECT count(*) FROM pools WHERE id NOT IN (SELECT DISTINCT pool_id FROM prices))`).Scan(
		&c.prices, &c.pools, &c.runs, &c.provenance, &c.orphanPrices, &c.orphanProv, &c.orphanPools)
	if err != nil {
		t.Fatalf("count %s: %v", path, err)
	}
	return c
}

// outcome names a store state against the state before the import (base)
// and the file's rows and pools.
func outcome(c, base storeCounts, rows, pools int64) string {
	switch {
	case c.orphans() > 0:
		return "torn"
	case c.prices == base.prices && c.pools == base.pools && c.runs == base.runs:
		return "none"
	case c.prices == base.prices+rows && c.pools == base.pools+pools && c.runs == base.runs+1:
		return "all"
	}
	return "torn"
}

// writeCrashCSV writes a per-AZ CSV of rows price changes over pools
// pools of region, every (pool, time) distinct, and returns its path.
func writeCrashCSV(t testing.TB, dir, region string, rows, pools int, seed uint64) string {
	t.Helper()
	path := filepath.Join(dir, "crash.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "timestamp,availability_zone,instance_type,product_description,spot_price")
	rng := rand.New(rand.NewPCG(seed, 1))
	zones := []string{region + "a", region + "b", region + "c", region + "d"}
	products := []string{"Linux/UNIX", "Windows", "SUSE Linux"}
	start := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	last := make([]time.Time, pools)
	for i := range last {
		last[i] = start
	}
	for i := range rows {
		p := i % pools
		last[p] = last[p].Add(time.Duration(1+rng.IntN(3600)) * time.Second)
		fmt.Fprintf(w, "%s,%s,m%d.%dxlarge,%s,%.6f\n", last[p].Format(time.RFC3339), zones[p%4],
			5+p/4/len(products)%50, 1+p/4/len(products)/50, products[p/4%len(products)], 0.01+rng.Float64()*3)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var spotcastBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// spotcastBinary builds cmd/spotcast once per test process.
func spotcastBinary(t *testing.T) string {
	t.Helper()
	b := &spotcastBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "spotcast-crash-bin")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "spotcast")
		out, err := exec.Command("go", "build", "-o", b.path, "../cmd/spotcast").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// runResult is one run of the binary.
type runResult struct {
	exit   int
	report struct {
		RowsStored int64 `json:"rows_stored"`
		Files      []struct {
			RowsStored int64  `json:"rows_stored"`
			Error      string `json:"error"`
		} `json:"files"`
	}
	stdout, stderr string
}

// claim is what a run said it did: "all" (stored the file), "none"
// (stored nothing), "unknown" (said it could not tell), or "" (died
// without a word, as under SIGKILL).
func (r runResult) claim(rows int64) string {
	switch {
	case strings.Contains(r.stderr, "is unknown"):
		return "unknown"
	case r.exit == 0 && r.report.RowsStored == rows:
		return "all"
	case r.exit == 0:
		return fmt.Sprintf("stored %d", r.report.RowsStored)
	case len(r.report.Files) == 1 && r.report.Files[0].Error != "":
		return "none"
	}
	return ""
}

// ingest runs `spotcast ingest file --json` with env added; if kill is
// given it runs in its own goroutine against the process, with the
// process's stderr lines as they come.
func ingest(t *testing.T, bin, db, file string, env []string, kill func(*os.Process, <-chan string)) runResult {
	t.Helper()
	cmd := exec.Command(bin, "ingest", "file", "--db", db, "--json", "--quiet", file)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	killed := make(chan struct{})
	if kill != nil {
		go func() { defer close(killed); kill(cmd.Process, lines) }()
	} else {
		close(killed)
	}
	<-read
	err = cmd.Wait()
	<-killed
	r := runResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
		if ee.ExitCode() < 0 {
			r.exit = -1 // killed by a signal
		}
	default:
		t.Fatal(err)
	}
	json.Unmarshal(stdout.Bytes(), &r.report)
	return r
}

// phaseTimes is what a traced import reports: per phase, how often it
// was passed and when it was first and last passed.
type phaseTimes struct {
	n           int
	first, last time.Duration
}

func traceImport(t *testing.T, bin, base, file, dir string) (map[string]phaseTimes, time.Duration) {
	db := filepath.Join(dir, "trace.duckdb")
	copyFile(t, base, db)
	start := time.Now()
	r := ingest(t, bin, db, file, []string{CrashEnv + "=trace"}, nil)
	total := time.Since(start)
	if r.exit != 0 {
		t.Fatalf("traced import failed: %s %s", r.stdout, r.stderr)
	}
	phases := map[string]phaseTimes{}
	for _, line := range strings.Split(r.stderr, "\n") {
		var name string
		var n int
		var us int64
		if _, err := fmt.Sscanf(line, "crashpoint %s #%d at %dus", &name, &n, &us); err != nil {
			continue
		}
		p := phases[name]
		p.n = n
		if n == 1 {
			p.first = time.Duration(us) * time.Microsecond
		}
		p.last = time.Duration(us) * time.Microsecond
		phases[name] = p
	}
	for _, p := range crashPhases {
		if phases[p].n == 0 {
			t.Fatalf("traced import never passed phase %s:\n%s", p, r.stderr)
		}
	}
	os.Remove(db)
	return phases, total
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// killPlan is where one trial kills the import.
type killPlan struct {
	env   string        // CrashEnv value ("" for a kill from outside)
	after time.Duration // from outside: delay after start
	sig   syscall.Signal
	twice bool // a second signal 1 ms after the first
	// walGrows: from outside, once COMMIT has started and the WAL grows.
	walGrows bool
}

func (k killPlan) String() string {
	sig := map[syscall.Signal]string{syscall.SIGKILL: "KILL", syscall.SIGTERM: "TERM"}[k.sig]
	if k.twice {
		sig += "x2"
	}
	if k.walGrows {
		return fmt.Sprintf("commit,wal-grows+%dus:%s", k.after.Microseconds(), sig)
	}
	if k.env != "" {
		return k.env
	}
	return fmt.Sprintf("outside+%s:%s", k.after.Round(time.Millisecond), sig)
}

// planKill picks trial i's kill point from its seed: three in four trials
// use a phase hook (cycling through the phases, the occurrence and the
// delay into the phase drawn from the seed; half the COMMIT trials instead
// signal from outside the moment the WAL grows), one in four a random
// time from outside over the whole run.
func planKill(i int, seed uint64, only []string, phases map[string]phaseTimes, total time.Duration) killPlan {
	rng := rand.New(rand.NewPCG(seed, 2))
	sig := syscall.SIGKILL
	if rng.IntN(3) == 0 {
		sig = syscall.SIGTERM
	}
	twice := sig == syscall.SIGTERM && rng.IntN(2) == 0
	if i%4 == 3 && len(only) == len(crashPhases) {
		return killPlan{after: time.Duration(rng.Int64N(int64(total))), sig: sig, twice: twice}
	}
	phase := only[(i-i/4)%len(only)]
	if phase == "commit" && rng.IntN(2) == 0 {
		return killPlan{walGrows: true, after: time.Duration(rng.IntN(500)) * time.Microsecond, sig: sig, twice: twice}
	}
	p := phases[phase]
	n := 1 + rng.IntN(p.n)
	// The phase's length: to its next phase, or (checkpoint) to the end.
	next := map[string]string{"fill": "merge", "append": "merge", "merge": "commit", "commit": "committed", "committed": "checkpoint"}[phase]
	length := total - p.first
	if next != "" {
		length = phases[next].first - p.first
	}
	if phase == "fill" || phase == "append" {
		length = (p.last - p.first) / time.Duration(p.n) // about one batch
	}
	var delay time.Duration
	if rng.IntN(4) > 0 && length > 0 {
		delay = time.Duration(rng.Int64N(int64(length)))
	}
	name := map[syscall.Signal]string{syscall.SIGKILL: "KILL", syscall.SIGTERM: "TERM"}[sig]
	if twice {
		name += "2"
	}
	env := fmt.Sprintf("%s#%d+%dus:%s", phase, n, delay.Microseconds(), name)
	return killPlan{env: env, sig: sig, twice: twice}
}

func TestCrashImport(t *testing.T) {
	if testing.Short() {
		t.Skip("crash injection builds and runs the spotcast binary")
	}
	bin := spotcastBinary(t)
	dir := t.TempDir()
	seed0 := uint64(1)
	if v := os.Getenv("SPOTCAST_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SPOTCAST_CRASH_SEED: %v", err)
		}
		seed0 = n
	}
	trials := 12
	if v := os.Getenv("SPOTCAST_CRASH_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SPOTCAST_CRASH_TRIALS: %v", err)
		}
		trials = n
	}
	only := crashPhases
	if v := os.Getenv("SPOTCAST_CRASH_PHASES"); v != "" {
		only = strings.Split(v, ",")
	}
	var soak time.Duration
	if v := os.Getenv("SPOTCAST_CRASH_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SPOTCAST_CRASH_SOAK: %v", err)
		}
		soak = d
	}

	// The store before the import: the real one-week JSON when the shared
	// data is there (as a user's store would hold), else a small file.
	base := filepath.Join(dir, "base.duckdb")
	baseFile := filepath.Join("..", "..", "shared", "data", "aws", "spot-price-history",
		"us-east-1_2021-05-24_2021-05-31.describe-spot-price-history.json.gz")
	if _, err := os.Stat(baseFile); err != nil {
		sub := filepath.Join(dir, "base")
		os.Mkdir(sub, 0o755)
		baseFile = writeCrashCSV(t, sub, "eu-west-1", 20_000, 50, 99)
	}
	if r := ingest(t, bin, base, baseFile, nil, nil); r.exit != 0 {
		t.Fatalf("base import: %s %s", r.stdout, r.stderr)
	}
	file := writeCrashCSV(t, dir, "us-west-2", crashRows, crashPools, 1)
	// A second base that already holds the file's first crashOverlap rows
	// (every pool's earliest points): importing the file onto it stages
	// and merges those rows through the anti-join, where onto the first
	// base every row goes straight into prices. Odd trials use it.
	overlap := filepath.Join(dir, "overlap.duckdb")
	copyFile(t, base, overlap)
	head := filepath.Join(dir, "head.csv")
	writeHead(t, file, head, crashOverlap)
	if r := ingest(t, bin, overlap, head, nil, nil); r.exit != 0 {
		t.Fatalf("overlap import: %s %s", r.stdout, r.stderr)
	}
	type start struct {
		path        string
		counts      storeCounts
		rows, pools int64 // what the file adds
	}
	starts := []start{
		{base, rawCounts(t, base), crashRows, crashPools},
		{overlap, rawCounts(t, overlap), crashRows - crashOverlap, 0},
	}
	for _, st := range starts {
		if st.counts.orphans() != 0 {
			t.Fatalf("base store %s has orphans: %+v", st.path, st.counts)
		}
	}
	phases, total := traceImport(t, bin, base, file, dir)
	t.Logf("traced import of %d rows: %s; phases %v", crashRows, total.Round(time.Millisecond), phases)

	tally := map[string]int{}
	deadline := time.Now().Add(soak)
	for i := 0; i < trials || time.Now().Before(deadline); i++ {
		seed := seed0 + uint64(i)
		plan := planKill(i, seed, only, phases, total)
		db := filepath.Join(dir, "trial.duckdb")
		os.Remove(db)
		os.Remove(db + ".wal")
		st := starts[i%2]
		before, newRows, newPools := st.counts, st.rows, st.pools
		copyFile(t, st.path, db)

		var env []string
		var kill func(*os.Process, <-chan string)
		signal := func(p *os.Process) {
			p.Signal(plan.sig)
			if plan.twice {
				time.Sleep(time.Millisecond)
				p.Signal(plan.sig)
			}
		}
		switch {
		case plan.walGrows:
			// COMMIT starts (the binary traces its phases), then the
			// moment the WAL grows, the signal: the window in which
			// DuckDB writes the transaction's log records.
			env = []string{CrashEnv + "=trace"}
			wal := db + ".wal"
			kill = func(p *os.Process, lines <-chan string) {
				for l := range lines {
					if strings.HasPrefix(l, "crashpoint commit ") {
						break
					}
				}
				size := func() int64 {
					if fi, err := os.Stat(wal); err == nil {
						return fi.Size()
					}
					return 0
				}
				s0 := size()
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
					if size() > s0 {
						time.Sleep(plan.after)
						signal(p)
						return
					}
				}
			}
		case plan.env != "":
			env = []string{CrashEnv + "=" + plan.env}
		default:
			kill = func(p *os.Process, _ <-chan string) {
				time.Sleep(plan.after)
				signal(p)
			}
		}
		r := ingest(t, bin, db, file, env, kill)
		claim := r.claim(newRows)

		raw := rawCounts(t, db)
		rawOutcome := outcome(raw, before, newRows, newPools)

		// What spotcast shows after the crash: open it as any command
		// does (read-write), close, count again.
		s, err := Open(context.Background(), db, Options{})
		if err != nil {
			t.Fatalf("seed %d (%s): reopen: %v", seed, plan, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("seed %d (%s): close: %v", seed, plan, err)
		}
		after := rawCounts(t, db)
		got := outcome(after, before, newRows, newPools)
		tally[fmt.Sprintf("duckdb-recovery=%s spotcast=%s claim=%s", rawOutcome, got, claim)]++
		t.Logf("seed %d base %d kill %-34s exit %3d claim %-7q raw %-4s -> %-4s (prices %d, pools %d, runs %d, orphans %d)",
			seed, i%2, plan, r.exit, claim, rawOutcome, got, raw.prices, raw.pools, raw.runs, raw.orphans())

		if got == "torn" {
			t.Errorf("seed %d (%s): store torn after reopen: %+v (before %+v)", seed, plan, after, before)
			continue
		}
		switch claim {
		case "all", "none":
			if claim != got {
				t.Errorf("seed %d (%s): the import said %q but the store holds %s of the file\nstdout: %s\nstderr: %s",
					seed, plan, claim, got, r.stdout, r.stderr)
			}
		case "", "unknown":
		default:
			t.Errorf("seed %d (%s): the import claimed %q: neither all nor nothing", seed, plan, claim)
		}

		// The next run completes and stores what is missing; one more
		// stores nothing.
		want := newRows
		if got == "all" {
			want = 0
		}
		r2 := ingest(t, bin, db, file, nil, nil)
		if r2.exit != 0 || r2.report.RowsStored != want {
			t.Errorf("seed %d (%s): re-run after the crash: exit %d, stored %d, want %d\n%s%s",
				seed, plan, r2.exit, r2.report.RowsStored, want, r2.stdout, r2.stderr)
			continue
		}
		r3 := ingest(t, bin, db, file, nil, nil)
		full := rawCounts(t, db)
		if r3.exit != 0 || r3.report.RowsStored != 0 || full.orphans() != 0 ||
			full.prices != before.prices+newRows || full.pools != before.pools+newPools {
			t.Errorf("seed %d (%s): re-import: exit %d stored %d, store %+v", seed, plan, r3.exit, r3.report.RowsStored, full)
		}
	}
	for k, n := range tally {
		t.Logf("%3d trials: %s", n, k)
	}
}

// TestImportDiskFull imports into a store on a small tmpfs that fills
// during the import: the error says so, the store keeps what it had and
// verifies clean, and the import completes once there is room. It needs
// root (to mount the tmpfs) and skips otherwise.
func TestImportDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the spotcast binary")
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.Mkdir(small, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	bin := spotcastBinary(t)
	db := filepath.Join(small, "full.duckdb")
	base := writeCrashCSV(t, dir, "eu-west-1", 2000, 20, 7)
	if r := ingest(t, bin, db, base, nil, nil); r.exit != 0 {
		t.Fatalf("base import: %s %s", r.stdout, r.stderr)
	}
	before := rawCounts(t, db)
	file := writeCrashCSV(t, dir, "us-west-2", crashRows, crashPools, 1)
	r := ingest(t, bin, db, file, nil, nil)
	if r.exit == 0 || !strings.Contains(r.stderr, "disk full") || !strings.Contains(r.stderr, "nothing of this import was stored") {
		t.Fatalf("import onto a full disk: exit %d\n%s%s", r.exit, r.stdout, r.stderr)
	}
	if after := rawCounts(t, db); after != before {
		t.Errorf("store changed: %+v, before %+v", after, before)
	}
	// Room again: the same import completes.
	if out, err := exec.Command("mount", "-o", "remount,size=256m", small).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if r := ingest(t, bin, db, file, nil, nil); r.exit != 0 || r.report.RowsStored != crashRows {
		t.Errorf("import after freeing space: exit %d stored %d\n%s", r.exit, r.report.RowsStored, r.stderr)
	}
}
