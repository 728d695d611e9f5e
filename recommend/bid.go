package recommend

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/market"
)

// PriceOutlook is what a price forecast must answer to set a max price.
// forecast.PriceForecast satisfies it.
type PriceOutlook interface {
	// ExceedProb is the forecast probability that the spot price rises
	// above b (USD/h) at some time within d of the forecast origin. It
	// must not increase with b.
	ExceedProb(b float64, d time.Duration) float64
}

// BidInput asks for a max price.
type BidInput struct {
	Pool market.PoolKey
	// RunLength D: how long the instance must keep running.
	RunLength time.Duration
	// Confidence p: the wanted probability that the price stays at or
	// below the max price for all of D, in (0, 1).
	Confidence float64
	// CurrentPrice: the pool's latest spot price (USD/h); optional.
	CurrentPrice float64
	// OnDemand: the type's on-demand price (USD/h); 0 if unknown.
	OnDemand float64
	// GPUCount: GPUs of this instance type (for the parity cap).
	GPUCount int
	// Parity: cap at another type's on-demand price per GPU; optional.
	Parity *ParityRef
}

// ParityRef names the instance type whose on-demand price per GPU is the
// most the user will pay per GPU.
type ParityRef struct {
	InstanceType string  `json:"instance_type"`
	OnDemand     float64 `json:"on_demand_usd_per_hour"`
	GPUCount     int     `json:"gpu_count"`
}

// ParityCap is the max price that pays per GPU what ParityRef's type
// costs on demand per GPU.
type ParityCap struct {
	ParityRef
	PerGPU   float64 `json:"per_gpu_usd_per_hour"`
	MaxPrice float64 `json:"max_price_usd_per_hour"`
	// ProbStaysUnder: forecast probability the price stays at or below
	// the cap for the whole run.
	ProbStaysUnder float64 `json:"prob_stays_under"`
}

// BidResult is the recommended max price.
type BidResult struct {
	Pool             market.PoolKey `json:"pool"`
	RunLengthSeconds float64        `json:"run_length_seconds"`
	Confidence       float64        `json:"confidence"`
	// MaxPrice: the lowest b (USD/h) with P(price <= b for all of D) >= p.
	MaxPrice float64 `json:"max_price_usd_per_hour"`
	// ProbStaysUnder: the forecast probability at MaxPrice (>= p unless
	// CappedAtOnDemand).
	ProbStaysUnder float64 `json:"prob_stays_under"`
	CurrentPrice   float64 `json:"current_price_usd_per_hour,omitempty"`
	OnDemand       float64 `json:"on_demand_usd_per_hour,omitempty"`
	// MaxPriceOnDemandRatio: MaxPrice / OnDemand (0 when unknown).
	MaxPriceOnDemandRatio float64 `json:"max_price_on_demand_ratio,omitempty"`
	// CappedAtOnDemand: the wanted confidence needs a max price above
	// on-demand, which AWS never charges for spot; MaxPrice is on-demand.
	CappedAtOnDemand bool       `json:"capped_at_on_demand"`
	Parity           *ParityCap `json:"parity_cap,omitempty"`
	// Advice says in words what to do with the number.
	Advice  string      `json:"advice"`
	Explain Explanation `json:"explain"`
}

// ErrUnanswerable: the forecast gives no finite max price at the wanted
// confidence (and no on-demand price is known to cap it).
var ErrUnanswerable = errors.New("forecast cannot answer")

// DefaultMaxPriceAdvice is said with every max price.
const DefaultMaxPriceAdvice = "On AWS a max price below the current spot price gets the instance interrupted (or never launched), and since 2017 interruptions are driven by capacity, not by price: the default (no max price, which AWS caps at the on-demand price) is often the right choice. Set this max price only to bound what you pay."

// Bid returns the lowest max price b such that the forecast probability
// that the spot price stays at or below b for all of D is at least p: the
// idea of DrAFTS (Wolski & Brevik 2016, "Probabilistic guarantees of
// execution duration for Amazon spot instances", bounding the price over
// a duration at a confidence), found by bisection on the forecast's
// ExceedProb, which is non-increasing in b.
func Bid(in BidInput, outlook PriceOutlook) (BidResult, error) {
	if outlook == nil {
		return BidResult{}, fmt.Errorf("no price forecast for %s: %w", in.Pool, ErrInvalidInput)
	}
	if in.RunLength <= 0 {
		return BidResult{}, fmt.Errorf("run length must be positive, got %v: %w", in.RunLength, ErrInvalidInput)
	}
	if !(in.Confidence > 0 && in.Confidence < 1) {
		return BidResult{}, fmt.Errorf("confidence must be in (0, 1), got %v: %w", in.Confidence, ErrInvalidInput)
	}
	for name, v := range map[string]float64{"current price": in.CurrentPrice, "on-demand price": in.OnDemand} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return BidResult{}, fmt.Errorf("%s must be a finite non-negative number, got %v: %w", name, v, ErrInvalidInput)
		}
	}
	if in.Parity != nil {
		if in.Parity.OnDemand <= 0 || math.IsNaN(in.Parity.OnDemand) || math.IsInf(in.Parity.OnDemand, 0) || in.Parity.GPUCount <= 0 {
			return BidResult{}, fmt.Errorf("parity type %q: needs a positive on-demand price and GPU count, got %v and %d: %w",
				in.Parity.InstanceType, in.Parity.OnDemand, in.Parity.GPUCount, ErrInvalidInput)
		}
		if in.GPUCount <= 0 {
			return BidResult{}, fmt.Errorf("parity cap for %s: the instance type's GPU count is unknown: %w", in.Pool.InstanceType, ErrInvalidInput)
		}
	}
	exceed := func(b float64) (float64, error) {
		e := outlook.ExceedProb(b, in.RunLength)
		if math.IsNaN(e) || e < 0 || e > 1 {
			return 0, fmt.Errorf("price forecast for %s: ExceedProb(%.6g, %v) = %v, not a probability", in.Pool, b, in.RunLength, e)
		}
		return e, nil
	}
	target := 1 - in.Confidence
	res := BidResult{
		Pool:             in.Pool,
		RunLengthSeconds: in.RunLength.Seconds(),
		Confidence:       in.Confidence,
		CurrentPrice:     in.CurrentPrice,
		OnDemand:         in.OnDemand,
		Advice:           DefaultMaxPriceAdvice,
	}
	notes := []string{}

	// Bracket: hi doubles from the larger of the known prices until the
	// forecast says the price stays under it with probability p.
	hi := math.Max(in.CurrentPrice, in.OnDemand)
	if hi == 0 {
		hi = 0.01
	}
	lo := 0.0
	for i := 0; ; i++ {
		e, err := exceed(hi)
		if err != nil {
			return BidResult{}, err
		}
		if e <= target {
			break
		}
		if in.OnDemand > 0 && hi > 4*in.OnDemand {
			break // capped at on-demand below
		}
		if i == 60 {
			return BidResult{}, fmt.Errorf("price forecast for %s: even %.6g USD/h is exceeded with probability %.3g over %v: %w", in.Pool, hi, e, in.RunLength, ErrUnanswerable)
		}
		lo, hi = hi, 2*hi
	}
	for range 100 {
		if hi-lo <= 1e-6*hi {
			break
		}
		mid := (lo + hi) / 2
		e, err := exceed(mid)
		if err != nil {
			return BidResult{}, err
		}
		if e <= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	// Round up to the 1e-5 USD AWS prices are quoted in.
	res.MaxPrice = math.Ceil(hi*1e5-1e-9) / 1e5
	if in.OnDemand > 0 && res.MaxPrice > in.OnDemand {
		res.CappedAtOnDemand = true
		notes = append(notes, fmt.Sprintf("the forecast needs more than the on-demand price (%.5f USD/h) for %.0f%% confidence; AWS never charges more than on-demand for spot and uses on-demand as the default max price, so the max price is capped there", in.OnDemand, 100*in.Confidence))
		res.MaxPrice = in.OnDemand
	}
	e, err := exceed(res.MaxPrice)
	if err != nil {
		return BidResult{}, err
	}
	res.ProbStaysUnder = 1 - e
	if in.OnDemand > 0 {
		res.MaxPriceOnDemandRatio = res.MaxPrice / in.OnDemand
	} else {
		notes = append(notes, "on-demand price unknown: the max price is not compared with it")
	}
	if in.CurrentPrice > 0 && res.MaxPrice < in.CurrentPrice {
		notes = append(notes, "the recommended max price is below the current spot price: an instance launched with it now would be interrupted or not launched")
	}
	if in.Parity != nil {
		pc := ParityCap{ParityRef: *in.Parity, PerGPU: in.Parity.OnDemand / float64(in.Parity.GPUCount)}
		pc.MaxPrice = pc.PerGPU * float64(in.GPUCount)
		pe, err := exceed(pc.MaxPrice)
		if err != nil {
			return BidResult{}, err
		}
		pc.ProbStaysUnder = 1 - pe
		res.Parity = &pc
		notes = append(notes, fmt.Sprintf("parity cap: %s costs %.5f USD per GPU-hour on demand; x %d GPUs = %.5f USD/h, which the price stays under with probability %.3f over the run",
			pc.InstanceType, pc.PerGPU, in.GPUCount, pc.MaxPrice, pc.ProbStaysUnder))
	}
	res.Explain = Explanation{
		Inputs: map[string]any{
			"pool":                       in.Pool.String(),
			"run_length_seconds":         in.RunLength.Seconds(),
			"confidence":                 in.Confidence,
			"current_price_usd_per_hour": in.CurrentPrice,
			"on_demand_usd_per_hour":     in.OnDemand,
			"gpu_count":                  in.GPUCount,
		},
		Formula: "max price = min { b : 1 - ExceedProb(b, D) >= p }, ExceedProb being the price forecast's probability that the price exceeds b within D; found by bisection to 1e-6 relative, rounded up to 1e-5 USD, capped at on-demand",
		Notes:   notes,
	}
	return res, nil
}
