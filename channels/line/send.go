package line

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/carebot/carebot/channels"
)

// Limits of the Messaging API.
const (
	maxTextLen     = 5000 // characters of a text message
	maxPerRequest  = 5    // messages of one reply or push request
	maxQuickReply  = 13   // quick reply items of a message
	maxLabelLen    = 20   // characters of an action label
	maxDataLen     = 300  // characters of postback data and display text
	maxURILen      = 1000 // characters of a URI action's uri
	maxImageURLLen = 2000 // characters of an image message's URLs
	maxErrorBody   = 64 << 10
	defaultBackoff = time.Second
	maxRetryAfter  = time.Hour
)

// errInvalidReplyToken is LINE's answer to a reply token that expired or
// was already used; Send then pushes instead.
var errInvalidReplyToken = errors.New("invalid reply token")

// errAlreadyAccepted is LINE's 409 to a push whose retry key it has
// already accepted: the message was delivered by an earlier attempt.
var errAlreadyAccepted = errors.New("retry key already accepted")

// Send delivers one outbox row: its picture (ImageURL) as an image
// message, then its text. The first batch of messages goes out as a
// free reply while msg.ReplyToken is fresh (younger than ReplyTokenTTL since
// its webhook arrived), otherwise, or when LINE refuses the token, as a
// push; further batches (a text longer than 25,000 characters) are pushed.
// Every push carries a retry key derived from msg.ID, so a retried row is
// not delivered twice, and the channel remembers rows it answered with a
// reply for the same reason.
//
// Errors: *channels.RetryAfterError on 429 (rate limit or monthly quota);
// channels.Permanent for 400, 403 and 404 (a malformed message, a chat the
// bot cannot reach, a feature the account's plan lacks) and for rows that
// cannot be sent at all; a plain error otherwise (network, 5xx, and 401,
// which a corrected channel token fixes, so the row should wait for it).
func (c *Channel) Send(ctx context.Context, msg channels.Outbound) error {
	if msg.ChatID == "" {
		return channels.Permanent(errors.New("line: send: empty chat id"))
	}
	msgs, err := buildMessages(msg.Text, msg.Buttons)
	if err != nil {
		return channels.Permanent(fmt.Errorf("line: send row %d: %w", msg.ID, err))
	}
	if img := strings.TrimSpace(msg.ImageURL); img != "" {
		if validImageURL(img) {
			// First in the first request, so it shows above the text.
			image := &messaging_api.ImageMessage{OriginalContentUrl: img, PreviewImageUrl: img}
			msgs = append([]messaging_api.MessageInterface{image}, msgs...)
		} else {
			// LINE would refuse the whole request; the answer matters more.
			c.log.Warn("line: image URL is not an https URL LINE accepts, sending the text without it", "row", msg.ID, "image_url", img)
		}
	}
	api, err := c.api(ctx)
	if err != nil {
		return err
	}
	batches := batch(msgs, maxPerRequest)
	start := 0
	switch {
	case c.memo.wasReplied(msg.ID):
		start = 1 // an earlier attempt replied; the result was not recorded
	case msg.ReplyToken != "" && c.memo.freshToken(msg.ReplyToken, c.opts.Now()):
		err := c.reply(api, msg.ReplyToken, batches[0])
		switch {
		case err == nil:
			c.memo.forgetToken(msg.ReplyToken)
			c.memo.markReplied(msg.ID, c.opts.Now())
			start = 1
		case errors.Is(err, errInvalidReplyToken):
			c.memo.forgetToken(msg.ReplyToken)
			c.log.Info("line reply token refused, pushing instead", "row", msg.ID, "err", err)
		default:
			return err
		}
	}
	for i := start; i < len(batches); i++ {
		if err := c.push(api, msg.ChatID, retryKey(msg.ID, msg.ChatID, i), batches[i]); err != nil {
			return err
		}
	}
	return nil
}

// reply sends msgs with a reply token.
func (c *Channel) reply(api *messaging_api.MessagingApiAPI, token string, msgs []messaging_api.MessageInterface) error {
	res, _, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: msgs})
	return c.classify("reply", res, err)
}

// push sends msgs to chatID. A 409 means an earlier attempt with the same
// retry key was accepted, which is success.
func (c *Channel) push(api *messaging_api.MessagingApiAPI, chatID, key string, msgs []messaging_api.MessageInterface) error {
	res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: chatID, Messages: msgs}, key)
	err = c.classify("push", res, err)
	if errors.Is(err, errAlreadyAccepted) {
		c.log.Debug("line push already accepted", "retry_key", key)
		return nil
	}
	return err
}

// Typing shows LINE's loading animation in a one-to-one chat for
// Options.TypingFor, or until the bot's next message arrives. LINE offers
// it only in one-to-one chats, so for a group or room (ids starting with
// C or R rather than U) Typing does nothing and returns nil.
func (c *Channel) Typing(ctx context.Context, chatID string) error {
	if !strings.HasPrefix(chatID, "U") {
		return nil
	}
	api, err := c.api(ctx)
	if err != nil {
		return err
	}
	res, _, err := api.ShowLoadingAnimationWithHttpInfo(&messaging_api.ShowLoadingAnimationRequest{
		ChatId:         chatID,
		LoadingSeconds: int32(c.opts.TypingFor / time.Second),
	})
	return c.classify("loading animation", res, err)
}

// buildMessages turns a row's text and buttons into LINE text messages:
// the text split at LINE's limit on sentence boundaries, and the buttons as
// quick replies on the last message, which is the only one LINE shows them
// on. A link button whose URL a URI action cannot carry is listed at the
// end of the text as "label: url" instead.
func buildMessages(text string, buttons []channels.Button) ([]messaging_api.MessageInterface, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty text")
	}
	var links []string
	kept := make([]channels.Button, 0, len(buttons))
	for _, b := range buttons {
		if b.URL != "" && !validURI(b.URL) {
			if label := strings.TrimSpace(b.Label); label != "" {
				links = append(links, label+": "+b.URL)
			} else {
				links = append(links, b.URL)
			}
			continue
		}
		kept = append(kept, b)
	}
	buttons = kept
	if len(links) > 0 {
		text = strings.TrimRightFunc(text, unicode.IsSpace) + "\n\n" + strings.Join(links, "\n")
	}
	parts := splitText(text, maxTextLen)
	if len(parts) == 0 {
		return nil, errors.New("empty text")
	}
	msgs := make([]messaging_api.MessageInterface, len(parts))
	for i, p := range parts {
		msgs[i] = &messaging_api.TextMessage{Text: p}
	}
	if len(buttons) > 0 {
		qr, err := quickReply(buttons)
		if err != nil {
			return nil, err
		}
		msgs[len(msgs)-1].(*messaging_api.TextMessage).QuickReply = qr
	}
	return msgs, nil
}

// quickReply maps buttons to quick reply items with postback actions, so
// that a press comes back as a postback event with the button's payload
// while the chat shows its label; a link button becomes a URI action, which
// LINE allows in quick replies and opens in its in-app browser. LINE takes at most 13 items and labels
// of 20 characters; later buttons are dropped and labels shortened, since a
// message with fewer or clipped choices beats no message. LINE counts
// labels in grapheme clusters, never more than UTF-16 code units, so a
// label clipped to 20 units always fits.
func quickReply(buttons []channels.Button) (*messaging_api.QuickReply, error) {
	buttons = buttons[:min(len(buttons), maxQuickReply)]
	items := make([]messaging_api.QuickReplyItem, 0, len(buttons))
	for i, b := range buttons {
		label := strings.TrimSpace(b.Label)
		if b.URL != "" {
			if label == "" {
				label = b.URL
			}
			action := &messaging_api.UriAction{Label: clipUTF16(label, maxLabelLen), Uri: b.URL}
			items = append(items, messaging_api.QuickReplyItem{Type: "action", Action: action})
			continue
		}
		if label == "" {
			label = b.Payload
		}
		if label == "" {
			return nil, fmt.Errorf("button %d has neither label nor payload", i+1)
		}
		if utf16Len(b.Payload) > maxDataLen {
			return nil, fmt.Errorf("button %d: payload is longer than LINE's %d characters", i+1, maxDataLen)
		}
		var action messaging_api.ActionInterface
		if b.Payload == "" {
			// Without a payload the press can only say the label as text.
			action = &messaging_api.MessageAction{Label: clipUTF16(label, maxLabelLen), Text: clipUTF16(label, maxDataLen)}
		} else {
			action = &messaging_api.PostbackAction{
				Label:       clipUTF16(label, maxLabelLen),
				Data:        b.Payload,
				DisplayText: clipUTF16(label, maxDataLen),
			}
		}
		// Type must be set by hand: the SDK leaves it out, and LINE
		// rejects an item without it.
		items = append(items, messaging_api.QuickReplyItem{Type: "action", Action: action})
	}
	return &messaging_api.QuickReply{Items: items}, nil
}

// validURI reports whether a URI action can carry u: LINE takes http,
// https, line and tel URIs of at most 1000 characters.
func validURI(u string) bool {
	if utf16Len(u) > maxURILen {
		return false
	}
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch p.Scheme {
	case "http", "https":
		return p.Host != ""
	case "line", "tel":
		return true
	}
	return false
}

// validImageURL reports whether LINE takes u as an image message's URL:
// https, at most 2000 characters.
func validImageURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != "" && utf16Len(u) <= maxImageURLLen
}

// batch cuts msgs into groups of at most n, in order.
func batch(msgs []messaging_api.MessageInterface, n int) [][]messaging_api.MessageInterface {
	var out [][]messaging_api.MessageInterface
	for len(msgs) > n {
		out = append(out, msgs[:n])
		msgs = msgs[n:]
	}
	return append(out, msgs)
}

// retryKey is the X-Line-Retry-Key of a row's part-th push request: a
// name-based UUID (version 5 layout over SHA-1) of the row id, the part and
// the chat. It is the same on every attempt, so LINE drops a push it has
// already accepted (keys are remembered for 24 hours). The chat is part of
// the name so that a database started afresh, whose row ids begin again at
// 1, does not collide with keys of a previous one sent to other people.
func retryKey(id uint64, chatID string, part int) string {
	h := sha1.Sum([]byte(fmt.Sprintf("carebot-outbox-%d-%d-%s", id, part, chatID)))
	h[6] = h[6]&0x0f | 0x50 // version 5
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// apiError is a non-2xx answer of the Messaging API.
type apiError struct {
	Op        string
	Status    int
	Message   string // LINE's "message" field, or the raw body
	RequestID string // X-Line-Request-Id, which LINE support asks for
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("line: %s: status %d: %s", e.Op, e.Status, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// classify turns the SDK's result into the error the outbox acts on. The
// SDK reports every status as a plain formatted error, so the status and
// LINE's message are read from the response it hands back.
func (c *Channel) classify(op string, res *http.Response, err error) error {
	if res == nil {
		if err == nil {
			return nil
		}
		return fmt.Errorf("line: %s: %w", op, err)
	}
	if res.StatusCode/100 == 2 {
		// Accepted. A body the SDK could not decode does not undo that,
		// and retrying a reply that went out would repeat it.
		return nil
	}
	e := &apiError{Op: op, Status: res.StatusCode, Message: errorMessage(res), RequestID: res.Header.Get("X-Line-Request-Id")}
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		return &channels.RetryAfterError{After: retryAfter(res.Header.Get("Retry-After"), c.opts.Now()), Err: e}
	case res.StatusCode == http.StatusBadRequest && op == "reply" && strings.Contains(strings.ToLower(e.Message), "reply token"):
		return fmt.Errorf("%w: %w", errInvalidReplyToken, e)
	case res.StatusCode == http.StatusConflict && op == "push":
		return fmt.Errorf("%w: %w", errAlreadyAccepted, e)
	case res.StatusCode == http.StatusBadRequest, res.StatusCode == http.StatusForbidden, res.StatusCode == http.StatusNotFound:
		return channels.Permanent(e)
	}
	return e
}

// errorMessage reads LINE's {"message": …} error body.
func errorMessage(res *http.Response) string {
	if res.Body == nil {
		return http.StatusText(res.StatusCode)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	_ = res.Body.Close()
	var parsed struct {
		Message string `json:"message"`
		Details []struct {
			Message  string `json:"message"`
			Property string `json:"property"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &parsed) != nil || parsed.Message == "" {
		if s := strings.TrimSpace(string(body)); s != "" {
			return s
		}
		return http.StatusText(res.StatusCode)
	}
	msg := parsed.Message
	for _, d := range parsed.Details {
		msg += "; " + d.Property + ": " + d.Message
	}
	return msg
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) at now.
// LINE usually sends none, and a second is then a polite first wait; an
// absurd value is capped so one header cannot park a row for days.
func retryAfter(h string, now time.Time) time.Duration {
	d := defaultBackoff
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		d = time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil && t.After(now) {
		d = t.Sub(now)
	}
	return min(d, maxRetryAfter)
}
