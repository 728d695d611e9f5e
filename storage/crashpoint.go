package storage

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CrashEnv names the environment variable the crash-injection tests set to
// make a spotcast process signal itself at a chosen point of an import or
// of Close. Nothing else sets it; unset, crashPoint costs one comparison.
//
// Its value is PHASE[#N][+DELAY]:SIGNAL, for example "commit+3ms:KILL"
// (SIGKILL 3 ms after COMMIT starts), "fill#4:TERM" (SIGTERM when the
// fourth price batch leaves the parser) or "trace" (print every phase with
// its time since start to stderr, so a test can learn how long each phase
// takes). TERM2 sends SIGTERM twice, 1 ms apart. Phases, in the order an import passes them:
//
//	fill        a batch of parsed rows is handed to the appending goroutine
//	append      the appending goroutine has appended a batch
//	merge       a staging table is about to be merged into its table
//	commit      COMMIT is about to run
//	committed   COMMIT has returned
//	checkpoint  Close is about to CHECKPOINT
const CrashEnv = "SPOTCAST_CRASH_AT"

type crashSpec struct {
	phase string
	n     int // the occurrence that fires (1-based)
	delay time.Duration
	sig   syscall.Signal
	twice bool // a second signal 1 ms after the first
	trace bool
}

var (
	crashMu    sync.Mutex
	crash      *crashSpec
	crashSeen  = map[string]int{}
	crashStart = time.Now()
)

func init() {
	v := os.Getenv(CrashEnv)
	if v == "" {
		return
	}
	spec, err := parseCrashSpec(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spotcast: ignoring %s=%q: %v\n", CrashEnv, v, err)
		return
	}
	crash = spec
}

func parseCrashSpec(v string) (*crashSpec, error) {
	if v == "trace" {
		return &crashSpec{trace: true}, nil
	}
	point, sig, ok := strings.Cut(v, ":")
	if !ok {
		return nil, fmt.Errorf("want PHASE[#N][+DELAY]:SIGNAL")
	}
	s := &crashSpec{n: 1}
	switch sig {
	case "KILL":
		s.sig = syscall.SIGKILL
	case "TERM":
		s.sig = syscall.SIGTERM
	case "TERM2":
		s.sig, s.twice = syscall.SIGTERM, true
	case "INT":
		s.sig = syscall.SIGINT
	default:
		return nil, fmt.Errorf("signal %q: want KILL, TERM, TERM2 or INT", sig)
	}
	if p, d, ok := strings.Cut(point, "+"); ok {
		delay, err := time.ParseDuration(d)
		if err != nil {
			return nil, err
		}
		s.delay, point = delay, p
	}
	if p, n, ok := strings.Cut(point, "#"); ok {
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 {
			return nil, fmt.Errorf("occurrence %q: want a positive integer", n)
		}
		s.n, point = k, p
	}
	s.phase = point
	return s, nil
}

// crashPoint marks that phase begins. Under CrashEnv it signals the
// process itself when the chosen occurrence of the chosen phase comes
// (after the chosen delay, so the signal lands inside the phase).
func crashPoint(phase string) {
	if crash == nil {
		return
	}
	crashMu.Lock()
	defer crashMu.Unlock()
	crashSeen[phase]++
	if crash.trace {
		fmt.Fprintf(os.Stderr, "crashpoint %s #%d at %dus\n", phase, crashSeen[phase], time.Since(crashStart).Microseconds())
		return
	}
	if phase != crash.phase || crashSeen[phase] != crash.n {
		return
	}
	sig, twice := crash.sig, crash.twice
	kill := func() {
		p, err := os.FindProcess(os.Getpid())
		if err != nil {
			return
		}
		p.Signal(sig)
		if twice {
			time.Sleep(time.Millisecond)
			p.Signal(sig)
		}
	}
	if crash.delay == 0 {
		kill()
		return
	}
	time.AfterFunc(crash.delay, kill)
}
