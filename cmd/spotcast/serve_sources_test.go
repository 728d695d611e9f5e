package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// sourcesRig runs the sources' jobs on a short schedule against local
// emulators of the AWS feed and the Azure Retail Prices API.
type sourcesRig struct {
	store    *storage.Store
	log      *lockedBuffer
	feedHits atomic.Int32
	feedDown atomic.Bool
	ingested atomic.Int32
	cancel   context.CancelFunc
	done     chan struct{}
}

func startSources(t *testing.T, every time.Duration) *sourcesRig {
	t.Helper()
	ctx := context.Background()
	td := filepath.Join("..", "..", "ingest", "files", "testdata")
	body, err := os.ReadFile(filepath.Join(td, "aws_spot_feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := &sourcesRig{log: &lockedBuffer{}, done: make(chan struct{})}
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.feedHits.Add(1)
		if r.feedDown.Load() {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(feed.Close)
	_, az := azureEmulator(t)

	if r.store, err = storage.Open(ctx, "", storage.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.store.Close() })
	log := slog.New(slog.NewTextHandler(r.log, nil))
	svc := api.New(engine.New(r.store, engine.Options{}), api.Options{})
	metrics := api.NewMetrics(prometheus.NewRegistry())
	sc := config.Sources{
		AWSFeed: config.Feed{Enabled: true, Every: config.Duration(every), URL: feed.URL},
		Azure:   config.Feed{Enabled: true, Every: config.Duration(every), URL: az.URL + "/api/retail/prices", Regions: []string{"eastus"}},
	}
	jobs := sourceJobs(sc, r.store, svc, metrics, log, func() { r.ingested.Add(1) }, fetchTuning{Retries: -1})
	if len(jobs) != 2 {
		t.Fatalf("jobs %+v", jobs)
	}
	jctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	go func() { (&api.Scheduler{Jobs: jobs, Metrics: metrics, Logger: log}).Run(jctx); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *sourcesRig) stop() {
	r.cancel()
	<-r.done
}

func (r *sourcesRig) stored(t *testing.T) map[string]int64 {
	t.Helper()
	fr, err := r.store.Freshness(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range fr {
		out[f.Source] = f.Rows
	}
	return out
}

// serve's schedule polls both public price APIs, each run logging what it
// stored.
func TestSourceJobsPoll(t *testing.T) {
	r := startSources(t, 30*time.Millisecond)
	waitFor(t, "three feed polls and an Azure poll", func() bool {
		log := r.log.String()
		return strings.Count(log, "aws spot feed polled") >= 3 && strings.Contains(log, "azure retail prices polled")
	})
	r.stop()
	got := r.stored(t)
	// The feed sample has 15 numeric prices; the Azure sample's eastus
	// items 2 spot prices and 1 on-demand price.
	if got[market.SourceAWSSpotFeed] != 15 || got[market.SourceAzureRetail] != 3 {
		t.Fatalf("rows per source %v", got)
	}
	log := r.log.String()
	// Polls within one minute date their snapshot alike: the later ones
	// store nothing (an hour apart, unchanged prices store nothing either:
	// ingest/awsfeed's tests).
	if strings.Count(log, "aws spot feed polled") < 3 || strings.Count(log, "stored=15") != 1 || !strings.Contains(log, "stored=0") {
		t.Errorf("feed polls not logged with what they stored:\n%s", log)
	}
	if r.ingested.Load() < 2 {
		t.Errorf("refit asked %d times, want once per source that stored", r.ingested.Load())
	}
}

// A source that cannot be reached is said once, not every period, and
// does not stop the other; when it answers again that is said too.
func TestSourceJobsUnreachableSaidOnce(t *testing.T) {
	rig := startSources(t, 20*time.Millisecond)
	rig.feedDown.Store(true)
	waitFor(t, "five failed feed polls", func() bool { return rig.feedHits.Load() >= 5 })
	waitFor(t, "the Azure poll", func() bool { return rig.stored(t)[market.SourceAzureRetail] == 3 })
	log := rig.log.String()
	if n := strings.Count(log, "AWS spot price feed cannot be reached"); n != 1 {
		t.Errorf("unreachable feed said %d times:\n%s", n, log)
	}
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("an unreachable feed logged as an error every period:\n%s", log)
	}
	rig.feedDown.Store(false)
	waitFor(t, "the feed back", func() bool { return strings.Contains(rig.log.String(), "AWS spot price feed answers again") })
	waitFor(t, "the feed's prices", func() bool { return rig.stored(t)[market.SourceAWSSpotFeed] == 15 })
}
