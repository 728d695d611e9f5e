// Command spotcast forecasts cloud spot-instance prices and interruption
// risk and turns the forecasts into decisions. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	ctx, stop := interruptible(os.Stderr)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "spotcast:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errReported means the command already printed its failure (for example
// in its JSON report) and only the exit code is left to set.
var errReported = errors.New("failed (reported above)")

// env is what a command reads and writes besides its flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "HTTP API, /metrics and the scheduler (--demo: a simulated market)", runServe},
		{"ingest", "load data: ingest aws | file PATH... | events | sim", runIngest},
		{"stats", "row counts of every table", runStats},
		{"pools", "list pools (filter by region, type, GPU model, GPU memory)", runPools},
		{"prices", "a pool's price points in time order", runPrices},
		{"export", "export parquet --out DIR", runExport},
		{"verify", "check that every row belongs to a committed import (--repair removes the rest)", runVerify},
		{"refit", "fit every pool's forecasts and persist them (serve answers from them)", runRefit},
		{"forecast", "a pool's price or interruption forecast", runForecast},
		{"recommend", "recommend bid | checkpoint | placement | fleet | karpenter | skypilot | plan", runRecommend},
		{"backtest", "rolling-origin backtest of the price and interruption forecasts", runBacktest},
		{"report", "write a report (HTML with charts, CSV, JSON) into --out", runReport},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return flag.ErrHelp
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: spotcast COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'spotcast COMMAND -h' for a command's flags. Results go to stdout (--json for one JSON document); progress and logs go to stderr.")
}
