package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/report"
	"github.com/spotcast/spotcast/storage"
)

// Every duration in spotcast's JSON is a number of seconds: no
// time.Duration (nanoseconds) reaches the encoder through the documents
// the CLI, the HTTP API and the reports write. A Duration field is fine
// when a shallower field of the same JSON name shadows it (the answer
// types embed a result and override its duration in seconds) or when its
// type writes itself (a MarshalJSON).
func TestJSONDurationsInSeconds(t *testing.T) {
	for _, v := range []any{
		// HTTP and CLI answers.
		engine.PriceForecastResponse{}, engine.InterruptionForecastResponse{}, engine.PoolsResponse{},
		engine.PricesResponse{}, engine.BidResponse{}, engine.CheckpointResponse{}, engine.PlacementResponse{},
		engine.WorkloadPlan{}, engine.EventsResponse{}, engine.RefitResult{}, api.Status{},
		placementOutput{}, backtestOutput{}, storage.VerifyReport{},
		// Reports (report.json).
		report.Report{},
	} {
		typ := reflect.TypeOf(v)
		for _, bad := range durationPaths(typ, typ.String(), map[reflect.Type]bool{}) {
			t.Errorf("%s is a time.Duration in JSON (nanoseconds): write seconds", bad)
		}
	}
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// durationPaths lists the JSON paths under typ whose value is encoded as
// a time.Duration.
func durationPaths(typ reflect.Type, path string, seen map[reflect.Type]bool) []string {
	if typ == reflect.TypeFor[time.Duration]() {
		return []string{path}
	}
	if typ.Implements(jsonMarshaler) || reflect.PointerTo(typ).Implements(jsonMarshaler) {
		return nil
	}
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return durationPaths(typ.Elem(), path+"[]", seen)
	case reflect.Struct:
		if seen[typ] {
			return nil
		}
		seen[typ] = true
		var out []string
		for name, f := range jsonFields(typ) {
			out = append(out, durationPaths(f, path+"."+name, seen)...)
		}
		return out
	}
	return nil
}

// jsonFields are the fields encoding/json writes for a struct type, by
// JSON name: embedded structs' fields are promoted, and a name defined at
// a shallower depth hides the deeper ones.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	level := []reflect.Type{typ}
	for len(level) > 0 {
		found := map[string]reflect.Type{}
		var next []reflect.Type
		for _, st := range level {
			for i := range st.NumField() {
				f := st.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				ft := f.Type
				if f.Anonymous && name == "" {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct && !ft.Implements(jsonMarshaler) && !reflect.PointerTo(ft).Implements(jsonMarshaler) {
						next = append(next, ft)
						continue
					}
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if _, ok := out[name]; !ok {
					found[name] = f.Type
				}
			}
		}
		for name, ft := range found {
			out[name] = ft
		}
		level = next
	}
	return out
}
