package files

import (
	"fmt"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// signalSink is the sink as an ingest.SignalSink: the formats that carry
// capacity signals or zone IDs need one (*storage.Writer is).
func (p *parser) signalSink() (ingest.SignalSink, error) {
	s, ok := p.sink.(ingest.SignalSink)
	if !ok {
		return nil, fmt.Errorf("the sink (%T) cannot store capacity signals or zone IDs", p.sink)
	}
	return s, nil
}

func (p *parser) signal(c market.CapacitySignal) error {
	s, err := p.signalSink()
	if err != nil {
		return err
	}
	p.t.Added++
	return s.AddCapacitySignal(c)
}

func (p *parser) zoneID(z market.ZoneID) error {
	s, err := p.signalSink()
	if err != nil {
		return err
	}
	p.t.Added++
	return s.AddZoneID(z)
}
