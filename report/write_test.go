package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"github.com/spotcast/spotcast/engine"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/report/cron"
)

// forecastReportEmpty stands in for a given backtest where the scorecard
// is not under test, so no backtest runs.
var forecastReportEmpty = forecast.BacktestReport{}

func TestWriteAllFormats(t *testing.T) {
	r, _ := simReport(t)
	out := t.TempDir()
	w, err := Write(r, out, AllFormats)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "spotcast-report-20260304T153000Z"); w.Dir != want {
		t.Errorf("dir %s, want %s", w.Dir, want)
	}
	for _, f := range []string{"report.html", "report.json", "csv/cheapest_by_price.csv", "csv/forecasts.csv", "csv/freshness.csv", "charts/interruptions-heatmap.png"} {
		if !slices.Contains(w.Files, f) {
			t.Errorf("%s not written (%v)", f, w.Files)
		}
	}
	for _, f := range w.Files {
		if _, err := os.Stat(filepath.Join(w.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	// JSON: the report without the image bytes, charts named by file.
	b, err := os.ReadFile(filepath.Join(w.Dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Simulated || len(back.Cheapest.ByPrice) != len(r.Cheapest.ByPrice) || back.Charts[0].File == "" || back.Charts[0].PNG != nil {
		t.Errorf("JSON round trip: simulated=%v, %d rows, chart %+v", back.Simulated, len(back.Cheapest.ByPrice), back.Charts[0])
	}
	// CSV: rectangular, a source column, the simulated label on rows.
	for _, f := range w.Files {
		if !strings.HasPrefix(f, "csv/") {
			continue
		}
		fh, err := os.Open(filepath.Join(w.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll() // fails on ragged rows
		fh.Close()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		src := slices.Index(recs[0], "source")
		if src < 0 {
			t.Errorf("%s: no source column: %v", f, recs[0])
			continue
		}
		if len(recs) < 2 {
			t.Errorf("%s: no rows", f)
			continue
		}
		for _, row := range recs[1:] {
			if row[src] != "simulated" {
				t.Errorf("%s: row source %q", f, row[src])
				break
			}
		}
	}
	// A second report in the same second gets its own folder.
	w2, err := Write(r, out, []Format{JSON})
	if err != nil || w2.Dir != w.Dir+"-2" || len(w2.Files) != len(r.Charts)+1 {
		t.Errorf("second write: %+v, %v", w2, err)
	}
	// No temporary folder is left behind.
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestWriteUnwritableFolder(t *testing.T) {
	r, _ := simReport(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{file, filepath.Join(file, "reports")} {
		_, err := Write(r, out, AllFormats)
		if err == nil || !strings.Contains(err.Error(), out) {
			t.Errorf("Write to %s: %v, want an error naming the folder", out, err)
		}
	}
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		in   string
		want []Format
		err  string
	}{
		{"html", []Format{HTML}, ""},
		{"html, CSV,json,html", []Format{HTML, CSV, JSON}, ""},
		{"pdf", nil, `format "pdf"`},
		{" , ", nil, "no format"},
	}
	for _, tt := range tests {
		got, err := ParseFormats(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseFormats(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)
	names := []string{
		"spotcast-report-20260310T060000Z", "spotcast-report-20260309T060000Z-2", "spotcast-report-20260309T060000Z",
		"spotcast-report-20260308T060000Z", "spotcast-report-20260301T060000Z", "spotcast-report-20250101T000000Z",
	}
	others := []string{"notes", "spotcast-report-latest", "spotcast-report-20260101T000000Z-x", ".tmp-spotcast-report-20200101T000000Z-1"}
	tests := []struct {
		keep Retention
		left []string
	}{
		{Retention{}, names},
		{Retention{KeepLast: 2}, names[:2]}, // newest, then the later ("-2") of the two 9 March ones
		{Retention{MaxAge: 48 * time.Hour}, names[:4]},
		{Retention{KeepLast: 3, MaxAge: 24 * time.Hour}, names[:3]},
		{Retention{KeepLast: 100, MaxAge: 500 * 24 * time.Hour}, names},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for _, n := range append(slices.Clone(names), others...) {
			if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "spotcast-report-20000101T000000Z.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		removed, err := Prune(dir, tt.keep, now)
		if err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(dir)
		var left []string
		for _, e := range ents {
			left = append(left, e.Name())
		}
		want := append(slices.Clone(tt.left), others...)
		want = append(want, "spotcast-report-20000101T000000Z.txt")
		slices.Sort(want)
		if !slices.Equal(left, want) {
			t.Errorf("%+v: left %v, want %v", tt.keep, left, want)
		}
		if len(removed) != len(names)-len(tt.left) {
			t.Errorf("%+v: removed %v", tt.keep, removed)
		}
	}
	if rm, err := Prune(filepath.Join(t.TempDir(), "missing"), Retention{KeepLast: 1}, now); err != nil || rm != nil {
		t.Errorf("missing dir: %v, %v", rm, err)
	}
}

func TestSettingsFrom(t *testing.T) {
	c := config.Default().Report
	c.Schedule = "0 6 * * *"
	c.KeepFor = config.Duration(7 * 24 * time.Hour)
	c.Workloads = []config.Workload{{Name: "w", GPUModel: "A100", GPUsPerNode: 8, RunLength: config.Duration(48 * time.Hour)}}
	s, err := SettingsFrom(c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Scheduled || s.Schedule.Next(time.Date(2026, 3, 4, 7, 0, 0, 0, time.UTC)) != time.Date(2026, 3, 5, 6, 0, 0, 0, time.UTC) {
		t.Errorf("schedule %+v", s.Schedule)
	}
	if s.Retention != (Retention{KeepLast: 30, MaxAge: 7 * 24 * time.Hour}) || s.OutDir != "reports" || len(s.Formats) != 3 {
		t.Errorf("settings %+v", s)
	}
	if len(s.Workloads) != 1 || s.Workloads[0].RunLength != 48*time.Hour || s.Workloads[0].GPUsPerNode != 8 {
		t.Errorf("workloads %+v", s.Workloads)
	}
	c.Schedule = "0 6 * * mon-fry"
	if _, err := SettingsFrom(c); err == nil || !strings.Contains(err.Error(), `report.schedule: cron "0 6 * * mon-fry": day-of-week field "mon-fry"`) {
		t.Errorf("bad schedule: %v", err)
	}
}

// fakeClock is a clock whose After jumps the time forward at once.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

func TestScheduler(t *testing.T) {
	s := scheduleOf(t, "0 6 * * *")
	clk := &fakeClock{t: time.Date(2026, 3, 4, 7, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs []time.Time
	var dones []error
	sch := &Scheduler{Schedule: s, Now: clk.now, After: clk.after,
		Job: func(ctx context.Context, at time.Time) error {
			runs = append(runs, at)
			clk.t = clk.t.Add(25 * time.Hour) // overruns the next day's slot
			if len(runs) == 1 {
				return errors.New("disk full")
			}
			if len(runs) == 3 {
				cancel()
			}
			return nil
		},
		Done: func(end time.Time, d time.Duration, err error) {
			dones = append(dones, err)
			if d != 25*time.Hour {
				t.Errorf("duration %s", d)
			}
		}}
	sch.Run(ctx)
	want := []time.Time{
		time.Date(2026, 3, 5, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 7, 6, 0, 0, 0, time.UTC), // the 6th was missed while the first run overran
		time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC),
	}
	if !slices.EqualFunc(runs, want, time.Time.Equal) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	// The failure was reported and the scheduler went on; the run cut
	// short by cancellation is neither success nor failure.
	if len(dones) != 2 || dones[0] == nil || dones[1] != nil {
		t.Errorf("done callbacks %v", dones)
	}
}

func scheduleOf(t *testing.T, expr string) cron.Schedule {
	t.Helper()
	c := config.Default().Report
	c.Schedule = expr
	st, err := SettingsFrom(c)
	if err != nil {
		t.Fatal(err)
	}
	return st.Schedule
}

func TestSettingsProduceAndPrune(t *testing.T) {
	_, st := simReport(t)
	c := config.Default().Report
	c.OutDir = t.TempDir()
	c.Formats = []string{"json"}
	c.KeepLast = 1
	s, err := SettingsFrom(c)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(c.OutDir, "spotcast-report-20260101T000000Z")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := s.Produce(context.Background(), engine.New(st, engine.Options{Now: clock}), Options{Now: clock, Backtest: &forecastReportEmpty})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir, "report.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old report kept: %v", err)
	}
}

// TestHTMLInChromium renders the HTML report in headless Chromium, takes
// a screenshot and checks the page's key elements in the rendered DOM.
func TestHTMLInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if _, err := os.Stat("/usr/bin/chromium"); err != nil {
			t.Skip("chromium is not installed (Debian package chromium); CI installs it")
		}
		bin = "/usr/bin/chromium"
	}
	r, _ := simReport(t)
	w, err := Write(r, t.TempDir(), []Format{HTML})
	if err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(w.Dir, "report.html")
	// The page must not depend on the chart files beside it.
	if err := os.RemoveAll(filepath.Join(w.Dir, "charts")); err != nil {
		t.Fatal(err)
	}
	chrome := func(extra ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1280,4000"}, extra...)
		cmd := exec.CommandContext(ctx, bin, append(args, page)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
		return stdout.Bytes()
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	chrome("--screenshot=" + shot)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if bd := img.Bounds(); bd.Dx() != 1280 || bd.Dy() != 4000 {
		t.Errorf("screenshot %v, want 1280x4000", bd)
	}
	if v := lumaVariance(img); v < 200 {
		t.Errorf("screenshot pixel variance %.1f: blank page", v)
	}
	if dir := os.Getenv("SPOTCAST_REPORT_SCREENSHOT"); dir != "" {
		os.WriteFile(filepath.Join(dir, "report.png"), b, 0o644)
	}

	dom := string(chrome("--dump-dom"))
	for _, want := range []string{
		`id="simulated-banner"`, "SIMULATED DATA",
		"<h2>Cheapest GPU pools</h2>", "<h2>Biggest price moves</h2>", "<h2>7-day price forecasts</h2>",
		"<h2>Interruption windows</h2>", "<h2>Recommendations</h2>", "<h2>Savings against on-demand</h2>",
		"<h2>Forecast quality</h2>", "<h2>Data freshness</h2>",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	imgs := regexp.MustCompile(`<img [^>]*src="data:image/png;base64,`).FindAllString(dom, -1)
	if len(imgs) != len(r.Charts) {
		t.Errorf("%d embedded images, want %d charts", len(imgs), len(r.Charts))
	}
	if strings.Contains(dom, `src="http`) || strings.Contains(dom, `href="http`) {
		t.Error("page loads something from the network")
	}
}
