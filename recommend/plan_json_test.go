package recommend

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

// A plan pool's mean outage is written in seconds, as its name says, and
// read back.
func TestPlanPoolJSONSeconds(t *testing.T) {
	p := PlanPool{Pool: market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1a", InstanceType: "p4d.24xlarge"},
		Price: 9.5, MeanOutage: 105 * time.Minute}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mean_outage_seconds":6300`) || !strings.Contains(string(b), `"price_usd_per_hour":9.5`) {
		t.Fatalf("JSON %s: want mean_outage_seconds 6300 and the price", b)
	}
	var back PlanPool
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.MeanOutage != p.MeanOutage || back.Price != p.Price || back.Pool != p.Pool {
		t.Errorf("round trip %+v, want %+v", back, p)
	}
	if b, _ := json.Marshal(PlanPool{Price: 1}); strings.Contains(string(b), "mean_outage") {
		t.Errorf("zero mean outage written: %s", b)
	}
}
