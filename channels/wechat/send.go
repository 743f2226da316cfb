package wechat

import (
	"context"
	"errors"
	"fmt"
	"html"
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
// messages: the picture (m.ImageURL) as a link line first (see
// wxapi.ImageMark), then the text, link buttons as HTML links, and payload
// buttons as a numbered menu; a long text goes in parts of at most 2,048
// bytes cut at sentence ends. Outside the window, or when WeChat answers
// 45015/45047, it sends the template message configured for m.Kind (its
// url is the first link button, else the picture), or fails permanently
// saying why.
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
	}
	c.checkLinks(&m)
	menu, links := splitButtons(m.Buttons)
	if strings.TrimSpace(m.Text) == "" && len(m.Buttons) == 0 && m.ImageURL == "" {
		return channels.Permanent(errors.New("wechat: empty message"))
	}
	if !c.inWindow(openID) {
		return c.sendTemplate(ctx, m, "outside WeChat's 48-hour window")
	}
	if err := c.rememberMenu(openID, menu); err != nil {
		return fmt.Errorf("wechat: remember menu: %w", err)
	}
	// The parts depend only on m, so a retry cuts the same parts and
	// partsSent still counts them right.
	parts := wxapi.Split(compose(m.ImageURL, m.Text, links, menu), wxapi.MaxTextBytes)
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
	// A template opens one page when tapped: the first link button, else
	// the picture, which the template cannot show.
	if _, links := splitButtons(m.Buttons); len(links) > 0 {
		msg.URL = links[0].URL
	} else {
		msg.URL = m.ImageURL
	}
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

// maxLinkLine bounds a link line (the picture's, or an <a> element), in
// bytes. wxapi.Split cuts at a line break in the second half of a part
// when there is one, so a line shorter than half a part is never cut
// through, which would break the link.
const maxLinkLine = wxapi.MaxTextBytes/2 - 24

// checkLinks drops from m the picture and the link buttons that are not
// https URLs, or too long to send in one piece, saying so in the log.
func (c *Channel) checkLinks(m *channels.Outbound) {
	if m.ImageURL != "" && (!wxapi.HTTPSURL(m.ImageURL) || len(imageLine(m.ImageURL)) > maxLinkLine) {
		c.log.Warn("wechat: picture dropped: not an https URL, or too long", "url_bytes", len(m.ImageURL))
		m.ImageURL = ""
	}
	var kept []channels.Button
	for _, b := range m.Buttons {
		if b.URL != "" && (!wxapi.HTTPSURL(b.URL) || len(anchor(b)) > maxLinkLine) {
			c.log.Warn("wechat: link button dropped: not an https URL, or too long", "label", b.Label, "url_bytes", len(b.URL))
			continue
		}
		kept = append(kept, b)
	}
	if len(kept) < len(m.Buttons) {
		m.Buttons = kept
	}
}

// splitButtons sorts buttons into the numbered menu (payload buttons) and
// links (buttons with a URL), keeping their order.
func splitButtons(buttons []channels.Button) (menu, links []channels.Button) {
	for _, b := range buttons {
		if b.URL != "" {
			links = append(links, b)
		} else {
			menu = append(menu, b)
		}
	}
	return menu, links
}

// imageLine is the line that stands for a picture; WeChat makes the bare
// URL in a text tappable.
func imageLine(url string) string { return wxapi.ImageMark + url }

// anchor renders a link button as the HTML link customer-service texts
// allow, escaped so that neither the label nor the URL can end the
// element early or add attributes.
func anchor(b channels.Button) string {
	label := b.Label
	if strings.TrimSpace(label) == "" {
		label = b.URL
	}
	return `<a href="` + html.EscapeString(b.URL) + `">` + html.EscapeString(label) + `</a>`
}

// compose builds the customer-service text: the picture's line, the text,
// a line per link button, and the payload buttons as a numbered menu.
func compose(image, text string, links, menu []channels.Button) string {
	var b strings.Builder
	para := func(s string) {
		if b.Len() > 0 && s != "" {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	if image != "" {
		para(imageLine(image))
	}
	para(strings.TrimRight(text, " \t\r\n"))
	if len(links) > 0 {
		lines := make([]string, len(links))
		for i, l := range links {
			lines[i] = anchor(l)
		}
		para(strings.Join(lines, "\n"))
	}
	if len(menu) > 0 {
		para(withMenu(text, menu))
	}
	return b.String()
}

// withMenu renders buttons as a numbered menu; the customer answers with
// the number (see menuPayload). text picks the prompt's language.
func withMenu(text string, buttons []channels.Button) string {
	var b strings.Builder
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
	return wxapi.Call(ctx, c.log, "wechat: access token rejected, fetching a new one", c.cache, staleToken, fn)
}

// staleToken reports the errcode of err if it says the access token was
// rejected.
func staleToken(err error) (int64, bool) {
	code, ok := wxapi.Errcode(err)
	return code, ok && (code == codeInvalidToken || code == codeExpiredToken || code == codeIllegalToken)
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
