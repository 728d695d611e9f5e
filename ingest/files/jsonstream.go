package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/storage"
)

// jsonDoc streams a JSON document token by token, decoding one record at
// a time, so a large array never sits in memory whole; every record knows
// its line.
type jsonDoc struct {
	name   string
	lc     *ingest.LineCounter
	dec    *json.Decoder
	record int64 // records decoded so far
}

func newJSONDoc(name string, r io.Reader) *jsonDoc {
	lc := ingest.NewLineCounter(r)
	dec := json.NewDecoder(lc)
	dec.UseNumber()
	return &jsonDoc{name: name, lc: lc, dec: dec}
}

// line is the line where the next value starts.
func (d *jsonDoc) line() int64 { return d.lc.Line(d.dec.InputOffset()) }

// shapeErr reports a document of the wrong shape at the current line.
func (d *jsonDoc) shapeErr(format string, args ...any) error {
	return &ingest.RowError{File: d.name, Line: d.line(), Reason: "wrong shape: " + fmt.Sprintf(format, args...)}
}

// fail turns a decoder error into a located error.
func (d *jsonDoc) fail(err error) error {
	var se *json.SyntaxError
	var re *readError
	switch {
	case errors.As(err, &re):
		return err
	case errors.As(err, &se):
		return &ingest.RowError{File: d.name, Line: d.lc.Line(se.Offset - 1), Reason: "invalid JSON: " + se.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF:
		return &ingest.RowError{File: d.name, Line: d.line(), Reason: "input ends inside the JSON document"}
	}
	return err
}

// delim reads the next token and checks it is the delimiter want; what
// names the value for the error.
func (d *jsonDoc) delim(want json.Delim, what string) error {
	line := d.line()
	t, err := d.dec.Token()
	if err != nil {
		return d.fail(err)
	}
	if t != want {
		return &ingest.RowError{File: d.name, Line: line, Reason: fmt.Sprintf("wrong shape: %s: expected %s, got %s", what, delimName(want), tokenName(t))}
	}
	return nil
}

// key reads the next object key.
func (d *jsonDoc) key() (string, error) {
	t, err := d.dec.Token()
	if err != nil {
		return "", d.fail(err)
	}
	k, _ := t.(string)
	return k, nil
}

// skip consumes one value.
func (d *jsonDoc) skip() error {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return d.fail(err)
	}
	return nil
}

// end checks nothing but white space follows the document.
func (d *jsonDoc) end() error {
	line := d.line()
	_, err := d.dec.Token()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return d.fail(err)
	}
	return &ingest.RowError{File: d.name, Line: line, Reason: "unexpected data after the JSON document"}
}

// decodeRecord decodes the next value into v. A value of the wrong type
// for v (a string where a number belongs) is a bad record, reported in
// bad; the decoder stays in step. Syntax errors are fatal (err).
func (d *jsonDoc) decodeRecord(v any) (line int64, bad string, err error) {
	line = d.line()
	d.record++
	if err := d.dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := te.Field
			if f == "" {
				return line, fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value), nil
			}
			return line, fmt.Sprintf("field %q: expected %s, got JSON %s", f, te.Type, te.Value), nil
		}
		return line, "", d.fail(err)
	}
	return line, "", nil
}

// array streams the elements of the array that comes next, calling fn
// for each with the decoder positioned at the element.
func (d *jsonDoc) array(what string, fn func() error) error {
	if err := d.delim('[', what); err != nil {
		return err
	}
	for d.dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	return d.delim(']', what)
}

// object streams the members of the object that comes next.
func (d *jsonDoc) object(what string, fn func(key string) error) error {
	if err := d.delim('{', what); err != nil {
		return err
	}
	for d.dec.More() {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return d.delim('}', what)
}

func delimName(d json.Delim) string {
	switch d {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '}':
		return "the object's end"
	case ']':
		return "the array's end"
	}
	return string(d)
}

func tokenName(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "more values"
	case string:
		return fmt.Sprintf("string %q", v)
	case json.Number, float64:
		return fmt.Sprintf("number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}

// row reports a bad record at line under the bad-row policy.
func (p *parser) row(line, record int64, reason string) error {
	return p.bad(p.rowErr(line, record, "%s", reason))
}

// rowOf turns a row the store refused for its content (err matching
// storage.ErrInvalidRow) into a bad row at line; other errors pass.
func (p *parser) rowOf(line, record int64, err error) error {
	if errors.Is(err, storage.ErrInvalidRow) {
		return p.row(line, record, err.Error())
	}
	return err
}
