package hazard

import (
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

// AdvisorOS maps a product description to the advisor's OS column: the
// advisor has only Linux and Windows; "" lets the store prefer Linux.
func AdvisorOS(product string) string {
	switch {
	case product == "":
		return ""
	case strings.Contains(strings.ToLower(product), "windows"):
		return "Windows"
	default:
		return "Linux"
	}
}

// PickScore chooses the placement score that speaks most directly about
// the pool in zone: its zone over its region, a request for fewer types
// over more, then the newest; scores after now are not known yet, and
// scores for other zones say nothing of this one.
func PickScore(scores []market.PlacementScore, zone string, now time.Time) *market.PlacementScore {
	var best *market.PlacementScore
	rank := func(p market.PlacementScore) (int, int) {
		z := 2
		switch {
		case zone != "" && p.Zone == zone:
			z = 0
		case p.Zone == "":
			z = 1
		}
		return z, len(p.InstanceTypes)
	}
	for i, p := range scores {
		if p.Time.After(now) || (p.Zone != "" && p.Zone != zone) {
			continue
		}
		if best == nil {
			best = &scores[i]
			continue
		}
		z1, n1 := rank(p)
		z0, n0 := rank(*best)
		if z1 < z0 || (z1 == z0 && (n1 < n0 || (n1 == n0 && p.Time.After(best.Time)))) {
			best = &scores[i]
		}
	}
	return best
}

// EvidenceAge checks opts and returns the evidence window they resolve
// to (Options.MaxAge or its default): how far back a caller reading the
// inputs of Estimate must read events.
func (o Options) EvidenceAge() (time.Duration, error) {
	d, err := o.withDefaults()
	return d.MaxAge, err
}
