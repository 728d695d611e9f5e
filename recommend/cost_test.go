package recommend

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestCostKnownAnswers(t *testing.T) {
	// Two g5.12xlarge at 2.00 spot vs 5.672 on demand, 10% overhead,
	// 8 useful GPUs, 3 h epochs.
	res, err := Cost(CostInput{SpotPrice: 2, OnDemand: 5.672, Instances: 2, UsefulGPUs: 8, OverheadRatio: 0.1, EpochTime: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	useful := 730 / 1.1
	tests := []struct {
		name      string
		got, want float64
	}{
		{"monthly spot", res.MonthlySpotUSD, 2 * 2 * 730},
		{"monthly on-demand", res.MonthlyOnDemandUSD, 2 * 5.672 * useful},
		{"savings", res.MonthlySavingsUSD, 2*5.672*useful - 2920},
		{"savings ratio", res.SavingsRatio, 1 - 2920/(2*5.672*useful)},
		{"per useful hour", res.EffectiveCostPerUsefulHour, 2.2},
		{"per useful GPU-hour", res.CostPerUsefulGPUHour, 2 * 2.2 / 8},
		{"per epoch", res.CostPerEpochUSD, 2 * 2 * 3 * 1.1},
		{"per epoch on demand", res.CostPerEpochOnDemandUSD, 2 * 5.672 * 3},
		{"epochs per month", res.EpochsPerMonth, useful / 3},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func TestCostSpotDearerThanOnDemand(t *testing.T) {
	res, err := Cost(CostInput{SpotPrice: 1, OnDemand: 1.2, OverheadRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if res.MonthlySavingsUSD >= 0 || len(res.Explain.Notes) < 2 {
		t.Errorf("savings %v notes %q: want a negative saving, explained", res.MonthlySavingsUSD, res.Explain.Notes)
	}
}

func TestCostBadInput(t *testing.T) {
	for name, in := range map[string]CostInput{
		"zero spot":      {},
		"NaN spot":       {SpotPrice: math.NaN()},
		"negative od":    {SpotPrice: 1, OnDemand: -1},
		"utilisation 2":  {SpotPrice: 1, Utilisation: 2},
		"negative epoch": {SpotPrice: 1, EpochTime: -time.Hour},
		"inf overhead":   {SpotPrice: 1, OverheadRatio: math.Inf(1)},
	} {
		if _, err := Cost(in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}
