package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// What Refit computes for every watched pool (and the exporter publishes).
var (
	// SnapshotHorizons are the horizons of the published price quantiles.
	SnapshotHorizons = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	// SnapshotLevels are the published quantile levels (a 90% band and
	// the median).
	SnapshotLevels = []float64{0.05, 0.5, 0.95}
)

// The job behind the published recommendations: a max price for a 24 h run
// at 95% confidence, and the checkpoint interval of a job that takes 5 min
// to checkpoint and 10 min to restart.
const (
	snapshotRun = 24 * time.Hour
)

// Quantile is one published price quantile.
type Quantile struct {
	Horizon time.Duration `json:"horizon"`
	Level   float64       `json:"level"`
	Value   float64       `json:"value_usd_per_hour"`
}

// PoolSnapshot is what is known and forecast for one watched pool.
type PoolSnapshot struct {
	Pool      market.PoolKey `json:"pool"`
	Source    string         `json:"source"`
	Simulated bool           `json:"simulated"`
	// Found is false when the pool is not stored; nothing else is set.
	Found         bool       `json:"found"`
	Price         float64    `json:"price_usd_per_hour"`
	PriceTime     time.Time  `json:"price_time"`
	OnDemand      float64    `json:"on_demand_usd_per_hour"`
	Quantiles     []Quantile `json:"quantiles"`
	ProbWithin1h  float64    `json:"prob_interrupted_within_1h"`
	ProbWithin24h float64    `json:"prob_interrupted_within_24h"`
	// PlacementScore 0 and AdvisorBucket -1 mean unknown.
	// ByHourOfWeek[k] is the probability that one instance is
	// interrupted during hour k of the week (hazard.HourOfWeek), from the
	// coming week's forecast.
	ByHourOfWeek       []float64 `json:"interruption_probability_by_hour_of_week,omitempty"`
	PlacementScore     int       `json:"placement_score"`
	AdvisorBucket      int       `json:"advisor_bucket"`
	MaxPrice           float64   `json:"max_price_usd_per_hour"`
	CheckpointInterval float64   `json:"checkpoint_interval_seconds"`
	// Errors lists what could not be computed.
	Errors []string `json:"errors,omitempty"`
}

// Snapshot is the result of one Refit.
type Snapshot struct {
	Generated time.Time      `json:"generated"`
	Seconds   float64        `json:"seconds"`
	Pools     []PoolSnapshot `json:"pools"`
	Simulated bool           `json:"simulated"`
}

// Snapshot returns the newest refit's result (nil before the first).
func (s *Service) Snapshot() *Snapshot { return s.snap.Load() }

// Refit recomputes the forecasts and recommendations of every watched pool
// (warming the cache for the API) and publishes them as the snapshot the
// exporter reads. A pool that fails is reported in its Errors; only a
// cancelled ctx fails the refit.
func (s *Service) Refit(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	now := s.now().UTC()
	snap := &Snapshot{Generated: now}
	for _, key := range s.Watch() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ps := s.refitPool(ctx, key, now)
		snap.Simulated = snap.Simulated || ps.Simulated
		snap.Pools = append(snap.Pools, ps)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap.Seconds = time.Since(start).Seconds()
	s.snap.Store(snap)
	return snap, nil
}

func (s *Service) refitPool(ctx context.Context, key market.PoolKey, now time.Time) PoolSnapshot {
	ps := PoolSnapshot{Pool: key, AdvisorBucket: -1}
	fail := func(what string, err error) {
		ps.Errors = append(ps.Errors, fmt.Sprintf("%s: %v", what, err))
	}
	p, err := s.resolve(ctx, Ref(key), "")
	if err != nil {
		fail("pool", err)
		return ps
	}
	ps.Found, ps.Pool = true, p.PoolKey
	ps.Price, ps.PriceTime = p.LastPrice, p.Last
	var srcs []string
	srcs = append(srcs, p.Source)

	maxH := SnapshotHorizons[len(SnapshotHorizons)-1]
	if pf, err := s.priceForecast(ctx, p, maxH, "", time.Time{}); err != nil {
		fail("price forecast", err)
	} else {
		srcs = append(srcs, pf.Source)
		ps.Price = pf.LastPrice
		for _, h := range SnapshotHorizons {
			i := int(h/pf.StepSize) - 1
			if i < 0 || i >= len(pf.Steps) {
				continue
			}
			for _, l := range SnapshotLevels {
				ps.Quantiles = append(ps.Quantiles, Quantile{Horizon: h, Level: l, Value: pf.QuantileAt(l, i)})
			}
		}
	}
	if f, err := s.interruptionForecast(ctx, p.PoolKey, DefaultInterruptionHorizon, DefaultLevel, time.Time{}); err != nil {
		fail("interruption forecast", err)
	} else {
		srcs = append(srcs, f.Source)
		ps.ProbWithin1h, ps.ProbWithin24h = f.ProbWithin1h, f.ProbWithin24h
		if len(f.Hours) >= hazard.HoursPerWeek {
			ps.ByHourOfWeek = make([]float64, hazard.HoursPerWeek)
			for _, h := range f.Hours[:hazard.HoursPerWeek] {
				ps.ByHourOfWeek[hazard.HourOfWeek(h.Time)] = -math.Expm1(-h.Rate)
			}
		}
	}
	if od, err := s.store.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, now); err == nil {
		ps.OnDemand = od.Price
	} else if !errors.Is(err, storage.ErrNotFound) {
		fail("on-demand price", err)
	}
	if adv, err := s.store.Advisor(ctx, p.Region, hazard.AdvisorOS(p.Product), p.InstanceType, now); err == nil {
		ps.AdvisorBucket = adv.Bucket
		srcs = append(srcs, adv.Source)
	} else if !errors.Is(err, storage.ErrNotFound) {
		fail("advisor", err)
	}
	if sc, err := s.store.PlacementScores(ctx, p.Region, p.InstanceType); err != nil {
		fail("placement score", err)
	} else if best := hazard.PickScore(sc, p.Zone, now); best != nil {
		ps.PlacementScore = best.Score
	}
	if b, err := s.Bid(ctx, BidRequest{Pool: Ref(p.PoolKey), RunLength: snapshotRun, Confidence: DefaultConfidence}); err != nil {
		fail("max price", err)
	} else {
		ps.MaxPrice = b.MaxPrice
	}
	if c, err := s.Checkpoint(ctx, CheckpointRequest{Pool: ptr(Ref(p.PoolKey)), CheckpointCost: DefaultCheckpointCost,
		RestartCost: DefaultRestartCost, RunLength: snapshotRun}); err != nil {
		fail("checkpoint interval", err)
	} else {
		ps.CheckpointInterval = c.IntervalSeconds
	}
	ps.Source, ps.Simulated = sources(srcs...)
	return ps
}

func ptr[T any](v T) *T { return &v }

// DemoWatch picks up to n simulated GPU pools to watch when no watch list
// is configured: one per GPU model, in the first zone that has it, so the
// dashboard shows a spread of prices and risks.
func DemoWatch(ctx context.Context, store *storage.Store, n int) ([]market.PoolKey, error) {
	ps, err := store.Pools(ctx, storage.PoolFilter{Cloud: market.AWS, Source: market.SourceSimulated})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []market.PoolKey
	for _, p := range ps {
		if len(out) == n {
			break
		}
		if p.Type.GPUCount == 0 || p.Zone == "" || p.Resolution != market.ResolutionChange || seen[p.Type.GPUModel] {
			continue
		}
		seen[p.Type.GPUModel] = true
		out = append(out, p.PoolKey)
	}
	return out, nil
}
