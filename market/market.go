// Package market is spotcast's vocabulary of the spot market: pools, price
// points, advisor rows, the instance catalogue, placement scores and
// interruption events. It holds plain values only, so every other package
// (ingest, storage, forecast, recommend, api) can share them without
// linking the store's engine.
package market

import (
	"fmt"
	"time"
)

// Clouds spotcast knows.
const (
	AWS   = "aws"
	GCP   = "gcp"
	Azure = "azure"
)

// Sources every stored row names. File imports use SourceFile + ":" + the
// file's base name; the ingest run row keeps the full path and checksum.
const (
	SourceAWSAPI      = "aws-api"
	SourceFile        = "file"
	SourceEventBridge = "eventbridge"
	SourceSimulated   = "simulated"
)

// PoolKey identifies a unit of spot capacity. Zone is empty for
// region-level series (the daily OHLC data, GCP prices); Product is empty
// when the source does not say which OS the price is for.
type PoolKey struct {
	Cloud        string `json:"cloud"`
	Region       string `json:"region"`
	Zone         string `json:"zone,omitempty"`
	InstanceType string `json:"instance_type"`
	Product      string `json:"product,omitempty"`
}

func (k PoolKey) String() string {
	loc := k.Region
	if k.Zone != "" {
		loc = k.Zone
	}
	s := k.Cloud + "/" + loc + "/" + k.InstanceType
	if k.Product != "" {
		s += "/" + k.Product
	}
	return s
}

// Pool is a PoolKey with what the store knows about it.
type Pool struct {
	ID int64 `json:"id"`
	PoolKey
	// Resolution is "change" for series that record every price change
	// (DescribeSpotPriceHistory) and "1d" for daily aggregates.
	Resolution string    `json:"resolution"`
	Points     int64     `json:"points"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	LastPrice  float64   `json:"last_price"`
	Source     string    `json:"source"`
}

// Resolutions of a price series.
const (
	ResolutionChange = "change"
	ResolutionDaily  = "1d"
)

// Bar is one day's open/high/low/close of a daily series.
type Bar struct {
	Open, High, Low, Close float64
}

// PricePoint is one observation of a pool's spot price in USD per hour.
// For a change series it is the price from Time until the next point; for a
// daily series Time is the day's start (UTC), Price the day's average and
// Bar its OHLC (HasBar true).
type PricePoint struct {
	Pool      PoolKey
	Time      time.Time
	Price     float64
	Bar       Bar
	HasBar    bool
	Source    string
	FetchedAt time.Time
}

// AdvisorRow is one Spot Instance Advisor entry: the interruption-frequency
// bucket over the trailing month and the savings against on-demand.
type AdvisorRow struct {
	Region       string
	OS           string
	InstanceType string
	// Bucket is 0: <5%, 1: 5-10%, 2: 10-15%, 3: 15-20%, 4: >20% of
	// instances interrupted in the trailing month.
	Bucket     int
	SavingsPct int
	Snapshot   time.Time // the snapshot's date, UTC midnight
	Source     string
	FetchedAt  time.Time
}

// InstanceType is one catalogue entry. GPU fields are zero for CPU types;
// GPUMemoryGiB is per GPU.
type InstanceType struct {
	Cloud           string
	Name            string
	VCPU            int
	MemoryGiB       float64
	Arch            string
	GPUModel        string
	GPUManufacturer string
	GPUCount        int
	GPUMemoryGiB    float64
	Source          string
	FetchedAt       time.Time
}

// OnDemandPrice is the on-demand price of an instance type in a region,
// effective from Date.
type OnDemandPrice struct {
	Cloud        string
	Region       string
	InstanceType string
	Product      string
	Date         time.Time
	Price        float64
	Source       string
	FetchedAt    time.Time
}

// PlacementScore is one GetSpotPlacementScores answer: how likely a request
// for TargetCapacity of the listed types (or requirements) is to succeed in
// a region or zone, 1 (unlikely) to 10 (very likely).
type PlacementScore struct {
	Region         string
	Zone           string // empty when the request was per region
	InstanceTypes  []string
	Requirements   string // JSON of InstanceRequirementsWithMetadata, if used
	TargetCapacity int
	CapacityUnit   string // units, vcpu or memory-mib
	Score          int
	Time           time.Time
	Source         string
	FetchedAt      time.Time
	// ScaleMax is the highest score the request could have got: 10 (0
	// means 10), or 3 where AWS caps the scores of single-type requests
	// (SpotLake's archive; see ingest/files/spotlake.go). Score/ScaleMax
	// compares scores across the two.
	ScaleMax int
}

// Event kinds.
const (
	// EventInterruptionWarning is EventBridge's "EC2 Spot Instance
	// Interruption Warning" (2 minutes before AWS reclaims the instance).
	EventInterruptionWarning = "interruption-warning"
	// EventRebalance is "EC2 Instance Rebalance Recommendation".
	EventRebalance = "rebalance-recommendation"
	// EventPreempted: an instance that was running was observed gone
	// (trace data); Count says how many nodes were lost.
	EventPreempted = "preempted"
	// EventLaunched: capacity came back / an instance started running.
	EventLaunched = "launched"
	// EventCapacity: observed available capacity changed to Count nodes.
	EventCapacity = "capacity"
	// EventObservationStart and EventObservationEnd bracket a trace, so
	// exposure (instance-hours watched) can be computed from events alone.
	EventObservationStart = "observation-start"
	EventObservationEnd   = "observation-end"
)

// Event is an interruption-related observation.
type Event struct {
	Time         time.Time
	Cloud        string
	Region       string
	Zone         string
	InstanceType string
	InstanceID   string
	Kind         string
	Count        int    // nodes concerned; 1 for a single-instance event
	EventID      string // the source's own id (EventBridge id); part of the natural key
	Source       string
	FetchedAt    time.Time
}

// RegionOfZone returns the region an AWS availability zone belongs to
// ("us-east-1a" -> "us-east-1", or by its zone ID "use1-az4" ->
// "us-east-1") or a GCP zone ("us-central1-a" -> "us-central1").
func RegionOfZone(zone string) (string, error) {
	if r, ok := AWSRegionOfZoneID(zone); ok {
		return r, nil
	}
	n := len(zone)
	if n < 2 {
		return "", fmt.Errorf("zone %q: too short", zone)
	}
	c := zone[n-1]
	if c < 'a' || c > 'z' {
		return "", fmt.Errorf("zone %q: does not end in a zone letter", zone)
	}
	// GCP zones end in "-a".
	if zone[n-2] == '-' {
		return zone[:n-2], nil
	}
	// AWS: region + one letter. Local Zones (us-east-1-bos-1a) and
	// Wavelength Zones end the same way and belong to their parent region,
	// which is where AWS lists their prices.
	if zone[n-2] < '0' || zone[n-2] > '9' {
		return "", fmt.Errorf("zone %q: not of the form REGION + letter", zone)
	}
	if parent, ok := AWSLocalZoneGroup(zone[:n-1]); ok {
		return parent, nil
	}
	return zone[:n-1], nil
}
