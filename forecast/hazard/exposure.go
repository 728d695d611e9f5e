package hazard

import (
	"math"
	"sort"
	"time"

	"github.com/spotcast/spotcast/market"
)

// span is an interval during which n instances of a pool were running and
// watched.
type span struct {
	start, end time.Time
	n          float64
}

// hit is an observed interruption (weight = instances lost) or a
// rebalance recommendation (weight = Options.RebalanceWeight).
type hit struct {
	t         time.Time
	w         float64
	rebalance bool
}

// history is what a pool's events say: when instances ran, and when they
// were interrupted.
type history struct {
	spans         []span
	hits          []hit
	interruptions int // instances interrupted (warnings and preemptions, deduplicated)
	rebalances    int // rebalance recommendations counted as partial events
	skipped       int // events of an unknown kind or without a time
	implicit      bool
}

// Windows within which two signals about one instance are one event.
const (
	// A preemption observed within this long after an interruption
	// warning for the same instance is the same interruption.
	warnDedup = 10 * time.Minute
	// A rebalance recommendation followed by an interruption of the same
	// instance within this long is not counted separately: the
	// interruption already carries what it said.
	rebalanceLink = 6 * time.Hour
)

// replay turns a pool's events into exposure spans and interruptions,
// using only events strictly before until (no look-ahead).
//
// Exposure is counted from the events alone:
//   - observation-start sets the number of running instances to Count
//     (0 allowed) and starts the watch; observation-end stops it. When
//     they name an instance they bracket that one instance instead: start
//     adds Count (at least 1) running instances, end removes them, and the
//     watch lasts while any runs;
//   - launched adds Count (at least 1) running instances; capacity sets the
//     running count to Count; both imply the pool is watched. A capacity
//     drop while watched is read as losing the nodes that are no longer
//     available (an availability trace read as a fleet that holds every
//     node it can get): an interruption of the difference;
//   - preempted and interruption-warning each end Count (at least 1)
//     instances and count as interruptions; a preemption of the same
//     instance within 10 minutes after its warning is the same event;
//   - rebalance-recommendation is a weaker signal: AWS sends it when an
//     instance is at elevated risk, and not every one is followed by an
//     interruption. It counts as rebalanceWeight of an interruption
//     (default 0.25) and ends no instance; when the same instance is
//     interrupted within 6 hours afterwards (and before until), the
//     interruption alone is counted.
//   - an interruption while the watched pool has nothing running is
//     inconsistent and skipped (counted in skipped).
//
// Events that never say how many instances ran (EventBridge warnings with no
// launches or observation brackets) get the minimum exposure consistent
// with them: one instance running from the first event to until. That
// understates exposure, so the rate it implies errs high.
func replay(events []market.Event, until time.Time, rebalanceWeight float64) history {
	evs := make([]market.Event, 0, len(events))
	var h history
	for _, e := range events {
		if e.Time.IsZero() {
			h.skipped++
			continue
		}
		if !e.Time.Before(until) {
			continue
		}
		evs = append(evs, e)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })

	// Interruption times per instance, to link rebalances and warnings.
	interruptedAt := map[string][]time.Time{}
	watched := false
	for _, e := range evs {
		switch e.Kind {
		case market.EventInterruptionWarning, market.EventPreempted:
			if e.InstanceID != "" {
				interruptedAt[e.InstanceID] = append(interruptedAt[e.InstanceID], e.Time)
			}
		case market.EventObservationStart, market.EventLaunched, market.EventCapacity:
			watched = true
		}
	}

	var (
		running   float64
		watching  bool
		since     time.Time
		lastWarn  = map[string]time.Time{}
		firstTime time.Time
	)
	closeSpan := func(t time.Time) {
		if watching && running > 0 && t.After(since) {
			h.spans = append(h.spans, span{start: since, end: t, n: running})
		}
		since = t
	}
	for _, e := range evs {
		if firstTime.IsZero() {
			firstTime = e.Time
		}
		k := float64(max(e.Count, 1))
		switch e.Kind {
		case market.EventObservationStart:
			closeSpan(e.Time)
			watching = true
			if e.InstanceID != "" {
				// One instance's watch starts (a fleet reports one
				// bracket per instance).
				running += k
			} else {
				running = float64(max(e.Count, 0))
			}
		case market.EventObservationEnd:
			closeSpan(e.Time)
			if e.InstanceID != "" {
				running = math.Max(0, running-k)
				watching = running > 0
			} else {
				watching = false
				running = 0
			}
		case market.EventLaunched:
			closeSpan(e.Time)
			watching = true
			running += k
		case market.EventCapacity:
			closeSpan(e.Time)
			c := float64(max(e.Count, 0))
			if watching && c < running {
				h.hits = append(h.hits, hit{t: e.Time, w: running - c})
				h.interruptions += int(running - c)
			}
			watching = true
			running = c
		case market.EventInterruptionWarning:
			if watched && running <= 0 {
				// Nothing was running to interrupt: inconsistent data.
				h.skipped++
				continue
			}
			closeSpan(e.Time)
			if e.InstanceID != "" {
				lastWarn[e.InstanceID] = e.Time
			}
			h.hits = append(h.hits, hit{t: e.Time, w: k})
			h.interruptions += int(k)
			running = math.Max(0, running-k)
		case market.EventPreempted:
			if t, ok := lastWarn[e.InstanceID]; ok && e.InstanceID != "" && e.Time.Sub(t) <= warnDedup {
				delete(lastWarn, e.InstanceID)
				continue
			}
			if watched && running <= 0 {
				h.skipped++
				continue
			}
			closeSpan(e.Time)
			h.hits = append(h.hits, hit{t: e.Time, w: k})
			h.interruptions += int(k)
			running = math.Max(0, running-k)
		case market.EventRebalance:
			if linked(interruptedAt[e.InstanceID], e.Time) {
				continue
			}
			if rebalanceWeight > 0 {
				h.hits = append(h.hits, hit{t: e.Time, w: rebalanceWeight, rebalance: true})
				h.rebalances++
			}
		default:
			h.skipped++
		}
	}
	closeSpan(until)
	if !watched && len(h.hits) > 0 {
		// Minimum exposure: one instance from the first event to until.
		h.implicit = true
		h.spans = []span{{start: firstTime, end: until, n: 1}}
	}
	return h
}

// linked reports whether an interruption follows t within rebalanceLink.
func linked(ts []time.Time, t time.Time) bool {
	for _, u := range ts {
		if u.After(t) && u.Sub(t) <= rebalanceLink {
			return true
		}
	}
	return false
}

// evidence is a history reduced to the Gamma-Poisson sufficient
// statistics: the (weighted) interruption count and the exposure in
// instance-hours at profile multiplier 1.
type evidence struct {
	n, e       float64 // discounted, profile-weighted
	rawN       int     // interruptions, undiscounted
	rawE       float64 // instance-hours, undiscounted
	rebalances int
}

func (ev *evidence) add(o evidence) {
	ev.n += o.n
	ev.e += o.e
	ev.rawN += o.rawN
	ev.rawE += o.rawE
	ev.rebalances += o.rebalances
}

// weigh reduces h to evidence at now. Exposure is weighted by the weekly
// profile m (the hazard at time t is λ·m(t), so the expected count over a
// span is λ·∫n·m(t)dt) and, when halfLife > 0, both counts and exposure are
// discounted by 2^(-age/halfLife): the discounted Poisson-Gamma model of
// Harvey & Fernandes (1989), "Time series models for count or qualitative
// observations", J. Business & Economic Statistics 7(4), eq. 2.5-2.7,
// where each step multiplies the Gamma's α and β by the discount factor ω;
// here ω applies to the data only, so the prior never decays away. Data
// older than maxAge is dropped (maxAge 0: none dropped).
func weigh(h history, now time.Time, p *Profile, halfLife, maxAge time.Duration) evidence {
	var ev evidence
	disc := func(t time.Time) float64 {
		if halfLife <= 0 {
			return 1
		}
		return math.Exp2(-now.Sub(t).Hours() / halfLife.Hours())
	}
	var cutoff time.Time
	if maxAge > 0 {
		cutoff = now.Add(-maxAge)
	}
	for _, s := range h.spans {
		start, end := s.start, s.end
		if !cutoff.IsZero() && start.Before(cutoff) {
			start = cutoff
		}
		if end.After(now) {
			end = now
		}
		if !end.After(start) {
			continue
		}
		ev.rawE += s.n * end.Sub(start).Hours()
		// Integrate hour by hour (the profile is constant within an
		// hour); the discount is taken at each piece's midpoint.
		for t := start; t.Before(end); {
			next := t.Truncate(time.Hour).Add(time.Hour)
			if next.After(end) {
				next = end
			}
			d := next.Sub(t)
			mid := t.Add(d / 2)
			ev.e += s.n * d.Hours() * p.At(t) * disc(mid)
			t = next
		}
	}
	for _, x := range h.hits {
		if !cutoff.IsZero() && x.t.Before(cutoff) {
			continue
		}
		ev.n += x.w * disc(x.t)
		if x.rebalance {
			ev.rebalances++
		} else {
			ev.rawN += int(x.w)
		}
	}
	return ev
}
