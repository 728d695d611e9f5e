package files

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spotcast/spotcast/ingest"
)

// Format names one supported input format.
type Format string

// The supported formats. The names are what --format takes.
const (
	// FormatSpotPriceCSV: per-AZ AWS spot price history,
	// timestamp,availability_zone,instance_type,product_description,spot_price.
	FormatSpotPriceCSV Format = "aws-spot-price-csv"
	// FormatSpotPriceJSON: `aws ec2 describe-spot-price-history` output,
	// {"SpotPriceHistory":[...],"NextToken":...}.
	FormatSpotPriceJSON Format = "aws-spot-price-json"
	// FormatDailyOHLC: daily bars per region,
	// provider,region,instance_type,date,open,high,low,close,avg.
	FormatDailyOHLC Format = "daily-ohlc-csv"
	// FormatOnDemandJSON: [{"date","instance_type","price"}] for one region
	// named by the file (ondemand_<region>.json).
	FormatOnDemandJSON Format = "ondemand-json"
	// FormatSpotAdvisor: the Spot Instance Advisor feed (spot-advisor-data.json).
	FormatSpotAdvisor Format = "aws-spot-advisor-json"
	// FormatInstanceTypes: `aws ec2 describe-instance-types` output.
	FormatInstanceTypes Format = "aws-instance-types-json"
	// FormatInstanceCatalog: the per-region instance catalogue CSV of
	// ec2instances.info (instance-type,region,arch,vCPU,memory,GPU,...).
	FormatInstanceCatalog Format = "aws-instance-catalog-csv"
	// FormatGCPPrices: GCP on-demand and spot prices per machine type and
	// region, one row per change.
	FormatGCPPrices Format = "gcp-price-changes-csv"
	// FormatGCPMachineTypes: GCP machine type attributes
	// {"<type>":{"cpu","ram",<gpu key>...}}.
	FormatGCPMachineTypes Format = "gcp-machine-types-json"
	// FormatPlacementScores: GetSpotPlacementScores output, bare or wrapped
	// with its request ({"Request":{...},"Response":{...}}).
	FormatPlacementScores Format = "aws-placement-scores-json"
	// FormatEventBridge: EC2 Spot interruption warnings and rebalance
	// recommendations, one event per line or a JSON array.
	FormatEventBridge Format = "eventbridge-json"
	// FormatSkypilotTrace: a skypilot spot availability/preemption trace.
	FormatSkypilotTrace Format = "skypilot-trace-json"
	// FormatAWSSpotFeed: the public AWS spot price feed (spot.json, or its
	// JSONP form callback({...}); spot.js), region-level Linux and Windows
	// prices per instance type.
	FormatAWSSpotFeed Format = "aws-spot-feed-json"
	// FormatAzureRetail: a page of the Azure Retail Prices API
	// ({"Items":[...],"NextPageLink":...}): VM spot and on-demand prices.
	FormatAzureRetail Format = "azure-retail-prices-json"
	// FormatAzureSpot: Azure Resource Graph SpotResources rows: spot
	// eviction-rate buckets and spot price history per VM size and region.
	FormatAzureSpot Format = "azure-spot-resources-json"
	// FormatGCPCapacityHistory: Compute Engine advice.capacityHistory
	// responses: preemption rate and Spot price history per machine type
	// and zone.
	FormatGCPCapacityHistory Format = "gcp-capacity-history-json"
	// FormatGCPCapacityAdvice: a Compute Engine advice.capacity response:
	// obtainability and estimated uptime per zone and machine type.
	FormatGCPCapacityAdvice Format = "gcp-capacity-advice-json"
	// FormatSpotLake: a SpotLake AWS snapshot, Time,InstanceType,Region,
	// AZ,SPS,T3,T2,IF,OndemandPrice,SpotPrice,Savings.
	FormatSpotLake Format = "spotlake-csv"
	// FormatCSV: spot prices in a CSV of any shape, read through a column
	// mapping (Options.CSV); never detected, only forced.
	FormatCSV Format = "csv"
	// FormatAWSZones: `aws ec2 describe-availability-zones` output, the
	// account's zone names paired with zone IDs.
	FormatAWSZones Format = "aws-availability-zones-json"
)

// Formats lists every supported format.
func Formats() []Format {
	return []Format{
		FormatSpotPriceCSV, FormatSpotPriceJSON, FormatDailyOHLC, FormatOnDemandJSON,
		FormatSpotAdvisor, FormatInstanceTypes, FormatInstanceCatalog,
		FormatGCPPrices, FormatGCPMachineTypes, FormatPlacementScores,
		FormatEventBridge, FormatSkypilotTrace,
		FormatAWSSpotFeed, FormatAzureRetail, FormatAzureSpot,
		FormatGCPCapacityHistory, FormatGCPCapacityAdvice, FormatSpotLake, FormatCSV,
		FormatAWSZones,
	}
}

func formatList() string {
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ParseFormat checks a format name (as given to --format).
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (formats: %s): %w", s, formatList(), ingest.ErrBadInput)
}

// CSV headers of the CSV formats, in column order.
var csvHeaders = map[Format][]string{
	FormatSpotPriceCSV:    {"timestamp", "availability_zone", "instance_type", "product_description", "spot_price"},
	FormatDailyOHLC:       {"provider", "region", "instance_type", "date", "open", "high", "low", "close", "avg"},
	FormatInstanceCatalog: {"instance-type", "region", "arch", "vCPU", "memory", "GPU", "GPU_memory", "current-generation", "ondemand", "spot_avg"},
	FormatGCPPrices:       {"snapshot_generated_utc", "commit", "machine_type", "region", "ondemand_hour", "spot_hour"},
	FormatSpotLake:        {"Time", "InstanceType", "Region", "AZ", "SPS", "T3", "T2", "IF", "OndemandPrice", "SpotPrice", "Savings"},
}

var onDemandName = regexp.MustCompile(`^ondemand_([a-z0-9-]+)\.json$`)

// sniffSize is how much of a file detection looks at.
const sniffSize = 64 << 10

// detect names the format of an input from its first bytes (decompressed)
// and, only where the content cannot say, its file name.
func detect(prefix []byte, name string) (Format, error) {
	p := bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf"))
	p = bytes.TrimLeft(p, " \t\r\n")
	if len(p) == 0 {
		return "", fmt.Errorf("empty file: %w", ingest.ErrBadInput)
	}
	if bytes.HasPrefix(p, []byte(jsonpPrefix)) {
		return FormatAWSSpotFeed, nil
	}
	if p[0] == '{' || p[0] == '[' {
		return detectJSON(p, name)
	}
	line := p
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	cols := strings.Split(string(line), ",")
	// Exact header first, then the format sharing most columns, so a
	// header with a missing or extra column is reported against the format
	// it was meant to be rather than as an unknown format.
	best, bestN := Format(""), 0
	for _, f := range Formats() {
		h, ok := csvHeaders[f]
		if !ok {
			continue
		}
		if equalFold(cols, h) {
			return f, nil
		}
		if n := overlap(cols, h); n > bestN {
			best, bestN = f, n
		}
	}
	if bestN*2 > len(csvHeaders[best]) {
		return best, nil
	}
	return "", unknownFormat(name, "first line is not a known CSV header")
}

func unknownFormat(name, why string) error {
	return fmt.Errorf("unknown format (%s); formats: %s: %w", why, formatList(), ingest.ErrBadInput)
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(a[i]), b[i]) {
			return false
		}
	}
	return true
}

func overlap(cols, h []string) int {
	n := 0
	for _, c := range cols {
		for _, x := range h {
			if strings.EqualFold(strings.TrimSpace(c), x) {
				n++
				break
			}
		}
	}
	return n
}

// detectJSON looks at the top-level keys (or, for an array, the first
// element's keys) of a JSON document's first bytes.
func detectJSON(p []byte, name string) (Format, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	tok, err := dec.Token()
	if err != nil {
		return "", unknownFormat(name, "not JSON")
	}
	base := filepath.Base(name)
	if tok == json.Delim('[') {
		keys, ok := firstObjectKeys(dec)
		switch {
		case !ok && onDemandName.MatchString(base):
			// An empty array is only recognisable by name.
			return FormatOnDemandJSON, nil
		case !ok:
			return "", unknownFormat(name, "a JSON array whose first element is not an object")
		case keys["detail-type"] || keys["source"] && keys["detail"]:
			return FormatEventBridge, nil
		case keys["instance_type"] && keys["price"] && keys["date"]:
			return FormatOnDemandJSON, nil
		case isSpotResourcesRow(keys):
			return FormatAzureSpot, nil
		case keys["preemptionHistory"] || keys["priceHistory"] || keys["location"] && keys["machineType"]:
			return FormatGCPCapacityHistory, nil
		}
		return "", unknownFormat(name, "a JSON array of objects with keys "+keyList(keys))
	}
	// An object: decide by its first key, or, for a map of machine types,
	// by the keys of its first value.
	keys := map[string]bool{}
keys:
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		keys[k] = true
		switch k {
		case "SpotPriceHistory":
			return FormatSpotPriceJSON, nil
		case "InstanceTypes":
			return FormatInstanceTypes, nil
		case "SpotPlacementScores", "Request", "Response":
			return FormatPlacementScores, nil
		case "spot_advisor", "ranges", "global_rate":
			return FormatSpotAdvisor, nil
		case "detail-type":
			return FormatEventBridge, nil
		case "vers", "config":
			return FormatAWSSpotFeed, nil
		case "BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items", "NextPageLink":
			return FormatAzureRetail, nil
		case "totalRecords", "total_records", "skip_token", "$skipToken", "resultTruncated", "facets":
			return FormatAzureSpot, nil
		case "AvailabilityZones":
			return FormatAWSZones, nil
		case "preemptionHistory", "priceHistory":
			return FormatGCPCapacityHistory, nil
		case "recommendations":
			return FormatGCPCapacityAdvice, nil
		}
		if keys["metadata"] && keys["data"] {
			return FormatSkypilotTrace, nil
		}
		if keys["location"] && keys["machineType"] {
			return FormatGCPCapacityHistory, nil
		}
		t, err = dec.Token()
		if err != nil {
			break
		}
		switch t {
		case json.Delim('['):
			if k == "data" {
				// Resource Graph rows, or a trace's samples.
				inner, isObj := firstObjectKeys(dec)
				if isObj && isSpotResourcesRow(inner) {
					return FormatAzureSpot, nil
				}
				if isObj {
					if _, err := dec.Token(); err != nil { // the element's '}'
						break keys
					}
				}
			}
			if skipRest(dec) != nil {
				break keys
			}
		case json.Delim('{'):
			// A map from names to objects: GCP machine types have "cpu"
			// and "ram"; the advisor's instance_types have "ram_gb".
			inner, _ := objectKeys(dec)
			if k == "instance_types" && inner["ram_gb"] {
				return FormatSpotAdvisor, nil
			}
			if inner["cpu"] && inner["ram"] {
				return FormatGCPMachineTypes, nil
			}
			if _, err := dec.Token(); err != nil { // the closing '}'
				break keys
			}
		}
	}
	if keys["metadata"] && keys["data"] {
		return FormatSkypilotTrace, nil
	}
	return "", unknownFormat(name, "a JSON object with keys "+keyList(keys))
}

// isSpotResourcesRow: a Resource Graph row of the SpotResources table, as
// stored (sku and location) or as Microsoft's sample query projects it
// (skuName and location).
func isSpotResourcesRow(keys map[string]bool) bool {
	return keys["location"] && (keys["sku"] || keys["skuName"])
}

// firstObjectKeys reads the first array element's keys; dec is positioned
// after '['.
func firstObjectKeys(dec *json.Decoder) (map[string]bool, bool) {
	if !dec.More() {
		return nil, false
	}
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, false
	}
	return objectKeys(dec)
}

// objectKeys reads keys of the object dec is inside, skipping values,
// until the object ends or the prefix does.
func objectKeys(dec *json.Decoder) (map[string]bool, bool) {
	keys := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		if k, ok := t.(string); ok {
			keys[k] = true
		}
		if err := skipValue(dec); err != nil {
			break
		}
	}
	return keys, len(keys) > 0
}

// skipRest consumes the rest of the array or object dec is inside.
func skipRest(dec *json.Decoder) error {
	for dec.More() {
		if err := skipValue(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// skipValue consumes one value by tokens (works on a truncated prefix,
// unlike Decode into RawMessage which would need the whole value).
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func keyList(keys map[string]bool) string {
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "(none)"
	}
	return strings.Join(ks, ", ")
}
