// Package engine is spotcast's application layer: every path from stored
// data to an answer. It resolves pools, reads their series and the
// interruption signals from the store, forecasts prices and interruption
// hazards (from the persisted forecasts of the last refit, or on demand
// for what was not precomputed), and turns them into placements, max
// prices, checkpoint intervals, cost projections and backtests, with the
// pure models of forecast, forecast/hazard and recommend.
//
// The HTTP and gRPC APIs (api), the reports (report) and the command line
// (cmd/spotcast) only translate to and from it, so each capability is
// written once and answers the same everywhere. Every answer carries the
// sources of its data and says when it rests on simulated data.
package engine
