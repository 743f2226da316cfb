package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/carebot/carebot/channels"
)

// MaxBody is the largest webhook body accepted. Telegram's updates are a
// few kilobytes (a message is at most 4096 characters plus entities).
const MaxBody = 1 << 20

// secretHeader carries the webhook secret Telegram echoes back.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Handler serves Telegram's webhook (mounted at WebhookPath). It checks the
// secret itself, because the SDK's handler answers 200 to a wrong one,
// dispatches the update synchronously and answers 200 only once dispatch
// stored it; on a failure it answers 500 so that Telegram redelivers.
func (c *Channel) Handler() http.Handler {
	return http.HandlerFunc(c.serveWebhook)
}

func (c *Channel) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !c.secretOK(r.Header.Get(secretHeader)) {
		reason := "wrong secret"
		if r.Header.Get(secretHeader) == "" {
			reason = "missing secret"
		}
		c.log.Warn("telegram webhook rejected", "reason", reason, "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	u, err := decodeUpdate(body)
	if err != nil {
		c.log.Warn("telegram webhook: bad update", "err", err)
		http.Error(w, "malformed update", http.StatusBadRequest)
		return
	}
	if err := c.handleUpdate(r.Context(), u); err != nil {
		c.log.Error("telegram webhook: update not handled, Telegram will redeliver it", "update_id", u.ID, "err", err)
		http.Error(w, "update not handled", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// secretOK compares in constant time so the secret cannot be guessed byte
// by byte from response times. An empty configured secret accepts nothing.
func (c *Channel) secretOK(got string) bool {
	want := c.cfg.WebhookSecret
	if want == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// decodeUpdate parses one update; anything without a positive update_id is
// not an update (and could not be deduplicated).
func decodeUpdate(body []byte) (*models.Update, error) {
	var u models.Update
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("decode update: %w", err)
	}
	if u.ID <= 0 {
		return nil, fmt.Errorf("decode update: update_id %d is not positive", u.ID)
	}
	return &u, nil
}

// handleUpdate normalises u and dispatches it. A callback query is always
// answered, even when dispatch fails, because the user's client shows a
// spinner on the button until it is.
func (c *Channel) handleUpdate(ctx context.Context, u *models.Update) error {
	if q := u.CallbackQuery; q != nil {
		defer c.answerCallback(ctx, q.ID)
	}
	ev, ok, err := c.normalise(ctx, u)
	if err != nil {
		return err
	}
	if !ok {
		c.log.Debug("telegram update ignored", "update_id", u.ID)
		return nil
	}
	if err := c.dispatch(ctx, ev); err != nil {
		return fmt.Errorf("telegram: dispatch update %d: %w", u.ID, err)
	}
	return nil
}

func (c *Channel) answerCallback(ctx context.Context, id string) {
	if id == "" {
		return
	}
	// The request may be over by now; the answer still has to go out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.bot.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: id}); err != nil {
		// A redelivered update's query was answered the first time.
		c.log.Debug("telegram answerCallbackQuery failed", "err", err)
	}
}

// normalise turns an update into an Event; ok is false for updates carebot
// does not act on (edits, service messages, other bots, channels).
func (c *Channel) normalise(ctx context.Context, u *models.Update) (channels.Event, bool, error) {
	ev := channels.Event{Channel: Name, ID: "u" + strconv.FormatInt(u.ID, 10)}
	switch {
	case u.Message != nil:
		return c.fromMessage(ctx, ev, u.Message)
	case u.CallbackQuery != nil:
		return c.fromCallback(ev, u.CallbackQuery)
	case u.MyChatMember != nil:
		return c.fromMyChatMember(ev, u.MyChatMember)
	}
	return ev, false, nil
}

func (c *Channel) fromMessage(ctx context.Context, ev channels.Event, m *models.Message) (channels.Event, bool, error) {
	// Other bots (and anonymous admins, who post as GroupAnonymousBot)
	// could start reply loops; linked-channel posts are not customers.
	if m.From == nil || m.From.IsBot || m.IsAutomaticForward || m.Chat.Type == models.ChatTypeChannel {
		return ev, false, nil
	}
	ev.ChatID = strconv.FormatInt(m.Chat.ID, 10)
	ev.UserID = strconv.FormatInt(m.From.ID, 10)
	ev.Locale = localeOf(m.From.LanguageCode)
	ev.Group = isGroup(m.Chat.Type)
	ev.Time = c.timeOf(m.Date)

	if len(m.NewChatMembers) > 0 {
		for _, u := range m.NewChatMembers {
			// The bot's own arrival comes as my_chat_member; other bots
			// need no welcome.
			if u.ID != c.botID && !u.IsBot {
				ev.Members = append(ev.Members, strconv.FormatInt(u.ID, 10))
			}
		}
		ev.Type = channels.EventMemberJoined
		return ev, len(ev.Members) > 0, nil
	}

	text, entities := m.Text, m.Entities
	if text == "" {
		// A caption is what the customer wrote about the photo.
		text, entities = m.Caption, m.CaptionEntities
	}
	if text == "" {
		if !hasContent(m) {
			return ev, false, nil // a service message: title, pin, left member…
		}
		ev.Type = channels.EventUnsupported
	} else {
		ev.Type = channels.EventMessage
		ev.Text = text
	}
	var err error
	if m.Text != "" {
		ev.Text, ev.Mentioned, err = c.command(ctx, m.Text, m.Entities)
		if err != nil {
			return ev, false, err
		}
	}
	if ev.Group && !ev.Mentioned {
		var stripped string
		ev.Mentioned, stripped, err = c.addressed(ctx, text, entities, m.ReplyToMessage)
		if err != nil {
			return ev, false, err
		}
		if ev.Type == channels.EventMessage {
			ev.Text = stripped
		}
	}
	if !ev.Group {
		ev.Mentioned = false
	}
	return ev, true, nil
}

func (c *Channel) fromCallback(ev channels.Event, q *models.CallbackQuery) (channels.Event, bool, error) {
	payload, ok, err := c.resolvePayload(q.Data)
	if err != nil {
		return ev, false, err
	}
	if !ok {
		c.log.Warn("telegram button with unknown data ignored", "data", q.Data)
		return ev, false, nil
	}
	ev.Payload = payload
	ev.UserID = strconv.FormatInt(q.From.ID, 10)
	ev.Locale = localeOf(q.From.LanguageCode)
	// A callback carries no date: it happened now.
	ev.Time = c.now()
	ev.ChatID = ev.UserID // a button under an inline-mode message
	if chat := callbackChat(q); chat != nil {
		ev.ChatID = strconv.FormatInt(chat.ID, 10)
		ev.Group = isGroup(chat.Type)
		// Pressing one of the bot's buttons is talking to the bot.
		ev.Mentioned = ev.Group
	}
	return ev, true, nil
}

// callbackChat returns the chat of the message the pressed button was
// under, or nil for buttons of inline-mode messages.
func callbackChat(q *models.CallbackQuery) *models.Chat {
	switch {
	case q.Message.Message != nil:
		return &q.Message.Message.Chat
	case q.Message.InaccessibleMessage != nil:
		return &q.Message.InaccessibleMessage.Chat
	}
	return nil
}

func (c *Channel) fromMyChatMember(ev channels.Event, u *models.ChatMemberUpdated) (channels.Event, bool, error) {
	if u.Chat.Type == models.ChatTypeChannel {
		return ev, false, nil
	}
	was, is := isMember(u.OldChatMember), isMember(u.NewChatMember)
	if was == is {
		return ev, false, nil // e.g. promoted to administrator
	}
	ev.ChatID = strconv.FormatInt(u.Chat.ID, 10)
	ev.UserID = strconv.FormatInt(u.From.ID, 10)
	ev.Locale = localeOf(u.From.LanguageCode)
	ev.Time = c.timeOf(u.Date)
	ev.Group = isGroup(u.Chat.Type)
	switch {
	case ev.Group && is:
		ev.Type = channels.EventJoin
	case ev.Group:
		ev.Type = channels.EventLeave
	case is:
		// In a private chat the bot's membership changes when the user
		// blocks it (kicked) or unblocks it.
		ev.Type = channels.EventFollow
	default:
		ev.Type = channels.EventUnfollow
	}
	return ev, true, nil
}

// isMember reports whether a chat member status means "in the chat".
func isMember(m models.ChatMember) bool {
	switch m.Type {
	case models.ChatMemberTypeOwner, models.ChatMemberTypeAdministrator, models.ChatMemberTypeMember:
		return true
	case models.ChatMemberTypeRestricted:
		return m.Restricted != nil && m.Restricted.IsMember
	}
	return false
}

// command strips "@ThisBot" from a leading "/cmd@ThisBot" so that commands
// read the same in groups and private chats. Such a command, or a bare
// "/cmd", is addressed to the bot; "/cmd@OtherBot" is left alone.
func (c *Channel) command(ctx context.Context, text string, entities []models.MessageEntity) (string, bool, error) {
	var cmd string
	for _, e := range entities {
		if e.Type == models.MessageEntityTypeBotCommand && e.Offset == 0 {
			cmd, _ = entityText(text, e)
			break
		}
	}
	if cmd == "" || !strings.HasPrefix(text, cmd) {
		return text, false, nil
	}
	name, target, found := strings.Cut(cmd, "@")
	if !found {
		return text, true, nil
	}
	me, err := c.botUsername(ctx)
	if err != nil {
		return text, false, err
	}
	if !strings.EqualFold(target, me) {
		return text, false, nil
	}
	return name + text[len(cmd):], true, nil
}

// addressed reports whether a group message is meant for the bot: it
// @mentions the bot, text-mentions it, or replies to one of its messages.
// It also returns text without the bot's @mentions, so that
// "@CarebotBot 几点开门？" is read as the question it asks.
func (c *Channel) addressed(ctx context.Context, text string, entities []models.MessageEntity, reply *models.Message) (bool, string, error) {
	mentioned := reply != nil && reply.From != nil && reply.From.ID == c.botID
	var own []models.MessageEntity // the bot's @mentions
	for _, e := range entities {
		switch e.Type {
		case models.MessageEntityTypeTextMention:
			if e.User != nil && e.User.ID == c.botID {
				mentioned = true
			}
		case models.MessageEntityTypeMention:
			mention, ok := entityText(text, e)
			if !ok {
				continue
			}
			me, err := c.botUsername(ctx)
			if err != nil {
				return false, text, err
			}
			if strings.EqualFold(mention, "@"+me) {
				mentioned = true
				own = append(own, e)
			}
		}
	}
	return mentioned, removeEntities(text, own), nil
}

// removeEntities cuts the ranges of entities (valid, in order, as checked
// by entityText) out of text; if nothing but them was written, text stays.
func removeEntities(text string, entities []models.MessageEntity) string {
	if len(entities) == 0 {
		return text
	}
	units := utf16.Encode([]rune(text))
	var pieces []string
	last := 0
	for _, e := range entities {
		if e.Offset < last {
			continue // overlapping or out of order
		}
		pieces = append(pieces, strings.TrimSpace(string(utf16.Decode(units[last:e.Offset]))))
		last = e.Offset + e.Length
	}
	pieces = append(pieces, strings.TrimSpace(string(utf16.Decode(units[last:]))))
	pieces = slices.DeleteFunc(pieces, func(p string) bool { return p == "" })
	out := strings.Join(pieces, " ")
	if out == "" {
		return text
	}
	return out
}

// entityText returns the part of text an entity covers. Telegram counts
// offsets in UTF-16 code units; entities out of range are ignored.
func entityText(text string, e models.MessageEntity) (string, bool) {
	units := utf16.Encode([]rune(text))
	if e.Offset < 0 || e.Length <= 0 || e.Offset > len(units) || e.Length > len(units)-e.Offset {
		return "", false
	}
	return string(utf16.Decode(units[e.Offset : e.Offset+e.Length])), true
}

// hasContent reports whether a message without text carries something the
// customer sent (as opposed to a service message).
func hasContent(m *models.Message) bool {
	return len(m.Photo) > 0 || m.Sticker != nil || m.Animation != nil || m.Audio != nil ||
		m.Document != nil || m.Video != nil || m.VideoNote != nil || m.Voice != nil ||
		m.Contact != nil || m.Location != nil || m.Venue != nil || m.Poll != nil ||
		m.Dice != nil || m.Story != nil || m.PaidMedia != nil || m.Game != nil ||
		m.Checklist != nil
}

func isGroup(t models.ChatType) bool {
	return t == models.ChatTypeGroup || t == models.ChatTypeSupergroup
}

func (c *Channel) timeOf(unix int) time.Time {
	if unix <= 0 {
		return c.now()
	}
	return time.Unix(int64(unix), 0)
}

// localeOf maps a Telegram language_code (an IETF tag such as "en",
// "zh-hans", "zh-TW") to a carebot locale, or "" when carebot has none.
func localeOf(code string) string {
	code = strings.ReplaceAll(strings.ToLower(code), "_", "-")
	switch {
	case code == "zh-tw" || code == "zh-hk" || code == "zh-mo" || strings.HasPrefix(code, "zh-hant"):
		return "zh-Hant"
	case code == "zh" || strings.HasPrefix(code, "zh-"):
		return "zh-Hans"
	case code == "en" || strings.HasPrefix(code, "en-"):
		return "en"
	}
	return ""
}
