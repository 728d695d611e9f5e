package storage

import (
	"fmt"
	"math"

	"github.com/spotcast/spotcast/market"
)

// AddCapacitySignal adds one capacity or interruption signal of a cloud
// (market.CapacitySignal). A zero Start means the signal is a reading of
// the present: Start takes Time.
func (w *Writer) AddCapacitySignal(c market.CapacitySignal) error {
	if w.closed {
		return errWriterClosed
	}
	for _, f := range [...][2]string{{"cloud", c.Cloud}, {"region", c.Region}, {"instance_type", c.InstanceType}, {"kind", c.Kind}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"value", c.Value}, {"value_high", c.ValueHigh}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("field %s: %v is not a finite number", f.name, f.v)
		}
	}
	if c.ValueHigh < c.Value {
		return fmt.Errorf("field value_high: %v is below value %v", c.ValueHigh, c.Value)
	}
	if c.TargetCapacity < 0 {
		return fmt.Errorf("field target_capacity: %d is negative", c.TargetCapacity)
	}
	if err := validTime("time", c.Time); err != nil {
		return err
	}
	if c.Start.IsZero() {
		c.Start = c.Time
	}
	if err := validTime("start", c.Start); err != nil {
		return err
	}
	if c.Start.After(c.Time) {
		return fmt.Errorf("field start: %s is after time %s", c.Start, c.Time)
	}
	var err error
	if c.Source, err = w.source(c.Source); err != nil {
		return err
	}
	c.FetchedAt = w.fetched(c.FetchedAt)
	w.signals = append(w.signals, c)
	w.added["capacity_signals"]++
	if len(w.signals) == rowBatchSize {
		return w.flushSmall("capacity_signals")
	}
	return nil
}

// AddZoneID adds one zone name/ID pair (market.ZoneID).
func (w *Writer) AddZoneID(z market.ZoneID) error {
	if w.closed {
		return errWriterClosed
	}
	for _, f := range [...][2]string{{"cloud", z.Cloud}, {"region", z.Region}, {"zone", z.Zone}, {"zone_id", z.ZoneID}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	var err error
	if z.Source, err = w.source(z.Source); err != nil {
		return err
	}
	z.FetchedAt = w.fetched(z.FetchedAt)
	w.zoneIDs = append(w.zoneIDs, z)
	w.added["zone_ids"]++
	if len(w.zoneIDs) == rowBatchSize {
		return w.flushSmall("zone_ids")
	}
	return nil
}
