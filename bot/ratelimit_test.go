package bot

import (
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
)

func TestRateLimitsFollowThePlatforms(t *testing.T) {
	l, err := newRateLimits(map[string]configs.RateLimit{"line": {PerChat: "2/s"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// Telegram: one message per second to a private chat.
	if w := l.reserve("telegram", "42", false, t0); w != 0 {
		t.Fatalf("first message waits %v", w)
	}
	if w := l.reserve("telegram", "42", false, t0); w <= 0 || w > time.Second {
		t.Fatalf("second message in the same instant waits %v, want up to 1s", w)
	}
	if w := l.reserve("telegram", "43", false, t0); w != 0 {
		t.Fatalf("another chat waits %v", w)
	}
	if w := l.reserve("telegram", "42", false, t0.Add(time.Second)); w != 0 {
		t.Fatalf("a second later waits %v", w)
	}
	// A group: 20 a minute, one every 3 s.
	if w := l.reserve("telegram", "-100", true, t0); w != 0 {
		t.Fatalf("first group message waits %v", w)
	}
	if w := l.reserve("telegram", "-100", true, t0.Add(time.Second)); w < time.Second || w > 3*time.Second {
		t.Fatalf("group message after 1s waits %v, want about 2s", w)
	}
	// A refused reservation takes nothing: the later retry is not delayed further.
	if w := l.reserve("telegram", "-100", true, t0.Add(3*time.Second)); w != 0 {
		t.Fatalf("group message after 3s waits %v", w)
	}
	// Configured limits replace the defaults; unknown channels are free.
	if w := l.reserve("line", "U1", false, t0); w != 0 {
		t.Fatal("line first message waited")
	}
	l.reserve("line", "U1", false, t0)
	if w := l.reserve("line", "U1", false, t0); w <= 0 {
		t.Fatal("line third message in an instant did not wait (2/s)")
	}
	for range 100 {
		if w := l.reserve("webchat", "s", false, t0); w != 0 {
			t.Fatal("webchat is limited")
		}
	}
	for _, bad := range []string{"fast", "0/s", "3/d", "x/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}
