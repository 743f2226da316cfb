package wechat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/silenceper/wechat/v2/officialaccount/customerservice"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// WeChat error codes the adapter acts on.
const (
	codeBusy           = -1    // system busy: try again
	codeInvalidToken   = 40001 // access token invalid or not the latest
	codeIllegalToken   = 40014 // access token malformed
	codeExpiredToken   = 42001 // access token expired
	codeDailyQuota     = 45009 // the API's daily quota is used up
	codeMinuteQuota    = 45011 // too many calls this minute
	codeOutOfWindow    = 45015 // no customer action within the window
	codeOutOfResponses = 45047 // the window's message quota is used up
)

// hints explain the codes an operator meets, in the error the console
// shows; WeChat's errmsg alone is terse.
var hints = map[int64]string{
	40003:              "the openid does not belong to this account",
	40037:              "the template id is wrong (channels.wechat.template_ids)",
	43004:              "the customer no longer follows the account",
	43101:              "the customer refused this template's messages",
	45002:              "the text is too long",
	48001:              "the account lacks this API (customer-service and template messages need a verified service account)",
	codeOutOfWindow:    "outside WeChat's 48-hour window, or the customer unfollowed",
	codeOutOfResponses: "the 5 messages allowed after the customer's message are used up",
}

// china is the time zone of WeChat's quotas and of template times.
var china = time.FixedZone("CST", 8*3600)

// Send delivers m to the customer m.ChatID (an openid). Inside the
// customer-service window (48 hours after the customer's last message, or
// one minute after a follow or menu click) it sends customer-service text
// messages: buttons become a numbered menu under the text, and a long
// text goes in parts of at most 2,048 bytes cut at sentence ends. Outside
// the window, or when WeChat answers 45015/45047, it sends the template
// message configured for m.Kind, or fails permanently saying why.
//
// The SDK takes no context: ctx is checked before each call, and the HTTP
// client's timeout bounds a call in flight.
func (c *Channel) Send(ctx context.Context, m channels.Outbound) error {
	openID := m.ChatID
	switch {
	case openID == "":
		return channels.Permanent(errors.New("wechat: message has no openid (ChatID)"))
	case m.Group:
		return channels.Permanent(errors.New("wechat: an official account has no group chats"))
	case strings.TrimSpace(m.Text) == "" && len(m.Buttons) == 0:
		return channels.Permanent(errors.New("wechat: empty message"))
	}
	if !c.inWindow(openID) {
		return c.sendTemplate(ctx, m, "outside WeChat's 48-hour window")
	}
	if err := c.rememberMenu(openID, m.Buttons); err != nil {
		return fmt.Errorf("wechat: remember menu: %w", err)
	}
	parts := wxapi.Split(withMenu(m.Text, m.Buttons), wxapi.MaxTextBytes)
	for i := c.partsSent(openID, m.ID); i < len(parts); i++ {
		part := parts[i]
		err := c.call(ctx, func() error {
			return c.msgs.Send(message.NewCustomerTextMessage(openID, part))
		})
		if code, ok := wxapi.Errcode(err); ok && (code == codeOutOfWindow || code == codeOutOfResponses) {
			c.log.Info("wechat: customer-service message refused, trying a template", "kind", m.Kind, "errcode", code)
			return c.sendTemplate(ctx, m, fmt.Sprintf("WeChat refused the customer-service message (errcode %d: %s)", code, hints[code]))
		}
		if err != nil {
			return c.classify("send customer-service message", err)
		}
		if len(parts) > 1 {
			c.setPartsSent(openID, m.ID, i+1)
		}
	}
	return nil
}

// sendTemplate delivers m as the template message configured for its kind;
// why says why the customer-service API cannot be used.
func (c *Channel) sendTemplate(ctx context.Context, m channels.Outbound, why string) error {
	spec, ok := c.templates[m.Kind]
	if !ok {
		return channels.Permanent(fmt.Errorf("wechat: undeliverable: %s and no template for kind %q", why, m.Kind))
	}
	// A template cannot carry the menu, so a number typed after it must
	// not pick from an older one.
	if err := c.rememberMenu(m.ChatID, nil); err != nil {
		c.log.Warn("wechat: clearing the menu failed", "err", err)
	}
	data := make(map[string]*message.TemplateDataItem, len(spec.fields))
	for _, f := range spec.fields {
		var v string
		switch f.source {
		case srcText:
			// Template fields are one line; WeChat drops line breaks anyway.
			v = strings.Join(strings.Fields(m.Text), " ")
		case srcTime:
			v = c.now().In(china).Format("2006-01-02 15:04")
		case srcKind:
			v = m.Kind
		}
		data[f.name] = &message.TemplateDataItem{Value: v}
	}
	msg := &message.TemplateMessage{ToUser: m.ChatID, TemplateID: spec.id, Data: data}
	if m.ID != 0 {
		// WeChat sends one message per openid and client_msg_id within 10
		// minutes, which makes the outbox's retries safe.
		msg.ClientMsgID = "carebot-" + strconv.FormatUint(m.ID, 10)
	}
	err := c.call(ctx, func() error {
		_, err := c.tpl.Send(msg)
		return err
	})
	if err != nil {
		return c.classify(fmt.Sprintf("send template message (%s)", why), err)
	}
	return nil
}

// Typing shows "typing…" to openID while an answer is prepared. It does
// nothing outside the customer-service window, where WeChat refuses it.
func (c *Channel) Typing(ctx context.Context, openID string) error {
	if openID == "" || !c.inWindow(openID) {
		return nil
	}
	err := c.call(ctx, func() error {
		return c.cs.SendTypingStatus(openID, customerservice.Typing)
	})
	if code, ok := wxapi.Errcode(err); ok && (code == codeOutOfWindow || code == codeOutOfResponses) {
		return nil // the window closed after all: nothing to show
	}
	if err != nil {
		return c.classify("send typing status", err)
	}
	return nil
}

// withMenu appends buttons to text as a numbered menu; the customer
// answers with the number (see menuPayload).
func withMenu(text string, buttons []channels.Button) string {
	if len(buttons) == 0 {
		return text
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(text, " \t\r\n"))
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	if hasHan(text) || !hasLatin(buttons) {
		b.WriteString("回复数字：")
	} else {
		b.WriteString("Reply with a number:")
	}
	for i, btn := range buttons {
		n := strconv.Itoa(i+1) + ". "
		// Some labels come numbered already ("1. 咖啡券"); do not say it twice.
		fmt.Fprintf(&b, "\n%s%s", n, strings.TrimPrefix(btn.Label, n))
	}
	return b.String()
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// hasLatin reports whether the labels are written in Latin script, for a
// menu under an empty text.
func hasLatin(buttons []channels.Button) bool {
	for _, b := range buttons {
		if hasHan(b.Label) {
			return false
		}
	}
	return true
}

// call runs an SDK call, and once more with a fresh access token when
// WeChat rejects the cached one: the SDK caches tokens but never evicts
// one WeChat has invalidated (another server fetched a new one, or it was
// revoked), so without this every send would fail until it expired.
func (c *Channel) call(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := fn()
	if code, ok := wxapi.Errcode(err); ok && (code == codeInvalidToken || code == codeExpiredToken || code == codeIllegalToken) {
		c.log.Info("wechat: access token rejected, fetching a new one", "errcode", code)
		c.cache.Clear()
		if err := ctx.Err(); err != nil {
			return err
		}
		err = fn()
	}
	return err
}

// classify wraps an API error for the outbox: quota errors carry a
// retry-after, other client errors (4xxxx) are permanent, and system
// errors, network failures and HTTP errors are temporary.
func (c *Channel) classify(what string, err error) error {
	err = wxapi.Redact(err)
	code, ok := wxapi.Errcode(err)
	if !ok {
		return fmt.Errorf("wechat: %s: %w", what, err)
	}
	if h := hints[code]; h != "" {
		err = fmt.Errorf("%w (%s)", err, h)
	}
	wrapped := fmt.Errorf("wechat: %s: %w", what, err)
	switch {
	case code == codeDailyQuota:
		return &channels.RetryAfterError{After: untilChinaMidnight(c.now()), Err: wrapped}
	case code == codeMinuteQuota:
		return &channels.RetryAfterError{After: time.Minute, Err: wrapped}
	case code == codeBusy:
		return wrapped
	case code >= 40000 && code < 50000:
		return channels.Permanent(wrapped)
	}
	return wrapped
}

// untilChinaMidnight is how long until WeChat resets daily quotas (at
// least a minute, so a clock at 23:59:59 does not spin).
func untilChinaMidnight(now time.Time) time.Duration {
	t := now.In(china)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, china)
	return max(next.Sub(now), time.Minute)
}
