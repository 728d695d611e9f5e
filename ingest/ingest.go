// Package ingest gets spot-market data into the store: files of every
// supported format (ingest/files), the AWS EC2 API (ingest/awsapi),
// EventBridge events (ingest/eventbridge) and the market simulator
// (ingest/sim). Parsers write through Sink, which *storage.Writer
// implements, so each file or API page lands in one store transaction.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/spotcast/spotcast/market"
)

// Sink takes parsed rows. *storage.Writer implements it.
type Sink interface {
	AddPrice(market.PricePoint) error
	AddAdvisor(market.AdvisorRow) error
	AddInstanceType(market.InstanceType) error
	AddOnDemand(market.OnDemandPrice) error
	AddPlacementScore(market.PlacementScore) error
	AddEvent(market.Event) error
}

// PoolSink is a Sink that hands out pool handles: a parser of a long
// price history, which meets each pool thousands of times, looks its key
// up once. *storage.Writer implements it.
type PoolSink interface {
	// Pool returns the handle of key's change-series pool.
	Pool(key market.PoolKey) (int32, error)
	// AddPriceTo adds p (its Pool unread) to the pool of a handle.
	AddPriceTo(pool int32, p market.PricePoint) error
}

// SignalSink takes what only some sources have: other clouds' capacity
// signals and availability-zone IDs. *storage.Writer implements it;
// parsers of those sources need a Sink that also is a SignalSink.
type SignalSink interface {
	AddCapacitySignal(market.CapacitySignal) error
	AddZoneID(market.ZoneID) error
}

// ErrBadInput marks errors caused by the content of the input (a bad record,
// a document of the wrong shape, an unknown format) rather than by I/O or
// the store. errors.Is(err, ErrBadInput) tells the two apart.
var ErrBadInput = errors.New("bad input")

// RowError is a bad input record. It prints as "FILE:LINE: reason", or
// "FILE: record N: reason" when the input has no useful line (a JSON
// document on one line).
type RowError struct {
	File   string
	Line   int64 // 1-based; 0 when unknown
	Record int64 // 1-based index of the record; used when Line is 0
	Reason string
}

func (e *RowError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	case e.Record > 0:
		return fmt.Sprintf("%s: record %d: %s", e.File, e.Record, e.Reason)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
}

// Is makes every RowError match ErrBadInput.
func (e *RowError) Is(target error) bool { return target == ErrBadInput }

// DefaultMaxReasons is how many bad-row reasons a Tally keeps.
const DefaultMaxReasons = 5

// Tally counts what a parser did with its input and applies the bad-row
// policy: strict (the first bad record fails the whole input, so the store
// transaction rolls back) or SkipBad (bad records are counted, the first
// few reasons kept, and parsing goes on). Records that are well-formed but
// carry nothing storable (an on-demand price of 0, meaning unknown) are
// Skipped with a reason; they are never bad.
type Tally struct {
	SkipBad    bool
	MaxReasons int // 0: DefaultMaxReasons

	Read        int64            // records read
	Added       int64            // rows handed to the Sink
	Bad         int64            // bad records skipped (SkipBad only)
	BadReasons  []string         // the first MaxReasons bad-record errors
	Skipped     int64            // values with nothing to store (a row may carry two)
	SkipReasons map[string]int64 // reason -> count
	Info        []string         // facts about the input worth reporting
}

// Reject handles a bad record. Strict: it returns err, and the caller stops.
// SkipBad: it counts the record and returns nil.
func (t *Tally) Reject(err error) error {
	if !t.SkipBad {
		return err
	}
	t.Bad++
	max := t.MaxReasons
	if max == 0 {
		max = DefaultMaxReasons
	}
	if len(t.BadReasons) < max {
		t.BadReasons = append(t.BadReasons, err.Error())
	}
	return nil
}

// Skip counts a value that has nothing to store, with the reason.
func (t *Tally) Skip(reason string) {
	t.Skipped++
	if t.SkipReasons == nil {
		t.SkipReasons = map[string]int64{}
	}
	t.SkipReasons[reason]++
}

// Note records a fact about the input (where a date came from, keys that
// were ignored) for the run's report.
func (t *Tally) Note(format string, args ...any) {
	t.Info = append(t.Info, fmt.Sprintf(format, args...))
}

// LineCounter sits between an input and a json.Decoder so that the line
// of a decoder offset (Decoder.InputOffset) can be found: it keeps only the
// bytes the decoder has read but Line has not yet passed, so memory stays
// bounded by the decoder's look-ahead.
type LineCounter struct {
	r    io.Reader
	buf  []byte // input from offset base on
	base int64
	line int64 // newlines before base
}

// NewLineCounter wraps r.
func NewLineCounter(r io.Reader) *LineCounter { return &LineCounter{r: r} }

func (c *LineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if len(c.buf) == 0 {
		c.buf = c.buf[:0:0] // drop the old array
	}
	c.buf = append(c.buf, p[:n]...)
	return n, err
}

// Line returns the 1-based line of the first byte at or after off that is
// not white space or a comma (the start of the next JSON value, when off
// is where the decoder stands between values). off must not decrease
// between calls.
func (c *LineCounter) Line(off int64) int64 {
	k := off - c.base
	if k > int64(len(c.buf)) {
		k = int64(len(c.buf))
	}
	if k > 0 {
		c.line += int64(bytes.Count(c.buf[:k], []byte{'\n'}))
		c.buf = c.buf[k:]
		c.base += k
	}
	i := 0
	for i < len(c.buf) {
		b := c.buf[i]
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' && b != ',' {
			break
		}
		if b == '\n' {
			c.line++
		}
		i++
	}
	c.buf = c.buf[i:]
	c.base += int64(i)
	return c.line + 1
}

// SourceSidecar is the file beside a data file that declares the source of
// its rows when the format has no column for it: PATH.source, one line.
// The market simulator writes one holding "simulated" beside every CSV it
// generates, and ingest/files stores that file's rows with that source.
func SourceSidecar(path string) string { return path + ".source" }
