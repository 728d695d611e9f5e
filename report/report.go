// Package report builds spotcast's batch report: the cheapest GPU pools,
// the biggest price moves, price forecasts with their bands, interruption
// windows, recommendations for configured workloads, savings against
// on-demand, the forecast-quality scorecard and data freshness, computed
// from the store with the forecast, hazard and recommend packages. Writers
// turn a Report into one self-contained HTML file (charts embedded as PNG),
// CSV files and JSON; a cron Scheduler writes reports on a schedule and a
// retention policy prunes old ones.
//
// Every figure names the source of its data, and a report on a store that
// holds simulated data says so at the top of every format.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/spotcast/spotcast/engine"
	"slices"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// ErrEmptyStore: the store holds no price data to report on.
var ErrEmptyStore = engine.ErrEmptyStore

// Defaults of Options.
const (
	DefaultTopN             = 3
	DefaultMoves            = 10
	DefaultMaxAge           = 30 * 24 * time.Hour
	DefaultForecastHorizon  = 7 * 24 * time.Hour
	DefaultBacktestTimeout  = 30 * time.Second
	DefaultBacktestSeries   = 16
	DefaultMaxWatch         = 8
	defaultCandidatesPerGPU = 8
	maxPlacementCandidates  = 24
	// staleAfter flags a source whose newest row is older than this.
	staleAfter = 48 * time.Hour
)

// Options tune Generate. The zero value is usable.
type Options struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// AsOf is the time the report speaks of (zero: the newest stored
	// price, at most Now). Nothing after it is read for forecasts.
	AsOf time.Time
	// Watch are the pools whose 7-day forecasts are charted (nil: the
	// cheapest pool of up to four GPU models, labelled as such). At most
	// DefaultMaxWatch are charted.
	Watch []market.PoolKey
	// Workloads get recommendations (nil: ExampleWorkloads, labelled as
	// examples).
	Workloads []Workload
	// Backtest is the latest forecast backtest (nil: a small one is run,
	// bounded by BacktestTimeout).
	Backtest *forecast.BacktestReport
	// BacktestTimeout bounds the backtest run when none is given (0:
	// DefaultBacktestTimeout); BacktestSeries is its sample size (0:
	// DefaultBacktestSeries).
	BacktestTimeout time.Duration
	BacktestSeries  int
	// TopN pools per GPU model in the cheapest tables (0: DefaultTopN);
	// Moves rows per price-move table (0: DefaultMoves).
	TopN  int
	Moves int
	// MaxAge leaves out pools whose newest price is older than this
	// before AsOf (0: DefaultMaxAge): their price is history, not offer.
	MaxAge time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TopN <= 0 {
		o.TopN = DefaultTopN
	}
	if o.Moves <= 0 {
		o.Moves = DefaultMoves
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.BacktestTimeout <= 0 {
		o.BacktestTimeout = DefaultBacktestTimeout
	}
	if o.BacktestSeries <= 0 {
		o.BacktestSeries = DefaultBacktestSeries
	}
	return o
}

// Workload is a job to recommend capacity for.
type Workload struct {
	Name string `json:"name"`
	// Cloud whose pools are placed (default aws); the checkpoint policy
	// follows its interruption notice.
	Cloud           string   `json:"cloud"`
	GPUModel        string   `json:"gpu_model,omitempty"`
	MinGPUMemoryGiB float64  `json:"min_gpu_memory_gib,omitempty"`
	GPUsPerNode     int      `json:"gpus_per_node"`
	Nodes           int      `json:"nodes"`
	Regions         []string `json:"regions,omitempty"`
	// RunLength, CheckpointCost and RestartCost are in seconds in JSON.
	RunLength      time.Duration `json:"run_length"`
	CheckpointCost time.Duration `json:"checkpoint_cost"`
	RestartCost    time.Duration `json:"restart_cost"`
	// Confidence that the price stays under the max price (0: 0.95).
	Confidence float64 `json:"confidence"`
	// Utilisation: share of the month the fleet runs (0: 1).
	Utilisation float64 `json:"utilisation"`
	// Example marks a workload the report made up because none was
	// configured.
	Example bool `json:"example,omitempty"`
}

// workloadJSON is Workload as JSON: durations in seconds, like every
// duration in spotcast's JSON.
type workloadJSON struct {
	Name            string   `json:"name"`
	Cloud           string   `json:"cloud"`
	GPUModel        string   `json:"gpu_model,omitempty"`
	MinGPUMemoryGiB float64  `json:"min_gpu_memory_gib,omitempty"`
	GPUsPerNode     int      `json:"gpus_per_node"`
	Nodes           int      `json:"nodes"`
	Regions         []string `json:"regions,omitempty"`
	RunLength       float64  `json:"run_length"`
	CheckpointCost  float64  `json:"checkpoint_cost"`
	RestartCost     float64  `json:"restart_cost"`
	Confidence      float64  `json:"confidence"`
	Utilisation     float64  `json:"utilisation"`
	Example         bool     `json:"example,omitempty"`
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// MarshalJSON writes the durations in seconds.
func (w Workload) MarshalJSON() ([]byte, error) {
	return json.Marshal(workloadJSON{Name: w.Name, Cloud: w.Cloud, GPUModel: w.GPUModel, MinGPUMemoryGiB: w.MinGPUMemoryGiB,
		GPUsPerNode: w.GPUsPerNode, Nodes: w.Nodes, Regions: w.Regions, RunLength: w.RunLength.Seconds(),
		CheckpointCost: w.CheckpointCost.Seconds(), RestartCost: w.RestartCost.Seconds(), Confidence: w.Confidence,
		Utilisation: w.Utilisation, Example: w.Example})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (w *Workload) UnmarshalJSON(b []byte) error {
	var j workloadJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*w = Workload{Name: j.Name, Cloud: j.Cloud, GPUModel: j.GPUModel, MinGPUMemoryGiB: j.MinGPUMemoryGiB, GPUsPerNode: j.GPUsPerNode,
		Nodes: j.Nodes, Regions: j.Regions, RunLength: seconds(j.RunLength), CheckpointCost: seconds(j.CheckpointCost),
		RestartCost: seconds(j.RestartCost), Confidence: j.Confidence, Utilisation: j.Utilisation, Example: j.Example}
	return nil
}

func (w Workload) withDefaults() Workload {
	if w.Cloud == "" {
		w.Cloud = market.AWS
	}
	if w.GPUsPerNode <= 0 {
		w.GPUsPerNode = 1
	}
	if w.Nodes <= 0 {
		w.Nodes = 1
	}
	if w.RunLength <= 0 {
		w.RunLength = 24 * time.Hour
	}
	if w.CheckpointCost <= 0 {
		w.CheckpointCost = 5 * time.Minute
	}
	if w.RestartCost <= 0 {
		w.RestartCost = 10 * time.Minute
	}
	if w.Confidence <= 0 {
		w.Confidence = 0.95
	}
	if w.Utilisation <= 0 {
		w.Utilisation = 1
	}
	return w
}

// Describe says what the workload asks for, in words.
func (w Workload) Describe() string {
	w = w.withDefaults()
	gpu := w.GPUModel
	if gpu == "" {
		gpu = "any GPU"
	}
	if w.MinGPUMemoryGiB > 0 {
		gpu += fmt.Sprintf(" with ≥%g GiB", w.MinGPUMemoryGiB)
	}
	s := fmt.Sprintf("%d node(s) × %d %s, %s runs", w.Nodes, w.GPUsPerNode, gpu, fmtDuration(w.RunLength))
	if w.Cloud != market.AWS {
		s += " on " + w.Cloud
	}
	if len(w.Regions) > 0 {
		s += " in " + strings.Join(w.Regions, ", ")
	}
	return s
}

// ExampleWorkloads are what a report recommends for when no workload is
// configured: one multi-GPU training job and one single-GPU inference
// service, so the section shows what it would say.
func ExampleWorkloads() []Workload {
	return []Workload{
		{Name: "example: 8-GPU training node, 24 h", MinGPUMemoryGiB: 40, GPUsPerNode: 8, Nodes: 1, RunLength: 24 * time.Hour,
			CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, Example: true},
		{Name: "example: 1-GPU inference (≥24 GiB), 7 d", MinGPUMemoryGiB: 24, GPUsPerNode: 1, Nodes: 2, RunLength: 7 * 24 * time.Hour,
			CheckpointCost: time.Minute, RestartCost: 5 * time.Minute, Example: true},
	}
}

// Report is everything one report says. Charts hold the PNG images; the
// JSON writer leaves their bytes out.
type Report struct {
	Title     string    `json:"title"`
	Generated time.Time `json:"generated"`
	AsOf      time.Time `json:"as_of"`
	Store     string    `json:"store"`
	// Sources are every source of price data in the report; Simulated
	// is true when any is "simulated".
	Sources   []string         `json:"sources"`
	Simulated bool             `json:"simulated"`
	Counts    map[string]int64 `json:"counts"`
	// Warnings are said at the top of the report (stale data, ...).
	Warnings []string `json:"warnings,omitempty"`
	// Seconds is how long Generate took.
	Seconds float64 `json:"seconds"`

	Cheapest        CheapestSection        `json:"cheapest"`
	Moves           MovesSection           `json:"price_moves"`
	Forecasts       ForecastSection        `json:"forecasts"`
	Interruptions   InterruptionSection    `json:"interruptions"`
	Recommendations RecommendationsSection `json:"recommendations"`
	Launch          LaunchSection          `json:"what_to_launch"`
	Savings         SavingsSection         `json:"savings"`
	Scorecard       ScorecardSection       `json:"scorecard"`
	Freshness       FreshnessSection       `json:"freshness"`

	Charts []Chart `json:"charts"`
}

// Section is what every section carries: a heading, the sources of its
// data and notes on how to read it.
type Section struct {
	Title  string   `json:"title"`
	Source string   `json:"source"`
	Notes  []string `json:"notes,omitempty"`
}

func (s *Section) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// Chart is one PNG image.
type Chart struct {
	Name  string `json:"name"` // file name stem, e.g. "forecast-1"
	Title string `json:"title"`
	Alt   string `json:"alt"`
	PNG   []byte `json:"-"`
	// File is where the writer put it, relative to the report folder.
	File string `json:"file,omitempty"`
}

// GPUPool is one GPU pool's price and expected cost.
type GPUPool struct {
	Rank            int            `json:"rank"`
	GPUModel        string         `json:"gpu_model"`
	Pool            market.PoolKey `json:"pool"`
	Resolution      string         `json:"resolution"`
	GPUs            int            `json:"gpus"`
	GPUMemoryGiB    float64        `json:"gpu_memory_gib"`
	PriceUSDPerHour float64        `json:"price_usd_per_hour"`
	PricePerGPUHour float64        `json:"price_per_gpu_hour"`
	PriceTime       time.Time      `json:"price_time"`
	OnDemandPerGPU  float64        `json:"on_demand_per_gpu_hour,omitempty"`
	// HazardPerHour, OverheadRatio and CostPerUsefulGPUHour are filled
	// for the pools whose hazard was forecast.
	HazardPerHour        float64 `json:"hazard_per_instance_hour,omitempty"`
	OverheadRatio        float64 `json:"expected_overhead_ratio,omitempty"`
	CostPerUsefulGPUHour float64 `json:"cost_per_useful_gpu_hour,omitempty"`
	Source               string  `json:"source"`
}

// CheapestSection ranks GPU pools per GPU model.
type CheapestSection struct {
	Section
	ByPrice      []GPUPool `json:"by_price_per_gpu_hour"`
	ByUsefulCost []GPUPool `json:"by_cost_per_useful_gpu_hour"`
}

// Move is one pool's price change over a window.
type Move struct {
	Pool       market.PoolKey `json:"pool"`
	Resolution string         `json:"resolution"`
	GPUModel   string         `json:"gpu_model,omitempty"`
	From       float64        `json:"from_usd_per_hour"`
	To         float64        `json:"to_usd_per_hour"`
	// Change is To/From - 1.
	Change float64 `json:"change"`
	Source string  `json:"source"`
}

// MovesSection lists the biggest relative price moves.
type MovesSection struct {
	Section
	Day  []Move `json:"last_24h"`
	Week []Move `json:"last_7d"`
}

// PoolForecast is one watched pool's price forecast.
type PoolForecast struct {
	Pool       market.PoolKey `json:"pool"`
	Resolution string         `json:"resolution"`
	Model      string         `json:"model"`
	Origin     time.Time      `json:"origin"`
	// Generated is when the forecast was made, DataUntil the newest price
	// it read; Precomputed says it is the persisted refit's.
	Generated   time.Time `json:"generated"`
	DataUntil   time.Time `json:"data_until"`
	Precomputed bool      `json:"precomputed"`
	LastPrice   float64   `json:"last_price_usd_per_hour"`
	// MeanNextWeek is the mean of the point forecasts; Lo80 and Hi80 the
	// 80% band at the last step.
	MeanNextWeek float64         `json:"mean_next_week_usd_per_hour"`
	Lo80End      float64         `json:"lo80_end_usd_per_hour"`
	Hi80End      float64         `json:"hi80_end_usd_per_hour"`
	Steps        []forecast.Step `json:"steps"`
	// History is the series' points over the 14 days before Origin.
	History []HistoryPoint `json:"history"`
	Source  string         `json:"source"`
	Note    string         `json:"note,omitempty"`
	Chart   string         `json:"chart,omitempty"`
}

// HistoryPoint is one observed price (a step function: it holds until
// the next point).
type HistoryPoint struct {
	Time  time.Time `json:"time"`
	Price float64   `json:"price"`
}

// ForecastSection holds the watched pools' 7-day forecasts.
type ForecastSection struct {
	Section
	Pools []PoolForecast `json:"pools"`
}

// PoolHazard is one pool's interruption forecast summary.
type PoolHazard struct {
	Pool            market.PoolKey  `json:"pool"`
	BaselinePerHour float64         `json:"baseline_per_instance_hour"`
	ProbWithin24h   float64         `json:"prob_interrupted_within_24h"`
	MTBFHours       float64         `json:"mtbf_hours"`
	Windows         []hazard.Window `json:"windows"`
	Events          int             `json:"events"`
	ExposureHours   float64         `json:"exposure_hours"`
	Prior           string          `json:"prior"`
	Source          string          `json:"source"`
}

// InterruptionSection holds the hour-of-week profile and the watched
// pools' windows.
type InterruptionSection struct {
	Section
	// Profile[d][h] is the hazard multiplier on weekday d (0 = Monday)
	// at hour h (UTC); 1 is the week's average.
	Profile [7][24]float64 `json:"profile"`
	// Observed[d][h] counts interruptions observed in that hour.
	Observed      [7][24]int   `json:"observed"`
	Flat          bool         `json:"flat"`
	Events        int          `json:"events"`
	Pools         int          `json:"pools"`
	ExposureHours float64      `json:"exposure_hours"`
	Watched       []PoolHazard `json:"watched"`
}

// WorkloadResult is the recommendation for one workload.
type WorkloadResult struct {
	Workload    Workload `json:"workload"`
	Description string   `json:"description"`
	// Error says why there is no recommendation (nothing fits, no data).
	Error      string                      `json:"error,omitempty"`
	Candidates int                         `json:"candidates"`
	Placement  []recommend.PoolRank        `json:"placement,omitempty"`
	MaxPrice   *recommend.BidResult        `json:"max_price,omitempty"`
	BidError   string                      `json:"max_price_error,omitempty"`
	Checkpoint *recommend.CheckpointResult `json:"checkpoint,omitempty"`
	Cost       *recommend.CostResult       `json:"cost,omitempty"`
	OnDemand   *recommend.OnDemandOption   `json:"on_demand,omitempty"`
	Source     string                      `json:"source"`
	// placement is the ranking behind it, for the launch documents.
	placement *engine.PlacementResponse
}

// RecommendationsSection holds the workloads' recommendations.
type RecommendationsSection struct {
	Section
	Workloads []WorkloadResult `json:"workloads"`
}

// SavingsRow compares spot with on-demand for a workload or a pool.
type SavingsRow struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "workload" or "pool"
	// Pool is the pool of a "pool" row.
	Pool               market.PoolKey `json:"pool,omitempty"`
	SpotUSDPerHour     float64        `json:"spot_usd_per_hour"`
	OnDemandUSDPerHour float64        `json:"on_demand_usd_per_hour"`
	MonthlySpotUSD     float64        `json:"monthly_spot_usd"`
	MonthlyOnDemandUSD float64        `json:"monthly_on_demand_usd"`
	MonthlySavingsUSD  float64        `json:"monthly_savings_usd"`
	SavingsRatio       float64        `json:"savings_ratio"`
	Source             string         `json:"source"`
}

// SavingsSection projects a month of spot against on-demand.
type SavingsSection struct {
	Section
	Rows              []SavingsRow `json:"rows"`
	TotalSpotUSD      float64      `json:"total_monthly_spot_usd"`
	TotalOnDemandUSD  float64      `json:"total_monthly_on_demand_usd"`
	TotalSavingsRatio float64      `json:"total_savings_ratio"`
}

// ScorecardSection is the forecast-quality scorecard of a backtest.
type ScorecardSection struct {
	Section
	// Ran is true when the report ran the backtest itself.
	Ran       bool                  `json:"ran"`
	Generated time.Time             `json:"generated"`
	Horizon   string                `json:"horizon"`
	Origins   int                   `json:"origins"`
	Series    int                   `json:"series"`
	Models    []forecast.ModelScore `json:"models"`
	// Interruption holds the hazard backtest's scores when the given
	// backtest has them.
	Interruption *hazard.Evaluation `json:"interruption,omitempty"`
	Error        string             `json:"error,omitempty"`
}

// FreshnessRow is one source's freshness.
type FreshnessRow struct {
	Source      string    `json:"source"`
	NewestPoint time.Time `json:"newest_point"`
	LastIngest  time.Time `json:"last_ingest"`
	Rows        int64     `json:"rows"`
	// AgeHours is how old the newest point was when the report was made.
	AgeHours float64 `json:"age_hours"`
	Stale    bool    `json:"stale"`
}

// FreshnessSection lists every source's freshness.
type FreshnessSection struct {
	Section
	Sources []FreshnessRow `json:"sources"`
}

// Generate computes a report from the store. It returns ErrEmptyStore
// (wrapped) when the store holds no prices; a workload nothing satisfies
// or a failed backtest is reported in its section, not as an error.
func Generate(ctx context.Context, eng *engine.Engine, opts Options) (Report, error) {
	opts = opts.withDefaults()
	start := time.Now()
	now := opts.Now().UTC()
	r := Report{Title: "spotcast report", Generated: now, Store: eng.StorePath()}
	if r.Store == "" {
		r.Store = "(in memory)"
	}
	counts, err := eng.Counts(ctx)
	if err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	r.Counts = counts
	if counts["prices"] == 0 {
		return r, fmt.Errorf("report on %s: %w: load data first (spotcast ingest file|aws|sim)", r.Store, ErrEmptyStore)
	}
	snap, err := loadSnapshot(ctx, eng, opts.AsOf, opts.MaxAge)
	if err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	r.AsOf = snap.asOf
	if !opts.AsOf.IsZero() || now.Sub(snap.asOf) > staleAfter {
		// A report of the past, or of a store whose data stopped: its
		// forecasts start where the data does.
		snap.forecastAsOf = snap.asOf
	}
	if err := freshness(ctx, eng, &r); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	hz := newHazards(eng, snap.asOf)

	cheapest(ctx, &r, snap, hz, opts)
	moves(&r, snap, opts)
	watch := watchedPools(&r, snap, opts)
	if err := forecasts(ctx, eng, &r, snap, watch); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if err := interruptions(ctx, &r, snap, hz, watch); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if err := recommendations(ctx, eng, &r, snap, opts); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if err := whatToLaunch(ctx, eng, &r, snap, opts); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	savings(&r, snap, watch)
	scorecard(ctx, eng, &r, snap, watch, opts)
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("report: %w", err)
	}

	srcs := map[string]bool{}
	for _, p := range snap.pools {
		srcs[p.Source] = true
	}
	for s := range srcs {
		r.Sources = append(r.Sources, s)
	}
	slices.Sort(r.Sources)
	for _, f := range r.Freshness.Sources {
		if f.Source == market.SourceSimulated {
			r.Simulated = true
		}
	}
	if slices.Contains(r.Sources, market.SourceSimulated) {
		r.Simulated = true
	}
	if age := r.Generated.Sub(r.AsOf); age > staleAfter {
		r.Warnings = append(r.Warnings, fmt.Sprintf("The newest price is %s old (%s): the report speaks of then, not of today.",
			fmtSeconds(age.Seconds()), r.AsOf.Format("2006-01-02 15:04 UTC")))
	}
	if err := renderCharts(&r); err != nil {
		return r, fmt.Errorf("report: charts: %w", err)
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// sourceList joins the distinct non-empty sources in order.
func sourceList(srcs ...string) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range srcs {
		for _, p := range strings.Split(s, ",") {
			p = strings.TrimSpace(p)
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.Round(time.Second).String()
}
