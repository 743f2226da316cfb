package loyalty

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzImportRow checks the programme's validation of an imported member
// row with arbitrary values: it must never panic; a row it accepts is
// normalised (trimmed, a real tier, a name of 1 to 40 characters, a
// phone of 5 to 20 digits) and accepting it again changes nothing.
func FuzzImportRow(f *testing.F) {
	f.Add("C001", "张三", "13800000001", "1990-05-01", "silver", int64(1200), "webchat", "sess-zhangsan-01", "Asia/Shanghai")
	f.Add("C002", "Smith, John", "+1 555 0100", "", "Regular", int64(0), "", "", "")
	f.Add(" C003 ", " 李四 ", " (021) 5555-0101 ", " 2000-02-29 ", "金卡", int64(-1), "line", "", "Local")
	f.Add("C004", "\u202eevil", "12", "1990-13-01", "platinum", int64(1)<<62, "x", "\x00", "../../etc/passwd")
	h := newHarness(f, nil)
	f.Fuzz(func(t *testing.T, id, name, phone, birthday, tier string, points int64, channel, user, zone string) {
		row := ImportRow{ID: id, Name: name, Phone: phone, Birthday: birthday, Tier: tier, Points: points, Channel: channel, ChannelUser: user, Zone: zone}
		got, tierName, err := h.p.checkImport(row)
		if err != nil {
			return
		}
		switch {
		case got.ID == "" || strings.TrimSpace(got.ID) != got.ID || len(got.ID) > 64:
			t.Fatalf("id %q", got.ID)
		case got.Name != "" && (strings.TrimSpace(got.Name) != got.Name || utf8.RuneCountInString(got.Name) > 40):
			t.Fatalf("name %q", got.Name)
		case got.Phone != "" && (len(onlyDigits(got.Phone)) < 5 || len(onlyDigits(got.Phone)) > 20):
			t.Fatalf("phone %q", got.Phone)
		case got.Points < 0 || got.Points > maxPoints:
			t.Fatalf("points %d", got.Points)
		case (got.Channel == "") != (got.ChannelUser == ""):
			t.Fatalf("channel %q and user %q", got.Channel, got.ChannelUser)
		}
		known := false
		for _, tr := range h.p.opts.Tiers {
			known = known || tr.Name == tierName
		}
		if !known {
			t.Fatalf("tier %q is not one of the programme's", tierName)
		}
		again, tier2, err := h.p.checkImport(got)
		if err != nil || again != got || tier2 != tierName {
			t.Fatalf("accepting the accepted row again: %+v %q %v, was %+v %q", again, tier2, err, got, tierName)
		}
	})
}
