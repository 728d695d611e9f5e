// Package launch turns a placement (pools ranked by expected cost per
// useful GPU-hour, recommend.Placement) into the configuration of the tools
// that launch spot capacity: an EC2 CreateFleet request (Fleet), Karpenter
// NodePool and NodeOverlay manifests (Karpenter) and a SkyPilot task
// resources block (SkyPilot). Those tools choose pools by list price and
// current capacity; the documents written here carry spotcast's forecast
// instead: the ranking, the priorities, the weights and the price
// adjustments all follow the expected cost, which counts the forecast
// interruption overhead.
//
// Every function is pure: no I/O, no clock. Bad input is a
// *recommend.ParamError naming the parameter; nothing here ever returns an
// empty document without an error.
package launch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spotcast/spotcast/recommend"
)

// ErrUnsupportedCloud: the output format cannot launch in the pool's
// cloud (EC2 Fleet and Karpenter are AWS-only).
var ErrUnsupportedCloud = errors.New("cloud not supported by this output format")

// Defaults of Selection.
const (
	// DefaultMaxPools bounds the pools one document lists.
	DefaultMaxPools = 10
	// DefaultMaxPremium leaves out pools whose expected cost per useful
	// GPU-hour is more than this share above the best pool's: a fleet or
	// a NodePool falling back to a pool that costs twice as much is rarely
	// what a user wants, and the explanation names what was left out.
	DefaultMaxPremium = 0.5
)

// Selection says which ranked pools a document lists.
type Selection struct {
	// Region restricts the pools to one region ("" = the region of the
	// best pool for the region-scoped formats, any for SkyPilot).
	Region string
	// MaxPools (0: DefaultMaxPools) and MaxPremium (0: DefaultMaxPremium).
	MaxPools   int
	MaxPremium float64
}

func (s Selection) limits() (int, float64, error) {
	n, p := s.MaxPools, s.MaxPremium
	if n < 0 {
		return 0, 0, &recommend.ParamError{Param: "max_pools", Msg: fmt.Sprintf("must not be negative, got %d", n)}
	}
	if p < 0 || p != p {
		return 0, 0, &recommend.ParamError{Param: "max_premium", Msg: fmt.Sprintf("must be a non-negative share, got %v", p)}
	}
	if n == 0 {
		n = DefaultMaxPools
	}
	if p == 0 {
		p = DefaultMaxPremium
	}
	return n, p, nil
}

// picked is the outcome of select: the pools to list and what was left
// out and why.
type picked struct {
	region string
	pools  []recommend.PoolRank
	notes  []string
}

// selectPools takes the placement's ranked pools, best first, keeps those
// of the allowed clouds (all when clouds is empty) and, when regional, of
// one region, within the premium of the best kept pool, at most max.
func selectPools(format string, p recommend.PlacementResult, sel Selection, clouds []string, regional bool) (picked, error) {
	maxPools, premium, err := sel.limits()
	if err != nil {
		return picked{}, err
	}
	if len(p.Ranked) == 0 {
		return picked{}, &recommend.ParamError{Param: "workload", Msg: "no ranked pool fits the workload: nothing to launch", Err: recommend.ErrNoFit}
	}
	allowed := func(c string) bool {
		if len(clouds) == 0 {
			return true
		}
		for _, a := range clouds {
			if strings.EqualFold(a, c) {
				return true
			}
		}
		return false
	}
	var out picked
	var otherCloud []string
	region := sel.Region
	for _, r := range p.Ranked {
		if !allowed(r.Pool.Cloud) {
			otherCloud = append(otherCloud, r.Pool.String())
			continue
		}
		if regional && region == "" {
			region = r.Pool.Region
		}
		if region != "" && r.Pool.Region != region {
			continue
		}
		out.pools = append(out.pools, r)
	}
	out.region = region
	if len(out.pools) == 0 {
		if len(otherCloud) == len(p.Ranked) {
			return picked{}, &recommend.ParamError{Param: "cloud", Err: ErrUnsupportedCloud,
				Msg: fmt.Sprintf("%s launches only in %s; every fitting pool is elsewhere (best: %s)", format, strings.Join(clouds, ", "), otherCloud[0])}
		}
		return picked{}, &recommend.ParamError{Param: "region", Err: recommend.ErrNoFit,
			Msg: fmt.Sprintf("no fitting pool of %s in region %q", format, sel.Region)}
	}
	best := out.pools[0].CostPerUsefulGPUHr
	kept := out.pools[:0]
	var tooDear []string
	for _, r := range out.pools {
		switch {
		case len(kept) >= maxPools:
			tooDear = append(tooDear, r.Pool.String())
		case r.CostPerUsefulGPUHr > best*(1+premium):
			tooDear = append(tooDear, r.Pool.String())
		default:
			kept = append(kept, r)
		}
	}
	out.pools = kept
	if len(otherCloud) > 0 {
		out.notes = append(out.notes, fmt.Sprintf("%d fitting pools in clouds %s cannot be used: %s", len(otherCloud), format, short(otherCloud)))
	}
	if n := len(p.Ranked) - len(otherCloud) - len(kept) - len(tooDear); regional && n > 0 {
		out.notes = append(out.notes, fmt.Sprintf("%s is regional: %d fitting pools outside %s are left out (ask again with their region)", format, n, region))
	}
	if len(tooDear) > 0 {
		out.notes = append(out.notes, fmt.Sprintf("%d pools left out: beyond %d pools or more than %.0f%% above the best expected cost per useful GPU-hour (%s)", len(tooDear), maxPools, 100*premium, short(tooDear)))
	}
	return out, nil
}

func short(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + fmt.Sprintf(" and %d more", len(s)-5)
	}
	return strings.Join(s, ", ")
}

// usefulPerInstance is how many of an instance's GPUs the workload uses:
// whole nodes of gpusPerNode GPUs each.
func usefulPerInstance(r recommend.PoolRank, gpusPerNode int) int {
	g := max(gpusPerNode, 1)
	return r.GPUsPerInstance / g * g
}
