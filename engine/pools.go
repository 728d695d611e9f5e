package engine

import (
	"context"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// Pool is a stored pool with its catalogue entry.
type Pool struct {
	market.Pool
	VCPU         int     `json:"vcpu,omitempty"`
	MemoryGiB    float64 `json:"memory_gib,omitempty"`
	GPUModel     string  `json:"gpu_model,omitempty"`
	GPUCount     int     `json:"gpu_count,omitempty"`
	GPUMemoryGiB float64 `json:"gpu_memory_gib,omitempty"`
}

// PoolsRequest filters the pool list; empty fields match anything.
type PoolsRequest struct {
	Cloud, Region, Zone, InstanceType, Product string
	GPUModel                                   string
	MinGPUMemoryGiB                            float64
	Source                                     string
	// Limit caps the list (0: DefaultPoolLimit; at most MaxPoolLimit).
	Limit int
}

// Pool list bounds.
const (
	DefaultPoolLimit = 1000
	MaxPoolLimit     = 50000
)

// PoolsResponse lists pools.
type PoolsResponse struct {
	Pools     []Pool `json:"pools"`
	Count     int    `json:"count"`
	Truncated bool   `json:"truncated"`
	Provenance
}

// Pools lists stored pools.
func (e *Engine) Pools(ctx context.Context, req PoolsRequest) (PoolsResponse, error) {
	limit := req.Limit
	switch {
	case limit < 0 || limit > MaxPoolLimit:
		return PoolsResponse{}, Invalid("limit", "%d is not in [1, %d]", limit, MaxPoolLimit)
	case limit == 0:
		limit = DefaultPoolLimit
	}
	if req.MinGPUMemoryGiB < 0 {
		return PoolsResponse{}, Invalid("min_gpu_memory_gib", "must be >= 0")
	}
	ps, err := e.store.Pools(ctx, storage.PoolFilter{Cloud: req.Cloud, Region: req.Region, Zone: req.Zone,
		InstanceType: req.InstanceType, Product: req.Product, GPUModel: req.GPUModel,
		MinGPUMemoryGiB: req.MinGPUMemoryGiB, Source: req.Source, Limit: limit + 1})
	if err != nil {
		return PoolsResponse{}, err
	}
	out := PoolsResponse{Pools: []Pool{}}
	if len(ps) > limit {
		ps, out.Truncated = ps[:limit], true
	}
	srcs := make([]string, 0, len(ps))
	for _, p := range ps {
		out.Pools = append(out.Pools, Pool{Pool: p.Pool, VCPU: p.Type.VCPU, MemoryGiB: p.Type.MemoryGiB,
			GPUModel: p.Type.GPUModel, GPUCount: p.Type.GPUCount, GPUMemoryGiB: p.Type.GPUMemoryGiB})
		srcs = append(srcs, p.Source)
	}
	out.Count = len(out.Pools)
	out.Provenance = provenance(srcs...)
	return out, nil
}

// PricesRequest asks for a pool's price points.
type PricesRequest struct {
	Pool       PoolRef
	Resolution string
	// From and To bound the points (zero: open). The point in effect at
	// From is included.
	From, To time.Time
	// Limit keeps the newest Limit points (0: DefaultPriceLimit).
	Limit int
}

// Price list bounds.
const (
	DefaultPriceLimit = 10000
	MaxPriceLimit     = 200000
)

// PricePoint is one price in a response. Open, High, Low and Close are set
// for daily series.
type PricePoint struct {
	Time   time.Time `json:"time"`
	Price  float64   `json:"price_usd_per_hour"`
	Open   float64   `json:"open,omitempty"`
	High   float64   `json:"high,omitempty"`
	Low    float64   `json:"low,omitempty"`
	Close  float64   `json:"close,omitempty"`
	Source string    `json:"source"`
}

// PricesResponse is a pool's price series in time order.
type PricesResponse struct {
	Pool       market.PoolKey `json:"pool"`
	Resolution string         `json:"resolution"`
	Points     []PricePoint   `json:"points"`
	Count      int            `json:"count"`
	Truncated  bool           `json:"truncated"`
	Provenance
}

// Prices returns a pool's points.
func (e *Engine) Prices(ctx context.Context, req PricesRequest) (PricesResponse, error) {
	limit := req.Limit
	switch {
	case limit < 0 || limit > MaxPriceLimit:
		return PricesResponse{}, Invalid("limit", "%d is not in [1, %d]", limit, MaxPriceLimit)
	case limit == 0:
		limit = DefaultPriceLimit
	}
	if !req.From.IsZero() && !req.To.IsZero() && !req.To.After(req.From) {
		return PricesResponse{}, Invalid("to", "must be after from")
	}
	p, err := e.resolve(ctx, req.Pool, req.Resolution)
	if err != nil {
		return PricesResponse{}, err
	}
	pts, err := e.store.SeriesOf(ctx, p.PoolKey, p.Resolution, req.From, req.To)
	if err != nil {
		return PricesResponse{}, err
	}
	out := PricesResponse{Pool: p.PoolKey, Resolution: p.Resolution, Points: make([]PricePoint, 0, min(len(pts), limit))}
	if len(pts) > limit {
		pts, out.Truncated = pts[len(pts)-limit:], true
	}
	srcs := map[string]bool{}
	for _, pt := range pts {
		q := PricePoint{Time: pt.Time.UTC(), Price: pt.Price, Source: pt.Source}
		if pt.HasBar {
			q.Open, q.High, q.Low, q.Close = pt.Bar.Open, pt.Bar.High, pt.Bar.Low, pt.Bar.Close
		}
		out.Points = append(out.Points, q)
		srcs[pt.Source] = true
	}
	out.Count = len(out.Points)
	list := make([]string, 0, len(srcs))
	for k := range srcs {
		list = append(list, k)
	}
	out.Provenance = provenance(list...)
	if len(list) == 0 {
		out.Provenance = provenance(p.Source)
	}
	return out, nil
}
