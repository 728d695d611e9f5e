package api

import (
	"context"
	"errors"
	"fmt"
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
	StepSeconds float64   `json:"step_seconds"`
	AsOf        time.Time `json:"as_of"`
	// DataAgeSeconds is how old the newest point was at AsOf: a stale
	// feed makes a forecast of a price nobody has seen for a while.
	DataAgeSeconds float64 `json:"data_age_seconds"`
	Simulated      bool    `json:"simulated"`
}

// PriceForecast forecasts a pool's price.
func (s *Service) PriceForecast(ctx context.Context, req PriceForecastRequest) (PriceForecastResponse, error) {
	if req.Horizon == 0 {
		req.Horizon = DefaultPriceHorizon
	}
	if req.Horizon < 0 {
		return PriceForecastResponse{}, invalid("horizon", "must be > 0")
	}
	if req.Model != "" && req.Model != forecast.ModelAuto && !slices.Contains(forecast.Models(), req.Model) {
		return PriceForecastResponse{}, invalid("model", "%q is not one of %v", req.Model, forecast.Models())
	}
	p, err := s.resolve(ctx, req.Pool, req.Resolution)
	if err != nil {
		return PriceForecastResponse{}, err
	}
	return s.priceForecast(ctx, p, req.Horizon, req.Model, req.AsOf)
}

// priceForecast forecasts a resolved pool, through the cache.
func (s *Service) priceForecast(ctx context.Context, p storage.PoolInfo, horizon time.Duration, model string, asOf time.Time) (PriceForecastResponse, error) {
	if model == "" {
		model = forecast.ModelAuto
	}
	step := forecast.StepFor(p.Resolution)
	if asOf.IsZero() {
		// The grid only has whole steps, so every origin within a step
		// gives the same forecast and shares one cache entry.
		asOf = s.now().UTC().Truncate(step)
	}
	key := fmt.Sprintf("price|%s|%s|%d|%s|%d", p.PoolKey, p.Resolution, horizon, model, asOf.UnixNano())
	v, err := s.priceCache.get(ctx, key, func(ctx context.Context) (any, error) {
		pts, err := s.store.SeriesOf(ctx, p.PoolKey, p.Resolution, asOf.Add(-history(p.Resolution)), asOf.Add(time.Nanosecond))
		if err != nil {
			if isNotFound(err) {
				return nil, notFound("pool %s is not stored", p.PoolKey)
			}
			return nil, fmt.Errorf("price forecast %s: %w", p.PoolKey, err)
		}
		if len(pts) == 0 {
			return nil, unprocessable(forecast.ErrNoData, "pool %s has no price at or before %s", p.PoolKey, asOf.Format(time.RFC3339))
		}
		f, err := forecast.ForecastSeries(pts, p.PoolKey, p.Resolution, horizon, forecast.Options{Model: model, Now: s.now, AsOf: asOf})
		switch {
		case errors.Is(err, forecast.ErrBadHorizon):
			return nil, invalid("horizon", "%v", err)
		case errors.Is(err, forecast.ErrUnknownModel):
			return nil, invalid("model", "%v", err)
		case errors.Is(err, forecast.ErrNoData):
			return nil, unprocessable(err, "pool %s: %v", p.PoolKey, err)
		case err != nil:
			return nil, fmt.Errorf("price forecast %s: %w", p.PoolKey, err)
		}
		out := PriceForecastResponse{PriceForecast: f, StepSeconds: f.StepSize.Seconds(), AsOf: asOf,
			DataAgeSeconds: asOf.Sub(pts[len(pts)-1].Time).Seconds()}
		out.Source, out.Simulated = sources(f.Source)
		return out, nil
	})
	if err != nil {
		return PriceForecastResponse{}, err
	}
	return v.(PriceForecastResponse), nil
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
}

// InterruptionForecast forecasts a pool's interruption hazard.
func (s *Service) InterruptionForecast(ctx context.Context, req InterruptionForecastRequest) (InterruptionForecastResponse, error) {
	if req.Horizon == 0 {
		req.Horizon = DefaultInterruptionHorizon
	}
	if req.Horizon < time.Hour || req.Horizon > hazard.MaxHorizon {
		return InterruptionForecastResponse{}, invalid("horizon", "%s is not in [1h, %s]", req.Horizon, hazard.MaxHorizon)
	}
	if req.Level == 0 {
		req.Level = DefaultLevel
	}
	if !(req.Level > 0 && req.Level < 1) {
		return InterruptionForecastResponse{}, invalid("level", "%v is not in (0, 1)", req.Level)
	}
	p, err := s.resolve(ctx, req.Pool, "")
	if err != nil {
		return InterruptionForecastResponse{}, err
	}
	return s.interruptionForecast(ctx, p.PoolKey, req.Horizon, req.Level, req.AsOf)
}

func (s *Service) interruptionForecast(ctx context.Context, key market.PoolKey, horizon time.Duration, level float64, asOf time.Time) (InterruptionForecastResponse, error) {
	if asOf.IsZero() {
		// Events arrive at any time, so the origin moves by the minute.
		asOf = s.now().UTC().Truncate(time.Minute)
	}
	ck := hazardKey(key, horizon, level, asOf)
	v, err := s.hazardCache.get(ctx, ck, func(ctx context.Context) (any, error) {
		f, err := hazard.ForPool(ctx, s.store, key, asOf, hazard.Options{Horizon: horizon, Level: level})
		if errors.Is(err, hazard.ErrInput) {
			return nil, &Error{Code: CodeInvalidArgument, Message: err.Error(), Err: err}
		}
		if err != nil {
			return nil, err
		}
		return interruptionResponse(f), nil
	})
	if err != nil {
		return InterruptionForecastResponse{}, err
	}
	return v.(InterruptionForecastResponse), nil
}

func interruptionResponse(f hazard.Forecast) InterruptionForecastResponse {
	out := InterruptionForecastResponse{Forecast: f, ProbWithin1h: f.ProbWithin(time.Hour), ProbWithin24h: f.ProbWithin(24 * time.Hour)}
	if m := f.MTBF(); m > 0 {
		out.MTBFSeconds = m.Seconds()
	}
	_, out.Simulated = sources(f.Source)
	return out
}
