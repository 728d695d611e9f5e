package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
)

// The persisted forecasts are stored as compact binary documents: a
// 33,000-pool store keeps two per pool, and a restart reads them all, so
// JSON (three times the size, ten times the decoding time) does not fit
// the 10 s start. Each document starts with its codec version; a field
// added to the forecast types must be added here too (TestCodecCoversFields
// fails until it is).
const (
	priceCodec byte = 1
	// hazardCodec 3 added the self-exciting model's fields and the prior's
	// source and data time. Older documents are refused (errCodec): the
	// pool is then forecast on demand until the next refit rewrites it.
	hazardCodec byte = 3
)

var errCodec = errors.New("corrupt forecast document")

type encoder struct{ b []byte }

func (e *encoder) u8(v byte)           { e.b = append(e.b, v) }
func (e *encoder) u32(v uint32)        { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) i64(v int64)         { e.b = binary.LittleEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) f64(v float64)       { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *encoder) str(s string)        { e.u32(uint32(len(s))); e.b = append(e.b, s...) }
func (e *encoder) dur(d time.Duration) { e.i64(int64(d)) }

// n writes a slice's length, 0 standing for a nil slice (so a decoded
// forecast marshals to the same JSON: null, not []).
func (e *encoder) n(length int, isNil bool) {
	if isNil {
		e.u32(0)
		return
	}
	e.u32(uint32(length) + 1)
}

// time stores the instant in nanoseconds (UTC); the zero time is a flag.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.u8(0)
		return
	}
	e.u8(1)
	e.i64(t.UnixNano())
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = errCodec
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.LittleEndian.Uint64(v))
	}
	return 0
}

func (d *decoder) f64() float64 {
	if v := d.take(8); v != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(v))
	}
	return 0
}

func (d *decoder) str() string {
	n := d.u32()
	if v := d.take(int(n)); v != nil {
		return string(v)
	}
	return ""
}

func (d *decoder) dur() time.Duration { return time.Duration(d.i64()) }

func (d *decoder) time() time.Time {
	if d.u8() == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.i64()).UTC()
}

// n reads what encoder.n wrote, refusing a length the rest of the
// document cannot hold (each element takes at least min bytes).
func (d *decoder) n(min int) (n int, isNil bool) {
	v := int(d.u32())
	if v == 0 {
		return 0, true
	}
	n = v - 1
	if d.err == nil && n*min > len(d.b) {
		d.err = errCodec
		return 0, true
	}
	return n, false
}

func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCodec
	}
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	return nil
}

// levels writes the P of a quantile list.
func (e *encoder) levels(qs []forecast.Quantile) {
	e.n(len(qs), qs == nil)
	for _, q := range qs {
		e.f64(q.P)
	}
}

func (d *decoder) levels() []float64 {
	n, isNil := d.n(8)
	if isNil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = d.f64()
	}
	return out
}

func sameLevels(qs []forecast.Quantile, ps []float64) bool {
	if len(qs) != len(ps) || (qs == nil) != (ps == nil) {
		return false
	}
	for i, q := range qs {
		if q.P != ps[i] {
			return false
		}
	}
	return true
}

// quantiles writes a step's quantiles: their values when their levels are
// the document's (flag 0), else levels and values (flag 1).
func (e *encoder) quantiles(qs []forecast.Quantile, ps []float64) {
	if sameLevels(qs, ps) {
		e.u8(0)
	} else {
		e.u8(1)
		e.levels(qs)
	}
	for _, q := range qs {
		e.f64(q.Value)
	}
}

func (d *decoder) quantiles(ps []float64) []forecast.Quantile {
	if d.u8() == 1 {
		ps = d.levels()
	}
	if ps == nil {
		return nil
	}
	if d.err == nil && len(ps)*8 > len(d.b) {
		d.err = errCodec
		return nil
	}
	out := make([]forecast.Quantile, len(ps))
	for i, p := range ps {
		out[i] = forecast.Quantile{P: p, Value: d.f64()}
	}
	return out
}

// encodePrice encodes a price forecast (its Pool is not stored: the row
// names it).
func encodePrice(f forecast.PriceForecast) []byte {
	e := &encoder{b: make([]byte, 0, 256+len(f.Steps)*200)}
	e.u8(priceCodec)
	e.str(f.Model)
	e.str(f.Chosen)
	e.str(f.Note)
	e.time(f.Generated)
	e.time(f.Origin)
	e.str(f.Source)
	e.str(f.Resolution)
	e.dur(f.StepSize)
	e.f64(f.FitSeconds)
	e.f64(f.ValidationMASE)
	e.f64(f.ValidationMAERatio)
	e.f64(f.LastPrice)
	e.f64(f.Volatility)
	e.i64(int64(f.Points))
	var qs, rs []forecast.Quantile
	if len(f.Steps) > 0 {
		qs, rs = f.Steps[0].Quantiles, f.Steps[0].RiseQuantiles
	}
	e.levels(qs)
	e.levels(rs)
	q, r := levelsOf(qs), levelsOf(rs)
	e.n(len(f.Steps), f.Steps == nil)
	for _, s := range f.Steps {
		e.time(s.Time)
		e.f64(s.Mean)
		e.f64(s.Median)
		e.f64(s.ProbUnchanged)
		e.f64(s.ProbBelow)
		e.f64(s.ProbRise)
		e.quantiles(s.Quantiles, q)
		e.quantiles(s.RiseQuantiles, r)
	}
	return e.b
}

func levelsOf(qs []forecast.Quantile) []float64 {
	if qs == nil {
		return nil
	}
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = q.P
	}
	return out
}

// decodePrice decodes what encodePrice wrote, for pool.
func decodePrice(b []byte, pool market.PoolKey) (forecast.PriceForecast, error) {
	d := &decoder{b: b}
	if v := d.u8(); d.err == nil && v != priceCodec {
		return forecast.PriceForecast{}, fmt.Errorf("price forecast: codec version %d, want %d: %w", v, priceCodec, errCodec)
	}
	f := forecast.PriceForecast{Pool: pool}
	f.Model = d.str()
	f.Chosen = d.str()
	f.Note = d.str()
	f.Generated = d.time()
	f.Origin = d.time()
	f.Source = d.str()
	f.Resolution = d.str()
	f.StepSize = d.dur()
	f.FitSeconds = d.f64()
	f.ValidationMASE = d.f64()
	f.ValidationMAERatio = d.f64()
	f.LastPrice = d.f64()
	f.Volatility = d.f64()
	f.Points = int(d.i64())
	q, r := d.levels(), d.levels()
	if n, isNil := d.n(43); !isNil {
		f.Steps = make([]forecast.Step, n)
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		s.Time = d.time()
		s.Mean = d.f64()
		s.Median = d.f64()
		s.ProbUnchanged = d.f64()
		s.ProbBelow = d.f64()
		s.ProbRise = d.f64()
		s.Quantiles = d.quantiles(q)
		s.RiseQuantiles = d.quantiles(r)
	}
	return f, d.done("price forecast")
}

// encodeHazard encodes an interruption forecast (its Pool is not stored).
func encodeHazard(f hazard.Forecast) []byte {
	e := &encoder{b: make([]byte, 0, 256+len(f.Hours)*25)}
	e.u8(hazardCodec)
	e.time(f.Generated)
	e.str(f.Source)
	e.f64(f.Baseline)
	e.str(f.Prior)
	e.i64(int64(f.Events))
	e.f64(f.ExposureHours)
	e.i64(int64(f.Rebalances))
	e.i64(int64(f.SiblingEvents))
	e.f64(f.SiblingExposureHours)
	e.f64(f.SiblingWeight)
	e.i64(int64(f.SkippedEvents))
	e.f64(f.Level)
	e.f64(f.Dispersion)
	e.str(f.PriorSource)
	e.time(f.PriorTime)
	e.f64(f.FleetExponent)
	e.f64(f.Burst)
	e.f64(f.BurstDecayPerHour)
	e.time(f.LastInterruption)
	e.f64(f.Params.HalfLifeHours)
	e.f64(f.Params.Excitation)
	e.f64(f.Params.DecayPerHour)
	e.f64(f.Params.Frailty)
	e.f64(f.Params.FleetExponent)
	e.n(len(f.Posterior), f.Posterior == nil)
	for _, c := range f.Posterior {
		e.f64(c.Weight)
		e.f64(c.Shape)
		e.f64(c.Rate)
	}
	e.n(len(f.Windows), f.Windows == nil)
	for _, w := range f.Windows {
		e.time(w.Start)
		e.time(w.End)
		e.f64(w.PeakRate)
		e.f64(w.MeanRate)
	}
	// Hours are usually consecutive: the first time, then each hour's
	// values; otherwise every time is stored.
	hourly := true
	for i := 1; i < len(f.Hours); i++ {
		if !f.Hours[i].Time.Equal(f.Hours[0].Time.Add(time.Duration(i) * time.Hour)) {
			hourly = false
			break
		}
	}
	e.n(len(f.Hours), f.Hours == nil)
	if hourly {
		e.u8(0)
		if len(f.Hours) > 0 {
			e.time(f.Hours[0].Time)
		}
	} else {
		e.u8(1)
	}
	for _, h := range f.Hours {
		if !hourly {
			e.time(h.Time)
		}
		e.f64(h.Rate)
		e.f64(h.Lo)
		e.f64(h.Hi)
		e.f64(h.Background)
	}
	return e.b
}

// decodeHazard decodes what encodeHazard wrote, for pool.
func decodeHazard(b []byte, pool market.PoolKey) (hazard.Forecast, error) {
	d := &decoder{b: b}
	v := d.u8()
	if d.err == nil && v != hazardCodec {
		return hazard.Forecast{}, fmt.Errorf("interruption forecast: codec version %d, want %d: %w", v, hazardCodec, errCodec)
	}
	f := hazard.Forecast{Pool: pool}
	f.Generated = d.time()
	f.Source = d.str()
	f.Baseline = d.f64()
	f.Prior = d.str()
	f.Events = int(d.i64())
	f.ExposureHours = d.f64()
	f.Rebalances = int(d.i64())
	f.SiblingEvents = int(d.i64())
	f.SiblingExposureHours = d.f64()
	f.SiblingWeight = d.f64()
	f.SkippedEvents = int(d.i64())
	f.Level = d.f64()
	f.Dispersion = d.f64()
	f.PriorSource = d.str()
	f.PriorTime = d.time()
	f.FleetExponent = d.f64()
	f.Burst = d.f64()
	f.BurstDecayPerHour = d.f64()
	f.LastInterruption = d.time()
	f.Params = hazard.Params{HalfLifeHours: d.f64(), Excitation: d.f64(), DecayPerHour: d.f64(), Frailty: d.f64(), FleetExponent: d.f64()}
	if n, isNil := d.n(24); !isNil {
		f.Posterior = make([]hazard.Component, n)
		for i := range f.Posterior {
			f.Posterior[i] = hazard.Component{Weight: d.f64(), Shape: d.f64(), Rate: d.f64()}
		}
	}
	if n, isNil := d.n(18); !isNil {
		f.Windows = make([]hazard.Window, n)
	}
	for i := range f.Windows {
		f.Windows[i] = hazard.Window{Start: d.time(), End: d.time(), PeakRate: d.f64(), MeanRate: d.f64()}
	}
	n, isNil := d.n(24)
	hourly := d.u8() == 0
	var start time.Time
	if hourly && n > 0 {
		start = d.time()
	}
	if !isNil {
		f.Hours = make([]hazard.Hour, n)
	}
	for i := range f.Hours {
		h := &f.Hours[i]
		if hourly {
			h.Time = start.Add(time.Duration(i) * time.Hour)
		} else {
			h.Time = d.time()
		}
		h.Rate, h.Lo, h.Hi, h.Background = d.f64(), d.f64(), d.f64(), d.f64()
	}
	return f, d.done("interruption forecast")
}
