package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/ingest/awsapi"
	"github.com/spotcast/spotcast/ingest/awsfeed"
)

func runIngestAWS(ctx context.Context, e env, args []string) error {
	var c common
	var regions, types, products, endpoint, since string
	var concurrency int
	var simFallback bool
	var feedURL string
	fs := newFlags(e, "ingest aws", "ingest aws [--db PATH] [--regions a,b] [--endpoint-url URL] [--since 7d] [--json]", &c)
	fs.StringVar(&regions, "regions", "", "comma-separated regions (default: the config's, else every enabled region)")
	fs.StringVar(&types, "instance-types", "", "comma-separated instance types to read (default: all)")
	fs.StringVar(&products, "products", "", "comma-separated product descriptions, e.g. Linux/UNIX (default: all)")
	fs.StringVar(&endpoint, "endpoint-url", "", "EC2-compatible endpoint `URL` (default: AWS's regional endpoints)")
	fs.StringVar(&since, "since", "", "re-read this far back whatever the watermarks say, e.g. 3d")
	fs.IntVar(&concurrency, "concurrency", 0, "regions read at once (default: config, else 4)")
	fs.BoolVar(&simFallback, "simulate-without-credentials", false, "with no AWS credentials, fill the store from the public AWS spot price feed, or from the simulated market when the feed cannot be reached (and say which)")
	fs.StringVar(&feedURL, "feed-url", "", "public spot price feed `URL` read without credentials (default: "+awsfeed.DefaultURL+")")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	s, cfg, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()

	opts := awsOptions(cfg.AWS)
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	opts.Logger = logger
	if regions != "" {
		opts.Regions = splitList(regions)
	}
	if types != "" {
		opts.InstanceTypes = splitList(types)
	}
	if products != "" {
		opts.ProductDescriptions = splitList(products)
	}
	if endpoint != "" {
		opts.EndpointURL = endpoint
	}
	if concurrency > 0 {
		opts.Concurrency = concurrency
	}
	if since != "" {
		d, err := config.ParseDuration(since)
		if err != nil || d <= 0 {
			return fmt.Errorf("--since %q: want a positive duration such as 6h or 3d", since)
		}
		opts.Since = d
	}
	awsCfg, err := awsapi.LoadConfig(ctx, opts)
	if err != nil {
		return fmt.Errorf("ingest aws: %w", err)
	}
	if simFallback && !awsapi.HaveCredentials(ctx, awsCfg) {
		return fillWithoutCredentials(ctx, e, s, c.json, feedURL)
	}
	start := time.Now()
	rep, err := awsapi.Ingest(ctx, s, awsCfg, opts)
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
			fmt.Fprintf(e.stdout, "%-16s read %7d  stored %7d  duplicates %7d  bad %3d  %s\n", r.Region, r.RowsRead, r.RowsStored, r.Duplicates, r.BadRows, status)
		}
		fmt.Fprintf(e.stdout, "total: read %d, stored %d, duplicates %d, bad %d, failed regions %d in %s\n",
			rep.RowsRead, rep.RowsStored, rep.Duplicates, rep.BadRows, rep.FailedRegions, time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		if c.json || errors.Is(err, awsapi.ErrAllRegionsFailed) {
			fmt.Fprintln(e.stderr, "spotcast: ingest aws:", err)
			return errReported
		}
		return fmt.Errorf("ingest aws: %w", err)
	}
	if rep.FailedRegions > 0 {
		fmt.Fprintf(e.stderr, "spotcast: ingest aws: %d region(s) failed; the others were stored\n", rep.FailedRegions)
		return errReported
	}
	return nil
}

// awsOptions maps the config file's aws section onto the ingester's options.
func awsOptions(a config.AWS) awsapi.Options {
	o := awsapi.Options{
		Regions:             a.Regions,
		EndpointURL:         a.EndpointURL,
		Concurrency:         a.Concurrency,
		Backfill:            time.Duration(a.Backfill),
		Overlap:             time.Duration(a.Overlap),
		InstanceTypes:       a.InstanceTypes,
		ProductDescriptions: a.ProductDescriptions,
	}
	for _, p := range a.PlacementRequests {
		o.PlacementRequests = append(o.PlacementRequests, awsapi.PlacementRequest{
			Name: p.Name, InstanceTypes: p.InstanceTypes, Requirements: p.Requirements,
			TargetCapacity: p.TargetCapacity, CapacityUnit: p.CapacityUnit, Regions: p.Regions, SingleAZ: p.SingleAZ,
		})
	}
	return o
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
