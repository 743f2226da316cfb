package wecom

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/work/kf"
	"github.com/silenceper/wechat/v2/work/kf/sendmsg"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// WeCom limits on a menu message (msgmenu).
const (
	maxMenuHead  = 1024 // bytes of head_content
	maxMenuItems = 10
	maxMenuLabel = 128  // bytes of an item's content
	maxMenuURL   = 2048 // bytes of a view item's url
)

// maxImageLine bounds the picture's line (wxapi.ImageMark and the URL) in
// bytes, so that splitting the text, even into a menu head of 1,024
// bytes, never cuts through the link.
const maxImageLine = maxMenuHead - 24

// WeCom error codes the adapter acts on.
const (
	codeBusy         = -1
	codeInvalidCred  = 40001
	codeInvalidToken = 40014
	codeExpiredToken = 42001
	codeFreqLimit    = 45009 // calls too frequent
)

// sdkCodes gives back the codes the kf client turns into fixed texts.
var sdkCodes = map[kf.Error]int64{
	kf.SDKInvalidCredential:                   codeInvalidCred,
	kf.SDKAccessTokenInvalid:                  codeInvalidToken,
	kf.SDKAccessTokenExpired:                  codeExpiredToken,
	kf.SDKApiFreqOutOfLimit:                   codeFreqLimit,
	kf.SDKInvalidCorpID:                       40013,
	kf.SDKApiForbidden:                        48002,
	kf.SDKInvalidOpenKFID:                     95000,
	kf.SDKOpenKFIDNotExist:                    95004,
	kf.SDKNotUseInWeCom:                       95012,
	kf.SDKApiNotOpen:                          95017,
	kf.SDKContentContainsSensitiveInformation: 40201,
}

// moreInfoRe finds the code in WeCom's errmsg ("…, more info at
// https://open.work.weixin.qq.com/devtool/query?e=95018"), which is all
// the kf client keeps of an error it has no text for.
var moreInfoRe = regexp.MustCompile(`devtool/query\?e=(-?\d+)`)

// code returns WeCom's error code carried by err, however the SDK
// reported it.
func code(err error) (int64, bool) {
	if err == nil {
		return 0, false
	}
	var ke kf.Error
	if errors.As(err, &ke) {
		if n, ok := sdkCodes[ke]; ok {
			return n, true
		}
	}
	if m := moreInfoRe.FindStringSubmatch(err.Error()); m != nil {
		if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			return n, true
		}
	}
	return wxapi.Errcode(err)
}

// Send delivers m to the customer in m.ChatID ("<open_kfid>/<external
// userid>", or just the userid with channels.wecom.open_kfid set) with
// kf/send_msg: text, in parts of at most 2,048 bytes cut at sentence
// ends, and buttons as a menu message whose items send their payload
// back, link buttons as its view items, which open their URL. A picture
// (m.ImageURL) goes as a link line before the text (see wxapi.ImageMark):
// the kf image and link messages both need a media_id from an upload.
// WeCom allows 5 messages within 48 hours of the customer's last
// message; a message that would exceed that, or come later, fails
// permanently with the reason. The SDK takes no context: ctx is checked
// before each call, and the HTTP client's timeout bounds a call.
func (c *Channel) Send(ctx context.Context, m channels.Outbound) error {
	kfID, user, err := c.target(m.ChatID)
	switch {
	case err != nil:
		return channels.Permanent(err)
	case m.Group:
		return channels.Permanent(errors.New("wecom: customer service has no group chats"))
	}
	c.checkLinks(&m)
	if strings.TrimSpace(m.Text) == "" && len(m.Buttons) == 0 && m.ImageURL == "" {
		return channels.Permanent(errors.New("wecom: empty message"))
	}
	chat := kfID + "/" + user
	msgs, err := c.compose(m, kfID, user)
	if err != nil {
		return err
	}
	start := c.partsSent(chat, m.ID)
	if err := c.reserve(chat, len(msgs)-start); err != nil {
		return fmt.Errorf("wecom: %w", err)
	}
	for i := start; i < len(msgs); i++ {
		msg := msgs[i]
		err := c.call(ctx, func() error {
			_, err := c.kf.SendMsg(msg)
			return err
		})
		if err != nil {
			return c.classify("send_msg", err)
		}
		c.countSent(chat)
		if len(msgs) > 1 {
			c.setPartsSent(chat, m.ID, i+1)
		}
	}
	return nil
}

// target splits a ChatID into the kf account and the customer.
func (c *Channel) target(chatID string) (kfID, user string, err error) {
	kfID, user, ok := strings.Cut(chatID, "/")
	if !ok {
		kfID, user = c.cfg.OpenKfID, chatID
	}
	if !kfIDRe.MatchString(kfID) || !kfIDRe.MatchString(user) {
		return "", "", fmt.Errorf("wecom: chat %q is not <open_kfid>/<external_userid> (and channels.wecom.open_kfid is %q)", chatID, c.cfg.OpenKfID)
	}
	return kfID, user, nil
}

// checkLinks drops from m the picture and the link buttons that are not
// https URLs or are too long for WeCom, saying so in the log.
func (c *Channel) checkLinks(m *channels.Outbound) {
	if m.ImageURL != "" && (!wxapi.HTTPSURL(m.ImageURL) || len(wxapi.ImageMark+m.ImageURL) > maxImageLine) {
		c.log.Warn("wecom: picture dropped: not an https URL, or too long", "url_bytes", len(m.ImageURL))
		m.ImageURL = ""
	}
	var kept []channels.Button
	for _, b := range m.Buttons {
		if b.URL != "" && (!wxapi.HTTPSURL(b.URL) || len(b.URL) > maxMenuURL) {
			c.log.Warn("wecom: link button dropped: not an https URL, or too long", "label", b.Label, "url_bytes", len(b.URL))
			continue
		}
		kept = append(kept, b)
	}
	if len(kept) < len(m.Buttons) {
		m.Buttons = kept
	}
}

// compose turns m into send_msg requests: text parts, and with buttons a
// final menu message whose head is the last part. The requests depend
// only on m, so a retry composes the same ones and partsSent counts them
// right.
func (c *Channel) compose(m channels.Outbound, kfID, user string) ([]any, error) {
	to := sendmsg.Message{ToUser: user, OpenKFID: kfID}
	text := m.Text
	if strings.TrimSpace(text) == "" {
		text = ""
	}
	if m.ImageURL != "" {
		// The picture's link, which WeChat makes tappable, before the text.
		text = strings.TrimRight(wxapi.ImageMark+m.ImageURL+"\n\n"+text, " \t\r\n")
	}
	var parts []string
	if text != "" {
		parts = wxapi.Split(text, wxapi.MaxTextBytes)
	}
	var msgs []any
	if len(m.Buttons) == 0 {
		for _, p := range parts {
			t := sendmsg.Text{Message: to, MsgType: "text"}
			t.Text.Content = p
			msgs = append(msgs, t)
		}
		return msgs, nil
	}
	head := ""
	if len(parts) > 0 {
		last := parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		tail := wxapi.Split(last, maxMenuHead)
		parts = append(parts, tail[:len(tail)-1]...)
		head = tail[len(tail)-1]
	}
	for _, p := range parts {
		t := sendmsg.Text{Message: to, MsgType: "text"}
		t.Text.Content = p
		msgs = append(msgs, t)
	}
	menu := sendmsg.Menu{Message: to, MsgType: "msgmenu"}
	menu.MsgMenu.HeadContent = head
	buttons := m.Buttons
	if len(buttons) > maxMenuItems {
		c.log.Warn("wecom: menu cut to WeCom's 10 items", "buttons", len(buttons))
		buttons = buttons[:maxMenuItems]
	}
	for _, b := range buttons {
		if b.URL != "" {
			item := sendmsg.MenuView{Type: "view"}
			item.View.URL = b.URL
			item.View.Content = clip(b.Label, maxMenuLabel)
			if strings.TrimSpace(item.View.Content) == "" {
				item.View.Content = clip(b.URL, maxMenuLabel)
			}
			menu.MsgMenu.List = append(menu.MsgMenu.List, item)
			continue
		}
		id, err := c.menuID(b.Payload)
		if err != nil {
			return nil, err
		}
		item := sendmsg.MenuClick{Type: "click"}
		item.Click.ID = id
		item.Click.Content = clip(b.Label, maxMenuLabel)
		menu.MsgMenu.List = append(menu.MsgMenu.List, item)
	}
	return append(msgs, menu), nil
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// call runs an SDK call, and once more with a fresh access token when
// WeCom rejects the cached one, which the SDK never evicts itself.
func (c *Channel) call(ctx context.Context, fn func() error) error {
	return wxapi.Call(ctx, c.log, "wecom: access token rejected, fetching a new one", c.cache, staleToken, fn)
}

// staleToken reports the errcode of err if it says the access token was
// rejected.
func staleToken(err error) (int64, bool) {
	n, ok := code(err)
	return n, ok && (n == codeInvalidCred || n == codeInvalidToken || n == codeExpiredToken)
}

// classify wraps an API error for the outbox. An answer from WeCom with
// an error code is permanent (session closed, quota used up, account not
// authorised …) except a busy system and the frequency limit; network and
// HTTP failures are temporary.
func (c *Channel) classify(what string, err error) error {
	err = wxapi.Redact(err)
	wrapped := fmt.Errorf("wecom: %s: %w", what, err)
	n, ok := code(err)
	var ke kf.Error
	switch {
	case ok && n == codeFreqLimit:
		return &channels.RetryAfterError{After: time.Minute, Err: wrapped}
	case ok && n == codeBusy:
		return wrapped
	case ok && n >= 40000:
		return channels.Permanent(wrapped)
	case errors.As(err, &ke) && ke != kf.SDKUnknownError && ke != kf.SDKCacheUnavailable:
		// The kf client returns WeCom's errmsg as a kf.Error when it has
		// no text of its own: WeCom answered, and refused.
		if strings.Contains(strings.ToLower(string(ke)), "system busy") {
			return wrapped
		}
		return channels.Permanent(wrapped)
	}
	return wrapped
}
