package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest/awsfeed"
	"github.com/spotcast/spotcast/ingest/azure"
	"github.com/spotcast/spotcast/ingest/files"
	"github.com/spotcast/spotcast/ingest/httpfetch"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// runIngestAWSFeed: spotcast ingest aws-feed, one poll of the public AWS
// spot price feed (no credentials).
func runIngestAWSFeed(ctx context.Context, e env, args []string) error {
	var c common
	var url string
	var retries int
	fs := newFlags(e, "ingest aws-feed", "ingest aws-feed [--db PATH] [--url URL] [--json]", &c)
	fs.StringVar(&url, "url", awsfeed.DefaultURL, "feed `URL` (spot.json, or the JSONP spot.js)")
	fs.IntVar(&retries, "retries", httpfetch.DefaultRetries, "retries of a failed fetch, with exponential backoff")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := awsfeed.Ingest(ctx, s, awsfeed.Options{URL: url, Retries: retriesOpt(retries)})
	if err != nil {
		return fmt.Errorf("ingest aws-feed: %w", err)
	}
	return printFeed(e, c.json, rep)
}

func printFeed(e env, asJSON bool, rep awsfeed.Report) error {
	if asJSON {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "aws spot feed %s at %s: read %d, stored %d changed prices, %d unchanged, skipped %d in %.2fs\n",
		rep.URL, rep.FetchedAt.Format(time.RFC3339), rep.RowsRead, rep.RowsStored, rep.Unchanged, rep.Skipped-rep.Unchanged, rep.Seconds)
	for _, n := range rep.Info {
		fmt.Fprintln(e.stderr, "spotcast: aws-feed:", n)
	}
	return nil
}

// retriesOpt maps a --retries flag (0: none) onto the fetch options
// (0: default, negative: none).
func retriesOpt(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// fillWithoutCredentials is `ingest aws --simulate-without-credentials`
// when no AWS credentials exist: real region-level prices from the public
// feed first; the simulated market only when the feed cannot be reached.
// Either way it says which on stderr. A feed that answers with something
// unreadable is an error, not a reason to simulate.
func fillWithoutCredentials(ctx context.Context, e env, s *storage.Store, asJSON bool, feedURL string) error {
	fmt.Fprintln(e.stderr, "spotcast: no AWS credentials found (environment, ~/.aws, SSO or instance role)")
	if feedURL == "" {
		feedURL = awsfeed.DefaultURL
	}
	fmt.Fprintf(e.stderr, "spotcast: trying the public AWS spot price feed %s (real region-level prices, no credentials needed)\n", feedURL)
	rep, err := awsfeed.Ingest(ctx, s, awsfeed.Options{
		URL: feedURL, Retries: 1, Backoff: time.Second, HTTP: &http.Client{Timeout: 20 * time.Second},
	})
	if err == nil {
		fmt.Fprintf(e.stderr, "spotcast: filled the store from the AWS spot price feed %s (source=%s: REAL prices, region-level, no per-zone history)\n", rep.URL, market.SourceAWSSpotFeed)
		return printFeed(e, asJSON, rep)
	}
	if !errors.Is(err, httpfetch.ErrUnreachable) {
		return fmt.Errorf("ingest aws: the public AWS spot price feed answered but could not be read: %w (use `make demo` or `spotcast ingest sim` for the simulated market)", err)
	}
	fmt.Fprintf(e.stderr, "spotcast: the AWS spot price feed cannot be reached: %v\n", err)
	fmt.Fprintln(e.stderr, "spotcast: filling the store from the SIMULATED market instead; every row is labelled source=simulated")
	sum, st, err := simulate(ctx, s, sim.Config{Seed: 1})
	if err != nil {
		return err
	}
	return printSim(e, asJSON, sum, st)
}

// sourceFlags are the flags of `ingest file` for the formats of the
// public sources and for CSV of any shape.
type sourceFlags struct {
	snapshot                                string
	csvMap, delimiter                       string
	noHeader                                bool
	instanceType, product, zone, cloudConst string
}

// addSourceFlags registers them on fs.
func addSourceFlags(fs *flag.FlagSet) *sourceFlags {
	f := &sourceFlags{}
	fs.StringVar(&f.snapshot, "snapshot-time", "", "RFC 3339 `time` of a snapshot whose content carries none (AWS spot feed, Resource Graph rows, GCP capacity advice); default: the file's modification time")
	fs.StringVar(&f.csvMap, "map", "", "with --format csv: field=COLUMN,... for the fields "+strings.Join(files.CSVFields, ", ")+" (COLUMN: a header name or a 1-based number)")
	fs.StringVar(&f.delimiter, "delimiter", ",", "with --format csv: the field delimiter (one character; \\t for tab)")
	fs.BoolVar(&f.noHeader, "no-header", false, "with --format csv: the first line is data (columns by number)")
	fs.StringVar(&f.instanceType, "instance-type", "", "with --format csv: the instance type of every row; for a skypilot trace: its instance type (default: from the file name's accelerator, e.g. a100_40gb_8)")
	fs.StringVar(&f.product, "product", "", "with --format csv: the product (OS) of every row, e.g. Linux/UNIX")
	fs.StringVar(&f.zone, "zone", "", "with --format csv: the zone (name or AWS zone ID) of every row; for a skypilot trace: its zone, when its file name does not say")
	fs.StringVar(&f.cloudConst, "cloud", "", "with --format csv: the cloud of every row (default: the region's); for a skypilot trace: its cloud (aws or gcp), when its path does not say")
	return f
}

// apply sets opts from the flags (opts.Region is the --region constant).
// Prices of sources that report the current price at every snapshot are
// stored only when they changed (against what s holds); AWS zone IDs
// resolve to the names stored zone_ids give them.
func (f *sourceFlags) apply(ctx context.Context, s *storage.Store, opts *files.Options) error {
	if f.snapshot != "" {
		t, err := time.Parse(time.RFC3339, f.snapshot)
		if err != nil {
			return fmt.Errorf("--snapshot-time %q: want an RFC 3339 time such as 2026-01-02T03:00:00Z", f.snapshot)
		}
		opts.SnapshotDate = t
	}
	opts.Changes = files.NewChangeFilter(files.StoreLatest(s))
	csvOnly := f.csvMap != "" || f.noHeader || f.delimiter != "," || f.product != ""
	if opts.Format != files.FormatCSV {
		if csvOnly {
			return fmt.Errorf("--map, --delimiter, --no-header and --product go with --format csv")
		}
		// Otherwise --cloud, --zone and --instance-type say what a
		// skypilot trace's path does not.
		opts.Trace.Cloud, opts.Trace.Zone, opts.Trace.InstanceType = f.cloudConst, f.zone, f.instanceType
		return nil
	}
	cols, err := files.ParseCSVMap(f.csvMap)
	if err != nil {
		return err
	}
	delim := f.delimiter
	if delim == `\t` {
		delim = "\t"
	}
	if len(delim) != 1 {
		return fmt.Errorf("--delimiter %q: want one character", f.delimiter)
	}
	opts.CSV = &files.CSVMapping{Columns: cols, Delimiter: delim[0], NoHeader: f.noHeader, Constants: map[string]string{
		"instance_type": f.instanceType, "product": f.product, "zone": f.zone, "cloud": f.cloudConst, "region": opts.Region,
	}}
	ids, err := s.ZoneIDs(ctx, market.AWS, "")
	if err != nil {
		return err
	}
	opts.ZoneNames = zoneNames(ids)
	return nil
}

// zoneNames maps each zone ID to its name, leaving out IDs with more than
// one name (two accounts' views): those stay IDs.
func zoneNames(ids []market.ZoneID) map[string]string {
	names := map[string]string{}
	ambiguous := map[string]bool{}
	for _, z := range ids {
		if n, ok := names[z.ZoneID]; ok && n != z.Zone {
			ambiguous[z.ZoneID] = true
		}
		names[z.ZoneID] = z.Zone
	}
	for id := range ambiguous {
		delete(names, id)
	}
	return names
}

// runIngestAzure: spotcast ingest azure, VM spot and on-demand prices of
// the Azure Retail Prices API (no credentials), one import per region.
func runIngestAzure(ctx context.Context, e env, args []string) error {
	var c common
	var url, regions string
	var retries, maxPages int
	fs := newFlags(e, "ingest azure", "ingest azure [--db PATH] [--regions eastus,westeurope] [--url URL] [--json]", &c)
	fs.StringVar(&url, "url", azure.DefaultURL, "Retail Prices API `URL`")
	fs.StringVar(&regions, "regions", "", "comma-separated Azure regions (armRegionName; default: every region spotcast knows)")
	fs.IntVar(&retries, "retries", httpfetch.DefaultRetries, "retries of a failed page, with exponential backoff")
	fs.IntVar(&maxPages, "max-pages", azure.DefaultMaxPages, "most pages read per region; a region with more stores nothing")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	s, _, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	opts := azure.Options{URL: url, Retries: retriesOpt(retries), MaxPages: maxPages}
	if regions != "" {
		opts.Regions = splitList(regions)
	}
	rep, err := azure.Ingest(ctx, s, opts)
	if c.json {
		if jerr := writeJSON(e.stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		for _, r := range rep.Regions {
			status := "ok"
			if r.Error != "" {
				status = "FAILED: " + r.Error
			}
			fmt.Fprintf(e.stdout, "%-20s pages %3d  read %6d  stored %6d  duplicates %6d  skipped %6d  %s\n",
				r.Region, r.Pages, r.RowsRead, r.RowsStored, r.Duplicates, r.Skipped, status)
		}
		fmt.Fprintf(e.stdout, "total: read %d, stored %d, failed regions %d in %.1fs\n", rep.RowsRead, rep.RowsStored, rep.FailedRegions, rep.Seconds)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "spotcast: ingest azure:", err)
		return errReported
	}
	return nil
}
