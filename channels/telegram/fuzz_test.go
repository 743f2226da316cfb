package telegram

import (
	"encoding/json"
	"testing"

	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

// FuzzWebhook posts arbitrary bodies (with the right secret) to the
// handler: it must never panic, and it acknowledges only bodies that are
// updates, so that garbage is never mistaken for handled.
func FuzzWebhook(f *testing.F) {
	u := telegramtest.User{ID: 42, LanguageCode: "zh-TW"}
	for _, seed := range [][]byte{
		telegramtest.TextUpdate(1, 42, u, "你好"),
		telegramtest.TextUpdate(2, -1001234567890, u, "@CarebotTestBot hi"),
		telegramtest.CallbackUpdate(3, 42, u, "q", "#abc"),
		[]byte(`{"update_id":4,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":-1,"type":"group"},"date":1,"text":"@x","entities":[{"type":"mention","offset":5,"length":-2},{"type":"bot_command","offset":0,"length":99}]}}`),
		[]byte(`{"update_id":5,"my_chat_member":{"chat":{"id":-1,"type":"group"},"from":{"id":1,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"left","user":{"id":1,"is_bot":true,"first_name":"B"}},"new_chat_member":{"status":"restricted","is_member":true,"user":{"id":1,"is_bot":true,"first_name":"B"}}}}`),
		[]byte(`{"update_id":6,"callback_query":{"id":"x","from":{"id":1,"is_bot":false,"first_name":"A"},"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":0},"data":""}}`),
		[]byte(`{"update_id":1e3}`),
		[]byte(`{}`),
		[]byte(`null`),
		[]byte("\x00\xff"),
		[]byte(`{"update_id":7,"message":null}`),
	} {
		f.Add(seed)
	}
	fx := newFixture(f, nil)
	fx.rec.discard = true
	f.Fuzz(func(t *testing.T, body []byte) {
		w := post(fx.ch, testSecret, string(body))
		if w.Code/100 != 2 {
			return
		}
		var head struct {
			ID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(body, &head); err != nil || head.ID <= 0 {
			t.Fatalf("status %d for a body that is not an update: %q", w.Code, body)
		}
	})
}
