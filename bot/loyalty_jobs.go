package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/store"
)

// Loyalty jobs on the scheduler: points expire every night, and tiers are
// reviewed once a year. Both are idempotent, so a catch-up run after a
// restart, a second process or a manual run changes nothing twice; a first
// start only records its baseline (cron never catches up a job it has not
// run before), so an installation that just imported its members does not
// downgrade anyone before a review date has passed.
const (
	jobPointsExpiry = "points-expiry"
	jobTierReview   = "tier-review"
)

// loyaltyCronJobs are the programme's scheduled jobs; none when it is off.
func (a *App) loyaltyCronJobs() []cron.Job {
	if a.loyalty == nil {
		return nil
	}
	return []cron.Job{
		{Name: jobPointsExpiry, Spec: a.cfg.Loyalty.ExpirySpec, Run: func(context.Context, time.Time) (cron.Result, error) {
			var n int
			err := a.store.Update(func(tx store.Tx) error {
				var err error
				n, err = a.loyalty.ExpireDue(tx)
				return err
			})
			if err != nil {
				return cron.Result{}, fmt.Errorf("expire points: %w", err)
			}
			return cron.Result{Queued: n, Note: fmt.Sprintf("%d expire entries", n)}, nil
		}},
		{Name: jobTierReview, Spec: a.cfg.Loyalty.ReviewSpec, Run: func(context.Context, time.Time) (cron.Result, error) {
			var n int
			err := a.store.Update(func(tx store.Tx) error {
				changes, err := a.loyalty.YearlyReview(tx)
				n = len(changes)
				return err
			})
			if err != nil {
				return cron.Result{}, fmt.Errorf("yearly tier review: %w", err)
			}
			return cron.Result{Queued: n, Note: fmt.Sprintf("%d tiers changed", n)}, nil
		}},
	}
}

// Scheduler returns the job scheduler (for `carebot cron` and tests).
func (a *App) Scheduler() *cron.Scheduler { return a.cron }
