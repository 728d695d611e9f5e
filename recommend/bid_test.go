package recommend

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"gonum.org/v1/gonum/stat/distuv"
)

// bmOutlook: the log price is a driftless Brownian motion from log(p0)
// with volatility sigma per sqrt(hour). By the reflection principle
// P(max over T > b) = 2 (1 - Φ(log(b/p0) / (σ sqrt(T)))) for b > p0.
type bmOutlook struct{ p0, sigma float64 }

func (o bmOutlook) ExceedProb(b float64, d time.Duration) float64 {
	if b <= o.p0 {
		return 1
	}
	return 2 * (1 - distuv.UnitNormal.CDF(math.Log(b/o.p0)/(o.sigma*math.Sqrt(d.Hours()))))
}

type funcOutlook func(b float64, d time.Duration) float64

func (f funcOutlook) ExceedProb(b float64, d time.Duration) float64 { return f(b, d) }

var testPool = market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "g5.12xlarge", Product: "Linux/UNIX"}

func TestBidKnownAnswers(t *testing.T) {
	o := bmOutlook{p0: 2, sigma: 0.02}
	tests := []struct {
		p float64
		d time.Duration
	}{
		{0.9, time.Hour}, {0.95, 8 * time.Hour}, {0.99, 24 * time.Hour}, {0.99, 7 * 24 * time.Hour}, {0.5, time.Hour},
	}
	for _, tt := range tests {
		want := 2 * math.Exp(0.02*math.Sqrt(tt.d.Hours())*distuv.UnitNormal.Quantile(1-(1-tt.p)/2))
		res, err := Bid(BidInput{Pool: testPool, RunLength: tt.d, Confidence: tt.p, CurrentPrice: 2, OnDemand: 5.672}, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxPrice < want-1e-9 || res.MaxPrice > want+2e-5 {
			t.Errorf("p=%v D=%v: max price %.6f, want %.6f (rounded up to 1e-5)", tt.p, tt.d, res.MaxPrice, want)
		}
		if res.ProbStaysUnder < tt.p-1e-9 {
			t.Errorf("p=%v D=%v: prob stays under %.6f < p", tt.p, tt.d, res.ProbStaysUnder)
		}
		if math.Abs(res.MaxPriceOnDemandRatio-res.MaxPrice/5.672) > 1e-12 || res.CappedAtOnDemand {
			t.Errorf("ratio %v capped %v", res.MaxPriceOnDemandRatio, res.CappedAtOnDemand)
		}
		if !strings.Contains(res.Advice, "below the current spot price") || !strings.Contains(res.Advice, "no max price") {
			t.Errorf("advice does not warn plainly: %q", res.Advice)
		}
	}
}

func TestBidCapsAndParity(t *testing.T) {
	o := bmOutlook{p0: 4, sigma: 0.2}
	// g5.12xlarge (4 GPUs) capped at p3.2xlarge's on-demand per GPU (3.06, 1 GPU).
	res, err := Bid(BidInput{Pool: testPool, RunLength: 24 * time.Hour, Confidence: 0.99, CurrentPrice: 4, OnDemand: 5.672, GPUCount: 4,
		Parity: &ParityRef{InstanceType: "p3.2xlarge", OnDemand: 3.06, GPUCount: 1}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CappedAtOnDemand || res.MaxPrice != 5.672 || res.MaxPriceOnDemandRatio != 1 {
		t.Errorf("want capped at on-demand, got %+v", res)
	}
	if want := 1 - o.ExceedProb(5.672, 24*time.Hour); math.Abs(res.ProbStaysUnder-want) > 1e-12 || res.ProbStaysUnder >= 0.99 {
		t.Errorf("prob stays under %v, want %v (< p)", res.ProbStaysUnder, want)
	}
	if res.Parity == nil || math.Abs(res.Parity.MaxPrice-12.24) > 1e-9 || res.Parity.PerGPU != 3.06 {
		t.Fatalf("parity %+v, want 4 x 3.06", res.Parity)
	}
	if want := 1 - o.ExceedProb(12.24, 24*time.Hour); math.Abs(res.Parity.ProbStaysUnder-want) > 1e-12 {
		t.Errorf("parity prob %v, want %v", res.Parity.ProbStaysUnder, want)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func TestBidBadInput(t *testing.T) {
	o := bmOutlook{p0: 1, sigma: 0.05}
	ok := BidInput{Pool: testPool, RunLength: time.Hour, Confidence: 0.9, CurrentPrice: 1, OnDemand: 3, GPUCount: 4}
	tests := []struct {
		name    string
		mut     func(*BidInput)
		outlook PriceOutlook
		target  error
		msg     string
	}{
		{"p = 0", func(in *BidInput) { in.Confidence = 0 }, o, ErrInvalidInput, "confidence"},
		{"p = 1", func(in *BidInput) { in.Confidence = 1 }, o, ErrInvalidInput, "confidence"},
		{"p NaN", func(in *BidInput) { in.Confidence = math.NaN() }, o, ErrInvalidInput, "confidence"},
		{"zero run", func(in *BidInput) { in.RunLength = 0 }, o, ErrInvalidInput, "run length"},
		{"negative run", func(in *BidInput) { in.RunLength = -time.Hour }, o, ErrInvalidInput, "run length"},
		{"negative on-demand", func(in *BidInput) { in.OnDemand = -1 }, o, ErrInvalidInput, "on-demand"},
		{"no forecast", func(*BidInput) {}, nil, ErrInvalidInput, "no price forecast"},
		{"parity without GPUs", func(in *BidInput) { in.Parity = &ParityRef{InstanceType: "p3.2xlarge", OnDemand: 3.06} }, o, ErrInvalidInput, "parity type"},
		{"parity, own GPUs unknown", func(in *BidInput) {
			in.GPUCount = 0
			in.Parity = &ParityRef{InstanceType: "p3.2xlarge", OnDemand: 3.06, GPUCount: 1}
		}, o, ErrInvalidInput, "GPU count is unknown"},
		{"NaN forecast", func(*BidInput) {}, funcOutlook(func(float64, time.Duration) float64 { return math.NaN() }), nil, "not a probability"},
		{"never under, no on-demand", func(in *BidInput) { in.OnDemand = 0 }, funcOutlook(func(float64, time.Duration) float64 { return 1 }), ErrUnanswerable, "exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.mut(&in)
			_, err := Bid(in, tt.outlook)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("err = %v, want %v", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestBidNoNaN: random valid inputs give finite, JSON-encodable answers
// that meet the confidence unless capped.
func TestBidNoNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		o := bmOutlook{p0: math.Exp(rng.NormFloat64() * 3), sigma: math.Exp(rng.NormFloat64() - 3)}
		in := BidInput{
			Pool: testPool, RunLength: time.Duration(1+rng.IntN(24*14)) * time.Hour,
			Confidence: 0.001 + 0.998*rng.Float64(), CurrentPrice: []float64{0, o.p0}[rng.IntN(2)],
			OnDemand: []float64{0, o.p0 * (1 + 5*rng.Float64())}[rng.IntN(2)],
		}
		res, err := Bid(in, o)
		if err != nil {
			t.Fatalf("case %d %+v: %v", i, in, err)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !res.CappedAtOnDemand && res.ProbStaysUnder < in.Confidence-1e-9 {
			t.Fatalf("case %d %+v: prob %v < p", i, in, res.ProbStaysUnder)
		}
		if !(res.MaxPrice > 0) {
			t.Fatalf("case %d: max price %v", i, res.MaxPrice)
		}
	}
}
