package bot

import (
	"fmt"
	"time"

	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/store"
)

// bucketOutcomes counts turns by outcome per hour: hour(8) outcome → u64.
// Hours (not local days) keep the counts zone-free; reports sum the hours
// of their own local period.
var bucketOutcomes = store.RegisterBucket("bot", "stats_outcomes")

// countOutcome adds one turn with outcome o at t, in the turn's
// transaction.
func countOutcome(tx store.Tx, t time.Time, o dialog.Outcome) error {
	if o == "" {
		return nil
	}
	key := append(store.U64(uint64(max(t.Unix()/3600, 0))), o...)
	n := uint64(0)
	if v := tx.Get(bucketOutcomes, key); len(v) == 8 {
		n = store.ParseU64(v)
	}
	if err := tx.Put(bucketOutcomes, key, store.U64(n+1)); err != nil {
		return fmt.Errorf("count outcome: %w", err)
	}
	return nil
}

// outcomesBetween sums the turns by outcome over the hours starting within
// [from, to).
func outcomesBetween(tx store.Tx, from, to time.Time) (map[dialog.Outcome]int, error) {
	out := map[dialog.Outcome]int{}
	lo := store.U64(uint64(max(from.Unix()/3600, 0)))
	hi := store.U64(uint64(max((to.Unix()+3599)/3600, 0)))
	err := tx.ScanRange(bucketOutcomes, lo, hi, func(k, v []byte) error {
		if len(k) > 8 && len(v) == 8 {
			out[dialog.Outcome(k[8:])] += int(store.ParseU64(v))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("turn outcomes: %w", err)
	}
	return out, nil
}
