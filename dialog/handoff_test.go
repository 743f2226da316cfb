package dialog

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		locale string
		want   string
	}{
		{10 * time.Minute, "zh-Hans", "10 分钟"},
		{time.Hour, "zh-Hans", "1 小时"},
		{4 * time.Hour, "zh-Hant", "4 小時"},
		{time.Hour, "en", "1 hour"},
		{4 * time.Hour, "en", "4 hours"},
		{90 * time.Minute, "en", "90 minutes"},
		{48 * time.Hour, "zh-Hans", "2 天"},
		{30 * time.Second, "en", "1 minute"},
	} {
		if got := HumanDuration(c.d, c.locale); got != c.want {
			t.Errorf("HumanDuration(%v, %s) = %q, want %q", c.d, c.locale, got, c.want)
		}
	}
}

func TestCSATPayloads(t *testing.T) {
	bs := CSATButtons(42)
	if len(bs) != 5 {
		t.Fatalf("%d buttons", len(bs))
	}
	for i, b := range bs {
		a, ok := parseCSAT(b.Payload)
		if !ok || a.Ticket != 42 || a.Score != i+1 {
			t.Errorf("button %q parsed as %+v %v", b.Payload, a, ok)
		}
	}
	for _, bad := range []string{"csat:", "csat:42", "csat:42:0", "csat:42:6", "csat:x:3", "csat:0:3", "faq:42:3", "csat:42:3:1"} {
		if a, ok := parseCSAT(bad); ok {
			t.Errorf("parseCSAT(%q) = %+v, want refused", bad, a)
		}
	}
}
