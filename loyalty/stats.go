package loyalty

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// Daily aggregates for the manager's dashboard (package stats), written in
// the transaction of the ledger entry or coupon they count, on the local
// day of the programme's zone (Program.Location). Read them with
// stats.Read(tx, metric, fromDay, toDay). They start empty: events before
// a database ran this code are not counted.
const (
	// MetricPoints is points per day by movement, the dimension being one
	// of PointsEarned, PointsRedeemed, PointsExpired, PointsRefunded and
	// PointsAdjusted. Earned, redeemed, expired and refunded are amounts
	// (never negative); adjusted is the signed net of admin adjustments.
	// So earned − redeemed − expired − refunded + adjusted is the change in
	// the points members hold. Merges between two accounts of one person
	// move points without changing that total and are not counted.
	MetricPoints = "loyalty_points"
	// MetricPointsEarned splits PointsEarned by ledger reason: ReasonOrder,
	// ReasonCheckIn, ReasonStreak, ReasonReferral, ReasonSurvey and
	// ReasonImport (an import earns its points on the import's day).
	MetricPointsEarned = "loyalty_points_earned"
	// MetricCouponsIssued is coupons issued per day, the dimension being
	// "<right>:<origin>" (split it with SplitCouponDim): origin is
	// OriginRedeem for a coupon bought with points, else the grant's reason
	// (compensation, birthday, recall, welcome…).
	MetricCouponsIssued = "loyalty_coupons_issued"
	// MetricCouponsUsed is coupons used at checkout per day (the day of the
	// use), with the dimension of MetricCouponsIssued; a coupon issued
	// before coupons recorded their origin has origin OriginUnknown.
	MetricCouponsUsed = "loyalty_coupons_used"
)

// Dimensions of MetricPoints.
const (
	PointsEarned   = "earned"   // credits of KindEarn entries (orders, check-ins, streaks, referrals, surveys, imports)
	PointsRedeemed = "redeemed" // points spent on rights
	PointsExpired  = "expired"  // lots that reached their expiry
	PointsRefunded = "refunded" // points a refund took back (what was already spent is the entry's shortfall, not counted)
	PointsAdjusted = "adjusted" // admin adjustments, signed
)

// Coupon origins besides grant reasons (Coupon.Reason).
const (
	OriginRedeem  = "redeem"  // bought with points (Redeem)
	OriginUnknown = "unknown" // issued before coupons recorded their origin
)

// Stats is the recorder the programme counts with; its Day gives the
// day strings (in the programme's zone) that the metrics are keyed by.
func (p *Program) Stats() *stats.Recorder { return p.stats }

// SplitCouponDim splits a dimension of MetricCouponsIssued or
// MetricCouponsUsed into the right's id and the coupon's origin. Right ids
// never contain ':', so the first one separates them.
func SplitCouponDim(dim string) (right, origin string) {
	right, origin, _ = strings.Cut(dim, ":")
	return right, origin
}

func couponDim(c *Coupon) string {
	origin := c.Reason
	if origin == "" {
		origin = OriginUnknown
	}
	return c.Right + ":" + origin
}

// countEntry adds a new ledger entry to MetricPoints (and an earn to
// MetricPointsEarned). Only record calls it, once per entry.
func (p *Program) countEntry(tx store.Tx, e Entry) error {
	var move string
	n := e.Points
	switch e.Kind {
	case KindEarn:
		move = PointsEarned
	case KindRedeem:
		move, n = PointsRedeemed, -n
	case KindExpire:
		move, n = PointsExpired, -n
	case KindReverse:
		move, n = PointsRefunded, -n
	case KindAdjust:
		// Grants and freezes are zero-point adjustments (Add skips a zero);
		// a merge is a transfer, not a movement.
		if e.Reason == ReasonMerge {
			return nil
		}
		move = PointsAdjusted
	default:
		return nil
	}
	if err := p.stats.Add(tx, MetricPoints, move, e.Time, n); err != nil {
		return fmt.Errorf("count entry %d of %s: %w", e.Seq, e.Member, err)
	}
	if move == PointsEarned {
		if err := p.stats.Add(tx, MetricPointsEarned, e.Reason, e.Time, n); err != nil {
			return fmt.Errorf("count entry %d of %s: %w", e.Seq, e.Member, err)
		}
	}
	return nil
}

// scanProfiles calls fn with every member's id, tier and stage (an index
// into stageOrder) from the activity index alone, and returns the clock
// the stages were computed at. id and tier are only valid during the call;
// fn must not write to the activity index.
func (p *Program) scanProfiles(tx store.Tx, fn func(id, tier []byte, stage int) error) (time.Time, error) {
	now := p.now()
	nowN := unixNano(now)
	// Stage compares durations since a time; here each comparison is one
	// against a precomputed cut in unix ns, the same test rearranged.
	// No overflow: now is after 1970 and a Duration is at most MaxInt64.
	var (
		dormantCut = nowN - int64(p.opts.DormantAfter)
		atRiskCut  = nowN - int64(p.opts.AtRiskAfter)
		newCut     = nowN - int64(p.opts.NewFor)
		core       = uint64(p.opts.CoreOrders)
	)
	err := tx.Scan(bucketActivity, nil, func(k, v []byte) error {
		if len(v) < activityFixed {
			return fmt.Errorf("activity of %s: %d bytes, an index older than %s: run EnsureIndexes", k, len(v), indexMarker)
		}
		lastN := int64(binary.BigEndian.Uint64(v[actLast:]))
		created := int64(binary.BigEndian.Uint64(v[actCreated:]))
		orders := uint64(binary.BigEndian.Uint32(v[actOrders:]))
		// The cases of Stage, in its order.
		s := stGrowing
		switch {
		case lastN <= dormantCut:
			s = stDormant
		case lastN <= atRiskCut:
			s = stAtRisk
		case orders >= core:
			s = stCore
		case orders == 0 || created > newCut:
			s = stNew
		}
		return fn(k, v[activityFixed:], s)
	})
	return now, err
}

// EachProfile calls fn with every member's id, tier and lifecycle stage
// (as Stage computes it), merged members excluded, from the activity index
// alone: a segment's members among a million are found without decoding
// them. fn must not write members; collect ids and load them after.
func (p *Program) EachProfile(tx store.Tx, fn func(id, tier, stage string) error) error {
	_, err := p.scanProfiles(tx, func(id, tier []byte, s int) error {
		return fn(string(id), string(tier), stageOrder[s])
	})
	if err != nil {
		return fmt.Errorf("member profiles: %w", err)
	}
	return nil
}

// stageOrder numbers the stages for Census's counting arrays.
var stageOrder = [...]string{StageNew, StageGrowing, StageCore, StageAtRisk, StageDormant}

const (
	stNew = iota
	stGrowing
	stCore
	stAtRisk
	stDormant
)

// Census counts the programme's members (merged ones excluded) as of At.
// Every configured tier and every stage is present, with 0 when empty; a
// tier name no longer in the configuration appears under that name.
type Census struct {
	At    time.Time `json:"at"`
	Total int       `json:"total"`
	// Tiers: tier name → members.
	Tiers map[string]int `json:"tiers"`
	// Stages: lifecycle stage (as Stage computes it) → members.
	Stages map[string]int `json:"stages"`
	// TierStages: tier name → stage → members (at-risk gold members).
	TierStages map[string]map[string]int `json:"tier_stages"`
}

// Census counts members by tier and lifecycle stage from the activity
// index alone (one short row per member, no member decoded): a million
// members take a fraction of a second. A member's stage is exactly
// Stage(m) at the same clock. The index must be of the current format
// (EnsureIndexes at start-up sees to it); a row of an older one is an
// error, not a silently wrong count.
func (p *Program) Census(tx store.Tx) (Census, error) {
	type group struct {
		tier   []byte
		stages [len(stageOrder)]int
	}
	groups := make([]*group, 0, len(p.opts.Tiers))
	for _, t := range p.opts.Tiers {
		groups = append(groups, &group{tier: []byte(t.Name)})
	}
	var last *group
	now, err := p.scanProfiles(tx, func(_, tier []byte, s int) error {
		// A handful of tiers: comparing the name with the last tier seen,
		// then with each, is cheaper than a map keyed by a string built
		// per row.
		if last == nil || !bytes.Equal(last.tier, tier) {
			last = nil
			for _, g := range groups {
				if bytes.Equal(g.tier, tier) {
					last = g
					break
				}
			}
			if last == nil {
				last = &group{tier: bytes.Clone(tier)}
				groups = append(groups, last)
			}
		}
		last.stages[s]++
		return nil
	})
	if err != nil {
		return Census{}, fmt.Errorf("census: %w", err)
	}
	c := Census{At: now, Tiers: map[string]int{}, Stages: map[string]int{}, TierStages: map[string]map[string]int{}}
	for _, s := range stageOrder {
		c.Stages[s] = 0
	}
	for _, g := range groups {
		name := string(g.tier)
		byStage := make(map[string]int, len(stageOrder))
		n := 0
		for i, s := range stageOrder {
			byStage[s] = g.stages[i]
			c.Stages[s] += g.stages[i]
			n += g.stages[i]
		}
		c.Tiers[name], c.TierStages[name] = n, byStage
		c.Total += n
	}
	return c, nil
}
