package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	return p
}

func TestPromtool(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "config", "prometheus/prometheus.yml"},
		{"check", "rules", "prometheus/spotcast.rules.yml"},
		{"test", "rules", "prometheus/spotcast.rules.test.yml"},
	} {
		out, err := exec.Command(pt, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Dashboard is the part of a Grafana dashboard the tests read.
type Dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		ID      int                      `json:"id"`
		Title   string                   `json:"title"`
		Type    string                   `json:"type"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestDashboardStructure: every panel has a unique id, a query, fits the
// 24-column grid, and queries only spotcast's metrics (or the recording
// rule, or Prometheus's own up).
func TestDashboardStructure(t *testing.T) {
	b, err := os.ReadFile("grafana/spotcast.json")
	if err != nil {
		t.Fatal(err)
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("uid %q, %d panels", d.UID, len(d.Panels))
	}
	metric := regexp.MustCompile(`\b(spotcast[_:][a-z0-9_:]+)`)
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: duplicate id %d", p.Title, p.ID)
		}
		ids[p.ID] = true
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W <= 0 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: grid %+v", p.Title, p.GridPos)
		}
		for _, tg := range p.Targets {
			if len(metric.FindAllString(tg.Expr, -1)) == 0 {
				t.Errorf("panel %q query %q reads no spotcast metric", p.Title, tg.Expr)
			}
		}
	}
}

// TestRecommendedPoolsPanel: the dashboard's recommended-pools table reads
// the exporter's metric of that name, and the README's metric list names it.
func TestRecommendedPoolsPanel(t *testing.T) {
	const metric = "spotcast_recommended_pool_cost_usd_per_useful_gpu_hour"
	b, err := os.ReadFile("grafana/spotcast.json")
	if err != nil {
		t.Fatal(err)
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range d.Panels {
		if p.Title == "Recommended pools" && p.Type == "table" && len(p.Targets) > 0 && strings.Contains(p.Targets[0].Expr, metric) {
			found = true
		}
	}
	if !found {
		t.Errorf("no Recommended pools table reading %s", metric)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), metric) {
		t.Errorf("README's metric list lacks %s", metric)
	}
}
