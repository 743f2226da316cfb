package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

func TestSendText(t *testing.T) {
	f := newFixture(t, nil)
	for _, chat := range []string{"42", "-1001234567890", "@carebot_news"} {
		if err := f.ch.Send(context.Background(), channels.Outbound{ID: 1, ChatID: chat, Text: "你好 👋"}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.api.SentMessages()
	if len(got) != 3 {
		t.Fatalf("sent %+v", got)
	}
	for i, chat := range []string{"42", "-1001234567890", "@carebot_news"} {
		if got[i].ChatID != chat || got[i].Text != "你好 👋" || got[i].ReplyMarkup != "" {
			t.Errorf("message %d: %+v", i, got[i])
		}
	}
	// The SDK speaks multipart, as Telegram expects.
	if calls := f.api.Calls("sendMessage"); calls[0].Params["chat_id"] != "42" {
		t.Errorf("params %v", calls[0].Params)
	}
}

type keyboardJSON struct {
	InlineKeyboard [][]map[string]any `json:"inline_keyboard"`
}

func TestSendButtons(t *testing.T) {
	f := newFixture(t, nil)
	long := "kb:" + strings.Repeat("退货流程", 10) // 123 bytes, over Telegram's 64
	buttons := []channels.Button{
		{Label: "Yes", Payload: "consent:yes"},
		{Label: "No", Payload: "consent:no"},
		{Label: "How do I return a damaged parcel?", Payload: long},
		{Label: "#1", Payload: "#1"}, // looks like a hashed payload: hashed too
	}
	if err := f.ch.Send(context.Background(), channels.Outbound{ID: 2, ChatID: "42", Text: "Pick one", Buttons: buttons}); err != nil {
		t.Fatal(err)
	}
	sent := f.api.SentMessages()
	if len(sent) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	if strings.Contains(sent[0].ReplyMarkup, "copy_text") {
		t.Fatalf("reply_markup carries copy_text: %s", sent[0].ReplyMarkup)
	}
	var kb keyboardJSON
	if err := json.Unmarshal([]byte(sent[0].ReplyMarkup), &kb); err != nil {
		t.Fatalf("reply_markup %q: %v", sent[0].ReplyMarkup, err)
	}
	rows := kb.InlineKeyboard
	if len(rows) != 3 || len(rows[0]) != 2 || len(rows[1]) != 1 || len(rows[2]) != 1 {
		t.Fatalf("layout %v, want [Yes No] [long] [#1]", rows)
	}
	if rows[0][0]["text"] != "Yes" || rows[0][0]["callback_data"] != "consent:yes" || rows[0][1]["callback_data"] != "consent:no" {
		t.Fatalf("row 0: %v", rows[0])
	}
	for _, b := range []map[string]any{rows[1][0], rows[2][0]} {
		data, _ := b["callback_data"].(string)
		if !strings.HasPrefix(data, hashedPrefix) || len(data) > maxCallbackData {
			t.Fatalf("callback_data %q is not a short hash", data)
		}
	}

	// Pressing the buttons gives back the payloads that were hashed.
	for i, tt := range []struct {
		data, want string
	}{{rows[1][0]["callback_data"].(string), long}, {rows[2][0]["callback_data"].(string), "#1"}} {
		press := telegramtest.CallbackUpdate(int64(100+i), 42, telegramtest.User{ID: 42}, "q"+tt.want, tt.data)
		if w := post(f.ch, testSecret, string(press)); w.Code != http.StatusOK {
			t.Fatalf("press: status %d", w.Code)
		}
		if ev := f.rec.wait(t); ev.Payload != tt.want {
			t.Fatalf("payload %q, want %q", ev.Payload, tt.want)
		}
	}
	// An unknown hash is acknowledged and ignored.
	press := telegramtest.CallbackUpdate(200, 42, telegramtest.User{ID: 42}, "qx", hashedPrefix+"unknown")
	if w := post(f.ch, testSecret, string(press)); w.Code != http.StatusOK {
		t.Fatalf("unknown hash: status %d", w.Code)
	}
	if n := len(f.rec.all()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func TestSendSplitsLongText(t *testing.T) {
	f := newFixture(t, nil)
	var b strings.Builder
	for i := 0; b.Len() < 30000; i++ {
		b.WriteString("您的订单已经发货，预计三天内送达😀。")
		if i%7 == 6 {
			b.WriteString("\n")
		}
	}
	text := b.String()
	err := f.ch.Send(context.Background(), channels.Outbound{ID: 3, ChatID: "42", Text: text,
		Buttons: []channels.Button{{Label: "OK", Payload: "ok"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := f.api.SentMessages()
	if len(sent) < 3 {
		t.Fatalf("%d parts, want at least 3", len(sent))
	}
	var joined strings.Builder
	for i, m := range sent {
		if n := utf16Len(m.Text); n > MaxText {
			t.Fatalf("part %d has %d UTF-16 units", i, n)
		}
		if i < len(sent)-1 {
			if !strings.HasSuffix(m.Text, "。") {
				t.Errorf("part %d does not end a sentence: …%q", i, m.Text[len(m.Text)-12:])
			}
			if m.ReplyMarkup != "" {
				t.Errorf("part %d carries the keyboard", i)
			}
		}
		joined.WriteString(m.Text)
	}
	if sent[len(sent)-1].ReplyMarkup == "" {
		t.Error("the last part has no keyboard")
	}
	if strings.ReplaceAll(joined.String(), "\n", "") != strings.ReplaceAll(text, "\n", "") {
		t.Fatal("parts do not add up to the text, in order")
	}
}

// A retry after a part failed does not send the earlier parts again, and
// a retry of a message sent in full sends nothing.
func TestSendResumesSplitMessage(t *testing.T) {
	f := newFixture(t, nil)
	text := strings.Repeat("Sentence one is here. ", 500) // 11000 units
	parts := splitText(text, MaxText)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	f.api.FailNext("sendMessage", telegramtest.Failure{After: 1, Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	out := channels.Outbound{ID: 77, ChatID: "42", Text: text}
	var ra *channels.RetryAfterError
	if err := f.ch.Send(context.Background(), out); !errors.As(err, &ra) {
		t.Fatalf("first attempt: %v, want a 429", err)
	}
	for attempt := 2; attempt <= 3; attempt++ {
		if err := f.ch.Send(context.Background(), out); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	wantTexts(t, f.api, parts)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		failure   telegramtest.Failure
		retry     time.Duration // want a RetryAfterError with this wait
		permanent bool
	}{
		{"429", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 3", RetryAfter: 3}, 3 * time.Second, false},
		{"403 blocked", telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}, 0, true},
		{"400 chat not found", telegramtest.Failure{Code: 400, Description: "Bad Request: chat not found"}, 0, true},
		{"500", telegramtest.Failure{Code: 500, Description: "Internal Server Error"}, 0, false},
		{"401", telegramtest.Failure{Code: 401, Description: "Unauthorized"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.api.FailNext("sendMessage", tt.failure)
			err := f.ch.Send(context.Background(), channels.Outbound{ID: 9, ChatID: "42", Text: "hello"})
			if err == nil {
				t.Fatal("no error")
			}
			var ra *channels.RetryAfterError
			if got := errors.As(err, &ra); got != (tt.retry > 0) {
				t.Fatalf("RetryAfterError %v, want %v: %v", got, tt.retry > 0, err)
			}
			if ra != nil && ra.After != tt.retry {
				t.Fatalf("After %s, want %s", ra.After, tt.retry)
			}
			if got := errors.Is(err, channels.ErrPermanent); got != tt.permanent {
				t.Fatalf("permanent %v, want %v: %v", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), "telegram: sendMessage: ") {
				t.Errorf("error lacks context: %v", err)
			}
			// The outbox's retry goes through.
			if err := f.ch.Send(context.Background(), channels.Outbound{ID: 9, ChatID: "42", Text: "hello"}); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}

func TestSendBlockedAndInvalid(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Block("42")
	err := f.ch.Send(context.Background(), channels.Outbound{ChatID: "42", Text: "hi"})
	if !errors.Is(err, channels.ErrPermanent) {
		t.Fatalf("blocked: %v", err)
	}
	for _, out := range []channels.Outbound{
		{ChatID: "", Text: "hi"},
		{ChatID: "abc", Text: "hi"},
		{ChatID: "42", Text: "  "},
		{ChatID: "42", Text: "hi", Buttons: []channels.Button{{}}},
	} {
		if err := f.ch.Send(context.Background(), out); !errors.Is(err, channels.ErrPermanent) {
			t.Errorf("%+v: %v, want permanent", out, err)
		}
	}
	if n := len(f.api.Calls("sendMessage")); n != 1 {
		t.Fatalf("%d sendMessage calls, want only the blocked one", n)
	}
}

func TestSendNetworkError(t *testing.T) {
	f := newFixture(t, nil)
	f.api.Close()
	err := f.ch.Send(context.Background(), channels.Outbound{ChatID: "42", Text: "hi"})
	var ra *channels.RetryAfterError
	if err == nil || errors.Is(err, channels.ErrPermanent) || errors.As(err, &ra) {
		t.Fatalf("network error %v, want a plain temporary error", err)
	}
	if strings.Contains(err.Error(), "TEST-token") {
		t.Fatalf("error leaks the token: %v", err)
	}
}

func TestSendFollowsSupergroupMigration(t *testing.T) {
	f := newFixture(t, nil)
	f.api.FailNext("sendMessage", telegramtest.Failure{Code: 400,
		Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1009999})
	if err := f.ch.Send(context.Background(), channels.Outbound{ChatID: "-4001", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if sent := f.api.SentMessages(); len(sent) != 1 || sent[0].ChatID != "-1009999" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestTyping(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.ch.Typing(context.Background(), "42"); err != nil {
		t.Fatal(err)
	}
	calls := f.api.Calls("sendChatAction")
	if len(calls) != 1 || calls[0].Params["chat_id"] != "42" || calls[0].Params["action"] != "typing" {
		t.Fatalf("calls %v", calls)
	}
	f.api.FailNext("sendChatAction", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	var ra *channels.RetryAfterError
	if err := f.ch.Typing(context.Background(), "42"); !errors.As(err, &ra) {
		t.Fatalf("429: %v", err)
	}
}

// The SDK's own keyboard type sends "copy_text":{"text":""} on every
// button, which the fake refuses as Telegram can (go-telegram/bot PR #167):
// the reason Send passes its own reply_markup type.
func TestSDKKeyboardCarriesEmptyCopyText(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.ch.bot.SendMessage(context.Background(), &bot.SendMessageParams{ChatID: 42, Text: "x",
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "a", CallbackData: "a"}}}}})
	if err == nil || !strings.Contains(err.Error(), "BUTTON_COPY_TEXT_INVALID") {
		t.Fatalf("SDK keyboard: %v; if the SDK fixed copy_text, inlineKeyboard can go", err)
	}
}

func TestKeyboardLayout(t *testing.T) {
	f := newFixture(t, nil)
	labels := func(ls ...string) []channels.Button {
		bs := make([]channels.Button, len(ls))
		for i, l := range ls {
			bs[i] = channels.Button{Label: l, Payload: "p" + strconv.Itoa(i)}
		}
		return bs
	}
	nps := make([]string, 11)
	for i := range nps {
		nps[i] = strconv.Itoa(i)
	}
	for _, tt := range []struct {
		name    string
		buttons []channels.Button
		want    []int
	}{
		{"a 0–10 scale: six and five", labels(nps...), []int{6, 5}},
		{"a 1–5 rating with faces: one row", labels("1 😞", "2 🙁", "3 😐", "4 🙂", "5 😄"), []int{5}},
		{"short labels pair up", labels("一切顺利 👍", "需要帮助"), []int{2}},
		{"long labels one per row", labels("How do I return a damaged parcel?", "Where is my order right now?"), []int{1, 1}},
		{"a tiny label before a short one pairs", labels("OK", "Talk to us"), []int{2}},
	} {
		kb, err := f.ch.keyboard(tt.buttons)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, row := range kb.InlineKeyboard {
			got = append(got, len(row))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rows %v, want %v", tt.name, got, tt.want)
		}
	}
}
