package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/ingest/awsfeed"
	"github.com/spotcast/spotcast/ingest/azure"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// fetchTuning sets the polled sources' HTTP client and retries (zero: the
// fetch package's defaults); tests shorten them.
type fetchTuning struct {
	HTTP    *http.Client
	Retries int
	Backoff time.Duration
}

// sourceJobs are the scheduled polls of the public price APIs the config
// enables: the AWS spot price feed (hourly by default) and the Azure
// Retail Prices API (daily when enabled). Each is its own job, so one
// failing never stops the other; each run logs what it stored. The first
// poll comes one period after start (`make run` has just read the feed;
// a store polled hourly is at most an hour behind after a restart). A
// source that cannot be reached (no network) is said once in the log, at
// its first failure, and again when it answers; the failures between are
// counted in the metrics only.
func sourceJobs(sc config.Sources, store *storage.Store, svc *api.Service, m *api.Metrics, log *slog.Logger, ingested func(), ft fetchTuning) []api.Job {
	var jobs []api.Job
	stored := func(source string, n int64, err error) {
		m.IngestDone(source, time.Now(), n, err)
		if n > 0 {
			svc.Invalidate()
			ingested()
		}
	}
	if f := sc.AWSFeed; f.Enabled {
		reach := &reachability{name: "AWS spot price feed", every: time.Duration(f.Every), log: log}
		jobs = append(jobs, api.Job{Name: "ingest-aws-feed", Every: time.Duration(f.Every), Run: func(ctx context.Context) error {
			rep, err := awsfeed.Ingest(ctx, store, awsfeed.Options{URL: f.URL, HTTP: ft.HTTP, Retries: ft.Retries, Backoff: ft.Backoff})
			if ctx.Err() != nil {
				return ctx.Err() // shutdown: an import cut short stores nothing
			}
			stored(market.SourceAWSSpotFeed, rep.RowsStored, err)
			if err != nil {
				return reach.failed(err)
			}
			reach.answered()
			log.Info("aws spot feed polled", "url", rep.URL, "stored", rep.RowsStored, "unchanged", rep.Unchanged,
				"read", rep.RowsRead, "skipped", rep.Skipped, "attempts", rep.Attempts, "run_id", rep.RunID)
			return nil
		}})
		log.Info("polling the public AWS spot price feed", "every", time.Duration(f.Every).String(), "url", orDefault(f.URL, awsfeed.DefaultURL))
	} else {
		log.Info("public AWS spot price feed polling is off (sources.aws_feed.enabled)")
	}
	if f := sc.Azure; f.Enabled {
		reach := &reachability{name: "Azure Retail Prices API", every: time.Duration(f.Every), log: log}
		jobs = append(jobs, api.Job{Name: "ingest-azure", Every: time.Duration(f.Every), Run: func(ctx context.Context) error {
			rep, err := azure.Ingest(ctx, store, azure.Options{URL: f.URL, Regions: f.Regions, HTTP: ft.HTTP, Retries: ft.Retries, Backoff: ft.Backoff})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			stored(market.SourceAzureRetail, rep.RowsStored, err)
			if err != nil && allUnreachable(rep) {
				return reach.failed(err)
			}
			reach.answered()
			log.Info("azure retail prices polled", "url", rep.URL, "stored", rep.RowsStored, "read", rep.RowsRead,
				"regions", len(rep.Regions), "failed_regions", rep.FailedRegions)
			return err
		}})
		log.Info("polling the Azure Retail Prices API", "every", time.Duration(f.Every).String(), "url", orDefault(f.URL, azure.DefaultURL))
	}
	return jobs
}

// allUnreachable says whether every region of an Azure poll failed to
// reach the API (no network), as opposed to some regions failing.
func allUnreachable(rep azure.Report) bool {
	if len(rep.Regions) == 0 || rep.FailedRegions < len(rep.Regions) {
		return false
	}
	for _, r := range rep.Regions {
		if r.Error == "" {
			return false
		}
	}
	return true
}

// reachability says once that a polled source cannot be reached, and
// again when it answers.
type reachability struct {
	name  string
	every time.Duration
	log   *slog.Logger
	down  bool
}

// failed logs an unreachable source's first failure (later ones go
// quietly to the metrics) and any other failure as the scheduler does.
func (r *reachability) failed(err error) error {
	if !errors.Is(err, httpfetch.ErrUnreachable) {
		return err
	}
	if r.down {
		return api.Quiet(err)
	}
	r.down = true
	r.log.Warn(r.name+" cannot be reached (no network?): serving the stored prices; polling goes on every period and this is logged again only when it answers",
		"every", r.every.String(), "err", err)
	return api.Quiet(err)
}

func (r *reachability) answered() {
	if r.down {
		r.down = false
		r.log.Info(r.name + " answers again")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
