// Package cron runs carebot's scheduled jobs (birthday greetings, recall
// offers, surveys, expiry, reports) on top of github.com/robfig/cron/v3, and
// catches up on runs missed while the process was down.
//
// robfig/cron forgets missed runs: Start schedules from "now". This package
// therefore persists, per job, the last scheduled time it ran for (bucket
// "cron_runs") and, at start-up, runs once every job whose next scheduled
// time after that is already in the past.
//
// # Idempotency
//
// The scheduler may run a job more than once for the same period: a catch-up
// at start-up, a manual RunNow, two processes sharing a schedule, or a crash
// after the job's effects were committed but before its run was recorded.
// A job's effects must therefore be idempotent by key; every message a job
// queues carries the outbox key "job:member:period", so a second run for the
// same period sends nothing twice.
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	robfig "github.com/robfig/cron/v3"

	"github.com/carebot/carebot/store"
)

// bucketRuns holds one runRecord per job, keyed by job name.
var bucketRuns = store.RegisterBucket("cron", "cron_runs")

// DefaultZone is the time zone used when Options.Location is nil.
const DefaultZone = "Asia/Shanghai"

// Job is one scheduled task.
type Job struct {
	// Name identifies the job (in the database, logs and the CLI); unique.
	Name string
	// Spec is a standard 5-field cron spec ("0 9 * * *"), optionally
	// prefixed with "CRON_TZ=Zone " to override the scheduler's zone; the
	// descriptors robfig/cron accepts ("@daily", "@every 1h") work too.
	Spec string
	// Run does the work as if it were r.At (the scheduled time, or the
	// time given to RunNow). It must be idempotent by key (see the package
	// doc) and, when r.DryRun is set, change nothing.
	Run func(ctx context.Context, r Run) (Result, error)
}

// Run is one run of a job.
type Run struct {
	// At is the time the run is for.
	At time.Time
	// DryRun asks the job to report through Plan what it would do and to
	// change nothing.
	DryRun bool
	// Plan, when not nil, is told about each message the run queues (or,
	// in a dry run, would queue) and each member it passes over.
	Plan func(Planned)
}

// Report calls r.Plan if it is set.
func (r Run) Report(p Planned) {
	if r.Plan != nil {
		r.Plan(p)
	}
}

// Planned is one message of a run, or one recipient it passed over.
type Planned struct {
	Member  string    `json:"member"`
	Kind    string    `json:"kind"`
	Channel string    `json:"channel,omitempty"`
	ChatID  string    `json:"chat_id,omitempty"`
	SendAt  time.Time `json:"send_at,omitzero"`
	Text    string    `json:"text,omitempty"`
	// Skipped says why nothing goes to this member (no consent, the cap,
	// already sent…); empty for a message.
	Skipped string `json:"skipped,omitempty"`
}

// Result summarises one run of a job.
type Result struct {
	Queued  int    `json:"queued"`
	Skipped int    `json:"skipped"`
	Note    string `json:"note,omitempty"`
}

// Options tunes a Scheduler.
type Options struct {
	// Location is the default zone of the specs; nil means Asia/Shanghai,
	// or a fixed +08:00 zone when the tz database is unavailable (embed
	// time/tzdata in minimal images to get the real one).
	Location *time.Location
	// Now is the clock used for catch-up, baselines and RunNow bookkeeping;
	// nil means time.Now. (robfig/cron itself fires on the wall clock.)
	Now func() time.Time
	// Logger receives run, skip and panic reports; nil means slog.Default().
	Logger *slog.Logger
}

// Status describes a job for `carebot cron list`.
type Status struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// Last is the persisted last scheduled time the job ran for (or its
	// baseline, for a job that has never run); zero if unknown.
	Last time.Time `json:"last,omitzero"`
	// Next is the job's next scheduled time after now, in the scheduler's
	// zone (or the spec's CRON_TZ zone).
	Next time.Time `json:"next,omitzero"`
	// LastAt is the time the most recent run was for (may differ from Last
	// after a manual run for an earlier time); Finished is when it ended.
	LastAt     time.Time `json:"last_at,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	LastResult Result    `json:"last_result"`
	LastError  string    `json:"last_error,omitempty"`
}

// runRecord is the persisted state of one job.
type runRecord struct {
	Last     time.Time `json:"last"`               // latest scheduled time covered
	Baseline bool      `json:"baseline,omitempty"` // Last was set without running
	At       time.Time `json:"at,omitzero"`        // the at of the most recent run
	Finished time.Time `json:"finished,omitzero"`  // wall-clock end of that run
	Result   Result    `json:"result"`
	Error    string    `json:"error,omitempty"`
}

type entry struct {
	job   Job
	sched robfig.Schedule
}

// Scheduler runs a fixed set of jobs.
type Scheduler struct {
	st      *store.Store
	loc     *time.Location
	now     func() time.Time
	log     *slog.Logger
	jobs    []*entry
	byName  map[string]*entry
	started atomic.Bool
}

// ErrUnknownJob is returned by RunNow for a name no job has.
var ErrUnknownJob = errors.New("unknown cron job")

// New validates the jobs (non-empty unique names, a Run function, specs that
// robfig/cron's standard parser accepts) and returns a scheduler over st.
func New(st *store.Store, opts Options, jobs ...Job) (*Scheduler, error) {
	if st == nil {
		return nil, errors.New("cron: nil store")
	}
	s := &Scheduler{
		st:     st,
		loc:    opts.Location,
		now:    opts.Now,
		log:    opts.Logger,
		byName: make(map[string]*entry, len(jobs)),
	}
	if s.loc == nil {
		s.loc = defaultLocation()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "cron")
	for _, j := range jobs {
		if j.Name == "" {
			return nil, fmt.Errorf("cron: job with spec %q has no name", j.Spec)
		}
		if j.Run == nil {
			return nil, fmt.Errorf("cron: job %s has no Run function", j.Name)
		}
		if _, dup := s.byName[j.Name]; dup {
			return nil, fmt.Errorf("cron: duplicate job name %q", j.Name)
		}
		sched, err := robfig.ParseStandard(j.Spec)
		if err != nil {
			return nil, fmt.Errorf("cron: job %s: bad spec %q: %w", j.Name, j.Spec, err)
		}
		e := &entry{job: j, sched: sched}
		s.jobs = append(s.jobs, e)
		s.byName[j.Name] = e
	}
	return s, nil
}

// defaultLocation loads Asia/Shanghai, falling back to a fixed +08:00 zone.
func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation(DefaultZone); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// Location is the scheduler's default zone.
func (s *Scheduler) Location() *time.Location { return s.loc }

// next is the entry's next scheduled time strictly after t, evaluated in the
// scheduler's zone unless the spec carries its own CRON_TZ.
func (s *Scheduler) next(e *entry, t time.Time) time.Time {
	return e.sched.Next(t.In(s.loc))
}

// Start catches up and then runs the jobs on schedule until ctx ends; it
// returns after the jobs still running have finished. Call it once.
//
// Catch-up: for each job with a persisted last run where the next scheduled
// time after it is not after now, the job runs once now, as if at the latest
// scheduled time that was missed (earlier missed periods are not replayed).
// A job never run before is not caught up: its baseline is now.
func (s *Scheduler) Start(ctx context.Context) {
	if !s.started.CompareAndSwap(false, true) {
		s.log.Error("cron scheduler started twice; ignoring the second Start")
		return
	}
	s.catchUp(ctx)
	if ctx.Err() != nil {
		return
	}
	l := slogAdapter{s.log}
	c := robfig.New(
		robfig.WithLocation(s.loc),
		robfig.WithLogger(l),
		robfig.WithChain(s.chain()...),
	)
	for _, e := range s.jobs {
		c.Schedule(e.sched, s.scheduledJob(ctx, e))
	}
	c.Start()
	s.log.Info("cron scheduler started", "jobs", len(s.jobs), "zone", s.loc.String())
	<-ctx.Done()
	<-c.Stop().Done()
	s.log.Info("cron scheduler stopped")
}

// chain is the wrapper chain for robfig/cron. SkipIfStillRunning must be
// outermost: inside Recover, one panic would leave its lock held and block
// the job forever (see PLATFORMS.md §6).
func (s *Scheduler) chain() []robfig.JobWrapper {
	l := slogAdapter{s.log}
	return []robfig.JobWrapper{robfig.SkipIfStillRunning(l), robfig.Recover(l)}
}

// scheduledJob is what robfig/cron runs for e: the run is for the current
// minute, and is skipped if the persisted last run already covers it (a
// catch-up in the same minute, or another process).
func (s *Scheduler) scheduledJob(ctx context.Context, e *entry) robfig.Job {
	return robfig.FuncJob(func() {
		at := s.now().In(s.loc).Truncate(time.Minute)
		rec, _, err := s.load(e.job.Name)
		if err != nil {
			s.log.Error("cron: read last run", "job", e.job.Name, "err", err)
		} else if !rec.Baseline && !rec.Last.IsZero() && !rec.Last.Before(at) {
			s.log.Info("cron: run already recorded, skipping", "job", e.job.Name, "at", at)
			return
		}
		s.runAndRecord(ctx, e, Run{At: at})
	})
}

// catchUp runs each overdue job once and records baselines for new jobs.
func (s *Scheduler) catchUp(ctx context.Context) {
	now := s.now()
	for _, e := range s.jobs {
		if ctx.Err() != nil {
			return
		}
		rec, ok, err := s.load(e.job.Name)
		if err != nil {
			s.log.Error("cron: read last run; not catching up", "job", e.job.Name, "err", err)
			continue
		}
		if !ok || rec.Last.IsZero() {
			if err := s.saveBaseline(e.job.Name, now); err != nil {
				s.log.Error("cron: record baseline", "job", e.job.Name, "err", err)
			}
			continue
		}
		at, due := s.missed(e, rec.Last, now)
		if !due {
			continue
		}
		s.log.Info("cron: catching up a missed run", "job", e.job.Name, "last", rec.Last, "at", at)
		s.runAndRecord(ctx, e, Run{At: at})
	}
}

// maxMissedSteps bounds the walk to the latest missed time (a minutely job
// after a long outage); beyond it the catch-up runs as if at now.
const maxMissedSteps = 100000

// missed reports whether a run after last is due by now and, if so, the
// latest scheduled time not after now.
func (s *Scheduler) missed(e *entry, last, now time.Time) (time.Time, bool) {
	t := s.next(e, last)
	if t.IsZero() || t.After(now) {
		return time.Time{}, false
	}
	for range maxMissedSteps {
		n := s.next(e, t)
		if n.IsZero() || n.After(now) {
			return t, true
		}
		t = n
	}
	return now.In(s.loc), true
}

// RunNow runs the named job once, as if it were at, and records the run.
// Manual runs are not guarded against overlapping scheduled runs: jobs are
// idempotent by key.
func (s *Scheduler) RunNow(ctx context.Context, name string, at time.Time) (Result, error) {
	return s.RunWith(ctx, name, Run{At: at})
}

// RunWith runs the named job once as r describes. A dry run is not
// recorded: it changes nothing, so the next catch-up still happens.
func (s *Scheduler) RunWith(ctx context.Context, name string, r Run) (Result, error) {
	e, ok := s.byName[name]
	if !ok {
		return Result{}, fmt.Errorf("cron: run %q: %w", name, ErrUnknownJob)
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	if r.DryRun {
		return s.safeRun(ctx, e, r)
	}
	return s.runAndRecord(ctx, e, r)
}

// Has reports whether a job of that name is scheduled.
func (s *Scheduler) Has(name string) bool { _, ok := s.byName[name]; return ok }

// runAndRecord runs e (recovering a panic) and persists the outcome.
func (s *Scheduler) runAndRecord(ctx context.Context, e *entry, r Run) (Result, error) {
	at := r.At
	start := s.now()
	res, err := s.safeRun(ctx, e, r)
	finished := s.now()
	attrs := []any{"job", e.job.Name, "at", at, "queued", res.Queued, "skipped", res.Skipped, "took", finished.Sub(start)}
	if err != nil {
		s.log.Error("cron: job failed", append(attrs, "err", err)...)
	} else {
		s.log.Info("cron: job done", attrs...)
	}
	if rerr := s.saveRun(e.job.Name, at, finished, res, err); rerr != nil {
		s.log.Error("cron: record run", "job", e.job.Name, "err", rerr)
		if err == nil {
			err = rerr
		}
	}
	return res, err
}

// safeRun calls the job's Run, turning a panic into an error.
func (s *Scheduler) safeRun(ctx context.Context, e *entry, r Run) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("cron: job panicked", "job", e.job.Name, "panic", r, "stack", string(debug.Stack()))
			res, err = Result{}, fmt.Errorf("cron job %s panicked: %v", e.job.Name, r)
		}
	}()
	res, err = e.job.Run(ctx, r)
	if err != nil {
		err = fmt.Errorf("cron job %s: %w", e.job.Name, err)
	}
	return res, err
}

func (s *Scheduler) load(name string) (runRecord, bool, error) {
	var rec runRecord
	var ok bool
	err := s.st.View(func(tx store.Tx) error {
		var err error
		ok, err = store.GetJSON(tx, bucketRuns, store.Key(name), &rec)
		return err
	})
	if err != nil {
		return runRecord{}, false, fmt.Errorf("load last run of %s: %w", name, err)
	}
	return rec, ok, nil
}

func (s *Scheduler) saveBaseline(name string, now time.Time) error {
	err := s.st.Update(func(tx store.Tx) error {
		var rec runRecord
		if _, err := store.GetJSON(tx, bucketRuns, store.Key(name), &rec); err != nil {
			return err
		}
		if !rec.Last.IsZero() {
			return nil // another writer got there first
		}
		rec.Last, rec.Baseline = now, true
		return store.PutJSON(tx, bucketRuns, store.Key(name), rec)
	})
	if err != nil {
		return fmt.Errorf("save baseline of %s: %w", name, err)
	}
	return nil
}

// saveRun records a run for at. Last only moves forward, so a manual run for
// an earlier time does not cause a catch-up at the next start.
func (s *Scheduler) saveRun(name string, at, finished time.Time, res Result, runErr error) error {
	err := s.st.Update(func(tx store.Tx) error {
		var rec runRecord
		if _, err := store.GetJSON(tx, bucketRuns, store.Key(name), &rec); err != nil {
			return err
		}
		if rec.Baseline || at.After(rec.Last) {
			rec.Last = at
		}
		rec.Baseline = false
		rec.At, rec.Finished, rec.Result, rec.Error = at, finished, res, ""
		if runErr != nil {
			rec.Error = runErr.Error()
		}
		return store.PutJSON(tx, bucketRuns, store.Key(name), rec)
	})
	if err != nil {
		return fmt.Errorf("save run of %s: %w", name, err)
	}
	return nil
}

// List reports every job in the order given to New, with its persisted last
// run and its next scheduled time after now.
func (s *Scheduler) List() ([]Status, error) {
	now := s.now()
	out := make([]Status, 0, len(s.jobs))
	for _, e := range s.jobs {
		rec, _, err := s.load(e.job.Name)
		if err != nil {
			return nil, fmt.Errorf("cron: list: %w", err)
		}
		out = append(out, Status{
			Name:       e.job.Name,
			Spec:       e.job.Spec,
			Last:       rec.Last,
			Next:       s.next(e, now),
			LastAt:     rec.At,
			Finished:   rec.Finished,
			LastResult: rec.Result,
			LastError:  rec.Error,
		})
	}
	return out, nil
}

// slogAdapter makes a *slog.Logger a robfig/cron Logger. robfig's Info
// messages (start, wake, run, schedule) go to Debug, except skips.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Info(msg string, kv ...any) {
	if msg == "skip" {
		a.l.Info("cron: skipped, previous run still running", kv...)
		return
	}
	a.l.Debug("cron: "+msg, kv...)
}

func (a slogAdapter) Error(err error, msg string, kv ...any) {
	a.l.Error("cron: "+msg, append(kv, "err", err)...)
}
