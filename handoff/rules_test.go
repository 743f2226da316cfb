package handoff

import (
	"testing"
	"time"

	"github.com/carebot/carebot/dialog/emotion"
)

func TestDecide(t *testing.T) {
	r := DefaultRules()
	cases := []struct {
		name    string
		in      Input
		open    bool
		tier    emotion.Tier
		queue   Queue
		silence bool
		alert   bool
		reason  string
	}{
		{"calm", Input{Tier: emotion.TierNone}, false, emotion.TierNone, "", false, false, ReasonMessage},
		{"mild keeps the bot", Input{Tier: emotion.TierMild, Negative: true, Negatives: 1}, true, emotion.TierMild, QueueAgent, false, false, ReasonMessage},
		{"moderate silences", Input{Tier: emotion.TierModerate, Negative: true, Negatives: 1}, true, emotion.TierModerate, QueueAgent, true, false, ReasonMessage},
		{"severe to supervisors", Input{Tier: emotion.TierSevere, Negative: true}, true, emotion.TierSevere, QueueSupervisor, true, true, ReasonMessage},
		{"asking for a person", Input{Tier: emotion.TierNone, Requested: true}, true, emotion.TierModerate, QueueAgent, true, false, ReasonRequest},
		{"failed answers then negative", Input{Tier: emotion.TierMild, Negative: true, Unanswered: 2}, true, emotion.TierModerate, QueueAgent, true, false, ReasonUnanswered},
		{"failed answers, calm", Input{Tier: emotion.TierNone, Unanswered: 5}, false, emotion.TierNone, "", false, false, ReasonMessage},
		{"running emotion low", Input{Tier: emotion.TierMild, Negative: true, Running: -0.7}, true, emotion.TierModerate, QueueAgent, true, false, ReasonRunning},
		{"three negatives in a row", Input{Tier: emotion.TierMild, Negative: true, Negatives: 3}, true, emotion.TierMild, QueueSupervisor, false, true, ReasonConsecutive},
		{"three negatives, none reaching a tier", Input{Tier: emotion.TierNone, Negative: true, Negatives: 3}, true, emotion.TierMild, QueueSupervisor, false, true, ReasonConsecutive},
		{"VIP one tier earlier", Input{Tier: emotion.TierMild, Negative: true, MemberTier: "gold"}, true, emotion.TierModerate, QueueAgent, true, false, ReasonMessage},
		{"VIP moderate is severe", Input{Tier: emotion.TierModerate, Negative: true, MemberTier: "Diamond"}, true, emotion.TierSevere, QueueSupervisor, true, true, ReasonMessage},
		{"VIP alert after two", Input{Tier: emotion.TierNone, Negative: true, Negatives: 2, MemberTier: "gold"}, true, emotion.TierMild, QueueSupervisor, false, true, ReasonConsecutive},
		{"silver is not VIP", Input{Tier: emotion.TierMild, Negative: true, MemberTier: "silver"}, true, emotion.TierMild, QueueAgent, false, false, ReasonMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := r.Decide(c.in)
			if d.Open != c.open || d.Tier != c.tier || d.Action.Queue != c.queue || d.Action.Silence != c.silence || d.Alert != c.alert || d.Reason != c.reason {
				t.Errorf("Decide(%+v) = open %v tier %s queue %q silence %v alert %v reason %s; want %v %s %q %v %v %s",
					c.in, d.Open, d.Tier, d.Action.Queue, d.Action.Silence, d.Alert, d.Reason, c.open, c.tier, c.queue, c.silence, c.alert, c.reason)
			}
		})
	}
	if d := r.Decide(Input{Tier: emotion.TierSevere}); len(d.Action.FollowUps) != 2 || d.Action.FollowUps[0] != 24*time.Hour || d.Action.FollowUps[1] != 72*time.Hour {
		t.Errorf("severe follow-ups = %v", d.Action.FollowUps)
	}
	if d := (Rules{}).Decide(Input{Tier: emotion.TierSevere, Negatives: 9}); d.Open {
		t.Errorf("zero rules opened a ticket: %+v", d)
	}
}

func TestIsRequest(t *testing.T) {
	r := DefaultRules()
	for text, want := range map[string]bool{
		"人工":                            true,
		"转人工！":                          true,
		"我要人工":                          true,
		"请帮我转人工客服":                      true,
		"你们解决不了就转人工吧":                   true,
		"human":                         true,
		"i want to talk to a human":     true,
		"can i speak to a human please": true,
		"agent":                         true,
		"人工智能是什么":                       false,
		"human error on my order":       false,
		"what is an agent code?":        false,
		"退货":                            false,
	} {
		if got := r.IsRequest(text); got != want {
			t.Errorf("IsRequest(%q) = %v, want %v", text, got, want)
		}
	}
}
