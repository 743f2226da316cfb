package configs

import (
	"strings"
	"testing"
)

func TestCareDefaultsAreValidAndMistakesNameTheirKey(t *testing.T) {
	cfg, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Care
	if !c.Enabled || c.Cap != 2 || c.Birthday.Spec != "0 9 * * *" || c.Recall.Right != "recall-10" || c.NPS.Sample != 0.2 {
		t.Fatalf("care defaults = %+v", c)
	}
	if start, end, err := c.QuietHours.Minutes(); err != nil || start != 21*60 || end != 9*60 {
		t.Fatalf("quiet hours = %d %d %v", start, end, err)
	}
	for _, tt := range []struct {
		edit func(*Care)
		want string
	}{
		{func(c *Care) { c.Birthday.Spec = "9 every day" }, "care.birthday.spec"},
		{func(c *Care) { c.WeeklySpec = "0 9 * * 8" }, "care.weekly_spec"},
		{func(c *Care) { c.QuietHours.Start = "25:00" }, "care.quiet_hours"},
		{func(c *Care) { c.Cap = -1 }, "care.cap"},
		{func(c *Care) { c.CapWindow = 0 }, "care.cap_window"},
		{func(c *Care) { c.Recall.SecondAfter = c.Recall.After }, "care.recall.second_after"},
		{func(c *Care) { c.Recall.After = 0 }, "care.recall.after"},
		{func(c *Care) { c.NPS.Sample = 1.5 }, "care.nps.sample"},
		{func(c *Care) { c.NewMember.AfterDays = 0 }, "care.new_member.after_days"},
		{func(c *Care) { c.TimeZone = "Mars/Olympus" }, "care.time_zone"},
		{func(c *Care) { c.Recall.Categories = map[string]map[string]string{"x": {"fr": "x"}} }, "care.recall.categories.x"},
	} {
		bad := cfg.Care
		tt.edit(&bad)
		err := bad.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("want an error naming %s, got %v", tt.want, err)
		}
	}
	// A job can be turned off with an empty spec.
	off := cfg.Care
	off.Recall.Spec, off.Recall.After = "", 0
	if err := off.Validate(); err != nil {
		t.Fatalf("recall off: %v", err)
	}
	// The loyalty specs are checked the same way.
	l := cfg.Loyalty
	l.ExpirySpec = "at two"
	if err := l.Validate(); err == nil || !strings.Contains(err.Error(), "expiry_spec") {
		t.Fatalf("bad loyalty.expiry_spec: %v", err)
	}
}
