package api

import (
	"github.com/spotcast/spotcast/engine"
	"math"

	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spotcast/spotcast/market"
)

// refitted returns a service over the shared store whose watched pools
// (two stored, one not) have been refitted, and its registry.
func refitted(t *testing.T) (*Service, *prometheus.Registry, *Metrics) {
	t.Helper()
	svc := newSvc(sharedSimStore(t), Options{Now: clock})
	missing := market.PoolKey{Cloud: "aws", Region: "us-east-1", Zone: "us-east-1d", InstanceType: "zz.large", Product: "Linux/UNIX"}
	svc.SetWatch(append(append([]market.PoolKey{}, watchKeys...), missing))
	snap, err := svc.UpdateSnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Pools) != 3 {
		t.Fatalf("%d pools in the snapshot", len(snap.Pools))
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	reg.MustRegister(NewCollector(svc))
	return svc, reg, m
}

func TestCollectorLint(t *testing.T) {
	svc, reg, _ := refitted(t)
	if _, err := svc.RunBacktest(context.Background()); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(NewCollector(svc))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	problems, err = testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint (registry): %s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(reg, "spotcast_forecast_backtest_mase")
	if err != nil || n < 3 {
		t.Errorf("backtest MASE series: %d, %v; want one per model", n, err)
	}
}

// TestCollectorValuesFromStore compares the exporter with what the store
// and the service say, read independently.
func TestCollectorValuesFromStore(t *testing.T) {
	ctx := context.Background()
	svc, reg, _ := refitted(t)
	store := svc.Engine().Store()
	var b strings.Builder
	// Labels in the sorted order the exposition format uses.
	labelsW := func(k market.PoolKey, window string) string {
		w := ""
		if window != "" {
			w = fmt.Sprintf(`window=%q,`, window)
		}
		return fmt.Sprintf(`cloud=%q,instance_type=%q,product=%q,region=%q,source="simulated",%szone=%q`, k.Cloud, k.InstanceType, k.Product, k.Region, w, k.Zone)
	}
	labels := func(k market.PoolKey) string { return labelsW(k, "") }
	fmt.Fprintln(&b, "# HELP spotcast_pool_advisor_interruption_band Spot Instance Advisor interruption-frequency bucket (0: <5%, 1: 5-10%, 2: 10-15%, 3: 15-20%, 4: >20%).")
	fmt.Fprintln(&b, "# TYPE spotcast_pool_advisor_interruption_band gauge")
	for _, k := range watchKeys {
		a, err := store.Advisor(ctx, k.Region, "Linux", k.InstanceType, testNow)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "spotcast_pool_advisor_interruption_band{%s} %d\n", labels(k), a.Bucket)
	}
	fmt.Fprintln(&b, "# HELP spotcast_pool_spot_price_usd_per_hour Latest spot price of a watched pool.")
	fmt.Fprintln(&b, "# TYPE spotcast_pool_spot_price_usd_per_hour gauge")
	for _, k := range watchKeys {
		pts, err := store.Series(ctx, k, testNow, testNow.Add(time.Nanosecond))
		if err != nil || len(pts) == 0 {
			t.Fatal(err, len(pts))
		}
		fmt.Fprintf(&b, "spotcast_pool_spot_price_usd_per_hour{%s} %v\n", labels(k), pts[len(pts)-1].Price)
	}
	// Interruption probabilities: equal up to rounding (the weekly profile
	// sums over pools in map order).
	want := map[string]float64{}
	for _, k := range watchKeys {
		f, err := svc.InterruptionForecast(ctx, engine.InterruptionForecastRequest{Pool: engine.Ref(k)})
		if err != nil {
			t.Fatal(err)
		}
		want[k.String()+"|1h"], want[k.String()+"|24h"] = f.ProbWithin1h, f.ProbWithin24h
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, mf := range mfs {
		if mf.GetName() != "spotcast_pool_interruption_probability" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			k := market.PoolKey{Cloud: l["cloud"], Region: l["region"], Zone: l["zone"], InstanceType: l["instance_type"], Product: l["product"]}
			w, ok := want[k.String()+"|"+l["window"]]
			if v := m.GetGauge().GetValue(); !ok || math.Abs(v-w) > 1e-9*w {
				t.Errorf("interruption probability %v: %v, want %v", l, v, w)
			}
			got++
		}
	}
	if got != len(want) {
		t.Errorf("%d interruption probabilities exported, want %d", got, len(want))
	}
	fmt.Fprintln(&b, "# HELP spotcast_pool_up 1 if the watched pool is stored and its forecasts were computed without error, else 0.")
	fmt.Fprintln(&b, "# TYPE spotcast_pool_up gauge")
	for _, k := range watchKeys {
		fmt.Fprintf(&b, "spotcast_pool_up{%s} 1\n", labels(k))
	}
	fmt.Fprintln(&b, `spotcast_pool_up{cloud="aws",instance_type="zz.large",product="Linux/UNIX",region="us-east-1",source="",zone="us-east-1d"} 0`)
	fmt.Fprintln(&b, "# HELP spotcast_source_rows Stored rows per source kind.")
	fmt.Fprintln(&b, "# TYPE spotcast_source_rows gauge")
	fresh, err := store.Freshness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, f := range fresh {
		rows[strings.SplitN(f.Source, ":", 2)[0]] += f.Rows
	}
	var srcs []string
	for s := range rows {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		fmt.Fprintf(&b, "spotcast_source_rows{source=%q} %d\n", s, rows[s])
	}
	fmt.Fprintln(&b, "# HELP spotcast_data_simulated 1 if the store holds data from the market simulator (demo), else 0.")
	fmt.Fprintln(&b, "# TYPE spotcast_data_simulated gauge")
	fmt.Fprintln(&b, "spotcast_data_simulated 1")
	fmt.Fprintln(&b, "# HELP spotcast_watched_pools Number of watched pools.")
	fmt.Fprintln(&b, "# TYPE spotcast_watched_pools gauge")
	fmt.Fprintln(&b, "spotcast_watched_pools 3")

	if err := testutil.GatherAndCompare(reg, strings.NewReader(b.String()),
		"spotcast_pool_advisor_interruption_band", "spotcast_pool_spot_price_usd_per_hour",
		"spotcast_pool_up", "spotcast_source_rows", "spotcast_data_simulated", "spotcast_watched_pools"); err != nil {
		t.Error(err)
	}

	// Quantiles: three horizons x three levels per stored pool, ordered.
	for _, k := range watchKeys {
		var ps engine.PoolStatus
		for _, p := range svc.Snapshot().Pools {
			if p.Pool == k {
				ps = p
			}
		}
		if len(ps.Quantiles) != 9 {
			t.Fatalf("%s: %d quantiles", k, len(ps.Quantiles))
		}
		for i := 0; i < 9; i += 3 {
			lo, med, hi := ps.Quantiles[i].Value, ps.Quantiles[i+1].Value, ps.Quantiles[i+2].Value
			if !(lo <= med && med <= hi && lo > 0) {
				t.Errorf("%s horizon %vs: quantiles %v %v %v out of order", k, ps.Quantiles[i].Horizon, lo, med, hi)
			}
		}
		if ps.MaxPrice < ps.Price || ps.CheckpointInterval <= 0 || ps.PlacementScore < 1 || ps.PlacementScore > 10 {
			t.Errorf("%s: max price %v (price %v), checkpoint %vs, score %d", k, ps.MaxPrice, ps.Price, ps.CheckpointInterval, ps.PlacementScore)
		}
	}
	n, err := testutil.GatherAndCount(reg, "spotcast_pool_price_forecast_usd_per_hour")
	if err != nil || n != 18 {
		t.Errorf("price forecast series: %d, %v; want 18", n, err)
	}
	n, err = testutil.GatherAndCount(reg, "spotcast_pool_hourly_interruption_probability")
	if err != nil || n != 2*168 {
		t.Errorf("hour-of-week series: %d, %v; want 336", n, err)
	}
}

func TestHTTPMetrics(t *testing.T) {
	svc, reg, m := refitted(t)
	srv := httptest.NewServer(NewHandler(svc, HTTPOptions{Metrics: m, MetricsHandler: Handler(reg)}))
	defer srv.Close()
	for range 3 {
		get(t, srv, "/healthz")
	}
	get(t, srv, "/v1/nothing/here")
	get(t, srv, "/v1/forecast/price?instance_type=p3.2xlarge&zone=us-east-1f")
	if v := testutil.ToFloat64(m.requests.WithLabelValues("/healthz", "GET", "200")); v != 3 {
		t.Errorf("healthz 200: %v, want 3", v)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("other", "GET", "404")); v != 1 {
		t.Errorf("unknown route: %v, want 1 under handler=other", v)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("/v1/forecast/price", "GET", "404")); v != 1 {
		t.Errorf("forecast 404: %v, want 1", v)
	}
	if n := testutil.CollectAndCount(m.duration); n != 3 {
		t.Errorf("%d duration series, want 3 (one per route served)", n)
	}
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// spotcast_data_simulated follows the stored data, not the watch list: a
// store the simulator filled says so with no pool watched and no
// snapshot taken.
func TestSimulatedGaugeFollowsStore(t *testing.T) {
	svc := newSvc(sharedSimStore(t), Options{Now: clock})
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(svc))
	want := "# HELP spotcast_data_simulated 1 if the store holds data from the market simulator (demo), else 0.\n" +
		"# TYPE spotcast_data_simulated gauge\nspotcast_data_simulated 1\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "spotcast_data_simulated"); err != nil {
		t.Error(err)
	}
}
