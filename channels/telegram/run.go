package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
)

// staleOffset is how long without updates after which the stored offset is
// dropped: after a week of silence Telegram numbers the next update at
// random, possibly below the offset, which would confirm (delete) it unseen.
const staleOffset = 6 * 24 * time.Hour

// maxUpdateAttempts is how often polling retries an update whose dispatch
// fails before it logs and skips it, so one poisonous update cannot stop
// the channel for good.
const maxUpdateAttempts = 10

// maxPollBody bounds a getUpdates answer (at most 100 updates).
const maxPollBody = 32 << 20

// Run receives updates until ctx ends, and returns nil then.
//
// In polling mode it long-polls getUpdates itself, rather than with the
// SDK's Start, whose loop confirms updates to Telegram before they are
// handled: a crash would lose them. Here updates are handled one at a time,
// in order, and the last handled update_id is stored in the KV after each,
// so a restart resumes after it; a failed dispatch is retried with backoff.
//
// In webhook mode with a PublicURL it registers PublicURL + WebhookPath
// with setWebhook and waits; updates arrive through Handler.
//
// Run returns an error only for what retrying cannot fix: a token Telegram
// rejects, a webhook URL it refuses, or a second concurrent Run.
func (c *Channel) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("telegram: Run is already running")
	}
	defer c.running.Store(false)
	c.learnUsername(ctx)
	if c.cfg.Mode == ModeWebhook {
		return c.runWebhook(ctx)
	}
	return c.poll(ctx)
}

// learnUsername fetches the bot's username up front, so the first group
// mention needs no extra call and the log shows which bot this is.
func (c *Channel) learnUsername(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	name, err := c.botUsername(ctx)
	if err != nil {
		c.log.Warn("telegram getMe failed; will retry when a group message needs it", "err", err)
		return
	}
	c.log.Info("telegram bot ready", "username", "@"+name, "mode", c.cfg.Mode)
}

func (c *Channel) runWebhook(ctx context.Context) error {
	if c.cfg.PublicURL == "" {
		c.log.Info("telegram webhook mode without public_url: register the webhook with setWebhook yourself", "path", WebhookPath)
		<-ctx.Done()
		return nil
	}
	hook := strings.TrimRight(c.cfg.PublicURL, "/") + WebhookPath
	backoff := c.minBackoff
	for {
		_, err := c.bot.SetWebhook(ctx, &bot.SetWebhookParams{
			URL:            hook,
			SecretToken:    c.cfg.WebhookSecret,
			AllowedUpdates: allowedUpdates,
		})
		if err == nil {
			c.log.Info("telegram webhook registered", "url", hook)
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, bot.ErrorUnauthorized) || errors.Is(err, bot.ErrorNotFound) || errors.Is(err, bot.ErrorBadRequest) {
			return fmt.Errorf("telegram: setWebhook %s: %w", hook, err)
		}
		wait := backoff
		var tooMany *bot.TooManyRequestsError
		if errors.As(err, &tooMany) {
			wait = max(wait, time.Duration(tooMany.RetryAfter)*time.Second)
		}
		c.log.Warn("telegram setWebhook failed, retrying", "err", err, "wait", wait)
		if !sleep(ctx, wait) {
			return nil
		}
		backoff = min(2*backoff, c.maxBackoff)
	}
	<-ctx.Done()
	return nil
}

// pollState is where the polling loop stands.
type pollState struct {
	offset    int64     // next update_id to ask for; 0: whatever is pending
	lastSeen  time.Time // when the last update was handled
	failingID int64     // the update whose dispatch keeps failing
	failures  int       // how often it failed
}

// poll is the getUpdates loop of polling mode.
func (c *Channel) poll(ctx context.Context) error {
	offset, lastSeen, err := c.loadOffset(ctx)
	if err != nil {
		return nil // ctx ended while the KV was failing
	}
	st := &pollState{offset: offset, lastSeen: lastSeen}
	backoff := c.minBackoff
	for ctx.Err() == nil {
		if st.offset != 0 && !st.lastSeen.IsZero() && c.now().Sub(st.lastSeen) > staleOffset {
			c.log.Info("telegram: no update for a week, polling without offset", "old_offset", st.offset)
			st.offset = 0
		}
		batch, err := c.getUpdates(ctx, st.offset)
		if err == nil {
			backoff = c.minBackoff
			if !c.handleBatch(ctx, batch, st) {
				return nil
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := backoff
		var apiErr *apiError
		if errors.As(err, &apiErr) {
			switch apiErr.Code {
			case http.StatusUnauthorized, http.StatusNotFound:
				return fmt.Errorf("telegram: the Bot API rejects the token: %w", err)
			case http.StatusConflict:
				err = fmt.Errorf("%w (a webhook is set for this bot or another process polls it: delete the webhook, or set channels.telegram.mode to webhook)", err)
			}
			wait = max(wait, time.Duration(apiErr.RetryAfter)*time.Second)
		}
		c.log.Warn("telegram getUpdates failed, retrying", "err", err, "wait", wait)
		if !sleep(ctx, wait) {
			return nil
		}
		backoff = min(2*backoff, c.maxBackoff)
	}
	return nil
}

// handleBatch handles polled updates in order, moving st past each one
// handled (or given up on) and storing the offset. After a failed dispatch
// it waits and returns, so that the update is fetched and tried again. It
// returns false when ctx ended.
func (c *Channel) handleBatch(ctx context.Context, batch []polledUpdate, st *pollState) bool {
	for _, u := range batch {
		if err := c.handlePolled(ctx, u); err != nil {
			if ctx.Err() != nil {
				return false
			}
			if u.id != st.failingID {
				st.failingID, st.failures = u.id, 0
			}
			st.failures++
			if st.failures < maxUpdateAttempts {
				wait := min(c.minBackoff<<(st.failures-1), c.maxBackoff)
				c.log.Warn("telegram update not handled, retrying", "update_id", u.id, "attempt", st.failures, "err", err, "wait", wait)
				return sleep(ctx, wait)
			}
			c.log.Error("telegram update dropped after repeated failures", "update_id", u.id, "attempts", st.failures, "err", err)
		}
		st.offset, st.lastSeen = u.id+1, c.now()
		c.saveOffset(u.id, st.lastSeen)
	}
	return true
}

// handlePolled decodes and handles one polled update. An update the SDK's
// models cannot decode is logged and skipped: it would fail again.
func (c *Channel) handlePolled(ctx context.Context, u polledUpdate) error {
	upd, err := decodeUpdate(u.raw)
	if err != nil {
		c.log.Error("telegram update skipped: cannot decode it", "update_id", u.id, "err", err)
		return nil
	}
	return c.handleUpdate(ctx, upd)
}

// loadOffset reads the stored offset, retrying while the KV fails; the
// error is non-nil only when ctx ended first.
func (c *Channel) loadOffset(ctx context.Context) (offset int64, savedAt time.Time, err error) {
	backoff := c.minBackoff
	var v string
	for {
		v, err = c.kv.Get(keyOffset)
		if err == nil {
			break
		}
		c.log.Error("telegram: cannot read the polling offset, retrying", "err", err)
		if !sleep(ctx, backoff) {
			return 0, time.Time{}, ctx.Err()
		}
		backoff = min(2*backoff, c.maxBackoff)
	}
	if v == "" {
		return 0, time.Time{}, nil
	}
	idText, unixText, _ := strings.Cut(v, " ")
	id, perr := strconv.ParseInt(idText, 10, 64)
	if perr != nil || id <= 0 {
		c.log.Warn("telegram: ignoring a malformed stored offset", "value", v)
		return 0, time.Time{}, nil
	}
	if unix, err := strconv.ParseInt(unixText, 10, 64); err == nil && unix > 0 {
		savedAt = time.Unix(unix, 0)
	}
	return id + 1, savedAt, nil
}

// saveOffset records id as the last handled update. A failure only costs
// a redelivery after a restart, which the engine deduplicates.
func (c *Channel) saveOffset(id int64, at time.Time) {
	if err := c.kv.Set(keyOffset, fmt.Sprintf("%d %d", id, at.Unix())); err != nil {
		c.log.Error("telegram: cannot store the polling offset", "update_id", id, "err", err)
	}
}

// polledUpdate is one update of a getUpdates answer, still undecoded so
// that one the models cannot read does not lose the others.
type polledUpdate struct {
	id  int64
	raw json.RawMessage
}

// apiError is an error answer of the Bot API ({"ok":false,…}).
type apiError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Method, e.Code, e.Description)
}

// getUpdates makes one long-polling call (the SDK does not export its own).
func (c *Channel) getUpdates(ctx context.Context, offset int64) ([]polledUpdate, error) {
	form := url.Values{}
	if offset != 0 {
		form.Set("offset", strconv.FormatInt(offset, 10))
	}
	form.Set("timeout", strconv.Itoa(int(c.pollTimeout/time.Second)))
	allowed, _ := json.Marshal(allowedUpdates)
	form.Set("allowed_updates", string(allowed))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		c.cfg.APIBase+"/bot"+c.cfg.Token+"/getUpdates", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", c.redact(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", c.redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: read answer: %w", c.redact(err))
	}
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("getUpdates: HTTP %d: decode answer: %w", resp.StatusCode, err)
	}
	if !r.OK {
		code := r.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		return nil, &apiError{Method: "getUpdates", Code: code, Description: r.Description, RetryAfter: r.Parameters.RetryAfter}
	}
	out := make([]polledUpdate, 0, len(r.Result))
	for _, raw := range r.Result {
		var head struct {
			ID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID <= 0 {
			// Without an id it cannot be confirmed or deduplicated.
			c.log.Error("telegram: getUpdates returned an update without update_id", "err", err)
			continue
		}
		out = append(out, polledUpdate{id: head.ID, raw: raw})
	}
	return out, nil
}

// redact removes the token from a transport error, whose message carries
// the request URL.
func (c *Channel) redact(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		urlErr.URL = strings.ReplaceAll(urlErr.URL, c.cfg.Token, "***")
	}
	return err
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
