package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/ingest/eventbridge"
	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

func runIngest(ctx context.Context, e env, args []string) error {
	sub := map[string]func(context.Context, env, []string) error{
		"aws":      runIngestAWS,
		"file":     runIngestFile,
		"events":   runIngestEvents,
		"sim":      runIngestSim,
		"aws-feed": runIngestAWSFeed,
		"azure":    runIngestAzure,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(e.stderr, "usage: spotcast ingest aws|aws-feed|azure|file|events|sim [flags]")
		if len(args) == 0 {
			return fmt.Errorf("ingest: name a source: aws, aws-feed, azure, file, events or sim")
		}
		return fmt.Errorf("ingest: unknown source %q: want aws, aws-feed, azure, file, events or sim", args[0])
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
	fs.Float64Var(&opts.MaxPrice, "max-price", files.DefaultMaxPrice, "plausible maximum of a spot price in USD/h; a price above it is a bad row")
	fs.StringVar(&opts.Trace.Kind, "trace-kind", "", "skypilot trace: preemption or availability (default: from the path, else preemption)")
	fs.StringVar(&start, "start", "", "skypilot trace: time of its first sample (RFC 3339 or a date, UTC), when its folder is not one the skypilot README dates")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	sources := addSourceFlags(fs)
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if opts.TraceStart, err = parseTime("start", start); err != nil {
		return err
	}
	if len(paths) == 0 {
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
	if err := sources.apply(ctx, s, &opts); err != nil {
		return err
	}
	rep, err := files.Import(ctx, s, paths, opts)
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

// parseInterleaved parses flags that come before, between or after the
// positional arguments (`ingest file x.csv --skip-bad`), which the flag
// package alone stops at; "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// The flag package consumed a "--" before rest if the argument
		// preceding rest was "--": then everything left is positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
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
	var pools int
	var regions, csvPath, end string
	fs := newFlags(e, "ingest sim", "ingest sim [--db PATH] [--seed N] [--days N] [--json]\n"+
		"       spotcast ingest sim --pools N [--days N] [--seed N] [--end TIME] [--regions all|LIST] [--csv OUT.csv[.gz] | --db PATH] [--json]", &c)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed (the same seed and end time give the same market)")
	fs.IntVar(&cfg.Days, "days", 0, fmt.Sprintf("days of simulated history (default %d for the demo market, ending now; 365 for --pools)", sim.DefaultDays))
	fs.IntVar(&pools, "pools", 0, "simulate the full market with this many pools (the whole catalogue of the 17 default regions; 33000 is the real market's scale) instead of the demo market")
	fs.StringVar(&regions, "regions", "all", "full market: all, or comma-separated regions")
	fs.StringVar(&csvPath, "csv", "", "full market: write the price history to this per-AZ CSV `file` (gzip if it ends in .gz), plus FILE.source, instead of the store")
	fs.StringVar(&end, "end", "", "full market: end of the span, RFC 3339 or a date, or \"now\" (default "+sim.DefaultFullEnd.Format("2006-01-02")+", fixed so a seed always gives the same bytes)")
	catalogue := fs.Bool("catalogue", false, "full market with --csv: also write the catalogue, Linux on-demand prices and monthly advisor feeds into the directory OUT.catalogue (OUT without .csv[.gz]), in formats ingest file reads")
	quiet := fs.Bool("quiet", false, "full market: no progress on stderr")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	daysSet := false
	fs.Visit(func(f *flag.Flag) { daysSet = daysSet || f.Name == "days" })
	if daysSet && cfg.Days <= 0 {
		return fmt.Errorf("--days must be > 0")
	}
	if pools < 0 {
		return fmt.Errorf("--pools must be > 0")
	}
	if pools > 0 {
		fc := sim.FullConfig{Seed: cfg.Seed, Pools: pools, Days: cfg.Days}
		if regions != "all" && regions != "" {
			fc.Regions = strings.Split(regions, ",")
		}
		if end == "now" {
			fc.End = time.Now().UTC()
		} else if t, err := parseTime("end", end); err != nil {
			return err
		} else {
			fc.End = t
		}
		var progress io.Writer
		if !*quiet {
			progress = e.stderr
		}
		if *catalogue && csvPath == "" {
			return fmt.Errorf("--catalogue goes with --csv (a store written directly gets the catalogue anyway)")
		}
		return ingestFullSim(ctx, e, c, fc, csvPath, *catalogue, progress)
	}
	if csvPath != "" || end != "" || *catalogue || (regions != "all" && regions != "") {
		return fmt.Errorf("--csv, --catalogue, --end and --regions apply to the full market: give --pools")
	}
	if cfg.Days == 0 {
		cfg.Days = sim.DefaultDays
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

// ingestFullSim writes the full market to a CSV file or into the store
// (one import, like every other source).
func ingestFullSim(ctx context.Context, e env, c common, cfg sim.FullConfig, csvPath string, catalogue bool, progress io.Writer) error {
	m, err := sim.NewFullMarket(cfg)
	if err != nil {
		return fmt.Errorf("ingest sim: %w", err)
	}
	if csvPath != "" {
		sum, err := m.WriteCSVFile(ctx, csvPath, progress)
		if err != nil {
			return fmt.Errorf("ingest sim: %w", err)
		}
		var extra []string
		if catalogue {
			if extra, err = m.WriteCatalogueFiles(sim.CatalogueDir(csvPath)); err != nil {
				return fmt.Errorf("ingest sim: %w", err)
			}
		}
		if c.json {
			return writeJSON(e.stdout, map[string]any{"source": market.SourceSimulated, "csv": csvPath, "catalogue_files": extra, "simulated": sum})
		}
		if len(extra) > 0 {
			fmt.Fprintf(e.stdout, "catalogue: %d files (instance types, on-demand prices, advisor feeds), each with its .source sidecar, in %s\n",
				len(extra), sim.CatalogueDir(csvPath))
		}
		fmt.Fprintf(e.stdout, "simulated full market (source=%s, seed %d, %s .. %s): %d pools in %d regions, %d price rows, %d bytes in %.1fs -> %s (+ %s)\n",
			market.SourceSimulated, sum.Seed, sum.Start.Format(time.RFC3339), sum.End.Format(time.RFC3339), sum.Pools, sum.Regions,
			sum.Prices, sum.Bytes, sum.Seconds, csvPath, ingest.SourceSidecar(csvPath))
		return nil
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	var sum sim.FullSummary
	path := fmt.Sprintf("simulator full market seed=%d pools=%d days=%d end=%s", cfg.Seed, cfg.Pools, int(m.End.Sub(m.Start).Hours()/24), m.End.Format(time.RFC3339))
	st, err := s.Import(ctx, storage.RunInfo{Kind: "sim", Source: market.SourceSimulated, Path: path, Format: "simulated"},
		func(w *storage.Writer) error {
			var err error
			sum, err = m.Write(ctx, w, progress)
			return err
		})
	if err != nil {
		return fmt.Errorf("ingest sim: %w", err)
	}
	if c.json {
		return writeJSON(e.stdout, map[string]any{
			"source": market.SourceSimulated, "simulated": sum, "rows_read": sum.Rows(),
			"rows_stored": st.Stored(), "duplicates": st.Added() - st.Stored(), "tables": st.Tables,
		})
	}
	fmt.Fprintf(e.stdout, "simulated full market (source=%s, seed %d, %s .. %s): %d pools in %d regions, %d price rows; stored %d new rows\n",
		market.SourceSimulated, sum.Seed, sum.Start.Format(time.RFC3339), sum.End.Format(time.RFC3339), sum.Pools, sum.Regions, sum.Prices, st.Stored())
	return nil
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
