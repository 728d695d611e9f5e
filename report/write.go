package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Format is an output format.
type Format string

// Formats Write knows.
const (
	HTML Format = "html"
	CSV  Format = "csv"
	JSON Format = "json"
)

// AllFormats are every format, in the order Write writes them.
var AllFormats = []Format{HTML, CSV, JSON}

// ParseFormats reads a comma-separated list such as "html,csv".
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !slices.Contains(AllFormats, Format(f)) {
			return nil, fmt.Errorf("format %q: want html, csv or json", f)
		}
		if !slices.Contains(out, Format(f)) {
			out = append(out, Format(f))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no format: want one or more of html, csv, json")
	}
	return out, nil
}

// dirPrefix starts the name of every report folder; Prune touches only
// folders named like this.
const dirPrefix = "spotcast-report-"

// dirTime is the layout of the timestamp in a report folder's name.
const dirTime = "20060102T150405Z"

// Written says what Write wrote.
type Written struct {
	// Dir is the report's folder; Files are its files, relative to Dir.
	Dir   string   `json:"dir"`
	Files []string `json:"files"`
}

// Write writes r into a new folder under out named after r.Generated
// (out/spotcast-report-20260304T060000Z), in the given formats: report.html
// (self-contained, charts embedded), csv/*.csv, report.json, and the
// charts as charts/*.png. The folder appears complete or not at all: it
// is written under a temporary name and renamed at the end.
func Write(r Report, out string, formats []Format) (Written, error) {
	if len(formats) == 0 {
		formats = AllFormats
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Written{}, fmt.Errorf("report output folder %s: %w", out, err)
	}
	name := dirPrefix + r.Generated.UTC().Format(dirTime)
	final := filepath.Join(out, name)
	for i := 2; ; i++ {
		if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
			break
		}
		final = filepath.Join(out, fmt.Sprintf("%s-%d", name, i))
	}
	tmp, err := os.MkdirTemp(out, ".tmp-"+name+"-")
	if err != nil {
		return Written{}, fmt.Errorf("report output folder %s: %w", out, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Written{}, fmt.Errorf("report output folder %s: %w", out, err)
	}
	w := Written{Dir: final}
	put := func(rel string, b []byte) error {
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		w.Files = append(w.Files, filepath.ToSlash(rel))
		return nil
	}
	// Charts first, so the JSON names their files.
	for i := range r.Charts {
		c := &r.Charts[i]
		c.File = "charts/" + c.Name + ".png"
		if err := put(c.File, c.PNG); err != nil {
			return Written{}, fmt.Errorf("report %s: %w", final, err)
		}
	}
	for _, f := range formats {
		var err error
		switch f {
		case HTML:
			var b []byte
			if b, err = HTMLBytes(r); err == nil {
				err = put("report.html", b)
			}
		case JSON:
			var b []byte
			if b, err = json.MarshalIndent(r, "", "  "); err == nil {
				err = put("report.json", append(b, '\n'))
			}
		case CSV:
			var files map[string][]byte
			if files, err = CSVFiles(r); err == nil {
				names := make([]string, 0, len(files))
				for n := range files {
					names = append(names, n)
				}
				slices.Sort(names)
				for _, n := range names {
					if err = put("csv/"+n, files[n]); err != nil {
						break
					}
				}
			}
		default:
			err = fmt.Errorf("unknown format %q", f)
		}
		if err != nil {
			return Written{}, fmt.Errorf("report %s: %s: %w", final, f, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return Written{}, fmt.Errorf("report %s: %w", final, err)
	}
	ok = true
	return w, nil
}

// folderTime parses the time in a report folder's name.
func folderTime(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, dirPrefix) {
		return time.Time{}, false
	}
	rest := strings.TrimPrefix(name, dirPrefix)
	if len(rest) < len(dirTime) {
		return time.Time{}, false
	}
	ts, suffix := rest[:len(dirTime)], rest[len(dirTime):]
	if suffix != "" {
		if suffix[0] != '-' || len(suffix) < 2 || strings.Trim(suffix[1:], "0123456789") != "" {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(dirTime, ts)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
