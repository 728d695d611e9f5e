package market

import "time"

// Kinds of CapacitySignal. Each says what Value and ValueHigh measure.
const (
	// SignalEvictionRate: Azure's spot eviction rate of a size in a
	// region (Resource Graph skuspotevictionrate), a bucket such as "0-5"
	// stored as the fractions [0, 0.05]; "20+" is [0.20, 1]. Azure states
	// the rate as the share of spot VMs evicted per hour.
	SignalEvictionRate = "eviction-rate"
	// SignalPreemptionRate: GCP's preemption rate of a machine type in a
	// zone or region over [Start, Time] (advice.capacityHistory): preempted
	// Spot VMs over all Spot VMs that stopped running, 0-1.
	SignalPreemptionRate = "preemption-rate"
	// SignalObtainability: GCP's likelihood, 0-1, of obtaining
	// TargetCapacity VMs of the type in the zone now (advice.capacity).
	SignalObtainability = "obtainability"
	// SignalEstimatedUptime: GCP's estimate, in hours, of how long the
	// majority of TargetCapacity Spot VMs run before preemption
	// (advice.capacity).
	SignalEstimatedUptime = "estimated-uptime"
)

// CapacitySignal is one public statement of a cloud about the capacity or
// interruption risk of its spot pools that is not an AWS Spot Instance
// Advisor bucket (those are AdvisorRow): Azure eviction-rate buckets, GCP
// preemption rates, obtainability and estimated uptime. The hazard prior
// reads them per cloud.
type CapacitySignal struct {
	Cloud        string
	Region       string
	Zone         string // "" when the signal is for the region
	InstanceType string
	OS           string // "" when the signal does not depend on the OS
	Kind         string // Signal*
	// Value and ValueHigh bound the measured value (equal for a point
	// value; a bucket's lower and upper edge otherwise), in the unit Kind
	// names.
	Value, ValueHigh float64
	// Label is the source's own rendering of the value ("0-5", "20+",
	// "0.12", "PT3H"), kept so nothing is lost in translation.
	Label string
	// TargetCapacity is how many instances the signal is about (0: not
	// stated by the source).
	TargetCapacity int
	// Start is the start of the period the value covers, Time its end or
	// the moment the value was observed; Start equals Time for a reading
	// of the present.
	Start, Time time.Time
	Source      string
	FetchedAt   time.Time
}

// ZoneID pairs an availability zone's name with its ID. AWS zone names
// (us-east-1a) are shuffled per account; zone IDs (use1-az4) name the same
// physical zone in every account, so a source that reports both tells
// which name is which zone for the account it came from.
type ZoneID struct {
	Cloud     string
	Region    string
	Zone      string // the name, e.g. us-east-1a
	ZoneID    string // e.g. use1-az4
	Source    string
	FetchedAt time.Time
}

// Sources of the public price APIs (no credentials needed).
const (
	SourceAWSSpotFeed = "aws-spot-feed"
	SourceAzureRetail = "azure-retail-prices"
)
