package wechat

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// Per-customer records in the channel's KV. The bot gives each channel its
// own key space; the prefix keeps the keys readable in a dump.
const (
	// keyLast + openid: unix seconds of the customer's last message, which
	// opens the 48-hour customer-service window.
	keyLast = "wechat:last:"
	// keyTap + openid: unix seconds of the last follow, menu click or QR
	// scan, which allow customer-service messages for one minute only.
	keyTap = "wechat:tap:"
	// keyMenu + openid: the numbered menu last sent (menuRecord as JSON),
	// "" once a message without buttons followed it.
	keyMenu = "wechat:menu:"
	// keyProgress + openid: "<outbox id>:<parts sent>" for a long message
	// sent in parts, so a retry does not repeat the parts that arrived.
	keyProgress = "wechat:progress:"
)

// Customer-service windows (platform rules since mid-2023).
const (
	messageWindow = 48 * time.Hour
	tapWindow     = time.Minute
	// menuTTL is how long a bare number may still pick from a menu.
	menuTTL = messageWindow
)

// tapEvents open the short window; other events (menu links, location
// reports, template receipts, unsubscribe) open none.
var tapEvents = map[string]bool{
	"subscribe":        true,
	"scan":             true,
	"click":            true,
	"scancode_push":    true,
	"scancode_waitmsg": true,
}

// recordAction notes a customer action that lets the account answer with
// customer-service messages. Times only move forward, so a late retry of
// an old event cannot shorten the window. A KV failure is logged, not
// fatal: the send then tries the API and falls back on its 45015.
func (c *Channel) recordAction(m *message.MixMessage) {
	if c.kv == nil {
		return
	}
	var key string
	switch {
	case m.MsgType != message.MsgTypeEvent:
		key = keyLast
	case tapEvents[strings.ToLower(string(m.Event))]:
		key = keyTap
	default:
		return
	}
	key += string(m.FromUserName)
	at := c.eventTime(m).Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, err := c.kvUnix(key)
	if err != nil {
		c.log.Warn("wechat: reading the customer's last action failed", "err", err)
	}
	if at <= prev {
		return
	}
	if err := c.kv.Set(key, strconv.FormatInt(at, 10)); err != nil {
		c.log.Warn("wechat: recording the customer's last action failed", "err", err)
	}
}

func (c *Channel) kvUnix(key string) (int64, error) {
	v, err := c.kv.Get(key)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q: %w", key, v, err)
	}
	return n, nil
}

// inWindow reports whether customer-service messages may reach openID now.
// Without a KV, or when it fails, the answer is yes: the API then decides,
// and its 45015 leads to the same fallback.
func (c *Channel) inWindow(openID string) bool {
	if c.kv == nil {
		return true
	}
	now := c.now()
	last, err1 := c.kvUnix(keyLast + openID)
	tap, err2 := c.kvUnix(keyTap + openID)
	if err1 != nil || err2 != nil {
		c.log.Warn("wechat: reading the customer's window failed, trying the API", "err1", err1, "err2", err2)
		return true
	}
	return (last > 0 && now.Before(time.Unix(last, 0).Add(messageWindow))) ||
		(tap > 0 && now.Before(time.Unix(tap, 0).Add(tapWindow)))
}

// menuRecord is the numbered menu last sent to a customer.
type menuRecord struct {
	At       int64    `json:"at"`
	Payloads []string `json:"p"`
}

// rememberMenu stores the payloads of buttons, so that "2" in the
// customer's next message means the second button; a message without
// buttons clears the menu, because a number then answers something else.
func (c *Channel) rememberMenu(openID string, buttons []channels.Button) error {
	if c.kv == nil {
		return nil
	}
	key := keyMenu + openID
	if len(buttons) == 0 {
		cur, err := c.kv.Get(key)
		if err != nil || cur == "" {
			return err
		}
		return c.kv.Set(key, "")
	}
	rec := menuRecord{At: c.now().Unix(), Payloads: make([]string, len(buttons))}
	for i, b := range buttons {
		rec.Payloads[i] = b.Payload
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode menu: %w", err)
	}
	return c.kv.Set(key, string(v))
}

// menuPayload maps a customer's choice from the last menu to its payload:
// bizmsgmenuid when WeChat sends one (a tapped msgmenu item), otherwise a
// message that is just a number.
func (c *Channel) menuPayload(openID, content string, bizMenuID int64) (string, bool) {
	if c.kv == nil {
		return "", false
	}
	n := int(bizMenuID)
	if bizMenuID <= 0 || bizMenuID > 99 {
		n = parseChoice(content)
	}
	if n <= 0 {
		return "", false
	}
	v, err := c.kv.Get(keyMenu + openID)
	if err != nil {
		c.log.Warn("wechat: reading the last menu failed", "err", err)
		return "", false
	}
	if v == "" {
		return "", false
	}
	var rec menuRecord
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		c.log.Warn("wechat: stored menu is unreadable", "err", err)
		return "", false
	}
	if n > len(rec.Payloads) || c.now().After(time.Unix(rec.At, 0).Add(menuTTL)) {
		return "", false
	}
	return rec.Payloads[n-1], true
}

// parseChoice reads "2", "２", " 2. " or "2、" as 2; anything else is 0.
func parseChoice(s string) int {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".。、)） ")
	if s == "" || len(s) > 6 {
		return 0
	}
	n := 0
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			n = n*10 + int(r-'0')
		case r >= '０' && r <= '９':
			n = n*10 + int(r-'０')
		default:
			return 0
		}
		digits++
		if digits > 2 {
			return 0
		}
	}
	return n
}

// partsSent returns how many parts of outbox row id already reached the
// customer in an earlier attempt.
func (c *Channel) partsSent(openID string, id uint64) int {
	return wxapi.PartsSent(c.kv, keyProgress+openID, id)
}

// setPartsSent records progress of a message sent in parts. The outbox
// sends one message per chat at a time, so one record per customer is
// enough.
func (c *Channel) setPartsSent(openID string, id uint64, n int) {
	wxapi.SetPartsSent(c.kv, c.log, "wechat: recording send progress failed", keyProgress+openID, id, n)
}
