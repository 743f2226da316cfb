// Package loyalty runs the loyalty programme: members and their chat
// identities, tiers, the points ledger with its expiring lots, check-in,
// referrals, the rights catalogue, redemption and coupons.
//
// Every function that reads or writes state takes a store.Tx, so that a
// caller composes several of them (and its own writes, such as an outbox
// message) into one transaction: a redemption debits points, decrements
// stock, issues the coupon and queues the reply, or does none of these.
//
// The ledger is append-only. Every entry carries an idempotency key; a
// second call with the same key returns the first result. A member's
// balance is the sum of its entries and is cached in the member record in
// the same transaction as the entry. Each credit is a lot that expires
// Options.LotMonths after it was earned; debits consume lots in expiry
// order (FIFO), so a point never appears twice and never disappears
// without an entry.
//
// The package decides and records; it sends nothing and never reads the
// wall clock (time comes from the clock given to New). It imports only
// store and stats, never channels, bot or bbolt. docs/loyalty.md describes
// the rules and every default.
//
// The manager's dashboard reads daily aggregates the package keeps as
// events happen (MetricPoints, MetricPointsEarned, MetricCouponsIssued,
// MetricCouponsUsed, read with stats.Read) and a member census from the
// activity index (Census), never the ledger or the member records.
package loyalty
