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
// The predictive distribution is model-agnostic around the point
// forecast. Spot prices are step functions, so it has an atom: the price
// stays where it is with a per-series probability (estimated from the
// series' own recent windows, shrunk to the pool's share), and otherwise
// moves by a continuous change whose scale follows the series' recent
// jump sizes and change rate and whose shape is the empirical
// distribution of standardized changes pooled over many series (split
// conformal, split further by how many changes a window holds), with
// each quantile level adapted online to the series' own recent misses
// (adaptive conformal inference, scoring an unchanged price by its
// randomized PIT). The same construction on running maxima gives
// ExceedProb, the probability that the price path crosses a level before
// a deadline. Backtest coverage counts outcomes on the atom by their
// randomized PIT (ModelScore.Coverage80).
package forecast
