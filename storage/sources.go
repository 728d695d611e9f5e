package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
)

// SignalFilter selects capacity signals; empty fields match anything.
type SignalFilter struct {
	Cloud, Region, Zone, InstanceType, Kind string
	// At keeps signals observed at or before it (zero: all).
	At time.Time
}

// CapacitySignals returns the newest signal (by Time, at or before f.At)
// per cloud, region, zone, instance type, OS, kind and target capacity,
// ordered by those. A Zone in f also keeps the region's signals (zone "").
func (s *Store) CapacitySignals(ctx context.Context, f SignalFilter) ([]market.CapacitySignal, error) {
	w := &where{}
	w.eq("cloud", f.Cloud)
	w.eq("region", f.Region)
	w.eq("instance_type", f.InstanceType)
	w.eq("kind", f.Kind)
	if f.Zone != "" {
		w.add("zone IN (?, '')", f.Zone)
	}
	if !f.At.IsZero() {
		w.add("ts <= ?", f.At.UTC())
	}
	rows, err := s.db.QueryContext(ctx, `SELECT cloud, region, zone, instance_type, os, kind, value, value_high, label,
		       target_capacity, period_start, ts, source, fetched_at
		FROM capacity_signals WHERE `+w.sql()+`
		QUALIFY row_number() OVER (PARTITION BY cloud, region, zone, instance_type, os, kind, target_capacity ORDER BY ts DESC, period_start DESC) = 1
		ORDER BY cloud, region, zone, instance_type, os, kind, target_capacity`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("capacity signals: %w", err)
	}
	defer rows.Close()
	var out []market.CapacitySignal
	for rows.Next() {
		var c market.CapacitySignal
		if err := rows.Scan(&c.Cloud, &c.Region, &c.Zone, &c.InstanceType, &c.OS, &c.Kind, &c.Value, &c.ValueHigh, &c.Label,
			&c.TargetCapacity, &c.Start, &c.Time, &c.Source, &c.FetchedAt); err != nil {
			return nil, fmt.Errorf("capacity signals: %w", err)
		}
		c.Start, c.Time, c.FetchedAt = c.Start.UTC(), c.Time.UTC(), c.FetchedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("capacity signals: %w", err)
	}
	return out, nil
}

// ZoneIDs returns the stored zone name/ID pairs of a cloud ("" any) and
// region ("" any), ordered by cloud, region, zone and ID. A name paired
// with two IDs (two accounts' views) is listed twice: callers that need
// one answer must treat it as ambiguous.
func (s *Store) ZoneIDs(ctx context.Context, cloud, region string) ([]market.ZoneID, error) {
	w := &where{}
	w.eq("cloud", cloud)
	w.eq("region", region)
	rows, err := s.db.QueryContext(ctx, `SELECT cloud, region, zone, zone_id, arg_max(source, fetched_at), max(fetched_at)
		FROM zone_ids WHERE `+w.sql()+`
		GROUP BY cloud, region, zone, zone_id
		ORDER BY cloud, region, zone, zone_id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("zone ids: %w", err)
	}
	defer rows.Close()
	var out []market.ZoneID
	for rows.Next() {
		var z market.ZoneID
		if err := rows.Scan(&z.Cloud, &z.Region, &z.Zone, &z.ZoneID, &z.Source, &z.FetchedAt); err != nil {
			return nil, fmt.Errorf("zone ids: %w", err)
		}
		z.FetchedAt = z.FetchedAt.UTC()
		out = append(out, z)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("zone ids: %w", err)
	}
	return out, nil
}
