package telegram

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

// post sends body to the channel's webhook handler with secret.
func post(ch *Channel, secret, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ch.Handler().ServeHTTP(w, telegramtest.WebhookRequest(WebhookPath, secret, []byte(body)))
	return w
}

// Updates below are shaped as in the Bot API documentation. The bot is
// 123456 @CarebotTestBot; 42 is a customer, -1001234567890 a supergroup.
func TestWebhookNormalises(t *testing.T) {
	date := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		body string
		want *channels.Event // nil: acknowledged, not dispatched
	}{
		{
			name: "private text",
			body: `{"update_id":10,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"Ann","language_code":"en"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"text":"where is my order?"}}`,
			want: &channels.Event{ID: "u10", ChatID: "42", UserID: "42", Text: "where is my order?", Locale: "en", Time: date, Type: channels.EventMessage},
		},
		{
			name: "group text without mention",
			body: `{"update_id":11,"message":{"message_id":2,"from":{"id":42,"is_bot":false,"first_name":"Ann","language_code":"zh-hans"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"大家好"}}`,
			want: &channels.Event{ID: "u11", ChatID: "-1001234567890", UserID: "42", Text: "大家好", Locale: "zh-Hans", Time: date, Group: true, Type: channels.EventMessage},
		},
		{
			name: "group text with mention, zh-TW",
			body: `{"update_id":12,"message":{"message_id":3,"from":{"id":42,"is_bot":false,"first_name":"Ann","language_code":"zh-TW"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"@carebottestbot 幾點開門？","entities":[{"type":"mention","offset":0,"length":15}]}}`,
			want: &channels.Event{ID: "u12", ChatID: "-1001234567890", UserID: "42", Text: "幾點開門？", Locale: "zh-Hant", Time: date, Group: true, Mentioned: true, Type: channels.EventMessage},
		},
		{
			name: "mention after an emoji counts UTF-16 units",
			body: `{"update_id":13,"message":{"message_id":4,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"🙂 @CarebotTestBot refund?","entities":[{"type":"mention","offset":3,"length":15}]}}`,
			want: &channels.Event{ID: "u13", ChatID: "-1001234567890", UserID: "42", Text: "🙂 refund?", Time: date, Group: true, Mentioned: true, Type: channels.EventMessage},
		},
		{
			name: "group mention of another bot",
			body: `{"update_id":14,"message":{"message_id":5,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"@OtherBot hi","entities":[{"type":"mention","offset":0,"length":9}]}}`,
			want: &channels.Event{ID: "u14", ChatID: "-1001234567890", UserID: "42", Text: "@OtherBot hi", Time: date, Group: true, Type: channels.EventMessage},
		},
		{
			name: "group text_mention of the bot",
			body: `{"update_id":15,"message":{"message_id":6,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-4001,"title":"Members","type":"group"},"date":1700000000,"text":"Carebot help","entities":[{"type":"text_mention","offset":0,"length":7,"user":{"id":123456,"is_bot":true,"first_name":"Carebot"}}]}}`,
			want: &channels.Event{ID: "u15", ChatID: "-4001", UserID: "42", Text: "Carebot help", Time: date, Group: true, Mentioned: true, Type: channels.EventMessage},
		},
		{
			name: "reply to the bot",
			body: `{"update_id":16,"message":{"message_id":7,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"and on Sunday?","reply_to_message":{"message_id":6,"from":{"id":123456,"is_bot":true,"first_name":"Carebot","username":"CarebotTestBot"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1699999990,"text":"We open at 9."}}}`,
			want: &channels.Event{ID: "u16", ChatID: "-1001234567890", UserID: "42", Text: "and on Sunday?", Time: date, Group: true, Mentioned: true, Type: channels.EventMessage},
		},
		{
			name: "command addressed to the bot in a group",
			body: `{"update_id":17,"message":{"message_id":8,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"/points@CarebotTestBot now","entities":[{"type":"bot_command","offset":0,"length":22}]}}`,
			want: &channels.Event{ID: "u17", ChatID: "-1001234567890", UserID: "42", Text: "/points now", Time: date, Group: true, Mentioned: true, Type: channels.EventMessage},
		},
		{
			name: "command addressed to another bot",
			body: `{"update_id":18,"message":{"message_id":9,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"text":"/help@OtherBot","entities":[{"type":"bot_command","offset":0,"length":14}]}}`,
			want: &channels.Event{ID: "u18", ChatID: "-1001234567890", UserID: "42", Text: "/help@OtherBot", Time: date, Group: true, Type: channels.EventMessage},
		},
		{
			name: "private /start",
			body: `{"update_id":19,"message":{"message_id":10,"from":{"id":42,"is_bot":false,"first_name":"Ann","language_code":"ja"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}}`,
			want: &channels.Event{ID: "u19", ChatID: "42", UserID: "42", Text: "/start", Time: date, Type: channels.EventMessage},
		},
		{
			name: "callback query",
			body: `{"update_id":20,"callback_query":{"id":"4382bfdwdsb323b2d9","from":{"id":42,"is_bot":false,"first_name":"Ann","language_code":"en-GB"},"message":{"message_id":11,"from":{"id":123456,"is_bot":true,"first_name":"Carebot"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"text":"How did we do?"},"chat_instance":"-1","data":"csat:7:5"}}`,
			want: &channels.Event{ID: "u20", ChatID: "42", UserID: "42", Payload: "csat:7:5", Locale: "en", Time: testNow},
		},
		{
			name: "callback under an old message in a group",
			body: `{"update_id":31,"callback_query":{"id":"q-old","from":{"id":42,"is_bot":false,"first_name":"Ann"},"message":{"message_id":3,"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":0},"chat_instance":"-2","data":"faq:hours"}}`,
			want: &channels.Event{ID: "u31", ChatID: "-1001234567890", UserID: "42", Payload: "faq:hours", Time: testNow, Group: true, Mentioned: true},
		},
		{
			name: "sticker is unsupported",
			body: `{"update_id":21,"message":{"message_id":12,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"sticker":{"file_id":"CAAC","file_unique_id":"AgAD","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false,"emoji":"👍"}}}`,
			want: &channels.Event{ID: "u21", ChatID: "42", UserID: "42", Time: date, Type: channels.EventUnsupported},
		},
		{
			name: "photo with caption reads the caption",
			body: `{"update_id":22,"message":{"message_id":13,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"photo":[{"file_id":"P","file_unique_id":"p","width":90,"height":90}],"caption":"the box arrived broken"}}`,
			want: &channels.Event{ID: "u22", ChatID: "42", UserID: "42", Text: "the box arrived broken", Time: date, Type: channels.EventMessage},
		},
		{
			name: "new chat members",
			body: `{"update_id":23,"message":{"message_id":14,"from":{"id":77,"is_bot":false,"first_name":"Bo"},"chat":{"id":-1001234567890,"title":"Members","type":"supergroup"},"date":1700000000,"new_chat_member":{"id":77,"is_bot":false,"first_name":"Bo"},"new_chat_participant":{"id":77,"is_bot":false,"first_name":"Bo"},"new_chat_members":[{"id":77,"is_bot":false,"first_name":"Bo"},{"id":78,"is_bot":false,"first_name":"Cy"},{"id":99,"is_bot":true,"first_name":"Spam","username":"SpamBot"}]}}`,
			want: &channels.Event{ID: "u23", ChatID: "-1001234567890", UserID: "77", Time: date, Group: true, Type: channels.EventMemberJoined, Members: []string{"77", "78"}},
		},
		{
			name: "bot added to a group",
			body: `{"update_id":24,"my_chat_member":{"chat":{"id":-4001,"title":"Members","type":"group"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1700000000,"old_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"left"},"new_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"member"}}}`,
			want: &channels.Event{ID: "u24", ChatID: "-4001", UserID: "42", Time: date, Group: true, Type: channels.EventJoin},
		},
		{
			name: "bot removed from a group",
			body: `{"update_id":25,"my_chat_member":{"chat":{"id":-4001,"title":"Members","type":"group"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1700000000,"old_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"member"},"new_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"kicked","until_date":0}}}`,
			want: &channels.Event{ID: "u25", ChatID: "-4001", UserID: "42", Time: date, Group: true, Type: channels.EventLeave},
		},
		{
			name: "user blocks the bot",
			body: `{"update_id":26,"my_chat_member":{"chat":{"id":42,"first_name":"Ann","type":"private"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1700000000,"old_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"member"},"new_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"kicked","until_date":0}}}`,
			want: &channels.Event{ID: "u26", ChatID: "42", UserID: "42", Time: date, Type: channels.EventUnfollow},
		},
		{
			name: "bot promoted: no event",
			body: `{"update_id":27,"my_chat_member":{"chat":{"id":-4001,"title":"Members","type":"group"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1700000000,"old_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"member"},"new_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Carebot"},"status":"administrator","can_be_edited":false,"is_anonymous":false,"can_manage_chat":true,"can_delete_messages":false,"can_manage_video_chats":false,"can_restrict_members":false,"can_promote_members":false,"can_change_info":false,"can_invite_users":false}}}`,
		},
		{
			name: "edited message: no event",
			body: `{"update_id":28,"edited_message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1700000000,"edit_date":1700000100,"text":"typo fixed"}}`,
		},
		{
			name: "service message: no event",
			body: `{"update_id":29,"message":{"message_id":15,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-4001,"title":"Members 2","type":"group"},"date":1700000000,"new_chat_title":"Members 2"}}`,
		},
		{
			name: "another bot's message: no event",
			body: `{"update_id":30,"message":{"message_id":16,"from":{"id":99,"is_bot":true,"first_name":"Spam"},"chat":{"id":-4001,"title":"Members","type":"group"},"date":1700000000,"text":"@CarebotTestBot buy now","entities":[{"type":"mention","offset":0,"length":15}]}}`,
		},
	}
	f := newFixture(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.rec.all())
			w := post(f.ch, testSecret, tt.body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d %q, want 200", w.Code, w.Body.String())
			}
			got := f.rec.all()[before:]
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("dispatched %+v, want nothing", got)
				}
				return
			}
			want := *tt.want
			want.Channel = Name
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("dispatched\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	// The callback query was answered, and getMe was asked once for the
	// username whatever the number of mentions.
	if got := f.api.Calls("answerCallbackQuery"); len(got) != 2 || got[0].Params["callback_query_id"] != "4382bfdwdsb323b2d9" {
		t.Errorf("answerCallbackQuery calls %v, want the two queries", got)
	}
	if n := len(f.api.Calls("getMe")); n != 1 {
		t.Errorf("getMe calls %d, want 1", n)
	}
}

func TestWebhookRejectsWrongSecret(t *testing.T) {
	f := newFixture(t, nil)
	body := string(telegramtest.TextUpdate(1, 42, telegramtest.User{ID: 42}, "hi"))
	for _, secret := range []string{"", "wrong", testSecret + "x", strings.ToUpper(testSecret)} {
		if w := post(f.ch, secret, body); w.Code != http.StatusUnauthorized {
			t.Errorf("secret %q: status %d, want 401", secret, w.Code)
		}
	}
	if got := f.rec.all(); len(got) != 0 {
		t.Fatalf("dispatched %v with a wrong secret", got)
	}
	if calls := f.api.Calls(""); len(calls) != 0 {
		t.Fatalf("API called with a wrong secret: %v", calls)
	}
}

func TestWebhookBadRequests(t *testing.T) {
	f := newFixture(t, nil)
	for _, body := range []string{"", "{", "not json", `[]`, `"x"`, `{}`, `{"update_id":0}`, `{"update_id":-5}`, `{"update_id":"7"}`,
		`{"update_id":1,"message":{"chat":"x"}}`,
		`{"update_id":1,"my_chat_member":{"chat":{"id":1,"type":"group"},"old_chat_member":{"status":"alien"}}}`} {
		if w := post(f.ch, testSecret, body); w.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, w.Code)
		}
	}
	if got := f.rec.all(); len(got) != 0 {
		t.Fatalf("dispatched %v", got)
	}
	w := httptest.NewRecorder()
	f.ch.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, WebhookPath, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", w.Code)
	}
	big := `{"update_id":1,"message":{"text":"` + strings.Repeat("a", MaxBody) + `"}}`
	if w := post(f.ch, testSecret, big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: status %d, want 413", w.Code)
	}
}

func TestWebhookDispatchFailure(t *testing.T) {
	f := newFixture(t, nil)
	f.rec.failNext(2)
	text := string(telegramtest.TextUpdate(5, 42, telegramtest.User{ID: 42}, "hi"))
	if w := post(f.ch, testSecret, text); w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 so that Telegram redelivers", w.Code)
	}
	// A button press is answered even when it could not be stored: the
	// customer's spinner must stop. Telegram redelivers the update.
	press := string(telegramtest.CallbackUpdate(6, 42, telegramtest.User{ID: 42}, "q1", "yes"))
	if w := post(f.ch, testSecret, press); w.Code != http.StatusInternalServerError {
		t.Fatalf("callback: status %d, want 500", w.Code)
	}
	if n := len(f.api.Calls("answerCallbackQuery")); n != 1 {
		t.Fatalf("answerCallbackQuery calls %d, want 1", n)
	}
	// The redelivery succeeds; answering again is refused by Telegram
	// ("query is too old") and must not fail the update.
	if w := post(f.ch, testSecret, press); w.Code != http.StatusOK {
		t.Fatalf("redelivered callback: status %d, want 200", w.Code)
	}
	if got := f.rec.all(); len(got) != 1 || got[0].Payload != "yes" {
		t.Fatalf("dispatched %+v", got)
	}
}

// A failing getMe (needed to read a group mention) fails the update, so
// that it is redelivered rather than read as "not for the bot".
func TestWebhookGetMeFailure(t *testing.T) {
	f := newFixture(t, nil)
	f.api.FailNext("getMe", telegramtest.Failure{Code: 500, Description: "Internal Server Error"})
	body := `{"update_id":3,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":-4001,"title":"M","type":"group"},"date":1700000000,"text":"@CarebotTestBot hi","entities":[{"type":"mention","offset":0,"length":15}]}}`
	if w := post(f.ch, testSecret, body); w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if w := post(f.ch, testSecret, body); w.Code != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", w.Code)
	}
	if got := f.rec.all(); len(got) != 1 || !got[0].Mentioned || got[0].Text != "hi" {
		t.Fatalf("dispatched %+v", got)
	}
}

func TestLocale(t *testing.T) {
	for code, want := range map[string]string{
		"zh-TW": "zh-Hant", "zh-hk": "zh-Hant", "zh-hant": "zh-Hant", "zh-Hant-TW": "zh-Hant", "zh_TW": "zh-Hant",
		"zh": "zh-Hans", "zh-hans": "zh-Hans", "zh-CN": "zh-Hans", "zh-SG": "zh-Hans",
		"en": "en", "en-US": "en", "EN-gb": "en",
		"": "", "ja": "", "eng": "", "zhx": "",
	} {
		if got := localeOf(code); got != want {
			t.Errorf("localeOf(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	kv := newKV()
	dispatch := newRecorder().dispatch
	for name, tt := range map[string]struct {
		cfg  Config
		opts Options
	}{
		"no token":               {Config{}, Options{KV: kv}},
		"malformed token":        {Config{Token: "abc:def"}, Options{KV: kv}},
		"bad mode":               {Config{Token: testToken, Mode: "push"}, Options{KV: kv}},
		"webhook without secret": {Config{Token: testToken, Mode: ModeWebhook}, Options{KV: kv}},
		"no KV":                  {Config{Token: testToken}, Options{}},
		"client timeout too short for polling": {Config{Token: testToken, Mode: ModePolling},
			Options{KV: kv, HTTPClient: &http.Client{Timeout: 3 * time.Second}}},
	} {
		if _, err := New(tt.cfg, dispatch, tt.opts); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	ch, err := New(Config{Token: testToken}, dispatch, Options{KV: kv})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != "telegram" || ch.cfg.Mode != ModePolling || ch.cfg.APIBase != DefaultAPIBase {
		t.Fatalf("defaults: name %q mode %q base %q", ch.Name(), ch.cfg.Mode, ch.cfg.APIBase)
	}
	ch, err = New(Config{Token: testToken, WebhookSecret: testSecret}, dispatch, Options{KV: kv})
	if err != nil {
		t.Fatal(err)
	}
	if ch.cfg.Mode != ModeWebhook {
		t.Fatalf("a secret without a mode gives mode %q, want webhook", ch.cfg.Mode)
	}
}
