package sim_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/ingest/ingesttest"
	"github.com/spotcast/spotcast/ingest/sim"
	"github.com/spotcast/spotcast/market"
)

// fullEnd is the end of the full markets of these tests (a UTC midnight).
var fullEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func fullMarket(t testing.TB, cfg sim.FullConfig) *sim.FullMarket {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = fullEnd
	}
	cfg.Now = clock
	m, err := sim.NewFullMarket(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fullCSV(t testing.TB, m *sim.FullMarket) []byte {
	t.Helper()
	var buf bytes.Buffer
	sum, err := m.WriteCSV(context.Background(), &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != int64(buf.Len()) {
		t.Errorf("summary says %d bytes, wrote %d", sum.Bytes, buf.Len())
	}
	return buf.Bytes()
}

type csvRow struct {
	t     time.Time
	key   market.PoolKey
	price float64
}

// parseFullCSV reads the CSV with encoding/csv, independently of the
// writer, and checks its header.
func parseFullCSV(t *testing.T, b []byte) []csvRow {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := "timestamp,availability_zone,instance_type,product_description,spot_price"; strings.Join(head, ",") != want {
		t.Fatalf("header %q, want %q", strings.Join(head, ","), want)
	}
	var out []csvRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse("2006-01-02T15:04:05-07:00", rec[0])
		if err != nil || !strings.HasSuffix(rec[0], "+00:00") {
			t.Fatalf("line %d: timestamp %q: %v", line, rec[0], err)
		}
		region, err := market.RegionOfZone(rec[1])
		if err != nil || !market.KnownRegion(market.AWS, region) {
			t.Fatalf("line %d: zone %q: %v", line, rec[1], err)
		}
		p, err := strconv.ParseFloat(rec[4], 64)
		if err != nil || len(rec[4]) < 8 || rec[4][len(rec[4])-7] != '.' {
			t.Fatalf("line %d: price %q is not a six-decimal number", line, rec[4])
		}
		out = append(out, csvRow{t: ts, price: p, key: market.PoolKey{Cloud: market.AWS, Region: region, Zone: rec[1], InstanceType: rec[2], Product: rec[3]}})
	}
}

// The shape of a small full market (2,000 pools, 7 days): every region,
// real zone names, the product mix, rows in the real file's order, about
// 4 rows per pool per day with a heavy tail, one heartbeat row per pool
// per day at least.
func TestFullShape(t *testing.T) {
	const pools, days = 2000, 7
	m := fullMarket(t, sim.FullConfig{Seed: 1, Pools: pools, Days: days})
	if len(m.Pools) != pools {
		t.Fatalf("%d pools, want %d", len(m.Pools), pools)
	}
	if !m.End.Equal(fullEnd) || !m.Start.Equal(fullEnd.AddDate(0, 0, -days)) {
		t.Errorf("span %s .. %s", m.Start, m.End)
	}
	rows := parseFullCSV(t, fullCSV(t, m))

	// Pools: distinct, in 17 regions, each zone its region's.
	seen := map[market.PoolKey]bool{}
	regions, products := map[string]bool{}, map[string]int{}
	gpuPools := 0
	for _, k := range m.Pools {
		if seen[k] {
			t.Fatalf("pool %s twice", k)
		}
		seen[k] = true
		if r, err := market.RegionOfZone(k.Zone); err != nil || r != k.Region {
			t.Errorf("pool %s: zone not of its region", k)
		}
		regions[k.Region] = true
		products[k.Product]++
		if _, ok := market.AWSGPUFamily(k.InstanceType); ok {
			gpuPools++
		}
	}
	if want := sim.FullRegions(); len(regions) != 17 || len(want) != 17 {
		t.Errorf("%d regions in the market, %d in FullRegions; want 17", len(regions), len(want))
	}
	for _, p := range []string{"Linux/UNIX", "Red Hat Enterprise Linux", "SUSE Linux", "Windows"} {
		if products[p] < pools/10 {
			t.Errorf("%d %s pools, want at least %d", products[p], p, pools/10)
		}
	}
	if gpuPools < pools/20 {
		t.Errorf("%d GPU pools of %d, want at least 5%%", gpuPools, pools)
	}

	// Order: type ascending, newest first within a type, all in the span.
	perPool := map[market.PoolKey]int{}
	for i, r := range rows {
		if !seen[r.key] {
			t.Fatalf("row %d: pool %s not in the market", i, r.key)
		}
		perPool[r.key]++
		if r.t.Before(m.Start) || !r.t.Before(m.End) {
			t.Fatalf("row %d: %s outside [%s, %s)", i, r.t, m.Start, m.End)
		}
		if i == 0 {
			continue
		}
		p := rows[i-1]
		if r.key.InstanceType < p.key.InstanceType || r.key.InstanceType == p.key.InstanceType && r.t.After(p.t) {
			t.Fatalf("row %d (%s %s) after row %d (%s %s): not type ascending, newest first", i, r.key.InstanceType, r.t, i-1, p.key.InstanceType, p.t)
		}
	}

	// Rows per pool: at least one a day (the heartbeat), about 4 on
	// average, heavy-tailed.
	counts := make([]float64, 0, len(m.Pools))
	for _, k := range m.Pools {
		n := perPool[k]
		if n < days {
			t.Errorf("pool %s: %d rows in %d days, want a heartbeat a day", k, n, days)
		}
		counts = append(counts, float64(n)/days)
	}
	sort.Float64s(counts)
	mean := float64(len(rows)) / pools / days
	median := counts[len(counts)/2]
	flat := sort.SearchFloat64s(counts, 1.5+1e-9)
	top := counts[len(counts)*99/100]
	t.Logf("%d rows: %.2f per pool per day, median %.2f, %d pools at most 1.5 a day, 99th percentile %.1f", len(rows), mean, median, flat, top)
	if mean < 3.3 || mean > 4.7 {
		t.Errorf("%.2f rows per pool per day, want about 4", mean)
	}
	if median >= mean || flat < pools/5 || top < 5*median {
		t.Errorf("not heavy-tailed: median %.2f, mean %.2f, %d of %d pools at most 1.5 a day, 99th percentile %.1f",
			median, mean, flat, pools, top)
	}
}

// Prices: positive and below on-demand; Red Hat and SUSE rows repeat the
// Linux/UNIX row of their zone and time plus their licence premium.
func TestFullPrices(t *testing.T) {
	m := fullMarket(t, sim.FullConfig{Seed: 2, Pools: 1500, Days: 5})
	var c ingesttest.Collector
	if _, err := m.Write(context.Background(), &c, nil); err != nil {
		t.Fatal(err)
	}
	od := map[market.PoolKey]float64{}
	for _, o := range c.OnDemand {
		for _, k := range m.Pools {
			if k.Region == o.Region && k.InstanceType == o.InstanceType && k.Product == o.Product {
				od[k] = o.Price
			}
		}
	}
	type at struct {
		zone, typ string
		t         time.Time
	}
	linux := map[at]float64{}
	for _, p := range c.Prices {
		if p.Pool.Product == "Linux/UNIX" {
			linux[at{p.Pool.Zone, p.Pool.InstanceType, p.Time}] = p.Price
		}
	}
	checked := map[string]int{}
	for _, p := range c.Prices {
		o, ok := od[p.Pool]
		if !ok {
			t.Fatalf("%s: no on-demand price", p.Pool)
		}
		if p.Price <= 0 || p.Price > o {
			t.Fatalf("%s at %s: spot %.6f, on-demand %.6f", p.Pool, p.Time, p.Price, o)
		}
		l, ok := linux[at{p.Pool.Zone, p.Pool.InstanceType, p.Time}]
		if !ok || p.Pool.Product == "Linux/UNIX" || p.Pool.Product == "Windows" {
			continue
		}
		lk := p.Pool
		lk.Product = "Linux/UNIX"
		// The premium over Linux is the same for spot and on-demand.
		if math.Abs((p.Price-l)-(o-od[lk])) > 1e-9 {
			t.Fatalf("%s at %s: %.6f is Linux %.6f + %.6f, on-demand premium %.6f", p.Pool, p.Time, p.Price, l, p.Price-l, o-od[lk])
		}
		checked[p.Pool.Product]++
	}
	if checked["Red Hat Enterprise Linux"] == 0 || checked["SUSE Linux"] == 0 {
		t.Errorf("no Red Hat or SUSE row beside a Linux row: %v", checked)
	}
}

// Same seed, same bytes; another seed, other paths over the same pools.
func TestFullDeterministic(t *testing.T) {
	cfg := sim.FullConfig{Seed: 7, Pools: 800, Days: 3}
	a := fullCSV(t, fullMarket(t, cfg))
	b := fullCSV(t, fullMarket(t, cfg))
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different bytes")
	}
	cfg.Seed = 8
	m := fullMarket(t, cfg)
	if c := fullCSV(t, m); bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same bytes")
	}
	if !slices.Equal(m.Pools, fullMarket(t, sim.FullConfig{Seed: 7, Pools: 800, Days: 3}).Pools) {
		t.Error("the seed changed which pools exist")
	}
}

// A pool's rows do not depend on which other pools are simulated: the
// pools of a 600-pool market have the same rows in a 1,200-pool one.
func TestFullPoolIndependence(t *testing.T) {
	small := fullMarket(t, sim.FullConfig{Seed: 3, Pools: 600, Days: 4})
	big := fullMarket(t, sim.FullConfig{Seed: 3, Pools: 1200, Days: 4})
	byPool := func(m *sim.FullMarket) map[market.PoolKey][]market.PricePoint {
		var c ingesttest.Collector
		if _, err := m.Write(context.Background(), &c, nil); err != nil {
			t.Fatal(err)
		}
		out := map[market.PoolKey][]market.PricePoint{}
		for _, p := range c.Prices {
			out[p.Pool] = append(out[p.Pool], p)
		}
		return out
	}
	s, b := byPool(small), byPool(big)
	shared := 0
	for k, rows := range s {
		other, ok := b[k]
		if !ok {
			continue
		}
		shared++
		if len(rows) != len(other) {
			t.Fatalf("%s: %d rows alone, %d in the larger market", k, len(rows), len(other))
		}
		for i := range rows {
			if !rows[i].Time.Equal(other[i].Time) || rows[i].Price != other[i].Price {
				t.Fatalf("%s row %d differs: %v vs %v", k, i, rows[i], other[i])
			}
		}
	}
	if shared < 500 {
		t.Errorf("only %d of 600 pools also in the 1,200-pool market", shared)
	}
}

// Every row is labelled simulated, in the sink and beside the CSV.
func TestFullLabelledSimulated(t *testing.T) {
	m := fullMarket(t, sim.FullConfig{Seed: 1, Pools: 300, Days: 40})
	var c ingesttest.Collector
	sum, err := m.Write(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if int64(c.Total()) != sum.Rows() || int64(len(c.Prices)) != sum.Prices || int64(len(c.Advisor)) != sum.Advisor {
		t.Errorf("summary %+v, collected %d rows (%d prices, %d advisor)", sum, c.Total(), len(c.Prices), len(c.Advisor))
	}
	bad := 0
	for _, p := range c.Prices {
		if p.Source != market.SourceSimulated || !p.FetchedAt.Equal(now) {
			bad++
		}
	}
	for _, x := range c.Types {
		bad += boolInt(x.Source != market.SourceSimulated)
	}
	for _, x := range c.OnDemand {
		bad += boolInt(x.Source != market.SourceSimulated)
	}
	for _, x := range c.Advisor {
		bad += boolInt(x.Source != market.SourceSimulated)
	}
	if bad > 0 {
		t.Errorf("%d rows not labelled simulated at the clock's time", bad)
	}
	// 40 days up to June 1: advisor snapshots on May 1 and June 1.
	snaps := map[time.Time]bool{}
	for _, a := range c.Advisor {
		snaps[a.Snapshot] = true
	}
	if len(snaps) != 2 || !snaps[fullEnd] || !snaps[fullEnd.AddDate(0, -1, 0)] {
		t.Errorf("advisor snapshots %v, want %s and a month before", snaps, fullEnd)
	}

	path := filepath.Join(t.TempDir(), "m.csv.gz")
	if _, err := m.WriteCSVFile(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile(ingest.SourceSidecar(path))
	if err != nil || string(side) != "simulated\n" {
		t.Errorf("sidecar %q, %v; want \"simulated\\n\"", side, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The catalogue of every region offers the GPU families spotcast's users
// train on, with their GPU fields, and the CPU families' usual sizes.
func TestFullCatalogue(t *testing.T) {
	max, err := sim.FullMaxPools(nil)
	if err != nil {
		t.Fatal(err)
	}
	if max < 33000 {
		t.Fatalf("the whole catalogue has %d pools, fewer than the real market's 33,000", max)
	}
	m := fullMarket(t, sim.FullConfig{Seed: 1, Pools: max, Days: 1})
	var c ingesttest.Collector
	if _, err := m.Write(context.Background(), &c, nil); err != nil {
		t.Fatal(err)
	}
	gpus := map[string]string{}
	for _, it := range c.Types {
		if it.GPUCount > 0 {
			gpus[market.InstanceFamily(it.Name)] = it.GPUModel
		}
	}
	for fam, model := range map[string]string{"p3": "V100", "p4d": "A100", "p5": "H100", "g4dn": "T4", "g5": "A10G", "g6": "L4", "g6e": "L40S"} {
		if gpus[fam] != model {
			t.Errorf("family %s: GPU %q, want %s", fam, gpus[fam], model)
		}
	}
	types := map[string]bool{}
	for _, k := range m.Pools {
		types[k.InstanceType] = true
	}
	for _, ty := range []string{"m5.large", "c6i.32xlarge", "r7g.metal", "t3.nano", "i4i.metal", "p5.48xlarge"} {
		if !types[ty] {
			t.Errorf("%s not in the catalogue", ty)
		}
	}
}

func TestFullConfigErrors(t *testing.T) {
	max, err := sim.FullMaxPools([]string{"eu-west-3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []sim.FullConfig{
		{Pools: 0},
		{Pools: -1},
		{Pools: 10, Days: -1},
		{Pools: 10, Days: 4000},
		{Pools: 10, Regions: []string{"us-east-7"}},
		{Pools: max + 1, Regions: []string{"eu-west-3"}},
	} {
		if _, err := sim.NewFullMarket(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	m, err := sim.NewFullMarket(sim.FullConfig{Pools: max, Regions: []string{"eu-west-3"}, End: fullEnd})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range m.Pools {
		if k.Region != "eu-west-3" {
			t.Fatalf("pool %s outside the one region asked for", k)
		}
	}
}

// BenchmarkFullCSV: the per-AZ CSV of a 2,000-pool, 30-day full market.
func BenchmarkFullCSV(b *testing.B) {
	m := fullMarket(b, sim.FullConfig{Seed: 1, Pools: 2000, Days: 30})
	var rows int64
	for b.Loop() {
		sum, err := m.WriteCSV(context.Background(), io.Discard, nil)
		if err != nil {
			b.Fatal(err)
		}
		rows = sum.Prices
	}
	b.ReportMetric(float64(rows), "rows/op")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
