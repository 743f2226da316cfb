package configs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Care configures scheduled care: birthday greetings, recall offers,
// surveys, the follow-up and weekly reports, and the rules every proactive
// message obeys (quiet hours, a frequency cap, consent). A job whose spec
// is empty is off. See docs/care.md.
type Care struct {
	// Enabled turns the care jobs on (they also need loyalty.enabled: the
	// members, their consent and coupons live there).
	Enabled bool `yaml:"enabled"`
	// TimeZone is the zone of the job specs and of members whose own zone
	// is unknown; an IANA name, Asia/Shanghai by default.
	TimeZone string `yaml:"time_zone"`
	// QuietHours: care messages that fall in [start, end) of the member's
	// local day wait for end; they are not dropped.
	QuietHours QuietHours `yaml:"quiet_hours"`
	// Cap is the most care messages a member gets in CapWindow; 0 is off.
	Cap       int           `yaml:"cap"`
	CapWindow Duration      `yaml:"cap_window"`
	Birthday  CareBirthday  `yaml:"birthday"`
	Recall    CareRecall    `yaml:"recall"`
	NPS       CareNPS       `yaml:"nps"`
	NewMember CareNewMember `yaml:"new_member"`
	// FollowUpSpec reports on the complaint follow-ups handoff queues.
	FollowUpSpec string `yaml:"follow_up_spec"`
	// WeeklySpec sends the weekly report to the console and staff chats.
	WeeklySpec string `yaml:"weekly_spec"`
	// SurveyLowScore: an NPS answer at or below it opens a mild follow-up
	// ticket; CSATLowScore does the same for a 1–5 rating.
	NPSLowScore  int `yaml:"nps_low_score"`
	CSATLowScore int `yaml:"csat_low_score"`
}

// QuietHours is a daily window in HH:MM, which may wrap past midnight.
type QuietHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Minutes returns start and end as minutes after midnight; equal values
// mean no quiet hours.
func (q QuietHours) Minutes() (start, end int, err error) {
	if start, err = hhmm(q.Start); err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	if end, err = hhmm(q.End); err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	return start, end, nil
}

func hhmm(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// CareBirthday configures the birthday greeting.
type CareBirthday struct {
	Spec string `yaml:"spec"`
	// Rights maps a loyalty tier to the catalogue right given as the
	// birthday coupon; a tier not listed gets the catalogue's active
	// birthday_month right for that tier, if any.
	Rights map[string]string `yaml:"rights"`
}

// CareRecall configures recall offers to dormant members.
type CareRecall struct {
	Spec string `yaml:"spec"`
	// After is the idleness (no purchase, no chat) that earns the first
	// offer; SecondAfter the stronger second offer, if the first was
	// ignored. SecondAfter 0 turns the second offer off.
	After       Duration `yaml:"after"`
	SecondAfter Duration `yaml:"second_after"`
	// Right and SecondRight are the coupons of the two offers.
	Right       string `yaml:"right"`
	SecondRight string `yaml:"second_right"`
	// Categories name order categories per locale for the personal reason
	// to come back ("new arrivals in {category}").
	Categories map[string]map[string]string `yaml:"categories"`
}

// CareNPS configures the quarterly NPS survey.
type CareNPS struct {
	Spec string `yaml:"spec"`
	// Sample is the share of active members asked (0–1).
	Sample float64 `yaml:"sample"`
	// ActiveWithin: members active this recently count as active.
	ActiveWithin Duration `yaml:"active_within"`
}

// CareNewMember configures the new-member follow-up.
type CareNewMember struct {
	Spec string `yaml:"spec"`
	// AfterDays after joining, the member is asked how it is going.
	AfterDays int `yaml:"after_days"`
}

// Specs lists the job specs by key, for validation and the docs.
func (c Care) Specs() map[string]string {
	return map[string]string{
		"birthday.spec": c.Birthday.Spec, "recall.spec": c.Recall.Spec, "nps.spec": c.NPS.Spec,
		"new_member.spec": c.NewMember.Spec, "follow_up_spec": c.FollowUpSpec,
		"weekly_spec": c.WeeklySpec,
	}
}

// ValidateSpec checks a cron spec the way the scheduler parses it; empty
// is allowed (the job is off).
func ValidateSpec(spec string) error {
	if spec == "" {
		return nil
	}
	if _, err := robfig.ParseStandard(spec); err != nil {
		return fmt.Errorf("%q is not a cron spec (minute hour day month weekday): %w", spec, err)
	}
	return nil
}

// Validate checks the care section, naming the key.
func (c Care) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("care.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.TimeZone == "" {
		bad("time_zone", "must not be empty (e.g. Asia/Shanghai)")
	} else if _, err := time.LoadLocation(c.TimeZone); err != nil && c.TimeZone != "Asia/Shanghai" {
		bad("time_zone", "%v", err)
	}
	if _, _, err := c.QuietHours.Minutes(); err != nil {
		bad("quiet_hours", "%v", err)
	}
	if c.Cap < 0 || c.Cap > 100 {
		bad("cap", "must be 0 (off) to 100, got %d", c.Cap)
	}
	if c.Cap > 0 && c.CapWindow <= 0 {
		bad("cap_window", "must be a positive duration such as 168h")
	}
	specs := c.Specs()
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := ValidateSpec(specs[k]); err != nil {
			bad(k, "%v", err)
		}
	}
	for tier, right := range c.Birthday.Rights {
		if strings.TrimSpace(right) == "" {
			bad("birthday.rights."+tier, "must name a right of the catalogue")
		}
	}
	if c.Recall.Spec != "" {
		if c.Recall.After <= 0 {
			bad("recall.after", "must be a positive duration such as 1440h (60 days)")
		}
		if c.Recall.SecondAfter != 0 && c.Recall.SecondAfter <= c.Recall.After {
			bad("recall.second_after", "must be 0 (off) or longer than care.recall.after")
		}
	}
	for cat, names := range c.Recall.Categories {
		for loc := range names {
			if !slices.Contains(Locales, loc) {
				bad("recall.categories."+cat, "%q is not one of %s", loc, strings.Join(Locales, ", "))
			}
		}
	}
	if math.IsNaN(c.NPS.Sample) || c.NPS.Sample < 0 || c.NPS.Sample > 1 {
		bad("nps.sample", "must be 0 to 1, got %g", c.NPS.Sample)
	}
	if c.NPS.Spec != "" && c.NPS.ActiveWithin <= 0 {
		bad("nps.active_within", "must be a positive duration such as 2160h (90 days)")
	}
	if c.NewMember.Spec != "" && (c.NewMember.AfterDays < 1 || c.NewMember.AfterDays > 365) {
		bad("new_member.after_days", "must be 1 to 365, got %d", c.NewMember.AfterDays)
	}
	if c.NPSLowScore < -1 || c.NPSLowScore > 10 {
		bad("nps_low_score", "must be -1 (off) to 10, got %d", c.NPSLowScore)
	}
	if c.CSATLowScore < 0 || c.CSATLowScore > 5 {
		bad("csat_low_score", "must be 0 (off) to 5, got %d", c.CSATLowScore)
	}
	return errors.Join(errs...)
}
