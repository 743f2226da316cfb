package cron

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	robfig "github.com/robfig/cron/v3"

	"github.com/carebot/carebot/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var shanghai = defaultLocation()

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "carebot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// counter is a job body that records the times it ran for.
type counter struct {
	mu  sync.Mutex
	ats []time.Time
}

func (c *counter) run(_ context.Context, r Run) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ats = append(c.ats, r.At)
	return Result{Queued: 1, Note: "ok"}, nil
}

func (c *counter) runs() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.ats...)
}

func newSched(t *testing.T, st *store.Store, clk *clock, jobs ...Job) *Scheduler {
	t.Helper()
	s, err := New(st, Options{Location: shanghai, Now: clk.Now, Logger: quiet()}, jobs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startBriefly runs Start with a context that is cancelled right after the
// catch-up phase (Start returns once robfig/cron has stopped).
func startBriefly(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Start(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Start did not return after cancel")
	}
}

func at(day, hour, minute int) time.Time {
	return time.Date(2025, 3, day, hour, minute, 0, 0, shanghai)
}

func TestCatchUpRunsMissedDailyJobOnce(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 8, 0)}
	var c counter
	job := Job{Name: "birthday", Spec: "0 9 * * *", Run: c.run}

	// First start: a baseline, no run.
	startBriefly(t, newSched(t, st, clk, job))
	if n := len(c.runs()); n != 0 {
		t.Fatalf("new job ran %d times at first start, want 0", n)
	}
	// Down from 08:00 to 09:30 on the 11th: the 09:00 runs of the 10th and
	// the 11th were missed; one catch-up run for the latest.
	clk.Set(at(11, 9, 30))
	startBriefly(t, newSched(t, st, clk, job))
	runs := c.runs()
	if len(runs) != 1 || !runs[0].Equal(at(11, 9, 0)) {
		t.Fatalf("catch-up runs = %v, want one at %v", runs, at(11, 9, 0))
	}
	// Restart again the same morning: nothing more is due.
	clk.Set(at(11, 11, 0))
	startBriefly(t, newSched(t, st, clk, job))
	if n := len(c.runs()); n != 1 {
		t.Fatalf("after second restart the job ran %d times, want 1", n)
	}
}

func TestJobThatRanOnTimeIsNotRerun(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 9, 0)}
	var c counter
	job := Job{Name: "recall", Spec: "0 10 * * *", Run: c.run}
	s := newSched(t, st, clk, job)
	// The 10:00 run happened (recorded as a scheduled run would be).
	clk.Set(at(10, 10, 0))
	if _, err := s.RunNow(context.Background(), "recall", at(10, 10, 0)); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(10, 23, 0))
	startBriefly(t, newSched(t, st, clk, job))
	if n := len(c.runs()); n != 1 {
		t.Fatalf("job ran %d times, want 1 (no catch-up)", n)
	}
}

func TestNewJobRecordsBaselineWithoutRunning(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 12, 0)}
	var c counter
	s := newSched(t, st, clk, Job{Name: "expiry", Spec: "0 2 * * *", Run: c.run})
	startBriefly(t, s)
	if n := len(c.runs()); n != 0 {
		t.Fatalf("new job ran %d times, want 0", n)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if !list[0].Last.Equal(at(10, 12, 0)) {
		t.Fatalf("baseline = %v, want %v", list[0].Last, at(10, 12, 0))
	}
	if !list[0].Finished.IsZero() {
		t.Fatalf("baseline has a finished time %v", list[0].Finished)
	}
	// After a long outage the baseline makes the missed 02:00 run due.
	clk.Set(at(12, 3, 0))
	startBriefly(t, newSched(t, st, clk, Job{Name: "expiry", Spec: "0 2 * * *", Run: c.run}))
	if runs := c.runs(); len(runs) != 1 || !runs[0].Equal(at(12, 2, 0)) {
		t.Fatalf("runs after outage = %v, want one at %v", runs, at(12, 2, 0))
	}
}

func TestPanicIsRecoveredAndRecorded(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 8, 0)}
	var c counter
	boom := Job{Name: "boom", Spec: "0 9 * * *", Run: func(context.Context, Run) (Result, error) { panic("kaboom") }}
	ok := Job{Name: "ok", Spec: "0 9 * * *", Run: c.run}
	startBriefly(t, newSched(t, st, clk, boom, ok)) // baselines

	clk.Set(at(10, 9, 5))
	s := newSched(t, st, clk, boom, ok)
	startBriefly(t, s) // both caught up; the panic must not stop "ok"
	if n := len(c.runs()); n != 1 {
		t.Fatalf("job after the panicking one ran %d times, want 1", n)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list[0].LastError, "kaboom") || !list[0].Last.Equal(at(10, 9, 0)) {
		t.Fatalf("boom status = %+v, want error with kaboom and last 09:00", list[0])
	}
	if list[1].LastError != "" || list[1].LastResult.Queued != 1 {
		t.Fatalf("ok status = %+v", list[1])
	}
	// RunNow recovers too, and returns the panic as an error.
	if _, err := s.RunNow(context.Background(), "boom", at(10, 9, 6)); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("RunNow error = %v, want the panic", err)
	}
}

func TestChainSkipsOverlappingRun(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 9, 0)}
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	var calls atomic.Int32
	job := Job{Name: "slow", Spec: "* * * * *", Run: func(context.Context, Run) (Result, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return Result{}, nil
	}}
	s := newSched(t, st, clk, job)
	wrapped := robfig.NewChain(s.chain()...).Then(s.scheduledJob(context.Background(), s.byName["slow"]))

	done := make(chan struct{})
	go func() { wrapped.Run(); close(done) }()
	<-started
	wrapped.Run() // overlaps: must return at once without calling Run
	close(release)
	<-done
	if n := calls.Load(); n != 1 {
		t.Fatalf("Run called %d times, want 1 (overlap skipped)", n)
	}
}

func TestChainPanicDoesNotBlockJob(t *testing.T) {
	// robfig's Recover inside SkipIfStillRunning: a panic escaping the job
	// is recovered and the next run is not blocked (the PLATFORMS.md trap).
	s := newSched(t, openStore(t), &clock{t: at(10, 9, 0)})
	var calls atomic.Int32
	raw := robfig.FuncJob(func() { calls.Add(1); panic("raw") })
	wrapped := robfig.NewChain(s.chain()...).Then(raw)
	for range 2 {
		finished := make(chan struct{})
		go func() { defer close(finished); wrapped.Run() }()
		select {
		case <-finished:
		case <-time.After(time.Second):
			t.Fatal("wrapped job blocked")
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("job ran %d times, want 2", n)
	}
}

func TestScheduledRunSkipsWhenAlreadyRecorded(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 9, 0)}
	var c counter
	s := newSched(t, st, clk, Job{Name: "daily", Spec: "0 9 * * *", Run: c.run})
	if _, err := s.RunNow(context.Background(), "daily", at(10, 9, 0)); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(10, 9, 0).Add(20 * time.Second))
	s.scheduledJob(context.Background(), s.byName["daily"]).Run()
	if n := len(c.runs()); n != 1 {
		t.Fatalf("job ran %d times, want 1", n)
	}
}

func TestRunNowRecordsLastRun(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: at(10, 12, 0)}
	var c counter
	s := newSched(t, st, clk, Job{Name: "survey", Spec: "0 9 * * *", Run: c.run})
	res, err := s.RunNow(context.Background(), "survey", at(9, 9, 0))
	if err != nil || res.Queued != 1 {
		t.Fatalf("RunNow = %+v, %v", res, err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	st0 := list[0]
	if !st0.Last.Equal(at(9, 9, 0)) || !st0.LastAt.Equal(at(9, 9, 0)) || st0.LastResult.Note != "ok" || !st0.Finished.Equal(at(10, 12, 0)) {
		t.Fatalf("status after RunNow = %+v", st0)
	}
	// An earlier manual run does not move Last back.
	if _, err := s.RunNow(context.Background(), "survey", at(1, 9, 0)); err != nil {
		t.Fatal(err)
	}
	list, _ = s.List()
	if !list[0].Last.Equal(at(9, 9, 0)) || !list[0].LastAt.Equal(at(1, 9, 0)) {
		t.Fatalf("status after earlier RunNow = %+v", list[0])
	}
	if _, err := s.RunNow(context.Background(), "nope", at(1, 9, 0)); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("unknown job error = %v", err)
	}
	// A job error is returned and recorded.
	s2 := newSched(t, st, clk, Job{Name: "fails", Spec: "0 9 * * *", Run: func(context.Context, Run) (Result, error) {
		return Result{}, errors.New("no coupons left")
	}})
	if _, err := s2.RunNow(context.Background(), "fails", at(10, 9, 0)); err == nil {
		t.Fatal("want the job's error")
	}
	list, _ = s2.List()
	if !strings.Contains(list[0].LastError, "no coupons left") {
		t.Fatalf("recorded error = %q", list[0].LastError)
	}
}

func TestListShowsNextInConfiguredZone(t *testing.T) {
	st := openStore(t)
	// 2025-03-10 02:00 UTC is 10:00 in Shanghai.
	clk := &clock{t: time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)}
	noop := func(context.Context, Run) (Result, error) { return Result{}, nil }
	s := newSched(t, st, clk,
		Job{Name: "birthday", Spec: "0 9 * * *", Run: noop},
		Job{Name: "report", Spec: "0 9 * * 1", Run: noop},
		Job{Name: "tokyo", Spec: "CRON_TZ=Asia/Tokyo 0 9 * * *", Run: noop},
	)
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"birthday": at(11, 9, 0), // today's 09:00 has passed
		"report":   at(17, 9, 0), // next Monday
		"tokyo":    at(11, 8, 0), // 09:00 Tokyo = 08:00 Shanghai
	}
	for _, st := range list {
		if !st.Next.Equal(want[st.Name]) {
			t.Errorf("%s next = %v, want %v", st.Name, st.Next, want[st.Name])
		}
	}
	if list[0].Next.Location().String() != shanghai.String() {
		t.Errorf("next is in %v, want %v", list[0].Next.Location(), shanghai)
	}
	if !list[0].Last.IsZero() {
		t.Errorf("never-started job has last %v", list[0].Last)
	}
}

func TestNewRefusesBadJobs(t *testing.T) {
	st := openStore(t)
	noop := func(context.Context, Run) (Result, error) { return Result{}, nil }
	cases := map[string][]Job{
		"bad spec":      {{Name: "a", Spec: "0 9 * *", Run: noop}},
		"seconds field": {{Name: "a", Spec: "0 0 9 * * *", Run: noop}},
		"bad zone":      {{Name: "a", Spec: "CRON_TZ=Mars/Olympus 0 9 * * *", Run: noop}},
		"duplicate":     {{Name: "a", Spec: "0 9 * * *", Run: noop}, {Name: "a", Spec: "0 10 * * *", Run: noop}},
		"no name":       {{Spec: "0 9 * * *", Run: noop}},
		"no run":        {{Name: "a", Spec: "0 9 * * *"}},
	}
	for name, jobs := range cases {
		if _, err := New(st, Options{Logger: quiet()}, jobs...); err == nil {
			t.Errorf("%s: New accepted %+v", name, jobs)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New accepted a nil store")
	}
	s, err := New(st, Options{Logger: quiet()}, Job{Name: "a", Spec: "0 9 * * *", Run: noop})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Location().String(); got != DefaultZone && got != "CST" {
		t.Errorf("default location = %s", got)
	}
}

func TestDryRunIsNotRecorded(t *testing.T) {
	st := openStore(t)
	clk := &clock{}
	clk.Set(at(10, 12, 0))
	var dry []bool
	job := Job{Name: "birthday", Spec: "0 9 * * *", Run: func(_ context.Context, r Run) (Result, error) {
		dry = append(dry, r.DryRun)
		r.Report(Planned{Member: "M1", Kind: "birthday"})
		return Result{Queued: 1}, nil
	}}
	s := newSched(t, st, clk, job)
	var planned []Planned
	res, err := s.RunWith(context.Background(), "birthday", Run{At: at(10, 9, 0), DryRun: true, Plan: func(p Planned) { planned = append(planned, p) }})
	if err != nil || res.Queued != 1 {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if len(planned) != 1 || planned[0].Member != "M1" || len(dry) != 1 || !dry[0] {
		t.Fatalf("planned %+v, dry flags %v", planned, dry)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if !list[0].Last.IsZero() || !list[0].LastAt.IsZero() {
		t.Fatalf("a dry run was recorded: %+v", list[0])
	}
	if _, err := s.RunWith(context.Background(), "nope", Run{}); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("unknown job: %v", err)
	}
}
