package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Forecast defaults.
const (
	DefaultPriceHorizon        = 24 * time.Hour
	DefaultInterruptionHorizon = 7 * 24 * time.Hour
	DefaultLevel               = 0.9
)

// history is how much of a series a price forecast reads: the models fit
// on at most 42 days of hours (365 days of days) plus their validation
// window, so older points would only cost time.
func history(resolution string) time.Duration {
	if resolution == market.ResolutionDaily {
		return 450 * 24 * time.Hour
	}
	return 60 * 24 * time.Hour
}

// Basis says what the forecasts behind an answer are: when they were made
// and from data up to when.
type Basis struct {
	// ForecastGenerated is when the forecast was made (for an answer
	// resting on several, the oldest).
	ForecastGenerated time.Time `json:"forecast_generated"`
	// DataUntil is the time of the newest price the forecast read (for
	// several, the oldest such time): a stale feed shows here.
	DataUntil time.Time `json:"data_until"`
	// Precomputed is true when every forecast came from the persisted
	// refit, false when one was computed for this request.
	Precomputed bool `json:"precomputed"`
}

// merge folds b into a basis over several forecasts.
func (a *Basis) merge(b Basis, first bool) {
	if first {
		*a = b
		return
	}
	if b.ForecastGenerated.Before(a.ForecastGenerated) {
		a.ForecastGenerated = b.ForecastGenerated
	}
	if b.DataUntil.Before(a.DataUntil) {
		a.DataUntil = b.DataUntil
	}
	a.Precomputed = a.Precomputed && b.Precomputed
}

// PriceForecastRequest asks for a pool's price forecast.
type PriceForecastRequest struct {
	Pool       PoolRef
	Resolution string
	// Horizon (0: DefaultPriceHorizon).
	Horizon time.Duration
	// Model is a name from forecast.Models() ("": auto).
	Model string
	// AsOf is the forecast origin (zero: now); nothing after it is read.
	AsOf time.Time
}

// PriceForecastResponse is a price forecast with its provenance.
type PriceForecastResponse struct {
	forecast.PriceForecast
	// StepSize is the grid step in seconds (the embedded step_size in
	// seconds, like every duration in spotcast's JSON).
	StepSize    float64   `json:"step_size"`
	StepSeconds float64   `json:"step_seconds"`
	AsOf        time.Time `json:"as_of"`
	// DataAgeSeconds is how old the newest point was at AsOf: a stale
	// feed makes a forecast of a price nobody has seen for a while.
	DataAgeSeconds float64 `json:"data_age_seconds"`
	Simulated      bool    `json:"simulated"`
	Basis
}

// PriceForecast forecasts a pool's price.
func (e *Engine) PriceForecast(ctx context.Context, req PriceForecastRequest) (PriceForecastResponse, error) {
	if req.Horizon == 0 {
		req.Horizon = DefaultPriceHorizon
	}
	if req.Horizon < 0 {
		return PriceForecastResponse{}, Invalid("horizon", "must be > 0")
	}
	if req.Model != "" && req.Model != forecast.ModelAuto && !slices.Contains(forecast.Models(), req.Model) {
		return PriceForecastResponse{}, Invalid("model", "%q is not one of %v", req.Model, forecast.Models())
	}
	p, err := e.resolve(ctx, req.Pool, req.Resolution)
	if err != nil {
		return PriceForecastResponse{}, err
	}
	return e.priceForecast(ctx, p, req.Horizon, req.Model, req.AsOf)
}

// priceForecast forecasts a resolved pool.
func (e *Engine) priceForecast(ctx context.Context, p storage.PoolInfo, horizon time.Duration, model string, asOf time.Time) (PriceForecastResponse, error) {
	if model == "" {
		model = forecast.ModelAuto
	}
	if asOf.IsZero() && model == forecast.ModelAuto {
		if out, ok := e.persistedPrice(ctx, p, horizon); ok {
			return out, nil
		}
	}
	step := forecast.StepFor(p.Resolution)
	if asOf.IsZero() {
		// The grid only has whole steps, so every origin within a step
		// gives the same forecast.
		asOf = e.now().UTC().Truncate(step)
	}
	var out PriceForecastResponse
	err := e.onDemand(ctx, func(ctx context.Context) error {
		var err error
		out, err = e.computePrice(ctx, p, horizon, model, asOf)
		return err
	})
	return out, err
}

// persistedPrice is the pool's persisted price forecast cut to horizon,
// if the persisted forecasts hold it.
func (e *Engine) persistedPrice(ctx context.Context, p storage.PoolInfo, horizon time.Duration) (PriceForecastResponse, bool) {
	sp, ok := e.persisted(ctx, p)
	if !ok {
		return PriceForecastResponse{}, false
	}
	out, ok, err := sp.precomputedPrice(horizon)
	if err != nil {
		e.log.Warn("persisted price forecast unreadable: computing it", "pool", p.PoolKey.String(), "err", err)
		return PriceForecastResponse{}, false
	}
	return out, ok
}

// PersistedPriceForecast answers req from the persisted forecasts alone:
// ok is false when they do not hold its answer (a named model, an as_of,
// a horizon past the precomputed ones, a pool not fitted yet, a bad
// request), which PriceForecast then computes or refuses. A server uses
// it to keep the answers it will not compute out of the caches of
// computed ones.
func (e *Engine) PersistedPriceForecast(ctx context.Context, req PriceForecastRequest) (PriceForecastResponse, bool) {
	if req.Horizon == 0 {
		req.Horizon = DefaultPriceHorizon
	}
	if !req.AsOf.IsZero() || (req.Model != "" && req.Model != forecast.ModelAuto) || req.Horizon < 0 {
		return PriceForecastResponse{}, false
	}
	p, err := e.resolve(ctx, req.Pool, req.Resolution)
	if err != nil {
		return PriceForecastResponse{}, false
	}
	return e.persistedPrice(ctx, p, req.Horizon)
}

// computePrice fits the pool's series up to asOf and forecasts it.
func (e *Engine) computePrice(ctx context.Context, p storage.PoolInfo, horizon time.Duration, model string, asOf time.Time) (PriceForecastResponse, error) {
	pts, err := e.store.SeriesOf(ctx, p.PoolKey, p.Resolution, asOf.Add(-history(p.Resolution)), asOf.Add(time.Nanosecond))
	if err != nil {
		if isNotFound(err) {
			return PriceForecastResponse{}, NotFound("pool %s is not stored", p.PoolKey)
		}
		return PriceForecastResponse{}, fmt.Errorf("price forecast %s: %w", p.PoolKey, err)
	}
	pts, dropped := plausiblePoints(pts)
	if len(pts) == 0 {
		return PriceForecastResponse{}, Unprocessable(forecast.ErrNoData, "pool %s has no plausible price at or before %s", p.PoolKey, asOf.Format(time.RFC3339))
	}
	f, err := forecast.ForecastSeries(pts, p.PoolKey, p.Resolution, horizon, forecast.Options{Model: model, Now: e.now, AsOf: asOf})
	if err != nil {
		return PriceForecastResponse{}, priceError(p.PoolKey, err)
	}
	if dropped > 0 {
		e.log.Warn("implausible stored prices left out of a forecast", "pool", p.PoolKey.String(), "points", dropped)
		f.Note = addNote(f.Note, droppedNote(dropped))
	}
	return priceResponse(f, asOf, pts[len(pts)-1].Time, false), nil
}

// priceError classifies forecast.ForecastSeries's errors.
func priceError(key market.PoolKey, err error) error {
	switch {
	case errors.Is(err, forecast.ErrBadHorizon):
		return Invalid("horizon", "%v", err)
	case errors.Is(err, forecast.ErrUnknownModel):
		return Invalid("model", "%v", err)
	case errors.Is(err, forecast.ErrNoData):
		return Unprocessable(err, "pool %s: %v", key, err)
	}
	return fmt.Errorf("price forecast %s: %w", key, err)
}

func priceResponse(f forecast.PriceForecast, asOf, dataUntil time.Time, precomputed bool) PriceForecastResponse {
	out := PriceForecastResponse{PriceForecast: f, StepSize: f.StepSize.Seconds(), StepSeconds: f.StepSize.Seconds(), AsOf: asOf,
		DataAgeSeconds: asOf.Sub(dataUntil).Seconds(),
		Basis:          Basis{ForecastGenerated: f.Generated, DataUntil: dataUntil, Precomputed: precomputed}}
	pv := provenance(f.Source)
	out.Source, out.Simulated = pv.Source, pv.Simulated
	return out
}

// InterruptionForecastRequest asks for a pool's interruption forecast.
type InterruptionForecastRequest struct {
	Pool PoolRef
	// Horizon (0: DefaultInterruptionHorizon; at most hazard.MaxHorizon).
	Horizon time.Duration
	// Level of the credible intervals (0: DefaultLevel).
	Level float64
	// AsOf is the forecast origin (zero: now).
	AsOf time.Time
}

// InterruptionForecastResponse is the hazard forecast with the figures
// most callers want.
type InterruptionForecastResponse struct {
	hazard.Forecast
	// ProbWithin1h and ProbWithin24h: probability that one instance
	// started at Generated is interrupted within 1 h / 24 h.
	ProbWithin1h  float64 `json:"prob_interrupted_within_1h"`
	ProbWithin24h float64 `json:"prob_interrupted_within_24h"`
	// MTBFSeconds: mean time between interruptions of one instance.
	MTBFSeconds float64 `json:"mtbf_seconds"`
	Simulated   bool    `json:"simulated"`
	Basis
}

func (r InterruptionForecastRequest) check() (InterruptionForecastRequest, error) {
	if r.Horizon == 0 {
		r.Horizon = DefaultInterruptionHorizon
	}
	if r.Horizon < time.Hour || r.Horizon > hazard.MaxHorizon {
		return r, Invalid("horizon", "%s is not in [1h, %s]", r.Horizon, hazard.MaxHorizon)
	}
	if r.Level == 0 {
		r.Level = DefaultLevel
	}
	if !(r.Level > 0 && r.Level < 1) {
		return r, Invalid("level", "%v is not in (0, 1)", r.Level)
	}
	return r, nil
}

// InterruptionForecast forecasts a pool's interruption hazard.
func (e *Engine) InterruptionForecast(ctx context.Context, req InterruptionForecastRequest) (InterruptionForecastResponse, error) {
	req, err := req.check()
	if err != nil {
		return InterruptionForecastResponse{}, err
	}
	p, err := e.resolve(ctx, req.Pool, "")
	if err != nil {
		return InterruptionForecastResponse{}, err
	}
	return e.interruptionForecast(ctx, p, req.Horizon, req.Level, req.AsOf)
}

func (e *Engine) interruptionForecast(ctx context.Context, p storage.PoolInfo, horizon time.Duration, level float64, asOf time.Time) (InterruptionForecastResponse, error) {
	if asOf.IsZero() && horizon == DefaultInterruptionHorizon && level == DefaultLevel {
		if out, ok := e.persistedHazard(ctx, p); ok {
			return out, nil
		}
	}
	if asOf.IsZero() {
		// Events arrive at any time, so the origin moves by the minute.
		asOf = e.now().UTC().Truncate(time.Minute)
	}
	var out InterruptionForecastResponse
	err := e.onDemand(ctx, func(ctx context.Context) error {
		f, err := HazardForPool(ctx, e.store, p.PoolKey, asOf, hazard.Options{Horizon: horizon, Level: level})
		if errors.Is(err, hazard.ErrInput) {
			return &Error{Code: CodeInvalidArgument, Message: err.Error(), Err: err}
		}
		if err != nil {
			return err
		}
		out = interruptionResponse(f, Basis{ForecastGenerated: f.Generated, DataUntil: dataUntil(p, asOf)})
		return nil
	})
	return out, err
}

// persistedHazard is the pool's persisted interruption forecast (the
// default horizon and level), if the persisted forecasts hold it.
func (e *Engine) persistedHazard(ctx context.Context, p storage.PoolInfo) (InterruptionForecastResponse, bool) {
	sp, ok := e.persisted(ctx, p)
	if !ok {
		return InterruptionForecastResponse{}, false
	}
	out, ok, err := sp.precomputedHazard()
	if err != nil {
		e.log.Warn("persisted interruption forecast unreadable: computing it", "pool", p.PoolKey.String(), "err", err)
		return InterruptionForecastResponse{}, false
	}
	return out, ok
}

// PersistedInterruptionForecast answers req from the persisted forecasts
// alone, as PersistedPriceForecast does: ok is false unless req asks for
// the default horizon and level from now and the pool's forecast is
// persisted.
func (e *Engine) PersistedInterruptionForecast(ctx context.Context, req InterruptionForecastRequest) (InterruptionForecastResponse, bool) {
	req, err := req.check()
	if err != nil || !req.AsOf.IsZero() || req.Horizon != DefaultInterruptionHorizon || req.Level != DefaultLevel {
		return InterruptionForecastResponse{}, false
	}
	p, err := e.resolve(ctx, req.Pool, "")
	if err != nil {
		return InterruptionForecastResponse{}, false
	}
	return e.persistedHazard(ctx, p)
}

// dataUntil is the newest price of p at or before asOf, as far as the
// pool list says (its newest price when that is not after asOf).
func dataUntil(p storage.PoolInfo, asOf time.Time) time.Time {
	if p.Last.After(asOf) {
		return asOf
	}
	return p.Last
}

func interruptionResponse(f hazard.Forecast, b Basis) InterruptionForecastResponse {
	out := InterruptionForecastResponse{Forecast: f, ProbWithin1h: f.ProbWithin(time.Hour), ProbWithin24h: f.ProbWithin(24 * time.Hour), Basis: b}
	if m := f.MTBF(); m > 0 {
		out.MTBFSeconds = m.Seconds()
	}
	out.Simulated = provenance(f.Source).Simulated
	return out
}

// hourlyProbabilities is, for each hour of the week (hazard.HourOfWeek),
// the probability that one instance is interrupted during that hour of
// the forecast's coming week; nil for a forecast shorter than a week.
func hourlyProbabilities(f hazard.Forecast) []float64 {
	if len(f.Hours) < hazard.HoursPerWeek {
		return nil
	}
	out := make([]float64, hazard.HoursPerWeek)
	for _, h := range f.Hours[:hazard.HoursPerWeek] {
		out[hazard.HourOfWeek(h.Time)] = -math.Expm1(-h.Rate)
	}
	return out
}

// hazards forecasts the interruption hazard of many pools from now on
// with one HazardBatch (each query made once for all pools), with the
// default horizon and level.
func (e *Engine) hazards(ctx context.Context, pools []storage.PoolInfo, now time.Time) (map[market.PoolKey]hazard.Forecast, error) {
	todo := make([]HazardInput, 0, len(pools))
	for _, p := range pools {
		in := HazardInput{Key: p.PoolKey, Resolution: p.Resolution}
		if !p.Last.After(now) {
			// The pool's newest price is its price at now: no need to
			// read the series.
			price := p.LastPrice
			in.SpotPrice = &price
		}
		todo = append(todo, in)
	}
	return HazardForPools(ctx, e.store, todo, now, hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel})
}

// hazardDefaults are the options of the default interruption forecast.
func hazardDefaults() hazard.Options {
	return hazard.Options{Horizon: DefaultInterruptionHorizon, Level: DefaultLevel}
}
