// Package eventbridge reads Amazon EventBridge events about Spot capacity,
// "EC2 Spot Instance Interruption Warning" and "EC2 Instance Rebalance
// Recommendation", into interruption events. The same parser serves files,
// `spotcast ingest events` (stdin) and POST /v1/events.
//
// The event shape is the one documented in the Amazon EC2 User Guide
// ("Spot Instance interruption notices" and "EC2 instance rebalance
// recommendations"):
//
//	{"version": "0", "id": "12345678-1234-1234-1234-123456789012",
//	 "detail-type": "EC2 Spot Instance Interruption Warning",
//	 "source": "aws.ec2", "account": "123456789012",
//	 "time": "2021-02-02T20:17:45Z", "region": "us-east-2",
//	 "resources": ["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],
//	 "detail": {"instance-id": "i-1234567890abcdef0", "instance-action": "terminate"}}
//
// Neither event names the instance type, and the availability zone only
// appears where the instance ARN carries it (the documentation's examples
// put the zone in the ARN's region field). spotcast therefore reads
// "availability-zone" and "instance-type" from detail when present, a
// non-standard extension for users whose EventBridge rule enriches the event
// (an input transformer or a Lambda that looks the instance up); otherwise
// the zone comes from the ARN when that is a zone of the event's region,
// and the instance type stays empty.
package eventbridge

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// EventBridge detail-type values.
const (
	DetailInterruptionWarning = "EC2 Spot Instance Interruption Warning"
	DetailRebalance           = "EC2 Instance Rebalance Recommendation"
)

// Options tune ParseOptions.
type Options struct {
	// SkipBad skips and counts bad events instead of failing the input.
	SkipBad bool
	// MaxBadReasons is how many bad-event reasons to keep (0: 5).
	MaxBadReasons int
	// Source is written on every event (default "eventbridge").
	Source string
	// Now is the clock for fetched_at (nil: time.Now).
	Now func() time.Time
}

// Parse reads events (one JSON object per line, concatenated objects, or
// one JSON array of objects) from r into sink, failing on the first bad
// event with "NAME:LINE: reason".
func Parse(r io.Reader, name string, sink ingest.Sink) (ingest.Tally, error) {
	return ParseOptions(r, name, sink, Options{})
}

// Event is the EventBridge envelope with the detail fields spotcast reads.
type Event struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     Detail   `json:"detail"`
}

// Detail is the event's detail. AvailabilityZone and InstanceType are the
// non-standard extension described in the package comment.
type Detail struct {
	InstanceID       string `json:"instance-id"`
	InstanceAction   string `json:"instance-action"`
	AvailabilityZone string `json:"availability-zone"`
	InstanceType     string `json:"instance-type"`
}

// ParseOptions is Parse with options.
func ParseOptions(r io.Reader, name string, sink ingest.Sink, opts Options) (ingest.Tally, error) {
	t := ingest.Tally{SkipBad: opts.SkipBad, MaxReasons: opts.MaxBadReasons}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	source := opts.Source
	if source == "" {
		source = market.SourceEventBridge
	}
	fetched := now().UTC()
	br := bufio.NewReader(r)
	lc := ingest.NewLineCounter(br)
	dec := json.NewDecoder(lc)
	first, err := firstByte(br)
	if err == io.EOF {
		return t, fmt.Errorf("%s: empty input: %w", name, ingest.ErrBadInput)
	}
	if err != nil {
		return t, fmt.Errorf("%s: %w", name, err)
	}
	inArray := first == '['
	if inArray {
		if _, err := dec.Token(); err != nil {
			return t, syntaxErr(name, lc, dec, err)
		}
	} else if first != '{' {
		return t, &ingest.RowError{File: name, Line: 1, Reason: fmt.Sprintf("expected a JSON object or array of events, got %q", first)}
	}
	var record int64
	for dec.More() {
		record++
		line := lc.Line(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return t, syntaxErr(name, lc, dec, err)
		}
		t.Read++
		e, reason := convert(raw)
		if reason != "" {
			if err := t.Reject(&ingest.RowError{File: name, Line: line, Record: record, Reason: reason}); err != nil {
				return t, err
			}
			continue
		}
		e.Source = source
		e.FetchedAt = fetched
		t.Added++
		if err := sink.AddEvent(e); err != nil {
			if errors.Is(err, market.ErrInvalidRow) {
				// Refused for its content (an over-long event id): a bad row.
				t.Added--
				if err := t.Reject(&ingest.RowError{File: name, Line: line, Record: record, Reason: err.Error()}); err != nil {
					return t, err
				}
				continue
			}
			return t, fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if inArray {
		if _, err := dec.Token(); err != nil {
			return t, syntaxErr(name, lc, dec, err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return t, syntaxErr(name, lc, dec, err)
		}
		return t, &ingest.RowError{File: name, Line: lc.Line(dec.InputOffset()), Reason: "unexpected data after the events"}
	}
	if t.Read == 0 {
		return t, fmt.Errorf("%s: no events: %w", name, ingest.ErrBadInput)
	}
	return t, nil
}

// firstByte peeks at the first non-space byte.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			continue
		}
		return b, br.UnreadByte()
	}
}

// syntaxErr locates a decoder error: a syntax error at its offset's line,
// an I/O error as is.
func syntaxErr(name string, lc *ingest.LineCounter, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &ingest.RowError{File: name, Line: lc.Line(se.Offset - 1), Reason: "invalid JSON: " + se.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF:
		return &ingest.RowError{File: name, Line: lc.Line(dec.InputOffset()), Reason: "input ends inside a JSON value"}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// convert checks one event and turns it into a market.Event; reason is
// non-empty when the event is bad.
func convert(raw json.RawMessage) (market.Event, string) {
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return market.Event{}, fmt.Sprintf("field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return market.Event{}, "not an event object: " + err.Error()
	}
	var kind string
	switch ev.DetailType {
	case DetailInterruptionWarning:
		kind = market.EventInterruptionWarning
	case DetailRebalance:
		kind = market.EventRebalance
	case "":
		return market.Event{}, `missing "detail-type"`
	default:
		return market.Event{}, fmt.Sprintf("detail-type %q is not a Spot interruption warning or rebalance recommendation", ev.DetailType)
	}
	if ev.Source != "aws.ec2" {
		return market.Event{}, fmt.Sprintf(`source %q: expected "aws.ec2"`, ev.Source)
	}
	if ev.ID == "" {
		return market.Event{}, `missing "id"`
	}
	if ev.Time == "" {
		return market.Event{}, `missing "time"`
	}
	at, err := time.Parse(time.RFC3339Nano, ev.Time)
	if err != nil {
		if _, err2 := time.Parse("2006-01-02T15:04:05.999999999", ev.Time); err2 == nil {
			return market.Event{}, fmt.Sprintf("time %q has no time zone", ev.Time)
		}
		return market.Event{}, fmt.Sprintf("time %q: not RFC 3339", ev.Time)
	}
	if !market.KnownRegion(market.AWS, ev.Region) {
		return market.Event{}, fmt.Sprintf("unknown region %q", ev.Region)
	}
	id := ev.Detail.InstanceID
	arnZone, arnID := parseARN(ev.Resources)
	if id == "" {
		id = arnID
	}
	if id == "" {
		return market.Event{}, `missing "detail.instance-id"`
	}
	zone := ev.Detail.AvailabilityZone
	if zone != "" {
		if r, err := market.RegionOfZone(zone); err != nil || r != ev.Region && !inLocalZoneOf(r, ev.Region) {
			return market.Event{}, fmt.Sprintf("availability-zone %q is not in region %q", zone, ev.Region)
		}
	} else if arnZone != "" {
		if r, err := market.RegionOfZone(arnZone); err == nil && r == ev.Region {
			zone = arnZone
		}
	}
	return market.Event{
		Time:         at.UTC(),
		Cloud:        market.AWS,
		Region:       ev.Region,
		Zone:         zone,
		InstanceType: ev.Detail.InstanceType,
		InstanceID:   id,
		Kind:         kind,
		Count:        1,
		EventID:      ev.ID,
	}, ""
}

func inLocalZoneOf(group, region string) bool {
	parent, ok := market.AWSLocalZoneGroup(group)
	return ok && parent == region
}

// parseARN returns the location field and instance id of the first
// instance ARN: arn:aws:ec2:LOCATION:ACCOUNT:instance/ID, or without the
// account field as in the documentation's example events.
func parseARN(resources []string) (loc, id string) {
	for _, r := range resources {
		parts := strings.Split(r, ":")
		if len(parts) < 5 || len(parts) > 6 || parts[0] != "arn" || parts[2] != "ec2" {
			continue
		}
		if rest, ok := strings.CutPrefix(parts[len(parts)-1], "instance/"); ok {
			return parts[3], rest
		}
	}
	return "", ""
}
