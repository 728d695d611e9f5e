package api

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Heavy jobs due at once (a restart's refit and backtest) run one after
// the other; a job that is not heavy runs beside them.
func TestSchedulerHeavyJobsOneAtATime(t *testing.T) {
	var heavyNow, heavyMax atomic.Int32
	var besideHeavy atomic.Bool
	done := make(chan string, 4)
	heavy := func(name string) Job {
		return Job{Name: name, AtStart: true, Heavy: true, Run: func(context.Context) error {
			n := heavyNow.Add(1)
			for m := heavyMax.Load(); n > m && !heavyMax.CompareAndSwap(m, n); m = heavyMax.Load() {
			}
			time.Sleep(50 * time.Millisecond)
			heavyNow.Add(-1)
			done <- name
			return nil
		}}
	}
	light := Job{Name: "light", AtStart: true, Run: func(context.Context) error {
		for i := 0; i < 2000 && !besideHeavy.Load(); i++ {
			besideHeavy.Store(heavyNow.Load() > 0)
			time.Sleep(time.Millisecond)
		}
		done <- "light"
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{Jobs: []Job{heavy("refit"), heavy("backtest"), heavy("third"), light}}
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	for range 4 {
		<-done
	}
	cancel()
	<-stopped
	if m := heavyMax.Load(); m != 1 {
		t.Errorf("%d heavy jobs ran at once, want 1", m)
	}
	if !besideHeavy.Load() {
		t.Error("the light job never ran beside a heavy one")
	}
}
