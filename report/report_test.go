package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/spotcast/spotcast/engine"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

func TestGenerateCheapestMatchesStore(t *testing.T) {
	r, st := simReport(t)
	ctx := context.Background()
	if !r.Simulated || !slices.Contains(r.Sources, market.SourceSimulated) {
		t.Errorf("simulated store: Simulated=%v Sources=%v", r.Simulated, r.Sources)
	}
	if len(r.Cheapest.ByPrice) == 0 || len(r.Cheapest.ByUsefulCost) == 0 {
		t.Fatalf("cheapest tables empty: %+v", r.Cheapest)
	}
	// The known answer, computed independently: the lowest latest price
	// per GPU of each GPU model among the stored pools.
	latest, err := st.LatestPrices(ctx, storage.PoolFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, p := range latest {
		it, err := st.InstanceType(ctx, p.Pool.Cloud, p.Pool.InstanceType)
		if err != nil || it.GPUCount == 0 {
			continue
		}
		v := p.Price / float64(it.GPUCount)
		if w, ok := want[it.GPUModel]; !ok || v < w {
			want[it.GPUModel] = v
		}
	}
	got := map[string]float64{}
	for _, g := range r.Cheapest.ByPrice {
		if math.Abs(g.PricePerGPUHour-g.PriceUSDPerHour/float64(g.GPUs)) > 1e-12 {
			t.Errorf("%s: per-GPU %v != %v / %d", g.Pool, g.PricePerGPUHour, g.PriceUSDPerHour, g.GPUs)
		}
		if g.Rank == 1 {
			got[g.GPUModel] = g.PricePerGPUHour
		}
		if g.Source != market.SourceSimulated {
			t.Errorf("%s: source %q", g.Pool, g.Source)
		}
	}
	if len(got) != len(want) {
		t.Errorf("GPU models: got %v, want %v", got, want)
	}
	for m, w := range want {
		if math.Abs(got[m]-w) > 1e-9 {
			t.Errorf("%s: cheapest per GPU-hour %v, want %v", m, got[m], w)
		}
	}
	for _, g := range r.Cheapest.ByUsefulCost {
		// Interruptions only add cost: a useful GPU-hour costs at least
		// the price of a GPU-hour.
		if !(g.CostPerUsefulGPUHour >= g.PricePerGPUHour) || g.OverheadRatio < 0 || g.HazardPerHour <= 0 {
			t.Errorf("%s: cost per useful GPU-hour %v < price %v (overhead %v, hazard %v)", g.Pool, g.CostPerUsefulGPUHour, g.PricePerGPUHour, g.OverheadRatio, g.HazardPerHour)
		}
		if math.Abs(g.CostPerUsefulGPUHour-g.PricePerGPUHour*(1+g.OverheadRatio)) > 1e-9*g.CostPerUsefulGPUHour {
			t.Errorf("%s: cost %v != price %v × (1 + overhead %v)", g.Pool, g.CostPerUsefulGPUHour, g.PricePerGPUHour, g.OverheadRatio)
		}
	}
	for i := 1; i < len(r.Cheapest.ByUsefulCost); i++ {
		a, b := r.Cheapest.ByUsefulCost[i-1], r.Cheapest.ByUsefulCost[i]
		if a.GPUModel == b.GPUModel && a.CostPerUsefulGPUHour > b.CostPerUsefulGPUHour {
			t.Errorf("%s ranks above a cheaper %s", a.Pool, b.Pool)
		}
	}
}

func TestGenerateMovesMatchSeries(t *testing.T) {
	r, st := simReport(t)
	if len(r.Moves.Day) == 0 || len(r.Moves.Week) == 0 {
		t.Fatalf("no moves: %+v", r.Moves)
	}
	check := func(m Move, back time.Duration) {
		pts, err := st.SeriesOf(context.Background(), m.Pool, m.Resolution, r.AsOf.Add(-back), r.AsOf.Add(time.Nanosecond))
		if err != nil || len(pts) == 0 {
			t.Fatalf("%s: %v", m.Pool, err)
		}
		if from, to := pts[0].Price, pts[len(pts)-1].Price; from != m.From || to != m.To {
			t.Errorf("%s over %s: move %v -> %v, series says %v -> %v", m.Pool, back, m.From, m.To, from, to)
		}
		if math.Abs(m.Change-(m.To/m.From-1)) > 1e-12 {
			t.Errorf("%s: change %v", m.Pool, m.Change)
		}
	}
	for _, m := range r.Moves.Day {
		check(m, 24*time.Hour)
	}
	for _, m := range r.Moves.Week {
		check(m, 7*24*time.Hour)
	}
	for i := 1; i < len(r.Moves.Week); i++ {
		if math.Abs(math.Log1p(r.Moves.Week[i].Change)) > math.Abs(math.Log1p(r.Moves.Week[i-1].Change))+1e-12 {
			t.Errorf("7 d moves not sorted by size at %d", i)
		}
	}
}

func TestGenerateForecastsAndInterruptions(t *testing.T) {
	r, _ := simReport(t)
	if n := len(r.Forecasts.Pools); n < 2 || n > 4 {
		t.Fatalf("%d default watched pools, want 2-4 (one per GPU model)", n)
	}
	for _, p := range r.Forecasts.Pools {
		if len(p.Steps) != 168 || len(p.History) == 0 || p.LastPrice <= 0 || p.Source != market.SourceSimulated {
			t.Errorf("%s: %d steps, %d history points, last %v, source %q", p.Pool, len(p.Steps), len(p.History), p.LastPrice, p.Source)
		}
		for _, st := range p.Steps {
			prev := 0.0
			for _, q := range st.Quantiles {
				if q.Value < prev || q.Value <= 0 {
					t.Fatalf("%s at %s: quantiles not increasing: %+v", p.Pool, st.Time, st.Quantiles)
				}
				prev = q.Value
			}
		}
		if !(p.Lo80End < p.Hi80End) {
			t.Errorf("%s: 80%% band %v-%v", p.Pool, p.Lo80End, p.Hi80End)
		}
		// Fresh data: the forecast is of now (the persisted refit's, or
		// computed as of now), from the data up to the report's time.
		if !p.Origin.After(r.AsOf.Add(-time.Hour)) || p.Origin.After(r.Generated) || p.DataUntil.After(r.AsOf) || p.Generated.IsZero() {
			t.Errorf("%s: origin %s, data until %s, generated %s; report as of %s, generated %s", p.Pool, p.Origin, p.DataUntil, p.Generated, r.AsOf, r.Generated)
		}
	}
	in := r.Interruptions
	if in.Flat || in.Events < 100 {
		t.Fatalf("simulated market: profile flat=%v from %d events", in.Flat, in.Events)
	}
	sum, obs := 0.0, 0
	for d := range 7 {
		for h := range 24 {
			sum += in.Profile[d][h]
			obs += in.Observed[d][h]
		}
	}
	if math.Abs(sum/168-1) > 1e-6 {
		t.Errorf("profile averages %v, want 1", sum/168)
	}
	// The profile counts the interruptions it could weigh by exposure;
	// the observed counts every one.
	if float64(obs) < 0.95*float64(in.Events) || float64(obs) > 1.05*float64(in.Events) {
		t.Errorf("observed interruptions %d, profile events %d", obs, in.Events)
	}
	// The simulator calms weekends (x0.6 local): the weekend hours must
	// average below the weekdays'.
	we, wd := 0.0, 0.0
	for h := range 24 {
		we += in.Profile[5][h] + in.Profile[6][h]
		for d := range 5 {
			wd += in.Profile[d][h]
		}
	}
	if we/48 >= wd/120 {
		t.Errorf("weekend multiplier %v not below weekday %v", we/48, wd/120)
	}
	if len(in.Watched) != len(r.Forecasts.Pools) {
		t.Errorf("%d watched hazards for %d pools", len(in.Watched), len(r.Forecasts.Pools))
	}
	for _, w := range in.Watched {
		if w.BaselinePerHour <= 0 || w.ProbWithin24h <= 0 || w.ProbWithin24h >= 1 || w.MTBFHours <= 0 {
			t.Errorf("%s: %+v", w.Pool, w)
		}
	}
}

func TestGenerateRecommendationsSavingsScorecard(t *testing.T) {
	r, _ := simReport(t)
	ws := r.Recommendations.Workloads
	if len(ws) != len(ExampleWorkloads()) {
		t.Fatalf("%d workloads, want the %d examples", len(ws), len(ExampleWorkloads()))
	}
	for _, w := range ws {
		if w.Error != "" || len(w.Placement) == 0 || w.MaxPrice == nil || w.Checkpoint == nil || w.Cost == nil {
			t.Fatalf("%s: incomplete: %+v", w.Workload.Name, w)
		}
		best := w.Placement[0]
		if best.GPUMemoryGiB < w.Workload.MinGPUMemoryGiB || best.GPUsPerInstance*best.Instances < w.Workload.GPUsPerNode*w.Workload.Nodes {
			t.Errorf("%s: best pool %s does not fit", w.Workload.Name, best.Pool)
		}
		if w.MaxPrice.MaxPrice < w.MaxPrice.CurrentPrice || w.MaxPrice.ProbStaysUnder < w.Workload.Confidence-1e-9 && !w.MaxPrice.CappedAtOnDemand {
			t.Errorf("%s: max price %+v", w.Workload.Name, w.MaxPrice)
		}
		if w.Checkpoint.IntervalSeconds <= 0 {
			t.Errorf("%s: checkpoint interval %v", w.Workload.Name, w.Checkpoint.IntervalSeconds)
		}
		if w.Cost.MonthlySpotUSD <= 0 || w.Cost.MonthlyOnDemandUSD <= w.Cost.MonthlySpotUSD {
			t.Errorf("%s: spot %v not below on-demand %v", w.Workload.Name, w.Cost.MonthlySpotUSD, w.Cost.MonthlyOnDemandUSD)
		}
	}
	if len(r.Savings.Rows) == 0 {
		t.Fatal("no savings rows")
	}
	for _, s := range r.Savings.Rows {
		if s.SavingsRatio <= 0 || s.SavingsRatio >= 1 || math.Abs(s.MonthlyOnDemandUSD-s.MonthlySpotUSD-s.MonthlySavingsUSD) > 1e-6 {
			t.Errorf("%s: %+v", s.Name, s)
		}
		if s.Kind == "pool" && math.Abs(s.MonthlySpotUSD-s.SpotUSDPerHour*recommend.HoursPerMonth) > 1e-6 {
			t.Errorf("%s: monthly %v != %v × %v h", s.Name, s.MonthlySpotUSD, s.SpotUSDPerHour, recommend.HoursPerMonth)
		}
	}
	sc := r.Scorecard
	if sc.Error != "" || !sc.Ran || sc.Series == 0 || sc.Origins != 7 {
		t.Fatalf("scorecard: %+v", sc)
	}
	for _, name := range []string{forecast.ModelAuto, forecast.ModelNaive} {
		i := slices.IndexFunc(sc.Models, func(m forecast.ModelScore) bool { return m.Name == name })
		if i < 0 || sc.Models[i].Forecasts == 0 || !(sc.Models[i].CoveragePIT80 > 0.3 && sc.Models[i].CoveragePIT80 <= 1) {
			t.Errorf("scorecard row %s missing or empty: %+v", name, sc.Models)
		}
	}
	if len(r.Freshness.Sources) != 1 || r.Freshness.Sources[0].Source != market.SourceSimulated || r.Freshness.Sources[0].Stale {
		t.Errorf("freshness: %+v", r.Freshness.Sources)
	}
	for _, s := range []Section{r.Cheapest.Section, r.Moves.Section, r.Forecasts.Section, r.Interruptions.Section,
		r.Recommendations.Section, r.Savings.Section, r.Scorecard.Section, r.Freshness.Section} {
		if s.Title == "" || s.Source != market.SourceSimulated {
			t.Errorf("section %q: source %q, want %q", s.Title, s.Source, market.SourceSimulated)
		}
	}
}

func TestChartsDecodeAndAreNotBlank(t *testing.T) {
	r, _ := simReport(t)
	if len(r.Charts) != len(r.Forecasts.Pools)+3 {
		t.Errorf("%d charts for %d forecasts (+ heatmap, cheapest, savings)", len(r.Charts), len(r.Forecasts.Pools))
	}
	for _, c := range r.Charts {
		img, err := png.Decode(bytes.NewReader(c.PNG))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		b := img.Bounds()
		if b.Dx() < 600 || b.Dy() < 150 {
			t.Errorf("%s: %v too small", c.Name, b)
		}
		if v := lumaVariance(img); v < 100 {
			t.Errorf("%s: pixel variance %.1f: blank", c.Name, v)
		}
	}
}

func TestGenerateEmptyStore(t *testing.T) {
	st, err := storage.Open(context.Background(), "", storage.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = Generate(context.Background(), engine.New(st, engine.Options{Now: clock}), Options{Now: clock})
	if !errors.Is(err, ErrEmptyStore) || !strings.Contains(err.Error(), "load data first") {
		t.Errorf("empty store: %v, want ErrEmptyStore with advice", err)
	}
}

func TestWorkloadNothingSatisfies(t *testing.T) {
	_, st := simReport(t)
	ws := []Workload{
		{Name: "b200", GPUModel: "B200", GPUsPerNode: 8},
		{Name: "huge", MinGPUMemoryGiB: 200},
		{Name: "l40s-eu", GPUModel: "L40S", Regions: []string{"eu-west-1"}}, // g6e is US-only in the simulator
		{Name: "ok", GPUModel: "T4"},
	}
	r, err := Generate(context.Background(), engine.New(st, engine.Options{Now: clock}), Options{Now: clock, Workloads: ws, Backtest: &forecast.BacktestReport{}})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range r.Recommendations.Workloads[:3] {
		if !strings.Contains(w.Error, "no pool satisfies") || len(w.Placement) != 0 {
			t.Errorf("%s: error %q, %d placements", ws[i].Name, w.Error, len(w.Placement))
		}
	}
	if ok := r.Recommendations.Workloads[3]; ok.Error != "" || len(ok.Placement) == 0 || ok.Placement[0].GPUModel != "T4" {
		t.Errorf("T4 workload: %+v", ok)
	}
	html, err := HTMLBytes(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `<p class="error">no pool satisfies`); n != 3 {
		t.Errorf("HTML shows %d no-fit errors, want 3", n)
	}
}

// Workload durations are seconds in JSON, and read back.
func TestWorkloadJSONSeconds(t *testing.T) {
	w := Workload{Name: "w", Cloud: "aws", GPUsPerNode: 8, Nodes: 1, RunLength: 24 * time.Hour, CheckpointCost: 5 * time.Minute, RestartCost: 90 * time.Second}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"run_length":86400`, `"checkpoint_cost":300`, `"restart_cost":90`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Workload
	if err := json.Unmarshal(b, &back); err != nil || back.RunLength != w.RunLength || back.RestartCost != w.RestartCost || back.Name != "w" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
