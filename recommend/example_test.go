package recommend_test

import (
	"fmt"
	"time"

	"github.com/spotcast/spotcast/recommend"
)

// Daly's worked example: a 5 min checkpoint, a 10 min restart and one
// interruption a day.
func ExampleCheckpoint() {
	res, err := recommend.Checkpoint(recommend.CheckpointInput{
		CheckpointCost: 5 * time.Minute,
		RestartCost:    10 * time.Minute,
		MTBF:           24 * time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("checkpoint every %.0f min, overhead %.1f%%\n", res.IntervalSeconds/60, 100*res.ExpectedOverheadRatio)
	// Output: checkpoint every 117 min, overhead 9.6%
}

// With AWS's two-minute notice and a 90 s checkpoint, periodic
// checkpoints only insure against the notices that are missed.
func ExampleCheckpoint_notice() {
	res, _ := recommend.Checkpoint(recommend.CheckpointInput{
		CheckpointCost:    90 * time.Second,
		RestartCost:       10 * time.Minute,
		NoticeWindow:      recommend.NoticeAWS,
		MissedNoticeShare: 0.1,
		MTBF:              6 * time.Hour,
	})
	fmt.Printf("insurance %v, every %.0f min\n", res.PeriodicIsInsurance, res.IntervalSeconds/60)
	// Output: insurance true, every 103 min
}
