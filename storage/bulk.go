package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
)

// AdvisorAt returns, for every (region, OS, instance type), the newest
// advisor row at or before at (zero: newest): what Advisor answers for
// one type, for all of them in one query.
func (s *Store) AdvisorAt(ctx context.Context, at time.Time) ([]market.AdvisorRow, error) {
	w := &where{}
	if !at.IsZero() {
		w.add("snapshot <= ?::DATE", dateOf(at))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT region, os, instance_type, bucket, savings_pct, snapshot, source, fetched_at
		FROM advisor WHERE `+w.sql()+`
		QUALIFY row_number() OVER (PARTITION BY region, os, instance_type ORDER BY snapshot DESC) = 1
		ORDER BY region, instance_type, os`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("advisor at %s: %w", at.Format(time.DateOnly), err)
	}
	defer rows.Close()
	var out []market.AdvisorRow
	for rows.Next() {
		var a market.AdvisorRow
		if err := rows.Scan(&a.Region, &a.OS, &a.InstanceType, &a.Bucket, &a.SavingsPct, &a.Snapshot, &a.Source, &a.FetchedAt); err != nil {
			return nil, fmt.Errorf("advisor at: %w", err)
		}
		a.Snapshot, a.FetchedAt = a.Snapshot.UTC(), a.FetchedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("advisor at: %w", err)
	}
	return out, nil
}

// OnDemandAt returns, for every (cloud, region, instance type, product),
// the on-demand price in effect at at (zero: newest): what OnDemand
// answers for one type and product, for all of them in one query.
func (s *Store) OnDemandAt(ctx context.Context, at time.Time) ([]market.OnDemandPrice, error) {
	return s.onDemandAt(ctx, at, nil)
}

// OnDemandOf is OnDemandAt for the given instance types only (a
// placement's candidates), in one query.
func (s *Store) OnDemandOf(ctx context.Context, instanceTypes []string, at time.Time) ([]market.OnDemandPrice, error) {
	if len(instanceTypes) == 0 {
		return nil, nil
	}
	return s.onDemandAt(ctx, at, instanceTypes)
}

// onDemandAt is OnDemandAt, for the given types only when types is not
// nil.
func (s *Store) onDemandAt(ctx context.Context, at time.Time, types []string) ([]market.OnDemandPrice, error) {
	w := &where{}
	if !at.IsZero() {
		w.add("date <= ?::DATE", dateOf(at))
	}
	if types != nil {
		w.add("list_contains(?::VARCHAR[], instance_type)", types)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT cloud, region, instance_type, product, date, price, source, fetched_at
		FROM ondemand_prices WHERE `+w.sql()+`
		QUALIFY row_number() OVER (PARTITION BY cloud, region, instance_type, product ORDER BY date DESC) = 1
		ORDER BY cloud, region, instance_type, product`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("on-demand prices at %s: %w", at.Format(time.DateOnly), err)
	}
	defer rows.Close()
	var out []market.OnDemandPrice
	for rows.Next() {
		var o market.OnDemandPrice
		if err := rows.Scan(&o.Cloud, &o.Region, &o.InstanceType, &o.Product, &o.Date, &o.Price, &o.Source, &o.FetchedAt); err != nil {
			return nil, fmt.Errorf("on-demand prices at: %w", err)
		}
		o.Date, o.FetchedAt = o.Date.UTC(), o.FetchedAt.UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("on-demand prices at: %w", err)
	}
	return out, nil
}
