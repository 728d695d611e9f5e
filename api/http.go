package api

import (
	"github.com/spotcast/spotcast/engine"

	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// HTTP defaults.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
)

// HTTPOptions configure the HTTP handler.
type HTTPOptions struct {
	// AuthToken, if set, is the bearer token POST /v1/events requires.
	AuthToken string
	// MaxBodyBytes bounds request bodies (0: DefaultMaxBodyBytes); a
	// larger body gets 413.
	MaxBodyBytes int64
	// RequestTimeout bounds the work behind one request (0:
	// DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Metrics, if set, records request counts and latencies.
	Metrics *Metrics
	// MetricsHandler serves /metrics (nil: 404).
	MetricsHandler http.Handler
	// Logger (nil: discarded).
	Logger *slog.Logger
	// AllowedHosts are the names (besides localhost and IP addresses)
	// under which writes are served; "*" allows any Host.
	AllowedHosts []string
	// AuthReads puts every route but /healthz and /readyz behind
	// AuthToken; AuthMetrics puts /metrics behind it.
	AuthReads, AuthMetrics bool
}

// Pool parameters shared by the pool-addressed routes.
var poolParams = []string{"cloud", "region", "zone", "instance_type", "product"}

// route is one endpoint: the OpenAPI document must list exactly these,
// with exactly these query parameters.
type route struct {
	method, path string
	params       []string
	// auth: a configured token is required.
	auth   bool
	handle func(h *handler, r *http.Request, q query) (any, error)
}

func withPool(extra ...string) []string { return append(append([]string{}, poolParams...), extra...) }

// routes lists every endpoint. /metrics is served by promhttp.
func routes() []route {
	return []route{
		{method: "GET", path: "/v1/pools", params: []string{"cloud", "region", "zone", "instance_type", "product", "gpu_model", "min_gpu_memory_gib", "source", "limit"}, handle: (*handler).pools},
		{method: "GET", path: "/v1/prices", params: withPool("resolution", "from", "to", "limit"), handle: (*handler).prices},
		{method: "GET", path: "/v1/forecast/price", params: withPool("resolution", "horizon", "model", "as_of"), handle: (*handler).priceForecast},
		{method: "GET", path: "/v1/forecast/interruption", params: withPool("horizon", "level", "as_of"), handle: (*handler).interruptionForecast},
		{method: "GET", path: "/v1/recommend/bid", params: withPool("run_length", "confidence", "parity_type", "as_of"), handle: (*handler).bid},
		{method: "GET", path: "/v1/recommend/checkpoint", params: withPool("mtbf", "checkpoint_cost", "restart_cost", "notice_window", "missed_notice_share", "run_length", "nodes", "as_of"), handle: (*handler).checkpoint},
		{method: "GET", path: "/v1/recommend/placement", params: []string{"cloud", "product", "gpu_model", "min_gpu_memory_gib", "gpus_per_node", "nodes", "regions", "run_length", "checkpoint_cost", "restart_cost", "notice_window", "missed_notice_share", "k", "model", "max_candidates", "as_of"}, handle: (*handler).placement},
		{method: "GET", path: "/v1/recommend/fleet", params: launchParams("fleet_type", "target", "strategy", "launch_template", "launch_template_version", "subnets", "confidence"), handle: (*handler).fleet},
		{method: "GET", path: "/v1/recommend/karpenter", params: launchParams("node_class", "name"), handle: (*handler).karpenter},
		{method: "GET", path: "/v1/recommend/skypilot", params: launchParams("clouds"), handle: (*handler).skyPilot},
		{method: "GET", path: "/v1/recommend/plan", params: launchParams("deadline", "step", "runs", "seed"), handle: (*handler).plan},
		{method: "POST", path: "/v1/events", auth: true, handle: (*handler).events},
		{method: "GET", path: "/healthz", handle: (*handler).healthz},
		{method: "GET", path: "/readyz", handle: (*handler).readyz},
		{method: "GET", path: "/v1/openapi.json", handle: (*handler).openapi},
	}
}

// MetricsPath is where the exporter is served.
const MetricsPath = "/metrics"

type handler struct {
	svc  *Service
	opts HTTPOptions
	log  *slog.Logger
}

// NewHandler returns the HTTP JSON API over svc.
func NewHandler(svc *Service, opts HTTPOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	h := &handler{svc: svc, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	paths := map[string][]string{}
	for _, rt := range routes() {
		mux.Handle(rt.method+" "+rt.path, h.wrap(rt.path, h.endpoint(rt)))
		paths[rt.path] = append(paths[rt.path], rt.method)
	}
	if opts.MetricsHandler != nil {
		mux.Handle("GET "+MetricsPath, h.wrap(MetricsPath, h.metricsAuth(opts.MetricsHandler)))
		paths[MetricsPath] = append(paths[MetricsPath], "GET")
	}
	mux.Handle("/", h.wrap("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkText(r.URL); err != nil {
			h.writeError(w, r, err)
			return
		}
		if methods, ok := paths[r.URL.Path]; ok {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			h.writeError(w, r, &engine.Error{Code: engine.CodeMethodNotAllow, Message: fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, strings.Join(methods, ", "))})
			return
		}
		h.writeError(w, r, engine.NotFound("no route %s %s (GET /v1/openapi.json lists the routes)", r.Method, r.URL.Path))
	})))
	return mux
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap adds what every route gets: panic recovery, the request timeout,
// metrics and a structured access log. name is the route's path, a
// bounded label.
func (h *handler) wrap(name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if m := h.opts.Metrics; m != nil {
			m.inFlight.Inc()
			defer m.inFlight.Dec()
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.RequestTimeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					h.writeError(sw, r, &engine.Error{Code: engine.CodeInternal, Message: "internal error"})
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			if m := h.opts.Metrics; m != nil {
				m.observe(name, r.Method, sw.status, d)
			}
			lvl := slog.LevelInfo
			if sw.status >= 500 {
				lvl = slog.LevelError
			}
			h.log.Log(r.Context(), lvl, "request", "method", r.Method, "path", r.URL.Path, "route", name,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// endpoint turns a route's handle function into an http.Handler.
func (h *handler) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.admit(w, r, rt); err != nil {
			h.writeError(w, r, err)
			return
		}
		q, err := newQuery(r.URL.Query(), rt.params)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		v, err := rt.handle(h, r, q)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, v)
	})
}

func (h *handler) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return false
	}
	got := strings.TrimSpace(auth[len(prefix):])
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.opts.AuthToken)) == 1
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := engine.AsError(err)
	if errors.Is(err, context.DeadlineExceeded) {
		e = &engine.Error{Code: engine.CodeUnavailable, Message: "request timed out", Err: err}
	}
	if e.Code == engine.CodeOverloaded {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if e.Code == engine.CodeInternal {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.writeJSON(w, r, httpStatus(e.Code), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Param: e.Param}})
}

// writeJSON encodes v before writing anything, so an encoding failure (a
// NaN that slipped through) is a clean 500 rather than half a document.
// An answer already encoded (encoded) is written as it is.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, ok := v.(encoded)
	if !ok {
		var err error
		if body, err = encodeJSON(v); err != nil {
			h.log.Error("encode response", "path", r.URL.Path, "err", err)
			status = http.StatusInternalServerError
			body = fmt.Appendf(nil, `{"error":{"code":%q,"message":"internal error: response could not be encoded"}}`+"\n", engine.CodeInternal)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// encoded is a response body already encoded as JSON.
type encoded []byte

// encodeJSON is the JSON of every response: compact (not indented), which
// halves both the bytes sent and the CPU an answer's encoding takes (the
// price forecast's 24 steps of quantiles: 20 KB instead of 40 KB); a
// reader wanting it indented pipes it through jq.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (h *handler) pools(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.PoolsRequest{Cloud: q.str("cloud"), Region: q.str("region"), Zone: q.str("zone"), InstanceType: q.str("instance_type"),
		Product: q.str("product"), GPUModel: q.str("gpu_model"), MinGPUMemoryGiB: p.float("min_gpu_memory_gib"),
		Source: q.str("source"), Limit: p.int("limit")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Pools(r.Context(), req)
}

func (h *handler) prices(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.PricesRequest{Pool: q.pool(), Resolution: q.str("resolution"), From: p.time("from"), To: p.time("to"), Limit: p.int("limit")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Prices(r.Context(), req)
}

func (h *handler) priceForecast(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.PriceForecastRequest{Pool: q.pool(), Resolution: q.str("resolution"), Horizon: p.duration("horizon"),
		Model: q.str("model"), AsOf: p.time("as_of")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.priceForecastJSON(r.Context(), req)
}

func (h *handler) interruptionForecast(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.InterruptionForecastRequest{Pool: q.pool(), Horizon: p.duration("horizon"), Level: p.float("level"), AsOf: p.time("as_of")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.interruptionForecastJSON(r.Context(), req)
}

func (h *handler) bid(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.BidRequest{Pool: q.pool(), RunLength: p.duration("run_length"), Confidence: p.float("confidence"),
		ParityType: q.str("parity_type"), AsOf: p.time("as_of")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Bid(r.Context(), req)
}

func (h *handler) checkpoint(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.CheckpointRequest{MTBF: p.duration("mtbf"), CheckpointCost: p.duration("checkpoint_cost"),
		RestartCost: p.duration("restart_cost"), NoticeWindow: p.durationPtr("notice_window"),
		MissedNoticeShare: p.float("missed_notice_share"), RunLength: p.duration("run_length"), Nodes: p.int("nodes"),
		AsOf: p.time("as_of")}
	if p.err != nil {
		return nil, p.err
	}
	for _, name := range poolParams {
		if q.has(name) {
			ref := q.pool()
			req.Pool = &ref
			break
		}
	}
	return h.svc.Checkpoint(r.Context(), req)
}

func (h *handler) placement(r *http.Request, q query) (any, error) {
	p := parser{q: q}
	req := engine.PlacementRequest{Cloud: q.str("cloud"), Product: q.str("product"), GPUModel: q.str("gpu_model"),
		MinGPUMemoryGiB: p.float("min_gpu_memory_gib"), GPUsPerNode: p.int("gpus_per_node"), Nodes: p.int("nodes"),
		Regions: q.list("regions"), RunLength: p.duration("run_length"), CheckpointCost: p.duration("checkpoint_cost"),
		RestartCost: p.duration("restart_cost"), NoticeWindow: p.durationPtr("notice_window"),
		MissedNoticeShare: p.float("missed_notice_share"), K: p.int("k"), Model: q.str("model"),
		MaxCandidates: p.int("max_candidates"), AsOf: p.time("as_of")}
	if p.err != nil {
		return nil, p.err
	}
	return h.svc.Placement(r.Context(), req)
}

func (h *handler) events(r *http.Request, _ query) (any, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &engine.Error{Code: engine.CodeTooLarge, Param: "body", Message: fmt.Sprintf("body: larger than %d bytes; send fewer events per request", tooBig.Limit)}
	}
	if err != nil {
		return nil, &engine.Error{Code: engine.CodeMalformedBody, Param: "body", Message: "body: " + err.Error()}
	}
	res, err := h.svc.IngestEvents(r.Context(), body)
	if err != nil {
		return nil, err
	}
	h.log.Info("events stored", "read", res.RowsRead, "stored", res.RowsStored, "duplicates", res.Duplicates, "run_id", res.RunID)
	return res, nil
}

func (h *handler) healthz(r *http.Request, _ query) (any, error) {
	return h.svc.Health(r.Context()), nil
}

func (h *handler) readyz(r *http.Request, _ query) (any, error) {
	return h.svc.Ready(r.Context())
}

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3 document of the HTTP API.
func OpenAPI() []byte { return bytes.Clone(openapiDoc) }

func (h *handler) openapi(*http.Request, query) (any, error) {
	return encoded(openapiDoc), nil
}
