package storage

import (
	"context"
	"strings"
	"testing"
)

// TestMemoryLimitAndThreads: the store runs with the memory limit and
// threads it was opened with, and with half of RAM and GOMAXPROCS by
// default; a limit DuckDB would not take fails the open, naming it.
func TestMemoryLimitAndThreads(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/s.duckdb", Options{MemoryLimit: "512MiB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mem, threads, err := s.Settings()
	if err != nil || threads != 1 || !strings.Contains(mem, "MiB") && !strings.Contains(mem, "MB") {
		t.Errorf("settings %q, %d, %v; want 512 MiB and 1 thread", mem, threads, err)
	}
	m, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if mem, _, err := m.Settings(); err != nil || DefaultMemoryLimit() != "" && mem == "" {
		t.Errorf("default settings %q, %v", mem, err)
	}
	if _, err := Open(ctx, "", Options{MemoryLimit: "lots"}); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Errorf("memory limit lots: %v", err)
	}
}
