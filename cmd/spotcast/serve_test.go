package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/spotcast/spotcast/api/spotcastpb"
	"github.com/spotcast/spotcast/storage"
)

// lockedBuffer is a bytes.Buffer the server's goroutines can log into
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls until cond holds; it fails the test after many tries
// rather than after a set time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 3000 {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// demoServer is a `spotcast serve --demo` running in-process.
type demoServer struct {
	base   string // http://127.0.0.1:PORT
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// startDemo starts `spotcast serve --demo` on a free loopback port with
// extra args and waits until it is ready.
func startDemo(t *testing.T, extra ...string) *demoServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoServer{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"serve", "--demo", "--demo-days", "10", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-format", "json"}, extra...)
	go func() { d.done <- run(ctx, args, strings.NewReader(""), io.Discard, d.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-d.done
	})
	addrRE := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	waitFor(t, "the listening log line", func() bool {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("serve exited early: %v\n%s", err, d.stderr.String())
		default:
		}
		m := addrRE.FindStringSubmatch(d.stderr.String())
		if m != nil {
			d.base = "http://" + m[1]
		}
		return m != nil
	})
	waitFor(t, "/readyz", func() bool { code, _ := getJSON(t, d.base+"/readyz", nil); return code == 200 })
	return d
}

// stop shuts the server down as SIGTERM does and returns run's error.
func (d *demoServer) stop() error {
	d.cancel()
	err := <-d.done
	d.done <- err
	return err
}

// TestServeDemo starts `spotcast serve --demo` on a file store, queries it
// like a user, shuts it down as SIGTERM does and checks the store was
// closed cleanly (it opens again without a lock error).
func TestServeDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.duckdb")
	d := startDemo(t, "--db", db, "--auth-token", "tok")
	base, stderr := d.base, d.stderr
	if !strings.Contains(stderr.String(), "DEMO MODE") {
		t.Error("demo mode is not announced in the logs")
	}

	code, pools := getJSON(t, base+"/v1/pools?gpu_model=A100&limit=1", nil)
	if code != 200 || pools["simulated"] != true {
		t.Fatalf("/v1/pools: %d %v", code, pools)
	}
	p := pools["pools"].([]any)[0].(map[string]any)
	q := "instance_type=" + p["instance_type"].(string) + "&zone=" + p["zone"].(string)
	for _, path := range []string{"/v1/forecast/price?" + q, "/v1/forecast/interruption?" + q, "/v1/recommend/bid?" + q} {
		code, body := getJSON(t, base+path, nil)
		if code != 200 || body["simulated"] != true || body["source"] != "simulated" {
			t.Errorf("%s: %d source %v simulated %v", path, code, body["source"], body["simulated"])
		}
	}
	req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("POST /v1/events without the token: %d, want 401", resp.StatusCode)
	}

	// gRPC answers on its own port, with health SERVING.
	m := regexp.MustCompile(`"msg":"grpc listening","addr":"([^"]+)"`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatal("no grpc listening log line")
	}
	conn, err := grpc.NewClient(m[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "grpc health SERVING", func() bool {
		h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && h.Status == healthpb.HealthCheckResponse_SERVING
	})
	gp, err := spotcastpb.NewSpotcastClient(conn).ListPools(context.Background(), &spotcastpb.ListPoolsRequest{Limit: 1})
	if err != nil || len(gp.Pools) != 1 || !gp.Provenance.Simulated {
		t.Errorf("grpc ListPools: %v %v", gp, err)
	}

	// The refit runs at start; the exporter then has the watched pools.
	var metrics string
	waitFor(t, "the refit's metrics", func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
		return strings.Contains(metrics, "spotcast_pool_interruption_probability{")
	})
	for _, want := range []string{"spotcast_data_simulated 1", `spotcast_source_rows{source="simulated"}`,
		`spotcast_pool_spot_price_usd_per_hour{cloud="aws"`, `source="simulated"`, "spotcast_http_requests_total{",
		"spotcast_watched_pools 6", "go_goroutines"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// No watch: in the config, so the server says which pools it watches.
	if !strings.Contains(stderr.String(), "watching the cheapest pool of each GPU model") {
		t.Error("the default watch list is not said in the logs")
	}

	if err := d.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "store closed") {
		t.Error("no 'store closed' log line")
	}
	s, err := storage.Open(context.Background(), db, storage.Options{})
	if err != nil {
		t.Fatalf("store after shutdown: %v", err)
	}
	defer s.Close()
	n, err := s.Counts(context.Background())
	if err != nil || n["prices"] == 0 {
		t.Errorf("store after shutdown: %v prices, %v", n["prices"], err)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--refit-every", "often"},
		{"serve", "--log-format", "xml"},
		{"serve", "--demo", "--demo-days", "0"},
		{"serve", "stray"},
	} {
		_, _, err := spotcast(t, "", args...)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
