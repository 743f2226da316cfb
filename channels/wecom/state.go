package wecom

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// Per-customer records in the channel's KV (besides keyCursor). The bot
// gives each channel its own key space; the prefix keeps them readable.
const (
	// keyWindow + chat: "<unix seconds of the customer's last message>:
	// <messages sent since>", for WeCom's 5 messages in 48 hours.
	keyWindow = "wecom:win:"
	// keyProgress + chat: "<outbox id>:<parts sent>" for a message sent in
	// parts, so a retry does not repeat the parts that arrived.
	keyProgress = "wecom:progress:"
	// keyPayload + menu id: the payload of a button whose payload is too
	// long to be the msgmenu item id itself.
	keyPayload = "wecom:payload:"
)

// WeCom's limits on replies: "仅当微信客户在主动发送消息给客服后的48小时内，
// 企业可发送消息给客户，最多可发送5条消息".
const (
	replyWindow   = 48 * time.Hour
	repliesPerMsg = 5
)

// menuIDPrefix marks a msgmenu id that stands for a longer payload.
const menuIDPrefix = "cb-h-"

// maxMenuID is the longest msgmenu click id WeCom accepts.
const maxMenuID = 64

// recordMessage notes a customer message at t: the window restarts and
// the count of replies in it goes back to zero.
func (c *Channel) recordMessage(chat string, t time.Time) {
	if c.kv == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last, _, err := c.window(chat)
	if err != nil {
		c.log.Warn("wecom: reading the customer's window failed", "err", err)
	}
	if t.Unix() < last {
		return // an older message, synced late
	}
	if err := c.kv.Set(keyWindow+chat, fmt.Sprintf("%d:0", t.Unix())); err != nil {
		c.log.Warn("wecom: recording the customer's message failed", "err", err)
	}
}

// window returns when the customer last wrote and how many messages were
// sent since.
func (c *Channel) window(chat string) (last int64, sent int, err error) {
	v, err := c.kv.Get(keyWindow + chat)
	if err != nil || v == "" {
		return 0, 0, err
	}
	a, b, _ := strings.Cut(v, ":")
	last, err1 := strconv.ParseInt(a, 10, 64)
	sent, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%s%s holds %q", keyWindow, chat, v)
	}
	return last, sent, nil
}

// reserve checks that need more messages may go to chat now.
func (c *Channel) reserve(chat string, need int) error {
	if c.kv == nil || need <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last, sent, err := c.window(chat)
	if err != nil {
		return fmt.Errorf("wecom: read window: %w", err)
	}
	switch {
	case last == 0:
		return channels.Permanent(errors.New("undeliverable: the customer has not written within WeCom's 48-hour window"))
	case !c.now().Before(time.Unix(last, 0).Add(replyWindow)):
		return channels.Permanent(fmt.Errorf("undeliverable: outside WeCom's 48-hour window (the customer last wrote at %s)",
			time.Unix(last, 0).UTC().Format(time.RFC3339)))
	case sent+need > repliesPerMsg:
		return channels.Permanent(fmt.Errorf("undeliverable: WeCom allows %d messages within 48 hours of the customer's last message; %d sent, this one needs %d",
			repliesPerMsg, sent, need))
	}
	return nil
}

// countSent adds one message to chat's count.
func (c *Channel) countSent(chat string) {
	if c.kv == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last, sent, err := c.window(chat)
	if err == nil && last > 0 {
		err = c.kv.Set(keyWindow+chat, fmt.Sprintf("%d:%d", last, sent+1))
	}
	if err != nil {
		c.log.Warn("wecom: counting a sent message failed", "err", err)
	}
}

// partsSent returns how many parts of outbox row id reached chat earlier.
func (c *Channel) partsSent(chat string, id uint64) int {
	return wxapi.PartsSent(c.kv, keyProgress+chat, id)
}

// setPartsSent records progress; the outbox sends one message per chat at
// a time, so one record per chat is enough.
func (c *Channel) setPartsSent(chat string, id uint64, n int) {
	wxapi.SetPartsSent(c.kv, c.log, "wecom: recording send progress failed", keyProgress+chat, id, n)
}

// menuID is the msgmenu item id for payload: the payload itself, which
// comes back as menu_id when the item is tapped, unless it is too long or
// could be mistaken for a stand-in; then a hash, remembered in the KV.
func (c *Channel) menuID(payload string) (string, error) {
	if payload != "" && len(payload) <= maxMenuID && !strings.HasPrefix(payload, menuIDPrefix) {
		return payload, nil
	}
	sum := sha256.Sum256([]byte(payload))
	id := menuIDPrefix + hex.EncodeToString(sum[:12])
	if c.kv == nil {
		return id, nil
	}
	if err := c.kv.Set(keyPayload+id, payload); err != nil {
		return "", fmt.Errorf("wecom: remember menu payload: %w", err)
	}
	return id, nil
}

// menuPayload maps a tapped item's menu_id back to its payload.
func (c *Channel) menuPayload(id string) (string, bool) {
	if !strings.HasPrefix(id, menuIDPrefix) {
		return id, true
	}
	if c.kv == nil {
		return "", false
	}
	p, err := c.kv.Get(keyPayload + id)
	if err != nil || p == "" {
		return "", false
	}
	return p, true
}
