// Package ingest gets spot-market data into the store: files of every
// supported format (ingest/files), the AWS EC2 API (ingest/awsapi),
// EventBridge events (ingest/eventbridge) and the market simulator
// (ingest/sim). Parsers write through Sink, which *storage.Writer
// implements, so each file or API page lands in one store transaction.
package ingest

import "github.com/spotcast/spotcast/market"

// Sink takes parsed rows. *storage.Writer implements it.
type Sink interface {
	AddPrice(market.PricePoint) error
	AddAdvisor(market.AdvisorRow) error
	AddInstanceType(market.InstanceType) error
	AddOnDemand(market.OnDemandPrice) error
	AddPlacementScore(market.PlacementScore) error
	AddEvent(market.Event) error
}
