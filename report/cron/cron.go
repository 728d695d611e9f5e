// Package cron parses five-field cron expressions (minute, hour, day of
// month, month, day of week) and finds the next time one matches, in UTC.
//
// The syntax is Vixie cron's (crontab(5)): "*", numbers, ranges "a-b",
// steps "*/n" and "a-b/n", lists "a,b", month and weekday names
// (jan-dec, sun-sat, case-insensitive), 7 as Sunday, and the macros
// @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly.
// As in crontab(5), when both day of month and day of week are restricted
// (neither starts with "*"), a day matches if either field matches.
package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("bad cron expression")

// Schedule is a parsed expression. The zero value matches nothing; use
// Parse.
type Schedule struct {
	expr   string
	minute uint64 // bit i: minute i
	hour   uint64
	dom    uint64 // bits 1-31
	month  uint64 // bits 1-12
	dow    uint64 // bits 0-6, Sunday 0
	// domStar and dowStar: the field started with "*", so it does not
	// restrict the day (crontab(5)'s rule for combining the two).
	domStar, dowStar bool
}

// String returns the expression as given.
func (s Schedule) String() string { return s.expr }

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]int{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	// 7 is accepted as Sunday and folded onto 0.
	{name: "day-of-week", min: 0, max: 7, names: map[string]int{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// Parse parses a five-field expression or a macro. Errors name the field
// and the offending text, e.g.
//
//	cron "0 25 * * *": hour field "25": 25 is out of range 0-23
func Parse(expr string) (Schedule, error) {
	s := Schedule{expr: expr}
	text := strings.TrimSpace(expr)
	if strings.HasPrefix(text, "@") {
		m, ok := macros[strings.ToLower(text)]
		if !ok {
			return Schedule{}, fmt.Errorf("cron %q: unknown macro %q (want @yearly, @monthly, @weekly, @daily or @hourly): %w", expr, text, ErrSyntax)
		}
		text = m
	}
	parts := strings.Fields(text)
	if len(parts) != 5 {
		return Schedule{}, fmt.Errorf("cron %q: %d fields, want 5 (minute hour day-of-month month day-of-week): %w", expr, len(parts), ErrSyntax)
	}
	var bits [5]uint64
	for i, p := range parts {
		b, err := parseField(p, fields[i])
		if err != nil {
			return Schedule{}, fmt.Errorf("cron %q: %s field %q: %v: %w", expr, fields[i].name, p, err, ErrSyntax)
		}
		bits[i] = b
	}
	if bits[4]&(1<<7) != 0 {
		bits[4] = bits[4]&^(1<<7) | 1
	}
	s.minute, s.hour, s.dom, s.month, s.dow = bits[0], bits[1], bits[2], bits[3], bits[4]
	s.domStar = strings.HasPrefix(parts[2], "*")
	s.dowStar = strings.HasPrefix(parts[4], "*")
	if !s.possible() {
		return Schedule{}, fmt.Errorf("cron %q: day-of-month field %q never occurs in month field %q: %w", expr, parts[2], parts[3], ErrSyntax)
	}
	return s, nil
}

// possible reports whether some day matches: "30 2" (30 February) alone
// never does, and Next would search forever.
func (s Schedule) possible() bool {
	if !s.domStar && !s.dowStar {
		return true // any matching weekday will do
	}
	if s.domStar {
		return true
	}
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= days[m]; d++ {
			if s.dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

func parseField(text string, f field) (uint64, error) {
	if text == "" {
		return 0, errors.New("empty")
	}
	var bits uint64
	for _, item := range strings.Split(text, ",") {
		b, err := parseItem(item, f)
		if err != nil {
			return 0, err
		}
		bits |= b
	}
	return bits, nil
}

func parseItem(item string, f field) (uint64, error) {
	if item == "" {
		return 0, errors.New("empty list item")
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("step %q is not a positive number", stepText)
		}
		if n > f.max-f.min+1 {
			return 0, fmt.Errorf("step %d is longer than the range %d-%d", n, f.min, f.max)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case rng == "":
		return 0, fmt.Errorf("missing value before %q", "/"+stepText)
	default:
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = value(a, f); err != nil {
			return 0, err
		}
		hi = lo
		if isRange {
			if hi, err = value(b, f); err != nil {
				return 0, err
			}
			if hi < lo {
				return 0, fmt.Errorf("range %d-%d runs backwards", lo, hi)
			}
		} else if hasStep {
			// "a/n" means a through the maximum, every n (Vixie cron).
			hi = f.max
		}
	}
	var bits uint64
	for v := lo; v <= hi; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

func value(text string, f field) (int, error) {
	if v, ok := f.names[strings.ToLower(text)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(text)
	if err != nil {
		if f.names != nil {
			return 0, fmt.Errorf("%q is neither a number nor a name", text)
		}
		return 0, fmt.Errorf("%q is not a number", text)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// dayMatches applies crontab(5)'s rule: with both day fields restricted a
// day matches if either does.
func (s Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	switch {
	case s.domStar && s.dowStar:
		return true
	case s.domStar:
		return dow
	case s.dowStar:
		return dom
	}
	return dom || dow
}

// Next returns the first time strictly after t (in UTC, whole minutes)
// that the schedule matches. It returns the zero time for the zero
// Schedule.
func (s Schedule) Next(t time.Time) time.Time {
	if s.minute == 0 || s.hour == 0 || s.month == 0 || (s.dom == 0 && s.dow == 0) {
		return time.Time{}
	}
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	// Parse guarantees a matching day exists within every leap cycle; the
	// bound only guards against a Schedule that Parse did not build.
	limit := t.AddDate(9, 0, 0)
	for t.Before(limit) {
		if s.month&(1<<int(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !s.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if s.hour&(1<<t.Hour()) == 0 {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, time.UTC)
			continue
		}
		if s.minute&(1<<t.Minute()) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}
