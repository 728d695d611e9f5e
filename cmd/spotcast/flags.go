package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/storage"
)

// common holds the flags most commands share.
type common struct {
	db      string
	cfgPath string
	json    bool
}

// newFlags returns a FlagSet for "spotcast NAME" with --db, --config and
// --json registered.
func newFlags(e env, name, synopsis string, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet("spotcast "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: spotcast %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	if c != nil {
		fs.StringVar(&c.db, "db", "", "DuckDB store `path` (default $SPOTCAST_DB, the config's db, or ./spotcast.duckdb)")
		fs.StringVar(&c.cfgPath, "config", os.Getenv("SPOTCAST_CONFIG"), "YAML config `file` (default $SPOTCAST_CONFIG)")
		fs.BoolVar(&c.json, "json", false, "print one JSON document on stdout")
	}
	return fs
}

// config loads the config file if one was named, else the defaults.
func (c *common) config() (config.Config, error) {
	if c.cfgPath == "" {
		return config.Default(), nil
	}
	return config.Load(c.cfgPath)
}

// dbPath resolves the store path: flag, then $SPOTCAST_DB, then config.
func (c *common) dbPath(cfg config.Config) string {
	switch {
	case c.db != "":
		return c.db
	case os.Getenv("SPOTCAST_DB") != "":
		return os.Getenv("SPOTCAST_DB")
	case cfg.DB != "":
		return cfg.DB
	}
	return storage.DefaultPath
}

// open loads the config and opens the store.
func (c *common) open(ctx context.Context, readOnly bool) (*storage.Store, config.Config, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, cfg, err
	}
	path := c.dbPath(cfg)
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, cfg, fmt.Errorf("store %s does not exist: load data first (spotcast ingest file|aws|sim --db %s)", path, path)
		}
	}
	s, err := storage.Open(ctx, path, storage.Options{ReadOnly: readOnly, MemoryLimit: cfg.Storage.MemoryLimit, Threads: cfg.Storage.Threads})
	if err != nil {
		return nil, cfg, err
	}
	if r := s.Recovery(); r != nil && !r.Clean() {
		fmt.Fprintf(os.Stderr, "spotcast: %s: %s\n", r.Reason, r)
	}
	return s, cfg, nil
}

// parse parses args and rejects stray positional arguments unless allowed.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !positional && fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseTime accepts RFC 3339 or a date (UTC).
func parseTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2021-05-01T00:00:00Z) or a date (2021-05-01)", flagName, s)
}

// deprecatedAlias registers old as another name of the flag name: one
// name per concept across the CLI, HTTP and gRPC (--run-length is
// run_length), with the older name still accepted for the scripts that
// use it.
func deprecatedAlias(fs *flag.FlagSet, old, name string) {
	fs.Var(fs.Lookup(name).Value, old, "deprecated: the former name of --"+name)
}
