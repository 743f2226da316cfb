package telegram

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/carebot/carebot/channels"
)

// MaxText is Telegram's limit on a message's text, in UTF-16 code units.
const MaxText = 4096

// maxCallbackData is Telegram's limit on a button's callback_data, in bytes.
const maxCallbackData = 64

// hashedPrefix starts the callback_data of a payload kept in the KV. A
// payload that itself starts with it is hashed too, so reading it back is
// never ambiguous.
const hashedPrefix = "#"

// KV keys (the bot keeps one key space per channel).
const (
	keyOffset       = "offset" // "<last handled update_id> <unix time>"
	keyPayload      = "cb:"    // + hash: a button payload too long for callback_data
	keySentProgress = "parts:" // + outbox id: parts of a split message already sent
)

// inlineKeyboard is reply_markup for sendMessage. It is ours rather than
// models.InlineKeyboardMarkup because the SDK's button type serialises
// "copy_text":{"text":""} on every button, which Telegram can reject with
// BUTTON_COPY_TEXT_INVALID.
type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	// URL makes a link button, which opens the page instead of calling
	// back; Telegram takes exactly one of the two.
	URL string `json:"url,omitempty"`
}

// Send delivers one outbound message: its picture (ImageURL) first with
// sendPhoto, then its text split at MaxText on sentence boundaries, with
// the buttons as an inline keyboard under the last part. When a retry
// follows a partly sent message, the parts that went out already are
// skipped; the picture counts as part 0. A picture Telegram refuses with
// a 400 (a URL it cannot fetch, not an image) is logged and skipped: a
// broken picture must not hold the answer back.
//
// A 429 becomes a *channels.RetryAfterError; a blocked bot (403) or a
// rejected request such as "chat not found" (400) is channels.Permanent;
// anything else, network errors included, is temporary.
func (c *Channel) Send(ctx context.Context, m channels.Outbound) error {
	chatID, err := parseChatID(m.ChatID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(m.Text) == "" {
		// Telegram refuses a message without text, buttons or not.
		return channels.Permanent(fmt.Errorf("telegram: outbox row %d has no text", m.ID))
	}
	markup, err := c.keyboard(m.Buttons)
	if err != nil {
		return err
	}
	// Telegram rejects invalid UTF-8 outright.
	parts := splitText(strings.ToValidUTF8(m.Text, "\uFFFD"), MaxText)
	photo := strings.TrimSpace(m.ImageURL)
	first := 0 // the step of parts[0]: 1 after a picture
	if photo != "" {
		first = 1
	}
	steps := first + len(parts)
	progressKey := ""
	done := 0
	if steps > 1 && m.ID != 0 {
		progressKey = keySentProgress + strconv.FormatUint(m.ID, 10)
		v, err := c.kv.Get(progressKey)
		if err != nil {
			return fmt.Errorf("telegram: read progress of row %d: %w", m.ID, err)
		}
		done, _ = strconv.Atoi(v)
	}
	for step := done; step < steps; step++ {
		if step < first {
			if err := c.sendPhoto(ctx, &bot.SendPhotoParams{ChatID: chatID, Photo: &models.InputFileString{Data: photo}}); err != nil {
				if !errors.Is(err, bot.ErrorBadRequest) {
					return err
				}
				c.log.Warn("telegram: picture refused, sending the text without it", "row", m.ID, "image_url", photo, "err", err)
			}
		} else {
			i := step - first
			p := &bot.SendMessageParams{ChatID: chatID, Text: parts[i]}
			if i == len(parts)-1 && markup != nil {
				p.ReplyMarkup = markup
			}
			if err := c.sendMessage(ctx, p); err != nil {
				return err
			}
		}
		if progressKey != "" {
			if err := c.kv.Set(progressKey, strconv.Itoa(step+1)); err != nil {
				// The part went out; at worst a retry repeats it.
				c.log.Warn("telegram: cannot record progress of a split message", "row", m.ID, "err", err)
			}
		}
	}
	return nil
}

// sendPhoto sends a picture by URL (Telegram fetches it), following a
// group's migration to a supergroup as sendMessage does.
func (c *Channel) sendPhoto(ctx context.Context, p *bot.SendPhotoParams) error {
	return c.followMigration("sendPhoto", &p.ChatID, func() error {
		_, err := c.bot.SendPhoto(ctx, p)
		return err
	})
}

// sendMessage sends one message, following a group's migration to a
// supergroup once: the old chat id stays in carebot's records, so every
// later message takes the same detour until the conversation moves.
func (c *Channel) sendMessage(ctx context.Context, p *bot.SendMessageParams) error {
	return c.followMigration("sendMessage", &p.ChatID, func() error {
		_, err := c.bot.SendMessage(ctx, p)
		return err
	})
}

// followMigration runs send, the call method of the Bot API addressed to
// *chatID; when Telegram answers that the group became a supergroup, it
// points *chatID at the supergroup and sends once more. The error that
// remains is classified.
func (c *Channel) followMigration(method string, chatID *any, send func() error) error {
	err := send()
	var moved *bot.MigrateError
	if errors.As(err, &moved) && moved.MigrateToChatID != 0 {
		c.log.Warn("telegram group became a supergroup", "old_chat_id", *chatID, "new_chat_id", moved.MigrateToChatID)
		*chatID = int64(moved.MigrateToChatID)
		err = send()
	}
	if err != nil {
		return classify(method, err)
	}
	return nil
}

// keyboard lays buttons out one per row, two per row when both labels are
// short enough to fit side by side on a phone, and a scale of tiny labels
// (a 0–10 NPS, a 1–5 rating) up to six per row.
func (c *Channel) keyboard(buttons []channels.Button) (*inlineKeyboard, error) {
	if len(buttons) == 0 {
		return nil, nil
	}
	kb := &inlineKeyboard{}
	for i := 0; i < len(buttons); {
		n := 1
		if labelWidth(buttons[i].Label) <= tinyWidth {
			for n < maxTinyRow && i+n < len(buttons) && labelWidth(buttons[i+n].Label) <= tinyWidth {
				n++
			}
		}
		if n == 1 && i+1 < len(buttons) && short(buttons[i].Label) && short(buttons[i+1].Label) {
			n = 2
		}
		row := make([]inlineButton, 0, n)
		for _, cb := range buttons[i : i+n] {
			b, err := c.button(cb)
			if err != nil {
				return nil, err
			}
			row = append(row, b)
		}
		kb.InlineKeyboard = append(kb.InlineKeyboard, row)
		i += n
	}
	return kb, nil
}

// A scale's labels ("7", "5 😄") are tiny: up to six share a row.
const (
	tinyWidth  = 4
	maxTinyRow = 6
)

func (c *Channel) button(b channels.Button) (inlineButton, error) {
	if b.URL != "" {
		return linkButton(b)
	}
	label, payload := strings.TrimSpace(b.Label), b.Payload
	if label == "" {
		label = payload
	}
	if payload == "" {
		// Telegram needs callback_data; pressing the button then says
		// what it shows.
		payload = label
	}
	if label == "" {
		return inlineButton{}, channels.Permanent(errors.New("telegram: a button has neither label nor payload"))
	}
	data, err := c.callbackData(payload)
	if err != nil {
		return inlineButton{}, err
	}
	return inlineButton{Text: label, CallbackData: data}, nil
}

// linkButton is a button that opens b.URL. Telegram takes http, https and
// tg links; anything else would make it refuse the whole message.
func linkButton(b channels.Button) (inlineButton, error) {
	u, err := url.Parse(b.URL)
	if err != nil || u.Host == "" && u.Scheme != "tg" || u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "tg" {
		return inlineButton{}, channels.Permanent(fmt.Errorf("telegram: button %q has an invalid link %q", b.Label, b.URL))
	}
	label := strings.TrimSpace(b.Label)
	if label == "" {
		label = b.URL
	}
	return inlineButton{Text: label, URL: b.URL}, nil
}

// callbackData returns the callback_data for payload: the payload itself
// when Telegram accepts it (1–64 bytes), otherwise a short hash under which
// the payload is kept in the KV until the button is pressed.
func (c *Channel) callbackData(payload string) (string, error) {
	if len(payload) <= maxCallbackData && !strings.HasPrefix(payload, hashedPrefix) {
		return payload, nil
	}
	sum := sha256.Sum256([]byte(payload))
	data := hashedPrefix + base64.RawURLEncoding.EncodeToString(sum[:18])
	key := keyPayload + data[len(hashedPrefix):]
	old, err := c.kv.Get(key)
	if err != nil {
		return "", fmt.Errorf("telegram: read button payload: %w", err)
	}
	if old != payload {
		if err := c.kv.Set(key, payload); err != nil {
			return "", fmt.Errorf("telegram: store button payload: %w", err)
		}
	}
	return data, nil
}

// resolvePayload maps a pressed button's callback_data back to the payload;
// ok is false for a hash the KV does not know.
func (c *Channel) resolvePayload(data string) (payload string, ok bool, err error) {
	hash, hashed := strings.CutPrefix(data, hashedPrefix)
	if !hashed {
		return data, data != "", nil
	}
	if hash == "" {
		return "", false, nil
	}
	key := keyPayload + hash
	v, err := c.kv.Get(key)
	if err != nil {
		return "", false, fmt.Errorf("telegram: read button payload: %w", err)
	}
	if v == "" {
		return "", false, nil
	}
	return v, true, nil
}

// short reports whether a label fits half a phone's width: about 14
// Latin characters or 7 Chinese ones.
func short(label string) bool { return labelWidth(label) <= 14 }

// labelWidth counts Latin characters as 1 and wide ones (CJK, emoji) as 2.
func labelWidth(label string) int {
	w := 0
	for _, r := range label {
		if r >= 0x2E80 {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// parseChatID accepts a numeric chat id or a public "@username".
func parseChatID(s string) (any, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id != 0 {
		return id, nil
	}
	if len(s) > 1 && strings.HasPrefix(s, "@") {
		return s, nil
	}
	return nil, channels.Permanent(fmt.Errorf("telegram: invalid chat id %q", s))
}

// classify wraps a Bot API error and says whether the outbox should retry.
func classify(method string, err error) error {
	wrapped := fmt.Errorf("telegram: %s: %w", method, err)
	var tooMany *bot.TooManyRequestsError
	switch {
	case errors.As(err, &tooMany):
		return &channels.RetryAfterError{After: time.Duration(tooMany.RetryAfter) * time.Second, Err: wrapped}
	case errors.As(err, new(*bot.MigrateError)):
		// Still "moved" after following the move once: give up.
		return channels.Permanent(wrapped)
	case errors.Is(err, bot.ErrorForbidden):
		// The user blocked the bot, or the bot was removed from the group.
		return channels.Permanent(wrapped)
	case errors.Is(err, bot.ErrorBadRequest):
		// Chat not found, text rejected…: the same request gets the
		// same answer.
		return channels.Permanent(wrapped)
	}
	return wrapped
}
