package api

import (
	"github.com/spotcast/spotcast/engine"

	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spotcast/spotcast/config"
)

// query reads a request's query parameters. Only the parameters the route
// declares may be read (reading another is a programming error, caught by
// the route tests) or sent (an unknown one is a 400, so a typo such as
// "instance-type" is not silently ignored).
type query struct {
	v        url.Values
	declared []string
}

func newQuery(v url.Values, declared []string) (query, error) {
	for k := range v {
		if k == "" {
			return query{}, engine.Invalid("query", "a parameter has an empty name")
		}
		if !slices.Contains(declared, k) {
			if len(declared) == 0 {
				return query{}, engine.Invalid(k, "unknown parameter (this route takes none)")
			}
			return query{}, engine.Invalid(k, "unknown parameter (this route takes %s)", strings.Join(declared, ", "))
		}
		if len(v[k]) > 1 {
			return query{}, engine.Invalid(k, "given %d times", len(v[k]))
		}
	}
	return query{v: v, declared: declared}, nil
}

func (q query) raw(name string) (string, bool) {
	if !slices.Contains(q.declared, name) {
		panic(fmt.Sprintf("api: parameter %q read but not declared", name))
	}
	s, ok := q.v[name]
	if !ok {
		return "", false
	}
	return strings.TrimSpace(s[0]), true
}

func (q query) str(name string) string {
	s, _ := q.raw(name)
	return s
}

func (q query) has(name string) bool {
	_, ok := q.raw(name)
	return ok
}

// duration reads "90s", "15m", "24h" or "7d"; absent gives 0.
func (q query) duration(name string) (time.Duration, error) {
	s, ok := q.raw(name)
	if !ok || s == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return 0, engine.Invalid(name, "%q is not a duration such as 90s, 15m, 24h or 7d", s)
	}
	return d, nil
}

// durationPtr is duration, nil when absent.
func (q query) durationPtr(name string) (*time.Duration, error) {
	if !q.has(name) {
		return nil, nil
	}
	d, err := q.duration(name)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func (q query) float(name string) (float64, error) {
	s, ok := q.raw(name)
	if !ok || s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return 0, engine.Invalid(name, "%q is not a number", s)
	}
	return f, nil
}

func (q query) int(name string) (int, error) {
	s, ok := q.raw(name)
	if !ok || s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, engine.Invalid(name, "%q is not an integer", s)
	}
	return n, nil
}

// time reads RFC 3339 or a date (UTC).
func (q query) time(name string) (time.Time, error) {
	s, ok := q.raw(name)
	if !ok || s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.IsZero() {
				// The zero time means "not given" (now) to the engine.
				return time.Time{}, engine.Invalid(name, "%q is the zero time, not a time of the data (leave %s out for now)", s, name)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, engine.Invalid(name, "%q is not RFC 3339 (2021-05-01T00:00:00Z) or a date (2021-05-01)", s)
}

func (q query) list(name string) []string {
	var out []string
	for _, f := range strings.Split(q.str(name), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (q query) pool() engine.PoolRef {
	return engine.PoolRef{Cloud: q.str("cloud"), Region: q.str("region"), Zone: q.str("zone"),
		InstanceType: q.str("instance_type"), Product: q.str("product")}
}

// parser collects the first error of a run of parameter reads.
type parser struct {
	q   query
	err error
}

func (p *parser) duration(name string) time.Duration {
	d, err := p.q.duration(name)
	p.keep(err)
	return d
}

func (p *parser) durationPtr(name string) *time.Duration {
	d, err := p.q.durationPtr(name)
	p.keep(err)
	return d
}

func (p *parser) float(name string) float64 {
	f, err := p.q.float(name)
	p.keep(err)
	return f
}

func (p *parser) int(name string) int {
	n, err := p.q.int(name)
	p.keep(err)
	return n
}

func (p *parser) time(name string) time.Time {
	t, err := p.q.time(name)
	p.keep(err)
	return t
}

func (p *parser) keep(err error) {
	if p.err == nil && err != nil {
		p.err = err
	}
}
