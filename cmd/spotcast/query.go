package main

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

func runStats(ctx context.Context, e env, args []string) error {
	var c common
	fs := newFlags(e, "stats", "stats [--db PATH] [--json]", &c)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	counts, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	fresh, err := s.Freshness(ctx)
	if err != nil {
		return err
	}
	if c.json {
		type source struct {
			Source      string    `json:"source"`
			Rows        int64     `json:"rows"`
			LastIngest  time.Time `json:"last_ingest"`
			NewestPoint time.Time `json:"newest_point"`
		}
		out := map[string]any{}
		for k, v := range counts {
			out[k] = v
		}
		srcs := []source{}
		for _, f := range fresh {
			srcs = append(srcs, source{f.Source, f.Rows, f.LastIngest, f.NewestPoint})
		}
		out["sources"] = srcs
		out["db"] = s.Path()
		return writeJSON(e.stdout, out)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "table\trows\t\n")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%d\t\n", k, counts[k])
	}
	tw.Flush()
	if len(fresh) > 0 {
		// Show the biggest sources; a catalogue imported as hundreds of
		// one-row files would otherwise bury the price feeds.
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Rows > fresh[j].Rows })
		tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "\nsource\trows\tlast ingest\tnewest point\n")
		for i, f := range fresh {
			if i == maxSourcesShown {
				fmt.Fprintf(tw, "... %d more sources (--json lists all)\n", len(fresh)-maxSourcesShown)
				break
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", f.Source, f.Rows, fmtTime(f.LastIngest), fmtTime(f.NewestPoint))
		}
		tw.Flush()
	}
	return nil
}

const maxSourcesShown = 15

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// requirePool checks that the pool flags name one pool.
func requirePool(k market.PoolKey) error {
	if k.InstanceType == "" {
		return fmt.Errorf("--instance-type is required")
	}
	if k.Zone == "" && k.Region == "" {
		return fmt.Errorf("--zone or --region is required")
	}
	return nil
}

// poolFlags registers the flags that name a pool or filter pools.
func poolFlags(fs interface {
	StringVar(*string, string, string, string)
}, k *market.PoolKey) {
	fs.StringVar(&k.Cloud, "cloud", "aws", "cloud: aws, gcp or azure")
	fs.StringVar(&k.Region, "region", "", "region (derived from --zone when omitted)")
	fs.StringVar(&k.Zone, "zone", "", "availability zone")
	fs.StringVar(&k.InstanceType, "instance-type", "", "instance type, e.g. p3.2xlarge")
	fs.StringVar(&k.Product, "product", "", "product description, e.g. Linux/UNIX")
}

func runPools(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var f storage.PoolFilter
	fs := newFlags(e, "pools", "pools [--db PATH] [--region R] [--instance-type T] [--gpu-model M] [--min-gpu-memory-gib GiB] [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&f.GPUModel, "gpu-model", "", "GPU model, e.g. A100 (case-insensitive)")
	fs.Float64Var(&f.MinGPUMemoryGiB, "min-gpu-memory-gib", 0, "minimum memory per GPU in GiB")
	deprecatedAlias(fs, "min-gpu-memory", "min-gpu-memory-gib")
	fs.IntVar(&f.Limit, "limit", 0, "at most this many pools (0: all)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	f.Cloud, f.Region, f.Zone, f.InstanceType, f.Product = k.Cloud, k.Region, k.Zone, k.InstanceType, k.Product
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	pools, err := s.Pools(ctx, f)
	if err != nil {
		return err
	}
	if c.json {
		type row struct {
			market.Pool
			VCPU         int     `json:"vcpu,omitempty"`
			MemoryGiB    float64 `json:"memory_gib,omitempty"`
			GPUModel     string  `json:"gpu_model,omitempty"`
			GPUCount     int     `json:"gpu_count,omitempty"`
			GPUMemoryGiB float64 `json:"gpu_memory_gib,omitempty"`
		}
		out := make([]row, 0, len(pools))
		for _, p := range pools {
			out = append(out, row{p.Pool, p.Type.VCPU, p.Type.MemoryGiB, p.Type.GPUModel, p.Type.GPUCount, p.Type.GPUMemoryGiB})
		}
		return writeJSON(e.stdout, map[string]any{"pools": out, "count": len(out)})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pool\tresolution\tpoints\tlast price\tlast\tgpu\tsource")
	for _, p := range pools {
		gpu := "-"
		if p.Type.GPUCount > 0 {
			gpu = fmt.Sprintf("%dx %s %gGiB", p.Type.GPUCount, p.Type.GPUModel, p.Type.GPUMemoryGiB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%s\t%s\t%s\n", p.PoolKey, p.Resolution, p.Points, p.LastPrice, fmtTime(p.Last), gpu, p.Source)
	}
	tw.Flush()
	fmt.Fprintf(e.stderr, "%d pools\n", len(pools))
	return nil
}

func runPrices(ctx context.Context, e env, args []string) error {
	var c common
	var k market.PoolKey
	var from, to string
	fs := newFlags(e, "prices", "prices --zone Z|--region R --instance-type T [--product P] [--from T] [--to T] [--json]", &c)
	poolFlags(fs, &k)
	fs.StringVar(&from, "from", "", "first time (RFC 3339 or date); the point in effect then is included")
	fs.StringVar(&to, "to", "", "end time, exclusive")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := requirePool(k); err != nil {
		return err
	}
	if k.Region == "" {
		r, err := market.RegionOfZone(k.Zone)
		if err != nil {
			return fmt.Errorf("--zone: %w", err)
		}
		k.Region = r
	}
	fromT, err := parseTime("from", from)
	if err != nil {
		return err
	}
	toT, err := parseTime("to", to)
	if err != nil {
		return err
	}
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	pts, err := s.Series(ctx, k, fromT, toT)
	if err != nil {
		return fmt.Errorf("pool %s: %w", k, err)
	}
	if c.json {
		type point struct {
			Time      time.Time `json:"time"`
			Price     float64   `json:"price"`
			Open      *float64  `json:"open,omitempty"`
			High      *float64  `json:"high,omitempty"`
			Low       *float64  `json:"low,omitempty"`
			Close     *float64  `json:"close,omitempty"`
			Source    string    `json:"source"`
			FetchedAt time.Time `json:"fetched_at"`
		}
		out := make([]point, len(pts))
		for i, p := range pts {
			out[i] = point{Time: p.Time, Price: p.Price, Source: p.Source, FetchedAt: p.FetchedAt}
			if p.HasBar {
				b := p.Bar
				out[i].Open, out[i].High, out[i].Low, out[i].Close = &b.Open, &b.High, &b.Low, &b.Close
			}
		}
		return writeJSON(e.stdout, map[string]any{"pool": k, "points": out, "count": len(out)})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "time\tprice (USD/h)\tsource")
	for _, p := range pts {
		fmt.Fprintf(tw, "%s\t%.6f\t%s\n", fmtTime(p.Time), p.Price, p.Source)
	}
	return tw.Flush()
}

func runExport(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "parquet" {
		return fmt.Errorf("usage: spotcast export parquet --out DIR [--db PATH]")
	}
	var c common
	var out string
	fs := newFlags(e, "export parquet", "export parquet --out DIR [--db PATH] [--json]", &c)
	fs.StringVar(&out, "out", "", "output `dir` (created; partitioned cloud=/region=/month=)")
	if err := parse(fs, args[1:], false); err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	s, _, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.ExportParquet(ctx, out)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, map[string]any{"out": out, "files": st.Files, "rows": st.Rows})
	}
	fmt.Fprintf(e.stdout, "wrote %d rows in %d Parquet files under %s\n", st.Rows, st.Files, out)
	return nil
}
