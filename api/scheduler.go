package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Job is a task the scheduler repeats.
type Job struct {
	Name string
	// Every is the period (<= 0: the job never runs).
	Every time.Duration
	// AtStart runs the job once as soon as the scheduler starts.
	AtStart bool
	// Trigger, if set, runs the job whenever it receives (an ingest
	// asking for a refit), besides its period.
	Trigger <-chan struct{}
	Run     func(ctx context.Context) error
	// Heavy marks a job that keeps cores busy (a refit, a backtest):
	// heavy jobs run one at a time, so that, at a restart above all,
	// when every such job is due at once, they never take every core
	// from the requests.
	Heavy bool
}

// Quiet marks the error of a job run that the job has reported itself
// (an unreachable source said once, not every period): the scheduler
// counts the failure in its metrics but logs it at debug level only.
func Quiet(err error) error {
	if err == nil {
		return nil
	}
	return quietError{err}
}

type quietError struct{ err error }

func (q quietError) Error() string { return q.err.Error() }
func (q quietError) Unwrap() error { return q.err }

// Scheduler runs jobs periodically. A job never overlaps itself: a run
// that takes longer than the period delays the next one. Different jobs
// run concurrently (the store takes reads during an import), but Heavy
// ones one at a time.
type Scheduler struct {
	Jobs    []Job
	Metrics *Metrics // optional
	Logger  *slog.Logger
	// Now is the clock for the metrics' timestamps (nil: time.Now).
	Now func() time.Time
}

// Run runs the jobs until ctx ends, then waits for running jobs to see
// the cancellation and return.
func (s *Scheduler) Run(ctx context.Context) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	heavy := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, j := range s.Jobs {
		if j.Every <= 0 && !j.AtStart && j.Trigger == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := func() {
				if j.Heavy {
					select {
					case heavy <- struct{}{}:
						defer func() { <-heavy }()
					case <-ctx.Done():
						return
					}
				}
				start := time.Now()
				err := j.Run(ctx)
				d := time.Since(start)
				if ctx.Err() != nil {
					return // cut short by shutdown: neither a success nor a failure
				}
				s.Metrics.JobDone(j.Name, now(), d, err)
				var q quietError
				switch {
				case errors.As(err, &q):
					log.Debug("job failed", "job", j.Name, "duration_ms", d.Milliseconds(), "err", err)
				case err != nil:
					log.Error("job failed", "job", j.Name, "duration_ms", d.Milliseconds(), "err", err)
				default:
					log.Info("job done", "job", j.Name, "duration_ms", d.Milliseconds())
				}
			}
			if j.AtStart {
				run()
			}
			var tick <-chan time.Time
			if j.Every > 0 {
				t := time.NewTicker(j.Every)
				defer t.Stop()
				tick = t.C
			} else if j.Trigger == nil {
				return
			}
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick:
					run()
				case <-j.Trigger:
					run()
				}
			}
		}()
	}
	wg.Wait()
}
