package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// openapiDocT is the part of an OpenAPI 3 document the tests read.
type openapiDocT struct {
	OpenAPI string                               `json:"openapi"`
	Paths   map[string]map[string]openapiOp      `json:"paths"`
	Comps   struct{ Schemas map[string]schemaT } `json:"components"`
}

type openapiOp struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Responses map[string]struct {
		Content map[string]struct {
			Schema schemaT `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type schemaT struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Properties map[string]schemaT `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schemaT           `json:"items"`
	Enum       []string           `json:"enum"`
	AddProps   any                `json:"additionalProperties"`
}

func loadDoc(t *testing.T) openapiDocT {
	t.Helper()
	var d openapiDocT
	if err := json.Unmarshal(OpenAPI(), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi.json: version %q, want 3.x", d.OpenAPI)
	}
	return d
}

func (d openapiDocT) resolve(t *testing.T, s schemaT) schemaT {
	t.Helper()
	for s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		r, ok := d.Comps.Schemas[name]
		if !ok {
			t.Fatalf("openapi.json: dangling $ref %s", s.Ref)
		}
		s = r
	}
	return s
}

// registered lists METHOD PATH of every route the handler serves.
func registered() []string {
	var out []string
	for _, rt := range routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return append(out, "GET "+MetricsPath)
}

func TestOpenAPIListsEveryRouteAndNoOther(t *testing.T) {
	d := loadDoc(t)
	var documented []string
	for p, ops := range d.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	got, want := registered(), documented
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes and OpenAPI paths differ:\nregistered: %v\ndocumented: %v", got, want)
	}
	// And the handler really serves each documented route (no 404/405);
	// an unknown parameter keeps the requests cheap (refused with 400
	// before any work).
	srv := httptest.NewServer(NewHandler(newTestService(t, sharedSimStore(t)), HTTPOptions{MetricsHandler: Handler(prometheus.NewRegistry())}))
	defer srv.Close()
	for _, r := range documented {
		method, path, _ := strings.Cut(r, " ")
		req, _ := http.NewRequest(method, srv.URL+path+"?zz=1", strings.NewReader("{}"))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s: 404", r)
		}
		if resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s: 405", r)
		}
	}
}

func TestOpenAPIParametersMatchHandlers(t *testing.T) {
	d := loadDoc(t)
	srv := httptest.NewServer(NewHandler(newTestService(t, sharedSimStore(t)), HTTPOptions{}))
	defer srv.Close()
	for _, rt := range routes() {
		op := d.Paths[rt.path][strings.ToLower(rt.method)]
		var names, required []string
		for _, p := range op.Parameters {
			if p.In != "query" {
				t.Errorf("%s %s: parameter %s in %s; the handlers read only the query", rt.method, rt.path, p.Name, p.In)
			}
			names = append(names, p.Name)
			if p.Required {
				required = append(required, p.Name)
			}
		}
		decl := slices.Clone(rt.params)
		sort.Strings(names)
		sort.Strings(decl)
		if !slices.Equal(names, decl) {
			t.Errorf("%s %s: documented parameters %v, handler takes %v", rt.method, rt.path, names, decl)
		}
		if rt.method != "GET" {
			continue
		}
		// Every parameter the document calls required is: leaving it out
		// (with the others given) is a 400 naming it.
		for _, miss := range required {
			v := url.Values{}
			for _, r := range required {
				if r != miss {
					v.Set(r, exampleValue(r))
				}
			}
			code, body := get(t, srv, rt.path+"?"+v.Encode())
			if code != http.StatusBadRequest || errParam(body) != miss {
				t.Errorf("%s without %s: status %d, error %v; want 400 naming %s", rt.path, miss, code, body["error"], miss)
			}
		}
		// And an unknown parameter is refused by name.
		code, body := get(t, srv, rt.path+"?no_such_param=1")
		if code != http.StatusBadRequest || errParam(body) != "no_such_param" {
			t.Errorf("%s?no_such_param=1: status %d, error %v; want 400 naming it", rt.path, code, body["error"])
		}
	}
}

func exampleValue(param string) string {
	switch param {
	case "instance_type":
		return "p3.2xlarge"
	case "checkpoint_cost":
		return "5m"
	}
	return "1"
}

func errParam(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	p, _ := e["param"].(string)
	return p
}

// checkSchema checks that v has every required property of s and no
// property s does not declare (unless s allows additional ones), down
// through objects and arrays.
func (d openapiDocT) checkSchema(t *testing.T, where string, s schemaT, v any) {
	t.Helper()
	s = d.resolve(t, s)
	switch x := v.(type) {
	case map[string]any:
		if s.Type != "object" {
			t.Errorf("%s: got an object, schema says %q", where, s.Type)
			return
		}
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				t.Errorf("%s: required property %q missing", where, r)
			}
		}
		if s.AddProps == true {
			return
		}
		for k, val := range x {
			ps, ok := s.Properties[k]
			if !ok {
				t.Errorf("%s: property %q is not in the schema", where, k)
				continue
			}
			d.checkSchema(t, where+"."+k, ps, val)
		}
	case []any:
		if s.Type != "array" {
			t.Errorf("%s: got an array, schema says %q", where, s.Type)
			return
		}
		for i, e := range x {
			if i > 3 {
				break
			}
			d.checkSchema(t, fmt.Sprintf("%s[%d]", where, i), *s.Items, e)
		}
	case string:
		if s.Type != "string" {
			t.Errorf("%s: got a string, schema says %q", where, s.Type)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, x) {
			t.Errorf("%s: %q is not in the enum %v", where, x, s.Enum)
		}
	case float64:
		if s.Type != "number" && s.Type != "integer" {
			t.Errorf("%s: got a number, schema says %q", where, s.Type)
		}
		if s.Type == "integer" && x != float64(int64(x)) {
			t.Errorf("%s: %v is not an integer", where, x)
		}
	case bool:
		if s.Type != "boolean" {
			t.Errorf("%s: got a boolean, schema says %q", where, s.Type)
		}
	}
}

// TestResponsesMatchOpenAPI calls every route, successfully and not, and
// checks each response against the schema the document gives for its
// status: a status the document does not list is an error too.
func TestResponsesMatchOpenAPI(t *testing.T) {
	d := loadDoc(t)
	svc := newTestService(t, newSimStore(t))
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{AuthToken: "s3cret", MaxBodyBytes: 4096}))
	defer srv.Close()
	pool := "instance_type=p3.2xlarge&zone=us-east-1a"
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	cases := []struct {
		method, path, body string
		header             http.Header
		want               int
	}{
		{"GET", "/v1/pools?limit=3", "", nil, 200},
		{"GET", "/v1/pools?gpu_model=A100", "", nil, 200},
		{"GET", "/v1/pools?limit=-1", "", nil, 400},
		{"GET", "/v1/prices?limit=5&" + pool, "", nil, 200},
		{"GET", "/v1/prices?instance_type=nope.large&zone=us-east-1a", "", nil, 404},
		{"GET", "/v1/forecast/price?horizon=48h&" + pool, "", nil, 200},
		{"GET", "/v1/forecast/price?horizon=2h&model=naive&" + pool, "", nil, 200},
		{"GET", "/v1/forecast/price?horizon=999d&" + pool, "", nil, 400},
		{"GET", "/v1/forecast/interruption?" + pool, "", nil, 200},
		{"GET", "/v1/forecast/interruption?level=1.5&" + pool, "", nil, 400},
		{"GET", "/v1/recommend/bid?run_length=6h&" + pool, "", nil, 200},
		{"GET", "/v1/recommend/bid?parity_type=p3.8xlarge&" + pool, "", nil, 200},
		{"GET", "/v1/recommend/checkpoint?checkpoint_cost=10m&run_length=24h&" + pool, "", nil, 200},
		{"GET", "/v1/recommend/checkpoint?checkpoint_cost=10m&mtbf=10h&restart_cost=5m", "", nil, 200},
		{"GET", "/v1/recommend/placement?gpu_model=V100&nodes=2", "", nil, 200},
		{"GET", "/v1/recommend/placement?gpu_model=B300", "", nil, 422},
		{"GET", "/v1/recommend/placement?gpu_model=V100&cloud=any", "", nil, 200},
		{"GET", "/v1/recommend/fleet?gpu_model=V100&fleet_type=instant", "", nil, 200},
		{"GET", "/v1/recommend/fleet?gpu_model=V100&cloud=gcp", "", nil, 400},
		{"GET", "/v1/recommend/karpenter?gpu_model=V100&nodes=2", "", nil, 200},
		{"GET", "/v1/recommend/skypilot?gpu_model=V100", "", nil, 200},
		{"GET", "/v1/recommend/plan?gpu_model=V100&run_length=24h&deadline=36h&runs=200", "", nil, 200},
		{"GET", "/v1/recommend/plan?gpu_model=V100&deadline=20h", "", nil, 400},
		{"GET", "/v1/recommend/plan?gpu_model=B300&deadline=36h", "", nil, 422},
		{"POST", "/v1/events", eventJSON("e-1", "i-0001", "us-east-1a", "p3.2xlarge", testNow.Add(-time2h)), auth, 200},
		{"POST", "/v1/events", `{"detail-type": 17}`, auth, 400},
		{"POST", "/v1/events", eventJSON("e-2", "i-0002", "us-east-1a", "p3.2xlarge", testNow), nil, 401},
		{"POST", "/v1/events", strings.Repeat(" ", 5000) + "{}", auth, 413},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/readyz", "", nil, 200},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		code, body := do(t, srv, c.method, c.path, c.body, c.header)
		where := c.method + " " + c.path
		if len(where) > 90 {
			where = where[:90]
		}
		if code != c.want {
			t.Errorf("%s: status %d, want %d: %v", where, code, c.want, body)
			continue
		}
		u, _ := url.Parse(c.path)
		op, ok := d.Paths[u.Path][strings.ToLower(c.method)]
		if !ok {
			t.Errorf("%s: not in the document", where)
			continue
		}
		seen[c.method+" "+u.Path] = true
		resp, ok := op.Responses[strconv.Itoa(code)]
		if !ok {
			t.Errorf("%s: status %d is not documented", where, code)
			continue
		}
		d.checkSchema(t, where, resp.Content["application/json"].Schema, body)
	}
	for _, r := range registered() {
		if r == "GET "+MetricsPath || r == "GET /v1/openapi.json" {
			continue
		}
		if !seen[r] {
			t.Errorf("%s: no response checked against the document", r)
		}
	}
}
