package engine

import (
	"context"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// HasWeek tells whether the served forecasts hold the week forecast of
// every pool named, so that serve asks for no refit that would add none.
func TestHasWeek(t *testing.T) {
	st, e, _ := refitStore(t)
	other := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p3.2xlarge", Product: "Linux/UNIX"}
	withProduct := weekKey
	withProduct.Product = "Linux/UNIX"
	missing := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "x9.none", Product: "Linux/UNIX"}
	check := func(e *Engine, keys []market.PoolKey, want bool) {
		t.Helper()
		if got := e.HasWeek(keys); got != want {
			t.Errorf("HasWeek(%v) = %v, want %v", keys, got, want)
		}
	}
	check(e, nil, true)
	check(e, []market.PoolKey{weekKey}, true)
	check(e, []market.PoolKey{withProduct}, true)
	check(e, []market.PoolKey{weekKey, other}, false) // other was fitted for 24 h only
	check(e, []market.PoolKey{missing}, false)

	// A restart serves what the last run persisted.
	restarted := New(st, Options{Now: func() time.Time { return simStoreEnd }})
	check(restarted, []market.PoolKey{weekKey}, false) // nothing loaded yet
	if _, err := restarted.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(restarted, []market.PoolKey{weekKey}, true)
	check(restarted, []market.PoolKey{other}, false)
}
