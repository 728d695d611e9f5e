package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/storage"
)

// Decoding an encoded forecast gives back the same forecast, as its JSON
// shows (every exported field, nil and empty slices told apart).
func TestCodecRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	e := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	for _, typ := range []string{"p3.2xlarge", "m5.large"} {
		p := poolOf(t, st, typ, "us-east-1b")
		pf, err := e.PriceForecast(ctx, PriceForecastRequest{Pool: Ref(p.PoolKey), Horizon: 30 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePrice(encodePrice(pf.PriceForecast), p.PoolKey)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "price forecast "+typ, got, pf.PriceForecast)
		hf, err := HazardForPool(ctx, st, p.PoolKey, simStoreEnd, hazard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		gh, err := decodeHazard(encodeHazard(hf), p.PoolKey)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "interruption forecast "+typ, gh, hf)
	}
	// Edge shapes: no steps, nil quantiles, irregular hours, nil windows.
	odd := forecast.PriceForecast{Model: "naive", Steps: []forecast.Step{{Time: simStoreEnd, Quantiles: []forecast.Quantile{{P: 0.3, Value: 1}}}}}
	got, err := decodePrice(encodePrice(odd), odd.Pool)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "odd price forecast", got, odd)
	oddH := hazard.Forecast{Hours: []hazard.Hour{{Time: simStoreEnd, Rate: 1}, {Time: simStoreEnd.Add(3 * time.Hour), Rate: 2}}}
	gotH, err := decodeHazard(encodeHazard(oddH), oddH.Pool)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "odd interruption forecast", gotH, oddH)
	empty, err := decodePrice(encodePrice(forecast.PriceForecast{}), odd.Pool)
	if err != nil || empty.Steps != nil {
		t.Errorf("empty forecast: %+v, %v", empty, err)
	}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s: decoded\n%s\nwant\n%s", what, g, w)
	}
}

// A truncated or foreign document is an error, never a panic or a
// forecast made up of zeros.
func TestCodecRejectsCorrupt(t *testing.T) {
	f := forecast.PriceForecast{Model: "auto", Steps: make([]forecast.Step, 3)}
	doc := encodePrice(f)
	for _, b := range [][]byte{nil, {}, {99}, doc[:len(doc)-1], append(slices.Clone(doc), 0)} {
		if _, err := decodePrice(b, f.Pool); !errors.Is(err, errCodec) {
			t.Errorf("price document of %d bytes: %v, want errCodec", len(b), err)
		}
	}
	hdoc := encodeHazard(hazard.Forecast{Hours: make([]hazard.Hour, 5)})
	for _, b := range [][]byte{nil, {2}, hdoc[:len(hdoc)/2]} {
		if _, err := decodeHazard(b, f.Pool); !errors.Is(err, errCodec) {
			t.Errorf("hazard document of %d bytes: %v, want errCodec", len(b), err)
		}
	}
}

// The codec writes every field of the forecast types: a field added to
// one of them must be added to codec.go (and its version raised), or the
// persisted forecasts would lose it.
func TestCodecCoversFields(t *testing.T) {
	for _, c := range []struct {
		typ  any
		want []string
	}{
		{forecast.PriceForecast{}, []string{"Pool", "Model", "Chosen", "Note", "Generated", "Origin", "Source", "Resolution", "StepSize", "Steps",
			"FitSeconds", "ValidationMASE", "ValidationMAERatio", "LastPrice", "Volatility", "Points"}},
		{forecast.Step{}, []string{"Time", "Mean", "Median", "Quantiles", "ProbUnchanged", "ProbBelow", "ProbRise", "RiseQuantiles"}},
		{forecast.Quantile{}, []string{"P", "Value"}},
		{hazard.Forecast{}, []string{"Pool", "Generated", "Source", "Hours", "Baseline", "Windows", "Prior", "PriorSource", "PriorTime", "Events", "ExposureHours",
			"Rebalances", "SiblingEvents", "SiblingExposureHours", "SiblingWeight", "SkippedEvents", "Level", "Dispersion", "FleetExponent", "Burst", "BurstDecayPerHour",
			"LastInterruption", "Params", "Posterior"}},
		{hazard.Params{}, []string{"HalfLifeHours", "Excitation", "DecayPerHour", "Frailty", "FleetExponent"}},
		{hazard.Hour{}, []string{"Time", "Rate", "Lo", "Hi", "Background"}},
		{hazard.Window{}, []string{"Start", "End", "PeakRate", "MeanRate"}},
		{hazard.Component{}, []string{"Weight", "Shape", "Rate"}},
	} {
		rt := reflect.TypeOf(c.typ)
		var got []string
		for i := range rt.NumField() {
			if rt.Field(i).IsExported() {
				got = append(got, rt.Field(i).Name)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s has fields %v; engine/codec.go encodes %v: update the codec and its version", rt, got, c.want)
		}
	}
}

// A preloaded batch (three bulk queries) reads the same inputs as one
// reading the store per pool.
func TestHazardBatchPreload(t *testing.T) {
	ctx := context.Background()
	st := simStore(t)
	now := simStoreEnd
	ps, err := st.Pools(ctx, storage.PoolFilter{})
	if err != nil {
		t.Fatal(err)
	}
	plain := NewHazardBatch(st, now, hazard.Options{})
	bulk := NewHazardBatch(st, now, hazard.Options{})
	if err := bulk.Preload(ctx, []string{"aws"}); err != nil {
		t.Fatal(err)
	}
	withAdvisor, withScore, withOD := 0, 0, 0
	for i, p := range ps {
		in := HazardInput{Key: p.PoolKey, Resolution: p.Resolution}
		if i%2 == 0 {
			in.Key.Product = "" // the store's choice among products
		}
		a, err := plain.Inputs(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bulk.Inputs(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		// The weekly profile sums over pools in map order: equal up to
		// rounding.
		sameProfile := (a.Profile == nil) == (b.Profile == nil)
		for h := 0; sameProfile && a.Profile != nil && h < len(a.Profile); h++ {
			sameProfile = math.Abs(a.Profile[h]-b.Profile[h]) <= 1e-9
		}
		if !reflect.DeepEqual(a.Advisor, b.Advisor) || !reflect.DeepEqual(a.Score, b.Score) || a.SpotPrice != b.SpotPrice ||
			a.OnDemand != b.OnDemand || !reflect.DeepEqual(a.Events, b.Events) || !reflect.DeepEqual(a.Siblings, b.Siblings) || !sameProfile {
			t.Fatalf("%s: preloaded inputs differ: advisor %v/%v, score %v/%v, spot %v/%v, on-demand %v/%v, events %d/%d, siblings %d/%d, same profile %v",
				in.Key, b.Advisor, a.Advisor, b.Score, a.Score, b.SpotPrice, a.SpotPrice, b.OnDemand, a.OnDemand,
				len(b.Events), len(a.Events), len(b.Siblings), len(a.Siblings), sameProfile)
		}
		if a.Advisor != nil {
			withAdvisor++
		}
		if a.Score != nil {
			withScore++
		}
		if a.OnDemand > 0 {
			withOD++
		}
	}
	if withAdvisor == 0 || withScore == 0 || withOD == 0 {
		t.Errorf("compared %d advisor rows, %d scores, %d on-demand prices: the test says nothing about some", withAdvisor, withScore, withOD)
	}
}
