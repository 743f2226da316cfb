package dialog

import (
	"github.com/carebot/carebot/handoff"
	"strings"
	"testing"
	"time"
)

func TestGroupsAndEvents(t *testing.T) {
	r := newRouter(t, func(o *Options) { o.Loyalty = true; o.GroupKeywords = []string{"客服"} })
	now := time.Now()
	cases := []struct {
		name        string
		turn        Turn
		route       string
		replies     int
		loyalty     bool
		replyHas    string
		notFAQRoute bool
	}{
		{"group chatter is ignored", Turn{Text: "今天天气不错，运费怎么算的问题大家怎么看", Group: true}, "group-silent", 0, false, "", true},
		{"a mention gets an answer", Turn{Text: "@carebot 运费怎么算", Group: true, Mentioned: true}, "faq", 1, false, "99", false},
		{"a keyword gets an answer", Turn{Text: "客服，运费怎么算", Group: true}, "faq", 1, false, "", false},
		{"check-in in a group", Turn{Text: "签到", Group: true}, "loyalty", 0, true, "", true},
		{"sticker in private", Turn{Event: EventUnsupported}, "unsupported", 1, false, "文字", true},
		{"sticker in a group", Turn{Event: EventUnsupported, Group: true}, "unsupported", 0, false, "", true},
		{"follow greets", Turn{Event: EventFollow}, "greeting", 1, false, "carebot", true},
		{"new member welcomed", Turn{Event: EventMemberJoined, Group: true}, "group-welcome", 1, false, "欢迎", true},
		{"bot added to a group", Turn{Event: EventJoin, Group: true}, "group-join", 1, false, "@我", true},
		{"unfollow says nothing", Turn{Event: "unfollow"}, "unfollow", 0, false, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.turn.Time = now
			res := r.Respond(State{}, c.turn)
			if c.route == "greeting" {
				c.route = "follow"
			}
			if res.Route != c.route || len(res.Replies) != c.replies || (res.Loyalty != nil) != c.loyalty {
				t.Fatalf("route %s, %d replies, loyalty %v; want %s, %d, %v", res.Route, len(res.Replies), res.Loyalty, c.route, c.replies, c.loyalty)
			}
			if c.replyHas != "" && !strings.Contains(res.Replies[0].Text, c.replyHas) {
				t.Errorf("reply %q lacks %q", res.Replies[0].Text, c.replyHas)
			}
		})
	}
	// A complaint in a group opens no ticket.
	hr := newRouter(t, func(o *Options) { rules := handoff.DefaultRules(); o.Handoff = &rules })
	if res := hr.Respond(State{}, Turn{Text: "@carebot 转人工", Group: true, Mentioned: true, Time: now}); res.Handoff != nil {
		t.Errorf("group message opened a ticket: %+v", res.Handoff)
	}
}
