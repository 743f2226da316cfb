package configs

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"time"
)

// Loyalty configures the loyalty programme: tiers, earning, expiry,
// lifecycle stages and where the rewards catalogue comes from. Every key
// maps to a field of loyalty.Options; see docs/loyalty.md.
type Loyalty struct {
	// Enabled turns the programme on (points commands, the orders and
	// coupons API, compensation coupons).
	Enabled bool `yaml:"enabled"`
	// TimeZone gives local days (check-in, campaigns, expiry, the yearly
	// review); an IANA name, Asia/Shanghai by default.
	TimeZone string `yaml:"time_zone"`
	// ExpirySpec is when points past their date expire (cron, local time).
	ExpirySpec string `yaml:"expiry_spec"`
	// ReviewSpec is the yearly tier review (cron, local time).
	ReviewSpec string `yaml:"review_spec"`
	// WelcomeRight is the right (a grant-only coupon of the catalogue)
	// given to a member who completes 注册会员; empty gives none.
	WelcomeRight string `yaml:"welcome_right"`
	// Rewards is the path of a catalogue file; empty uses the embedded
	// rewards.yaml. It only seeds the database (see docs/loyalty.md).
	Rewards string `yaml:"rewards"`
	// Tiers from the lowest (threshold 0) upwards.
	Tiers []LoyaltyTier `yaml:"tiers"`
	// KeepRatio of a tier's threshold keeps the tier at the yearly review.
	KeepRatio float64 `yaml:"keep_ratio"`
	// QualifyMonths of purchase points count toward a tier.
	QualifyMonths int `yaml:"qualify_months"`
	// PointsPerUnit is the base earn rate per currency unit.
	PointsPerUnit float64 `yaml:"points_per_unit"`
	// Currency, when set, is the only order currency accepted.
	Currency string `yaml:"currency"`
	// CategoryMultipliers scale order points per category (e.g. gift_card: 0).
	CategoryMultipliers map[string]float64 `yaml:"category_multipliers"`
	// Campaigns seed the campaigns table (the admin API edits it later).
	Campaigns      []LoyaltyCampaign `yaml:"campaigns"`
	CheckInPoints  int               `yaml:"check_in_points"`
	StreakDays     int               `yaml:"streak_days"`
	StreakBonus    int               `yaml:"streak_bonus"`
	ReferrerPoints int               `yaml:"referrer_points"`
	RefereePoints  int               `yaml:"referee_points"`
	SurveyPoints   int               `yaml:"survey_points"`
	// LotMonths: points expire this many months after they were earned
	// (0: never).
	LotMonths int `yaml:"lot_months"`
	// BalanceFloor (0 or negative) is the lowest balance a refund may
	// leave.
	BalanceFloor int `yaml:"balance_floor"`
	// ExpiryNotice is how far ahead expiring points are reported.
	ExpiryNotice Duration `yaml:"expiry_notice"`
	// LinkCodeTTL is how long a 绑定 code is valid.
	LinkCodeTTL Duration `yaml:"link_code_ttl"`
	// AtRiskAfter and DormantAfter without a purchase or chat.
	AtRiskAfter  Duration `yaml:"at_risk_after"`
	DormantAfter Duration `yaml:"dormant_after"`
	// NewFor after first contact a member is new; CoreOrders orders make
	// it core.
	NewFor     Duration `yaml:"new_for"`
	CoreOrders int      `yaml:"core_orders"`
}

// LoyaltyTier is one tier.
type LoyaltyTier struct {
	Name            string            `yaml:"name"`
	Label           map[string]string `yaml:"label"`
	Threshold       int               `yaml:"threshold"`
	Multiplier      float64           `yaml:"multiplier"`
	Discount        float64           `yaml:"discount"`
	HandoffPriority int               `yaml:"handoff_priority"`
}

// LoyaltyCampaign multiplies order points between two local dates.
type LoyaltyCampaign struct {
	Name string `yaml:"name"`
	// From and To are dates such as 2026-11-11, both inclusive.
	From       string   `yaml:"from"`
	To         string   `yaml:"to"`
	Multiplier float64  `yaml:"multiplier"`
	Categories []string `yaml:"categories"`
}

var loyaltyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,39}$`)

// Validate checks the loyalty section, naming each bad key. The rules
// repeat loyalty.New's (configs imports no domain package) so that
// `carebot config check` reports them with their keys.
func (l Loyalty) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("loyalty.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if l.TimeZone == "" {
		bad("time_zone", "must not be empty (e.g. Asia/Shanghai)")
	} else if _, err := time.LoadLocation(l.TimeZone); err != nil && l.TimeZone != "Asia/Shanghai" {
		// Asia/Shanghai has a fixed +08:00 fallback without tzdata.
		bad("time_zone", "%v", err)
	}
	for _, f := range []struct{ key, spec string }{{"expiry_spec", l.ExpirySpec}, {"review_spec", l.ReviewSpec}} {
		if err := ValidateSpec(f.spec); err != nil {
			bad(f.key, "%v", err)
		}
	}
	if l.Rewards != "" {
		if _, err := os.Stat(l.Rewards); err != nil {
			bad("rewards", "%v", err)
		}
	}
	l.validateTiers(bad)
	if !finite(l.KeepRatio) || l.KeepRatio <= 0 || l.KeepRatio > 1 {
		bad("keep_ratio", "must be above 0 and at most 1, got %g", l.KeepRatio)
	}
	if l.QualifyMonths < 1 || l.QualifyMonths > 120 {
		bad("qualify_months", "must be 1 to 120, got %d", l.QualifyMonths)
	}
	if !finite(l.PointsPerUnit) || l.PointsPerUnit <= 0 || l.PointsPerUnit > 10000 {
		bad("points_per_unit", "must be above 0 and at most 10000, got %g", l.PointsPerUnit)
	}
	for c, m := range l.CategoryMultipliers {
		if !finite(m) || m < 0 || m > 100 {
			bad("category_multipliers."+c, "must be 0 to 100, got %g", m)
		}
	}
	for i, c := range l.Campaigns {
		l.validateCampaign(fmt.Sprintf("campaigns[%d]", i), c, bad)
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"check_in_points", l.CheckInPoints}, {"streak_bonus", l.StreakBonus}, {"referrer_points", l.ReferrerPoints},
		{"referee_points", l.RefereePoints}, {"survey_points", l.SurveyPoints},
	} {
		if f.v < 0 || f.v > 1_000_000_000_000 {
			bad(f.key, "must be 0 or more, got %d", f.v)
		}
	}
	if l.StreakDays < 0 || l.StreakDays > 366 {
		bad("streak_days", "must be 0 (off) to 366, got %d", l.StreakDays)
	}
	if l.LotMonths < 0 || l.LotMonths > 120 {
		bad("lot_months", "must be 0 (never expire) to 120, got %d", l.LotMonths)
	}
	if l.BalanceFloor > 0 || l.BalanceFloor < -1_000_000_000_000 {
		bad("balance_floor", "must be 0 or negative, got %d", l.BalanceFloor)
	}
	if l.ExpiryNotice < 0 {
		bad("expiry_notice", "must not be negative")
	}
	if l.LinkCodeTTL <= 0 {
		bad("link_code_ttl", "must be a positive duration such as 10m")
	}
	if l.AtRiskAfter <= 0 {
		bad("at_risk_after", "must be a positive duration such as 1440h")
	}
	if l.DormantAfter <= l.AtRiskAfter {
		bad("dormant_after", "must be longer than loyalty.at_risk_after")
	}
	if l.NewFor < 0 {
		bad("new_for", "must not be negative")
	}
	if l.CoreOrders < 1 {
		bad("core_orders", "must be at least 1, got %d", l.CoreOrders)
	}
	return errors.Join(errs...)
}

// validateTiers checks names and the ascending thresholds.
func (l Loyalty) validateTiers(bad func(key, format string, args ...any)) {
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if len(l.Tiers) == 0 {
		bad("tiers", "at least one tier is needed")
	}
	seen := map[string]bool{}
	for i, t := range l.Tiers {
		key := fmt.Sprintf("tiers[%d]", i)
		if !loyaltyNameRE.MatchString(t.Name) {
			bad(key+".name", "%q must be 1–40 lowercase letters, digits, '_', '.' or '-'", t.Name)
		} else if seen[t.Name] {
			bad(key+".name", "%q is used twice", t.Name)
		}
		seen[t.Name] = true
		if i == 0 && t.Threshold != 0 {
			bad(key+".threshold", "the lowest tier's threshold must be 0, got %d", t.Threshold)
		}
		if i > 0 && t.Threshold <= l.Tiers[i-1].Threshold {
			bad(key+".threshold", "%d must be above the previous tier's %d", t.Threshold, l.Tiers[i-1].Threshold)
		}
		if !finite(t.Multiplier) || t.Multiplier <= 0 || t.Multiplier > 100 {
			bad(key+".multiplier", "must be above 0 and at most 100, got %g", t.Multiplier)
		}
		if !finite(t.Discount) || t.Discount < 0 || t.Discount >= 1 {
			bad(key+".discount", "must be from 0 to below 1 (0.1 = 10%% off), got %g", t.Discount)
		}
	}
}

func (l Loyalty) validateCampaign(key string, c LoyaltyCampaign, bad func(key, format string, args ...any)) {
	if !loyaltyNameRE.MatchString(c.Name) {
		bad(key+".name", "%q must be 1–40 lowercase letters, digits, '_', '.' or '-'", c.Name)
	}
	from, errFrom := time.Parse("2006-01-02", c.From)
	if errFrom != nil {
		bad(key+".from", "%q is not a date such as 2026-11-11", c.From)
	}
	to, errTo := time.Parse("2006-01-02", c.To)
	if errTo != nil {
		bad(key+".to", "%q is not a date such as 2026-11-11", c.To)
	}
	if errFrom == nil && errTo == nil && to.Before(from) {
		bad(key+".to", "%s is before from %s", c.To, c.From)
	}
	if math.IsNaN(c.Multiplier) || c.Multiplier <= 0 || c.Multiplier > 100 {
		bad(key+".multiplier", "must be above 0 and at most 100, got %g", c.Multiplier)
	}
}
