package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A job's Quiet error counts as a failure in the metrics but is not
// logged as an error: the job has said it already.
func TestSchedulerQuietError(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	ctx, cancel := context.WithCancel(context.Background())
	boom := errors.New("unreachable")
	s := &Scheduler{Metrics: m, Logger: log, Jobs: []Job{
		{Name: "quiet", AtStart: true, Run: func(context.Context) error { return Quiet(boom) }},
	}}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for i := 0; testutil.ToFloat64(m.jobRuns.WithLabelValues("quiet", "error")) != 1; i++ {
		if i > 3000 {
			t.Fatal("the quiet failure was never counted")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("quiet failure logged as an error: %s", buf.String())
	}
	if !errors.Is(Quiet(boom), boom) || Quiet(nil) != nil {
		t.Error("Quiet does not wrap")
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
