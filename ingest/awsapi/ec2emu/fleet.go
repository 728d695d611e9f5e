package ec2emu

import (
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/spotcast/spotcast/market"
)

// ActionCreateFleet is EC2's CreateFleet.
const ActionCreateFleet = "CreateFleet"

// Fleet is a CreateFleet request the emulator accepted, as it read it.
type Fleet struct {
	ID                 string
	Region             string
	Type               string
	AllocationStrategy string
	TotalTarget        int
	Overrides          []FleetOverride
	// Instances launched (instant fleets only): the override each came from.
	Instances []FleetInstance
}

// FleetOverride is one launch-template override of a request.
type FleetOverride struct {
	LaunchTemplateName, LaunchTemplateID, Version string
	InstanceType                                  string
	AvailabilityZone                              string
	SubnetID                                      string
	WeightedCapacity                              float64
	Priority                                      float64 // +Inf when not given
	MaxPrice                                      string
}

// FleetInstance is one instance an instant fleet launched.
type FleetInstance struct {
	ID       string
	Override FleetOverride
}

// SetSpotCapacity limits how many instances of a type an instant fleet can
// launch in a zone (default: no limit), so that a fleet spills over to its
// next pool as EC2 does when a pool runs out of spare capacity.
func (s *Server) SetSpotCapacity(zone, instanceType string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.capacity == nil {
		s.capacity = map[string]int{}
	}
	s.capacity[zone+"/"+instanceType] = n
}

// Fleets returns the fleets created so far, oldest first.
func (s *Server) Fleets() []Fleet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fleet(nil), s.fleets...)
}

var (
	fleetTypes          = []string{"request", "maintain", "instant"}
	spotStrategies      = []string{"lowest-price", "diversified", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized"}
	replacementStrategy = []string{"launch", "launch-before-terminate"}
)

func oneOf(key, v string, allowed []string) *apiError {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badParam("%s %q is not one of %s", key, v, strings.Join(allowed, ", "))
}

func intParam(form map[string][]string, key string) (int, bool, *apiError) {
	v := first(form, key)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, badParam("%s %q is not an integer", key, v)
	}
	return n, true, nil
}

func floatParam(form map[string][]string, key string) (float64, bool, *apiError) {
	v := first(form, key)
	if v == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, badParam("%s %q is not a number", key, v)
	}
	return f, true, nil
}

// parseFleet reads and checks a CreateFleet request the way the CreateFleet
// API reference describes its parameters.
func parseFleet(form map[string][]string, region string) (Fleet, int, bool, *apiError) {
	f := Fleet{Region: region, Type: first(form, "Type")}
	if f.Type == "" {
		f.Type = "maintain" // the API's default
	}
	if err := oneOf("Type", f.Type, fleetTypes); err != nil {
		return f, 0, false, err
	}
	total, ok, err := intParam(form, "TargetCapacitySpecification.TotalTargetCapacity")
	if err != nil {
		return f, 0, false, err
	}
	if !ok {
		return f, 0, false, &apiError{Fault{Status: 400, Code: "MissingParameter", Message: "the request must contain the parameter TargetCapacitySpecification.TotalTargetCapacity"}}
	}
	if total < 1 {
		return f, 0, false, badParam("TotalTargetCapacity %d must be at least 1", total)
	}
	f.TotalTarget = total
	if v := first(form, "TargetCapacitySpecification.DefaultTargetCapacityType"); v != "" {
		if err := oneOf("DefaultTargetCapacityType", v, []string{"spot", "on-demand"}); err != nil {
			return f, 0, false, err
		}
		if v != "spot" {
			return f, 0, false, badParam("this emulator launches spot capacity only, got DefaultTargetCapacityType %q", v)
		}
	}
	f.AllocationStrategy = first(form, "SpotOptions.AllocationStrategy")
	if f.AllocationStrategy == "" {
		f.AllocationStrategy = "lowest-price"
	}
	if err := oneOf("SpotOptions.AllocationStrategy", f.AllocationStrategy, spotStrategies); err != nil {
		return f, 0, false, err
	}
	const cr = "SpotOptions.MaintenanceStrategies.CapacityRebalance."
	if rs := first(form, cr+"ReplacementStrategy"); rs != "" {
		if f.Type != "maintain" {
			return f, 0, false, badParam("capacity rebalancing is supported only for fleets of type maintain, not %s", f.Type)
		}
		if err := oneOf("ReplacementStrategy", rs, replacementStrategy); err != nil {
			return f, 0, false, err
		}
		delay, has, err := intParam(form, cr+"TerminationDelay")
		if err != nil {
			return f, 0, false, err
		}
		if has && rs != "launch-before-terminate" {
			return f, 0, false, badParam("TerminationDelay is valid only with the launch-before-terminate replacement strategy")
		}
		if has && (delay < 120 || delay > 7200) {
			return f, 0, false, badParam("TerminationDelay %d must be from 120 to 7200 seconds", delay)
		}
	}
	single, err := parseBool(form, "SpotOptions.SingleAvailabilityZone")
	if err != nil {
		return f, 0, false, err
	}
	minTarget, hasMin, err := intParam(form, "SpotOptions.MinTargetCapacity")
	if err != nil {
		return f, 0, false, err
	}
	if (single || hasMin) && f.Type != "instant" {
		return f, 0, false, badParam("SingleAvailabilityZone and MinTargetCapacity are supported only for fleets of type instant")
	}
	if hasMin && !single && first(form, "SpotOptions.SingleInstanceType") != "true" {
		return f, 0, false, badParam("MinTargetCapacity needs SingleAvailabilityZone or SingleInstanceType")
	}
	if minTarget > total {
		return f, 0, false, badParam("MinTargetCapacity %d exceeds TotalTargetCapacity %d", minTarget, total)
	}

	for i := 1; ; i++ {
		p := "LaunchTemplateConfigs." + strconv.Itoa(i) + "."
		name := first(form, p+"LaunchTemplateSpecification.LaunchTemplateName")
		id := first(form, p+"LaunchTemplateSpecification.LaunchTemplateId")
		version := first(form, p+"LaunchTemplateSpecification.Version")
		hasOverride := first(form, p+"Overrides.1.InstanceType") != ""
		if name == "" && id == "" && version == "" && !hasOverride {
			break
		}
		if (name == "") == (id == "") {
			return f, 0, false, badParam("LaunchTemplateConfigs.%d: give LaunchTemplateId or LaunchTemplateName, exactly one", i)
		}
		for j := 1; ; j++ {
			q := p + "Overrides." + strconv.Itoa(j) + "."
			o := FleetOverride{LaunchTemplateName: name, LaunchTemplateID: id, Version: version,
				InstanceType: first(form, q+"InstanceType"), AvailabilityZone: first(form, q+"AvailabilityZone"),
				SubnetID: first(form, q+"SubnetId"), MaxPrice: first(form, q+"MaxPrice"), Priority: math.Inf(1), WeightedCapacity: 1}
			if o.InstanceType == "" && o.AvailabilityZone == "" && o.SubnetID == "" {
				break
			}
			if o.InstanceType == "" {
				return f, 0, false, badParam("%sInstanceType is required by this emulator", q)
			}
			if o.AvailabilityZone != "" {
				zr, err := market.RegionOfZone(o.AvailabilityZone)
				if err != nil || zr != region {
					return f, 0, false, badParam("%sAvailabilityZone %q is not a zone of %s", q, o.AvailabilityZone, region)
				}
			}
			if w, has, err := floatParam(form, q+"WeightedCapacity"); err != nil {
				return f, 0, false, err
			} else if has {
				if w <= 0 {
					return f, 0, false, badParam("%sWeightedCapacity %v must be positive", q, w)
				}
				o.WeightedCapacity = w
			}
			if pr, has, err := floatParam(form, q+"Priority"); err != nil {
				return f, 0, false, err
			} else if has {
				if pr < 0 || pr > 65535 {
					return f, 0, false, badParam("%sPriority %v must be from 0 to 65535", q, pr)
				}
				o.Priority = pr
			}
			if o.MaxPrice != "" {
				if v, err := strconv.ParseFloat(o.MaxPrice, 64); err != nil || !(v > 0) {
					return f, 0, false, badParam("%sMaxPrice %q is not a positive price", q, o.MaxPrice)
				}
			}
			f.Overrides = append(f.Overrides, o)
		}
	}
	if len(f.Overrides) == 0 {
		return f, 0, false, &apiError{Fault{Status: 400, Code: "MissingParameter", Message: "the request must contain LaunchTemplateConfigs with at least one override"}}
	}
	if single && hasMin && minTarget == 0 {
		hasMin = false
	}
	if !hasMin {
		minTarget = 0
	}
	return f, minTarget, single, nil
}

// latestSpotPrice is the newest price of a type in a zone (any product;
// Linux/UNIX preferred), or NaN when none is loaded. Called with mu held.
func (s *Server) latestSpotPrice(zone, typ string) float64 {
	best, bestLinux := SpotPrice{}, SpotPrice{}
	for _, p := range s.prices {
		if p.AvailabilityZone != zone || p.InstanceType != typ {
			continue
		}
		if p.Timestamp.After(best.Timestamp) {
			best = p
		}
		if p.ProductDescription == "Linux/UNIX" && p.Timestamp.After(bestLinux.Timestamp) {
			bestLinux = p
		}
	}
	if bestLinux.SpotPrice != "" {
		best = bestLinux
	}
	v, err := strconv.ParseFloat(best.SpotPrice, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

type fleetLTSpec struct {
	ID      string `xml:"launchTemplateId,omitempty"`
	Name    string `xml:"launchTemplateName,omitempty"`
	Version string `xml:"version,omitempty"`
}

type fleetOverrides struct {
	InstanceType     string   `xml:"instanceType"`
	MaxPrice         string   `xml:"maxPrice,omitempty"`
	SubnetID         string   `xml:"subnetId,omitempty"`
	AvailabilityZone string   `xml:"availabilityZone,omitempty"`
	WeightedCapacity float64  `xml:"weightedCapacity"`
	Priority         *float64 `xml:"priority,omitempty"`
}

type launchTemplateAndOverrides struct {
	Spec      fleetLTSpec    `xml:"launchTemplateSpecification"`
	Overrides fleetOverrides `xml:"overrides"`
}

type fleetInstanceItem struct {
	LTO          launchTemplateAndOverrides `xml:"launchTemplateAndOverrides"`
	Lifecycle    string                     `xml:"lifecycle"`
	InstanceIDs  []string                   `xml:"instanceIds>item"`
	InstanceType string                     `xml:"instanceType"`
}

type fleetErrorItem struct {
	LTO          launchTemplateAndOverrides `xml:"launchTemplateAndOverrides"`
	Lifecycle    string                     `xml:"lifecycle"`
	ErrorCode    string                     `xml:"errorCode"`
	ErrorMessage string                     `xml:"errorMessage"`
}

type createFleetResponse struct {
	XMLName   xml.Name            `xml:"CreateFleetResponse"`
	Xmlns     string              `xml:"xmlns,attr"`
	RequestID string              `xml:"requestId"`
	FleetID   string              `xml:"fleetId"`
	Errors    []fleetErrorItem    `xml:"errorSet>item"`
	Instances []fleetInstanceItem `xml:"fleetInstanceSet>item"`
}

func (o FleetOverride) wire() launchTemplateAndOverrides {
	l := launchTemplateAndOverrides{
		Spec:      fleetLTSpec{ID: o.LaunchTemplateID, Name: o.LaunchTemplateName, Version: o.Version},
		Overrides: fleetOverrides{InstanceType: o.InstanceType, MaxPrice: o.MaxPrice, SubnetID: o.SubnetID, AvailabilityZone: o.AvailabilityZone, WeightedCapacity: o.WeightedCapacity},
	}
	if !math.IsInf(o.Priority, 1) {
		p := o.Priority
		l.Overrides.Priority = &p
	}
	return l
}

// createFleet answers CreateFleet. Request and maintain fleets answer
// with their id only (EC2 launches their instances asynchronously); an
// instant fleet launches its instances synchronously and lists them, and
// the pools it could not use, as the CreateFleet reference documents. The
// pools are tried in the order the allocation strategy gives: override
// priority for capacity-optimized-prioritized, the zone's latest loaded
// spot price for the price-led strategies (unknown prices last, then
// priority). A pool whose MaxPrice is below its spot price, or whose
// capacity (SetSpotCapacity) is used up, is skipped with an error item.
func (s *Server) createFleet(form map[string][]string, region, reqID string) (any, *apiError) {
	f, minTarget, single, err := parseFleet(form, region)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fleetSeq++
	f.ID = fmt.Sprintf("fleet-%08x-0000-4000-8000-%012d", s.fleetSeq, s.fleetSeq)
	resp := createFleetResponse{Xmlns: xmlNamespace, RequestID: reqID, FleetID: f.ID}
	if f.Type != "instant" {
		s.fleets = append(s.fleets, f)
		return resp, nil
	}

	type cand struct {
		o     FleetOverride
		price float64
	}
	cands := make([]cand, len(f.Overrides))
	for i, o := range f.Overrides {
		cands[i] = cand{o, s.latestSpotPrice(o.AvailabilityZone, o.InstanceType)}
	}
	byPrice := f.AllocationStrategy != "capacity-optimized-prioritized" && f.AllocationStrategy != "capacity-optimized"
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if byPrice {
			pa, pb := a.price/a.o.WeightedCapacity, b.price/b.o.WeightedCapacity
			switch {
			case math.IsNaN(pa) != math.IsNaN(pb):
				return !math.IsNaN(pa)
			case !math.IsNaN(pa) && pa != pb:
				return pa < pb
			}
		}
		return a.o.Priority < b.o.Priority
	})
	remaining := float64(f.TotalTarget)
	zone := ""
	var launched []FleetInstance
	for _, c := range cands {
		if remaining <= 0 {
			break
		}
		if single && zone != "" && c.o.AvailabilityZone != zone {
			continue
		}
		if c.o.MaxPrice != "" && !math.IsNaN(c.price) {
			if mp, _ := strconv.ParseFloat(c.o.MaxPrice, 64); mp < c.price {
				resp.Errors = append(resp.Errors, fleetErrorItem{LTO: c.o.wire(), Lifecycle: "spot", ErrorCode: "SpotMaxPriceTooLow",
					ErrorMessage: fmt.Sprintf("Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of %.5f.", c.o.MaxPrice, c.price)})
				continue
			}
		}
		n := int(math.Ceil(remaining / c.o.WeightedCapacity))
		key := c.o.AvailabilityZone + "/" + c.o.InstanceType
		if limit, ok := s.capacity[key]; ok && n > limit {
			n = limit
		}
		if n == 0 {
			resp.Errors = append(resp.Errors, fleetErrorItem{LTO: c.o.wire(), Lifecycle: "spot", ErrorCode: "InsufficientInstanceCapacity",
				ErrorMessage: "There is no Spot capacity available that matches your request."})
			continue
		}
		if _, ok := s.capacity[key]; ok {
			s.capacity[key] -= n
		}
		item := fleetInstanceItem{LTO: c.o.wire(), Lifecycle: "spot", InstanceType: c.o.InstanceType}
		for range n {
			s.instanceSeq++
			id := fmt.Sprintf("i-%017x", s.instanceSeq)
			item.InstanceIDs = append(item.InstanceIDs, id)
			launched = append(launched, FleetInstance{ID: id, Override: c.o})
		}
		resp.Instances = append(resp.Instances, item)
		remaining -= float64(n) * c.o.WeightedCapacity
		zone = c.o.AvailabilityZone
	}
	if got := float64(f.TotalTarget) - remaining; minTarget > 0 && got < float64(minTarget) {
		// All or nothing: give the capacity back.
		for _, in := range launched {
			if _, ok := s.capacity[in.Override.AvailabilityZone+"/"+in.Override.InstanceType]; ok {
				s.capacity[in.Override.AvailabilityZone+"/"+in.Override.InstanceType]++
			}
		}
		launched, resp.Instances = nil, nil
		resp.Errors = append(resp.Errors, fleetErrorItem{Lifecycle: "spot", ErrorCode: "UnfillableCapacity",
			ErrorMessage: fmt.Sprintf("MinTargetCapacity %d cannot be met in a single Availability Zone; only %.0f available", minTarget, got)})
	}
	f.Instances = launched
	s.fleets = append(s.fleets, f)
	return resp, nil
}
