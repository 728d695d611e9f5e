package files

import (
	"context"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// ChangeFilter keeps a price series a series of changes when its source
// reports the current price at every fetch (the AWS spot price feed,
// SpotLake's 10-minute snapshots): a point whose price equals the pool's
// previous one, stored or seen earlier, says nothing new and is skipped
// (counted). Storing it would make a flat stretch look like many
// observed "changes to the same price" to the forecasting models.
//
// One filter serves many inputs: what an input passed through is
// remembered only once the input parsed without error, so a file that
// fails (and stores nothing) does not hide the prices of the next one.
// Not safe for concurrent use.
type ChangeFilter struct {
	load    func(context.Context) ([]market.PricePoint, error)
	loaded  bool
	last    map[market.PoolKey]lastPrice
	pending map[market.PoolKey]lastPrice
}

type lastPrice struct {
	t     time.Time
	price float64
}

// NewChangeFilter returns a filter that learns the pools' previous prices
// from load (called once, on first use; nil: nothing is stored yet).
func NewChangeFilter(load func(context.Context) ([]market.PricePoint, error)) *ChangeFilter {
	return &ChangeFilter{load: load, last: map[market.PoolKey]lastPrice{}, pending: map[market.PoolKey]lastPrice{}}
}

// StoreLatest loads the newest point of every change series (not daily
// bars) stored in s: the usual argument of NewChangeFilter.
func StoreLatest(s *storage.Store) func(context.Context) ([]market.PricePoint, error) {
	return func(ctx context.Context) ([]market.PricePoint, error) {
		pts, err := s.LatestPrices(ctx, storage.PoolFilter{})
		if err != nil {
			return nil, err
		}
		out := pts[:0]
		for _, p := range pts {
			if !p.HasBar {
				out = append(out, p)
			}
		}
		return out, nil
	}
}

// Load calls the loader now (it is otherwise called on first use).
func (f *ChangeFilter) Load(ctx context.Context) error {
	if f.loaded {
		return nil
	}
	f.loaded = true
	if f.load == nil {
		return nil
	}
	pts, err := f.load(ctx)
	if err != nil {
		return fmt.Errorf("previous prices: %w", err)
	}
	for _, p := range pts {
		if l, ok := f.last[p.Pool]; !ok || p.Time.After(l.t) {
			f.last[p.Pool] = lastPrice{p.Time, p.Price}
		}
	}
	return nil
}

// keep says whether p is a change: true unless the pool's newest price
// before p's time is p's price. A point at or before the newest known
// time is kept (the store's natural key settles repeats) and teaches
// nothing.
func (f *ChangeFilter) keep(ctx context.Context, p market.PricePoint) (bool, error) {
	if err := f.Load(ctx); err != nil {
		return false, err
	}
	l, ok := f.pending[p.Pool]
	if !ok {
		l, ok = f.last[p.Pool]
	}
	switch {
	case !ok || p.Time.After(l.t) && p.Price != l.price:
		f.pending[p.Pool] = lastPrice{p.Time, p.Price}
		return true, nil
	case p.Time.After(l.t):
		return false, nil
	}
	return true, nil
}

// done ends one input: what it passed is remembered when it parsed.
func (f *ChangeFilter) done(ok bool) {
	if ok {
		for k, v := range f.pending {
			f.last[k] = v
		}
	}
	clear(f.pending)
}

// ReasonUnchanged is the skip reason of a price a ChangeFilter dropped.
const ReasonUnchanged = "price unchanged since the pool's previous point"

// changedPrice hands p to the store unless the input's ChangeFilter says
// it repeats the pool's previous price.
func (p *parser) changedPrice(pp market.PricePoint) error {
	if f := p.opts.Changes; f != nil {
		keep, err := f.keep(p.ctx, pp)
		if err != nil {
			return err
		}
		if !keep {
			p.t.Skip(ReasonUnchanged)
			return nil
		}
	}
	return p.price(pp)
}
