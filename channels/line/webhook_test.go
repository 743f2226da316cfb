package line

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/line/linetest"
)

func TestWebhookEvents(t *testing.T) {
	ms := time.UnixMilli
	tests := []struct {
		fixture string
		want    []channels.Event
	}{
		{"text_user.json", []channels.Event{{
			Channel: Name, ID: "01H810YECXQQZ37VAXPF6H9E6T", ReplyToken: "38ef843bde154d9b91c21320ffd17a0f",
			Time: ms(1692251666727), ChatID: testUser, UserID: testUser, Type: channels.EventMessage, Text: "請問退貨要多久？",
		}}},
		{"text_group_mention.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", ReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
			Time: ms(1462629479859), ChatID: testGroup, UserID: testUser, Group: true, Mentioned: true,
			Type: channels.EventMessage, Text: "@CareBot how do I return an order?",
		}}},
		{"text_group_other_mention.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZS", ReplyToken: "b60d432864f44d079f6d8efe86cf404b",
			Time: ms(1462629479860), ChatID: testGroup, UserID: testUser, Group: true, Mentioned: false,
			Type: channels.EventMessage, Text: "@Alice @All see you tonight",
		}}},
		{"text_room.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZT", ReplyToken: "0f3779fba3b349968c5d07db31eab56f",
			Time: ms(1462629479861), ChatID: "Ra8dbf4673c1a2b3c4d5e6f708192a3b", UserID: testUser, Group: true,
			Type: channels.EventMessage, Text: "hello",
		}}},
		{"postback.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZU", ReplyToken: "b60d432864f44d079f6d8efe86cf404b",
			Time: ms(1513669370317), ChatID: testUser, UserID: testUser, Type: channels.EventMessage, Payload: "faq:return-policy",
		}}},
		{"follow.json", []channels.Event{{
			Channel: Name, ID: "01HMQGW40RZJPJM3RAJP7BHC2Q", ReplyToken: "85cbe770fa8b4f45bbe077b1d4be4a36",
			Time: ms(1705891467176), ChatID: testUser, UserID: testUser, Type: channels.EventFollow,
		}}},
		{"unfollow.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZV",
			Time: ms(1462629479960), ChatID: testUser, UserID: testUser, Type: channels.EventUnfollow,
		}}},
		{"join.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZW", ReplyToken: "0f3779fba3b349968c5d07db31eab56f",
			Time: ms(1462629479859), ChatID: testGroup, Group: true, Type: channels.EventJoin,
		}}},
		{"leave.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZX",
			Time: ms(1462629479960), ChatID: testGroup, Group: true, Type: channels.EventLeave,
		}}},
		{"member_joined.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZY", ReplyToken: "0f3779fba3b349968c5d07db31eabf65",
			Time: ms(1462629479859), ChatID: testGroup, Group: true, Type: channels.EventMemberJoined,
			Members: []string{testUser, "U91eeaf62d9a1b2c3d4e5f60718293a4b"},
		}}},
		{"image.json", []channels.Event{{
			Channel: Name, ID: "01FZ74A0TDDPYRVKNK77XKC3ZZ", ReplyToken: "7840b71058e24a5d91f9b5726c7512c9",
			Time: ms(1627356924513), ChatID: testUser, UserID: testUser, Type: channels.EventUnsupported,
		}}},
		{"standby.json", nil},
		{"unsend_and_unknown.json", nil},
		{"verify.json", nil},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.fixture, ".json"), func(t *testing.T) {
			h := newHarness(t)
			w := h.postSigned(readFixture(t, tt.fixture))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
			}
			got := h.rec.Events()
			if len(got) != len(tt.want) {
				t.Fatalf("dispatched %d events, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if !got[i].Time.Equal(tt.want[i].Time) {
					t.Errorf("event %d: time %v, want %v", i, got[i].Time, tt.want[i].Time)
				}
				got[i].Time, tt.want[i].Time = time.Time{}, time.Time{}
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// Every fixture becomes one request with all its events; a request with
// several events dispatches them all, in order.
func TestWebhookSeveralEvents(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"destination":"U0","events":[` +
		`{"type":"follow","mode":"active","timestamp":1,"source":{"type":"user","userId":"Ua"},"webhookEventId":"E1","replyToken":"t1"},` +
		`{"type":"message","mode":"active","timestamp":2,"source":{"type":"user","userId":"Ua"},"webhookEventId":"E2","replyToken":"t2","message":{"type":"sticker","id":"1","packageId":"446","stickerId":"1988"}},` +
		`{"type":"message","mode":"active","timestamp":3,"source":{"type":"user","userId":"Ua"},"webhookEventId":"E3","replyToken":"t3","message":{"type":"text","id":"2","text":"hi"}}]}`)
	if w := h.postSigned(body); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got []string
	for _, ev := range h.rec.Events() {
		got = append(got, ev.ID+":"+ev.Type)
	}
	want := []string{"E1:follow", "E2:unsupported", "E3:message"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWebhookRejectsBadSignature(t *testing.T) {
	body := readFixture(t, "text_user.json")
	tests := []struct {
		name string
		sig  string
	}{
		{"missing", ""},
		{"not base64", "not-a-signature!"},
		{"wrong secret", linetest.Sign("another-secret", body)},
		{"other body", linetest.Sign(testSecret, append([]byte(" "), body...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			w := h.post(body, tt.sig)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if n := len(h.rec.Events()); n != 0 {
				t.Errorf("dispatch called %d times", n)
			}
			// Nothing is touched: not even the reply token is remembered.
			if h.ch.memo.freshToken("38ef843bde154d9b91c21320ffd17a0f", h.clock.Now()) {
				t.Error("reply token of a rejected request was remembered")
			}
		})
	}
}

func TestWebhookMalformed(t *testing.T) {
	bodies := map[string]string{
		"not json":           `{"events": [`,
		"events not a list":  `{"events": {"type": "message"}}`,
		"event without type": `{"events": [{"source": {"type": "user", "userId": "Ua"}}]}`,
		"null source":        `{"events": [{"type": "message", "source": null}]}`,
		"text is a number":   `{"events": [{"type": "message", "source": {"type": "user", "userId": "Ua"}, "message": {"type": "text", "text": 5}}]}`,
		"timestamp a string": `{"events": [{"type": "follow", "timestamp": "yesterday"}]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			w := h.postSigned([]byte(body))
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
			if n := len(h.rec.Events()); n != 0 {
				t.Errorf("dispatch called %d times", n)
			}
		})
	}
}

// Events without a usable chat are dropped rather than dispatched with an
// empty ChatID, and nil parts of known events do not panic.
func TestWebhookIncompleteEvents(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"events":[` +
		`{"type":"message","webhookEventId":"E1","message":{"type":"text","id":"1","text":"no source"}},` +
		`{"type":"message","webhookEventId":"E2","source":{"type":"bot","userId":"Ub"},"message":{"type":"text","id":"1","text":"odd source"}},` +
		`{"type":"postback","webhookEventId":"E3","source":{"type":"user","userId":"Ua"}},` +
		`{"type":"memberJoined","webhookEventId":"E4","source":{"type":"group","groupId":"Cg"}},` +
		`{"type":"message","webhookEventId":"E5","source":{"type":"user","userId":"Ua"}}]}`)
	if w := h.postSigned(body); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got []string
	for _, ev := range h.rec.Events() {
		got = append(got, ev.ID+":"+ev.Type+":"+ev.Payload)
	}
	want := []string{"E3:message:", "E4:member_joined:", "E5:unsupported:"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWebhookDispatchFailure(t *testing.T) {
	h := newHarness(t)
	h.rec.fail = func(ev channels.Event) bool { return ev.ID == "E1" }
	body := []byte(`{"events":[` +
		`{"type":"follow","mode":"active","timestamp":1,"source":{"type":"user","userId":"Ua"},"webhookEventId":"E1"},` +
		`{"type":"follow","mode":"active","timestamp":2,"source":{"type":"user","userId":"Ub"},"webhookEventId":"E2"}]}`)
	w := h.postSigned(body)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 so that LINE redelivers", w.Code)
	}
	// The other event is still handed over; the redelivery of it is the
	// engine's to drop.
	if ev := h.rec.Events(); len(ev) != 1 || ev[0].ID != "E2" {
		t.Errorf("dispatched %+v, want E2 only", ev)
	}
}

func TestWebhookLimits(t *testing.T) {
	h := newHarness(t)
	w := httptest.NewRecorder()
	h.ch.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/webhook/line", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", w.Code)
	}
	big := []byte(`{"events":[],"destination":"` + strings.Repeat("x", MaxBody) + `"}`)
	if w := h.postSigned(big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", w.Code)
	}
	if n := len(h.rec.Events()); n != 0 {
		t.Errorf("dispatch called %d times", n)
	}
}

// FuzzWebhook feeds arbitrary bodies, correctly signed or not, to the
// handler: it must never panic, must reject every unsigned body with 401
// without dispatching, and must dispatch only events with a chat.
func FuzzWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "webhook", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Add([]byte(`{"events":[{"type":"message","source":{"type":"user","userId":"U1"},"message":{"type":"text","mention":{"mentionees":[{"type":"user"},{}]}}}]}`), true)
	f.Add([]byte(`{"events":[{"type":"memberJoined","source":{"type":"group","groupId":"C1"},"joined":{"members":[{}]}}]}`), true)
	f.Add([]byte(`{"events":[null]}`), true)
	f.Add([]byte(`null`), true)
	f.Add([]byte(``), true)
	f.Add([]byte("\xff\xfe"), true)
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h.rec.reset()
		sig := "bm90IGEgc2lnbmF0dXJl" // valid base64, wrong MAC
		if signed {
			sig = linetest.Sign(testSecret, body)
		}
		w := h.post(body, sig)
		switch {
		case !signed && w.Code != http.StatusUnauthorized:
			t.Fatalf("unsigned body: status %d, want 401", w.Code)
		case signed && w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge:
			t.Fatalf("signed body: status %d", w.Code)
		}
		evs := h.rec.Events()
		if w.Code != http.StatusOK && len(evs) != 0 {
			t.Fatalf("status %d but %d events dispatched", w.Code, len(evs))
		}
		for _, ev := range evs {
			if ev.Channel != Name || ev.ChatID == "" || ev.Type == "" {
				t.Fatalf("dispatched an incomplete event: %+v", ev)
			}
		}
	})
}

// A button press in a group is addressed to the bot, like a mention.
func TestWebhookGroupPostbackIsMention(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"events":[{"type":"postback","mode":"active","timestamp":1,"webhookEventId":"E1","replyToken":"t1",` +
		`"source":{"type":"group","groupId":"` + testGroup + `","userId":"` + testUser + `"},"postback":{"data":"points:show"}}]}`)
	if w := h.postSigned(body); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	ev := h.rec.Events()
	if len(ev) != 1 || !ev[0].Group || !ev[0].Mentioned || ev[0].Payload != "points:show" || ev[0].UserID != testUser {
		t.Errorf("events %+v", ev)
	}
}
