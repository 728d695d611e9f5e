// Package azure reads Azure VM spot and on-demand prices from the Azure
// Retail Prices API (prices.azure.com/api/retail/prices, no credentials):
// per region, every page of the Virtual Machines Consumption meters,
// following NextPageLink, then one store import of that region's pages, so
// a region that fails (unreachable, throttled past the retries, an error
// answer, pages without end) stores nothing and the other regions still
// finish. The pages are parsed by the files package's
// azure-retail-prices-json format.
package azure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// DefaultURL is the API's endpoint.
const DefaultURL = "https://prices.azure.com/api/retail/prices"

// DefaultMaxPages bounds the pages read per region (100 items each): the
// largest regions list a few thousand VM meters.
const DefaultMaxPages = 300

// vmFilter selects VM pay-as-you-go meters (spot ones included); the
// parser sorts spot from on-demand.
const vmFilter = "serviceName eq 'Virtual Machines' and priceType eq 'Consumption'"

// ErrSomeRegionsFailed: at least one region failed; the others stored.
var ErrSomeRegionsFailed = errors.New("some regions failed")

// Options tune Ingest. The zero value reads every Azure region spotcast
// knows from DefaultURL.
type Options struct {
	URL     string   // "": DefaultURL
	Regions []string // armRegionName values; nil: every known Azure region
	// MaxPages bounds the pages of one region (0: DefaultMaxPages); a
	// region with more fails rather than store part of itself.
	MaxPages int
	HTTP     *http.Client
	Now      func() time.Time
	// Retries and Backoff are each GET's (0: httpfetch's defaults).
	Retries int
	Backoff time.Duration
	Sleep   func(ctx context.Context, d time.Duration) error
}

// RegionReport is one region's outcome.
type RegionReport struct {
	Region     string `json:"region"`
	Pages      int    `json:"pages"`
	RowsRead   int64  `json:"rows_read"`
	RowsStored int64  `json:"rows_stored"`
	Duplicates int64  `json:"duplicates"`
	Skipped    int64  `json:"skipped"`
	RunID      int64  `json:"run_id,omitempty"`
	Error      string `json:"error"`
}

// Report is what Ingest did; its JSON is `spotcast ingest azure --json`.
type Report struct {
	URL           string         `json:"url"`
	RowsRead      int64          `json:"rows_read"`
	RowsStored    int64          `json:"rows_stored"`
	FailedRegions int            `json:"failed_regions"`
	Regions       []RegionReport `json:"regions"`
	Seconds       float64        `json:"seconds"`
}

// Ingest reads each region in turn. It returns ErrSomeRegionsFailed
// (with the first failure) when any region failed; the Report has every
// region's outcome either way.
func Ingest(ctx context.Context, store *storage.Store, opts Options) (Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	base := opts.URL
	if base == "" {
		base = DefaultURL
	}
	regions := opts.Regions
	if regions == nil {
		regions = market.Regions(market.Azure)
	}
	start := now()
	rep := Report{URL: base}
	var first error
	for _, region := range regions {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rr, err := ingestRegion(ctx, store, base, region, opts, now)
		if err != nil {
			rr.Error = err.Error()
			rep.FailedRegions++
			if first == nil {
				first = fmt.Errorf("azure %s: %w", region, err)
			}
		}
		rep.RowsRead += rr.RowsRead
		rep.RowsStored += rr.RowsStored
		rep.Regions = append(rep.Regions, rr)
	}
	rep.Seconds = now().Sub(start).Seconds()
	if first != nil {
		return rep, fmt.Errorf("%w (%d of %d); first: %w", ErrSomeRegionsFailed, rep.FailedRegions, len(regions), first)
	}
	return rep, nil
}

// ingestRegion fetches every page of one region, then stores them in one
// import.
func ingestRegion(ctx context.Context, store *storage.Store, base, region string, opts Options, now func() time.Time) (RegionReport, error) {
	rr := RegionReport{Region: region}
	if !market.KnownRegion(market.Azure, region) {
		return rr, fmt.Errorf("unknown Azure region %q", region)
	}
	maxPages := opts.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	c := httpfetch.Client{HTTP: opts.HTTP, Retries: opts.Retries, Backoff: opts.Backoff, Sleep: opts.Sleep, UserAgent: "spotcast"}
	q := url.Values{}
	q.Set("$filter", vmFilter+" and armRegionName eq '"+strings.ReplaceAll(region, "'", "''")+"'")
	link := base + "?" + q.Encode()
	baseURL, err := url.Parse(base)
	if err != nil {
		return rr, fmt.Errorf("url %q: %w", base, err)
	}
	seen := map[string]bool{}
	var pages [][]byte
	h := sha256.New()
	for link != "" {
		if len(pages) == maxPages {
			return rr, fmt.Errorf("more than %d pages: stopped without storing (raise the page limit if the region really has that many meters)", maxPages)
		}
		if seen[link] {
			return rr, fmt.Errorf("page %d links back to an earlier page (%s): the paging never ends", len(pages)+1, link)
		}
		seen[link] = true
		resp, err := c.Get(ctx, link)
		if err != nil {
			return rr, fmt.Errorf("page %d: %w", len(pages)+1, err)
		}
		pages = append(pages, resp.Body)
		h.Write(resp.Body)
		next, err := nextLink(resp.Body, baseURL)
		if err != nil {
			return rr, fmt.Errorf("page %d: %w", len(pages), err)
		}
		link = next
	}
	rr.Pages = len(pages)
	fetched := now().UTC().Truncate(time.Second)
	st, err := store.Import(ctx, storage.RunInfo{
		Kind: "azure", Source: market.SourceAzureRetail, Path: base + " " + region,
		Format: string(files.FormatAzureRetail), SHA256: hex.EncodeToString(h.Sum(nil)),
	}, func(w *storage.Writer) error {
		for i, b := range pages {
			res, err := files.Parse(ctx, bytes.NewReader(b), fmt.Sprintf("%s page %d", region, i+1), w, files.Options{
				Format: files.FormatAzureRetail, Source: market.SourceAzureRetail, Now: func() time.Time { return fetched },
			})
			rr.RowsRead += res.Read
			rr.Skipped += res.Skipped
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rr, err
	}
	rr.RowsStored, rr.Duplicates, rr.RunID = st.Stored(), st.Added()-st.Stored(), st.RunID
	return rr, nil
}

// nextLink reads a page's NextPageLink ("" on the last page). A page
// that is not the API's JSON is an error here, before anything is
// stored; the link must stay on the API's host.
func nextLink(body []byte, base *url.URL) (string, error) {
	var p struct {
		Items        *json.RawMessage `json:"Items"`
		NextPageLink *string          `json:"NextPageLink"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return "", fmt.Errorf("not a Retail Prices page (%v): %s: %w", err, excerpt(body), ingest.ErrBadInput)
	}
	if p.Items == nil {
		return "", fmt.Errorf("not a Retail Prices page (no Items): %s: %w", excerpt(body), ingest.ErrBadInput)
	}
	if p.NextPageLink == nil || *p.NextPageLink == "" {
		return "", nil
	}
	u, err := url.Parse(*p.NextPageLink)
	if err != nil || u.Scheme != base.Scheme || u.Hostname() != base.Hostname() || port(u) != port(base) {
		return "", fmt.Errorf("NextPageLink %q leaves the API's host %s: %w", *p.NextPageLink, base.Host, ingest.ErrBadInput)
	}
	return *p.NextPageLink, nil
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// excerpt is the start of a body, for an error message.
func excerpt(b []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("%q", s)
}
