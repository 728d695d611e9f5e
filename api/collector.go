package api

import (
	"context"
	"github.com/spotcast/spotcast/market"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spotcast/spotcast/storage"
)

// collectTimeout bounds the store reads of one scrape.
const collectTimeout = 10 * time.Second

var poolLabels = []string{"cloud", "region", "zone", "instance_type", "product", "source"}

func poolDesc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, poolLabels...), extra...), nil)
}

// Collector publishes what the store and the newest refit say: per watched
// pool its price, forecasts and recommendations (from the Service's
// snapshot, so a scrape never fits a model), per source the freshness of
// the data (read from the store at scrape time, so a stale feed shows even
// when nothing else runs), and the rolling backtest quality per model.
// Per-pool series exist only for the watched pools, never every pool.
type Collector struct {
	svc *Service

	price, onDemand, quantile, prob, how, score, bucket, maxPrice, ckpt, found *prometheus.Desc

	refitTime, refitDuration, watched, simulated *prometheus.Desc

	runTime, runPools, runFailed *prometheus.Desc

	srcLastIngest, srcNewest, srcAge, srcRows, scrapeErr *prometheus.Desc

	btMASE, btCoverage, btSeries, btTime *prometheus.Desc
}

// NewCollector returns the Collector of svc; register it on the
// exporter's registry.
func NewCollector(svc *Service) *Collector {
	return &Collector{
		svc:      svc,
		price:    poolDesc("spotcast_pool_spot_price_usd_per_hour", "Latest spot price of a watched pool."),
		onDemand: poolDesc("spotcast_pool_on_demand_price_usd_per_hour", "On-demand price of the watched pool's type in its region."),
		quantile: poolDesc("spotcast_pool_price_forecast_usd_per_hour", "Forecast spot price quantile at a horizon (level 0.5 is the median; 0.05 and 0.95 bound the 90% band).", "horizon", "level"),
		prob:     poolDesc("spotcast_pool_interruption_probability", "Forecast probability (0-1) that one instance started now is interrupted within the window.", "window"),
		how:      poolDesc("spotcast_pool_hourly_interruption_probability", "Forecast probability (0-1) that one instance is interrupted during the given hour of the coming week (hour_of_week 0 is Monday 00:00 UTC).", "hour_of_week"),
		score:    poolDesc("spotcast_pool_placement_score", "Newest Spot Placement Score (1-10) for the pool's zone or region."),
		bucket:   poolDesc("spotcast_pool_advisor_interruption_band", "Spot Instance Advisor interruption-frequency bucket (0: <5%, 1: 5-10%, 2: 10-15%, 3: 15-20%, 4: >20%)."),
		maxPrice: poolDesc("spotcast_pool_recommended_max_price_usd_per_hour", "Recommended max price for a 24h run at 95% confidence that the price stays under it."),
		ckpt:     poolDesc("spotcast_pool_checkpoint_interval_seconds", "Recommended checkpoint interval for a 24h job with a 5 min checkpoint and a 10 min restart."),
		found:    poolDesc("spotcast_pool_up", "1 if the watched pool is stored and its forecasts were computed without error, else 0."),

		refitTime:     prometheus.NewDesc("spotcast_refit_timestamp_seconds", "Unix time of the newest refit of the watched pools' forecasts.", nil, nil),
		refitDuration: prometheus.NewDesc("spotcast_refit_duration_seconds", "How long the newest refit took.", nil, nil),
		watched:       prometheus.NewDesc("spotcast_watched_pools", "Number of watched pools.", nil, nil),
		simulated:     prometheus.NewDesc("spotcast_data_simulated", "1 if the store holds data from the market simulator (demo), else 0.", nil, nil),

		runTime:   prometheus.NewDesc("spotcast_forecast_run_timestamp_seconds", "Unix time the newest persisted refit of every pool's forecasts read its data up to.", nil, nil),
		runPools:  prometheus.NewDesc("spotcast_forecast_served_pools", "Pools whose persisted forecasts are served from memory.", nil, nil),
		runFailed: prometheus.NewDesc("spotcast_forecast_run_failed_pools", "Pools the newest refit could not fit (computed on request instead).", nil, nil),

		srcLastIngest: prometheus.NewDesc("spotcast_source_last_ingest_timestamp_seconds", "Unix time of the newest stored row's fetch, per source kind.", []string{"source"}, nil),
		srcNewest:     prometheus.NewDesc("spotcast_source_newest_point_timestamp_seconds", "Unix time the newest stored data point speaks of, per source kind.", []string{"source"}, nil),
		srcAge:        prometheus.NewDesc("spotcast_source_newest_point_age_seconds", "Age of the newest stored data point, per source kind: a stale feed grows it.", []string{"source"}, nil),
		srcRows:       prometheus.NewDesc("spotcast_source_rows", "Stored rows per source kind.", []string{"source"}, nil),
		scrapeErr:     prometheus.NewDesc("spotcast_store_scrape_error", "1 if reading the store for this scrape failed, else 0.", nil, nil),

		btMASE:     prometheus.NewDesc("spotcast_forecast_backtest_mase", "Median MASE of the rolling-origin backtest on the watched pools, per model (below 1 beats the in-sample naive scale).", []string{"model"}, nil),
		btCoverage: prometheus.NewDesc("spotcast_forecast_backtest_coverage_ratio", "Share of backtest outcomes inside the central forecast interval (nominal 0.8 or 0.95), per model.", []string{"model", "interval"}, nil),
		btSeries:   prometheus.NewDesc("spotcast_forecast_backtest_series", "Series evaluated by the newest backtest.", nil, nil),
		btTime:     prometheus.NewDesc("spotcast_forecast_backtest_timestamp_seconds", "Unix time of the newest backtest.", nil, nil),
	}
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.price, c.onDemand, c.quantile, c.prob, c.how, c.score, c.bucket, c.maxPrice, c.ckpt, c.found,
		c.refitTime, c.refitDuration, c.watched, c.simulated, c.runTime, c.runPools, c.runFailed, c.srcLastIngest, c.srcNewest, c.srcAge, c.srcRows, c.scrapeErr,
		c.btMASE, c.btCoverage, c.btSeries, c.btTime, recommendedDesc} {
		ch <- d
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Collect reads the snapshot and the store.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ch <- prometheus.MustNewConstMetric(c.watched, prometheus.GaugeValue, float64(len(c.svc.Watch())))
	if snap := c.svc.Snapshot(); snap != nil {
		gauge(c.refitTime, unix(snap.Generated))
		gauge(c.refitDuration, snap.Seconds)
		collectRecommended(snap, ch)
		for _, p := range snap.Pools {
			l := []string{p.Pool.Cloud, p.Pool.Region, p.Pool.Zone, p.Pool.InstanceType, p.Pool.Product, sourceLabel(p.Source)}
			up := 0.0
			if p.Found && len(p.Errors) == 0 {
				up = 1
			}
			gauge(c.found, up, l...)
			if !p.Found {
				continue
			}
			gauge(c.price, p.Price, l...)
			if p.OnDemand > 0 {
				gauge(c.onDemand, p.OnDemand, l...)
			}
			for _, q := range p.Quantiles {
				gauge(c.quantile, q.Value, append(l, horizonLabel(time.Duration(q.Horizon*float64(time.Second))), strconv.FormatFloat(q.Level, 'g', -1, 64))...)
			}
			gauge(c.prob, p.ProbWithin1h, append(l, "1h")...)
			gauge(c.prob, p.ProbWithin24h, append(l, "24h")...)
			for k, v := range p.ByHourOfWeek {
				gauge(c.how, v, append(l, strconv.Itoa(k))...)
			}
			if p.PlacementScore > 0 {
				gauge(c.score, float64(p.PlacementScore), l...)
			}
			if p.AdvisorBucket >= 0 {
				gauge(c.bucket, float64(p.AdvisorBucket), l...)
			}
			if p.MaxPrice > 0 {
				gauge(c.maxPrice, p.MaxPrice, l...)
			}
			if p.CheckpointInterval > 0 {
				gauge(c.ckpt, p.CheckpointInterval, l...)
			}
		}
	}

	if run, n, ok := c.svc.eng.ServedRun(); ok {
		gauge(c.runTime, unix(run.AsOf))
		gauge(c.runPools, float64(n))
		gauge(c.runFailed, float64(run.Fails))
	}

	if bt := c.svc.Backtest(); bt != nil {
		gauge(c.btTime, unix(bt.Generated))
		gauge(c.btSeries, float64(bt.Series))
		for _, m := range bt.Models {
			if m.Forecasts == 0 {
				continue
			}
			if m.MASEExcluded < m.Forecasts { // else every history was constant: no scale, no MASE
				gauge(c.btMASE, m.MASEMedian, m.Name)
			}
			gauge(c.btCoverage, m.Coverage80, m.Name, "0.8")
			gauge(c.btCoverage, m.Coverage95, m.Name, "0.95")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	fresh, err := c.svc.eng.Freshness(ctx)
	if err != nil {
		c.svc.log.Error("metrics: read freshness", "err", err)
		gauge(c.scrapeErr, 1)
		return
	}
	gauge(c.scrapeErr, 0)
	now := c.svc.now()
	// Simulated follows the stored data, not the watch list: a store the
	// simulator filled says so even when no pool is watched.
	simulated := 0.0
	for _, f := range mergeFreshness(fresh) {
		if f.Source == market.SourceSimulated && f.Rows > 0 {
			simulated = 1
		}
		gauge(c.srcRows, float64(f.Rows), f.Source)
		if !f.LastIngest.IsZero() {
			gauge(c.srcLastIngest, unix(f.LastIngest), f.Source)
		}
		if !f.NewestPoint.IsZero() {
			gauge(c.srcNewest, unix(f.NewestPoint), f.Source)
			gauge(c.srcAge, max(now.Sub(f.NewestPoint).Seconds(), 0), f.Source)
		}
	}
	gauge(c.simulated, simulated)
}

// mergeFreshness folds "file:NAME" sources into one "file" source, so the
// label stays bounded however many files were imported.
func mergeFreshness(in []storage.SourceFreshness) []storage.SourceFreshness {
	idx := map[string]int{}
	var out []storage.SourceFreshness
	for _, f := range in {
		k := sourceKind(f.Source)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			f.Source = k
			out = append(out, f)
			continue
		}
		o := &out[i]
		o.Rows += f.Rows
		if f.LastIngest.After(o.LastIngest) {
			o.LastIngest = f.LastIngest
		}
		if f.NewestPoint.After(o.NewestPoint) {
			o.NewestPoint = f.NewestPoint
		}
	}
	return out
}

// sourceLabel bounds a pool's source label: source kinds only
// ("file:a.csv,prior,simulated" -> "file,simulated"); "prior" (no data
// behind an interruption forecast) is not a source of data.
func sourceLabel(s string) string {
	var kinds []string
	for _, p := range strings.Split(s, ",") {
		k := sourceKind(strings.TrimSpace(p))
		if k != "" && k != "prior" && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	return strings.Join(kinds, ",")
}

// horizonLabel writes a horizon as "1h", "24h", "168h".
func horizonLabel(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}
