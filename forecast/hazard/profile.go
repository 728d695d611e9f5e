package hazard

import (
	"time"

	"github.com/spotcast/spotcast/market"
)

// HoursPerWeek is the length of the weekly profile and of the default
// forecast.
const HoursPerWeek = 168

// Profile is the hazard's weekly shape: one multiplier per hour of the
// week in UTC, index 0 = Monday 00:00-01:00, averaging 1 over the week. A
// nil *Profile is flat (every multiplier 1).
type Profile [HoursPerWeek]float64

// HourOfWeek is t's index into a Profile.
func HourOfWeek(t time.Time) int {
	t = t.UTC()
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

// At is the multiplier in effect at t.
func (p *Profile) At(t time.Time) float64 {
	if p == nil {
		return 1
	}
	return p[HourOfWeek(t)]
}

// ProfileOptions tune EstimateProfile. Zero fields take the defaults.
type ProfileOptions struct {
	// Shrinkage is the Gamma(κ, κ) prior's κ on each hour's multiplier,
	// in pseudo-events (default 10): an hour needs well over κ events of
	// its own before it moves far from 1.
	Shrinkage float64
	// MinEvents: with fewer interruptions in total the profile is flat
	// (default 30).
	MinEvents int
	// MaxAge drops older data (default 90 days).
	MaxAge time.Duration
}

// ProfileStats says what a profile was estimated from.
type ProfileStats struct {
	Pools         int     `json:"pools"`
	Events        int     `json:"events"`
	ExposureHours float64 `json:"exposure_hours"`
	Flat          bool    `json:"flat"` // too little data: the profile is flat
}

// EstimateProfile estimates the weekly hazard profile from the events of
// many pools before now (grouped by cloud, zone and instance type).
//
// Each hour of the week k has n_k interruptions in exposure E_k
// instance-hours; with the overall rate r = Σn/ΣE, the multiplier's
// posterior mean under a Gamma(κ, κ) prior (mean 1) is
//
//	m_k = (n_k + κ) / (r·E_k + κ),
//
// the Poisson-Gamma shrinkage of relative risks of Clayton & Kaldor (1987),
// "Empirical Bayes estimates of age-standardized relative risks for use in
// disease mapping", Biometrics 43(3), eq. 6 (with r treated as known).
// The multipliers are then smoothed with a circular 5-hour triangular
// kernel, since neighbouring hours share capacity conditions, and scaled
// to average 1.
func EstimateProfile(events []market.Event, now time.Time, o ProfileOptions) (Profile, ProfileStats) {
	if o.Shrinkage <= 0 {
		o.Shrinkage = 10
	}
	if o.MinEvents <= 0 {
		o.MinEvents = 30
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 90 * 24 * time.Hour
	}
	var n, e [HoursPerWeek]float64
	var st ProfileStats
	for _, evs := range groupByPool(events) {
		h := replay(evs, now, 0)
		if h.implicit {
			// Without real exposure the hour-of-week split of the
			// exposure would be invented.
			continue
		}
		st.Pools++
		cutoff := now.Add(-o.MaxAge)
		for _, s := range h.spans {
			start := s.start
			if start.Before(cutoff) {
				start = cutoff
			}
			for t := start; t.Before(s.end); {
				next := t.Truncate(time.Hour).Add(time.Hour)
				if next.After(s.end) {
					next = s.end
				}
				e[HourOfWeek(t)] += s.n * next.Sub(t).Hours()
				t = next
			}
		}
		for _, x := range h.hits {
			if x.rebalance || x.t.Before(cutoff) {
				continue
			}
			n[HourOfWeek(x.t)] += x.w
			st.Events += int(x.w)
		}
	}
	var sn, se float64
	for k := range n {
		sn += n[k]
		se += e[k]
	}
	st.ExposureHours = se
	var p Profile
	if st.Events < o.MinEvents || se <= 0 {
		for k := range p {
			p[k] = 1
		}
		st.Flat = true
		return p, st
	}
	r := sn / se
	var raw Profile
	for k := range raw {
		raw[k] = (n[k] + o.Shrinkage) / (r*e[k] + o.Shrinkage)
	}
	kernel := []float64{1, 2, 3, 2, 1}
	var sum float64
	for k := range p {
		var v, w float64
		for j, kw := range kernel {
			v += kw * raw[(k+j-2+HoursPerWeek)%HoursPerWeek]
			w += kw
		}
		p[k] = v / w
		sum += p[k]
	}
	for k := range p {
		p[k] *= HoursPerWeek / sum
	}
	return p, st
}

// poolOf is the pool an event belongs to, for grouping.
type poolOf struct{ cloud, region, zone, typ string }

func groupByPool(events []market.Event) map[poolOf][]market.Event {
	g := map[poolOf][]market.Event{}
	for _, e := range events {
		k := poolOf{e.Cloud, e.Region, e.Zone, e.InstanceType}
		g[k] = append(g[k], e)
	}
	return g
}
