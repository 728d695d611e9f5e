package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/ingest/awsapi"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/report"
	"github.com/spotcast/spotcast/storage"
)

// defaultWatchPools bounds the pools watched when the config names none
// (one per GPU model).
const defaultWatchPools = 12

// backtestEvery spaces the forecast-quality backtests of the watched pools.
const backtestEvery = 6 * time.Hour

func runServe(ctx context.Context, e env, args []string) error {
	var c common
	var demo, insecureNoToken bool
	var httpAddr, grpcAddr, token, tlsCert, tlsKey, logFormat, ingestEvery, refitEvery string
	var simCfg sim.Config
	fs := newFlags(e, "serve", "serve [--db PATH] [--config FILE] [--demo] [--http-addr 127.0.0.1:8080] [--grpc-addr 127.0.0.1:50051] [--auth-token T] [--tls-cert F --tls-key F]", &c)
	fs.BoolVar(&demo, "demo", false, "serve a SIMULATED market (labelled source=simulated everywhere); without --db it lives in memory")
	fs.StringVar(&httpAddr, "http-addr", "", "HTTP listen `address` (default: the config's serve.http_addr, 127.0.0.1:8080)")
	fs.StringVar(&grpcAddr, "grpc-addr", "", "gRPC listen `address` (default: the config's serve.grpc_addr, 127.0.0.1:50051; \"off\": no gRPC)")
	fs.StringVar(&token, "auth-token", "", "bearer token POST /v1/events requires (default $SPOTCAST_AUTH_TOKEN, else serve.auth_token)")
	fs.StringVar(&tlsCert, "tls-cert", "", "TLS certificate `file` (with --tls-key: serve HTTPS)")
	fs.StringVar(&tlsKey, "tls-key", "", "TLS key `file`")
	fs.StringVar(&ingestEvery, "ingest-every", "", "scheduled AWS ingest period, e.g. 10m; 0 turns it off (default: serve.ingest_every)")
	fs.StringVar(&refitEvery, "refit-every", "", "period of the refit of every pool whose data changed, e.g. 1h (default: serve.refit_every)")
	fs.StringVar(&logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&insecureNoToken, "insecure-no-token", false, "serve on a non-loopback address without an auth token: anyone who can reach the port may post events (default: serve.insecure_no_token)")
	fs.Uint64Var(&simCfg.Seed, "demo-seed", 1, "simulator seed for --demo")
	fs.IntVar(&simCfg.Days, "demo-days", sim.DefaultDays, "days of simulated history for --demo")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	sc, err := serveConfig(fs, cfg.Serve, httpAddr, grpcAddr, token, tlsCert, tlsKey, ingestEvery, refitEvery)
	if err != nil {
		return err
	}
	sc.InsecureNoToken = sc.InsecureNoToken || insecureNoToken
	if err := checkListen(sc); err != nil {
		return err
	}
	var log *slog.Logger
	switch logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(e.stderr, nil))
	case "json":
		log = slog.New(slog.NewJSONHandler(e.stderr, nil))
	default:
		return fmt.Errorf("--log-format %q: want text or json", logFormat)
	}
	if demo && simCfg.Days <= 0 {
		return fmt.Errorf("--demo-days must be > 0")
	}

	// The store. A demo without a named store stays in memory, so
	// simulated rows never land in a real store by accident.
	path := c.dbPath(cfg)
	if demo && c.db == "" && os.Getenv("SPOTCAST_DB") == "" {
		path = ":memory:"
	}
	store, err := storage.Open(ctx, path, storage.Options{MemoryLimit: cfg.Storage.MemoryLimit, Threads: cfg.Storage.Threads})
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		} else {
			log.Info("store closed", "db", path)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := api.NewMetrics(reg)
	eng := engine.New(store, engine.Options{Logger: log})
	svc := api.New(eng, api.Options{Logger: log, Limits: serveLimits(sc.Limits)})
	reg.MustRegister(api.NewCollector(svc))
	handler := api.NewHandler(svc, api.HTTPOptions{AuthToken: sc.AuthToken, Metrics: metrics,
		MetricsHandler: api.Handler(reg), Logger: log,
		AllowedHosts: allowedHosts(sc), AuthReads: sc.AuthReads, AuthMetrics: sc.AuthMetrics})

	// Listen before loading, so a port in use fails at once and /healthz
	// answers while /readyz says "starting".
	ln, err := net.Listen("tcp", sc.HTTPAddr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- api.ServeHTTP(srvCtx, ln, handler, api.ServerOptions{TLSCert: sc.TLSCert, TLSKey: sc.TLSKey, Logger: log})
	}()
	// grpcErr stays nil (never ready in a select) when gRPC is off.
	var grpcErr chan error
	if sc.GRPCAddr != "off" {
		grpcErr = make(chan error, 1)
		gs, hs, err := api.NewGRPCServer(svc, api.GRPCOptions{AuthToken: sc.AuthToken, TLSCert: sc.TLSCert, TLSKey: sc.TLSKey, Metrics: metrics, Logger: log,
			AuthReads: sc.AuthReads})
		if err == nil {
			var gln net.Listener
			if gln, err = net.Listen("tcp", sc.GRPCAddr); err == nil {
				log.Info("grpc listening", "addr", gln.Addr().String())
				go func() { grpcErr <- api.ServeGRPC(srvCtx, gln, gs, hs, svc) }()
			}
		}
		if err != nil {
			stopServer()
			<-srvErr
			return fmt.Errorf("serve grpc: %w", err)
		}
	}
	stopServers := func() {
		stopServer()
		<-srvErr
		if grpcErr != nil {
			<-grpcErr
		}
	}
	if sc.AuthToken == "" {
		log.Warn("no auth token configured: POST /v1/events accepts anyone who can reach the port (pages of other sites and other Host names are refused)")
	}

	jobCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	var jobs []api.Job
	if demo {
		log.Warn("DEMO MODE: filling the store from the SIMULATED market; every response, metric and row is labelled source=simulated",
			"seed", simCfg.Seed, "days", simCfg.Days, "db", path)
		start := time.Now()
		sum, st, err := simulate(jobCtx, store, simCfg)
		metrics.IngestDone(market.SourceSimulated, time.Now(), st.Stored(), err)
		if err != nil {
			stopServers()
			return err
		}
		log.Warn("DEMO MODE: simulated market loaded", "pools", sum.Pools, "prices", sum.Prices, "events", sum.Events,
			"rows_stored", st.Stored(), "duration_ms", time.Since(start).Milliseconds())
	}
	// The forecasts persisted by the last refit: served at once after a
	// restart; until the first refit, forecasts are computed on demand.
	if n, err := eng.Load(jobCtx); err != nil {
		stopServers()
		return err
	} else if run, _, ok := eng.ServedRun(); ok {
		log.Info("serving the persisted forecasts", "pools", n, "run", run.ID, "as_of", run.AsOf.Format(time.RFC3339))
	} else {
		log.Info("no persisted forecasts yet: they are computed on demand until the first refit")
	}
	// A refit runs on its schedule and after every ingest (the scheduled
	// AWS ingest, posted events), fitting only what changed.
	refitNow := make(chan struct{}, 1)
	ingested := func() {
		select {
		case refitNow <- struct{}{}:
		default: // a refit is already due
		}
	}
	svc.OnIngest(ingested)
	if !demo {
		if j, ok := awsJob(jobCtx, cfg.AWS, sc.IngestEvery, svc, metrics, log, ingested); ok {
			jobs = append(jobs, j)
		}
		jobs = append(jobs, sourceJobs(cfg.Sources, store, svc, metrics, log, ingested, fetchTuning{})...)
	} else {
		log.Info("public price APIs are not polled in demo mode: the simulated market stays alone")
	}

	watch, err := watchList(jobCtx, cfg.Watch, eng, log)
	if err != nil {
		stopServers()
		return err
	}
	svc.SetWatch(watch)
	svc.SetWorkloads(serveWorkloads(cfg.Report, log))
	jobs = append(jobs, refitJob(eng, svc, watch, sc.RefitEvery, refitNow, ingested, log))
	if len(watch) == 0 {
		log.Warn("no watched pools: the store holds no GPU pool to watch by default; per-pool metrics are off")
	} else {
		jobs = append(jobs, api.Job{Name: "backtest", Every: backtestEvery, AtStart: true, Heavy: true, Run: func(ctx context.Context) error {
			_, err := svc.RunBacktest(ctx)
			return err
		}})
	}
	reportsDone := startReports(jobCtx, cfg.Report, eng, svc, watch, metrics, log)
	svc.SetReady(true)
	log.Info("ready")

	sched := &api.Scheduler{Jobs: jobs, Metrics: metrics, Logger: log}
	schedDone := make(chan struct{})
	go func() { sched.Run(jobCtx); close(schedDone) }()

	// SIGINT/SIGTERM cancel ctx: the server finishes in-flight requests,
	// the jobs stop (an import in progress rolls back), then the store
	// closes (deferred above).
	// Either server ending (ctx cancelled, or a failure) ends both.
	var gerr error
	select {
	case err = <-srvErr:
		stopServer()
		if grpcErr != nil {
			gerr = <-grpcErr
		}
	case gerr = <-grpcErr:
		stopServer()
		err = <-srvErr
	}
	stopJobs()
	<-reportsDone
	<-schedDone
	if err != nil {
		return err
	}
	if gerr != nil {
		return gerr
	}
	log.Info("shut down cleanly")
	return nil
}

// serveSettings are the serve section after flags and environment.
type serveSettings struct {
	config.Serve
	IngestEvery, RefitEvery time.Duration
}

// serveConfig applies the flags (when given) and $SPOTCAST_AUTH_TOKEN over
// the config file's serve section.
func serveConfig(fs *flag.FlagSet, s config.Serve, httpAddr, grpcAddr, token, cert, key, ingest, refit string) (serveSettings, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	out := serveSettings{Serve: s, IngestEvery: time.Duration(s.IngestEvery), RefitEvery: time.Duration(s.RefitEvery)}
	if v := os.Getenv("SPOTCAST_AUTH_TOKEN"); v != "" {
		out.AuthToken = v
	}
	if set["http-addr"] {
		out.HTTPAddr = httpAddr
	}
	if set["grpc-addr"] {
		out.GRPCAddr = grpcAddr
	}
	if set["auth-token"] {
		out.AuthToken = token
	}
	if set["tls-cert"] {
		out.TLSCert = cert
	}
	if set["tls-key"] {
		out.TLSKey = key
	}
	period := func(name, v string, dst *time.Duration) error {
		if !set[name] {
			return nil
		}
		d, err := config.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("--%s %q: want a duration such as 10m or 1h (0: off)", name, v)
		}
		*dst = d
		return nil
	}
	if err := period("ingest-every", ingest, &out.IngestEvery); err != nil {
		return out, err
	}
	if err := period("refit-every", refit, &out.RefitEvery); err != nil {
		return out, err
	}
	if out.HTTPAddr == "" {
		out.HTTPAddr = config.Default().Serve.HTTPAddr
	}
	if out.GRPCAddr == "" {
		out.GRPCAddr = config.Default().Serve.GRPCAddr
	}
	if (out.TLSCert == "") != (out.TLSKey == "") {
		return out, errors.New("serve: give both --tls-cert and --tls-key (or serve.tls_cert and serve.tls_key)")
	}
	return out, nil
}

// awsJob is the scheduled AWS ingest, when AWS credentials exist and a
// period is set.
func awsJob(ctx context.Context, a config.AWS, every time.Duration, svc *api.Service, m *api.Metrics, log *slog.Logger, ingested func()) (api.Job, bool) {
	if every <= 0 {
		log.Info("scheduled AWS ingest is off (serve.ingest_every 0)")
		return api.Job{}, false
	}
	opts := awsOptions(a)
	opts.Logger = log
	awsCfg, err := awsapi.LoadConfig(ctx, opts)
	if err != nil || !awsapi.HaveCredentials(ctx, awsCfg) {
		log.Warn("no AWS credentials (environment, ~/.aws, SSO or instance role): scheduled AWS ingest is off; serving the stored data only (use --demo for a simulated market)", "err", err)
		return api.Job{}, false
	}
	return api.Job{Name: "ingest-aws", Every: every, AtStart: true, Run: func(ctx context.Context) error {
		rep, err := awsapi.Ingest(ctx, svc.Engine().Store(), awsCfg, opts)
		if err == nil && rep.FailedRegions > 0 {
			err = fmt.Errorf("ingest aws: %d region(s) failed", rep.FailedRegions)
		}
		m.IngestDone(market.SourceAWSAPI, time.Now(), rep.RowsStored, err)
		svc.Invalidate()
		if rep.RowsStored > 0 {
			ingested()
		}
		return err
	}}, true
}

// watchList is the config's watch list or, when it names none, the
// cheapest pool of each GPU model the store holds (said in the log), so
// the dashboard's per-pool panels show something.
func watchList(ctx context.Context, ws []config.WatchPool, eng *engine.Engine, log *slog.Logger) ([]market.PoolKey, error) {
	var out []market.PoolKey
	for i, w := range ws {
		k, err := w.Key()
		if err != nil {
			return nil, fmt.Errorf("config watch[%d]: %w", i, err)
		}
		out = append(out, k)
	}
	if len(out) > 0 {
		log.Info("watching the configured pools", "n", len(out))
		return out, nil
	}
	out, err := eng.DefaultWatch(ctx, defaultWatchPools)
	if err != nil {
		return nil, fmt.Errorf("default watch list: %w", err)
	}
	if len(out) > 0 {
		names := make([]string, len(out))
		for i, k := range out {
			names[i] = k.String()
		}
		log.Info("no watch list in the config (watch:): watching the cheapest pool of each GPU model", "n", len(out), "pools", strings.Join(names, " "))
	}
	return out, nil
}

// startReports runs the scheduled reports of the config's report section.
// A section that does not parse (a bad cron expression, say) is logged and
// counted as a failed report job; the server goes on serving without
// scheduled reports. The returned channel closes when the scheduler has
// stopped (at once when there is none).
func startReports(ctx context.Context, rc config.Report, eng *engine.Engine, svc *api.Service, watch []market.PoolKey, metrics *api.Metrics, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	rs, err := report.SettingsFrom(rc)
	if err != nil {
		log.Error("scheduled reports are off", "err", err)
		metrics.JobDone("report", time.Now(), 0, err)
		close(done)
		return done
	}
	if !rs.Scheduled {
		close(done)
		return done
	}
	log.Info("scheduled reports", "schedule", rc.Schedule, "out_dir", rs.OutDir)
	sched := &report.Scheduler{Schedule: rs.Schedule, Logger: log,
		Done: func(end time.Time, d time.Duration, err error) { metrics.JobDone("report", end, d, err) },
		Job: func(ctx context.Context, at time.Time) error {
			w, err := rs.Produce(ctx, eng, report.Options{Watch: watch, Backtest: svc.Backtest()})
			if err == nil {
				log.Info("report written", "dir", w.Dir)
			}
			return err
		}}
	go func() { sched.Run(ctx); close(done) }()
	return done
}
