package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
)

// CSVFiles renders the report's tables as CSV files for spreadsheets,
// keyed by file name. Every row carries the source of its data; numbers
// are plain (no units or thousands separators), times RFC 3339 UTC.
func CSVFiles(r Report) (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(name string, header []string, rows [][]string) error {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.Write(header); err != nil {
			return err
		}
		if err := w.WriteAll(rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = b.Bytes()
		return nil
	}
	poolHeader := []string{"cloud", "region", "zone", "instance_type", "product"}

	gpu := func(rows []GPUPool) [][]string {
		var out [][]string
		for _, g := range rows {
			out = append(out, cat([]string{itoa(g.Rank), g.GPUModel}, poolCols(g.Pool), []string{g.Resolution, itoa(g.GPUs), num(g.GPUMemoryGiB),
				num(g.PriceUSDPerHour), num(g.PricePerGPUHour), stamp(g.PriceTime), num(g.OnDemandPerGPU), num(g.HazardPerHour), num(g.OverheadRatio),
				num(g.CostPerUsefulGPUHour), g.Source}))
		}
		return out
	}
	gpuHeader := cat([]string{"rank", "gpu_model"}, poolHeader, []string{"resolution", "gpus", "gpu_memory_gib", "price_usd_per_hour",
		"price_per_gpu_hour", "price_time", "on_demand_per_gpu_hour", "hazard_per_instance_hour", "expected_overhead_ratio",
		"cost_per_useful_gpu_hour", "source"})
	if err := add("cheapest_by_price.csv", gpuHeader, gpu(r.Cheapest.ByPrice)); err != nil {
		return nil, err
	}
	if err := add("cheapest_by_useful_cost.csv", gpuHeader, gpu(r.Cheapest.ByUsefulCost)); err != nil {
		return nil, err
	}

	var moves [][]string
	for _, set := range []struct {
		window string
		rows   []Move
	}{{"24h", r.Moves.Day}, {"7d", r.Moves.Week}} {
		for _, m := range set.rows {
			moves = append(moves, cat([]string{set.window}, poolCols(m.Pool), []string{m.Resolution, m.GPUModel, num(m.From), num(m.To), num(m.Change), m.Source}))
		}
	}
	if err := add("price_moves.csv", cat([]string{"window"}, poolHeader, []string{"resolution", "gpu_model", "from_usd_per_hour", "to_usd_per_hour", "change", "source"}), moves); err != nil {
		return nil, err
	}

	var fc [][]string
	qHeader := []string{}
	for _, l := range forecast.Levels {
		qHeader = append(qHeader, "q"+strconv.FormatFloat(l, 'f', -1, 64))
	}
	for _, p := range r.Forecasts.Pools {
		for _, h := range p.History {
			fc = append(fc, cat(poolCols(p.Pool), []string{p.Resolution, "observed", stamp(h.Time), num(h.Price), "", ""}, make([]string, len(qHeader)), []string{p.Source}))
		}
		for _, st := range p.Steps {
			qs := make([]string, len(forecast.Levels))
			for i, l := range forecast.Levels {
				qs[i] = num(quantile(st, l, 0))
			}
			fc = append(fc, cat(poolCols(p.Pool), []string{p.Resolution, "forecast:" + p.Model, stamp(st.Time), "", num(st.Mean), num(st.Median)}, qs, []string{p.Source}))
		}
	}
	if err := add("forecasts.csv", cat(poolHeader, []string{"resolution", "kind", "time", "observed_usd_per_hour", "mean", "median"}, qHeader, []string{"source"}), fc); err != nil {
		return nil, err
	}

	var prof [][]string
	for d := range 7 {
		for h := range 24 {
			prof = append(prof, []string{weekdays[d], itoa(h), num(r.Interruptions.Profile[d][h]), itoa(r.Interruptions.Observed[d][h]), r.Interruptions.Source})
		}
	}
	if err := add("interruption_profile.csv", []string{"weekday", "hour_utc", "hazard_multiplier", "observed_interruptions", "source"}, prof); err != nil {
		return nil, err
	}
	var win [][]string
	for _, p := range r.Interruptions.Watched {
		if len(p.Windows) == 0 {
			win = append(win, cat(poolCols(p.Pool), []string{num(p.BaselinePerHour), num(p.ProbWithin24h), num(p.MTBFHours), "", "", "", "", p.Source}))
		}
		for _, w := range p.Windows {
			win = append(win, cat(poolCols(p.Pool), []string{num(p.BaselinePerHour), num(p.ProbWithin24h), num(p.MTBFHours), stamp(w.Start), stamp(w.End), num(w.PeakRate), num(w.MeanRate), p.Source}))
		}
	}
	if err := add("interruption_windows.csv", cat(poolHeader, []string{"baseline_per_instance_hour", "prob_interrupted_within_24h", "mtbf_hours",
		"window_start", "window_end", "window_peak_rate", "window_mean_rate", "source"}), win); err != nil {
		return nil, err
	}

	var recs [][]string
	for _, w := range r.Recommendations.Workloads {
		maxPrice, prob, interval, monthly := "", "", "", ""
		if w.MaxPrice != nil {
			maxPrice, prob = num(w.MaxPrice.MaxPrice), num(w.MaxPrice.ProbStaysUnder)
		}
		if w.Checkpoint != nil {
			interval = num(w.Checkpoint.IntervalSeconds)
		}
		if w.Cost != nil {
			monthly = num(w.Cost.MonthlySpotUSD)
		}
		if len(w.Placement) == 0 {
			recs = append(recs, cat([]string{w.Workload.Name, w.Description, ""}, make([]string, len(poolHeader)), []string{"", "", "", "", "", "", "", "", w.Error, w.Source}))
		}
		for i, p := range w.Placement {
			row := cat([]string{w.Workload.Name, w.Description, itoa(i + 1)}, poolCols(p.Pool), []string{itoa(p.Instances), num(p.PriceUSDPerHour),
				num(p.CostPerUsefulGPUHr), num(p.OverheadRatio)})
			if i == 0 {
				row = append(row, maxPrice, prob, num(p.CheckpointInterval), interval, monthly, w.Error, w.Source)
			} else {
				row = append(row, "", "", num(p.CheckpointInterval), "", "", "", w.Source)
			}
			recs = append(recs, row)
		}
	}
	if err := add("recommendations.csv", cat([]string{"workload", "description", "rank"}, poolHeader, []string{"instances", "price_usd_per_hour",
		"cost_per_useful_gpu_hour", "expected_overhead_ratio", "max_price_usd_per_hour", "prob_stays_under", "pool_checkpoint_interval_seconds",
		"checkpoint_interval_seconds", "monthly_spot_usd", "error", "source"}), recs); err != nil {
		return nil, err
	}

	var sav [][]string
	for _, s := range r.Savings.Rows {
		sav = append(sav, []string{s.Name, s.Kind, num(s.SpotUSDPerHour), num(s.OnDemandUSDPerHour), num(s.MonthlySpotUSD), num(s.MonthlyOnDemandUSD),
			num(s.MonthlySavingsUSD), num(s.SavingsRatio), s.Source})
	}
	if err := add("savings.csv", []string{"name", "kind", "spot_usd_per_hour", "on_demand_usd_per_hour", "monthly_spot_usd", "monthly_on_demand_usd",
		"monthly_savings_usd", "savings_ratio", "source"}, sav); err != nil {
		return nil, err
	}

	var sc [][]string
	for _, m := range r.Scorecard.Models {
		sc = append(sc, []string{m.Name, r.Scorecard.Horizon, itoa(r.Scorecard.Origins), itoa(m.Series), itoa(m.Forecasts), num(m.MASEMedian),
			num(m.MAERatioToNaiveMedian), num(m.ShareBeatingNaive), num(m.MAPE), num(m.PinballMean), num(m.Coverage80), num(m.Coverage95),
			num(m.CoveragePIT80), num(m.CoveragePIT95), r.Scorecard.Source})
	}
	if err := add("scorecard.csv", []string{"model", "horizon", "origins", "series", "forecasts", "mase_median", "mae_ratio_to_naive_median",
		"share_beating_naive", "mape_pct", "pinball_mean", "coverage_80", "coverage_95", "coverage_pit_80", "coverage_pit_95", "source"}, sc); err != nil {
		return nil, err
	}

	var fr [][]string
	for _, f := range r.Freshness.Sources {
		fr = append(fr, []string{f.Source, stamp(f.NewestPoint), stamp(f.LastIngest), strconv.FormatInt(f.Rows, 10), num(f.AgeHours), strconv.FormatBool(f.Stale)})
	}
	if err := add("freshness.csv", []string{"source", "newest_point", "last_ingest", "rows", "age_hours", "stale"}, fr); err != nil {
		return nil, err
	}
	return out, nil
}

func poolCols(k market.PoolKey) []string {
	return []string{k.Cloud, k.Region, k.Zone, k.InstanceType, k.Product}
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func num(f float64) string { return strconv.FormatFloat(f, 'g', 10, 64) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
