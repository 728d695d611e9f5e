// Package files imports spot-market data files of every supported format
// into the store: the format is detected from the content (gzip is
// undone transparently), rows are streamed with bounded memory, and each
// file is one store transaction, so a bad file leaves the store unchanged.
package files

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/ingest/eventbridge"
	"github.com/spotcast/spotcast/market"
)

// Options tune Parse and Import. The zero value auto-detects formats and
// fails a file on its first bad row.
type Options struct {
	// Format forces a format instead of detecting it.
	Format Format
	// SkipBad skips and counts bad rows instead of failing the file.
	SkipBad bool
	// MaxBadReasons is how many bad-row reasons a report keeps (0: 5).
	MaxBadReasons int
	// Region overrides the region of formats whose region comes from the
	// file name (ondemand_<region>.json).
	Region string
	// SnapshotDate overrides the snapshot date of formats that carry none
	// (the Spot Advisor feed, the instance catalogue), which is otherwise
	// the YYYY-MM in the file name; for snapshots of the present (the AWS
	// spot feed, Resource Graph rows, GCP capacity advice) it is the time
	// of the snapshot, otherwise the file's modification time.
	SnapshotDate time.Time
	// Placement describes the request behind a bare GetSpotPlacementScores
	// response (the response does not repeat it); a wrapped file
	// {"Request":...,"Response":...} carries its own.
	Placement *PlacementRequest
	// TraceStart overrides the start time of a skypilot trace, which is
	// otherwise the start date its README gives for the trace's folder.
	TraceStart time.Time
	// CSV maps the columns of a CSV of any shape (format csv).
	CSV *CSVMapping
	// ZoneNames maps AWS zone IDs to the zone names they have in the
	// user's account (from stored zone_ids), so a zone given by ID is
	// stored under its name with the pair kept.
	ZoneNames map[string]string
	// Changes, when set, drops price points that repeat their pool's
	// previous price, for sources that report the current price at every
	// fetch (the AWS spot feed, SpotLake); see ChangeFilter.
	Changes *ChangeFilter
	// MaxPrice is the plausible maximum of a spot price in USD per hour
	// (0: DefaultMaxPrice); a price above it is a bad row.
	MaxPrice float64
	// Trace overrides what a skypilot trace's path says about it (zone,
	// instance type, kind), for a trace file kept anywhere.
	Trace TraceInfo
	// Source is written on every row; "" means "file:" + the base name.
	Source string
	// Progress receives a progress line about every second for long
	// inputs; nil for none.
	Progress io.Writer
	// Now is the clock for fetched_at (nil: time.Now).
	Now func() time.Time

	// modTime is the file's modification time: the observation time of a
	// bare placement-score response when nothing else gives one.
	modTime time.Time
}

// Result says what Parse did.
type Result struct {
	Format Format
	ingest.Tally
}

// parser is the state one input is parsed with.
type parser struct {
	ctx     context.Context
	name    string // as given, for error messages
	source  string
	fetched time.Time
	opts    Options
	sink    ingest.Sink
	t       *ingest.Tally
	prog    progress
}

// rowErr is a bad row at a line (or record index when line is 0).
func (p *parser) rowErr(line, record int64, format string, args ...any) error {
	return &ingest.RowError{File: p.name, Line: line, Record: record, Reason: fmt.Sprintf(format, args...)}
}

// bad applies the bad-row policy to a row error.
func (p *parser) bad(err error) error { return p.t.Reject(err) }

// tick is called once per record read: it counts the record, checks ctx
// and prints progress now and then.
func (p *parser) tick() error {
	p.t.Read++
	if p.t.Read&0xffff == 0 {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		p.prog.report(p.t.Read)
	}
	return nil
}

// Sink wrappers count rows handed to the store.
func (p *parser) price(pp market.PricePoint) error {
	if err := p.sink.AddPrice(pp); err != nil {
		return err
	}
	p.t.Added++
	return nil
}
func (p *parser) advisor(a market.AdvisorRow) error {
	p.t.Added++
	return p.sink.AddAdvisor(a)
}
func (p *parser) instanceType(it market.InstanceType) error {
	p.t.Added++
	return p.sink.AddInstanceType(it)
}
func (p *parser) onDemand(o market.OnDemandPrice) error {
	p.t.Added++
	return p.sink.AddOnDemand(o)
}
func (p *parser) placement(s market.PlacementScore) error {
	p.t.Added++
	return p.sink.AddPlacementScore(s)
}
func (p *parser) event(e market.Event) error {
	p.t.Added++
	return p.sink.AddEvent(e)
}

// Parse reads one input from r (gzip is undone transparently) into sink.
// name is the input's path: it appears in errors as "NAME:LINE: reason"
// and, for formats that need it, supplies what the content lacks (the
// region of ondemand_<region>.json, the snapshot month of the advisor
// feed, the zone and type of a skypilot trace). The format is opts.Format
// or detected from the first bytes. On a bad row Parse returns an error
// matching ingest.ErrBadInput, unless opts.SkipBad.
func Parse(ctx context.Context, r io.Reader, name string, sink ingest.Sink, opts Options) (Result, error) {
	in, err := open(r, name, opts.Format)
	if err != nil {
		return Result{Tally: ingest.Tally{SkipBad: opts.SkipBad, MaxReasons: opts.MaxBadReasons}}, err
	}
	defer in.close()
	return parse(ctx, in, name, sink, opts)
}

// input is an opened, decompressed input with its format.
type input struct {
	br     *bufio.Reader
	close  func() error
	format Format
}

// open undoes gzip and detects (or checks) the format.
func open(r io.Reader, name string, format Format) (*input, error) {
	br, closeZ, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A short file gives io.EOF; a damaged gzip stream a *readError,
	// which the parser reports where it occurs if the prefix is usable.
	prefix, err := br.Peek(sniffSize)
	if len(trimSpace(prefix)) == 0 {
		closeZ()
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: empty file: %w", name, ingest.ErrBadInput)
	}
	if format == "" {
		format, err = detect(prefix, name)
		if err != nil {
			closeZ()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else if _, err := ParseFormat(string(format)); err != nil {
		closeZ()
		return nil, err
	}
	return &input{br: br, close: closeZ, format: format}, nil
}

func parse(ctx context.Context, in *input, name string, sink ingest.Sink, opts Options) (Result, error) {
	res := Result{Tally: ingest.Tally{SkipBad: opts.SkipBad, MaxReasons: opts.MaxBadReasons}}
	format, br := in.format, in.br
	var err error
	res.Format = format
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	source := opts.Source
	if source == "" {
		source = market.SourceFile + ":" + filepath.Base(name)
	}
	p := &parser{
		ctx: ctx, name: name, source: source, fetched: now().UTC(), opts: opts,
		sink: sink, t: &res.Tally,
		prog: progress{w: opts.Progress, name: name, now: now, start: now()},
	}
	p.prog.last = p.prog.start
	switch format {
	case FormatSpotPriceCSV:
		err = p.spotPriceCSV(br)
	case FormatSpotPriceJSON:
		err = p.spotPriceJSON(br)
	case FormatDailyOHLC:
		err = p.dailyOHLC(br)
	case FormatOnDemandJSON:
		err = p.onDemandJSON(br)
	case FormatSpotAdvisor:
		err = p.spotAdvisor(br)
	case FormatInstanceTypes:
		err = p.instanceTypesJSON(br)
	case FormatInstanceCatalog:
		err = p.instanceCatalog(br)
	case FormatGCPPrices:
		err = p.gcpPrices(br)
	case FormatGCPMachineTypes:
		err = p.gcpMachineTypes(br)
	case FormatPlacementScores:
		err = p.placementScores(br)
	case FormatEventBridge:
		err = p.events(br)
	case FormatSkypilotTrace:
		err = p.skypilotTrace(br)
	case FormatAWSSpotFeed:
		err = p.awsSpotFeed(br)
	case FormatAzureRetail:
		err = p.azureRetail(br)
	case FormatAzureSpot:
		err = p.azureSpotResources(br)
	case FormatGCPCapacityHistory:
		err = p.gcpCapacityHistory(br)
	case FormatGCPCapacityAdvice:
		err = p.gcpCapacityAdvice(br)
	case FormatSpotLake:
		err = p.spotLake(br)
	case FormatCSV:
		err = p.genericCSV(br)
	case FormatAWSZones:
		err = p.awsAvailabilityZones(br)
	default:
		err = fmt.Errorf("format %q has no parser", format)
	}
	if opts.Changes != nil {
		opts.Changes.done(err == nil)
	}
	if err != nil {
		var re *ingest.RowError
		if errors.As(err, &re) {
			return res, err // already "NAME:LINE: reason"
		}
		return res, fmt.Errorf("%s: %w", name, err)
	}
	p.prog.done(p.t.Read)
	return res, nil
}

// events reads EventBridge events with the eventbridge package's parser.
func (p *parser) events(r io.Reader) error {
	t, err := eventbridge.ParseOptions(r, p.name, p.sink, eventbridge.Options{
		SkipBad: p.opts.SkipBad, MaxBadReasons: p.opts.MaxBadReasons,
		Source: p.source, Now: func() time.Time { return p.fetched },
	})
	*p.t = t
	return err
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// progress prints "NAME: N rows, R rows/s" to w at most once a second.
type progress struct {
	w       io.Writer
	name    string
	now     func() time.Time
	start   time.Time
	last    time.Time
	printed bool
}

func (g *progress) report(rows int64) {
	if g.w == nil {
		return
	}
	t := g.now()
	if t.Sub(g.last) < time.Second {
		return
	}
	g.last = t
	g.printed = true
	el := t.Sub(g.start).Seconds()
	fmt.Fprintf(g.w, "%s: %d rows, %.0f rows/s\n", g.name, rows, float64(rows)/el)
}

// done prints a final line if any progress was printed.
func (g *progress) done(rows int64) {
	if g.w == nil || !g.printed {
		return
	}
	el := g.now().Sub(g.start).Seconds()
	fmt.Fprintf(g.w, "%s: %d rows read in %.1fs (%.0f rows/s)\n", g.name, rows, el, float64(rows)/el)
}
