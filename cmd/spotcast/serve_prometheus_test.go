package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrometheusScrapesDemo is the exporter's integration test: a real
// Prometheus (Debian package prometheus) scrapes `spotcast serve --demo`
// on loopback with spotcast's rules loaded, then every query of the
// Grafana dashboard runs through Prometheus's HTTP API and must return
// data. promtool check metrics also lints the live exposition.
func TestPrometheusScrapesDemo(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian package prometheus)")
	}
	d := startDemo(t)
	waitFor(t, "the refit and backtest metrics", func() bool {
		m := fetch(t, d.base+"/metrics")
		return strings.Contains(m, "spotcast_pool_hourly_interruption_probability{") && strings.Contains(m, "spotcast_forecast_backtest_mase{") &&
			strings.Contains(m, `spotcast_scheduler_last_success_timestamp_seconds{job="backtest"}`)
	})

	if pt, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(pt, "check", "metrics")
		cmd.Stdin = strings.NewReader(fetch(t, d.base+"/metrics"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}

	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "..", "deploy", "prometheus", "spotcast.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(d.base, "http://")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: spotcast
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	var promLog lockedBuffer
	prom := exec.Command(promBin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		prom.Process.Kill()
		prom.Wait()
	}()
	api := "http://" + promAddr
	query := func(q string) ([]any, error) {
		resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, err
		}
		if r.Status != "success" {
			return nil, fmt.Errorf("%s", r.Error)
		}
		return r.Data.Result, nil
	}
	// Enough scrapes for rate() over a minute, and the recording rule.
	waitFor(t, "prometheus to scrape spotcast 5 times", func() bool {
		r, err := query(`count_over_time(up{job="spotcast"}[1m]) >= 5 and on() count(spotcast:pool_spot_to_on_demand:ratio) > 0`)
		return err == nil && len(r) > 0
	})
	if r, err := query(`up{job="spotcast"}`); err != nil || len(r) != 1 {
		t.Fatalf("up: %v %v\n%s", r, err, promLog.String())
	}

	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "spotcast.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	subst := strings.NewReplacer("$instance_type", ".*", "$__rate_interval", "1m")
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			q := subst.Replace(tg.Expr)
			r, err := query(q)
			switch {
			case err != nil:
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
			case len(r) == 0:
				t.Errorf("panel %q: %s: no data", p.Title, q)
			}
			n++
		}
	}
	if n < 15 {
		t.Errorf("only %d dashboard queries", n)
	}
	// The demo is labelled as such in Prometheus too.
	if r, err := query(`spotcast_data_simulated == 1`); err != nil || len(r) != 1 {
		t.Errorf("spotcast_data_simulated: %v %v", r, err)
	}
	if r, err := query(`ALERTS{alertname="SpotcastSimulatedData"}`); err != nil || len(r) == 0 {
		t.Logf("simulated-data alert not yet pending: %v %v", r, err)
	}
}

func fetch(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
