package hazard

import (
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/market"
)

// The other clouds publish no Spot Instance Advisor, but each says
// something comparable; the functions below turn it into an hourly hazard
// prior mean, playing the part BucketHazard plays for AWS. Each mapping
// rests on the source's own definition of its number, cited, plus (where
// the number is not a rate) one stated assumption.

// azureEvictionWindow is the period Azure's eviction rate refers to:
// "expressed as percentages per hour" (Azure Architecture Center, "Build
// workloads on spot virtual machines", learn.microsoft.com/azure/
// architecture/guide/spot/spot-eviction).
const azureEvictionWindow = time.Hour

// gcpVoluntaryStopsPerHour is the assumed rate at which Spot VMs stop for
// reasons other than preemption (the job finished, the user stopped it):
// once a day. GCP's preemption rate is a share of stops, not a rate per
// hour: "(total preempted Spots) / (total Spots that stopped running)"
// (Compute Engine API, CapacityHistoryResponse.PreemptionRecord). With
// preemption hazard h and voluntary stop rate v, that share is h/(h+v),
// so h = v·p/(1-p). The assumption, not the data, sets the scale.
const gcpVoluntaryStopsPerHour = 1.0 / 24

// maxPreemptionShare caps p so that p/(1-p) stays finite.
const maxPreemptionShare = 0.95

// minHazard keeps a prior mean positive when a source says zero.
const minHazard = 1e-6

// RateHazard turns the share f of instances interrupted within window,
// given as the bucket [lo, hi] (lo = hi for a point value), into a
// constant hourly hazard h = -ln(1-f)/window. A closed bucket stands for
// its midpoint; an open-ended one (hi = 1, e.g. Azure's "20+") for 1.5
// times its lower edge, the convention bucketFreq uses for the advisor's
// ">20%" (30%).
func RateHazard(lo, hi float64, window time.Duration) (float64, error) {
	if math.IsNaN(lo) || math.IsNaN(hi) || lo < 0 || hi > 1 || hi < lo || window <= 0 {
		return 0, fmt.Errorf("interruption share [%v, %v] per %s: want 0 <= lo <= hi <= 1", lo, hi, window)
	}
	f := (lo + hi) / 2
	if hi >= 1 && lo > 0 {
		f = math.Min(1.5*lo, 0.99)
	}
	f = math.Min(f, 0.99)
	return math.Max(-math.Log1p(-f)/window.Hours(), minHazard), nil
}

// PreemptionShareHazard turns GCP's preemption rate p (preempted over all
// stopped Spot VMs) into an hourly hazard under gcpVoluntaryStopsPerHour.
func PreemptionShareHazard(p float64) (float64, error) {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("preemption rate %v: want 0-1", p)
	}
	p = math.Min(p, maxPreemptionShare)
	return math.Max(gcpVoluntaryStopsPerHour*p/(1-p), minHazard), nil
}

// UptimeHazard turns GCP's estimated uptime ("the estimated run time of
// the majority of Spot VMs in the request before preemption", Compute
// Engine API, CapacityAdviceResponse.RecommendationScores) into an hourly
// hazard: read as the median lifetime T of a constant hazard, h = ln 2/T.
func UptimeHazard(hours float64) (float64, error) {
	if math.IsNaN(hours) || math.IsInf(hours, 0) || hours <= 0 {
		return 0, fmt.Errorf("estimated uptime %v h: want a positive duration", hours)
	}
	return math.Max(math.Ln2/hours, minHazard), nil
}

// ObtainabilityMultiplier scales a prior by GCP's obtainability (0-1,
// "the likelihood of successfully obtaining the requested number of VMs")
// the way ScoreMultiplier scales it by AWS's placement score, which means
// the same thing on a 1-10 scale: a factor 2 either side, log-linear
// (0: ×2, 0.5: ×1, 1: ×0.5). The same stated assumption.
func ObtainabilityMultiplier(o float64) (float64, error) {
	if math.IsNaN(o) || o < 0 || o > 1 {
		return 0, fmt.Errorf("obtainability %v: want 0-1", o)
	}
	return math.Exp2((0.5 - o) / 0.5), nil
}

// NormalizedScore maps a placement score given on a 1..scaleMax scale
// onto AWS's 1-10 (scaleMax 0 means 10), linearly, so ScoreMultiplier
// can weigh it: single-type scores AWS capped at 3 (see
// market.PlacementScore.ScaleMax) then span the range instead of all
// reading as poor. A capped 3 is the best such a request can get, not a
// 10 on the full scale; the mapping says only where it sits in its own.
func NormalizedScore(score, scaleMax int) (int, error) {
	if scaleMax == 0 {
		scaleMax = 10
	}
	if scaleMax < 2 || scaleMax > 10 || score < 1 || score > scaleMax {
		return 0, fmt.Errorf("placement score %d on a 1-%d scale: out of range", score, scaleMax)
	}
	return int(math.Round(1 + 9*float64(score-1)/float64(scaleMax-1))), nil
}

// CloudPrior is a hazard prior mean from another cloud's public signal,
// with how it was made.
type CloudPrior struct {
	Hazard float64 // per instance-hour
	Desc   string
	Signal market.CapacitySignal
}

// SignalHazard is the hourly hazard one interruption signal stands for:
// an Azure eviction-rate bucket, a GCP preemption rate or estimated
// uptime. Obtainability is not an interruption rate (see
// ObtainabilityMultiplier); other kinds are errors.
func SignalHazard(s market.CapacitySignal) (CloudPrior, error) {
	var h float64
	var err error
	var how string
	switch s.Kind {
	case market.SignalEvictionRate:
		h, err = RateHazard(s.Value, s.ValueHigh, azureEvictionWindow)
		how = fmt.Sprintf("Azure eviction rate %s%%/h", s.Label)
	case market.SignalPreemptionRate:
		h, err = PreemptionShareHazard(s.Value)
		how = fmt.Sprintf("GCP preemption rate %.3g of stops (%s .. %s), voluntary stops assumed %.3g/h",
			s.Value, s.Start.Format("2006-01-02"), s.Time.Format("2006-01-02"), gcpVoluntaryStopsPerHour)
	case market.SignalEstimatedUptime:
		h, err = UptimeHazard(s.Value)
		how = fmt.Sprintf("GCP estimated uptime %.3g h as a median lifetime", s.Value)
	default:
		return CloudPrior{}, fmt.Errorf("signal kind %q is not an interruption rate", s.Kind)
	}
	if err != nil {
		return CloudPrior{}, err
	}
	where := s.Region
	if s.Zone != "" {
		where = s.Zone
	}
	return CloudPrior{Hazard: h, Signal: s,
		Desc: fmt.Sprintf("%s (%s %s %s, %s) -> %.3g/h", how, s.Cloud, where, s.InstanceType, s.Time.Format("2006-01-02"), h)}, nil
}

// signalRank orders the kinds by how directly they speak of the hazard:
// an uptime estimate for the present, then measured preemptions, then
// Azure's bucket.
var signalRank = map[string]int{market.SignalEstimatedUptime: 0, market.SignalPreemptionRate: 1, market.SignalEvictionRate: 2}

// PickCloudPrior chooses, among a pool's signals (storage's
// CapacitySignals for its cloud, region and type), the one that speaks
// most directly about the pool in zone at now: its zone over its region,
// then by kind (signalRank), then the smallest stated target capacity
// (a single instance's outlook), then the newest. Signals after now, or
// for another zone, are ignored, except for a region-level pool (zone
// ""): it spans its region's zones, so a zone's signal stands for it
// when the region has none. ok is false when none is usable.
func PickCloudPrior(signals []market.CapacitySignal, zone string, now time.Time) (CloudPrior, bool) {
	var best *market.CapacitySignal
	key := func(s *market.CapacitySignal) [3]int {
		return [3]int{zoneRank(s.Zone, zone), signalRank[s.Kind], s.TargetCapacity}
	}
	for i := range signals {
		s := &signals[i]
		if _, ok := signalRank[s.Kind]; !ok || s.Time.After(now) || !zoneSpeaks(s.Zone, zone) {
			continue
		}
		if best == nil {
			best = s
			continue
		}
		a, b := key(s), key(best)
		if a != b {
			if a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && a[2] < b[2]) {
				best = s
			}
			continue
		}
		if s.Time.After(best.Time) {
			best = s
		}
	}
	if best == nil {
		return CloudPrior{}, false
	}
	p, err := SignalHazard(*best)
	if err != nil {
		return CloudPrior{}, false
	}
	return p, true
}

// zoneSpeaks says whether a signal for signalZone ("" the region) speaks
// about a pool in zone ("" a region-level pool).
func zoneSpeaks(signalZone, zone string) bool {
	return signalZone == "" || zone == "" || signalZone == zone
}

// zoneRank orders the signals that speak about a pool in zone: its own
// zone's, then the region's, then (for a region-level pool) a zone's.
func zoneRank(signalZone, zone string) int {
	switch {
	case zone != "" && signalZone == zone:
		return 0
	case signalZone == "":
		return 1
	}
	return 2
}

// PickObtainability chooses, among a pool's signals, the GCP
// obtainability that speaks most directly about the pool in zone at now,
// in PickCloudPrior's order: by zone (zoneRank), the smallest stated
// target capacity, then the newest. nil when there is none.
func PickObtainability(signals []market.CapacitySignal, zone string, now time.Time) *market.CapacitySignal {
	var best *market.CapacitySignal
	key := func(s *market.CapacitySignal) [2]int {
		return [2]int{zoneRank(s.Zone, zone), s.TargetCapacity}
	}
	for i := range signals {
		s := &signals[i]
		if s.Kind != market.SignalObtainability || s.Time.After(now) || !zoneSpeaks(s.Zone, zone) {
			continue
		}
		if best == nil {
			best = s
			continue
		}
		a, b := key(s), key(best)
		if a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && s.Time.After(best.Time)) {
			best = s
		}
	}
	return best
}
