package storage

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// DuckDB's own default memory limit is 80% of RAM, but some of its
// operations allocate past the limit, and the Go process (the server's
// caches, an import's batches) shares the machine: the store takes half
// of RAM unless told otherwise, the share DuckDB's out-of-memory guide
// suggests. Threads default to the cores Go may use.

// DefaultMemoryLimit is half of the machine's RAM in DuckDB's syntax
// ("12GiB"), or "" (DuckDB's default) where RAM cannot be read.
func DefaultMemoryLimit() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// MemTotal:       24592108 kB
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil || kb <= 0 {
				return ""
			}
			return fmt.Sprintf("%dMiB", kb/2/1024)
		}
	}
	return ""
}

// settings are the DuckDB options Open sets (in the DSN, so they hold
// from the first statement on).
func (o Options) settings() url.Values {
	v := url.Values{}
	mem := o.MemoryLimit
	if mem == "" {
		mem = DefaultMemoryLimit()
	}
	if mem != "" {
		v.Set("memory_limit", strings.ReplaceAll(mem, " ", ""))
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	v.Set("threads", strconv.Itoa(threads))
	return v
}

// Settings reads DuckDB's memory_limit and threads as the store runs
// with them.
func (s *Store) Settings() (memoryLimit string, threads int, err error) {
	err = s.db.QueryRow(`SELECT current_setting('memory_limit'), current_setting('threads')`).Scan(&memoryLimit, &threads)
	if err != nil {
		return "", 0, fmt.Errorf("store settings: %w", err)
	}
	return memoryLimit, threads, nil
}
