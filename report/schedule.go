package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/report/cron"
)

// Retention says which report folders to keep. Both limits apply; zero
// fields are no limit.
type Retention struct {
	// KeepLast keeps the newest N folders.
	KeepLast int
	// MaxAge deletes folders older than this.
	MaxAge time.Duration
}

// Prune deletes the report folders under dir that r does not keep, by the
// time in their names (spotcast-report-20260304T060000Z), and returns
// their paths. Nothing else under dir is touched, nor are temporary
// folders of reports being written. A missing dir holds nothing to prune.
func Prune(dir string, r Retention, now time.Time) ([]string, error) {
	if r.KeepLast <= 0 && r.MaxAge <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prune reports in %s: %w", dir, err)
	}
	type folder struct {
		name string
		t    time.Time
	}
	var fs []folder
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if t, ok := folderTime(e.Name()); ok {
			fs = append(fs, folder{e.Name(), t})
		}
	}
	// Newest first; same-second folders by name, the "-2" suffix newer.
	slices.SortFunc(fs, func(a, b folder) int {
		return cmp.Or(b.t.Compare(a.t), cmp.Compare(len(b.name), len(a.name)), cmp.Compare(b.name, a.name))
	})
	var removed []string
	for i, f := range fs {
		old := r.MaxAge > 0 && f.t.Before(now.Add(-r.MaxAge))
		extra := r.KeepLast > 0 && i >= r.KeepLast
		if !old && !extra {
			continue
		}
		p := filepath.Join(dir, f.name)
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("prune report %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// Settings are the config's report section, parsed and checked.
type Settings struct {
	// Schedule is when serve writes reports; Scheduled is false when the
	// config names no schedule.
	Schedule  cron.Schedule
	Scheduled bool
	OutDir    string
	Formats   []Format
	Retention Retention
	Workloads []Workload
}

// SettingsFrom parses the config's report section. Errors name the
// config field ("report.schedule: cron "0 25 * * *": hour field ...").
func SettingsFrom(c config.Report) (Settings, error) {
	if err := c.Validate(); err != nil {
		return Settings{}, err
	}
	s := Settings{OutDir: c.OutDir, Retention: Retention{KeepLast: c.KeepLast, MaxAge: time.Duration(c.KeepFor)}}
	if s.OutDir == "" {
		s.OutDir = config.Default().Report.OutDir
	}
	if c.Schedule != "" {
		sch, err := cron.Parse(c.Schedule)
		if err != nil {
			return Settings{}, fmt.Errorf("report.schedule: %w", err)
		}
		s.Schedule, s.Scheduled = sch, true
	}
	for _, f := range c.Formats {
		s.Formats = append(s.Formats, Format(f))
	}
	if len(s.Formats) == 0 {
		s.Formats = AllFormats
	}
	for _, w := range c.Workloads {
		s.Workloads = append(s.Workloads, Workload{Name: w.Name, GPUModel: w.GPUModel, MinGPUMemoryGiB: w.MinGPUMemoryGiB,
			GPUsPerNode: w.GPUsPerNode, Nodes: w.Nodes, Regions: w.Regions, RunLength: time.Duration(w.RunLength),
			CheckpointCost: time.Duration(w.CheckpointCost), RestartCost: time.Duration(w.RestartCost),
			Confidence: w.Confidence, Utilisation: w.Utilisation})
	}
	return s, nil
}

// WatchKeys turns the config's watch list into pool keys.
func WatchKeys(ws []config.WatchPool) ([]market.PoolKey, error) {
	var out []market.PoolKey
	for i, w := range ws {
		k, err := w.Key()
		if err != nil {
			return nil, fmt.Errorf("watch[%d]: %w", i, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// Produce generates a report, writes it under s.OutDir in s.Formats and
// prunes old reports by s.Retention. opts.Workloads defaults to
// s.Workloads.
func (s Settings) Produce(ctx context.Context, eng *engine.Engine, opts Options) (Written, error) {
	if opts.Workloads == nil {
		opts.Workloads = s.Workloads
	}
	r, err := Generate(ctx, eng, opts)
	if err != nil {
		return Written{}, err
	}
	w, err := Write(r, s.OutDir, s.Formats)
	if err != nil {
		return Written{}, err
	}
	if _, err := Prune(s.OutDir, s.Retention, r.Generated); err != nil {
		return w, err
	}
	return w, nil
}

// Scheduler runs a job at the times a cron schedule names, until its
// context ends. A run that fails is logged and reported to Done; the next
// run still happens at its time. A run that overruns the next scheduled
// time skips it (runs never overlap).
type Scheduler struct {
	Schedule cron.Schedule
	// Job runs once per scheduled time; at is that time.
	Job func(ctx context.Context, at time.Time) error
	// Name labels the log lines (default "report").
	Name   string
	Logger *slog.Logger
	// Done, if set, is called after every run that was not cut short by
	// the context, e.g. to count failures in a metric.
	Done func(end time.Time, d time.Duration, err error)
	// Now and After are the clock (nil: time.Now and time.After).
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
}

// Run waits for each scheduled time and runs the job, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	now, after := s.Now, s.After
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := cmp.Or(s.Name, "report")
	for {
		next := s.Schedule.Next(now())
		if next.IsZero() {
			log.Error("schedule never fires", "job", name, "schedule", s.Schedule.String())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-after(next.Sub(now())):
		}
		start := now()
		err := s.Job(ctx, next)
		if ctx.Err() != nil {
			return // cut short by shutdown: neither a success nor a failure
		}
		end := now()
		d := end.Sub(start)
		if s.Done != nil {
			s.Done(end, d, err)
		}
		if err != nil {
			log.Error("scheduled job failed", "job", name, "scheduled", next.Format(time.RFC3339), "duration_ms", d.Milliseconds(), "err", err)
		} else {
			log.Info("scheduled job done", "job", name, "scheduled", next.Format(time.RFC3339), "duration_ms", d.Milliseconds())
		}
	}
}
