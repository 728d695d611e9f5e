package api

import (
	"github.com/spotcast/spotcast/engine"

	"errors"
	"net/url"
	"slices"
	"testing"
)

// FuzzQuery: any query string either parses into a request or is refused
// with a classified 400 naming a parameter; nothing panics.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"instance_type=p3.2xlarge&zone=us-east-1a&horizon=24h",
		"horizon=7d&level=0.8&as_of=2021-05-01",
		"horizon=1d12h&run_length=-3m&confidence=NaN",
		"limit=99999999999999999999&from=2021-05-01T00:00:00Z",
		"regions=us-east-1,,eu-west-1&nodes=2&k=x",
		"zone=%ZZ&&=&a=b",
		"notice_window=0&as_of=2021-13-45",
	} {
		f.Add(s)
	}
	rt := routes()
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, r := range rt {
			q, err := newQuery(v, r.params)
			if err != nil {
				checkParamError(t, err)
				continue
			}
			p := parser{q: q}
			for _, name := range r.params {
				switch name {
				case "horizon", "run_length", "mtbf", "checkpoint_cost", "restart_cost":
					if d := p.duration(name); p.err == nil && q.str(name) == "" && d != 0 {
						t.Fatalf("%s: empty gave %v", name, d)
					}
				case "notice_window":
					p.durationPtr(name)
				case "level", "confidence", "min_gpu_memory_gib", "missed_notice_share":
					if x := p.float(name); x != x {
						t.Fatalf("%s: NaN accepted from %q", name, q.str(name))
					}
				case "limit", "nodes", "gpus_per_node", "k", "max_candidates":
					p.int(name)
				case "from", "to", "as_of":
					p.time(name)
				case "regions":
					for _, r := range q.list(name) {
						if r == "" {
							t.Fatal("empty region in list")
						}
					}
				default:
					q.str(name)
				}
			}
			if p.err != nil {
				checkParamError(t, p.err)
			}
			if slices.Contains(r.params, "zone") {
				if _, err := q.pool().Normalize(); err != nil {
					checkParamError(t, err)
				}
			}
		}
	})
}

func checkParamError(t *testing.T, err error) {
	var e *engine.Error
	if !errors.As(err, &e) || e.Code != engine.CodeInvalidArgument || e.Param == "" || httpStatus(e.Code) != 400 {
		t.Fatalf("unclassified parameter error: %#v", err)
	}
}
