package recommend

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestDalyWorkedExamples reproduces Daly 2006's worked examples (δ = 5 min,
// R = 10 min; Figs. 3-5: τ_opt = 117 min at M = 24 h, 57 min at M = 6 h,
// 9.1 min at M = 15 min). Computed by hand from eq. 37: 116.69, 56.71 and
// 9.141 min, so all three round to the published figures.
func TestDalyWorkedExamples(t *testing.T) {
	tests := []struct {
		mtbf    time.Duration
		want    float64 // minutes, as published
		roundTo float64
	}{
		{24 * time.Hour, 117, 1},
		{6 * time.Hour, 57, 1},
		{15 * time.Minute, 9.1, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.mtbf.String(), func(t *testing.T) {
			res, err := Checkpoint(CheckpointInput{
				CheckpointCost: 5 * time.Minute,
				RestartCost:    10 * time.Minute,
				MTBF:           tt.mtbf,
			})
			if err != nil {
				t.Fatal(err)
			}
			got := res.IntervalSeconds / 60
			if r := math.Round(got/tt.roundTo) * tt.roundTo; math.Abs(r-tt.want) > 1e-9 {
				t.Errorf("interval = %.3f min, rounds to %v, want %v", got, r, tt.want)
			}
			if res.Regime != "daly" || !res.PeriodicNeeded || res.EmergencyCheckpoint {
				t.Errorf("regime %q periodic %v emergency %v", res.Regime, res.PeriodicNeeded, res.EmergencyCheckpoint)
			}
			if res.ExpectedOverheadRatio <= 0 {
				t.Errorf("overhead %v, want > 0", res.ExpectedOverheadRatio)
			}
		})
	}
}

func TestYoungAndDalyFormulas(t *testing.T) {
	tests := []struct {
		delta, mtbf float64
		young, daly float64
	}{
		// sqrt(2*300*86400) = 7200; Daly adds 1/3 sqrt(x) + x/9 and subtracts δ.
		{300, 86400, 7200, 7200*(1+math.Sqrt(300.0/172800)/3+300.0/172800/9) - 300},
		// δ >= 2M: Daly falls back to τ = M.
		{100, 50, 100, 50},
		{100, 49.9, math.Sqrt(2 * 100 * 49.9), 49.9},
	}
	for _, tt := range tests {
		if got := YoungInterval(tt.delta, tt.mtbf); math.Abs(got-tt.young) > 1e-9 {
			t.Errorf("Young(%v, %v) = %v, want %v", tt.delta, tt.mtbf, got, tt.young)
		}
		if got := DalyInterval(tt.delta, tt.mtbf); math.Abs(got-tt.daly) > 1e-9 {
			t.Errorf("Daly(%v, %v) = %v, want %v", tt.delta, tt.mtbf, got, tt.daly)
		}
	}
}

// TestCheckpointOverheadMatchesDaly checks the overhead against Daly's
// complete cost function evaluated directly.
func TestCheckpointOverheadMatchesDaly(t *testing.T) {
	res, err := Checkpoint(CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 24 * time.Hour, RunLength: 500 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	M, d, R, tau := 86400.0, 300.0, 600.0, res.IntervalSeconds
	want := M*math.Exp(R/M)*(math.Exp((tau+d)/M)-1)/tau - 1
	if math.Abs(res.ExpectedOverheadRatio-want) > 1e-12 {
		t.Errorf("overhead %v, want %v", res.ExpectedOverheadRatio, want)
	}
	if math.Abs(res.ExpectedWallSeconds-500*3600*(1+want)) > 1e-6 {
		t.Errorf("wall %v", res.ExpectedWallSeconds)
	}
	// About (τ+δ)/2 is lost per interruption when τ << M.
	if lw := res.ExpectedLostWorkSeconds; lw < 0.45*(tau+d) || lw > 0.5*(tau+d) {
		t.Errorf("lost work %v s, want about %v", lw, (tau+d)/2)
	}
	if res.ExpectedTimeLostSeconds != res.ExpectedLostWorkSeconds+R {
		t.Errorf("time lost %v != lost work + R", res.ExpectedTimeLostSeconds)
	}
}

func TestCheckpointNotice(t *testing.T) {
	base := CheckpointInput{CheckpointCost: 90 * time.Second, RestartCost: 10 * time.Minute, MTBF: 6 * time.Hour}
	tests := []struct {
		name          string
		window        time.Duration
		missed        float64
		wantEmergency bool
		lossMTBF      time.Duration
		periodic      bool
	}{
		{"aws notice fits", NoticeAWS, 0.1, true, 60 * time.Hour, true},
		{"gcp notice too short", NoticeGCP, 0.1, false, 6 * time.Hour, true},
		{"no notice", 0, 0.1, false, 6 * time.Hour, true},
		{"every notice caught", NoticeAWS, 0, true, 0, false},
		{"every notice missed", NoticeAWS, 1, true, 6 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.NoticeWindow, in.MissedNoticeShare = tt.window, tt.missed
			res, err := Checkpoint(in)
			if err != nil {
				t.Fatal(err)
			}
			if insurance := tt.wantEmergency && tt.missed < 0.5; res.EmergencyCheckpoint != tt.wantEmergency || res.PeriodicIsInsurance != insurance {
				t.Errorf("emergency %v insurance %v, want %v, %v", res.EmergencyCheckpoint, res.PeriodicIsInsurance, tt.wantEmergency, insurance)
			}
			if math.Abs(res.LossMTBFSeconds-tt.lossMTBF.Seconds()) > 1e-6 {
				t.Errorf("loss MTBF %v s, want %v", res.LossMTBFSeconds, tt.lossMTBF.Seconds())
			}
			if res.PeriodicNeeded != tt.periodic {
				t.Errorf("periodic needed %v, want %v", res.PeriodicNeeded, tt.periodic)
			}
			if tt.periodic {
				want := DalyInterval(90, tt.lossMTBF.Seconds())
				if math.Abs(res.IntervalSeconds-want) > 1e-9 {
					t.Errorf("interval %v, want Daly at the loss MTBF %v", res.IntervalSeconds, want)
				}
			}
			if tt.wantEmergency && !strings.Contains(strings.Join(res.Explain.Notes, " "), "mostly insurance") && !strings.Contains(strings.Join(res.Explain.Notes, " "), "are insurance") {
				t.Errorf("notes do not say periodic checkpoints are insurance: %q", res.Explain.Notes)
			}
		})
	}
}

func TestCheckpointBadInput(t *testing.T) {
	ok := CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 24 * time.Hour}
	tests := []struct {
		name   string
		mut    func(*CheckpointInput)
		target error
		msg    string
	}{
		{"zero checkpoint cost", func(in *CheckpointInput) { in.CheckpointCost = 0 }, ErrInvalidInput, "checkpoint cost"},
		{"negative restart", func(in *CheckpointInput) { in.RestartCost = -time.Second }, ErrInvalidInput, "restart cost"},
		{"negative notice", func(in *CheckpointInput) { in.NoticeWindow = -time.Second }, ErrInvalidInput, "notice window"},
		{"no hazard", func(in *CheckpointInput) { in.MTBF = 0 }, ErrInvalidInput, "MTBF"},
		{"negative mtbf", func(in *CheckpointInput) { in.MTBF = -time.Hour }, ErrInvalidInput, "MTBF"},
		{"missed share > 1", func(in *CheckpointInput) { in.MissedNoticeShare = 1.5 }, ErrInvalidInput, "missed-notice"},
		{"missed share NaN", func(in *CheckpointInput) { in.MissedNoticeShare = math.NaN() }, ErrInvalidInput, "missed-notice"},
		{"negative run", func(in *CheckpointInput) { in.RunLength = -time.Hour }, ErrInvalidInput, "run length"},
		{"negative nodes", func(in *CheckpointInput) { in.Nodes = -1 }, ErrInvalidInput, "nodes"},
		{"bad hazard", func(in *CheckpointInput) { in.Hazard = Hazard{{Rate: math.Inf(1)}} }, ErrInvalidInput, "hazard step 0"},
		{"unsorted hazard", func(in *CheckpointInput) {
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			in.Hazard = Hazard{{Start: t0, Rate: 1}, {Start: t0, Rate: 2}}
		}, ErrInvalidInput, "not after"},
		{"hopeless", func(in *CheckpointInput) { in.MTBF = time.Second; in.CheckpointCost = time.Hour }, ErrNoProgress, "unbounded"},
		{"restarts eat all time", func(in *CheckpointInput) {
			in.MTBF = 5 * time.Minute
			in.NoticeWindow, in.CheckpointCost = NoticeAWS, time.Minute
		}, ErrNoProgress, "checkpoint and restart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.mut(&in)
			_, err := Checkpoint(in)
			if !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestCheckpointCostAboveMTBF: δ >= MTBF is an explained answer, not an
// error, while the overhead stays finite.
func TestCheckpointCostAboveMTBF(t *testing.T) {
	res, err := Checkpoint(CheckpointInput{CheckpointCost: 30 * time.Minute, RestartCost: 5 * time.Minute, MTBF: 12 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Regime != "interval-equals-mtbf" || res.IntervalSeconds != 720 {
		t.Errorf("regime %q interval %v, want interval-equals-mtbf and 720 s", res.Regime, res.IntervalSeconds)
	}
	if !strings.Contains(strings.Join(res.Explain.Notes, " "), "poor fit") {
		t.Errorf("notes do not explain: %q", res.Explain.Notes)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointJSONContract(t *testing.T) {
	res, err := Checkpoint(CheckpointInput{CheckpointCost: 5 * time.Minute, RestartCost: 10 * time.Minute, MTBF: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"interval_seconds", "expected_overhead_ratio", "expected_lost_work_seconds", "emergency_checkpoint_on_notice", "explain"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if v := m["interval_seconds"].(float64); math.Abs(v/60-116.69) > 0.01 {
		t.Errorf("interval_seconds = %v", v)
	}
}

// dailyPeak is a hazard that is calm (one interruption per 24 h) except
// for a two-hour window each day at one per 30 min, over days days.
func dailyPeak(start time.Time, days int) Hazard {
	var h Hazard
	for i := range 24 * days {
		r := 1.0 / 24
		if hr := i % 24; hr == 14 || hr == 15 {
			r = 2
		}
		h = append(h, HazardStep{Start: start.Add(time.Duration(i) * time.Hour), Rate: r, Lo: r / 2, Hi: r * 2})
	}
	return h
}

func TestCheckpointSchedule(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	in := CheckpointInput{
		CheckpointCost: 2 * time.Minute, RestartCost: 5 * time.Minute,
		Hazard: dailyPeak(start, 3), Start: start, RunLength: 48 * time.Hour,
	}
	res, err := Checkpoint(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Schedule) == 0 {
		t.Fatal("no schedule for a varying hazard")
	}
	// Denser in the peak: intervals there are much shorter.
	var peak, calm []float64
	for _, c := range res.Schedule {
		from := c.At.Add(-secs(c.IntervalSeconds))
		if h := c.At.Hour(); (h == 14 || h == 15) && from.Hour() >= 14 {
			peak = append(peak, c.IntervalSeconds)
		} else if h < 12 {
			calm = append(calm, c.IntervalSeconds)
		}
	}
	if len(peak) < 4 || len(calm) == 0 {
		t.Fatalf("peak checkpoints %d, calm %d", len(peak), len(calm))
	}
	if maxOf(peak...) >= minOf(calm...)/3 {
		t.Errorf("peak intervals %v not much shorter than calm %v", peak, calm)
	}
	for i := 1; i < len(res.Schedule); i++ {
		if !res.Schedule[i].At.After(res.Schedule[i-1].At) {
			t.Fatalf("schedule not increasing at %d", i)
		}
	}
	if !(res.ExpectedOverheadRatioLo < res.ExpectedOverheadRatio && res.ExpectedOverheadRatio < res.ExpectedOverheadRatioHi) {
		t.Errorf("overhead band %v %v %v not ordered", res.ExpectedOverheadRatioLo, res.ExpectedOverheadRatio, res.ExpectedOverheadRatioHi)
	}
}

func maxOf(xs ...float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

func minOf(xs ...float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

// TestCheckpointNoNaN: for any valid input the result is finite and
// encodes as JSON (a quick property test over random inputs).
func TestCheckpointNoNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dur := func(maxSec float64) time.Duration {
		return time.Duration(math.Exp(rng.Float64()*math.Log(maxSec)) * float64(time.Second))
	}
	for i := range 3000 {
		in := CheckpointInput{
			CheckpointCost:    dur(1e5) + time.Millisecond,
			RestartCost:       dur(1e5),
			NoticeWindow:      []time.Duration{0, NoticeAWS, NoticeGCP}[rng.IntN(3)],
			MissedNoticeShare: []float64{0, 1, rng.Float64()}[rng.IntN(3)],
			MTBF:              dur(1e7) + time.Millisecond,
			RunLength:         []time.Duration{0, dur(1e6)}[rng.IntN(2)],
			Nodes:             rng.IntN(64),
			Start:             start,
		}
		if rng.IntN(3) == 0 {
			for h := range 1 + rng.IntN(48) {
				r := math.Exp(rng.NormFloat64()*2 - 3)
				if rng.IntN(10) == 0 {
					r = 0
				}
				in.Hazard = append(in.Hazard, HazardStep{Start: start.Add(time.Duration(h) * time.Hour), Rate: r})
			}
		}
		res, err := Checkpoint(in)
		if err != nil {
			if !errors.Is(err, ErrNoProgress) {
				t.Fatalf("case %d %+v: unexpected error %v", i, in, err)
			}
			continue
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("case %d %+v: %v", i, in, err)
		}
		if res.IntervalSeconds < 0 || res.ExpectedOverheadRatio < 0 || res.ExpectedLostWorkSeconds < 0 {
			t.Fatalf("case %d %+v: negative result %+v", i, in, res)
		}
	}
}
