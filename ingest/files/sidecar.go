package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// sidecarSource reads the source sidecar of a data file
// (ingest.SourceSidecar: PATH.source), which the market simulator writes
// beside the per-AZ CSVs it generates, since that format has no source
// column. It returns "" when there is none. The only source a sidecar may
// declare is "simulated": a sidecar can mark a file's rows as simulated,
// never pass them off as coming from a real source.
func sidecarSource(path string) (string, error) {
	name := ingest.SourceSidecar(path)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	src := strings.TrimSpace(string(b))
	if src != market.SourceSimulated {
		return "", fmt.Errorf("%s: declares source %q; a source sidecar may only declare %q: %w",
			name, firstLine(src), market.SourceSimulated, ingest.ErrBadInput)
	}
	return src, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// isSidecar: a source sidecar, not data of its own.
func isSidecar(name string) bool {
	return strings.HasSuffix(name, ingest.SourceSidecar(""))
}
