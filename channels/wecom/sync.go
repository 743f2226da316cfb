package wecom

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/work/kf"
	"github.com/silenceper/wechat/v2/work/kf/syncmsg"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

const (
	// dispatchTimeout bounds the hand-over of one message to the engine.
	dispatchTimeout = 10 * time.Second
	// syncTimeout bounds one sync of one account, all pages.
	syncTimeout = 2 * time.Minute
	// retryDelay is when a failed sync runs again: WeCom calls back only
	// when a new message arrives, so without it a message that could not
	// be stored would wait for the customer's next one.
	retryDelay = 30 * time.Second
	// syncLimit is sync_msg's largest page.
	syncLimit = 1000
	// maxPages stops a sync that would never end (a server that keeps
	// saying has_more); the next callback continues from the cursor.
	maxPages = 100
	// firstSyncMaxAge: with no cursor (a new install, or lost state)
	// sync_msg returns the last 3 days; older messages are skipped rather
	// than answered days late, though the cursor moves past them.
	firstSyncMaxAge = 10 * time.Minute
	// originCustomer marks messages the customer wrote (4 is a system
	// event, 5 a person answering in the WeCom client).
	originCustomer = 3
)

// KV keys of the sync.
const (
	// keyCursor + open_kfid: the sync_msg cursor, saved after each page.
	keyCursor = "wecom:cursor:"
	// keyAccounts: the kf accounts callbacks named, comma-separated, for
	// Sync when channels.wecom.open_kfid is empty.
	keyAccounts = "wecom:accounts"
)

// trigger schedules a sync of kfID's messages with the callback's token.
// One sync runs at a time; callbacks meanwhile coalesce into one more.
func (c *Channel) trigger(kfID, token string) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.closed {
		return
	}
	c.pending[kfID] = token
	if c.running {
		return
	}
	c.running = true
	c.syncWG.Add(1)
	go c.drain()
}

// drain runs the pending syncs until none is left.
func (c *Channel) drain() {
	defer c.syncWG.Done()
	for {
		c.syncMu.Lock()
		kfID, token, ok := "", "", false
		for k, t := range c.pending {
			kfID, token, ok = k, t, true
			break
		}
		if !ok || c.closed {
			c.running = false
			c.syncMu.Unlock()
			return
		}
		delete(c.pending, kfID)
		c.syncMu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), c.syncTimeout)
		err := c.syncAccount(ctx, kfID, token)
		cancel()
		if err != nil {
			c.log.Error("wecom sync failed, will retry", "open_kfid", kfID, "in", c.retryDelay, "err", err)
			c.retryLater(kfID)
		}
	}
}

// retryLater schedules another sync of kfID, without the callback token
// (it lasts 10 minutes; sync_msg works without it, at a lower rate).
func (c *Channel) retryLater(kfID string) {
	if c.retryDelay <= 0 {
		return
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.closed || c.retries[kfID] != nil {
		return // one retry per account is enough
	}
	c.retries[kfID] = time.AfterFunc(c.retryDelay, func() {
		c.syncMu.Lock()
		delete(c.retries, kfID)
		c.syncMu.Unlock()
		c.trigger(kfID, "")
	})
}

// Close stops scheduling syncs and waits for the running one. Cursors are
// saved after every page, so stopping without Close loses nothing either.
func (c *Channel) Close() {
	c.syncMu.Lock()
	c.closed = true
	for _, t := range c.retries {
		t.Stop()
	}
	c.syncMu.Unlock()
	c.syncWG.Wait()
}

// Sync fetches and dispatches the messages that arrived since the saved
// cursors: of channels.wecom.open_kfid, or, when it is empty, of every
// account a callback has named. Call it at start-up: messages that came
// while carebot was down produced callbacks nobody answered.
func (c *Channel) Sync(ctx context.Context) error {
	accounts := []string{c.cfg.OpenKfID}
	if c.cfg.OpenKfID == "" {
		var err error
		if accounts, err = c.accounts(); err != nil {
			return err
		}
	}
	var errs []error
	for _, kfID := range accounts {
		if err := c.syncAccount(ctx, kfID, ""); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// accounts lists the kf accounts callbacks have named.
func (c *Channel) accounts() ([]string, error) {
	if c.kv == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		var ids []string
		for id := range c.memCursors {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return ids, nil
	}
	v, err := c.kv.Get(keyAccounts)
	if err != nil {
		return nil, fmt.Errorf("wecom: read accounts: %w", err)
	}
	if v == "" {
		return nil, nil
	}
	return strings.Split(v, ","), nil
}

// rememberAccount adds kfID to the accounts Sync visits.
func (c *Channel) rememberAccount(kfID string) error {
	if c.kv == nil || c.cfg.OpenKfID != "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ids, err := c.kv.Get(keyAccounts)
	if err != nil {
		return fmt.Errorf("wecom: read accounts: %w", err)
	}
	if ids != "" && slices.Contains(strings.Split(ids, ","), kfID) {
		return nil
	}
	if ids != "" {
		ids += ","
	}
	if err := c.kv.Set(keyAccounts, ids+kfID); err != nil {
		return fmt.Errorf("wecom: save accounts: %w", err)
	}
	return nil
}

// syncAccount pages through sync_msg from the saved cursor, dispatches the
// customers' messages and saves the cursor after each page, so a crash
// repeats at most one page (the engine drops the repeats by message id).
// A dispatch error stops it before the page's cursor is saved.
func (c *Channel) syncAccount(ctx context.Context, kfID, token string) error {
	c.syncRun.Lock()
	defer c.syncRun.Unlock()
	if err := c.rememberAccount(kfID); err != nil {
		return err
	}
	cursor, err := c.cursor(kfID)
	if err != nil {
		return err
	}
	first := cursor == ""
	for range maxPages {
		var res kf.SyncMsgSchema
		err := c.call(ctx, func() error {
			var err error
			res, err = c.kf.SyncMsg(kf.SyncMsgOptions{Cursor: cursor, Token: token, Limit: syncLimit, OpenKfID: kfID})
			return err
		})
		if err != nil {
			return fmt.Errorf("wecom: sync_msg: %w", wxapi.Redact(err))
		}
		for _, m := range res.MsgList {
			if err := c.handle(ctx, m, first); err != nil {
				return err
			}
		}
		if res.NextCursor != "" && res.NextCursor != cursor {
			cursor = res.NextCursor
			if err := c.setCursor(kfID, cursor); err != nil {
				return err
			}
		}
		if res.HasMore == 0 {
			return nil
		}
		if res.NextCursor == "" {
			return errors.New("wecom: sync_msg says has_more but gives no next_cursor")
		}
	}
	return fmt.Errorf("wecom: sync_msg still has more after %d pages", maxPages)
}

// handle dispatches one synced message if a customer wrote it.
func (c *Channel) handle(ctx context.Context, m syncmsg.Message, first bool) error {
	if m.Origin != originCustomer {
		return nil
	}
	ev, ok := c.toEvent(m)
	if !ok {
		c.log.Warn("wecom: message with unusable ids skipped", "msgid", m.MsgID)
		return nil
	}
	if first && c.now().Sub(ev.Time) > firstSyncMaxAge {
		c.log.Info("wecom: old message skipped on the first sync", "msgid", m.MsgID, "sent", ev.Time)
		return nil
	}
	c.recordMessage(ev.ChatID, ev.Time)
	dctx, cancel := context.WithTimeout(ctx, c.dispatchTimeout)
	defer cancel()
	if err := c.dispatch(dctx, ev); err != nil {
		return fmt.Errorf("wecom: dispatch %s: %w", ev.ID, err)
	}
	return nil
}

// toEvent normalises a customer's message. ChatID is
// "<open_kfid>/<external_userid>", because a reply needs both.
func (c *Channel) toEvent(m syncmsg.Message) (channels.Event, bool) {
	if !kfIDRe.MatchString(m.OpenKFID) || !kfIDRe.MatchString(m.ExternalUserID) {
		return channels.Event{}, false
	}
	ev := channels.Event{
		Channel: Name,
		ID:      m.MsgID,
		ChatID:  m.OpenKFID + "/" + m.ExternalUserID,
		UserID:  m.ExternalUserID,
		Time:    c.now(),
		Type:    channels.EventMessage,
	}
	// send_time is seconds; a value past year 9999 is not a time.
	if m.SendTime > 0 && m.SendTime < 253402300800 {
		ev.Time = time.Unix(int64(m.SendTime), 0)
	}
	if ev.ID == "" {
		ev.ID = ev.ChatID + "-" + strconv.FormatUint(m.SendTime, 10)
	}
	if m.MsgType != "text" {
		ev.Type = channels.EventUnsupported
		return ev, true
	}
	t, err := m.GetTextMessage()
	if err != nil {
		ev.Type = channels.EventUnsupported
		return ev, true
	}
	if t.Text.MenuID != "" {
		if p, ok := c.menuPayload(t.Text.MenuID); ok {
			ev.Payload = p
			return ev, true
		}
	}
	ev.Text = t.Text.Content
	return ev, true
}

func (c *Channel) cursor(kfID string) (string, error) {
	if c.kv == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.memCursors[kfID], nil
	}
	v, err := c.kv.Get(keyCursor + kfID)
	if err != nil {
		return "", fmt.Errorf("wecom: read cursor: %w", err)
	}
	return v, nil
}

func (c *Channel) setCursor(kfID, cursor string) error {
	if c.kv == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.memCursors[kfID] = cursor
		return nil
	}
	if err := c.kv.Set(keyCursor+kfID, cursor); err != nil {
		return fmt.Errorf("wecom: save cursor: %w", err)
	}
	return nil
}
