package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM. Work that cannot be undone once started (an import's COMMIT)
// finishes and says what it stored; a second signal exits at once, saying
// the outcome of an import in progress is unknown and a re-run is safe.
func interruptible(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(stderr, "spotcast: %v: stopping (an import already committing finishes first; signal again to exit now)\n", sig)
		cancel()
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "spotcast: second signal: exiting now; the outcome of an import in progress is unknown: run it again, imports are idempotent")
		os.Exit(130)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}
