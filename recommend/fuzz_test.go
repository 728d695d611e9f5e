package recommend

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzCheckpoint: any input gives a JSON-encodable answer or an error
// wrapping ErrInvalidInput or ErrNoProgress; never a panic or a NaN.
func FuzzCheckpoint(f *testing.F) {
	f.Add(int64(5*time.Minute), int64(10*time.Minute), int64(0), 0.0, int64(24*time.Hour), int64(0), 0)
	f.Add(int64(90*time.Second), int64(10*time.Minute), int64(NoticeAWS), 0.1, int64(6*time.Hour), int64(100*time.Hour), 8)
	f.Add(int64(time.Hour), int64(0), int64(NoticeGCP), 1.0, int64(time.Second), int64(-1), -1)
	f.Fuzz(func(t *testing.T, delta, restart, window int64, missed float64, mtbf, run int64, nodes int) {
		in := CheckpointInput{
			CheckpointCost: time.Duration(delta), RestartCost: time.Duration(restart), NoticeWindow: time.Duration(window),
			MissedNoticeShare: missed, MTBF: time.Duration(mtbf), RunLength: time.Duration(run), Nodes: nodes % 1024,
		}
		res, err := Checkpoint(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrNoProgress) {
				t.Fatalf("%+v: unexpected error %v", in, err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if math.IsNaN(res.IntervalSeconds) || res.IntervalSeconds < 0 || res.ExpectedOverheadRatio < 0 {
			t.Fatalf("%+v: interval %v overhead %v", in, res.IntervalSeconds, res.ExpectedOverheadRatio)
		}
	})
}

// FuzzBid: any run length and confidence give a max price the forecast
// honours, or an ErrInvalidInput.
func FuzzBid(f *testing.F) {
	f.Add(int64(time.Hour), 0.95, 2.0, 5.0, 0.02)
	f.Add(int64(7*24*time.Hour), 0.99, 0.0, 0.0, 0.5)
	f.Add(int64(-1), 1.5, -1.0, math.NaN(), 0.0)
	f.Fuzz(func(t *testing.T, run int64, p, current, onDemand, sigma float64) {
		if !(sigma > 1e-6 && sigma < 10) {
			sigma = 0.05
		}
		in := BidInput{Pool: testPool, RunLength: time.Duration(run), Confidence: p, CurrentPrice: current, OnDemand: onDemand}
		res, err := Bid(in, bmOutlook{p0: 1, sigma: sigma})
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrUnanswerable) {
				t.Fatalf("%+v: unexpected error %v", in, err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if !res.CappedAtOnDemand && res.ProbStaysUnder < p-1e-9 {
			t.Fatalf("%+v: prob %v < p", in, res.ProbStaysUnder)
		}
	})
}
