package hazard

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// HoursPerMonth converts a monthly interruption frequency into an hourly
// hazard (365.25·24/12 ≈ 730).
const HoursPerMonth = 730.0

// bucketFreq is the monthly interruption frequency the Spot Instance
// Advisor's bucket stands for: the midpoint of each bucket's range (<5%,
// 5-10%, 10-15%, 15-20%), and 30% for the open-ended ">20%" bucket, which
// the advisor's own feed caps at 100 ("ranges": {"max": 100}).
var bucketFreq = [5]float64{0.025, 0.075, 0.125, 0.175, 0.30}

// bucketLabel is the advisor's own label of each bucket.
var bucketLabel = [5]string{"<5%", "5-10%", "10-15%", "15-20%", ">20%"}

// DefaultBucket is assumed when no advisor row is known: the middle bucket,
// with the prior's width (Options.PriorSpread) doing the rest.
const DefaultBucket = 2

// BucketHazard turns an advisor bucket into an hourly hazard. The advisor
// reports the share f of instances interrupted over the trailing month; an
// instance watched for a month under a constant hazard h is interrupted
// with probability f = 1 - exp(-730·h), so h = -ln(1-f)/730.
func BucketHazard(bucket int) (float64, error) {
	if bucket < 0 || bucket >= len(bucketFreq) {
		return 0, fmt.Errorf("advisor bucket %d: want 0-4", bucket)
	}
	return -math.Log1p(-bucketFreq[bucket]) / HoursPerMonth, nil
}

// ScoreMultiplier scales the prior hazard by the Spot Placement Score
// (1-10). AWS documents the score only as the likelihood that a request
// succeeds, not as an interruption rate, so the mapping is a stated
// assumption kept deliberately mild: a factor 2 either side of the middle,
// log-linear in the score (score 1: ×2, 5.5: ×1, 10: ×0.5).
func ScoreMultiplier(score int) (float64, error) {
	if score < 1 || score > 10 {
		return 0, fmt.Errorf("placement score %d: want 1-10", score)
	}
	return math.Exp2((5.5 - float64(score)) / 4.5), nil
}

// PressureMultiplier scales the prior hazard by price pressure r = spot
// price / on-demand price. Since 2017 AWS moves spot prices with spare
// capacity, so a price near on-demand signals a tight pool. Below r = 0.5
// (the usual 50-90% discount) there is no adjustment; above it the factor
// rises quadratically to ×3 at r = 1 and is capped there (r above 1 is
// clamped to 1). A stated assumption, not a fitted model.
func PressureMultiplier(r float64) (float64, error) {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return 0, fmt.Errorf("price pressure %v: want a finite ratio ≥ 0", r)
	}
	if r <= 0.5 {
		return 1, nil
	}
	x := (math.Min(r, 1) - 0.5) / 0.5
	return 1 + 2*x*x, nil
}

// prior is the prior on the hazard scale λ and how it was built.
type prior struct {
	mean float64 // prior mean hazard per instance-hour
	mix  mixture
	desc string
	// source and time: the signals' sources and newest data time
	// (Forecast.PriorSource, PriorTime).
	source string
	time   time.Time
}

// Ladder of the prior mixture: component means spaced a quarter decade
// apart from 1e-7 to 100 per instance-hour, each a Gamma with shape
// ladderShape, whose log-scale spread (≈ 1/√α = 0.58) matches the spacing
// (ln 10/4 = 0.58), so the mixture is smooth in log λ.
const (
	ladderMinLog10 = -7.0
	ladderMaxLog10 = 2.0
	ladderStep     = 0.25
	ladderShape    = 3.0
)

// newPrior builds the prior mixture: a discretised log-normal on λ whose
// mean is mean and whose log-scale standard deviation is spread. Weights
// are the normal density of ln λ_k around c = ln(mean) - spread²/2, the
// centre that makes the log-normal's mean equal mean. The ladder spans
// nine decades whatever the prior says, so observed events can move the
// posterior far from the advisor's figure when they disagree with it (the
// skypilot traces show hazards hundreds of times the advisor's).
func newPrior(mean, spread float64) mixture {
	c := math.Log(mean) - spread*spread/2
	var m mixture
	for l := ladderMinLog10; l <= ladderMaxLog10+1e-9; l += ladderStep {
		mu := math.Pow(10, l)
		z := (math.Log(mu) - c) / spread
		m = append(m, Component{Weight: -z * z / 2, Shape: ladderShape, Rate: ladderShape / mu})
	}
	maxw := math.Inf(-1)
	for _, k := range m {
		maxw = math.Max(maxw, k.Weight)
	}
	var sum float64
	for i := range m {
		m[i].Weight = math.Exp(m[i].Weight - maxw)
		sum += m[i].Weight
	}
	for i := range m {
		m[i].Weight /= sum
	}
	return m.prune()
}

// buildPrior combines the advisor bucket (or, for another cloud, its own
// signal), the placement score (or GCP's obtainability) and the price
// pressure into the prior mean, and describes how.
func buildPrior(in Inputs, o Options) (prior, error) {
	var pr prior
	srcs := map[string]bool{}
	used := func(source string, t time.Time) {
		if source == "" {
			source = "unrecorded" // a signal stored without its source: known, not assumed
		}
		srcs[source] = true
		if t.After(pr.time) {
			pr.time = t
		}
	}
	var h float64
	var desc string
	switch {
	case in.CloudPrior != nil:
		h, desc = in.CloudPrior.Hazard, in.CloudPrior.Desc
		if !(h > 0) || math.IsInf(h, 0) {
			return prior{}, fmt.Errorf("cloud prior hazard %v: want a positive rate", h)
		}
		used(in.CloudPrior.Signal.Source, in.CloudPrior.Signal.Time)
	default:
		bucket := DefaultBucket
		if in.Advisor != nil {
			bucket = in.Advisor.Bucket
		}
		var err error
		if h, err = BucketHazard(bucket); err != nil {
			return prior{}, err
		}
		if a := in.Advisor; a != nil {
			desc = fmt.Sprintf("advisor bucket %d (%s/month, %s %s %s", bucket, bucketLabel[bucket], a.Region, a.OS, a.InstanceType)
			if !a.Snapshot.IsZero() {
				desc += " " + a.Snapshot.Format("2006-01-02")
			}
			desc += fmt.Sprintf(") -> %.3g/h", h)
			used(a.Source, a.Snapshot)
		} else {
			desc = fmt.Sprintf("no advisor row: bucket %d (%s/month) assumed -> %.3g/h", bucket, bucketLabel[bucket], h)
			if in.Pool.Cloud != "" && in.Pool.Cloud != market.AWS {
				desc = fmt.Sprintf("no %s interruption signal: AWS advisor bucket %d (%s/month) assumed -> %.3g/h", in.Pool.Cloud, bucket, bucketLabel[bucket], h)
			}
		}
	}
	mean := h
	if s := in.Score; s != nil {
		// A score capped at 3 (single-type requests) is read on its own
		// scale before it weighs the prior.
		n, err := NormalizedScore(s.Score, s.ScaleMax)
		if err != nil {
			return prior{}, err
		}
		f, err := ScoreMultiplier(n)
		if err != nil {
			return prior{}, err
		}
		mean *= f
		if s.ScaleMax != 0 && s.ScaleMax != 10 {
			desc += fmt.Sprintf("; placement score %d of %d (%d of 10) x%.2f", s.Score, s.ScaleMax, n, f)
		} else {
			desc += fmt.Sprintf("; placement score %d x%.2f", s.Score, f)
		}
		used(s.Source, s.Time)
	}
	if ob := in.Obtainability; ob != nil {
		f, err := ObtainabilityMultiplier(ob.Value)
		if err != nil {
			return prior{}, err
		}
		mean *= f
		desc += fmt.Sprintf("; GCP obtainability %.2g (%s) x%.2f", ob.Value, ob.Time.Format("2006-01-02"), f)
		used(ob.Source, ob.Time)
	}
	r := in.PricePressure
	if r == 0 && in.SpotPrice > 0 && in.OnDemand > 0 {
		r = in.SpotPrice / in.OnDemand
	}
	if r != 0 {
		f, err := PressureMultiplier(r)
		if err != nil {
			return prior{}, err
		}
		mean *= f
		desc += fmt.Sprintf("; price pressure %.2f x%.2f", r, f)
	}
	desc += fmt.Sprintf("; prior mean %.3g/h, log-normal spread %.2g", mean, o.PriorSpread)
	pr.mean, pr.mix, pr.desc = mean, newPrior(mean, o.PriorSpread), desc
	pr.source = "assumed"
	if len(srcs) > 0 {
		list := make([]string, 0, len(srcs))
		for s := range srcs {
			list = append(list, s)
		}
		sort.Strings(list)
		pr.source = strings.Join(list, ",")
	}
	return pr, nil
}

// AdvisorHazard is the advisor-only hazard of a row (nil: the default
// bucket), without any other signal: the baseline EvaluateTraces compares
// against.
func AdvisorHazard(a *market.AdvisorRow) (float64, error) {
	if a == nil {
		return BucketHazard(DefaultBucket)
	}
	return BucketHazard(a.Bucket)
}
