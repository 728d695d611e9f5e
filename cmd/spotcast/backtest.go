package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

func runBacktest(ctx context.Context, e env, args []string) error {
	var c common
	var horizon, every, from, to, models, resolution string
	var maxSeries, maxTraces int
	var noInterruptions, placement bool
	var placementRun string
	var k market.PoolKey
	fs := newFlags(e, "backtest", "backtest [--db PATH] [--horizon 7d] [--from T --to T] [--every 7d] [--models a,b] [--json]", &c)
	fs.StringVar(&horizon, "horizon", "7d", "forecast horizon")
	fs.StringVar(&every, "every", "7d", "spacing of the forecast origins")
	fs.StringVar(&from, "from", "", "first origin (default: 12 origins before --to)")
	fs.StringVar(&to, "to", "", "last origin (default: the latest whose whole horizon is observed)")
	fs.StringVar(&models, "models", "", "comma-separated models (default: all: "+strings.Join(forecast.Models(), ", ")+"); the baselines and auto are always included")
	fs.StringVar(&resolution, "resolution", "", "only series of this resolution: change (per-AZ) or 1d (daily)")
	fs.IntVar(&maxSeries, "max-series", 0, "evaluate a deterministic sample of this many series (0: all)")
	fs.IntVar(&maxTraces, "max-traces", 100, "evaluate the interruption forecast on at most this many traces (0: all)")
	fs.BoolVar(&noInterruptions, "no-interruptions", false, "leave out the interruption-forecast backtest")
	fs.BoolVar(&placement, "placement", false, "add the placement backtest: the recommendation's picks over GPU pools against cheapest-now and on-demand")
	fs.StringVar(&placementRun, "placement-run", "7d", "run length of each placement backtest run")
	poolFlags(fs, &k)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	run, err := config.ParseDuration(placementRun)
	if err != nil || run <= 0 {
		return fmt.Errorf("--placement-run %q: want a positive duration such as 7d", placementRun)
	}
	opts := forecast.BacktestOptions{MaxSeries: maxSeries}
	if opts.Horizon, err = config.ParseDuration(horizon); err != nil || opts.Horizon <= 0 {
		return fmt.Errorf("--horizon %q: want a positive duration such as 24h or 7d", horizon)
	}
	if opts.Every, err = config.ParseDuration(every); err != nil || opts.Every <= 0 {
		return fmt.Errorf("--every %q: want a positive duration such as 1d or 7d", every)
	}
	if opts.From, err = parseTime("from", from); err != nil {
		return err
	}
	if opts.To, err = parseTime("to", to); err != nil {
		return err
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && opts.To.Before(opts.From) {
		return fmt.Errorf("--to %s is before --from %s", to, from)
	}
	known := map[string]bool{}
	for _, m := range forecast.Models() {
		known[m] = true
	}
	for _, m := range splitList(models) {
		if !known[m] && m != "auto" && m != "naive_pooled_quantiles" {
			return fmt.Errorf("--models: unknown model %q; known: %s", m, strings.Join(forecast.Models(), ", "))
		}
		opts.Models = append(opts.Models, m)
	}
	switch resolution {
	case "", market.ResolutionChange, market.ResolutionDaily:
	default:
		return fmt.Errorf("--resolution %q: want %s or %s", resolution, market.ResolutionChange, market.ResolutionDaily)
	}
	filter := storage.PoolFilter{Cloud: k.Cloud, Region: k.Region, Zone: k.Zone, InstanceType: k.InstanceType, Product: k.Product}
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	eng := engine.New(s, engine.Options{})
	st := engine.SeriesStore(s)
	if resolution != "" {
		st = resolutionStore{s, resolution}
	}
	rep, err := engine.BacktestPrices(ctx, st, filter, opts, e.stderr)
	switch {
	case errors.Is(err, storage.ErrNotFound) && !noInterruptions:
		// A store of traces alone still has an interruption backtest.
		fmt.Fprintf(e.stderr, "%v; price section left out\n", err)
	case err != nil:
		return fmt.Errorf("backtest: %w", err)
	}
	var availability *hazard.Evaluation
	if !noInterruptions {
		pre, avail, err := eng.BacktestInterruptions(ctx, maxTraces, e.stderr)
		if err != nil {
			return fmt.Errorf("backtest interruptions: %w", err)
		}
		if pre != nil {
			rep.Interruption = *pre
		}
		availability = avail
		if pre == nil && avail == nil {
			fmt.Fprintln(e.stderr, "backtest: no stored interruption traces with running instances; interruption section left out")
		}
	}
	var pb *recommend.PlacementBacktest
	if placement {
		res, err := eng.BacktestPlacement(ctx, filter, resolution, run, e.stderr)
		if err != nil {
			return fmt.Errorf("backtest placement: %w", err)
		}
		pb = &res
	}
	sources, err := poolSources(ctx, s, filter)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, backtestOutput{BacktestReport: rep, Horizon: rep.Horizon.Seconds(), Sources: sources,
			Simulated: slices.Contains(sources, market.SourceSimulated), Availability: availability, Placement: pb})
	}
	if slices.Contains(sources, market.SourceSimulated) {
		fmt.Fprintln(e.stdout, "SIMULATED data: these scores are of the simulated market, not of a real one.")
	}
	fmt.Fprintf(e.stdout, "sources: %s\n", strings.Join(sources, ", "))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tseries\tforecasts\tMASE med\tMAE/naive med\tbeats naive\tpinball\tcov80\tcov95\t\n")
	for _, m := range rep.Models {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.0f%%\t%.5f\t%.3f\t%.3f\t\n", m.Name, m.Series, m.Forecasts, m.MASEMedian, m.MAERatioToNaiveMedian, 100*m.ShareBeatingNaive, m.PinballMean, m.Coverage80, m.Coverage95)
	}
	tw.Flush()
	if ev, ok := rep.Interruption.(hazard.Evaluation); ok {
		writeInterruptions(e, "preemption", ev)
	}
	if availability != nil {
		writeInterruptions(e, "availability (a capacity drop read as losing the nodes)", *availability)
	}
	if pb != nil {
		fmt.Fprintf(e.stdout, "\nplacement backtest, %d origins, %d runs:\n", pb.Origins, len(pb.Runs))
		if err := pb.WriteTable(e.stdout); err != nil {
			return err
		}
	}
	return nil
}

// backtestOutput is the backtest report with the sources of the series it
// scored, so a reader can tell real history from the simulated market.
type backtestOutput struct {
	forecast.BacktestReport
	// Horizon in seconds (the report's own is nanoseconds).
	Horizon   float64  `json:"horizon"`
	Sources   []string `json:"sources"`
	Simulated bool     `json:"simulated"`
	// Availability is the interruption backtest on availability traces
	// (Interruption holds the one on preemption traces and event feeds).
	Availability *hazard.Evaluation           `json:"availability,omitempty"`
	Placement    *recommend.PlacementBacktest `json:"placement,omitempty"`
}

// writeInterruptions prints an interruption backtest: per trace set and
// over all, the model and every baseline with Brier score, log loss and
// expected calibration error, and the model's reliability diagram.
func writeInterruptions(e env, kind string, ev hazard.Evaluation) {
	fmt.Fprintf(e.stdout, "\ninterruption forecasts on %s traces (%d), P(at least one running node interrupted in the next hour):\n", kind, ev.Traces)
	cards := append([]hazard.SetEval{{Set: "all", Traces: ev.Traces, Scorecard: ev.Scorecard}}, ev.Sets...)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "set\tforecaster\thours\tinterrupted\tBrier\tlog loss\tECE\t\n")
	for _, c := range cards {
		rows := append([]hazard.NamedScores{{Name: "model", Scores: c.Model}}, c.Baselines()...)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.4f\t%.4f\t%.3f\t\n", c.Set, r.Name, r.Scores.Forecasts, r.Scores.Positives, r.Scores.Brier, r.Scores.LogLoss, r.Scores.ECE)
		}
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "model reliability over all traces (forecast bin: forecasts, mean forecast, observed share):")
	for _, b := range ev.Model.Bins {
		fmt.Fprintf(e.stdout, "  [%.1f, %.1f): %d, %.3f, %.3f\n", b.Lo, b.Hi, b.Count, b.MeanForecast, b.Observed)
	}
}

// poolSources lists the distinct sources of the pools f selects.
func poolSources(ctx context.Context, s *storage.Store, f storage.PoolFilter) ([]string, error) {
	pools, err := s.Pools(ctx, f)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, p := range pools {
		if !seen[p.Source] {
			seen[p.Source] = true
			out = append(out, p.Source)
		}
	}
	slices.Sort(out)
	return out, nil
}

// resolutionStore narrows a store's pools to one resolution.
type resolutionStore struct {
	*storage.Store
	resolution string
}

func (r resolutionStore) Pools(ctx context.Context, f storage.PoolFilter) ([]storage.PoolInfo, error) {
	all, err := r.Store.Pools(ctx, f)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if p.Resolution == r.resolution {
			out = append(out, p)
		}
	}
	return out, nil
}
