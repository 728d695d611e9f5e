// Package forecast turns stored spot-price series into calibrated price
// forecasts and evaluates them by rolling-origin backtests.
//
// A series (a step function of price changes, or daily averages) is put
// on a regular grid with no look-ahead (ToGrid), modelled on the log
// scale by one of a small set of classical models (naive, seasonal naive,
// simple exponential smoothing, damped trend, Holt-Winters with daily and
// weekly seasons, ARIMA(p,1,0) on log-returns), or by "auto", which picks
// among them per series by rolling-origin validation and falls back to
// naive unless another model beats it by a margin.
//
// The spread around the point forecast is model-agnostic: a per-series
// volatility that follows recent moves (an EWMA of squared log changes)
// times empirical quantiles of standardized h-step residuals pooled over
// many series (split conformal), with each quantile level adapted online
// to the series' own recent misses (adaptive conformal inference). The
// same volatility drives ExceedProb, the probability that the price path
// crosses a level before a deadline.
package forecast
