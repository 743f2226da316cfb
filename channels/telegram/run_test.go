package telegram

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

func polling(c *Config) { c.Mode, c.WebhookSecret = ModePolling, "" }

// start runs ch.Run in the background; the returned stop cancels it and
// returns Run's error.
func start(t *testing.T, ch *Channel) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of cancel")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func addText(t *testing.T, api *telegramtest.Server, text string) int64 {
	t.Helper()
	id, err := api.AddUpdate(telegramtest.TextUpdate(0, 42, telegramtest.User{ID: 42, LanguageCode: "en"}, text))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPollingPersistsAndResumes(t *testing.T) {
	f := newFixture(t, polling)
	var ids []int64
	for _, text := range []string{"one", "two", "three"} {
		ids = append(ids, addText(t, f.api, text))
	}
	stop := start(t, f.ch)
	for i, want := range []string{"one", "two", "three"} {
		if ev := f.rec.wait(t); ev.Text != want || ev.ID != fmt.Sprintf("u%d", ids[i]) {
			t.Fatalf("event %+v, want %q (update %d) in order", ev, want, ids[i])
		}
	}
	last := ids[2]
	eventually(t, "the offset to be stored", func() bool {
		return strings.HasPrefix(f.kv.get(keyOffset), fmt.Sprint(last, " "))
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A new process with the same KV resumes after the last handled update.
	before := len(f.api.Calls("getUpdates"))
	next := addText(t, f.api, "four")
	ch2 := f.newChannel(t, polling)
	stop2 := start(t, ch2)
	if ev := f.rec.wait(t); ev.Text != "four" || ev.ID != fmt.Sprintf("u%d", next) {
		t.Fatalf("after restart: %+v", ev)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	first := f.api.Calls("getUpdates")[before]
	if first.Params["offset"] != fmt.Sprint(last+1) {
		t.Fatalf("resumed with offset %q, want %d", first.Params["offset"], last+1)
	}
	if !strings.Contains(first.Params["allowed_updates"], "callback_query") {
		t.Errorf("allowed_updates %q", first.Params["allowed_updates"])
	}
	if n := len(f.rec.all()); n != 4 {
		t.Fatalf("%d events, want 4 (nothing handled twice)", n)
	}
}

// A failed dispatch is retried and the offset does not move past it.
func TestPollingRetriesFailedDispatch(t *testing.T) {
	f := newFixture(t, polling)
	f.rec.failNext(2)
	id := addText(t, f.api, "hello")
	addText(t, f.api, "after")
	start(t, f.ch)
	if ev := f.rec.wait(t); ev.Text != "hello" {
		t.Fatalf("first event %+v", ev)
	}
	if ev := f.rec.wait(t); ev.Text != "after" {
		t.Fatalf("second event %+v", ev)
	}
	// The update stayed on the server until it was handled: the polls
	// after the failures asked for it again.
	var offsets []string
	for _, c := range f.api.Calls("getUpdates")[:3] {
		offsets = append(offsets, c.Params["offset"])
	}
	if offsets[0] != "" || offsets[1] != "" || offsets[2] != "" {
		t.Fatalf("offsets of the first polls %q, want none until %d was handled", offsets, id)
	}
}

// After a week without updates Telegram may number the next one at random,
// possibly below the stored offset: polling then starts without offset.
func TestPollingDropsStaleOffset(t *testing.T) {
	f := newFixture(t, polling)
	f.kv.Set(keyOffset, fmt.Sprintf("%d %d", 5000, testNow.Add(-8*24*time.Hour).Unix()))
	addText(t, f.api, "after a quiet week") // id 1001, below 5000
	start(t, f.ch)
	if ev := f.rec.wait(t); ev.Text != "after a quiet week" {
		t.Fatalf("event %+v", ev)
	}
	if off := f.api.Calls("getUpdates")[0].Params["offset"]; off != "" {
		t.Fatalf("first poll offset %q, want none", off)
	}
}

func TestPollingRejectedToken(t *testing.T) {
	f := newFixture(t, polling)
	ch := f.newChannel(t, func(c *Config) { polling(c); c.Token = "999:revoked" })
	err := ch.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rejects the token") {
		t.Fatalf("Run: %v", err)
	}
	if strings.Contains(err.Error(), "revoked") {
		t.Fatalf("error leaks the token: %v", err)
	}
}

// While a webhook is set Telegram refuses getUpdates with 409; polling
// keeps retrying (and logging why) instead of giving up.
func TestPollingWhileWebhookIsSet(t *testing.T) {
	f := newFixture(t, polling)
	addText(t, f.api, "hi")
	wh := f.newChannel(t, func(c *Config) { c.PublicURL = "https://bot.example.com" })
	stopWH := start(t, wh)
	eventually(t, "the webhook to be set", func() bool { return f.api.WebhookURL() != "" })
	if err := stopWH(); err != nil {
		t.Fatal(err)
	}
	stop := start(t, f.ch)
	eventually(t, "two refused polls", func() bool { return len(f.api.Calls("getUpdates")) >= 2 })
	if err := stop(); err != nil {
		t.Fatalf("Run gave up: %v", err)
	}
	if n := len(f.rec.all()); n != 0 {
		t.Fatalf("%d events while the webhook is set", n)
	}
}

func TestWebhookModeRegisters(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicURL = "https://bot.example.com/carebot/" })
	stop := start(t, f.ch)
	eventually(t, "setWebhook", func() bool { return len(f.api.Calls("setWebhook")) == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	p := f.api.Calls("setWebhook")[0].Params
	if p["url"] != "https://bot.example.com/carebot/webhook/telegram" || p["secret_token"] != testSecret {
		t.Fatalf("setWebhook %v", p)
	}
	if !strings.Contains(p["allowed_updates"], "my_chat_member") {
		t.Errorf("allowed_updates %q", p["allowed_updates"])
	}
	if len(f.api.Calls("getUpdates")) != 0 {
		t.Fatal("webhook mode polled")
	}
}

func TestWebhookModeRetriesAndRefuses(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicURL = "https://bot.example.com" })
	f.api.FailNext("setWebhook", telegramtest.Failure{Code: 502, Description: "Bad Gateway"})
	stop := start(t, f.ch)
	eventually(t, "the webhook to be set", func() bool { return f.api.WebhookURL() != "" })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Telegram refuses plain HTTP: retrying cannot help, Run says why.
	ch := f.newChannel(t, func(c *Config) { c.PublicURL = "http://bot.example.com" })
	if err := ch.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "HTTPS") {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	f := newFixture(t, polling)
	start(t, f.ch)
	eventually(t, "the first poll", func() bool { return len(f.api.Calls("getUpdates")) > 0 })
	if err := f.ch.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
}

// An update the models cannot decode is skipped, not retried forever.
func TestPollingSkipsUndecodableUpdate(t *testing.T) {
	f := newFixture(t, polling)
	bad, err := f.api.AddUpdate([]byte(`{"message":{"message_id":1,"chat":"not an object"}}`))
	if err != nil {
		t.Fatal(err)
	}
	good := addText(t, f.api, "still here")
	start(t, f.ch)
	if ev := f.rec.wait(t); ev.Text != "still here" {
		t.Fatalf("event %+v", ev)
	}
	eventually(t, "the offset to pass both updates", func() bool {
		return strings.HasPrefix(f.kv.get(keyOffset), fmt.Sprint(good, " "))
	})
	if good != bad+1 {
		t.Fatalf("ids %d, %d", bad, good)
	}
}
