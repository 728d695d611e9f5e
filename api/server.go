package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server defaults. Write covers the slowest answer (a cold placement
// forecasts many pools) with room to spare.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 30 * time.Second
)

// ServerOptions configure ServeHTTP.
type ServerOptions struct {
	// TLSCert and TLSKey, both set, serve HTTPS.
	TLSCert, TLSKey string
	// Timeouts (0: the defaults above).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish once ctx ends.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ServeHTTP serves h on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections and lets in-flight requests finish
// (within ShutdownTimeout). It returns nil after a clean shutdown.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler, opts ServerOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(opts.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(opts.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(opts.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return errors.New("tls: give both a certificate and a key")
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	scheme := "http"
	if opts.TLSCert != "" {
		scheme = "https"
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme)
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", orDefault(opts.ShutdownTimeout, DefaultShutdownTimeout).String())
	sctx, cancel := context.WithTimeout(context.Background(), orDefault(opts.ShutdownTimeout, DefaultShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
