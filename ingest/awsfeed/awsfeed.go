// Package awsfeed reads the public AWS spot price feed, the JSON behind
// the AWS Spot pricing page: region-level Linux and Windows prices per
// instance type, refreshed hourly by AWS, readable without credentials.
// Each fetch is one store import dated with its fetch time (to the
// minute); a price equal
// to its pool's previous stored price stores nothing (files.ChangeFilter),
// so polling builds a change series.
//
// serve polls it with Ingest on a schedule, once an hour (the feed's own
// refresh) by default:
//
//	t := time.NewTicker(every) // serve.aws_feed_every, default 1h
//	for ; ; <-t.C {
//		rep, err := awsfeed.Ingest(ctx, store, awsfeed.Options{URL: url, HTTP: client, Now: clock})
//		// log rep (stored, unchanged, attempts) or err; a failed poll
//		// stores nothing and the next tick tries again
//	}
//
// Ingest retries a failed fetch itself (Options.Retries, with backoff), so
// the schedule needs no retry of its own; it must not run two polls of
// one store at once (store imports serialise anyway).
package awsfeed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// DefaultURL is the live feed. Its JSONP predecessor LegacyURL has been
// frozen since May 2024 (it lacks every instance family released since);
// it is still readable, in the same format.
const (
	DefaultURL = "https://website.spot.ec2.aws.a2z.com/spot.json"
	LegacyURL  = "https://spot-price.s3.amazonaws.com/spot.js"
)

// Options tune Ingest. The zero value reads DefaultURL with the fetch
// package's retry defaults.
type Options struct {
	URL string // "" : DefaultURL
	// HTTP is the client (nil: one with httphttpfetch.DefaultTimeout).
	HTTP *http.Client
	// Now is the clock that dates the snapshot (nil: time.Now).
	Now func() time.Time
	// Retries and Backoff are the fetch's (0: fetch's defaults; Retries
	// < 0: one attempt only).
	Retries int
	Backoff time.Duration
	// Sleep replaces the waits between attempts (tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Report is what one poll did. Its JSON is the output of
// `spotcast ingest aws-feed --json`.
type Report struct {
	URL       string    `json:"url"`
	FetchedAt time.Time `json:"fetched_at"`
	Attempts  int       `json:"attempts"`
	Bytes     int       `json:"bytes"`
	RowsRead  int64     `json:"rows_read"`
	// RowsStored counts new price points; Unchanged the prices equal to
	// their pool's previous point (not stored).
	RowsStored int64            `json:"rows_stored"`
	Unchanged  int64            `json:"unchanged"`
	Skipped    int64            `json:"skipped"`
	SkipReason map[string]int64 `json:"skip_reasons,omitempty"`
	Info       []string         `json:"info,omitempty"`
	RunID      int64            `json:"run_id"`
	Seconds    float64          `json:"seconds"`
}

// Ingest fetches the feed once and stores its changed prices in one
// import: a fetch that fails (after retries) or a document that does not
// parse stores nothing. An unreachable feed's error wraps
// httphttpfetch.ErrUnreachable.
func Ingest(ctx context.Context, store *storage.Store, opts Options) (Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	url := opts.URL
	if url == "" {
		url = DefaultURL
	}
	start := now()
	rep := Report{URL: url}
	c := httpfetch.Client{HTTP: opts.HTTP, Retries: opts.Retries, Backoff: opts.Backoff, Sleep: opts.Sleep, UserAgent: "spotcast"}
	resp, err := c.Get(ctx, url)
	if err != nil {
		return rep, fmt.Errorf("aws spot feed: %w", err)
	}
	fetched := now().UTC().Truncate(time.Second)
	rep.FetchedAt, rep.Attempts, rep.Bytes = fetched, resp.Attempts, len(resp.Body)
	// The points are dated to the minute of the fetch: the feed changes
	// hourly, and answers "as of" a minute must already see the snapshot
	// taken within it.
	snapshot := fetched.Truncate(time.Minute)

	changes := files.NewChangeFilter(files.StoreLatest(store))
	if err := changes.Load(ctx); err != nil {
		return rep, fmt.Errorf("aws spot feed: %w", err)
	}
	sum := sha256.Sum256(resp.Body)
	var res files.Result
	st, err := store.Import(ctx, storage.RunInfo{
		Kind: "aws-feed", Source: market.SourceAWSSpotFeed, Path: url,
		Format: string(files.FormatAWSSpotFeed), SHA256: hex.EncodeToString(sum[:]),
	}, func(w *storage.Writer) error {
		var perr error
		res, perr = files.Parse(ctx, bytes.NewReader(resp.Body), url, w, files.Options{
			Format: files.FormatAWSSpotFeed, SnapshotDate: snapshot, Source: market.SourceAWSSpotFeed,
			Changes: changes, Now: func() time.Time { return fetched },
		})
		return perr
	})
	rep.RowsRead, rep.Skipped, rep.Info = res.Read, res.Skipped, res.Info
	rep.Unchanged = res.SkipReasons[files.ReasonUnchanged]
	rep.SkipReason = res.SkipReasons
	rep.Seconds = now().Sub(start).Seconds()
	if err != nil {
		return rep, fmt.Errorf("aws spot feed: %w", err)
	}
	rep.RowsStored, rep.RunID = st.Stored(), st.RunID
	return rep, nil
}
