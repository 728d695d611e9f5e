package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the exporter's instrumented metrics: HTTP requests and the
// scheduler's jobs. Values read from storage come from the Collector.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	grpcRequests *prometheus.CounterVec
	grpcDuration *prometheus.HistogramVec

	jobRuns     *prometheus.CounterVec
	jobLastOK   *prometheus.GaugeVec
	jobDuration *prometheus.GaugeVec

	ingestRuns   *prometheus.CounterVec
	ingestErrors *prometheus.CounterVec
	ingestRows   *prometheus.CounterVec
	ingestLastOK *prometheus.GaugeVec
}

// NewMetrics creates the instrumented metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_http_requests_total",
			Help: "HTTP requests served, by route, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotcast_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route and method.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"handler", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spotcast_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		grpcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_grpc_requests_total",
			Help: "gRPC calls served, by method and status code.",
		}, []string{"method", "code"}),
		grpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spotcast_grpc_request_duration_seconds",
			Help:    "Time to serve a gRPC call, by method.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_scheduler_runs_total",
			Help: "Scheduled job runs, by job and result (ok or error).",
		}, []string{"job", "result"}),
		jobLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "spotcast_scheduler_last_success_timestamp_seconds",
			Help: "Unix time the job last finished without error.",
		}, []string{"job"}),
		jobDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "spotcast_scheduler_last_duration_seconds",
			Help: "How long the job's last run took.",
		}, []string{"job"}),
		ingestRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_ingest_runs_total",
			Help: "Ingest runs by this process, by source kind.",
		}, []string{"source"}),
		ingestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_ingest_errors_total",
			Help: "Ingest runs by this process that failed (wholly or for some region), by source kind.",
		}, []string{"source"}),
		ingestRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spotcast_ingest_rows_stored_total",
			Help: "New rows stored by this process's ingest runs, by source kind.",
		}, []string{"source"}),
		ingestLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "spotcast_ingest_last_success_timestamp_seconds",
			Help: "Unix time of this process's last ingest run without error, by source kind.",
		}, []string{"source"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.grpcRequests, m.grpcDuration, m.jobRuns, m.jobLastOK, m.jobDuration,
		m.ingestRuns, m.ingestErrors, m.ingestRows, m.ingestLastOK)
	return m
}

func (m *Metrics) observe(handler, method string, status int, d time.Duration) {
	switch method {
	case "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS":
	default:
		method = "other" // bounded
	}
	m.requests.WithLabelValues(handler, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(handler, method).Observe(d.Seconds())
}

// observeGRPC records one gRPC call; method is the full method name, one
// of the service's few.
func (m *Metrics) observeGRPC(method, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.grpcRequests.WithLabelValues(method, code).Inc()
	m.grpcDuration.WithLabelValues(method).Observe(d.Seconds())
}

// JobDone records one run of a scheduled job.
func (m *Metrics) JobDone(job string, end time.Time, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	} else {
		m.jobLastOK.WithLabelValues(job).Set(float64(end.UnixNano()) / 1e9)
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
	m.jobDuration.WithLabelValues(job).Set(d.Seconds())
}

// IngestDone records one ingest run of a source ("aws-api", "simulated",
// "eventbridge"; a "file:NAME" source counts as "file").
func (m *Metrics) IngestDone(source string, end time.Time, rowsStored int64, err error) {
	if m == nil {
		return
	}
	source = sourceKind(source)
	m.ingestRuns.WithLabelValues(source).Inc()
	m.ingestRows.WithLabelValues(source).Add(float64(max(rowsStored, 0)))
	if err != nil {
		m.ingestErrors.WithLabelValues(source).Inc()
		return
	}
	m.ingestLastOK.WithLabelValues(source).Set(float64(end.UnixNano()) / 1e9)
}

// sourceKind bounds the source label: "file:prices.csv" -> "file".
func sourceKind(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// Handler serves reg's metrics (the exporter's own registry, never the
// global one), counting its own errors on reg.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
