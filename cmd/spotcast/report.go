package main

import (
	"context"
	"fmt"
	"github.com/spotcast/spotcast/engine"
	"path/filepath"

	"github.com/spotcast/spotcast/report"
)

func runReport(ctx context.Context, e env, args []string) error {
	var c common
	var out, formats, asOf string
	fs := newFlags(e, "report", "report [--db PATH] [--out DIR] [--format html,csv,json] [--as-of T] [--config FILE] [--json]", &c)
	fs.StringVar(&out, "out", "", "folder to write the report folder into (default: the config's report.out_dir, ./reports)")
	fs.StringVar(&formats, "format", "", "comma-separated formats: html, csv, json (default: the config's report.formats, all three)")
	fs.StringVar(&asOf, "as-of", "", "time the report speaks of (default: the newest stored price)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	set, err := report.SettingsFrom(cfg.Report)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if out != "" {
		set.OutDir = out
	}
	if formats != "" {
		if set.Formats, err = report.ParseFormats(formats); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	opts := report.Options{}
	if opts.AsOf, err = parseTime("as-of", asOf); err != nil {
		return err
	}
	if opts.Watch, err = report.WatchKeys(cfg.Watch); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(e.stderr, "report: generating from %s\n", s.Path())
	w, err := set.Produce(ctx, engine.New(s, engine.Options{}), opts)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, w)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", w.Dir)
	for _, f := range w.Files {
		fmt.Fprintf(e.stdout, "  %s\n", filepath.Join(w.Dir, f))
	}
	return nil
}
