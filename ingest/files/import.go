package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Report is what Import did: totals and one entry per file. Its JSON is
// the output contract of `spotcast ingest file --json`.
type Report struct {
	RowsRead   int64        `json:"rows_read"`
	RowsStored int64        `json:"rows_stored"`
	Duplicates int64        `json:"duplicates"`
	BadRows    int64        `json:"bad_rows"`
	Files      []FileReport `json:"files"`
}

// FileReport is one file's import.
type FileReport struct {
	Path   string `json:"path"`
	Format Format `json:"format"`
	// RowsRead counts the records read (data rows of a CSV, array elements
	// of a JSON document, samples of a trace).
	RowsRead int64 `json:"rows_read"`
	// RowsStored counts rows that were new to the store.
	RowsStored int64 `json:"rows_stored"`
	// Duplicates counts rows handed to the store that it already had (or
	// that repeated within the file): handed minus stored.
	Duplicates int64 `json:"duplicates"`
	// BadRows counts bad records skipped (SkipBad); BadReasons are the
	// first few.
	BadRows    int64    `json:"bad_rows"`
	BadReasons []string `json:"bad_reasons,omitempty"`
	// Skipped counts values that are valid but have nothing to store (an
	// on-demand price of 0, meaning unknown), by reason.
	Skipped     int64            `json:"skipped"`
	SkipReasons map[string]int64 `json:"skip_reasons,omitempty"`
	// Tables breaks rows handed/stored down by table.
	Tables map[string]storage.TableStats `json:"tables"`
	// Info lists facts about the input worth knowing (where a date came
	// from, ignored keys).
	Info    []string `json:"info,omitempty"`
	RunID   int64    `json:"run_id,omitempty"`
	SHA256  string   `json:"sha256,omitempty"`
	Seconds float64  `json:"seconds"`
	// Error is why the file was not imported ("" if it was). A failed
	// file stores nothing.
	Error string `json:"error"`
}

// Import imports each file (a directory stands for the files under it,
// except README, LICENSE, .md and .txt files and hidden ones) into store,
// one transaction per file: a file that fails leaves the store as it was
// and does not stop the others. The returned error, non-nil when any file
// failed, names how many failed and the first failure; the Report has
// every file's outcome either way.
func Import(ctx context.Context, store *storage.Store, paths []string, opts Options) (Report, error) {
	var rep Report
	files, listErrs := expand(paths)
	var failed []string
	for _, e := range listErrs {
		rep.Files = append(rep.Files, FileReport{Path: e.path, Error: e.err.Error(), Tables: map[string]storage.TableStats{}})
		failed = append(failed, e.err.Error())
	}
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		fr := importFile(ctx, store, path, opts)
		rep.RowsRead += fr.RowsRead
		rep.RowsStored += fr.RowsStored
		rep.Duplicates += fr.Duplicates
		rep.BadRows += fr.BadRows
		rep.Files = append(rep.Files, fr)
		if fr.Error != "" {
			failed = append(failed, fr.Error)
		}
	}
	if len(failed) > 0 {
		n := len(files) + len(listErrs)
		if len(failed) == 1 {
			return rep, fmt.Errorf("1 of %d files failed: %s", n, failed[0])
		}
		return rep, fmt.Errorf("%d of %d files failed; first: %s", len(failed), n, failed[0])
	}
	return rep, nil
}

func importFile(ctx context.Context, store *storage.Store, path string, opts Options) (fr FileReport) {
	fr = FileReport{Path: path, Tables: map[string]storage.TableStats{}}
	start := time.Now()
	if opts.Now != nil {
		start = opts.Now()
	}
	defer func() {
		end := time.Now()
		if opts.Now != nil {
			end = opts.Now()
		}
		fr.Seconds = end.Sub(start).Seconds()
	}()
	fail := func(err error) FileReport {
		fr.Error = err.Error()
		return fr
	}
	sum, modTime, err := hashFile(path)
	if err != nil {
		return fail(err)
	}
	fr.SHA256 = sum
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	in, err := open(f, path, opts.Format)
	if err != nil {
		return fail(err)
	}
	defer in.close()
	fr.Format = in.format
	o := opts
	o.modTime = modTime
	if o.Source == "" {
		o.Source = market.SourceFile + ":" + filepath.Base(path)
	}
	if src, err := sidecarSource(path); err != nil {
		return fail(err)
	} else if src != "" {
		o.Source = src
		fr.Info = append(fr.Info, "rows stored with source "+src+", as "+ingest.SourceSidecar(filepath.Base(path))+" declares")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	var res Result
	st, err := store.Import(ctx, storage.RunInfo{
		Kind: "file", Source: o.Source, Path: abs, Format: string(in.format), SHA256: sum,
	}, func(w *storage.Writer) error {
		var perr error
		res, perr = parse(ctx, in, path, w, o)
		return perr
	})
	fr.RowsRead = res.Read
	fr.BadRows = res.Bad
	fr.BadReasons = res.BadReasons
	fr.Skipped = res.Skipped
	fr.SkipReasons = res.SkipReasons
	fr.Info = append(fr.Info, res.Info...)
	if err != nil {
		return fail(err)
	}
	fr.RunID = st.RunID
	fr.Tables = st.Tables
	fr.RowsStored = st.Stored()
	fr.Duplicates = st.Added() - st.Stored()
	return fr
}

// hashFile returns the SHA-256 of the file's bytes (as stored, before any
// decompression) and its modification time.
func hashFile(path string) (string, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", time.Time{}, err
	}
	if fi.IsDir() {
		return "", time.Time{}, fmt.Errorf("%s: is a directory", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), fi.ModTime(), nil
}

type listErr struct {
	path string
	err  error
}

// expand replaces directories by the data files under them, sorted.
func expand(paths []string) ([]string, []listErr) {
	var out []string
	var errs []listErr
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, listErr{p, err})
			continue
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() || notData(name) || isSidecar(name) {
				return nil
			}
			found = append(found, path)
			return nil
		})
		if err != nil {
			errs = append(errs, listErr{p, err})
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, errs
}

// notData: documentation that sits beside data files.
func notData(name string) bool {
	up := strings.ToUpper(name)
	return strings.HasPrefix(up, "README") || strings.HasPrefix(up, "LICENSE") ||
		strings.HasSuffix(up, ".MD") || strings.HasSuffix(up, ".TXT")
}
