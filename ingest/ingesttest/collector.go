// Package ingesttest provides an in-memory ingest.Sink for tests of the
// parsers and generators that write through one (as net/http/httptest does
// for handlers). Store-backed tests use the real DuckDB store instead.
package ingesttest

import "github.com/spotcast/spotcast/market"

// Collector keeps every row handed to it, per table, in arrival order.
type Collector struct {
	Prices   []market.PricePoint
	Advisor  []market.AdvisorRow
	Types    []market.InstanceType
	OnDemand []market.OnDemandPrice
	Scores   []market.PlacementScore
	Events   []market.Event
	Signals  []market.CapacitySignal
	ZoneIDs  []market.ZoneID
}

func (c *Collector) AddPrice(p market.PricePoint) error { c.Prices = append(c.Prices, p); return nil }

func (c *Collector) AddAdvisor(a market.AdvisorRow) error {
	c.Advisor = append(c.Advisor, a)
	return nil
}

func (c *Collector) AddInstanceType(t market.InstanceType) error {
	c.Types = append(c.Types, t)
	return nil
}

func (c *Collector) AddOnDemand(o market.OnDemandPrice) error {
	c.OnDemand = append(c.OnDemand, o)
	return nil
}

func (c *Collector) AddPlacementScore(s market.PlacementScore) error {
	c.Scores = append(c.Scores, s)
	return nil
}

func (c *Collector) AddEvent(e market.Event) error { c.Events = append(c.Events, e); return nil }

func (c *Collector) AddCapacitySignal(s market.CapacitySignal) error {
	c.Signals = append(c.Signals, s)
	return nil
}

func (c *Collector) AddZoneID(z market.ZoneID) error { c.ZoneIDs = append(c.ZoneIDs, z); return nil }

// Total is the number of rows collected over all tables.
func (c *Collector) Total() int {
	return len(c.Prices) + len(c.Advisor) + len(c.Types) + len(c.OnDemand) + len(c.Scores) + len(c.Events) +
		len(c.Signals) + len(c.ZoneIDs)
}
