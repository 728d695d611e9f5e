package awsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// maxBadRecords is how many bad records a region report names; all are
// counted.
const maxBadRecords = 20

// Report says what Ingest did. Totals cover prices, placement scores and
// catalogue entries.
type Report struct {
	Source        string            `json:"source"`
	Endpoint      string            `json:"endpoint,omitempty"`
	RowsRead      int64             `json:"rows_read"`
	RowsStored    int64             `json:"rows_stored"`
	Duplicates    int64             `json:"duplicates"`
	BadRows       int64             `json:"bad_rows"`
	FailedRegions int               `json:"failed_regions"`
	Regions       []RegionReport    `json:"regions"`
	Placement     []PlacementReport `json:"placement,omitempty"`
	InstanceTypes *CatalogueReport  `json:"instance_types,omitempty"`
}

// RegionReport is one region's spot price history.
type RegionReport struct {
	Region string `json:"region"`
	// From and To are the window asked for.
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Pages      int       `json:"pages"`
	RowsRead   int64     `json:"rows_read"`
	RowsStored int64     `json:"rows_stored"`
	Duplicates int64     `json:"duplicates"`
	BadRows    int64     `json:"bad_rows"`
	// BadRecords names the first bad records and why they were skipped.
	BadRecords []string `json:"bad_records,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// PlacementReport is one placement request.
type PlacementReport struct {
	Request    string `json:"request"`
	Key        string `json:"key"`
	RowsRead   int64  `json:"rows_read"`
	RowsStored int64  `json:"rows_stored"`
	Duplicates int64  `json:"duplicates"`
	BadRows    int64  `json:"bad_rows"`
	// Skipped says why the request was not sent (over budget).
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// CatalogueReport is the DescribeInstanceTypes step.
type CatalogueReport struct {
	Requested  int   `json:"requested"`
	RowsRead   int64 `json:"rows_read"`
	RowsStored int64 `json:"rows_stored"`
	Duplicates int64 `json:"duplicates"`
	GPUTypes   int   `json:"gpu_types"`
	// NotFound lists types seen in prices that EC2 did not describe.
	NotFound []string `json:"not_found,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// WatermarkSource is the watermark key of a region's price history.
func WatermarkSource(region string) string { return market.SourceAWSAPI + ":" + region }

// Ingest reads the spot market from EC2 into store: see the package
// comment. It returns an error only when nothing could be done: the
// region list cannot be had, every region failed (ErrAllRegionsFailed), or
// ctx ended. Failures of single regions, placement requests or the
// catalogue are in the Report.
func Ingest(ctx context.Context, store *storage.Store, cfg aws.Config, opts Options) (Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Report{}, fmt.Errorf("ingest aws: %w", err)
	}
	return ingest(ctx, store, sdkClients(cfg, opts), opts)
}

func ingest(ctx context.Context, store *storage.Store, clients clientFactory, opts Options) (Report, error) {
	log := opts.Logger
	now := opts.Now().UTC()
	rep := Report{Source: market.SourceAWSAPI, Endpoint: opts.EndpointURL}

	regions := opts.Regions
	if len(regions) == 0 {
		var err error
		regions, err = enabledRegions(ctx, clients(DefaultRegion))
		if err != nil {
			return rep, fmt.Errorf("ingest aws: %w", err)
		}
		log.Info("regions enabled for the account", "count", len(regions), "regions", strings.Join(regions, ","))
	}

	rep.Regions = make([]RegionReport, len(regions))
	seen := make([]map[string]bool, len(regions)) // instance types per region
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				rep.Regions[i] = RegionReport{Region: region, Error: ctx.Err().Error()}
				return
			}
			rep.Regions[i], seen[i] = ingestRegion(ctx, store, clients(region), region, now, opts)
		}()
	}
	wg.Wait()

	var firstErr string
	for _, r := range rep.Regions {
		rep.RowsRead += r.RowsRead
		rep.RowsStored += r.RowsStored
		rep.Duplicates += r.Duplicates
		rep.BadRows += r.BadRows
		if r.Error != "" {
			rep.FailedRegions++
			if firstErr == "" {
				firstErr = r.Region + ": " + r.Error
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("ingest aws: %w", err)
	}
	if rep.FailedRegions == len(regions) {
		return rep, fmt.Errorf("ingest aws: %s (and %d more): %w", firstErr, len(regions)-1, ErrAllRegionsFailed)
	}

	if len(opts.PlacementRequests) > 0 {
		pr := opts.PlacementRegion
		if pr == "" {
			pr = regions[0]
		}
		rep.Placement = ingestPlacement(ctx, store, clients(pr), pr, regions, now, opts)
		for _, p := range rep.Placement {
			rep.RowsRead += p.RowsRead
			rep.RowsStored += p.RowsStored
			rep.Duplicates += p.Duplicates
			rep.BadRows += p.BadRows
		}
	}

	if !opts.SkipCatalogue {
		// Ask each region for the types first seen there, so no type is
		// asked of a region that does not offer it.
		byRegion := map[string][]string{}
		done := map[string]bool{}
		for i, region := range regions {
			for _, t := range sortedKeys(seen[i]) {
				if !done[t] {
					done[t] = true
					byRegion[region] = append(byRegion[region], t)
				}
			}
		}
		c := ingestCatalogue(ctx, store, clients, regions, byRegion, now, opts)
		rep.InstanceTypes = &c
		rep.RowsRead += c.RowsRead
		rep.RowsStored += c.RowsStored
		rep.Duplicates += c.Duplicates
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("ingest aws: %w", err)
	}
	return rep, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// enabledRegions lists the regions DescribeRegions says are enabled
// (opt-in not required, or opted in).
func enabledRegions(ctx context.Context, c Client) ([]string, error) {
	out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	var regions []string
	for _, r := range out.Regions {
		if s := aws.ToString(r.OptInStatus); s == "not-opted-in" {
			continue
		}
		if n := aws.ToString(r.RegionName); n != "" {
			regions = append(regions, n)
		}
	}
	if len(regions) == 0 {
		return nil, errors.New("describe regions: no enabled region")
	}
	sort.Strings(regions)
	return regions, nil
}

// window is the time range a region is read for: from its watermark less
// the overlap (or the backfill on a first run) to now.
func window(ctx context.Context, store *storage.Store, region string, now time.Time, o Options) (from time.Time, err error) {
	oldest := now.Add(-MaxHistory)
	if o.Since > 0 {
		return now.Add(-o.Since), nil
	}
	wm, ok, err := store.Watermark(ctx, WatermarkSource(region))
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return now.Add(-o.Backfill), nil
	}
	from = wm.Add(-o.Overlap)
	if from.Before(oldest) {
		from = oldest
	}
	if from.After(now) {
		from = now.Add(-o.Overlap)
	}
	return from, nil
}

// ingestRegion reads one region's price history and stores it with the
// region's new watermark in one transaction. It returns the instance
// types seen.
func ingestRegion(ctx context.Context, store *storage.Store, c Client, region string, now time.Time, o Options) (RegionReport, map[string]bool) {
	log := o.Logger.With("region", region)
	rep := RegionReport{Region: region, To: now}
	fail := func(err error) (RegionReport, map[string]bool) {
		rep.Error = err.Error()
		log.Warn("region failed; the others go on", "error", err)
		return rep, nil
	}
	from, err := window(ctx, store, region, now, o)
	if err != nil {
		return fail(err)
	}
	rep.From = from

	in := &ec2.DescribeSpotPriceHistoryInput{
		StartTime:           aws.Time(from),
		EndTime:             aws.Time(now),
		ProductDescriptions: o.ProductDescriptions,
	}
	for _, t := range o.InstanceTypes {
		in.InstanceTypes = append(in.InstanceTypes, types.InstanceType(t))
	}
	if o.PageSize > 0 {
		in.MaxResults = aws.Int32(o.PageSize)
	}
	var points []market.PricePoint
	seen := map[string]bool{}
	// A region's answer repeats a few hundred zone, type and product
	// names; keeping one copy of each lets a week of a large region sit
	// in memory until it is stored.
	names := map[string]string{}
	intern := func(s string) string {
		if v, ok := names[s]; ok {
			return v
		}
		names[s] = s
		return s
	}
	pager := ec2.NewDescribeSpotPriceHistoryPaginator(c, in)
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fail(fmt.Errorf("describe spot price history page %d: %w", rep.Pages+1, err))
		}
		rep.Pages++
		for i, sp := range page.SpotPriceHistory {
			rep.RowsRead++
			p, err := PricePoint(region, sp, now)
			if err != nil {
				rep.BadRows++
				if len(rep.BadRecords) < maxBadRecords {
					rep.BadRecords = append(rep.BadRecords, fmt.Sprintf("page %d record %d: %v", rep.Pages, i+1, err))
				}
				continue
			}
			p.Pool.Zone, p.Pool.InstanceType, p.Pool.Product = intern(p.Pool.Zone), intern(p.Pool.InstanceType), intern(p.Pool.Product)
			seen[p.Pool.InstanceType] = true
			points = append(points, p)
		}
	}
	if rep.BadRows > 0 {
		log.Warn("bad records skipped", "count", rep.BadRows, "first", rep.BadRecords[0])
	}
	// EC2 answers newest first; the store takes each pool's points
	// fastest in time order.
	sort.SliceStable(points, func(i, j int) bool { return points[i].Time.Before(points[j].Time) })

	run := storage.RunInfo{Kind: "aws", Source: market.SourceAWSAPI, Path: endpointOf(o, region), Format: "DescribeSpotPriceHistory"}
	stats, err := store.Import(ctx, run, func(w *storage.Writer) error {
		for _, p := range points {
			if err := w.AddPrice(p); err != nil {
				return fmt.Errorf("%s %s: %w", p.Pool, p.Time.Format(time.RFC3339), err)
			}
		}
		w.SetWatermark(WatermarkSource(region), now)
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	t := stats.Tables["prices"]
	rep.RowsStored = t.Stored
	rep.Duplicates = t.Added - t.Stored
	log.Info("spot price history stored", "from", from.Format(time.RFC3339), "to", now.Format(time.RFC3339),
		"pages", rep.Pages, "read", rep.RowsRead, "stored", rep.RowsStored, "duplicates", rep.Duplicates, "bad", rep.BadRows)
	return rep, seen
}

func endpointOf(o Options, region string) string {
	if o.EndpointURL != "" {
		return o.EndpointURL
	}
	return "ec2." + region + ".amazonaws.com"
}

// PricePoint turns one DescribeSpotPriceHistory record, read in region,
// into a stored point; fetched is when it was read. A record without a
// zone, type, product or time, with a zone outside region, or with a
// price that is not a finite non-negative number is an error.
func PricePoint(region string, sp types.SpotPrice, fetched time.Time) (market.PricePoint, error) {
	zone := aws.ToString(sp.AvailabilityZone)
	if zone == "" {
		return market.PricePoint{}, errors.New("no availability zone")
	}
	zr, err := market.RegionOfZone(zone)
	if err != nil {
		return market.PricePoint{}, err
	}
	if zr != region {
		return market.PricePoint{}, fmt.Errorf("zone %q is not in region %q", zone, region)
	}
	if sp.InstanceType == "" {
		return market.PricePoint{}, fmt.Errorf("zone %s: no instance type", zone)
	}
	if sp.ProductDescription == "" {
		return market.PricePoint{}, fmt.Errorf("%s %s: no product description", zone, sp.InstanceType)
	}
	if sp.Timestamp == nil || sp.Timestamp.IsZero() {
		return market.PricePoint{}, fmt.Errorf("%s %s: no timestamp", zone, sp.InstanceType)
	}
	text := aws.ToString(sp.SpotPrice)
	price, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(price) || math.IsInf(price, 0) || price < 0 {
		return market.PricePoint{}, fmt.Errorf("%s %s: spot price %q is not a non-negative number", zone, sp.InstanceType, text)
	}
	return market.PricePoint{
		Pool: market.PoolKey{
			Cloud:        market.AWS,
			Region:       region,
			Zone:         zone,
			InstanceType: string(sp.InstanceType),
			Product:      string(sp.ProductDescription),
		},
		Time:      sp.Timestamp.UTC(),
		Price:     price,
		Source:    market.SourceAWSAPI,
		FetchedAt: fetched.UTC(),
	}, nil
}

// ingestCatalogue reads the catalogue entries of the types seen, asking
// each region for its own, and stores them in one transaction. It filters
// by instance-type rather than naming the types, because a name EC2 does
// not know fails a whole InstanceTypes call while a filter just leaves it
// out; what is left out is reported as not found.
func ingestCatalogue(ctx context.Context, store *storage.Store, clients clientFactory, regions []string, byRegion map[string][]string, now time.Time, o Options) CatalogueReport {
	var rep CatalogueReport
	var rows []market.InstanceType
	var errs []string
	for _, region := range regions {
		names := byRegion[region]
		rep.Requested += len(names)
		if len(names) == 0 {
			continue
		}
		c := clients(region)
		found := map[string]bool{}
		for chunk := range slices.Chunk(names, catalogueChunk) {
			in := &ec2.DescribeInstanceTypesInput{
				Filters: []types.Filter{{Name: aws.String("instance-type"), Values: chunk}},
			}
			pager := ec2.NewDescribeInstanceTypesPaginator(c, in)
			for pager.HasMorePages() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s: describe instance types: %v", region, err))
					break
				}
				for _, it := range page.InstanceTypes {
					rep.RowsRead++
					found[string(it.InstanceType)] = true
					rows = append(rows, CatalogueEntry(it, now))
				}
			}
		}
		for _, n := range names {
			if !found[n] {
				rep.NotFound = append(rep.NotFound, n)
			}
		}
	}
	for _, r := range rows {
		if r.GPUCount > 0 {
			rep.GPUTypes++
		}
	}
	if len(rep.NotFound) > 0 {
		o.Logger.Warn("instance types not in the catalogue", "count", len(rep.NotFound), "types", strings.Join(rep.NotFound, ","))
	}
	if len(errs) > 0 {
		rep.Error = strings.Join(errs, "; ")
		o.Logger.Warn("instance catalogue incomplete", "error", rep.Error)
	}
	if len(rows) == 0 {
		return rep
	}
	run := storage.RunInfo{Kind: "aws", Source: market.SourceAWSAPI, Path: endpointOf(o, regions[0]), Format: "DescribeInstanceTypes"}
	stats, err := store.Import(ctx, run, func(w *storage.Writer) error {
		for _, r := range rows {
			if err := w.AddInstanceType(r); err != nil {
				return fmt.Errorf("instance type %s: %w", r.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		rep.Error = strings.Join(append(errs, "store: "+err.Error()), "; ")
		o.Logger.Warn("instance catalogue not stored", "error", err)
		return rep
	}
	t := stats.Tables["instance_types"]
	rep.RowsStored, rep.Duplicates = t.Stored, t.Added-t.Stored
	o.Logger.Info("instance catalogue stored", "types", rep.RowsRead, "gpu_types", rep.GPUTypes, "stored", rep.RowsStored)
	return rep
}

// catalogueChunk is how many names one instance-type filter carries.
const catalogueChunk = 100

// CatalogueEntry turns a DescribeInstanceTypes entry into a catalogue
// row. GPU memory is per GPU, from the first GPU model listed (EC2 types
// fit one model).
func CatalogueEntry(it types.InstanceTypeInfo, fetched time.Time) market.InstanceType {
	t := market.InstanceType{
		Cloud:     market.AWS,
		Name:      string(it.InstanceType),
		Source:    market.SourceAWSAPI,
		FetchedAt: fetched.UTC(),
	}
	if it.VCpuInfo != nil {
		t.VCPU = int(aws.ToInt32(it.VCpuInfo.DefaultVCpus))
	}
	if it.MemoryInfo != nil {
		t.MemoryGiB = float64(aws.ToInt64(it.MemoryInfo.SizeInMiB)) / 1024
	}
	if it.ProcessorInfo != nil && len(it.ProcessorInfo.SupportedArchitectures) > 0 {
		t.Arch = string(it.ProcessorInfo.SupportedArchitectures[0])
	}
	if g := it.GpuInfo; g != nil {
		for i, d := range g.Gpus {
			t.GPUCount += int(aws.ToInt32(d.Count))
			if i == 0 {
				t.GPUModel = aws.ToString(d.Name)
				t.GPUManufacturer = aws.ToString(d.Manufacturer)
				if d.MemoryInfo != nil {
					t.GPUMemoryGiB = float64(aws.ToInt32(d.MemoryInfo.SizeInMiB)) / 1024
				}
			}
		}
	}
	return t
}
