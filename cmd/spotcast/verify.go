package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spotcast/spotcast/storage"
)

// runVerify checks the store's integrity: every row belongs to a committed
// import. With --repair it removes the rows that do not (what a crash
// during an import's COMMIT can leave) and clears interrupted imports.
func runVerify(ctx context.Context, e env, args []string) error {
	var c common
	fs := newFlags(e, "verify", "verify [--db PATH] [--repair] [--json]", &c)
	repair := fs.Bool("repair", false, "remove the rows no committed import owns")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	path := c.dbPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store %s does not exist", path)
	}
	s, err := storage.Open(ctx, path, storage.Options{ReadOnly: !*repair, SkipRecovery: true, MemoryLimit: cfg.Storage.MemoryLimit, Threads: cfg.Storage.Threads})
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := s.Verify(ctx, *repair)
	if err != nil {
		return err
	}
	if c.json {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, rep)
		for _, in := range rep.Interrupted {
			fmt.Fprintf(e.stdout, "interrupted import: run %d of %s, started %s by PID %d\n", in.RunID, in.Path, in.Started.Format("2006-01-02T15:04:05Z"), in.PID)
		}
	}
	if !rep.Clean() && !rep.Repaired {
		return fmt.Errorf("store %s needs repair: run spotcast verify --repair --db %s", path, path)
	}
	return nil
}
