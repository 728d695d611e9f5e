// Package config reads spotcast's YAML configuration file. Flags (in
// cmd/spotcast) override what the file says; environment variables
// SPOTCAST_DB, SPOTCAST_CONFIG and SPOTCAST_AUTH_TOKEN override both where
// the command documents it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/report/cron"
)

// Config is the whole file. Every field has a usable zero value; Default
// fills the documented defaults.
type Config struct {
	DB     string      `yaml:"db"`
	AWS    AWS         `yaml:"aws"`
	Watch  []WatchPool `yaml:"watch"`
	Serve  Serve       `yaml:"serve"`
	Report Report      `yaml:"report"`
	// Sources are the public price APIs serve polls.
	Sources Sources `yaml:"sources"`
	// Storage bounds the embedded DuckDB of every command.
	Storage Storage `yaml:"storage"`
}

// Storage bounds the embedded DuckDB.
type Storage struct {
	// MemoryLimit is DuckDB's memory_limit ("4GB", "512MiB"; "": half of
	// RAM).
	MemoryLimit string `yaml:"memory_limit"`
	// Threads is DuckDB's threads (0: the cores Go may use).
	Threads int `yaml:"threads"`
}

// AWS configures `ingest aws` and the scheduled ingest.
type AWS struct {
	// Regions to ingest; empty means every enabled region (DescribeRegions).
	Regions []string `yaml:"regions"`
	// EndpointURL points the SDK at an EC2-compatible endpoint.
	EndpointURL string `yaml:"endpoint_url"`
	// Concurrency bounds the regions fetched at once.
	Concurrency int `yaml:"concurrency"`
	// Backfill is how far back the first run reads (AWS keeps 90 days).
	Backfill Duration `yaml:"backfill"`
	// Overlap is re-read before each region's watermark, because AWS can
	// publish a price change late.
	Overlap Duration `yaml:"overlap"`
	// InstanceTypes and ProductDescriptions filter DescribeSpotPriceHistory.
	InstanceTypes       []string           `yaml:"instance_types"`
	ProductDescriptions []string           `yaml:"product_descriptions"`
	PlacementRequests   []PlacementRequest `yaml:"placement_requests"`
}

// PlacementRequest is one GetSpotPlacementScores request.
type PlacementRequest struct {
	Name          string   `yaml:"name"`
	InstanceTypes []string `yaml:"instance_types"`
	// Requirements is an InstanceRequirementsWithMetadataRequest as JSON,
	// used instead of InstanceTypes.
	Requirements   string   `yaml:"requirements"`
	TargetCapacity int      `yaml:"target_capacity"`
	CapacityUnit   string   `yaml:"capacity_unit"` // units (default), vcpu, memory-mib
	Regions        []string `yaml:"regions"`
	SingleAZ       bool     `yaml:"single_az"`
}

// WatchPool is a pool whose per-pool metrics and forecasts are kept.
type WatchPool struct {
	Cloud        string `yaml:"cloud"`
	Region       string `yaml:"region"`
	Zone         string `yaml:"zone"`
	InstanceType string `yaml:"instance_type"`
	Product      string `yaml:"product"`
}

// Key returns the pool key, deriving the region from the zone when unset.
func (w WatchPool) Key() (market.PoolKey, error) {
	k := market.PoolKey{Cloud: w.Cloud, Region: w.Region, Zone: w.Zone, InstanceType: w.InstanceType, Product: w.Product}
	if k.Cloud == "" {
		k.Cloud = market.AWS
	}
	if k.InstanceType == "" {
		return k, errors.New("instance_type is required")
	}
	if k.Region == "" {
		if k.Zone == "" {
			return k, errors.New("region or zone is required")
		}
		r, err := market.RegionOfZone(k.Zone)
		if err != nil {
			return k, err
		}
		k.Region = r
	}
	return k, nil
}

// Serve configures `spotcast serve`.
type Serve struct {
	HTTPAddr  string `yaml:"http_addr"`
	GRPCAddr  string `yaml:"grpc_addr"`
	AuthToken string `yaml:"auth_token"`
	TLSCert   string `yaml:"tls_cert"`
	TLSKey    string `yaml:"tls_key"`
	// IngestEvery is how often the scheduler ingests from AWS (0: never).
	IngestEvery Duration `yaml:"ingest_every"`
	// RefitEvery is how often forecasts are refitted.
	RefitEvery Duration `yaml:"refit_every"`
	// InsecureNoToken lets serve listen on a non-loopback address without
	// an auth token (writes open to anyone who can reach the port).
	InsecureNoToken bool `yaml:"insecure_no_token"`
	// AllowedHosts are the names, besides localhost and IP addresses,
	// under which writes are served ("*": any).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AuthReads puts every route but /healthz and /readyz (and every gRPC
	// method) behind the token; AuthMetrics puts /metrics behind it.
	AuthReads   bool `yaml:"auth_reads"`
	AuthMetrics bool `yaml:"auth_metrics"`
	// Limits bound what requests may cost (zero: the defaults).
	Limits Limits `yaml:"limits"`
}

// Limits bound what serve's requests may cost; zero fields take the
// server's defaults (README, "Limits").
type Limits struct {
	// MaxConcurrent answers computed at once (forecasts and
	// recommendations a cache does not hold).
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxQueue computations waiting for a slot; MaxWait the longest wait.
	MaxQueue int      `yaml:"max_queue"`
	MaxWait  Duration `yaml:"max_wait"`
	// MaxRegions, MaxK and MaxNodes bound one placement.
	MaxRegions int `yaml:"max_regions"`
	MaxK       int `yaml:"max_k"`
	MaxNodes   int `yaml:"max_nodes"`
}

// Report configures `spotcast report` and the reports `serve` writes on a
// schedule.
type Report struct {
	// Schedule is a five-field cron expression in UTC ("0 6 * * *": daily
	// at 06:00) or a macro (@daily); "" means serve writes no reports.
	Schedule string `yaml:"schedule"`
	// OutDir receives one timestamped folder per report.
	OutDir string `yaml:"out_dir"`
	// Formats: any of html, csv, json.
	Formats []string `yaml:"formats"`
	// KeepLast keeps the newest N report folders (0: no limit); KeepFor
	// deletes folders older than this (0: no limit). Both may be set.
	KeepLast int      `yaml:"keep_last"`
	KeepFor  Duration `yaml:"keep_for"`
	// Workloads get a placement, max price, checkpoint interval and cost
	// projection in every report.
	Workloads []Workload `yaml:"workloads"`
}

// Workload is a job the report recommends capacity for.
type Workload struct {
	Name            string   `yaml:"name"`
	GPUModel        string   `yaml:"gpu_model"`
	MinGPUMemoryGiB float64  `yaml:"min_gpu_memory_gib"`
	GPUsPerNode     int      `yaml:"gpus_per_node"`
	Nodes           int      `yaml:"nodes"`
	Regions         []string `yaml:"regions"`
	RunLength       Duration `yaml:"run_length"`
	CheckpointCost  Duration `yaml:"checkpoint_cost"`
	RestartCost     Duration `yaml:"restart_cost"`
	// Confidence wanted that the price stays under the max price for
	// the whole run (0: 0.95).
	Confidence float64 `yaml:"confidence"`
	// Utilisation is the share of the month the fleet runs (0: 1), for
	// the monthly cost projection.
	Utilisation float64 `yaml:"utilisation"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		DB: "spotcast.duckdb",
		AWS: AWS{
			Concurrency: 4,
			Backfill:    Duration(7 * 24 * time.Hour),
			Overlap:     Duration(time.Hour),
		},
		Serve: Serve{
			HTTPAddr:    "127.0.0.1:8080",
			GRPCAddr:    "127.0.0.1:50051",
			IngestEvery: Duration(10 * time.Minute),
			RefitEvery:  Duration(time.Hour),
		},
		Report: Report{
			OutDir:   "reports",
			Formats:  []string{"html", "csv", "json"},
			KeepLast: 30,
		},
		Sources: Sources{
			AWSFeed: Feed{Enabled: true, Every: Duration(time.Hour)},
			Azure:   Feed{Enabled: false, Every: Duration(24 * time.Hour)},
		},
	}
}

// Load reads path over the defaults. Unknown keys are errors, so a typo
// does not silently fall back to a default.
func Load(path string) (Config, error) {
	c := Default()
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	if err := decode(f, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func decode(r io.Reader, c *Config) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks values a typo could get wrong.
func (c Config) Validate() error {
	if c.AWS.Concurrency < 0 {
		return errors.New("aws.concurrency: must be >= 0")
	}
	if err := c.Storage.Validate(); err != nil {
		return err
	}
	if err := c.Serve.Limits.Validate(); err != nil {
		return err
	}
	for i, p := range c.AWS.PlacementRequests {
		if len(p.InstanceTypes) == 0 && p.Requirements == "" {
			return fmt.Errorf("aws.placement_requests[%d]: give instance_types or requirements", i)
		}
		if p.TargetCapacity <= 0 {
			return fmt.Errorf("aws.placement_requests[%d].target_capacity: must be > 0", i)
		}
		switch p.CapacityUnit {
		case "", "units", "vcpu", "memory-mib":
		default:
			return fmt.Errorf("aws.placement_requests[%d].capacity_unit: %q is not one of units, vcpu, memory-mib", i, p.CapacityUnit)
		}
	}
	for i, w := range c.Watch {
		if _, err := w.Key(); err != nil {
			return fmt.Errorf("watch[%d]: %w", i, err)
		}
	}
	if err := c.Sources.Validate(); err != nil {
		return err
	}
	return c.Report.Validate()
}

// Validate checks the report section.
func (r Report) Validate() error {
	if r.Schedule != "" {
		if _, err := cron.Parse(r.Schedule); err != nil {
			return fmt.Errorf("report.schedule: %w", err)
		}
	}
	for i, f := range r.Formats {
		switch f {
		case "html", "csv", "json":
		default:
			return fmt.Errorf("report.formats[%d]: %q is not one of html, csv, json", i, f)
		}
	}
	if r.KeepLast < 0 {
		return errors.New("report.keep_last: must be >= 0")
	}
	if r.KeepFor < 0 {
		return errors.New("report.keep_for: must be >= 0")
	}
	for i, w := range r.Workloads {
		bad := func(field, msg string) error {
			return fmt.Errorf("report.workloads[%d].%s: %s", i, field, msg)
		}
		switch {
		case w.Name == "":
			return bad("name", "required")
		case w.GPUModel == "" && w.MinGPUMemoryGiB <= 0:
			return bad("gpu_model", "give gpu_model or min_gpu_memory_gib")
		case w.MinGPUMemoryGiB < 0:
			return bad("min_gpu_memory_gib", "must be >= 0")
		case w.GPUsPerNode < 0:
			return bad("gpus_per_node", "must be >= 0")
		case w.Nodes < 0:
			return bad("nodes", "must be >= 0")
		case w.RunLength < 0:
			return bad("run_length", "must be >= 0")
		case w.CheckpointCost < 0:
			return bad("checkpoint_cost", "must be >= 0")
		case w.RestartCost < 0:
			return bad("restart_cost", "must be >= 0")
		case w.Confidence < 0 || w.Confidence >= 1:
			return bad("confidence", "must be in (0, 1)")
		case w.Utilisation < 0 || w.Utilisation > 1:
			return bad("utilisation", "must be in (0, 1]")
		}
	}
	return nil
}

// Duration is a time.Duration that reads "90s", "10m", "24h" or "7d".
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" suffix for days.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// ParseDuration is time.ParseDuration plus whole days ("7d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		var days int
		if _, err := fmt.Sscanf(s[:i], "%d", &days); err != nil || fmt.Sprint(days) != s[:i] {
			return 0, fmt.Errorf("duration %q: bad day count", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			r, err := time.ParseDuration(s[i+1:])
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			rest = r
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return v, nil
}

// memoryLimitRE is what DuckDB's memory_limit takes.
var memoryLimitRE = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$`)

// Validate checks the storage section.
func (s Storage) Validate() error {
	if s.MemoryLimit != "" && !memoryLimitRE.MatchString(strings.TrimSpace(s.MemoryLimit)) {
		return fmt.Errorf("storage.memory_limit: %q is not a size such as 4GB or 512MiB", s.MemoryLimit)
	}
	if s.Threads < 0 {
		return errors.New("storage.threads: must be >= 0")
	}
	return nil
}

// Validate checks the serve limits.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max_concurrent", int64(l.MaxConcurrent)}, {"max_queue", int64(l.MaxQueue)}, {"max_wait", int64(l.MaxWait)},
		{"max_regions", int64(l.MaxRegions)}, {"max_k", int64(l.MaxK)}, {"max_nodes", int64(l.MaxNodes)},
	} {
		if f.v < 0 {
			return fmt.Errorf("serve.limits.%s: must be >= 0", f.name)
		}
	}
	return nil
}
