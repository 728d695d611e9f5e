package files

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/spotcast/spotcast/ingest"
)

// bufSize is the read buffer; a CSV line longer than this is an error.
const bufSize = 1 << 20

// errTooLong: a line does not fit the read buffer.
var errTooLong = errors.New("line longer than 1 MiB")

// readError wraps I/O errors of the (possibly compressed) input so a
// truncated or corrupt gzip stream says so.
type readError struct{ err error }

func (e *readError) Error() string {
	switch {
	case errors.Is(e.err, io.ErrUnexpectedEOF):
		return "truncated input (gzip stream ends early): " + e.err.Error()
	case errors.Is(e.err, gzip.ErrChecksum), errors.Is(e.err, gzip.ErrHeader):
		return "corrupt gzip stream: " + e.err.Error()
	}
	return "read: " + e.err.Error()
}
func (e *readError) Unwrap() error { return e.err }

// Is makes damaged compressed input count as bad input.
func (e *readError) Is(target error) bool {
	return target == ingest.ErrBadInput && (errors.Is(e.err, io.ErrUnexpectedEOF) ||
		errors.Is(e.err, gzip.ErrChecksum) || errors.Is(e.err, gzip.ErrHeader))
}

// errReader turns read errors other than io.EOF into *readError.
type errReader struct{ r io.Reader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// decompress returns r, transparently gunzipped when it starts with the
// gzip magic bytes, buffered for sniffing.
func decompress(r io.Reader) (*bufio.Reader, func() error, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, nil, &readError{err}
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, &readError{err}
		}
		ra := newReadAhead(errReader{zr}, zr.Close)
		return bufio.NewReaderSize(ra, bufSize), ra.Close, nil
	}
	return bufio.NewReaderSize(errReader{br}, bufSize), func() error { return nil }, nil
}

// lineReader yields lines without their terminator, counting them.
type lineReader struct {
	r    *bufio.Reader
	line int64 // number of the line last returned, 1-based
}

// next returns the next line; the slice is valid until the next call.
// It returns io.EOF after the last line.
func (l *lineReader) next() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	switch {
	case err == nil:
	case err == io.EOF:
		if len(b) == 0 {
			return nil, io.EOF
		}
	case errors.Is(err, bufio.ErrBufferFull):
		l.line++
		return nil, errTooLong
	default:
		return nil, err
	}
	l.line++
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return b[:n], nil
}

// splitCSV appends the comma-separated fields of line to dst. Fields are
// sub-slices of line, except quoted fields, which are unescaped into
// scratch. A line without quotes (every price format) takes the fast path:
// one IndexByte per field.
func splitCSV(dst [][]byte, line []byte, scratch *[]byte) ([][]byte, error) {
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				return append(dst, line), nil
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
		}
	}
	return splitQuoted(dst, line, scratch)
}

// splitQuoted is RFC 4180 within one line: a field may be quoted, with ""
// for a quote; quoted newlines are not supported (no supported format has
// them).
func splitQuoted(dst [][]byte, line []byte, scratch *[]byte) ([][]byte, error) {
	buf := (*scratch)[:0]
	type span struct{ lo, hi int }
	var quoted []span
	var idx []int // position in dst of each quoted field
	for {
		if len(line) > 0 && line[0] == '"' {
			lo := len(buf)
			i := 1
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return dst, errors.New("unterminated quoted field")
				}
				buf = append(buf, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					buf = append(buf, '"')
					i++
					continue
				}
				break
			}
			quoted = append(quoted, span{lo, len(buf)})
			idx = append(idx, len(dst))
			dst = append(dst, nil)
			line = line[i:]
			if len(line) == 0 {
				break
			}
			if line[0] != ',' {
				return dst, errors.New(`text after closing quote`)
			}
			line = line[1:]
			continue
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			if bytes.IndexByte(line, '"') >= 0 {
				return dst, errors.New(`quote inside unquoted field`)
			}
			dst = append(dst, line)
			break
		}
		if bytes.IndexByte(line[:i], '"') >= 0 {
			return dst, errors.New(`quote inside unquoted field`)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
	// buf may have moved while growing: slice it only now.
	for k, s := range quoted {
		dst[idx[k]] = buf[s.lo:s.hi]
	}
	*scratch = buf
	return dst, nil
}

// interner returns one string per distinct byte sequence, so millions of
// rows share a few thousand zone, type and product strings.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// parsePrice parses a USD/hour price that must be finite and >= 0.
func parsePrice(field string, b []byte) (float64, error) {
	if v, ok := fastDecimal(b); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not a number", field, b)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s %q: not a finite number", field, b)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s %q: negative", field, b)
	}
	return v, nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastDecimal parses the plain decimals prices are written as ("0.0993",
// "14.4", "3") without strconv: when the digits, read as an integer m,
// stay below 2^53 and there are at most 22 decimals, m and 10^k are both
// exact float64s and one IEEE division m/10^k is correctly rounded
// (Clinger, "How to read floating point numbers accurately", PLDI 1990,
// the fast path), so the result equals strconv.ParseFloat's. Anything
// else (signs, exponents, long mantissas) returns ok false.
func fastDecimal(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var m uint64
	frac := -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
		case c == '.' && frac < 0 && i > 0 && i < len(b)-1:
			frac = len(b) - i - 1
		default:
			return 0, false
		}
	}
	if m >= 1<<53 {
		return 0, false
	}
	if frac <= 0 {
		return float64(m), true
	}
	return float64(m) / pow10[frac], true
}

// parseSpotPrice is parsePrice that also refuses 0: no market sells
// capacity for nothing, so 0 is a placeholder, not a price.
func parseSpotPrice(field string, b []byte) (float64, error) {
	v, err := parsePrice(field, b)
	if err == nil && v == 0 {
		return 0, fmt.Errorf("%s %q: zero", field, b)
	}
	return v, err
}

// DefaultMaxPrice is the plausible maximum of a spot price in USD per
// hour unless Options.MaxPrice says otherwise: several times the largest
// on-demand price (about 100-400 USD per hour for the largest GPU and
// memory instances), far below the overflowing values a broken feed
// writes (1e308).
const DefaultMaxPrice = 1000

// zeroPrice is the skip reason of a spot price of 0. Real AWS price
// history has a few: a feed glitch, not a price, since no market sells
// capacity for nothing.
const zeroPrice = "spot price 0 (a feed glitch, not a price)"

// spotPrice parses a spot price of a change series: 0 is reported for
// skipping (skip true), a price above the plausible maximum is an error
// naming the bound.
func (p *parser) spotPrice(field string, b []byte) (v float64, skip bool, err error) {
	v, err = parsePrice(field, b)
	switch {
	case err != nil:
		return 0, false, err
	case v == 0:
		return 0, true, nil
	case v > p.maxPrice():
		return 0, false, fmt.Errorf("%s %q: above the plausible maximum of %g USD/h (--max-price)", field, b, p.maxPrice())
	}
	return v, false, nil
}

func (p *parser) maxPrice() float64 {
	if p.opts.MaxPrice > 0 {
		return p.opts.MaxPrice
	}
	return DefaultMaxPrice
}

// tsCache remembers the last timestamp parsed: price files list many rows
// per timestamp.
type tsCache struct {
	last []byte
	t    time.Time
}

func (c *tsCache) parse(b []byte) (time.Time, error) {
	if c.last != nil && bytes.Equal(b, c.last) {
		return c.t, nil
	}
	t, err := parseTimestamp(b)
	if err != nil {
		return t, err
	}
	c.last = append(c.last[:0], b...)
	c.t = t
	return t, nil
}

// parseTimestamp parses RFC 3339 ("2021-05-30T15:22:04+00:00",
// "2021-05-30T15:22:04.000Z"); a timestamp without a zone is refused, since
// guessing UTC silently shifts every point of a file written in local time.
// The common layout is parsed by hand: time.Parse is a large share of the
// per-row cost of a price file.
func parseTimestamp(b []byte) (time.Time, error) {
	if t, ok := fastRFC3339(b); ok {
		return t, nil
	}
	s := string(b)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	if _, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
		return time.Time{}, fmt.Errorf("timestamp %q has no time zone", s)
	}
	if _, err2 := time.Parse("2006-01-02 15:04:05.999999999", s); err2 == nil {
		return time.Time{}, fmt.Errorf("timestamp %q has no time zone", s)
	}
	return time.Time{}, fmt.Errorf("timestamp %q: not RFC 3339", s)
}

func fastRFC3339(b []byte) (time.Time, bool) {
	// YYYY-MM-DDTHH:MM:SS then Z or ±HH:MM.
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	min, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := b[19:]
	var off int
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off = oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC)
	if t.Day() != day { // 2021-02-30 normalised into March
		return time.Time{}, false
	}
	return t.Add(-time.Duration(off) * time.Second), true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseDate parses YYYY-MM-DD as UTC midnight.
func parseDate(b []byte) (time.Time, error) {
	if len(b) == 10 && b[4] == '-' && b[7] == '-' {
		y, ok1 := digits(b[0:4])
		m, ok2 := digits(b[5:7])
		d, ok3 := digits(b[8:10])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if t.Day() == d {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("date %q: not YYYY-MM-DD", b)
}

// dateCache memoises parseDate; daily files repeat a few hundred dates.
type dateCache map[string]time.Time

func (c dateCache) parse(b []byte) (time.Time, error) {
	if t, ok := c[string(b)]; ok {
		return t, nil
	}
	t, err := parseDate(b)
	if err == nil {
		c[string(b)] = t
	}
	return t, err
}

// readAhead runs a reader (the gzip decompressor) in its own goroutine,
// a few chunks ahead of the parser, so decompression and parsing use two
// cores. Memory is bounded by chunks x chunkSize.
type readAhead struct {
	full  chan chunk
	free  chan []byte
	stop  chan struct{}
	done  chan struct{}
	buf   []byte // the chunk being read
	off   int
	err   error
	close func() error
}

type chunk struct {
	b   []byte
	err error
}

const (
	aheadChunks    = 4
	aheadChunkSize = 256 << 10
)

func newReadAhead(r io.Reader, closeFn func() error) *readAhead {
	a := &readAhead{
		full: make(chan chunk, aheadChunks), free: make(chan []byte, aheadChunks),
		stop: make(chan struct{}), done: make(chan struct{}), close: closeFn,
	}
	for range aheadChunks {
		a.free <- make([]byte, aheadChunkSize)
	}
	go func() {
		defer close(a.done)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.stop:
				return
			}
			n, err := io.ReadFull(r, buf[:cap(buf)])
			if err == io.ErrUnexpectedEOF {
				err = io.EOF // a short last chunk
			}
			select {
			case a.full <- chunk{buf[:n], err}:
			case <-a.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *readAhead) Read(p []byte) (int, error) {
	for a.off == len(a.buf) {
		if a.buf != nil {
			// free holds every buffer at most once: never blocks.
			a.free <- a.buf[:cap(a.buf)]
			a.buf, a.off = nil, 0
		}
		if a.err != nil {
			return 0, a.err
		}
		c := <-a.full
		a.buf, a.off, a.err = c.b, 0, c.err
	}
	n := copy(p, a.buf[a.off:])
	a.off += n
	return n, nil
}

// Close stops the goroutine and closes the underlying reader.
func (a *readAhead) Close() error {
	close(a.stop)
	<-a.done
	return a.close()
}
