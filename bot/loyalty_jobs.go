package bot

import (
	"fmt"
	"strconv"
	"time"

	"github.com/carebot/carebot/store"
)

// bucketLoyaltyJobs remembers which yearly reviews have run.
var bucketLoyaltyJobs = store.RegisterBucket("bot", "loyalty_jobs")

// LoyaltyMaintenance is what one maintenance run did.
type LoyaltyMaintenance struct {
	// Expired counts expire entries written for lots past their date.
	Expired int
	// Reviewed is true when this run did the year's tier review; Changes
	// counts the tiers it changed.
	Reviewed bool
	Changes  int
}

// RunLoyaltyMaintenance expires points past their date and, once a local
// year has begun, runs that year's tier review. Both are idempotent, so a
// restart or a second process changes nothing twice. On the very first
// run the current year counts as reviewed: a new installation (or one
// that just imported its members) must not downgrade anyone before a
// whole year has passed.
func (a *App) RunLoyaltyMaintenance() (LoyaltyMaintenance, error) {
	var res LoyaltyMaintenance
	if a.loyalty == nil {
		return res, nil
	}
	err := a.store.Update(func(tx store.Tx) error {
		n, err := a.loyalty.ExpireDue(tx)
		res.Expired = n
		return err
	})
	if err != nil {
		return res, fmt.Errorf("expire points: %w", err)
	}
	year := strconv.Itoa(a.now().In(a.loyalty.Location()).Year())
	err = a.store.Update(func(tx store.Tx) error {
		key := []byte("review:" + year)
		if tx.Get(bucketLoyaltyJobs, key) != nil {
			return nil
		}
		if tx.Count(bucketLoyaltyJobs) > 0 {
			changes, err := a.loyalty.YearlyReview(tx)
			if err != nil {
				return err
			}
			res.Reviewed, res.Changes = true, len(changes)
		}
		return tx.Put(bucketLoyaltyJobs, key, []byte(a.now().UTC().Format(time.RFC3339)))
	})
	if err != nil {
		return res, fmt.Errorf("yearly tier review: %w", err)
	}
	if res.Expired > 0 || res.Reviewed {
		a.log.Info("loyalty maintenance", "expired_entries", res.Expired, "reviewed", res.Reviewed, "tier_changes", res.Changes)
	}
	return res, nil
}

// loyaltyWorker runs the maintenance at start and every hour, so points
// expire on the day they should even when the bot runs for months.
func (a *App) loyaltyWorker(stop <-chan struct{}) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := a.RunLoyaltyMaintenance(); err != nil {
			a.log.Error("loyalty maintenance failed", "err", err)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
