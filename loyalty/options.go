package loyalty

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/carebot/carebot/stats"
)

// TierRule describes one tier. Tiers are listed from the lowest (threshold
// 0) upwards.
type TierRule struct {
	// Name is the stable identifier (regular, silver, gold, diamond).
	Name string `json:"name"`
	// Label is the display name per locale (zh-Hans, zh-Hant, en).
	Label map[string]string `json:"label,omitempty"`
	// Threshold is the qualifying points (purchase points of the last
	// QualifyMonths) at which a member reaches the tier.
	Threshold int64 `json:"threshold"`
	// Multiplier scales points earned from orders.
	Multiplier float64 `json:"multiplier"`
	// Discount is the share taken off a right's points cost (0.1 = 10%).
	Discount float64 `json:"discount"`
	// HandoffPriority orders the handoff queues (higher goes first).
	HandoffPriority int `json:"handoff_priority"`
}

// LabelIn returns the tier's label in locale, falling back to zh-Hans, then
// English, then the name.
func (t TierRule) LabelIn(locale string) string { return pick(t.Label, locale, t.Name) }

// Campaign multiplies order points on some dates, for some categories.
type Campaign struct {
	// Name identifies the campaign (the admin API's key).
	Name string `json:"name"`
	// From and To are local dates (YYYY-MM-DD), both inclusive.
	From string `json:"from"`
	To   string `json:"to"`
	// Multiplier scales order points while the campaign runs. When several
	// campaigns apply, the highest multiplier wins: campaigns do not stack.
	Multiplier float64 `json:"multiplier"`
	// Categories limit the campaign to these order categories; empty means
	// every category.
	Categories []string `json:"categories,omitempty"`
}

// Options are the programme's rules. Start from DefaultOptions.
type Options struct {
	// Tiers from the lowest (threshold 0) upwards.
	Tiers []TierRule
	// KeepRatio: at the yearly review a member keeps the tier with at least
	// KeepRatio × its threshold qualifying points (保级).
	KeepRatio float64
	// QualifyMonths is the window of purchase points that qualify for a
	// tier.
	QualifyMonths int
	// PointsPerUnit is the base earn rate per currency unit.
	PointsPerUnit float64
	// Currency, when set, is the only order currency accepted (points per
	// yuan are not points per yen); empty accepts any.
	Currency string
	// CategoryMultipliers scale order points per category (absent: 1).
	CategoryMultipliers map[string]float64
	// Campaigns seed the campaigns table (see Seed); afterwards the admin
	// API edits them in the database.
	Campaigns []Campaign
	// CheckInPoints are earned by the first check-in of a local day.
	CheckInPoints int64
	// StreakDays consecutive check-ins earn StreakBonus (0: no streaks).
	StreakDays  int
	StreakBonus int64
	// ReferrerPoints and RefereePoints are paid when a referred member's
	// first order is credited.
	ReferrerPoints, RefereePoints int64
	// SurveyPoints are earned by answering a survey.
	SurveyPoints int64
	// LotMonths: points expire at the end of the local day LotMonths
	// months after they were earned (0: never).
	LotMonths int
	// BalanceFloor (≤ 0) is the lowest balance a refund reversal may leave;
	// what it cannot take is recorded on the entry as a shortfall.
	BalanceFloor int64
	// ExpiryNotice is the window of Balance.Expiring (30 days).
	ExpiryNotice time.Duration
	// LinkCodeTTL is how long a 6-digit link code is valid.
	LinkCodeTTL time.Duration
	// AtRiskAfter and DormantAfter: without a purchase or a chat for this
	// long a member is at-risk, then dormant.
	AtRiskAfter, DormantAfter time.Duration
	// NewFor: a member is new during this long after first contact (and
	// until the first order).
	NewFor time.Duration
	// CoreOrders orders make a member core.
	CoreOrders int
	// Location gives local days (check-in, campaigns, expiry, reviews);
	// nil means Asia/Shanghai.
	Location *time.Location
	// Catalogue seeds the rights table (see Seed); afterwards the database
	// is the source of truth.
	Catalogue []Right
}

// DefaultOptions returns the documented defaults (docs/loyalty.md).
func DefaultOptions() Options {
	return Options{
		Tiers: []TierRule{
			{Name: "regular", Label: map[string]string{"zh-Hans": "普通", "zh-Hant": "普通", "en": "Regular"}, Threshold: 0, Multiplier: 1.0, Discount: 0, HandoffPriority: 0},
			{Name: "silver", Label: map[string]string{"zh-Hans": "银卡", "zh-Hant": "銀卡", "en": "Silver"}, Threshold: 2000, Multiplier: 1.2, Discount: 0.05, HandoffPriority: 1},
			{Name: "gold", Label: map[string]string{"zh-Hans": "金卡", "zh-Hant": "金卡", "en": "Gold"}, Threshold: 8000, Multiplier: 1.5, Discount: 0.10, HandoffPriority: 2},
			{Name: "diamond", Label: map[string]string{"zh-Hans": "钻石", "zh-Hant": "鑽石", "en": "Diamond"}, Threshold: 20000, Multiplier: 2.0, Discount: 0.15, HandoffPriority: 3},
		},
		KeepRatio:      0.8,
		QualifyMonths:  12,
		PointsPerUnit:  1,
		CheckInPoints:  10,
		StreakDays:     7,
		StreakBonus:    100,
		ReferrerPoints: 200,
		RefereePoints:  100,
		SurveyPoints:   20,
		LotMonths:      12,
		BalanceFloor:   0,
		ExpiryNotice:   30 * 24 * time.Hour,
		LinkCodeTTL:    10 * time.Minute,
		AtRiskAfter:    60 * 24 * time.Hour,
		DormantAfter:   90 * 24 * time.Hour,
		NewFor:         30 * 24 * time.Hour,
		CoreOrders:     5,
	}
}

// DefaultTimeZone is the zone of local days when none is configured.
const DefaultTimeZone = "Asia/Shanghai"

// LoadLocation loads a time zone by IANA name ("" means DefaultTimeZone).
// Without tzdata on the machine, Asia/Shanghai falls back to a fixed +08:00
// zone (China has no daylight saving time, so nothing is lost); other names
// are an error.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		return loc, nil
	}
	if name == DefaultTimeZone {
		return time.FixedZone("CST", 8*3600), nil
	}
	return nil, fmt.Errorf("time zone %q: %w: %w", name, ErrInvalid, err)
}

// Program runs the loyalty rules over a store. It holds no state besides
// its options, so one Program serves any number of goroutines.
type Program struct {
	opts  Options
	now   func() time.Time
	loc   *time.Location
	tiers map[string]int // name → index in opts.Tiers
	// stats counts ledger and coupon events per local day of loc, in the
	// event's transaction (see stats.go); it holds no state of its own.
	stats *stats.Recorder
}

// New validates opts and returns a Program reading time from now (nil
// means the wall clock; tests pass their own).
func New(opts Options, now func() time.Time) (*Program, error) {
	if now == nil {
		now = time.Now
	}
	if opts.Location == nil {
		loc, err := LoadLocation("")
		if err != nil {
			return nil, err
		}
		opts.Location = loc
	}
	p := &Program{now: now, loc: opts.Location, tiers: map[string]int{}, stats: stats.New(opts.Location)}
	for i, t := range opts.Tiers {
		p.tiers[t.Name] = i
	}
	// Own copies: a caller changing its slices later must not change the
	// rules under a running programme.
	opts.Tiers, opts.Campaigns, opts.Catalogue = slices.Clone(opts.Tiers), slices.Clone(opts.Campaigns), slices.Clone(opts.Catalogue)
	opts.CategoryMultipliers = normaliseCategories(opts.CategoryMultipliers)
	p.opts = opts
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("loyalty options: %w", err)
	}
	return p, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,39}$`)

func (p *Program) validate() error {
	o := &p.opts
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	validateTiers(o.Tiers, bad)
	if !finite(o.KeepRatio) || o.KeepRatio <= 0 || o.KeepRatio > 1 {
		bad("keep_ratio must be above 0 and at most 1, got %g", o.KeepRatio)
	}
	if o.QualifyMonths < 1 || o.QualifyMonths > 120 {
		bad("qualify_months must be 1 to 120, got %d", o.QualifyMonths)
	}
	if !finite(o.PointsPerUnit) || o.PointsPerUnit <= 0 || o.PointsPerUnit > 10000 {
		bad("points_per_unit must be above 0 and at most 10000, got %g", o.PointsPerUnit)
	}
	for c, m := range o.CategoryMultipliers {
		if !finite(m) || m < 0 || m > 100 {
			bad("category_multipliers[%s] must be 0 to 100, got %g", c, m)
		}
	}
	for i, c := range o.Campaigns {
		if err := validateCampaign(c); err != nil {
			bad("campaigns[%d]: %v", i, err)
		}
	}
	for name, v := range map[string]int64{
		"check_in_points": o.CheckInPoints, "streak_bonus": o.StreakBonus,
		"referrer_points": o.ReferrerPoints, "referee_points": o.RefereePoints, "survey_points": o.SurveyPoints,
	} {
		if v < 0 || v > maxPoints {
			bad("%s must be 0 to %d, got %d", name, int64(maxPoints), v)
		}
	}
	if o.StreakDays < 0 || o.StreakDays > 366 {
		bad("streak_days must be 0 (off) to 366, got %d", o.StreakDays)
	}
	if o.LotMonths < 0 || o.LotMonths > 120 {
		bad("lot_months must be 0 (never expire) to 120, got %d", o.LotMonths)
	}
	if o.BalanceFloor > 0 || o.BalanceFloor < -maxPoints {
		bad("balance_floor must be 0 or negative, got %d", o.BalanceFloor)
	}
	if o.ExpiryNotice < 0 {
		bad("expiry_notice must not be negative")
	}
	if o.LinkCodeTTL <= 0 {
		bad("link_code_ttl must be positive")
	}
	if o.AtRiskAfter <= 0 || o.DormantAfter <= o.AtRiskAfter {
		bad("at_risk_after must be positive and dormant_after longer (got %s and %s)", o.AtRiskAfter, o.DormantAfter)
	}
	if o.NewFor < 0 {
		bad("new_for must not be negative")
	}
	if o.CoreOrders < 1 {
		bad("core_orders must be at least 1, got %d", o.CoreOrders)
	}
	ids := map[string]bool{}
	for i, r := range o.Catalogue {
		if err := p.validateRight(r); err != nil {
			bad("catalogue[%d]: %v", i, err)
		}
		if ids[r.ID] {
			bad("catalogue[%d]: id %q is used twice", i, r.ID)
		}
		ids[r.ID] = true
	}
	return errors.Join(errs...)
}

// validateTiers checks names and the ascending thresholds.
func validateTiers(tiers []TierRule, bad func(format string, args ...any)) {
	if len(tiers) == 0 {
		bad("tiers: at least one tier is needed")
	}
	seen := map[string]bool{}
	for i, t := range tiers {
		switch {
		case !nameRE.MatchString(t.Name):
			bad("tiers[%d]: name %q must be 1–40 lowercase letters, digits, '_', '.' or '-'", i, t.Name)
		case seen[t.Name]:
			bad("tiers[%d]: name %q is used twice", i, t.Name)
		}
		seen[t.Name] = true
		if i == 0 && t.Threshold != 0 {
			bad("tiers[0]: the lowest tier's threshold must be 0, got %d", t.Threshold)
		}
		if i > 0 && t.Threshold <= tiers[i-1].Threshold {
			bad("tiers[%d]: threshold %d must be above the previous tier's %d", i, t.Threshold, tiers[i-1].Threshold)
		}
		if !finite(t.Multiplier) || t.Multiplier <= 0 || t.Multiplier > 100 {
			bad("tiers[%d]: multiplier must be above 0 and at most 100, got %g", i, t.Multiplier)
		}
		if !finite(t.Discount) || t.Discount < 0 || t.Discount >= 1 {
			bad("tiers[%d]: discount must be from 0 to below 1, got %g", i, t.Discount)
		}
	}
}

func validateCampaign(c Campaign) error {
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("name %q must be 1–40 lowercase letters, digits, '_', '.' or '-'", c.Name)
	}
	from, err := time.Parse(dateLayout, c.From)
	if err != nil {
		return fmt.Errorf("campaign %s: from %q is not a date (YYYY-MM-DD)", c.Name, c.From)
	}
	to, err := time.Parse(dateLayout, c.To)
	if err != nil {
		return fmt.Errorf("campaign %s: to %q is not a date (YYYY-MM-DD)", c.Name, c.To)
	}
	if to.Before(from) {
		return fmt.Errorf("campaign %s: to %s is before from %s", c.Name, c.To, c.From)
	}
	if !finite(c.Multiplier) || c.Multiplier <= 0 || c.Multiplier > 100 {
		return fmt.Errorf("campaign %s: multiplier must be above 0 and at most 100, got %g", c.Name, c.Multiplier)
	}
	return nil
}

// Options returns a copy of the programme's options.
func (p *Program) Options() Options { return p.opts }

// Location is the zone of local days.
func (p *Program) Location() *time.Location { return p.loc }

// Tiers returns the tier rules, lowest first.
func (p *Program) Tiers() []TierRule { return slices.Clone(p.opts.Tiers) }

// Tier returns the rule of the named tier.
func (p *Program) Tier(name string) (TierRule, bool) {
	i, ok := p.tiers[name]
	if !ok {
		return TierRule{}, false
	}
	return p.opts.Tiers[i], true
}

// HandoffPriority is the named tier's handoff priority (0 when unknown).
func (p *Program) HandoffPriority(tier string) int {
	t, _ := p.Tier(tier)
	return t.HandoffPriority
}

// rank is the tier's index, 0 (the lowest) for unknown names so that a tier
// removed from the configuration degrades to the lowest instead of failing.
func (p *Program) rank(tier string) int { return p.tiers[tier] }

// tierFor is the highest tier whose threshold q reaches.
func (p *Program) tierFor(q int64) string {
	name := p.opts.Tiers[0].Name
	for _, t := range p.opts.Tiers {
		if q >= t.Threshold {
			name = t.Name
		}
	}
	return name
}

// maxPoints bounds every amount of points so that sums cannot overflow.
const maxPoints = 1_000_000_000_000

const dateLayout = "2006-01-02"

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// day is t's local date as YYYY-MM-DD.
func (p *Program) day(t time.Time) string { return t.In(p.loc).Format(dateLayout) }

// startOfDay is local midnight of t's day.
func (p *Program) startOfDay(t time.Time) time.Time {
	y, m, d := t.In(p.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, p.loc)
}

// endOfDayAfter is the end of the local day that is months and days after
// t's day (the first instant of the next day).
func (p *Program) endOfDayAfter(t time.Time, months, days int) time.Time {
	y, m, d := t.In(p.loc).Date()
	return time.Date(y, m+time.Month(months), d+days+1, 0, 0, 0, 0, p.loc)
}

func normaliseCategories(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[normCategory(k)] = v
	}
	return out
}

func normCategory(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// pick returns m[locale], else zh-Hans, else en, else any value, else def.
func pick(m map[string]string, locale, def string) string {
	for _, l := range []string{locale, "zh-Hans", "en"} {
		if v := m[l]; v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return def
	}
	slices.Sort(keys)
	return m[keys[0]]
}
