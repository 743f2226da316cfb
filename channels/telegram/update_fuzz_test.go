package telegram

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
)

// FuzzUpdateToEvent parses arbitrary update JSON into a channels.Event
// as the webhook and the polling loop do. It must never panic; an event
// it produces must be complete (its update's id, a chat, a type or a
// payload, a mention only in groups, UTF-8 text); and the update must
// round-trip: encoding what was parsed and parsing it again gives the
// same event.
func FuzzUpdateToEvent(f *testing.F) {
	ann := telegramtest.User{ID: 42, FirstName: "Ann", LanguageCode: "zh-hans"}
	for _, seed := range [][]byte{
		telegramtest.TextUpdate(1, 42, ann, "退款多久能到账"),
		telegramtest.TextUpdate(2, -1001234567890, ann, "@CarebotTestBot 运费"),
		telegramtest.TextUpdate(3, -1001234567890, ann, "/points@CarebotTestBot now"),
		telegramtest.CallbackUpdate(4, 42, ann, "q-1", "faq:refund-time"),
		telegramtest.CallbackUpdate(5, -100, ann, "q-2", "#deadbeef"),
		[]byte(`{"update_id":6,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":-1,"type":"group"},"date":1,"new_chat_members":[{"id":7,"is_bot":false,"first_name":"B"},{"id":123456,"is_bot":true,"first_name":"Me"}]}}`),
		[]byte(`{"update_id":7,"message":{"message_id":2,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":42,"type":"private"},"date":1,"photo":[{"file_id":"x","file_unique_id":"y","width":1,"height":1}],"caption":"这个坏了"}}`),
		[]byte(`{"update_id":8,"message":{"message_id":3,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":-1,"type":"supergroup"},"date":1,"text":"谢谢","reply_to_message":{"message_id":9,"from":{"id":123456,"is_bot":true,"first_name":"Me"},"chat":{"id":-1,"type":"supergroup"},"date":1}}}`),
		[]byte(`{"update_id":9,"message":{"message_id":4,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":-1,"type":"group"},"date":1,"text":"hi 😀 @CarebotTestBot x","entities":[{"type":"mention","offset":6,"length":15},{"type":"text_mention","offset":0,"length":2,"user":{"id":123456,"is_bot":true,"first_name":"Me"}}]}}`),
		[]byte(`{"update_id":10,"my_chat_member":{"chat":{"id":-1,"type":"group"},"from":{"id":1,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"left","user":{"id":1,"is_bot":true,"first_name":"B"}},"new_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"B"}}}}`),
		[]byte(`{"update_id":11,"my_chat_member":{"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"B"}},"new_chat_member":{"status":"kicked","user":{"id":1,"is_bot":true,"first_name":"B"},"until_date":0}}}`),
		[]byte(`{"update_id":12,"edited_message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1,"text":"x"}}`),
		[]byte(`{"update_id":13,"callback_query":{"id":"x","from":{"id":1,"is_bot":false,"first_name":"A"},"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":0},"data":""}}`),
		[]byte(`{"update_id":0}`),
		[]byte(`{"update_id":14,"message":null}`),
		[]byte(`[]`),
	} {
		f.Add(seed)
	}
	fx := newFixture(f, nil)
	fx.rec.discard = true
	fx.ch.log = slog.New(slog.DiscardHandler) // unknown buttons are logged
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeUpdate(body)
		if err != nil {
			return
		}
		ev, ok, err := fx.ch.normalise(ctx, u)
		if err != nil || !ok {
			return
		}
		switch {
		case ev.Channel != Name || ev.ID != "u"+strconv.FormatInt(u.ID, 10):
			t.Fatalf("event %q/%q from update %d", ev.Channel, ev.ID, u.ID)
		case ev.ChatID == "" || ev.UserID == "":
			t.Fatalf("event without a chat or user: %+v", ev)
		case ev.Type == "" && ev.Payload == "":
			t.Fatalf("event with neither a type nor a payload: %+v", ev)
		case ev.Mentioned && !ev.Group:
			t.Fatalf("mention outside a group: %+v", ev)
		case !utf8.ValidString(ev.Text) || !utf8.ValidString(ev.Payload):
			t.Fatalf("text or payload is not UTF-8: %+v", ev)
		case ev.Type == channels.EventMemberJoined && len(ev.Members) == 0:
			t.Fatalf("member_joined without members: %+v", ev)
		}
		if _, err := strconv.ParseInt(ev.ChatID, 10, 64); err != nil {
			t.Fatalf("chat id %q is not a Telegram id", ev.ChatID)
		}
		if q := u.CallbackQuery; q != nil && q.Message.Message == nil && q.Message.InaccessibleMessage == nil {
			// The SDK encodes a callback without a message (an inline-mode
			// button) as "message":null, which it decodes as an
			// inaccessible message in chat 0: no round trip to check.
			return
		}
		again, err := json.Marshal(u)
		if err != nil {
			// The SDK decodes chat member updates it cannot encode (a
			// missing old_chat_member); Telegram always sends both.
			return
		}
		u2, err := decodeUpdate(again)
		if err != nil {
			t.Fatalf("the re-encoded update does not parse: %v\n%s", err, again)
		}
		ev2, ok2, err := fx.ch.normalise(ctx, u2)
		if err != nil || !ok2 {
			t.Fatalf("the re-encoded update gives no event (%v):\n%s", err, again)
		}
		// A callback has no date: its time is the clock's, both times.
		if !reflect.DeepEqual(ev, ev2) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v\nfrom %s", ev, ev2, again)
		}
	})
}
