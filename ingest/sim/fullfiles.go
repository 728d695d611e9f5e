package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// catalogueRows keeps what writeCatalogue hands a sink.
type catalogueRows struct {
	types    []market.InstanceType
	onDemand []market.OnDemandPrice
	advisor  []market.AdvisorRow
}

func (c *catalogueRows) AddPrice(market.PricePoint) error { return nil }
func (c *catalogueRows) AddAdvisor(a market.AdvisorRow) error {
	c.advisor = append(c.advisor, a)
	return nil
}
func (c *catalogueRows) AddInstanceType(t market.InstanceType) error {
	c.types = append(c.types, t)
	return nil
}
func (c *catalogueRows) AddOnDemand(o market.OnDemandPrice) error {
	c.onDemand = append(c.onDemand, o)
	return nil
}
func (c *catalogueRows) AddPlacementScore(market.PlacementScore) error { return nil }
func (c *catalogueRows) AddEvent(market.Event) error                   { return nil }

// WriteCatalogueFiles writes the full market's catalogue into dir (created
// if needed) in formats `ingest file` reads, each file with a source
// sidecar saying "simulated", so that `ingest file` of the price CSV and
// of dir gives a store with what placement and hazard need:
//
//   - instance-types.json (aws-instance-types-json, what `aws ec2
//     describe-instance-types` prints): every type with a pool, with its
//     GPUs;
//   - ondemand_REGION.json (ondemand-json), one per region: the
//     Linux/UNIX on-demand price of every type with a pool there, dated
//     Start's UTC midnight (the format has no product: a store written
//     directly also has the other products' prices);
//   - spot-advisor-data_YYYY-MM.json (aws-spot-advisor-json), one per
//     monthly advisor snapshot.
//
// It returns the paths written, sidecars left out, in order.
func (m *FullMarket) WriteCatalogueFiles(dir string) ([]string, error) {
	var c catalogueRows
	var sum FullSummary
	if err := m.writeCatalogue(&c, m.now().UTC(), &sum); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name string, v any) error {
		// encoding/json sorts map keys: the same market gives the same bytes.
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, body.Bytes(), 0o644); err != nil {
			return err
		}
		paths = append(paths, path)
		return os.WriteFile(ingest.SourceSidecar(path), []byte(market.SourceSimulated+"\n"), 0o644)
	}

	type gpu struct {
		Name         string
		Manufacturer string
		Count        int
		MemoryInfo   struct{ SizeInMiB int64 }
	}
	type typeInfo struct {
		InstanceType  string
		ProcessorInfo struct{ SupportedArchitectures []string }
		VCpuInfo      struct{ DefaultVCpus int }
		MemoryInfo    struct{ SizeInMiB int64 }
		GpuInfo       *struct{ Gpus []gpu } `json:",omitempty"`
	}
	infos := make([]typeInfo, 0, len(c.types))
	for _, t := range c.types {
		var ti typeInfo
		ti.InstanceType = t.Name
		ti.ProcessorInfo.SupportedArchitectures = []string{t.Arch}
		ti.VCpuInfo.DefaultVCpus = t.VCPU
		ti.MemoryInfo.SizeInMiB = int64(math.Round(t.MemoryGiB * 1024))
		if t.GPUCount > 0 {
			g := gpu{Name: t.GPUModel, Manufacturer: t.GPUManufacturer, Count: t.GPUCount}
			g.MemoryInfo.SizeInMiB = int64(math.Round(t.GPUMemoryGiB * 1024))
			ti.GpuInfo = &struct{ Gpus []gpu }{[]gpu{g}}
		}
		infos = append(infos, ti)
	}
	if err := write("instance-types.json", map[string]any{"InstanceTypes": infos}); err != nil {
		return paths, err
	}

	type onDemand struct {
		Date         string  `json:"date"`
		InstanceType string  `json:"instance_type"`
		Price        float64 `json:"price"`
	}
	byRegion := map[string][]onDemand{}
	for _, o := range c.onDemand {
		if o.Product == productNames[prodLinux] {
			byRegion[o.Region] = append(byRegion[o.Region], onDemand{o.Date.Format("2006-01-02"), o.InstanceType, o.Price})
		}
	}
	for _, r := range m.regions {
		if ods := byRegion[r.Name]; len(ods) > 0 {
			if err := write("ondemand_"+r.Name+".json", ods); err != nil {
				return paths, err
			}
		}
	}

	// One advisor feed per snapshot, in the feed's shape.
	type entry struct {
		R int `json:"r"`
		S int `json:"s"`
	}
	type rng struct {
		Index int    `json:"index"`
		Label string `json:"label"`
		Max   int    `json:"max"`
	}
	ranges := []rng{{0, "<5%", 5}, {1, "5-10%", 11}, {2, "10-15%", 16}, {3, "15-20%", 22}, {4, ">20%", 100}}
	bySnap := map[time.Time]map[string]map[string]map[string]entry{}
	for _, a := range c.advisor {
		feed := bySnap[a.Snapshot]
		if feed == nil {
			feed = map[string]map[string]map[string]entry{}
			bySnap[a.Snapshot] = feed
		}
		if feed[a.Region] == nil {
			feed[a.Region] = map[string]map[string]entry{}
		}
		if feed[a.Region][a.OS] == nil {
			feed[a.Region][a.OS] = map[string]entry{}
		}
		feed[a.Region][a.OS][a.InstanceType] = entry{R: a.Bucket, S: a.SavingsPct}
	}
	snaps := make([]time.Time, 0, len(bySnap))
	for s := range bySnap {
		snaps = append(snaps, s)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Before(snaps[j]) })
	for _, s := range snaps {
		if err := write("spot-advisor-data_"+s.Format("2006-01")+".json", map[string]any{"ranges": ranges, "spot_advisor": bySnap[s]}); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// CatalogueDir is where `ingest sim --csv PATH --catalogue` puts the
// catalogue files: PATH without .csv or .csv.gz, plus ".catalogue".
func CatalogueDir(csvPath string) string {
	for _, suf := range []string{".csv.gz", ".csv"} {
		if s, ok := strings.CutSuffix(csvPath, suf); ok {
			return s + ".catalogue"
		}
	}
	return csvPath + ".catalogue"
}
