// Package notebooks holds the Jupyter notebooks that use spotcast through
// its HTTP API, and the test that executes them against a running server.
package notebooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// python is Debian's interpreter: Jupyter, pandas and matplotlib from the
// Debian packages belong to it, while the python3 first on PATH may be
// another one without them.
const python = "/usr/bin/python3"

// cellTimeout bounds one notebook cell; the whole run is bounded by
// runTimeout.
const (
	cellTimeout = 120 * time.Second
	runTimeout  = 4 * time.Minute
)

// notebook is the part of the .ipynb format (nbformat 4) the tests read.
type notebook struct {
	Cells []struct {
		CellType       string          `json:"cell_type"`
		ExecutionCount *int            `json:"execution_count"`
		Source         json.RawMessage `json:"source"`
		Outputs        []struct {
			OutputType string                     `json:"output_type"`
			Name       string                     `json:"name"`
			Text       json.RawMessage            `json:"text"`
			Data       map[string]json.RawMessage `json:"data"`
			EName      string                     `json:"ename"`
			EValue     string                     `json:"evalue"`
		} `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
	NBFormat int `json:"nbformat"`
}

func readNotebook(t *testing.T, path string) notebook {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return nb
}

// text joins an nbformat multiline string (a string or a list of them).
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []string
	if json.Unmarshal(raw, &parts) == nil {
		return strings.Join(parts, "")
	}
	return ""
}

func notebookPaths(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("want at least 3 notebooks in notebooks/, found %v", paths)
	}
	return paths
}

// TestStoredWithoutOutputs: notebooks are committed clean, so diffs show
// only code and prose and no stale results are taken for current ones.
func TestStoredWithoutOutputs(t *testing.T) {
	for _, path := range notebookPaths(t) {
		nb := readNotebook(t, path)
		if nb.NBFormat != 4 {
			t.Errorf("%s: nbformat %d, want 4", path, nb.NBFormat)
		}
		if nb.Metadata.Kernelspec.Name != "python3" {
			t.Errorf("%s: kernel %q, want python3", path, nb.Metadata.Kernelspec.Name)
		}
		code := 0
		for i, c := range nb.Cells {
			if c.CellType != "code" {
				continue
			}
			code++
			if len(c.Outputs) > 0 {
				t.Errorf("%s: cell %d is stored with %d outputs; clear them", path, i, len(c.Outputs))
			}
			if c.ExecutionCount != nil {
				t.Errorf("%s: cell %d is stored with execution count %d; clear it", path, i, *c.ExecutionCount)
			}
		}
		if code == 0 {
			t.Errorf("%s: no code cells", path)
		}
		all := ""
		for _, c := range nb.Cells {
			all += text(c.Source)
		}
		if !strings.Contains(all, "SPOTCAST_URL") {
			t.Errorf("%s: does not read the server address from SPOTCAST_URL", path)
		}
	}
}

// lockedBuffer collects a process's output written from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestExecuteNotebooks builds spotcast, serves the simulated market, writes
// a bounded backtest report with the CLI, and executes every notebook with
// jupyter nbconvert against that server: a failing cell fails the test.
func TestExecuteNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spotcast and executes every notebook (about a minute); skipped with -short")
	}
	if out, err := exec.Command(python, "-c", "import nbconvert, ipykernel, pandas, matplotlib").CombinedOutput(); err != nil {
		t.Skipf("%s lacks Jupyter or its libraries (Debian: apt-get install jupyter-nbconvert python3-ipykernel "+
			"python3-pandas python3-matplotlib): %v\n%s", python, err, out)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build spotcast with: %v", err)
	}
	paths := notebookPaths(t)
	dir := t.TempDir()
	start := time.Now()

	bin := filepath.Join(dir, "spotcast")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/spotcast")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/spotcast: %v\n%s", err, out)
	}
	t.Logf("built spotcast in %v", time.Since(start).Round(time.Millisecond))

	// The server loads its simulated market while the CLI writes the
	// backtest report from the same simulator into a store of its own.
	srv := startServer(t, bin)
	backtestJSON := filepath.Join(dir, "backtest.json")
	backtestErr := make(chan error, 1)
	go func() { backtestErr <- writeBacktest(bin, dir, backtestJSON) }()
	// matplotlib builds its font cache on first use and says so on stderr
	// if that is slow: build it once here, not in three kernels at once.
	mplDir := filepath.Join(dir, "mpl")
	warm := exec.Command(python, "-c", "import matplotlib.font_manager")
	warm.Env = append(os.Environ(), "MPLCONFIGDIR="+mplDir)
	if b, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("matplotlib font cache: %v\n%s", err, b)
	}
	base := srv.waitReady(t)
	if err := <-backtestErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("server ready and backtest written after %v", time.Since(start).Round(time.Millisecond))

	// One nbconvert per notebook, all at once: most of the time is spent
	// waiting on kernels and on the server.
	out := filepath.Join(dir, "executed")
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	env := append(os.Environ(),
		"SPOTCAST_URL="+base,
		"SPOTCAST_BACKTEST_JSON="+backtestJSON,
		"MPLBACKEND=Agg",
		"MPLCONFIGDIR="+mplDir,
		"IPYTHONDIR="+filepath.Join(dir, "ipython"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "jupyter-runtime"),
		"PYDEVD_DISABLE_FILE_VALIDATION=1",
	)
	execStart := time.Now()
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
				fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(cellTimeout.Seconds())), "--output-dir", out, path)
			cmd.Env = env
			cmd.WaitDelay = 10 * time.Second
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("jupyter nbconvert --execute %s: %w\n%s", path, err, b)
			}
		}()
	}
	wg.Wait()
	failed := false
	for _, err := range errs {
		if err != nil {
			t.Error(err)
			failed = true
		}
	}
	if failed {
		t.Fatalf("server log:\n%s", tail(srv.log.String(), 4000))
	}
	t.Logf("executed %d notebooks in %v", len(paths), time.Since(execStart).Round(time.Millisecond))

	for _, path := range paths {
		checkExecuted(t, filepath.Join(out, filepath.Base(path)))
	}
	srv.stop(t)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkExecuted: every code cell ran, none failed or wrote to stderr, a
// chart was drawn, and the output names the data source (simulated here).
func checkExecuted(t *testing.T, path string) {
	t.Helper()
	nb := readNotebook(t, path)
	images, simulated := 0, false
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		if c.ExecutionCount == nil {
			t.Errorf("%s: cell %d did not run", path, i)
		}
		for _, o := range c.Outputs {
			var s string
			switch o.OutputType {
			case "error":
				t.Errorf("%s: cell %d failed: %s: %s", path, i, o.EName, o.EValue)
			case "stream":
				s = text(o.Text)
				if o.Name == "stderr" {
					t.Errorf("%s: cell %d wrote to stderr:\n%s", path, i, s)
				}
			case "display_data", "execute_result":
				if _, ok := o.Data["image/png"]; ok {
					images++
				}
				s = text(o.Data["text/plain"]) + text(o.Data["text/html"])
			}
			if strings.Contains(s, "SIMULATED") || strings.Contains(s, "simulated") {
				simulated = true
			}
		}
	}
	if images == 0 {
		t.Errorf("%s: no chart in the outputs", path)
	}
	if !simulated {
		t.Errorf("%s: the outputs do not say the data is simulated", path)
	}
}

func writeBacktest(bin, dir, out string) error {
	db := filepath.Join(dir, "backtest.duckdb")
	if b, err := exec.Command(bin, "ingest", "sim", "--db", db).CombinedOutput(); err != nil {
		return fmt.Errorf("spotcast ingest sim: %w\n%s", err, b)
	}
	cmd := exec.Command(bin, "backtest", "--db", db, "--horizon", "24h", "--every", "2d",
		"--max-series", "20", "--max-traces", "4", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("spotcast backtest: %w\n%s", err, stderr.String())
	}
	var report struct {
		Models []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil || len(report.Models) == 0 {
		return fmt.Errorf("spotcast backtest --json: no models in the report (%v):\n%.2000s", err, stdout.String())
	}
	return os.WriteFile(out, stdout.Bytes(), 0o644)
}

type server struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan error
}

func startServer(t *testing.T, bin string) *server {
	t.Helper()
	s := &server{log: &lockedBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve", "--demo", "--http-addr", "127.0.0.1:0", "--grpc-addr", "off", "--log-format", "json")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

var listening = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// waitReady returns the server's base URL once /readyz answers 200.
func (s *server) waitReady(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	base := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("spotcast serve exited early: %v\n%s", err, s.log.String())
		default:
		}
		if base == "" {
			if m := listening.FindStringSubmatch(s.log.String()); m != nil {
				base = "http://" + m[1]
			}
		}
		if base != "" {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return base
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("spotcast serve not ready after 90s (address %q):\n%s", base, s.log.String())
	return ""
}

// stop sends SIGTERM, as a service manager does, and requires a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("spotcast serve after SIGTERM: %v\n%s", err, tail(s.log.String(), 4000))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("spotcast serve still running 30s after SIGTERM")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
