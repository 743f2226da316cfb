package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
)

func TestSegmentMessagePreviewSendAndResults(t *testing.T) {
	s := startCareServer(t)
	manager := s.addAgent("mia", handoff.RoleManager)
	s.clock.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, cst))
	gold := s.joinMember("session-seg-gold", "金卡客人", "", true)
	s.credit(gold.ID, "seg-order-1", 9000) // gold
	plain := s.joinMember("session-seg-plain", "普通客人", "", true)
	quiet := s.joinMember("session-seg-noconsent", "不打扰", "", false)
	s.credit(quiet.ID, "seg-order-2", 9000)
	tagged := s.joinMember("session-seg-tag", "宝妈", "", true)
	if code := s.api(manager, "PUT", "/api/v1/members/"+tagged.ID+"/tags", map[string]any{"tags": []string{"宝妈群"}}, nil); code != 200 {
		t.Fatalf("tags: %d", code)
	}
	if code := s.api(manager, "PUT", "/api/v1/members/"+tagged.ID+"/tags", map[string]any{"tags": []string{"a,b"}}, nil); code != 400 {
		t.Fatalf("bad tag: %d", code)
	}
	s.clock.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, cst))

	body := map[string]any{
		"segment": map[string]any{"tiers": []string{"gold"}},
		"text":    map[string]string{"zh-Hans": "金卡会员专享：本周六双倍积分", "en": "Gold members: double points on Saturday"},
	}
	var prev SegmentPreview
	if code := s.api(manager, "POST", "/api/v1/segments/preview", body, &prev); code != 200 {
		t.Fatalf("preview: %d", code)
	}
	// The gold member gets it; the other gold one did not consent.
	if prev.Matched != 2 || prev.Recipients != 1 || prev.Skipped[skipConsent] != 1 || prev.ByLocale["zh-Hans"] != 1 ||
		!strings.Contains(prev.Previews["zh-Hans"], "退订") {
		t.Fatalf("preview = %+v", prev)
	}
	// A preview sends nothing.
	time.Sleep(60 * time.Millisecond)
	if n := s.count("session-seg-gold", "双倍积分"); n != 0 {
		t.Fatal("the preview sent the message")
	}
	var an Announcement
	if code := s.api(manager, "POST", "/api/v1/segments/send", body, &an); code != 202 || an.Queued != 1 || an.Kind != announceSegment {
		t.Fatalf("send: %d %+v", code, an)
	}
	s.waitDelivered("session-seg-gold", "双倍积分")
	for _, other := range []string{"session-seg-plain", "session-seg-noconsent", "session-seg-tag"} {
		if n := s.count(other, "双倍积分"); n != 0 {
			t.Fatalf("%s got the gold members' message", other)
		}
	}
	var list struct {
		Broadcasts []Announcement `json:"broadcasts"`
	}
	waitFor(t, func() bool {
		s.api(manager, "GET", "/api/v1/broadcasts", nil, &list)
		return len(list.Broadcasts) == 1 && list.Broadcasts[0].Progress[StatusDelivered] == 1
	})

	// A tag segment, scheduled into the quiet hours: it waits for 09:00.
	body = map[string]any{"segment": map[string]any{"tags": []string{"宝妈群"}}, "text": map[string]string{"zh-Hans": "宝妈群福利上新"},
		"send_at": "2026-11-23T22:00:00+08:00"}
	if code := s.api(manager, "POST", "/api/v1/segments/send", body, &an); code != 202 || an.Queued != 1 {
		t.Fatalf("tag segment: %d %+v", code, an)
	}
	s.clock.Set(time.Date(2026, 11, 23, 22, 30, 0, 0, cst))
	s.app.Outbox().Wake()
	time.Sleep(60 * time.Millisecond)
	if s.count("session-seg-tag", "宝妈群福利") != 0 {
		t.Fatal("sent during quiet hours")
	}
	s.clock.Set(time.Date(2026, 11, 24, 9, 0, 1, 0, cst))
	s.waitDelivered("session-seg-tag", "宝妈群福利")
	// The cap: the gold member has had one care message this week; with a
	// cap of 2, a second goes and a third does not.
	body = map[string]any{"segment": map[string]any{"tiers": []string{"gold"}}, "text": map[string]string{"zh-Hans": "第二条"}}
	s.api(manager, "POST", "/api/v1/segments/send", body, &an)
	body["text"] = map[string]string{"zh-Hans": "第三条"}
	if code := s.api(manager, "POST", "/api/v1/segments/send", body, &an); code != 202 || an.Queued != 0 || an.Skipped[skipCap] != 1 {
		t.Fatalf("third message in a week: %d %+v", code, an)
	}
	for _, bad := range []map[string]any{
		{"segment": map[string]any{}, "text": map[string]string{}},
		{"segment": map[string]any{"stages": []string{"asleep"}}, "text": map[string]string{"en": "x"}},
		{"segment": map[string]any{}, "text": map[string]string{"fr": "x"}},
	} {
		if code := s.api(manager, "POST", "/api/v1/segments/preview", bad, nil); code != 400 {
			t.Errorf("bad request %v: %d", bad, code)
		}
	}
	if code := s.api(s.supervisTok, "POST", "/api/v1/segments/preview", body, nil); code != 403 {
		t.Errorf("a supervisor previewed a segment message: %d", code)
	}
	_ = plain
}

func TestManagerSetsCategoryMultipliers(t *testing.T) {
	s := startCareServer(t)
	manager := s.addAgent("mia", handoff.RoleManager)
	m := s.joinMember("session-cat-mult", "买衣服", "", true)
	var out struct {
		Multipliers map[string]float64 `json:"multipliers"`
	}
	if code := s.api(manager, "PUT", "/api/v1/category-multipliers", map[string]any{"multipliers": map[string]float64{"Apparel": 2}}, &out); code != 200 || out.Multipliers["apparel"] != 2 {
		t.Fatalf("set: %d %v", code, out)
	}
	before := s.member("session-cat-mult").Points
	s.credit(m.ID, "cat-order-1", 100) // apparel
	if got := s.member("session-cat-mult").Points - before; got != 200 {
		t.Fatalf("apparel ×2 earned %d points for 100", got)
	}
	if code := s.api(manager, "PUT", "/api/v1/category-multipliers", map[string]any{"multipliers": map[string]float64{"apparel": 500}}, nil); code != 400 {
		t.Fatalf("×500: %d, want 400", code)
	}
	if code := s.api(s.supervisTok, "GET", "/api/v1/category-multipliers", nil, nil); code != 403 {
		t.Fatalf("a supervisor read them: %d", code)
	}
}

func TestFloodControlInTheChat(t *testing.T) {
	s := startCareServer(t, func(c *configs.Config) {
		c.Dialog.FloodBurst, c.Dialog.FloodRate = 5, 1
		// The same question again and again reads as frustration and
		// would bring a person; here only flood control is looked at.
		c.Handoff.Enabled = false
	})
	replied, notices := 0, 0
	for range 50 {
		switch r := texts(s.say("session-flood-1", "运费怎么算")); {
		case strings.Contains(r, "太快"):
			notices++
		case r != "":
			replied++
		}
	}
	if replied != 5 || notices != 1 {
		t.Fatalf("50 messages in no time: %d answers, %d notices; want 5 and 1", replied, notices)
	}
	// Every message is still in the conversation log for the agents.
	_, log, err := s.app.Engine().Conversation("webchat", "session-flood-1", 200)
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, e := range log {
		if e.Dir == "in" {
			in++
		}
	}
	if in != 50 {
		t.Fatalf("%d customer messages logged, want 50", in)
	}
	// A few seconds later the customer is answered again.
	s.clock.Add(3 * time.Second)
	if r := s.say("session-flood-1", "运费怎么算"); len(r) == 0 || strings.Contains(r[0].Text, "太快") {
		t.Fatalf("after a pause: %s", texts(r))
	}
	// Another customer is not affected.
	if r := s.say("session-flood-2", "运费怎么算"); len(r) == 0 || strings.Contains(r[0].Text, "太快") {
		t.Fatalf("another customer: %s", texts(r))
	}
}
