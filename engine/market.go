package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// ErrEmptyStore: the store holds no price data.
var ErrEmptyStore = errors.New("store holds no price data")

// PoolAt is one pool's prices around a time.
type PoolAt struct {
	storage.PoolInfo
	// Type has the GPUs resolved from the built-in table when the
	// catalogue does not know them; GPU says the type has GPUs of a
	// known model.
	Type market.InstanceType
	GPU  bool
	// Price and PriceTime: the newest point at or before the time.
	Price     float64
	PriceTime time.Time
	// Day and Week: the prices in effect 24 h and 7 d before the time
	// (0: no price then).
	Day, Week float64
	// Source of the newest point at or before the time.
	Source string
}

// PerGPU is the price per GPU-hour (per instance-hour for a type
// without GPUs).
func (p PoolAt) PerGPU() float64 { return p.Price / float64(max(p.Type.GPUCount, 1)) }

// Market is every pool's price at one time.
type Market struct {
	AsOf  time.Time
	Pools []PoolAt
	// Stale counts pools left out for a price older than the maximum age.
	Stale int
}

// MarketAt reads every pool's price at asOf (zero: the newest stored
// price, at most now) and 24 h and 7 d before, in one scan, leaving out
// pools whose newest price is more than maxAge older than asOf. It wraps
// ErrEmptyStore when no pool is left.
func (e *Engine) MarketAt(ctx context.Context, asOf time.Time, maxAge time.Duration) (Market, error) {
	if asOf.IsZero() {
		newest, ok, err := e.store.NewestPriceTime(ctx)
		if err != nil {
			return Market{}, err
		}
		if !ok {
			return Market{}, ErrEmptyStore
		}
		asOf = newest
		if now := e.now().UTC(); asOf.After(now) {
			asOf = now
		}
	}
	asOf = asOf.UTC()
	infos, err := e.store.Pools(ctx, storage.PoolFilter{})
	if err != nil {
		return Market{}, err
	}
	type id struct {
		key        market.PoolKey
		resolution string
	}
	byID := make(map[id]storage.PoolInfo, len(infos))
	for _, p := range infos {
		byID[id{p.PoolKey, p.Resolution}] = p
	}
	prices, err := e.store.PricesAt(ctx, asOf, [2]time.Time{asOf.Add(-24 * time.Hour), asOf.Add(-7 * 24 * time.Hour)})
	if err != nil {
		return Market{}, err
	}
	m := Market{AsOf: asOf}
	types := map[[2]string]market.InstanceType{}
	for _, x := range prices {
		if x.Time.Before(asOf.Add(-maxAge)) {
			m.Stale++
			continue
		}
		p := PoolAt{PoolInfo: byID[id{x.Pool, x.Resolution}], Price: x.Price, PriceTime: x.Time, Day: x.Before[0], Week: x.Before[1], Source: x.Source}
		p.PoolKey, p.Resolution = x.Pool, x.Resolution
		tk := [2]string{x.Pool.Cloud, x.Pool.InstanceType}
		typ, ok := types[tk]
		if !ok {
			var stored *market.InstanceType
			if p.PoolInfo.Type.Name != "" {
				stored = &p.PoolInfo.Type
			}
			if t, err := recommend.ResolveType(x.Pool.Cloud, x.Pool.InstanceType, stored); err == nil {
				typ = t
			} else if stored != nil {
				typ = *stored
			}
			types[tk] = typ
		}
		p.Type = typ
		p.GPU = typ.GPUCount > 0 && typ.GPUModel != ""
		m.Pools = append(m.Pools, p)
	}
	if len(m.Pools) == 0 {
		return m, fmt.Errorf("%w within %s before %s (%d older pools left out)", ErrEmptyStore, maxAge, asOf.Format(time.RFC3339), m.Stale)
	}
	return m, nil
}

// OnDemandPrice is the on-demand price of the pool's type in its region
// at t (a zero price when none is stored).
func (e *Engine) OnDemandPrice(ctx context.Context, k market.PoolKey, t time.Time) (market.OnDemandPrice, error) {
	return e.onDemandPrice(ctx, k, t)
}

// Counts returns the row count of each table of the store.
func (e *Engine) Counts(ctx context.Context) (map[string]int64, error) { return e.store.Counts(ctx) }

// StorePath is the store's file ("" in memory).
func (e *Engine) StorePath() string { return e.store.Path() }
