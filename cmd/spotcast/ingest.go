package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest/eventbridge"
	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

func runIngest(ctx context.Context, e env, args []string) error {
	sub := map[string]func(context.Context, env, []string) error{
		"aws":    runIngestAWS,
		"file":   runIngestFile,
		"events": runIngestEvents,
		"sim":    runIngestSim,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(e.stderr, "usage: spotcast ingest aws|file|events|sim [flags]")
		if len(args) == 0 {
			return fmt.Errorf("ingest: name a source: aws, file, events or sim")
		}
		return fmt.Errorf("ingest: unknown source %q: want aws, file, events or sim", args[0])
	}
	return sub[args[0]](ctx, e, args[1:])
}

func runIngestFile(ctx context.Context, e env, args []string) error {
	var c common
	var format, region, start string
	var opts files.Options
	fs := newFlags(e, "ingest file", "ingest file [--db PATH] [--format F] [--skip-bad] [--json] PATH...", &c)
	fs.StringVar(&format, "format", "", "force a format instead of detecting it: "+formatList())
	fs.BoolVar(&opts.SkipBad, "skip-bad", false, "skip and count bad rows instead of failing the file")
	fs.StringVar(&region, "region", "", "region for formats that take it from the file name (ondemand_<region>.json)")
	fs.StringVar(&opts.Trace.Cloud, "cloud", "", "skypilot trace: its cloud (aws or gcp), when its path does not say")
	fs.StringVar(&opts.Trace.Zone, "zone", "", "skypilot trace: its zone, when its file name does not say")
	fs.StringVar(&opts.Trace.InstanceType, "instance-type", "", "skypilot trace: its instance type (default: from the file name's accelerator, e.g. a100_40gb_8)")
	fs.StringVar(&opts.Trace.Kind, "trace-kind", "", "skypilot trace: preemption or availability (default: from the path, else preemption)")
	fs.StringVar(&start, "start", "", "skypilot trace: time of its first sample (RFC 3339 or a date, UTC), when its folder is not one the skypilot README dates")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	var err error
	if opts.TraceStart, err = parseTime("start", start); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("ingest file: name at least one file")
	}
	if format != "" {
		f, err := files.ParseFormat(format)
		if err != nil {
			return err
		}
		opts.Format = f
	}
	if (opts.Trace != files.TraceInfo{} || start != "") && opts.Format != "" && opts.Format != files.FormatSkypilotTrace {
		return fmt.Errorf("--cloud, --zone, --instance-type, --trace-kind and --start describe a %s file, not %s", files.FormatSkypilotTrace, opts.Format)
	}
	opts.Region = region
	if !*quiet {
		opts.Progress = e.stderr
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := files.Import(ctx, s, fs.Args(), opts)
	if c.json {
		if jerr := writeJSON(e.stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		for _, f := range rep.Files {
			if f.Error != "" {
				fmt.Fprintf(e.stdout, "%s: FAILED: %s\n", f.Path, f.Error)
				continue
			}
			fmt.Fprintf(e.stdout, "%s (%s): read %d, stored %d, duplicates %d, bad %d, skipped %d in %.2fs\n",
				f.Path, f.Format, f.RowsRead, f.RowsStored, f.Duplicates, f.BadRows, f.Skipped, f.Seconds)
		}
		fmt.Fprintf(e.stdout, "total: read %d, stored %d, duplicates %d, bad %d\n", rep.RowsRead, rep.RowsStored, rep.Duplicates, rep.BadRows)
	}
	if err != nil {
		if c.json {
			fmt.Fprintln(e.stderr, "spotcast:", err)
			return errReported
		}
		return err
	}
	return nil
}

func formatList() string {
	var names []string
	for _, f := range files.Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// eventsReport is the output of `ingest events`.
type eventsReport struct {
	RowsRead   int64    `json:"rows_read"`
	RowsStored int64    `json:"rows_stored"`
	Duplicates int64    `json:"duplicates"`
	BadRows    int64    `json:"bad_rows"`
	BadReasons []string `json:"bad_reasons,omitempty"`
	Skipped    int64    `json:"skipped"`
	RunID      int64    `json:"run_id"`
}

func runIngestEvents(ctx context.Context, e env, args []string) error {
	var c common
	var skipBad bool
	fs := newFlags(e, "ingest events", "ingest events [--db PATH] [--skip-bad] [--json] < events.json", &c)
	fs.BoolVar(&skipBad, "skip-bad", false, "skip and count bad events instead of storing none")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var rep eventsReport
	st, err := s.Import(ctx, storage.RunInfo{Kind: "events", Source: market.SourceEventBridge, Path: "stdin", Format: string(files.FormatEventBridge)},
		func(w *storage.Writer) error {
			t, err := eventbridge.ParseOptions(e.stdin, "stdin", w, eventbridge.Options{SkipBad: skipBad})
			rep.RowsRead, rep.BadRows, rep.BadReasons, rep.Skipped = t.Read, t.Bad, t.BadReasons, t.Skipped
			return err
		})
	if err != nil {
		return fmt.Errorf("ingest events: %w", err)
	}
	rep.RowsStored, rep.Duplicates, rep.RunID = st.Stored(), st.Added()-st.Stored(), st.RunID
	if c.json {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "events: read %d, stored %d, duplicates %d, bad %d\n", rep.RowsRead, rep.RowsStored, rep.Duplicates, rep.BadRows)
	return nil
}

func runIngestSim(ctx context.Context, e env, args []string) error {
	var c common
	cfg := sim.Config{}
	fs := newFlags(e, "ingest sim", "ingest sim [--db PATH] [--seed N] [--days N] [--json]", &c)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed (the same seed and end time give the same market)")
	fs.IntVar(&cfg.Days, "days", sim.DefaultDays, "days of simulated history, ending now")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if cfg.Days <= 0 {
		return fmt.Errorf("--days must be > 0")
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	sum, st, err := simulate(ctx, s, cfg)
	if err != nil {
		return err
	}
	return printSim(e, c.json, sum, st)
}

// simulate writes the simulated market into s in one transaction.
func simulate(ctx context.Context, s *storage.Store, cfg sim.Config) (sim.Summary, storage.ImportStats, error) {
	var sum sim.Summary
	st, err := s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: fmt.Sprintf("simulator seed=%d days=%d", cfg.Seed, cfg.Days), Format: "simulated"},
		func(w *storage.Writer) error {
			var err error
			sum, err = sim.Generate(cfg, w)
			return err
		})
	if err != nil {
		return sum, st, fmt.Errorf("ingest sim: %w", err)
	}
	return sum, st, nil
}

func printSim(e env, asJSON bool, sum sim.Summary, st storage.ImportStats) error {
	if asJSON {
		return writeJSON(e.stdout, map[string]any{
			"source": market.SourceSimulated, "simulated": sum, "rows_read": sum.Rows(),
			"rows_stored": st.Stored(), "duplicates": st.Added() - st.Stored(), "tables": st.Tables,
		})
	}
	fmt.Fprintf(e.stdout, "simulated market (source=%s, seed %d, %s .. %s): %d pools, %d price points, %d events; stored %d new rows\n",
		market.SourceSimulated, sum.Seed, sum.Start.Format(time.RFC3339), sum.End.Format(time.RFC3339), sum.Pools, sum.Prices, sum.Events, st.Stored())
	return nil
}
