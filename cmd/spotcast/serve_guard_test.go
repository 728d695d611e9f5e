package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesOpenWritesOnANetwork: serve on a non-loopback address
// without a token stops at once with a message saying how to go on;
// loopback, a token or insecure_no_token let it start.
func TestServeRefusesOpenWritesOnANetwork(t *testing.T) {
	t.Setenv("SPOTCAST_AUTH_TOKEN", "")
	for _, args := range [][]string{
		{"serve", "--demo", "--http-addr", "0.0.0.0:0", "--grpc-addr", "off"},
		{"serve", "--demo", "--http-addr", "127.0.0.1:0", "--grpc-addr", "[::]:0"},
		{"serve", "--demo", "--http-addr", "spotcast.example:0", "--grpc-addr", "off"},
	} {
		start := time.Now()
		_, _, err := spotcast(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "--insecure-no-token") {
			t.Errorf("%v: %v", args, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("%v: refused after %s, want at once", args, time.Since(start))
		}
	}
	var sc serveSettings
	sc.HTTPAddr, sc.GRPCAddr = "127.0.0.1:8080", "[::1]:50051"
	if err := checkListen(sc); err != nil {
		t.Errorf("loopback: %v", err)
	}
	sc.HTTPAddr = "localhost:8080"
	if err := checkListen(sc); err != nil {
		t.Errorf("localhost: %v", err)
	}
	sc.HTTPAddr = ":8080"
	if err := checkListen(sc); err == nil {
		t.Error(":8080 (every interface) without a token accepted")
	}
	sc.AuthToken = "tok"
	if err := checkListen(sc); err != nil {
		t.Errorf("with a token: %v", err)
	}
	sc.AuthToken, sc.InsecureNoToken = "", true
	if err := checkListen(sc); err != nil {
		t.Errorf("insecure_no_token: %v", err)
	}
	// The config key says it as the flag does.
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("serve:\n  insecure_no_token: true\n  http_addr: \"0.0.0.0:0\"\n  grpc_addr: \"off\"\nstorage:\n  memory_limit: lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := spotcast(t, "", "serve", "--demo", "--config", cfg); err == nil || !strings.Contains(err.Error(), "storage.memory_limit") {
		t.Errorf("config with a bad memory limit: %v", err)
	}
}
