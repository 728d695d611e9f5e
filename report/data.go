package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// poolSnap is one pool's prices around the report's time.
type poolSnap struct {
	storage.PoolInfo
	typ        market.InstanceType // with GPUs resolved from the built-in table
	gpu        bool
	price      float64 // at asOf
	priceAt    time.Time
	day, week  float64 // 24 h and 7 d before asOf (0: no price then)
	source     string  // of the newest point at or before asOf
	onDemand   float64 // 0: unknown
	odSource   string
	odResolved bool
}

func (p *poolSnap) perGPU() float64 { return p.price / float64(max(p.typ.GPUCount, 1)) }

type poolID struct {
	key        market.PoolKey
	resolution string
}

// snapshot is every pool's price at the report's time, read in one query.
type snapshot struct {
	asOf  time.Time
	pools []*poolSnap // pools with a price within MaxAge of asOf
	byID  map[poolID]*poolSnap
	stale int // pools left out for an old price
	store *storage.Store
}

// snapshotSQL reads, per pool, the newest price at or before asOf and the
// prices in effect 24 h and 7 d earlier (a series is a step function: the
// last point at or before a time holds at that time). One scan of the
// prices table instead of a Series call per pool.
const snapshotSQL = `
SELECT p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution,
       max(x.ts),
       arg_max(x.price, x.ts),
       arg_max(x.price, x.ts) FILTER (WHERE x.ts <= ?),
       arg_max(x.price, x.ts) FILTER (WHERE x.ts <= ?),
       arg_max(v.source, x.ts)
FROM prices x
JOIN pools p ON p.id = x.pool_id
JOIN provenance v ON v.id = x.prov_id
WHERE x.ts <= ?
GROUP BY p.cloud, p.region, p.zone, p.instance_type, p.product, p.resolution`

func loadSnapshot(ctx context.Context, st *storage.Store, asOf, now time.Time, maxAge time.Duration) (*snapshot, error) {
	db := st.DB()
	if asOf.IsZero() {
		var newest sql.NullTime
		if err := db.QueryRowContext(ctx, `SELECT max(ts) FROM prices`).Scan(&newest); err != nil {
			return nil, fmt.Errorf("newest price: %w", err)
		}
		if !newest.Valid {
			return nil, ErrEmptyStore
		}
		asOf = newest.Time.UTC()
		if asOf.After(now) {
			asOf = now
		}
	}
	asOf = asOf.UTC()
	infos, err := st.Pools(ctx, storage.PoolFilter{})
	if err != nil {
		return nil, err
	}
	byInfo := make(map[poolID]storage.PoolInfo, len(infos))
	for _, p := range infos {
		byInfo[poolID{p.PoolKey, p.Resolution}] = p
	}
	rows, err := db.QueryContext(ctx, snapshotSQL, asOf.Add(-24*time.Hour), asOf.Add(-7*24*time.Hour), asOf)
	if err != nil {
		return nil, fmt.Errorf("price snapshot: %w", err)
	}
	defer rows.Close()
	s := &snapshot{asOf: asOf, byID: map[poolID]*poolSnap{}, store: st}
	types := map[[2]string]market.InstanceType{}
	for rows.Next() {
		var k market.PoolKey
		var res, src string
		var at time.Time
		var price float64
		var day, week sql.NullFloat64
		if err := rows.Scan(&k.Cloud, &k.Region, &k.Zone, &k.InstanceType, &k.Product, &res, &at, &price, &day, &week, &src); err != nil {
			return nil, fmt.Errorf("price snapshot: %w", err)
		}
		at = at.UTC()
		if at.Before(asOf.Add(-maxAge)) {
			s.stale++
			continue
		}
		id := poolID{k, res}
		p := &poolSnap{PoolInfo: byInfo[id], price: price, priceAt: at, source: src, day: day.Float64, week: week.Float64}
		p.PoolKey, p.Resolution = k, res
		tk := [2]string{k.Cloud, k.InstanceType}
		typ, ok := types[tk]
		if !ok {
			var stored *market.InstanceType
			if p.Type.Name != "" {
				stored = &p.Type
			}
			if t, err := recommend.ResolveType(k.Cloud, k.InstanceType, stored); err == nil {
				typ = t
			} else if stored != nil {
				typ = *stored
			}
			types[tk] = typ
		}
		p.typ = typ
		p.gpu = typ.GPUCount > 0 && typ.GPUModel != ""
		s.pools = append(s.pools, p)
		s.byID[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("price snapshot: %w", err)
	}
	if len(s.pools) == 0 {
		return nil, fmt.Errorf("%w within %s before %s (%d older pools left out)", ErrEmptyStore, fmtDuration(maxAge), asOf.Format(time.RFC3339), s.stale)
	}
	return s, nil
}

// onDemand returns the pool's on-demand price at the report's time (0 if
// none is stored), reading each (region, type, product) once.
func (s *snapshot) onDemand(ctx context.Context, p *poolSnap) (float64, string, error) {
	if p.odResolved {
		return p.onDemand, p.odSource, nil
	}
	od, err := s.store.OnDemand(ctx, p.Cloud, p.Region, p.InstanceType, p.Product, s.asOf)
	switch {
	case err == nil:
		p.onDemand, p.odSource = od.Price, od.Source
	case errors.Is(err, storage.ErrNotFound):
	default:
		return 0, "", err
	}
	p.odResolved = true
	return p.onDemand, p.odSource, nil
}

// find resolves a watched key: an exact pool, else (no product given) the
// Linux/UNIX pool or any product, preferring the change series.
func (s *snapshot) find(k market.PoolKey) *poolSnap {
	if k.Cloud == "" {
		k.Cloud = market.AWS
	}
	if k.Region == "" && k.Zone != "" {
		if r, err := market.RegionOfZone(k.Zone); err == nil {
			k.Region = r
		}
	}
	var best *poolSnap
	score := func(p *poolSnap) int {
		n := 0
		if p.Product == "Linux/UNIX" {
			n += 2
		}
		if p.Resolution == market.ResolutionChange {
			n++
		}
		return n
	}
	for _, p := range s.pools {
		if p.Cloud != k.Cloud || p.Region != k.Region || p.Zone != k.Zone || p.InstanceType != k.InstanceType {
			continue
		}
		if k.Product != "" && p.Product != k.Product {
			continue
		}
		if best == nil || score(p) > score(best) {
			best = p
		}
	}
	return best
}
