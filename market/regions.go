package market

import (
	"errors"
	"strings"
)

// The region lists below are the public region names of each cloud, as
// published in:
//   - AWS: "Regions and Zones", Amazon EC2 User Guide
//     (docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html)
//     and the AWS General Reference endpoint tables, including GovCloud and
//     the China partition;
//   - GCP: "Regions and zones", Compute Engine documentation
//     (cloud.google.com/compute/docs/regions-zones);
//   - Azure: the "name" column of `az account list-locations`
//     (learn.microsoft.com/azure/reliability/regions-list).
//
// They exist so that ingest can reject a row whose region is a typo or a
// shifted column instead of silently creating a pool nobody can find. A
// cloud that opens a new region needs one line added here; until then its
// rows fail with "unknown region", which says exactly that.
var awsRegions = []string{
	"af-south-1",
	"ap-east-1", "ap-east-2",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1",
	"cn-north-1", "cn-northwest-1",
	"eu-central-1", "eu-central-2",
	"eu-north-1",
	"eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"eusc-de-east-1",
	"il-central-1",
	"me-central-1", "me-south-1",
	"mx-central-1",
	"sa-east-1",
	"us-east-1", "us-east-2",
	"us-west-1", "us-west-2",
	"us-gov-east-1", "us-gov-west-1",
}

var gcpRegions = []string{
	"africa-south1",
	"asia-east1", "asia-east2",
	"asia-northeast1", "asia-northeast2", "asia-northeast3",
	"asia-south1", "asia-south2",
	"asia-southeast1", "asia-southeast2", "asia-southeast3",
	"australia-southeast1", "australia-southeast2",
	"europe-central2",
	"europe-north1", "europe-north2",
	"europe-southwest1",
	"europe-west1", "europe-west2", "europe-west3", "europe-west4",
	"europe-west6", "europe-west8", "europe-west9", "europe-west10",
	"europe-west12",
	"me-central1", "me-central2", "me-west1",
	"northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
	"southamerica-east1", "southamerica-west1",
	"us-central1", "us-central2",
	"us-east1", "us-east4", "us-east5",
	"us-south1",
	"us-west1", "us-west2", "us-west3", "us-west4",
}

var azureRegions = []string{
	"australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
	"austriaeast",
	"belgiumcentral",
	"brazilsouth", "brazilsoutheast",
	"canadacentral", "canadaeast",
	"centralindia", "southindia", "westindia", "jioindiacentral", "jioindiawest",
	"centralus", "eastus", "eastus2", "northcentralus", "southcentralus",
	"westcentralus", "westus", "westus2", "westus3",
	"chilecentral",
	"denmarkeast",
	"eastasia", "southeastasia",
	"francecentral", "francesouth",
	"germanynorth", "germanywestcentral",
	"indonesiacentral",
	"israelcentral",
	"italynorth",
	"japaneast", "japanwest",
	"koreacentral", "koreasouth",
	"malaysiawest",
	"mexicocentral",
	"newzealandnorth",
	"northeurope", "westeurope",
	"norwayeast", "norwaywest",
	"polandcentral",
	"qatarcentral",
	"southafricanorth", "southafricawest",
	"spaincentral",
	"swedencentral", "swedensouth",
	"switzerlandnorth", "switzerlandwest",
	"uaecentral", "uaenorth",
	"uksouth", "ukwest",
}

// azureAliases maps the AWS-style names some aggregators (SpotLake and the
// daily OHLC data derived from it) give Azure regions to Azure's own names,
// so one Azure region is one set of pools whatever the source called it.
var azureAliases = map[string]string{
	"us-east":    "eastus",
	"us-east-2":  "eastus2",
	"us-west":    "westus",
	"us-west-2":  "westus2",
	"us-west-3":  "westus3",
	"us-central": "centralus",
	"eu-west":    "westeurope",
	"eu-north":   "northeurope",
}

var knownRegions = func() map[string]map[string]bool {
	m := map[string]map[string]bool{AWS: {}, GCP: {}, Azure: {}}
	for _, r := range awsRegions {
		m[AWS][r] = true
	}
	for _, r := range gcpRegions {
		m[GCP][r] = true
	}
	for _, r := range azureRegions {
		m[Azure][r] = true
	}
	return m
}()

// KnownRegion reports whether region is a public region name of cloud.
func KnownRegion(cloud, region string) bool {
	return knownRegions[cloud][region]
}

// CanonicalRegion returns cloud's own name for region: region itself when
// it is known, the Azure name for an aggregator alias ("us-east" ->
// "eastus"), and ok false when the region is unknown.
func CanonicalRegion(cloud, region string) (canonical string, ok bool) {
	if knownRegions[cloud][region] {
		return region, true
	}
	if cloud == Azure {
		if c, found := azureAliases[region]; found {
			return c, true
		}
	}
	return "", false
}

// CloudOfRegion returns the cloud whose region this is ("" if none). The
// naming schemes do not overlap: AWS "us-east-1", GCP "us-east1", Azure
// "eastus".
func CloudOfRegion(region string) string {
	for _, c := range []string{AWS, GCP, Azure} {
		if knownRegions[c][region] {
			return c
		}
	}
	return ""
}

// AWSLocalZoneGroup reports whether loc names an AWS Local Zone or
// Wavelength Zone group of a known region ("us-east-1-bos-1",
// "us-east-1-wl1-atl1", "us-west-2-wl1") and returns that parent region.
// Prices there differ from the parent region's, so callers must not file
// them under it.
func AWSLocalZoneGroup(loc string) (parent string, ok bool) {
	for _, r := range awsRegions {
		rest, found := strings.CutPrefix(loc, r+"-")
		if !found || rest == "" {
			continue
		}
		// Local Zone groups: three letters, dash, digit ("bos-1").
		// Wavelength groups: "wl" + digit, optionally "-" + city code.
		if isLocalZoneSuffix(rest) || isWavelengthSuffix(rest) {
			return r, true
		}
	}
	return "", false
}

func isLocalZoneSuffix(s string) bool {
	return len(s) == 5 && isLower(s[0]) && isLower(s[1]) && isLower(s[2]) && s[3] == '-' && isDigit(s[4])
}

func isWavelengthSuffix(s string) bool {
	if len(s) < 3 || s[0] != 'w' || s[1] != 'l' || !isDigit(s[2]) {
		return false
	}
	s = s[3:]
	if s == "" {
		return true
	}
	if s[0] != '-' || len(s) < 2 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLower(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// awsLastZoneLetter is the last availability-zone letter of an AWS
// region: the largest, us-east-1, has six zones (a to f). Which letters a
// smaller region has differs between accounts (zone names are mapped per
// account), so the bound is the same for every region: it refuses what
// no region has ("us-east-1q") without refusing a real zone.
const awsLastZoneLetter = 'f'

// KnownZone reports whether zone is an availability zone of a known AWS
// region: the region's own zones (a to f), its Local Zones
// ("us-west-2-lax-1a": a group, then a letter) and its Wavelength Zones
// ("us-east-1-wl1-bos-wlz-1"). For other clouds it reports whether the
// zone's region is known.
func KnownZone(cloud, zone string) bool {
	if cloud != AWS {
		r, err := RegionOfZone(zone)
		return err == nil && KnownRegion(cloud, r)
	}
	if _, ok := awsWavelengthZone(zone); ok {
		return true
	}
	n := len(zone)
	if n < 2 {
		return false
	}
	letter, loc := zone[n-1], zone[:n-1]
	if letter < 'a' || letter > 'z' {
		return false
	}
	if KnownRegion(AWS, loc) {
		return letter <= awsLastZoneLetter
	}
	// Local Zone groups have one to three zones.
	_, ok := AWSLocalZoneGroup(loc)
	return ok && letter <= 'c'
}

// awsWavelengthZone recognises a Wavelength Zone name,
// REGION-wlN-CITY-wlz-N ("us-east-1-wl1-bos-wlz-1"), and returns its
// parent region.
func awsWavelengthZone(zone string) (string, bool) {
	i := strings.Index(zone, "-wl")
	if i < 0 || !strings.Contains(zone[i:], "-wlz-") {
		return "", false
	}
	parent := zone[:i]
	if !KnownRegion(AWS, parent) {
		return "", false
	}
	last := zone[len(zone)-1]
	return parent, isDigit(last)
}

// ErrInvalidRow marks a row refused for its content (a time out of range,
// an implausible price, text that is not UTF-8) by whatever takes it: the
// store's Writer wraps it, and parsers apply their bad-row policy to it
// as to a row they refused themselves.
var ErrInvalidRow = errors.New("invalid row")
