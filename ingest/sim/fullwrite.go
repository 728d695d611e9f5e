package sim

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// Write writes the full market to sink: the catalogue, on-demand prices
// and advisor rows, then the price rows in file order. Every row's Source
// is market.SourceSimulated and FetchedAt is the config's Now(). progress
// (nil for none) gets a line about every two seconds.
func (m *FullMarket) Write(ctx context.Context, sink ingest.Sink, progress io.Writer) (FullSummary, error) {
	began := time.Now()
	sum := m.summary()
	fetched := m.now().UTC()
	if err := m.writeCatalogue(sink, fetched, &sum); err != nil {
		return sum, err
	}
	pr := newProgress(progress, len(m.Types), began)
	err := m.eachPrice(ctx, func(r fullRow) error {
		pt := market.PricePoint{
			Pool: m.Pools[r.pool], Time: time.Unix(r.t, 0).UTC(), Price: float64(r.micro) / 1e6,
			Source: market.SourceSimulated, FetchedAt: fetched,
		}
		if err := sink.AddPrice(pt); err != nil {
			return fmt.Errorf("price %s at %s: %w", pt.Pool, pt.Time.Format(time.RFC3339), err)
		}
		sum.Prices++
		return nil
	}, func(done int) { pr.report(done, sum.Prices, 0) })
	sum.Seconds = time.Since(began).Seconds()
	pr.done(sum.Prices, 0)
	return sum, err
}

func (m *FullMarket) summary() FullSummary {
	sum := FullSummary{Seed: m.Seed, Start: m.Start, End: m.End, Pools: len(m.Pools)}
	regions, zones := map[string]bool{}, map[string]bool{}
	for _, k := range m.Pools {
		regions[k.Region], zones[k.Zone] = true, true
	}
	sum.Regions, sum.Zones = len(regions), len(zones)
	return sum
}

// advisorOS is the Spot Advisor's OS of a product.
func advisorOS(product int) string {
	if product == prodWindows {
		return "Windows"
	}
	return "Linux"
}

// advisorBuckets is the share of each Spot Advisor bucket among Linux and
// Windows rows of the 2025-07 feed (17 regions and more): Linux 22, 19.5,
// 13.6, 12.6, 33.2%; Windows 16.2, 19.4, 20.7, 15.5, 28.7%.
var advisorBuckets = map[string][5]float64{
	"Linux":   {0.220, 0.195, 0.136, 0.126, 0.332},
	"Windows": {0.162, 0.194, 0.207, 0.155, 0.287},
}

// publishedHazard is the interruption rate per instance-hour published for
// the V100, A100 and H100 families (see catalogue.go).
var publishedHazard = map[string]float64{
	"p3": hazardV100, "p3dn": hazardV100, "p4d": hazardA100, "p4de": hazardA100, "p5": hazardH100,
}

// advisorSnapshots are the dates of the monthly advisor rows, newest
// first: the first day of every month in (Start, End], or, when the span
// holds no month start, the one before End.
func (m *FullMarket) advisorSnapshots() []time.Time {
	var out []time.Time
	snap := time.Date(m.End.Year(), m.End.Month(), 1, 0, 0, 0, 0, time.UTC)
	for ; snap.After(m.Start) || len(out) == 0; snap = snap.AddDate(0, -1, 0) {
		out = append(out, snap)
	}
	return out
}

// writeCatalogue writes the instance types, the on-demand prices of every
// (region, type, product) with a pool, and the advisor rows of every
// (region, type, OS) with a pool.
func (m *FullMarket) writeCatalogue(sink ingest.Sink, fetched time.Time, sum *FullSummary) error {
	for _, name := range m.Types {
		t := m.types[name]
		it := market.InstanceType{
			Cloud: market.AWS, Name: name, VCPU: t.VCPU, MemoryGiB: t.MemoryGiB, Arch: "x86_64",
			Source: market.SourceSimulated, FetchedAt: fetched,
		}
		if t.Arm {
			it.Arch = "arm64"
		}
		if g, ok := market.BuiltinAWSGPUType(name); ok {
			it.GPUModel, it.GPUManufacturer, it.GPUCount, it.GPUMemoryGiB = g.GPUModel, g.GPUManufacturer, g.GPUCount, g.GPUMemoryGiB
		}
		if err := sink.AddInstanceType(it); err != nil {
			return fmt.Errorf("instance type %s: %w", name, err)
		}
		sum.InstanceTypes++
	}
	type offer struct {
		region int
		typ    string
	}
	type osKey struct {
		offer
		os string
	}
	var offers []offer
	seenOffer := map[offer]bool{}
	products := map[offer][numProducts]bool{}
	zonesOf := map[osKey][]int{}
	for _, p := range m.pools {
		o := offer{p.region, p.typ}
		if !seenOffer[o] {
			seenOffer[o] = true
			offers = append(offers, o)
		}
		ps := products[o]
		ps[p.product] = true
		products[o] = ps
		k := osKey{o, advisorOS(p.product)}
		if !containsInt(zonesOf[k], p.zone) {
			zonesOf[k] = append(zonesOf[k], p.zone)
		}
	}
	date := m.Start.Truncate(24 * time.Hour)
	for _, o := range offers {
		reg := m.regions[o.region]
		for prod, ok := range products[o] {
			if !ok {
				continue
			}
			od := market.OnDemandPrice{
				Cloud: market.AWS, Region: reg.Name, InstanceType: o.typ, Product: productNames[prod], Date: date,
				Price: float64(m.onDemandMicro(o.region, o.typ, prod)) / 1e6, Source: market.SourceSimulated, FetchedAt: fetched,
			}
			if err := sink.AddOnDemand(od); err != nil {
				return fmt.Errorf("on-demand price %s %s %s: %w", reg.Name, o.typ, od.Product, err)
			}
			sum.OnDemand++
		}
	}
	snaps := m.advisorSnapshots()
	for _, o := range offers {
		reg := m.regions[o.region]
		t := m.types[o.typ]
		for _, os := range []string{"Linux", "Windows"} {
			zones := zonesOf[osKey{o, os}]
			if len(zones) == 0 {
				continue
			}
			savings := m.savings(o.region, zones, o.typ, os == "Windows")
			r := stream(m.Seed, "full-advisor", reg.Name, o.typ, os)
			bucket := drawBucket(r.Float64(), advisorBuckets[os])
			if h, ok := publishedHazard[t.Family]; ok {
				bucket = AdvisorBucket(MonthlyFrequency(h))
			}
			// Oldest snapshot first, so the bucket walks forward in time.
			for i := len(snaps) - 1; i >= 0; i-- {
				if _, ok := publishedHazard[t.Family]; !ok && r.Float64() < 0.2 {
					bucket = min(4, max(0, bucket+1-2*r.IntN(2)))
				}
				row := market.AdvisorRow{
					Region: reg.Name, OS: os, InstanceType: o.typ, Bucket: bucket,
					SavingsPct: int(math.Round(100 * savings)), Snapshot: snaps[i],
					Source: market.SourceSimulated, FetchedAt: fetched,
				}
				if err := sink.AddAdvisor(row); err != nil {
					return fmt.Errorf("advisor %s %s %s: %w", reg.Name, o.typ, os, err)
				}
				sum.Advisor++
			}
		}
	}
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func drawBucket(u float64, shares [5]float64) int {
	for b, s := range shares {
		if u < s {
			return b
		}
		u -= s
	}
	return 4
}

// savings is the long-run mean saving against on-demand over the zones:
// 1 - E[spot]/on-demand, with E[exp(z)] = exp(sd^2/2) for the stationary
// log-price deviation z; Windows adds its licence to both prices.
func (m *FullMarket) savings(region int, zones []int, typ string, windows bool) float64 {
	reg := m.regions[region]
	od := float64(m.onDemandMicro(region, typ, prodLinux)) / 1e6
	lic := 0.0
	if windows {
		lic = float64(premiumMicro(prodWindows, m.types[typ].VCPU)) / 1e6
	}
	var s float64
	for _, z := range zones {
		p := m.params(reg.Zones[z], typ, windows)
		spot := od * (1 - p.discount) * math.Exp(p.sd*p.sd/2)
		s += 1 - (spot+lic)/(od+lic)
	}
	return s / float64(len(zones))
}

// WriteCSV writes the full market's price history to w as a per-AZ AWS
// spot price CSV (timestamp,availability_zone,instance_type,
// product_description,spot_price, the shape `ingest file` detects as
// aws-spot-price-csv), in the order of the real file: instance type
// ascending, newest first. Memory does not grow with Days or Pools beyond
// the pools' descriptions. progress (nil for none) gets a line about
// every two seconds.
func (m *FullMarket) WriteCSV(ctx context.Context, w io.Writer, progress io.Writer) (FullSummary, error) {
	began := time.Now()
	sum := m.summary()
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	if _, err := io.WriteString(cw, "timestamp,availability_zone,instance_type,product_description,spot_price\n"); err != nil {
		return sum, err
	}
	// ",zone,type,product," per pool.
	mid := make([][]byte, len(m.Pools))
	for i, k := range m.Pools {
		mid[i] = []byte("," + k.Zone + "," + k.InstanceType + "," + k.Product + ",")
	}
	var ts timestamper
	buf := make([]byte, 0, 128)
	pr := newProgress(progress, len(m.Types), began)
	err := m.eachPrice(ctx, func(r fullRow) error {
		buf = ts.append(buf[:0], r.t)
		buf = append(buf, mid[r.pool]...)
		buf = appendMicro(buf, r.micro)
		buf = append(buf, '\n')
		sum.Prices++
		_, err := cw.Write(buf)
		return err
	}, func(done int) { pr.report(done, sum.Prices, cw.n) })
	if err == nil {
		err = bw.Flush()
	}
	sum.Bytes = cw.n
	sum.Seconds = time.Since(began).Seconds()
	pr.done(sum.Prices, cw.n)
	return sum, err
}

// WriteCSVFile writes WriteCSV's output to path (gzip-compressed when it
// ends in .gz), through a temporary file renamed into place on success,
// and then the source sidecar ingest.SourceSidecar(path) holding
// "simulated", which `ingest file` honours: the rows are stored with
// source simulated. The CSV itself stays plain per-AZ CSV, readable by any
// CSV reader.
func (m *FullMarket) WriteCSVFile(ctx context.Context, path string, progress io.Writer) (FullSummary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return FullSummary{}, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	var w io.Writer = tmp
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		// No name or time in the header: the same seed gives the same bytes.
		zw, _ = gzip.NewWriterLevel(tmp, gzip.BestSpeed)
		w = zw
	}
	sum, err := m.WriteCSV(ctx, w, progress)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp's 0600 is for secrets
	}
	if err != nil {
		return sum, fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sum, err
	}
	if err := os.WriteFile(ingest.SourceSidecar(path), []byte(market.SourceSimulated+"\n"), 0o644); err != nil {
		return sum, err
	}
	return sum, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// timestamper formats unix seconds as 2006-01-02T15:04:05+00:00, the
// per-AZ file's timestamps, caching the date of the current day.
type timestamper struct {
	day  int64
	date []byte // "2006-01-02T"
}

func (ts *timestamper) append(b []byte, t int64) []byte {
	day := floorDiv(t, dayS)
	if ts.date == nil || day != ts.day {
		ts.day = day
		ts.date = time.Unix(day*dayS, 0).UTC().AppendFormat(ts.date[:0], "2006-01-02T")
	}
	b = append(b, ts.date...)
	s := t - day*dayS
	h, mi, se := s/3600, s/60%60, s%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+se/10), byte('0'+se%10), '+', '0', '0', ':', '0', '0')
}

// appendMicro formats micro-dollars with six decimals (0.067100), as the
// per-AZ file does.
func appendMicro(b []byte, micro int64) []byte {
	whole, frac := micro/1e6, micro%1e6
	b = appendInt(b, whole)
	b = append(b, '.')
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, d[:]...)
}

func appendInt(b []byte, v int64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	var d [20]byte
	i := len(d)
	for v > 0 {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[i:]...)
}

// progress prints "sim: N price rows, T/U instance types, S s" lines.
type progress struct {
	w         io.Writer
	types     int
	began     time.Time
	last      time.Time
	typesDone int
}

func newProgress(w io.Writer, types int, began time.Time) *progress {
	return &progress{w: w, types: types, began: began, last: began}
}

func (p *progress) report(done int, rows, bytes int64) {
	p.typesDone = done
	if p.w == nil || time.Since(p.last) < 2*time.Second {
		return
	}
	p.last = time.Now()
	p.line(rows, bytes)
}

func (p *progress) done(rows, bytes int64) {
	if p.w != nil {
		p.line(rows, bytes)
	}
}

func (p *progress) line(rows, bytes int64) {
	el := time.Since(p.began).Seconds()
	msg := fmt.Sprintf("sim: %d price rows, %d/%d instance types, %.0fs (%.0fk rows/s)", rows, p.typesDone, p.types, el, float64(rows)/max(el, 1e-9)/1e3)
	if bytes > 0 {
		msg += fmt.Sprintf(", %.2f GB", float64(bytes)/1e9)
	}
	fmt.Fprintln(p.w, msg)
}
