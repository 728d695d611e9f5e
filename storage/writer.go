package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spotcast/spotcast/market"
)

// priceBatchSize is how many price rows the Writer collects before handing
// them to the appending goroutine. Large enough that the hand-over costs
// nothing per row, small enough that three batches in flight stay a few MB.
const priceBatchSize = 32 << 10

// priceBatches is how many price batches an import has: one the parser
// fills, the others on their way to DuckDB (a price stream holds two).
const priceBatches = 4

// rowBatchSize is the batch size of the small tables.
const rowBatchSize = 2048

// poolKey is a pool's natural key: a change series and a daily series of
// the same PoolKey are different pools.
type poolKey struct {
	market.PoolKey
	daily bool
}

func (k poolKey) resolution() string {
	if k.daily {
		return market.ResolutionDaily
	}
	return market.ResolutionChange
}

// poolOrder is the time order of one pool's points within an import.
type poolOrder struct {
	last time.Time
	dir  int8 // 0: one point so far (or none), 1: rising, -1: falling
	seen bool
}

// observe records t for pool id and flags the import when the pool's
// times stop being strictly monotone.
func (w *Writer) observe(id int32, t time.Time) {
	if w.mayRepeat {
		return
	}
	if int(id) >= len(w.order) {
		w.order = append(w.order, make([]poolOrder, int(id)+1-len(w.order)+64)...)
	}
	o := &w.order[id]
	if !o.seen {
		o.last, o.seen = t, true
		return
	}
	var d int8
	switch t.Compare(o.last) {
	case 1:
		d = 1
	case -1:
		d = -1
	default:
		w.mayRepeat = true
		return
	}
	if o.dir != 0 && o.dir != d {
		w.mayRepeat = true
		return
	}
	o.dir, o.last = d, t
}

// newPool is a pool first seen in this import.
type newPool struct {
	id  int32
	key poolKey
}

// provKey is one (source, fetched_at) pair; prices refer to it by id.
type provKey struct {
	source  string
	fetched time.Time
}

// priceBatch holds price rows column-wise so AddPrice allocates nothing.
type priceBatch struct {
	pool   []int32
	ts     []int64 // Unix microseconds, DuckDB's TIMESTAMP resolution
	price  []float64
	bar    []market.Bar
	hasBar []bool
	prov   []int32
	// direct marks rows that cannot repeat a stored key: they go straight
	// into prices; the others go through staging and the anti-join.
	direct []bool
	// unread counts the rows a price stream has yet to copy.
	unread atomic.Int64
}

func newPriceBatch() *priceBatch {
	return &priceBatch{
		pool:   make([]int32, 0, priceBatchSize),
		ts:     make([]int64, 0, priceBatchSize),
		price:  make([]float64, 0, priceBatchSize),
		bar:    make([]market.Bar, 0, priceBatchSize),
		hasBar: make([]bool, 0, priceBatchSize),
		prov:   make([]int32, 0, priceBatchSize),
		direct: make([]bool, 0, priceBatchSize),
	}
}

func (b *priceBatch) reset() {
	b.pool, b.ts, b.price = b.pool[:0], b.ts[:0], b.price[:0]
	b.bar, b.hasBar, b.prov, b.direct = b.bar[:0], b.hasBar[:0], b.prov[:0], b.direct[:0]
}

// tsRange is a closed range of Unix microseconds, empty until the first add.
type tsRange struct {
	min, max int64
	ok       bool
}

func (r tsRange) outside(us int64) bool { return !r.ok || us < r.min || us > r.max }

func (r *tsRange) add(us int64) {
	if !r.ok {
		r.min, r.max, r.ok = us, us, true
		return
	}
	r.min, r.max = min(r.min, us), max(r.max, us)
}

// rangeOf returns ranges[id], empty beyond the slice.
func rangeOf(ranges []tsRange, id int32) tsRange {
	if int(id) < len(ranges) {
		return ranges[id]
	}
	return tsRange{}
}

// direct decides where a price row goes. A row whose time lies outside
// its pool's stored range and outside what this import has already
// written straight into prices for the pool cannot repeat a stored key:
// it is appended to prices directly (DuckDB writes full row groups to the
// file as they fill, so memory stays bounded). Only the other rows (a
// re-import, an overlap) are staged for the anti-join.
func (w *Writer) direct(pool int32, us int64) bool {
	if !rangeOf(w.stored, pool).outside(us) {
		return false
	}
	if int(pool) >= len(w.wrote) {
		w.wrote = append(w.wrote, make([]tsRange, int(pool)+1-len(w.wrote)+64)...)
	}
	r := &w.wrote[pool]
	if !r.outside(us) {
		return false
	}
	r.add(us)
	return true
}

// job is one batch for the appending goroutine: either prices or the rows
// of one small table (a slice of market values).
type job struct {
	prices *priceBatch
	table  string
	rows   any
	// mayRepeat is the Writer's mayRepeat when the batch left: the staged
	// rows so far may repeat a key among themselves.
	mayRepeat bool
}

// Writer takes the rows of one Import. Not safe for concurrent use.
//
// Add* validate a row, translate its pool and provenance to ids and buffer
// it; full batches go over a channel to a goroutine that owns the DuckDB
// connection and feeds the price stream and the Appenders, so parsing and
// storing overlap.
type Writer struct {
	run     RunInfo
	started time.Time
	done    <-chan struct{} // the Import's ctx.Done()
	ctxErr  func() error
	// pools is the store's pool-id cache. New pools go straight into it
	// (one map lookup per row) and are listed in newList, so Import can
	// take them out again if the import does not commit.
	pools     map[poolKey]int32
	newList   []newPool
	nextPool  int32
	lastKey   poolKey
	lastPool  int32
	havePool  bool
	prov      map[provKey]int32
	provList  []provKey
	provBase  int32
	lastProv  provKey
	lastProvI int32
	haveProv  bool

	batch  *priceBatch
	jobs   chan job
	free   chan *priceBatch
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error // first error of the appending goroutine
	closed bool

	minTS, maxTS int64            // Unix microseconds; valid when nPrices > 0
	added        map[string]int64 // rows per table but prices
	nPrices      int64

	// order tracks each pool's time order (indexed by pool id): the last
	// time seen and whether times rose or fell. While every pool's times
	// are strictly monotone no (pool, ts) can repeat within the import,
	// and the merge skips its de-duplication step.
	order     []poolOrder
	mayRepeat bool

	// stored is each pool's stored time range (by pool id) when the import
	// began, wrote the range this import appended directly.
	stored, wrote []tsRange
	// Set by the appending goroutine when it ends: rows stored directly
	// and by chunk merges, and whether staged rows remain to merge (in
	// stagedRange, possibly repeating among themselves).
	nDirect, nMerged int64
	stagedLeft       bool
	stagedRange      tsRange
	stagedRepeat     bool

	advisor   []market.AdvisorRow
	itypes    []market.InstanceType
	ondemand  []market.OnDemandPrice
	placement []market.PlacementScore
	events    []market.Event
	signals   []market.CapacitySignal
	zoneIDs   []market.ZoneID

	watermarks map[string]time.Time
	sha256     string // set by fill when only reading the input gives it
}

// SetRunSHA256 records the checksum of the import's input for its
// ingest_runs row, for inputs hashed while they are read.
func (w *Writer) SetRunSHA256(sum string) { w.sha256 = sum }

func (w *Writer) appendErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// check reports cancellation or an appending failure; it is called once per
// batch, not per row.
func (w *Writer) check() error {
	select {
	case <-w.done:
		return w.ctxErr()
	default:
	}
	return w.appendErr()
}

// errWriterClosed: a Writer kept past its Import's fill.
var errWriterClosed = errors.New("writer used after its import ended")

func (w *Writer) submit(j job) error {
	if w.closed {
		return errWriterClosed
	}
	if err := w.check(); err != nil {
		return err
	}
	select {
	case w.jobs <- j:
		return nil
	case <-w.done:
		return w.ctxErr()
	}
}

// Times a store accepts: from 1970 up to (not including) the year 3000.
var (
	minUnix = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// ErrInvalidRow marks a row the Writer refused for its content (a time out
// of range, an implausible price, text that is not UTF-8): the caller's
// bad-row policy applies, as for a row its parser refused.
var ErrInvalidRow = market.ErrInvalidRow

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidRow)
}

func validTime(field string, t time.Time) error {
	if sec := t.Unix(); sec < minUnix || sec >= maxUnix {
		if t.IsZero() {
			return invalid("field %s: zero time", field)
		}
		return invalid("field %s: time %s out of range (1970 to 2999)", field, t.Format(time.RFC3339))
	}
	return nil
}

// MaxPrice bounds every price the store takes, in USD per hour: far above
// any instance's on-demand price (the largest are a few hundred USD per
// hour), low enough that sums and squares over a series stay finite.
const MaxPrice = 1e6

func validPrice(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid("field %s: %v is not a finite number", field, v)
	}
	if v < 0 {
		return invalid("field %s: %v is negative", field, v)
	}
	if v > MaxPrice {
		return invalid("field %s: %v is above the plausible maximum %g", field, v, float64(MaxPrice))
	}
	return nil
}

// MaxText bounds every text field the store takes, in bytes: names,
// ids and sources are short; a field longer than this is a broken input.
const MaxText = 4096

// validText refuses text that is too long, not UTF-8 or holds NUL bytes
// (which DuckDB would store and every consumer would trip over).
func validText(field, v string) error {
	switch {
	case len(v) > MaxText:
		return invalid("field %s: %d bytes, more than %d", field, len(v), MaxText)
	case !utf8.ValidString(v):
		return invalid("field %s: invalid UTF-8", field)
	case strings.IndexByte(v, 0) >= 0:
		return invalid("field %s: NUL byte", field)
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return invalid("field %s: empty", field)
	}
	return validText(field, v)
}

// validTexts checks optional text fields (name, value pairs).
func validTexts(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := validText(fields[i], fields[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func validPoolKey(k market.PoolKey) error {
	if err := required("pool.cloud", k.Cloud); err != nil {
		return err
	}
	if err := required("pool.region", k.Region); err != nil {
		return err
	}
	if err := required("pool.instance_type", k.InstanceType); err != nil {
		return err
	}
	if err := validTexts("pool.zone", k.Zone, "pool.product", k.Product); err != nil {
		return err
	}
	if parent, ok := market.AWSLocalZoneGroup(k.Zone); ok && k.Cloud == market.AWS {
		// A region-level series of a Local Zone group ("us-west-2-lax-1").
		if parent != k.Region {
			return invalid("field pool.zone: Local Zone group %q is not in region %q", k.Zone, k.Region)
		}
		return nil
	}
	if k.Zone != "" && k.Cloud == market.AWS {
		r, err := market.RegionOfZone(k.Zone)
		if err != nil {
			return invalid("field pool.zone: %v", err)
		}
		if r != k.Region {
			return invalid("field pool.zone: zone %q is not in region %q", k.Zone, k.Region)
		}
		// A zone ID ("use1-az4") stands where the account's zone name is
		// not known; IDs are not checked against the zone-letter list.
		if _, isID := market.AWSRegionOfZoneID(k.Zone); !isID && !market.KnownZone(market.AWS, k.Zone) {
			return invalid("field pool.zone: %q is not a zone of region %s", k.Zone, r)
		}
	}
	return nil
}

// poolID returns the pool's id, assigning one when the pool is new.
func (w *Writer) poolID(k poolKey) (int32, error) {
	if w.havePool && k == w.lastKey {
		return w.lastPool, nil
	}
	id, ok := w.pools[k]
	if !ok {
		if err := validPoolKey(k.PoolKey); err != nil {
			return 0, err
		}
		if w.nextPool == math.MaxInt32 {
			return 0, errors.New("pool ids exhausted")
		}
		w.nextPool++
		id = w.nextPool
		w.pools[k] = id
		w.newList = append(w.newList, newPool{id: id, key: k})
	}
	w.lastKey, w.lastPool, w.havePool = k, id, true
	return id, nil
}

// provID returns the id of (source, fetched).
func (w *Writer) provID(source string, fetched time.Time) int32 {
	k := provKey{source, fetched}
	if w.haveProv && k.source == w.lastProv.source && k.fetched.Equal(w.lastProv.fetched) {
		return w.lastProvI
	}
	k.fetched = k.fetched.UTC()
	id, ok := w.prov[k]
	if !ok {
		id = w.provBase + int32(len(w.provList)) + 1
		w.prov[k] = id
		w.provList = append(w.provList, k)
	}
	w.lastProv, w.lastProvI, w.haveProv = k, id, true
	return id
}

// source and fetched default a row's provenance to the import's.
func (w *Writer) source(s string) (string, error) {
	if s == "" {
		s = w.run.Source
	}
	if s == "" {
		return "", errors.New("field source: empty (and the import names none)")
	}
	return s, nil
}

func (w *Writer) fetched(t time.Time) time.Time {
	if t.IsZero() {
		return w.started
	}
	return t
}

// AddPrice adds one price point. An empty Source or zero FetchedAt take the
// import's (RunInfo.Source, the import's start time). HasBar selects the
// daily pool of the key.
func (w *Writer) AddPrice(p market.PricePoint) error {
	if w.closed {
		return errWriterClosed
	}
	if err := validTime("time", p.Time); err != nil {
		return err
	}
	if err := validPrice("price", p.Price); err != nil {
		return err
	}
	if p.HasBar {
		for _, f := range [...]struct {
			name string
			v    float64
		}{{"open", p.Bar.Open}, {"high", p.Bar.High}, {"low", p.Bar.Low}, {"close", p.Bar.Close}} {
			if err := validPrice(f.name, f.v); err != nil {
				return err
			}
		}
	}
	pool, err := w.poolID(poolKey{p.Pool, p.HasBar})
	if err != nil {
		return err
	}
	return w.addPrice(pool, p)
}

// Pool returns a handle of key's change-series pool for this import,
// adding the pool when it is new. A parser that meets the same pool
// again and again hands the handle to AddPriceTo instead of the key, and
// the Writer skips looking the key up.
func (w *Writer) Pool(key market.PoolKey) (int32, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	return w.poolID(poolKey{key, false})
}

// AddPriceTo is AddPrice for the change-series pool of a handle from
// Pool; p.Pool and p.HasBar are not read.
func (w *Writer) AddPriceTo(pool int32, p market.PricePoint) error {
	if w.closed {
		return errWriterClosed
	}
	if pool <= 0 || pool > w.nextPool {
		return fmt.Errorf("price of pool handle %d, which this import did not give", pool)
	}
	if err := validTime("time", p.Time); err != nil {
		return err
	}
	if err := validPrice("price", p.Price); err != nil {
		return err
	}
	p.HasBar = false
	return w.addPrice(pool, p)
}

// addPrice adds a validated price of pool.
func (w *Writer) addPrice(pool int32, p market.PricePoint) error {
	src, err := w.source(p.Source)
	if err != nil {
		return err
	}
	prov := w.provID(src, w.fetched(p.FetchedAt))

	w.observe(pool, p.Time)
	b := w.batch
	if b == nil {
		return errWriterClosed
	}
	b.pool = append(b.pool, pool)
	us := p.Time.UnixMicro()
	b.ts = append(b.ts, us)
	b.price = append(b.price, p.Price)
	b.bar = append(b.bar, p.Bar)
	b.hasBar = append(b.hasBar, p.HasBar)
	b.prov = append(b.prov, prov)
	b.direct = append(b.direct, w.direct(pool, us))
	if w.nPrices == 0 || us < w.minTS {
		w.minTS = us
	}
	if w.nPrices == 0 || us > w.maxTS {
		w.maxTS = us
	}
	w.nPrices++
	if len(b.pool) == priceBatchSize {
		return w.flushPrices()
	}
	return nil
}

// flushPrices hands the current batch to the appender and takes a free one.
func (w *Writer) flushPrices() error {
	if len(w.batch.pool) == 0 {
		return nil
	}
	crashPoint("fill")
	if err := w.submit(job{prices: w.batch, mayRepeat: w.mayRepeat}); err != nil {
		return err
	}
	select {
	case w.batch = <-w.free:
	case <-w.done:
		w.batch = nil
		return w.ctxErr()
	}
	return nil
}

// AddAdvisor adds one Spot Instance Advisor row.
func (w *Writer) AddAdvisor(a market.AdvisorRow) error {
	if w.closed {
		return errWriterClosed
	}
	for _, f := range [...][2]string{{"region", a.Region}, {"os", a.OS}, {"instance_type", a.InstanceType}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	if a.Bucket < 0 || a.Bucket > 4 {
		return invalid("field bucket: %d is not 0-4", a.Bucket)
	}
	if a.SavingsPct < 0 || a.SavingsPct > 100 {
		return invalid("field savings_pct: %d is not 0-100", a.SavingsPct)
	}
	if err := validTime("snapshot", a.Snapshot); err != nil {
		return err
	}
	var err error
	if a.Source, err = w.source(a.Source); err != nil {
		return err
	}
	a.FetchedAt = w.fetched(a.FetchedAt)
	w.advisor = append(w.advisor, a)
	w.added["advisor"]++
	if len(w.advisor) == rowBatchSize {
		return w.flushSmall("advisor")
	}
	return nil
}

// AddInstanceType adds one catalogue entry.
func (w *Writer) AddInstanceType(t market.InstanceType) error {
	if w.closed {
		return errWriterClosed
	}
	if err := required("cloud", t.Cloud); err != nil {
		return err
	}
	if err := required("name", t.Name); err != nil {
		return err
	}
	if t.VCPU < 0 {
		return invalid("field vcpu: %d is negative", t.VCPU)
	}
	if t.GPUCount < 0 {
		return invalid("field gpu_count: %d is negative", t.GPUCount)
	}
	if err := validTexts("arch", t.Arch, "gpu_model", t.GPUModel, "gpu_manufacturer", t.GPUManufacturer, "source", t.Source); err != nil {
		return err
	}
	if err := validPrice("memory_gib", t.MemoryGiB); err != nil {
		return err
	}
	if err := validPrice("gpu_memory_gib", t.GPUMemoryGiB); err != nil {
		return err
	}
	var err error
	if t.Source, err = w.source(t.Source); err != nil {
		return err
	}
	t.FetchedAt = w.fetched(t.FetchedAt)
	w.itypes = append(w.itypes, t)
	w.added["instance_types"]++
	if len(w.itypes) == rowBatchSize {
		return w.flushSmall("instance_types")
	}
	return nil
}

// AddOnDemand adds one on-demand price.
func (w *Writer) AddOnDemand(o market.OnDemandPrice) error {
	if w.closed {
		return errWriterClosed
	}
	for _, f := range [...][2]string{{"cloud", o.Cloud}, {"region", o.Region}, {"instance_type", o.InstanceType}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := validTexts("product", o.Product, "source", o.Source); err != nil {
		return err
	}
	if err := validTime("date", o.Date); err != nil {
		return err
	}
	if err := validPrice("price", o.Price); err != nil {
		return err
	}
	var err error
	if o.Source, err = w.source(o.Source); err != nil {
		return err
	}
	o.FetchedAt = w.fetched(o.FetchedAt)
	w.ondemand = append(w.ondemand, o)
	w.added["ondemand_prices"]++
	if len(w.ondemand) == rowBatchSize {
		return w.flushSmall("ondemand_prices")
	}
	return nil
}

// AddPlacementScore adds one placement score. The request's instance types
// are stored sorted, so the same request in another order is the same key.
func (w *Writer) AddPlacementScore(p market.PlacementScore) error {
	if w.closed {
		return errWriterClosed
	}
	if err := required("region", p.Region); err != nil {
		return err
	}
	if len(p.InstanceTypes) == 0 && p.Requirements == "" {
		return invalid("field instance_types: empty and no requirements")
	}
	for i, t := range p.InstanceTypes {
		if err := required(fmt.Sprintf("instance_types[%d]", i), t); err != nil {
			return err
		}
	}
	if err := validTexts("zone", p.Zone, "requirements", p.Requirements, "capacity_unit", p.CapacityUnit, "source", p.Source); err != nil {
		return err
	}
	if p.ScaleMax == 0 {
		p.ScaleMax = 10
	}
	if p.ScaleMax < 1 || p.ScaleMax > 10 {
		return invalid("field scale_max: %d is not 1-10", p.ScaleMax)
	}
	if p.Score < 1 || p.Score > p.ScaleMax {
		return invalid("field score: %d is not 1-%d", p.Score, p.ScaleMax)
	}
	if p.TargetCapacity < 0 {
		return invalid("field target_capacity: %d is negative", p.TargetCapacity)
	}
	if err := validTime("time", p.Time); err != nil {
		return err
	}
	var err error
	if p.Source, err = w.source(p.Source); err != nil {
		return err
	}
	p.FetchedAt = w.fetched(p.FetchedAt)
	p.InstanceTypes = slices.Clone(p.InstanceTypes)
	slices.Sort(p.InstanceTypes)
	w.placement = append(w.placement, p)
	w.added["placement_scores"]++
	if len(w.placement) == rowBatchSize {
		return w.flushSmall("placement_scores")
	}
	return nil
}

// AddEvent adds one interruption-related event.
func (w *Writer) AddEvent(e market.Event) error {
	if w.closed {
		return errWriterClosed
	}
	for _, f := range [...][2]string{{"cloud", e.Cloud}, {"region", e.Region}, {"kind", e.Kind}} {
		if err := required(f[0], f[1]); err != nil {
			return err
		}
	}
	if err := validTime("time", e.Time); err != nil {
		return err
	}
	if err := validTexts("zone", e.Zone, "instance_type", e.InstanceType, "instance_id", e.InstanceID,
		"event_id", e.EventID, "source", e.Source); err != nil {
		return err
	}
	if e.Count < 0 {
		return invalid("field count: %d is negative", e.Count)
	}
	var err error
	if e.Source, err = w.source(e.Source); err != nil {
		return err
	}
	e.FetchedAt = w.fetched(e.FetchedAt)
	w.events = append(w.events, e)
	w.added["events"]++
	if len(w.events) == rowBatchSize {
		return w.flushSmall("events")
	}
	return nil
}

// flushSmall hands a small table's pending rows to the appender.
func (w *Writer) flushSmall(table string) error {
	var rows any
	switch table {
	case "advisor":
		if len(w.advisor) == 0 {
			return nil
		}
		rows, w.advisor = w.advisor, nil
	case "instance_types":
		if len(w.itypes) == 0 {
			return nil
		}
		rows, w.itypes = w.itypes, nil
	case "ondemand_prices":
		if len(w.ondemand) == 0 {
			return nil
		}
		rows, w.ondemand = w.ondemand, nil
	case "placement_scores":
		if len(w.placement) == 0 {
			return nil
		}
		rows, w.placement = w.placement, nil
	case "events":
		if len(w.events) == 0 {
			return nil
		}
		rows, w.events = w.events, nil
	case "capacity_signals":
		if len(w.signals) == 0 {
			return nil
		}
		rows, w.signals = w.signals, nil
	case "zone_ids":
		if len(w.zoneIDs) == 0 {
			return nil
		}
		rows, w.zoneIDs = w.zoneIDs, nil
	}
	return w.submit(job{table: table, rows: rows})
}

// SetWatermark records that source (e.g. "aws-api:us-east-1") is complete
// up to t; it is written in the same transaction as the rows.
func (w *Writer) SetWatermark(source string, t time.Time) {
	w.watermarks[source] = t.UTC()
}

// finish flushes what is buffered and waits for the appending goroutine.
// Calls after the first do nothing.
func (w *Writer) finish() error {
	if w.closed {
		return nil
	}
	var err error
	if w.batch != nil {
		err = w.flushPrices()
	}
	for _, t := range [...]string{"advisor", "instance_types", "ondemand_prices", "placement_scores", "events", "capacity_signals", "zone_ids"} {
		if err == nil {
			err = w.flushSmall(t)
		}
	}
	w.closed = true
	close(w.jobs)
	w.wg.Wait()
	if err != nil {
		return err
	}
	return w.appendErr()
}

// appenders are the DuckDB Appenders of one import, one per staging table,
// opened on first use. Only the appending goroutine touches them.
type appenders struct {
	conn driver.Conn
	by   map[string]*duckdb.Appender
	args []driver.Value
	// prices and bars are by["prices"] and by["bars"] (the staging
	// tables), kept at hand; direct and directBars append to the prices
	// table itself.
	prices, bars       *duckdb.Appender
	direct, directBars *duckdb.Appender

	// nDirect counts rows appended to prices directly; staged the rows
	// staged since the last chunk merge, in time range stRange; merged the
	// rows chunk merges stored; repeat whether staged rows may repeat.
	nDirect, staged, merged int64
	stRange                 tsRange
	repeat                  bool
	// boxed caches interface values of small ids so appending a price row
	// does not allocate for its pool and provenance.
	boxed []driver.Value
	cache boxCache

	// stream is the running INSERT of direct rows, if any; ctx is the
	// import's, recycle gives a batch back to the Writer.
	stream  *priceStream
	ctx     context.Context
	recycle func(*priceBatch)
}

func (a *appenders) get(table string) (*duckdb.Appender, error) {
	if ap, ok := a.by[table]; ok {
		return ap, nil
	}
	ap, err := duckdb.NewAppender(a.conn, "temp", "main", "stage_"+table)
	if err != nil {
		return nil, fmt.Errorf("appender for %s: %w", table, err)
	}
	a.by[table] = ap
	return ap, nil
}

// boxCacheBits sizes the direct-mapped caches of boxed times and prices.
// Price files repeat both a lot (the per-AZ file has 917k rows but 220k
// distinct times and 32k distinct prices), and every value boxed anew is
// an allocation the garbage collector pays for later.
const boxCacheBits = 12

type boxed struct {
	bits uint64
	v    driver.Value
}

type boxCache struct {
	times  [1 << boxCacheBits]boxed
	stamps [1 << boxCacheBits]boxed
	floats [1 << boxCacheBits]boxed
}

func (c *boxCache) time(us int64) driver.Value {
	e := &c.times[(uint64(us)*0x9E3779B97F4A7C15)>>(64-boxCacheBits)]
	if e.v == nil || e.bits != uint64(us) {
		e.bits, e.v = uint64(us), us
	}
	return e.v
}

// stamp is time for a TIMESTAMP column, which the Appender takes as a
// time.Time.
func (c *boxCache) stamp(us int64) driver.Value {
	e := &c.stamps[(uint64(us)*0x9E3779B97F4A7C15)>>(64-boxCacheBits)]
	if e.v == nil || e.bits != uint64(us) {
		e.bits, e.v = uint64(us), time.UnixMicro(us).UTC()
	}
	return e.v
}

func (c *boxCache) float(f float64) driver.Value {
	bits := math.Float64bits(f)
	e := &c.floats[(bits*0x9E3779B97F4A7C15)>>(64-boxCacheBits)]
	if e.v == nil || e.bits != bits {
		e.bits, e.v = bits, f
	}
	return e.v
}

func (a *appenders) box(id int32) driver.Value {
	for int(id) >= len(a.boxed) {
		a.boxed = append(a.boxed, driver.Value(int32(len(a.boxed))))
	}
	return a.boxed[id]
}

// stageChunk is how many staged price rows are merged at a time: the
// staging table of a re-import or an overlapping import never holds more,
// whatever the file's size.
var stageChunk int64 = 2 << 20

func (a *appenders) appendDirect(b *priceBatch, i int) error {
	a.nDirect++
	if b.hasBar[i] {
		if a.directBars == nil {
			ap, err := duckdb.NewAppender(a.conn, "", "main", "prices")
			if err != nil {
				return fmt.Errorf("appender for prices: %w", err)
			}
			a.directBars = ap
		}
		args := a.args[:8]
		bar := b.bar[i]
		args[0] = a.box(b.pool[i])
		args[1] = a.cache.stamp(b.ts[i])
		args[2] = a.cache.float(b.price[i])
		args[3], args[4] = a.cache.float(bar.Open), a.cache.float(bar.High)
		args[5], args[6] = a.cache.float(bar.Low), a.cache.float(bar.Close)
		args[7] = a.box(b.prov[i])
		return a.directBars.AppendRow(args...)
	}
	if a.direct == nil {
		ap, err := duckdb.NewAppenderWithColumns(a.conn, "", "main", "prices", []string{"pool_id", "ts", "price", "prov_id"})
		if err != nil {
			return fmt.Errorf("appender for prices: %w", err)
		}
		a.direct = ap
	}
	args := a.args[:4]
	args[0] = a.box(b.pool[i])
	args[1] = a.cache.stamp(b.ts[i])
	args[2] = a.cache.float(b.price[i])
	args[3] = a.box(b.prov[i])
	return a.direct.AppendRow(args...)
}

// mergeStaged merges the staged chunk into prices (within the import's
// transaction, after the direct rows so far, which the anti-join sees)
// and empties the staging tables, so they never hold more than a chunk.
func (a *appenders) mergeStaged() error {
	if a.staged == 0 {
		return nil
	}
	crashPoint("merge")
	for _, ap := range []*duckdb.Appender{a.direct, a.directBars} {
		if ap != nil {
			if err := ap.Flush(); err != nil {
				return fmt.Errorf("flush prices: %w", err)
			}
		}
	}
	for _, t := range []string{"prices", "bars"} {
		if ap, ok := a.by[t]; ok {
			delete(a.by, t)
			if err := ap.Close(); err != nil {
				return fmt.Errorf("close appender for %s: %w", t, err)
			}
		}
	}
	a.prices, a.bars = nil, nil
	ex := a.conn.(driver.ExecerContext)
	q := mergePricesSQL
	if a.repeat {
		q = mergePricesDedupSQL
	}
	res, err := ex.ExecContext(context.Background(), q, []driver.NamedValue{
		{Ordinal: 1, Value: time.UnixMicro(a.stRange.min).UTC()},
		{Ordinal: 2, Value: time.UnixMicro(a.stRange.max).UTC()},
	})
	if err != nil {
		return fmt.Errorf("merge staged prices: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("merge staged prices: %w", err)
	}
	if _, err := ex.ExecContext(context.Background(), stagePricesDDL, nil); err != nil {
		return fmt.Errorf("empty staging: %w", err)
	}
	a.merged += n
	a.staged, a.stRange = 0, tsRange{}
	return nil
}

func (a *appenders) appendPrice(b *priceBatch, i int) error {
	if a.prices == nil {
		ap, err := a.get("prices")
		if err != nil {
			return err
		}
		a.prices = ap
	}
	args := a.args[:4]
	args[0] = a.box(b.pool[i])
	args[1] = a.cache.time(b.ts[i])
	args[2] = a.cache.float(b.price[i])
	args[3] = a.box(b.prov[i])
	return a.prices.AppendRow(args...)
}

func (a *appenders) appendBar(b *priceBatch, i int) error {
	if a.bars == nil {
		ap, err := a.get("bars")
		if err != nil {
			return err
		}
		a.bars = ap
	}
	args := a.args[:8]
	bar := b.bar[i]
	args[0] = a.box(b.pool[i])
	args[1] = a.cache.time(b.ts[i])
	args[2] = a.cache.float(b.price[i])
	args[3], args[4] = a.cache.float(bar.Open), a.cache.float(bar.High)
	args[5], args[6] = a.cache.float(bar.Low), a.cache.float(bar.Close)
	args[7] = a.box(b.prov[i])
	return a.bars.AppendRow(args...)
}

func (a *appenders) close() error {
	errs := []error{a.stopStream()}
	for _, ap := range []*duckdb.Appender{a.direct, a.directBars} {
		if ap != nil {
			if err := ap.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close appender for prices: %w", err))
			}
		}
	}
	for t, ap := range a.by {
		if err := ap.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close appender for %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// streamable reports whether every row of b goes straight into prices
// and none is a daily bar: the batches a price stream takes whole.
func streamable(b *priceBatch) bool {
	for i := range b.pool {
		if !b.direct[i] || b.hasBar[i] {
			return false
		}
	}
	return true
}

// stopStream ends the running price stream, if any, so the connection
// is free for the Appenders and the merges.
func (a *appenders) stopStream() error {
	if a.stream == nil {
		return nil
	}
	n, err := a.stream.close()
	a.stream = nil
	a.nDirect += n
	return err
}

// run takes one job. kept says a price stream took the job's batch (and
// gives it back itself once DuckDB has read it).
func (a *appenders) run(j job) (kept bool, err error) {
	if b := j.prices; b != nil && streamable(b) {
		if a.stream == nil {
			a.stream = startStream(a.ctx, a.conn, a.recycle)
		}
		if err := a.stream.send(b); err != nil {
			return false, err
		}
		a.repeat = j.mayRepeat
		return true, nil
	}
	if err := a.stopStream(); err != nil {
		return false, err
	}
	return false, a.runAppend(j)
}

// runAppend takes a job through the Appenders.
func (a *appenders) runAppend(j job) error {
	if b := j.prices; b != nil {
		for i := range b.pool {
			var err error
			switch {
			case b.direct[i]:
				err = a.appendDirect(b, i)
			case b.hasBar[i]:
				a.staged++
				a.stRange.add(b.ts[i])
				err = a.appendBar(b, i)
			default:
				a.staged++
				a.stRange.add(b.ts[i])
				err = a.appendPrice(b, i)
			}
			if err != nil {
				return fmt.Errorf("append price: %w", err)
			}
		}
		a.repeat = j.mayRepeat
		if a.staged >= stageChunk {
			return a.mergeStaged()
		}
		return nil
	}
	ap, err := a.get(j.table)
	if err != nil {
		return err
	}
	var appendErr error
	app := func(v ...driver.Value) {
		if appendErr == nil {
			appendErr = ap.AppendRow(v...)
		}
	}
	switch rows := j.rows.(type) {
	case []market.AdvisorRow:
		for _, r := range rows {
			app(r.Region, r.OS, r.InstanceType, int8(r.Bucket), int16(r.SavingsPct), dateOf(r.Snapshot), r.Source, r.FetchedAt)
		}
	case []market.InstanceType:
		for _, r := range rows {
			app(r.Cloud, r.Name, int32(r.VCPU), r.MemoryGiB, r.Arch, r.GPUModel, r.GPUManufacturer, int32(r.GPUCount), r.GPUMemoryGiB, r.Source, r.FetchedAt)
		}
	case []market.OnDemandPrice:
		for _, r := range rows {
			app(r.Cloud, r.Region, r.InstanceType, r.Product, dateOf(r.Date), r.Price, r.Source, r.FetchedAt)
		}
	case []market.PlacementScore:
		for _, r := range rows {
			app(r.Region, r.Zone, strings.Join(r.InstanceTypes, ","), r.Requirements, int32(r.TargetCapacity), r.CapacityUnit, int8(r.Score), r.Time, r.Source, r.FetchedAt, int8(r.ScaleMax))
		}
	case []market.Event:
		for _, r := range rows {
			app(r.Time, r.Cloud, r.Region, r.Zone, r.InstanceType, r.InstanceID, r.Kind, int32(r.Count), r.EventID, r.Source, r.FetchedAt)
		}
	case []market.CapacitySignal:
		for _, r := range rows {
			app(r.Cloud, r.Region, r.Zone, r.InstanceType, r.OS, r.Kind, r.Value, r.ValueHigh, r.Label, int32(r.TargetCapacity), r.Start, r.Time, r.Source, r.FetchedAt)
		}
	case []market.ZoneID:
		for _, r := range rows {
			app(r.Cloud, r.Region, r.Zone, r.ZoneID, r.Source, r.FetchedAt)
		}
	default:
		return fmt.Errorf("unknown batch %T", j.rows)
	}
	if appendErr != nil {
		return fmt.Errorf("append %s: %w", j.table, appendErr)
	}
	return nil
}

// dateOf is t's UTC calendar day at midnight, the value a DATE column keeps.
func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
