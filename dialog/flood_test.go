package dialog

import (
	"strings"
	"testing"
	"time"
)

func TestFloodControlAnswersABurstThenSlowsDown(t *testing.T) {
	r := newRouter(t, func(o *Options) { o.FloodBurst, o.FloodRate = 3, 1 })
	var st State
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	answered, notices, dropped := 0, 0, 0
	// 50 messages within one second, as a script would send them.
	for i := range 50 {
		res := r.Respond(st, Turn{Text: "你好", Time: t0.Add(time.Duration(i) * 20 * time.Millisecond)})
		st = res.State
		switch {
		case res.Outcome != OutcomeFlood:
			answered++
		case len(res.Replies) == 1 && strings.Contains(res.Replies[0].Text, "太快"):
			notices++
		case len(res.Replies) == 0:
			dropped++
		default:
			t.Fatalf("flooded turn %d replied %+v", i, res.Replies)
		}
	}
	// The burst of 3; the bucket regains one token a second, not yet full
	// again by the 50th message (0.98 s after the first).
	if answered != 3 || notices != 1 || dropped != 46 {
		t.Fatalf("answered %d, notices %d, dropped %d", answered, notices, dropped)
	}
	// Two seconds later the customer is answered again, and a new flood
	// gets a new notice.
	res := r.Respond(st, Turn{Text: "你好", Time: t0.Add(3 * time.Second)})
	if res.Outcome == OutcomeFlood || len(res.Replies) == 0 {
		t.Fatalf("after a pause: %+v", res)
	}
	// Groups and platform events are not flood-controlled here.
	var g State
	for i := range 20 {
		res := r.Respond(g, Turn{Text: "@carebot 运费", Group: true, Mentioned: true, Time: t0})
		g = res.State
		if res.Outcome == OutcomeFlood {
			t.Fatalf("group turn %d flood-controlled", i)
		}
	}
	// Off when FloodBurst is 0.
	off := newRouter(t)
	var o State
	for i := range 20 {
		res := off.Respond(o, Turn{Text: "你好", Time: t0})
		o = res.State
		if res.Outcome == OutcomeFlood {
			t.Fatalf("flood control on by default in the router (turn %d)", i)
		}
	}
}
