package telegramtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"time"
)

// User is the sender of a built update.
type User struct {
	ID           int64
	FirstName    string
	Username     string
	LanguageCode string // "en", "zh-hans", "zh-TW"…
}

func (u User) json() map[string]any {
	m := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	if m["first_name"] == "" {
		m["first_name"] = "Customer"
	}
	if u.Username != "" {
		m["username"] = u.Username
	}
	if u.LanguageCode != "" {
		m["language_code"] = u.LanguageCode
	}
	return m
}

func chat(id int64, from User) map[string]any {
	c := map[string]any{"id": id, "type": ChatType(id)}
	if id > 0 {
		c["first_name"] = from.json()["first_name"]
	} else {
		c["title"] = "Members"
	}
	return c
}

// TextUpdate builds an update with a text message from user in chat
// (chat == user.ID for a private chat, a negative id for a group), shaped
// as Telegram sends it. updateID 0 leaves update_id out, for AddUpdate to
// number.
func TextUpdate(updateID, chatID int64, from User, text string) []byte {
	return marshal(updateID, "message", map[string]any{
		"message_id": 1,
		"from":       from.json(),
		"chat":       chat(chatID, from),
		"date":       time.Now().Unix(),
		"text":       text,
	})
}

// CallbackUpdate builds an update for a press of an inline button with
// callback_data data, under a message the bot sent in chatID.
func CallbackUpdate(updateID, chatID int64, from User, queryID, data string) []byte {
	return marshal(updateID, "callback_query", map[string]any{
		"id":            queryID,
		"from":          from.json(),
		"chat_instance": "-1",
		"data":          data,
		"message": map[string]any{
			"message_id": 2,
			"from":       map[string]any{"id": 1, "is_bot": true, "first_name": "Carebot"},
			"chat":       chat(chatID, from),
			"date":       time.Now().Unix(),
			"text":       "…",
		},
	})
}

func marshal(updateID int64, kind string, body map[string]any) []byte {
	u := map[string]any{kind: body}
	if updateID != 0 {
		u["update_id"] = updateID
	}
	b, _ := json.Marshal(u)
	return b
}

// WebhookRequest builds the POST Telegram makes to a webhook, with the
// secret header set when secret is not empty.
func WebhookRequest(path, secret string, update []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(update))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	return r
}
