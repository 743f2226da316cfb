package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-telegram/bot"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

func TestSendLinkButtons(t *testing.T) {
	f := newFixture(t, nil)
	buttons := []channels.Button{
		{Label: "Track", URL: "https://shop.example.com/track?o=1"},
		{Label: "Help", Payload: "help"},
		{URL: "https://shop.example.com/returns"}, // no label: the link shows
	}
	if err := f.ch.Send(context.Background(), channels.Outbound{ID: 1, ChatID: "42", Text: "Your parcel", Buttons: buttons}); err != nil {
		t.Fatal(err)
	}
	sent := f.api.SentMessages()
	if len(sent) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	var kb keyboardJSON
	if err := json.Unmarshal([]byte(sent[0].ReplyMarkup), &kb); err != nil {
		t.Fatal(err)
	}
	rows := kb.InlineKeyboard
	if len(rows) != 2 || len(rows[0]) != 2 || len(rows[1]) != 1 {
		t.Fatalf("layout %v, want [Track Help] [link]", rows)
	}
	want := []map[string]any{
		{"text": "Track", "url": "https://shop.example.com/track?o=1"},
		{"text": "Help", "callback_data": "help"},
		{"text": "https://shop.example.com/returns", "url": "https://shop.example.com/returns"},
	}
	for i, b := range []map[string]any{rows[0][0], rows[0][1], rows[1][0]} {
		if len(b) != len(want[i]) {
			t.Errorf("button %d: %v, want %v", i, b, want[i])
			continue
		}
		for k, v := range want[i] {
			if b[k] != v {
				t.Errorf("button %d: %v, want %v", i, b, want[i])
			}
		}
	}

	for _, link := range []string{"javascript:alert(1)", "ftp://x.example.com/", "https://", "not a url"} {
		out := channels.Outbound{ID: 2, ChatID: "42", Text: "x", Buttons: []channels.Button{{Label: "go", URL: link}}}
		if err := f.ch.Send(context.Background(), out); !errors.Is(err, channels.ErrPermanent) {
			t.Errorf("link %q: %v, want permanent", link, err)
		}
	}
	if n := len(f.api.SentMessages()); n != 1 {
		t.Errorf("%d messages, want no more after invalid links", n)
	}
}

func TestSendPhotoBeforeText(t *testing.T) {
	f := newFixture(t, nil)
	const pic = "https://cdn.example.com/parcel.jpg"
	out := channels.Outbound{ID: 3, ChatID: "42", Text: "Here it is", ImageURL: pic,
		Buttons: []channels.Button{{Label: "OK", Payload: "ok"}}}
	if err := f.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	photos, sent := f.api.Photos(), f.api.SentMessages()
	if len(photos) != 1 || photos[0].ChatID != "42" || photos[0].Photo != pic || photos[0].Caption != "" || photos[0].ReplyMarkup != "" {
		t.Fatalf("photos %+v", photos)
	}
	if len(sent) != 1 || sent[0].Text != "Here it is" || sent[0].ReplyMarkup == "" {
		t.Fatalf("messages %+v", sent)
	}
	var methods []string
	for _, c := range f.api.Calls("") {
		methods = append(methods, c.Method)
	}
	if got := strings.Join(methods, ","); got != "sendPhoto,sendMessage" {
		t.Errorf("calls %s, want the photo first", got)
	}
	// Sent in full: a retry of the row sends nothing.
	if err := f.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if len(f.api.Photos()) != 1 || len(f.api.SentMessages()) != 1 {
		t.Errorf("a retry of a delivered row sent again: %d photos, %d messages", len(f.api.Photos()), len(f.api.SentMessages()))
	}
}

// A picture Telegram cannot fetch is skipped; the answer still goes out.
func TestSendBrokenPhotoStillSendsText(t *testing.T) {
	for _, desc := range []string{
		"Bad Request: wrong file identifier/HTTP URL specified",
		"Bad Request: failed to get HTTP URL content",
		"Bad Request: IMAGE_PROCESS_FAILED",
	} {
		f := newFixture(t, nil)
		f.api.FailNext("sendPhoto", telegramtest.Failure{Code: 400, Description: desc})
		out := channels.Outbound{ID: 4, ChatID: "42", Text: "hello", ImageURL: "https://cdn.example.com/gone.jpg"}
		if err := f.ch.Send(context.Background(), out); err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		if sent := f.api.SentMessages(); len(sent) != 1 || sent[0].Text != "hello" {
			t.Fatalf("%s: sent %+v", desc, sent)
		}
		// A retry neither tries the picture again nor repeats the text.
		if err := f.ch.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		if n, m := len(f.api.Calls("sendPhoto")), len(f.api.SentMessages()); n != 1 || m != 1 {
			t.Errorf("%s: after a retry %d sendPhoto calls and %d messages, want 1 and 1", desc, n, m)
		}
	}
}

func TestSendPhotoErrors(t *testing.T) {
	tests := []struct {
		name      string
		failure   telegramtest.Failure
		retry     bool
		permanent bool
	}{
		{"429", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 2", RetryAfter: 2}, true, false},
		{"403", telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}, false, true},
		{"500", telegramtest.Failure{Code: 500, Description: "Internal Server Error"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.api.FailNext("sendPhoto", tt.failure)
			out := channels.Outbound{ID: 5, ChatID: "42", Text: "hello", ImageURL: "https://cdn.example.com/a.jpg"}
			err := f.ch.Send(context.Background(), out)
			var ra *channels.RetryAfterError
			if err == nil || errors.As(err, &ra) != tt.retry || errors.Is(err, channels.ErrPermanent) != tt.permanent {
				t.Fatalf("err %v: want retry-after %v, permanent %v", err, tt.retry, tt.permanent)
			}
			if !strings.Contains(err.Error(), "telegram: sendPhoto: ") {
				t.Errorf("error lacks context: %v", err)
			}
			if n := len(f.api.SentMessages()); n != 0 {
				t.Fatalf("%d messages sent after the photo failed", n)
			}
			if err := f.ch.Send(context.Background(), out); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if len(f.api.Photos()) != 1 || len(f.api.SentMessages()) != 1 {
				t.Fatalf("after the retry: %+v %+v", f.api.Photos(), f.api.SentMessages())
			}
		})
	}
}

// The photo is part 0 of the row's progress: a retry after a text part
// failed sends neither the photo nor the parts that went out again.
func TestSendPhotoResumesSplitMessage(t *testing.T) {
	f := newFixture(t, nil)
	text := strings.Repeat("Sentence one is here. ", 500)
	parts := splitText(text, MaxText)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	f.api.FailNext("sendMessage", telegramtest.Failure{After: 1, Code: 500, Description: "Internal Server Error"})
	out := channels.Outbound{ID: 78, ChatID: "42", Text: text, ImageURL: "https://cdn.example.com/a.jpg"}
	if err := f.ch.Send(context.Background(), out); err == nil {
		t.Fatal("first attempt succeeded, want the 500")
	}
	if got := f.kv.get(keySentProgress + "78"); got != "2" {
		t.Errorf("progress %q, want 2 (the photo and part 1)", got)
	}
	if err := f.ch.Send(context.Background(), out); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(f.api.Photos()); n != 1 {
		t.Errorf("%d photos, want 1", n)
	}
	wantTexts(t, f.api, parts)

	// A one-part text with a photo keeps progress too: the photo is not
	// sent twice when the text fails.
	f.api.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	short := channels.Outbound{ID: 79, ChatID: "42", Text: "short", ImageURL: "https://cdn.example.com/b.jpg"}
	if err := f.ch.Send(context.Background(), short); err == nil {
		t.Fatal("want the 429")
	}
	if err := f.ch.Send(context.Background(), short); err != nil {
		t.Fatal(err)
	}
	if n := len(f.api.Photos()); n != 2 {
		t.Errorf("%d photos, want 2 (one per row)", n)
	}
}

func TestSendPhotoFollowsSupergroupMigration(t *testing.T) {
	f := newFixture(t, nil)
	f.api.FailNext("sendPhoto", telegramtest.Failure{Code: 400,
		Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1009999})
	if err := f.ch.Send(context.Background(), channels.Outbound{ChatID: "-4001", Text: "hi", ImageURL: "https://cdn.example.com/a.jpg"}); err != nil {
		t.Fatal(err)
	}
	if p := f.api.Photos(); len(p) != 1 || p[0].ChatID != "-1009999" {
		t.Fatalf("photos %+v", p)
	}
}

// The fake refuses keyboards Telegram refuses.
func TestFakeChecksLinkButtons(t *testing.T) {
	f := newFixture(t, nil)
	for _, tt := range []struct {
		b    inlineButton
		want string
	}{
		{inlineButton{Text: "a", URL: "javascript:x"}, "BUTTON_URL_INVALID"},
		{inlineButton{Text: "a"}, "exactly one"},
		{inlineButton{Text: "a", URL: "https://x.io", CallbackData: "b"}, "exactly one"},
	} {
		kb := &inlineKeyboard{InlineKeyboard: [][]inlineButton{{tt.b}}}
		_, err := f.ch.bot.SendMessage(context.Background(), &bot.SendMessageParams{ChatID: 42, Text: "x", ReplyMarkup: kb})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %s", tt.b, err, tt.want)
		}
	}
}
