package bot

import (
	"context"
	"fmt"

	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/store"
)

// Loyalty jobs on the scheduler: points expire every night (and, with care
// on, members whose points expire within loyalty.expiry_notice are told,
// once per expiry date), and tiers are reviewed once a year. Both are
// idempotent, so a catch-up run after a restart, a second process or a
// manual run changes nothing twice; a first start only records its
// baseline (cron never catches up a job it has not run before), so an
// installation that just imported its members does not downgrade anyone
// before a review date has passed.
//
// Expiry and review read the programme's clock, not the run's time: a
// manual run "as if" at another time still expires what is due now.
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
		{Name: jobPointsExpiry, Spec: a.cfg.Loyalty.ExpirySpec, Run: func(_ context.Context, r cron.Run) (cron.Result, error) {
			var res cron.Result
			var expired int
			err := updateOrDry(a, r, func(tx store.Tx) error {
				var err error
				if expired, err = a.loyalty.ExpireDue(tx); err != nil {
					return fmt.Errorf("expire points: %w", err)
				}
				if a.careJobs != nil && a.cfg.Loyalty.ExpiryNotice > 0 {
					if err := a.careJobs.expiryNotices(tx, r, &res, a.cfg.Loyalty.ExpiryNotice.D()); err != nil {
						return fmt.Errorf("expiry notices: %w", err)
					}
				}
				return nil
			})
			if err != nil {
				return cron.Result{}, err
			}
			res.Note = fmt.Sprintf("%d expire entries, %d notices queued", expired, res.Queued)
			return res, nil
		}},
		{Name: jobTierReview, Spec: a.cfg.Loyalty.ReviewSpec, Run: func(_ context.Context, r cron.Run) (cron.Result, error) {
			var n int
			err := updateOrDry(a, r, func(tx store.Tx) error {
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
