package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestGracefulShutdown: once ctx ends the server stops accepting, lets the
// in-flight request finish, and returns nil.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeHTTP(ctx, ln, mux, ServerOptions{}) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	// Wait until the listener is closed (new connections refused), with
	// the slow request still in flight.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if i > 5000 {
			t.Fatal("listener still accepting long after shutdown began")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("server returned %v with a request in flight", err)
	default:
	}
	close(release)
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := newTestService(t, sharedSimStore(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeHTTP(ctx, ln, NewHandler(svc, HTTPOptions{}), ServerOptions{TLSCert: certFile, TLSKey: keyFile})
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP to a TLS port fails.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ServeHTTP(context.Background(), ln, nil, ServerOptions{TLSCert: certFile}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestScheduler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	ctx, cancel := context.WithCancel(context.Background())
	var running, overlaps, once, fails atomic.Int32
	ticks := make(chan struct{}, 100)
	s := &Scheduler{Metrics: m, Jobs: []Job{
		{Name: "tick", Every: time.Millisecond, Run: func(ctx context.Context) error {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			time.Sleep(2 * time.Millisecond) // longer than the period
			ticks <- struct{}{}
			return nil
		}},
		{Name: "once", AtStart: true, Run: func(context.Context) error { once.Add(1); return nil }},
		{Name: "fail", AtStart: true, Run: func(context.Context) error { fails.Add(1); return errors.New("boom") }},
		{Name: "never", Run: func(context.Context) error { t.Error("a job with no period and no AtStart ran"); return nil }},
	}}
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	for range 3 {
		<-ticks
	}
	cancel()
	<-stopped
	if overlaps.Load() != 0 {
		t.Errorf("job overlapped itself %d times", overlaps.Load())
	}
	if once.Load() != 1 || fails.Load() != 1 {
		t.Errorf("once ran %d times, fail %d; want 1 each", once.Load(), fails.Load())
	}
	if v := testutil.ToFloat64(m.jobRuns.WithLabelValues("fail", "error")); v != 1 {
		t.Errorf("fail errors: %v", v)
	}
	if v := testutil.ToFloat64(m.jobRuns.WithLabelValues("once", "ok")); v != 1 {
		t.Errorf("once ok: %v", v)
	}
	if v := testutil.ToFloat64(m.jobLastOK.WithLabelValues("once")); v <= 0 {
		t.Errorf("once last success: %v", v)
	}
	if v := testutil.ToFloat64(m.jobRuns.WithLabelValues("tick", "ok")); v < 2 {
		t.Errorf("tick ok: %v, want >= 2 (the run cut short by cancel is not counted)", v)
	}
}
