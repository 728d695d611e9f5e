package recommend

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func fixed(d time.Duration) func(time.Time) time.Duration {
	return func(time.Time) time.Duration { return d }
}

// simAt runs the simulation with common random numbers (the same seed
// for every policy compared), so differences between intervals are not
// drowned by noise.
func simAt(t *testing.T, cfg SimConfig, policy func(time.Time) time.Duration) SimResult {
	t.Helper()
	cfg.Interval = policy
	res, err := Simulate(cfg, rand.New(rand.NewPCG(7, 11)))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMonteCarloRecommendedInterval checks, by simulation, that the
// recommended interval's overhead is within 5% of the best interval found
// by searching a grid from 0.25x to 4x the recommendation in steps of 2^(1/8).
func TestMonteCarloRecommendedInterval(t *testing.T) {
	tests := []struct {
		name string
		in   CheckpointInput
		work time.Duration
		runs int
		// analytic model vs simulation, relative tolerance on overhead
		modelTol float64
	}{
		{"daly M=24h", CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 24 * time.Hour}, 500 * time.Hour, 300, 0.05},
		{"daly M=6h", CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 6 * time.Hour}, 500 * time.Hour, 200, 0.05},
		{"daly M=15min", CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 15 * time.Minute}, 50 * time.Hour, 100, 0.10},
		{"aws notice, 10% missed", CheckpointInput{CheckpointCost: 90 * time.Second, RestartCost: 10 * time.Minute, NoticeWindow: NoticeAWS, MissedNoticeShare: 0.1, MTBF: 6 * time.Hour}, 500 * time.Hour, 200, 0.05},
		{"8 nodes, M=48h each", CheckpointInput{CheckpointCost: 3 * time.Minute, RestartCost: 15 * time.Minute, MTBF: 48 * time.Hour, Nodes: 8}, 300 * time.Hour, 200, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.RunLength = tt.work
			rec, err := Checkpoint(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			cfg := SimConfig{
				Work: tt.work, CheckpointCost: tt.in.CheckpointCost, RestartCost: tt.in.RestartCost,
				NoticeWindow: tt.in.NoticeWindow, MissedNoticeShare: tt.in.MissedNoticeShare, Nodes: tt.in.Nodes,
				Hazard: ConstantHazard(tt.in.MTBF), Runs: tt.runs,
			}
			tau := secs(rec.IntervalSeconds)
			got := simAt(t, cfg, fixed(tau))
			best, bestTau := got, tau
			for k := -16; k <= 16; k++ {
				g := time.Duration(float64(tau) * math.Pow(2, float64(k)/8))
				if r := simAt(t, cfg, fixed(g)); r.OverheadRatio < best.OverheadRatio {
					best, bestTau = r, g
				}
			}
			t.Logf("recommended %v: simulated overhead %.4f (±%.4f), model %.4f; best grid %v: %.4f",
				tau.Round(time.Second), got.OverheadRatio, got.OverheadStdErr, rec.ExpectedOverheadRatio, bestTau.Round(time.Second), best.OverheadRatio)
			if got.OverheadRatio > 1.05*best.OverheadRatio {
				t.Errorf("recommended interval's overhead %.4f is more than 5%% above the best found %.4f (at %v)", got.OverheadRatio, best.OverheadRatio, bestTau)
			}
			if rel := math.Abs(rec.ExpectedOverheadRatio-got.OverheadRatio) / got.OverheadRatio; rel > tt.modelTol {
				t.Errorf("model overhead %.4f vs simulated %.4f: %.1f%% apart, tolerance %.0f%%", rec.ExpectedOverheadRatio, got.OverheadRatio, 100*rel, 100*tt.modelTol)
			}
		})
	}
}

// TestMonteCarloVaryingHazard: under a daily interruption peak, the
// hazard-following schedule beats every constant interval.
func TestMonteCarloVaryingHazard(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	h := dailyPeak(start, 30)
	in := CheckpointInput{CheckpointCost: 2 * time.Minute, RestartCost: 5 * time.Minute, Hazard: h, Start: start, RunLength: 200 * time.Hour}
	rec, err := Checkpoint(in)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := IntervalPolicy(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SimConfig{Work: in.RunLength, CheckpointCost: in.CheckpointCost, RestartCost: in.RestartCost, Hazard: h, Start: start, Runs: 300}
	got := simAt(t, cfg, pol)
	best, bestTau := SimResult{OverheadRatio: math.Inf(1)}, time.Duration(0)
	for k := 0; k <= 24; k++ {
		g := time.Duration(float64(5*time.Minute) * math.Pow(2, float64(k)/4))
		if r := simAt(t, cfg, fixed(g)); r.OverheadRatio < best.OverheadRatio {
			best, bestTau = r, g
		}
	}
	t.Logf("schedule: simulated overhead %.4f (±%.4f), model %.4f; best constant %v: %.4f",
		got.OverheadRatio, got.OverheadStdErr, rec.ExpectedOverheadRatio, bestTau.Round(time.Second), best.OverheadRatio)
	if got.OverheadRatio >= best.OverheadRatio {
		t.Errorf("schedule overhead %.4f not below the best constant interval's %.4f", got.OverheadRatio, best.OverheadRatio)
	}
	if rel := math.Abs(rec.ExpectedOverheadRatio-got.OverheadRatio) / got.OverheadRatio; rel > 0.15 {
		t.Errorf("model overhead %.4f vs simulated %.4f", rec.ExpectedOverheadRatio, got.OverheadRatio)
	}
}

func TestSimulateBadInput(t *testing.T) {
	ok := SimConfig{Work: time.Hour, CheckpointCost: time.Minute, Hazard: ConstantHazard(time.Hour), Interval: fixed(10 * time.Minute), Runs: 1}
	rng := rand.New(rand.NewPCG(1, 1))
	for name, mut := range map[string]func(*SimConfig){
		"no work":       func(c *SimConfig) { c.Work = 0 },
		"no checkpoint": func(c *SimConfig) { c.CheckpointCost = 0 },
		"no policy":     func(c *SimConfig) { c.Interval = nil },
		"zero interval": func(c *SimConfig) { c.Interval = fixed(0) },
		"no runs":       func(c *SimConfig) { c.Runs = 0 },
		"bad share":     func(c *SimConfig) { c.MissedNoticeShare = -1 },
		"empty hazard":  func(c *SimConfig) { c.Hazard = nil },
	} {
		c := ok
		mut(&c)
		if _, err := Simulate(c, rng); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	// A job that can never finish stops with ErrNoProgress.
	c := ok
	c.Hazard = ConstantHazard(time.Second)
	c.RestartCost = time.Hour
	if _, err := Simulate(c, rng); !errors.Is(err, ErrNoProgress) {
		t.Errorf("hopeless job: err = %v, want ErrNoProgress", err)
	}
}

// TestSimulateNoInterruptions: with a zero hazard the wall time is the
// work plus one checkpoint per full interval.
func TestSimulateNoInterruptions(t *testing.T) {
	res, err := Simulate(SimConfig{
		Work: 10 * time.Hour, CheckpointCost: time.Minute, Hazard: Hazard{{Rate: 0}},
		Interval: fixed(time.Hour), Runs: 3,
	}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (10*time.Hour + 9*time.Minute).Seconds(); res.MeanWallSeconds != want || res.MeanCheckpoints != 9 || res.MeanInterruptions != 0 {
		t.Errorf("got wall %v checkpoints %v interruptions %v, want %v, 9, 0", res.MeanWallSeconds, res.MeanCheckpoints, res.MeanInterruptions, want)
	}
}
