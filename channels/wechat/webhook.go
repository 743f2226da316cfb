package wechat

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/internal/wxapi"
)

// MaxBody is the largest webhook body accepted; WeChat's messages are a
// few kilobytes even when encrypted.
const MaxBody = 256 << 10

// dispatchTimeout bounds the hand-over to the engine: WeChat waits 5
// seconds for an answer and shows the customer "该公众号暂时无法提供服务"
// when it gets none.
const dispatchTimeout = 4 * time.Second

// Handler serves the webhook WeChat calls (mount it at /webhook/wechat):
// GET verifies the server URL by echoing echostr, POST delivers a message
// or event. Every request is checked before anything else: the signature,
// and in safe mode the msg_signature, the decryption and the AppID inside
// the ciphertext. A refused request gets 401 or 403, is logged with the
// reason, and changes nothing.
//
// A POST is answered with "success" as soon as the event is handed to the
// engine; replies go out later through the customer-service API, never as
// a passive reply, so the answer is never encrypted either.
func (c *Channel) Handler() http.Handler {
	return wxapi.MethodHandler(c.verifyURL, c.receive)
}

// refuse answers status and logs why; the body says no more than the
// status, so a prober learns nothing about the check that failed.
func (c *Channel) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, err error) {
	wxapi.Refuse(c.log, "wechat webhook refused", w, r, status, reason, err)
}

// validSignature checks signature = sha1(sort(token, timestamp, nonce)),
// which WeChat adds to every request in every mode.
func (c *Channel) validSignature(q url.Values) bool {
	return wxapi.SignatureOK(q.Get("signature"), c.cfg.Token, q.Get("timestamp"), q.Get("nonce"))
}

func (c *Channel) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !c.validSignature(q) {
		c.refuse(w, r, http.StatusUnauthorized, "URL verification with a bad signature (check channels.wechat.token)", nil)
		return
	}
	echo := q.Get("echostr")
	if echo == "" {
		c.refuse(w, r, http.StatusBadRequest, "URL verification without echostr", nil)
		return
	}
	wxapi.WriteText(w, echo)
}

func (c *Channel) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !c.validSignature(q) {
		c.refuse(w, r, http.StatusUnauthorized, "bad signature (check channels.wechat.token)", nil)
		return
	}
	body, status, reason, err := wxapi.ReadBody(w, r, MaxBody)
	if status != 0 {
		c.refuse(w, r, status, reason, err)
		return
	}
	raw, status, reason, err := c.plaintext(q, body)
	if status != 0 {
		c.refuse(w, r, status, reason, err)
		return
	}
	msg, err := parseMessage(raw)
	if err != nil {
		c.refuse(w, r, http.StatusBadRequest, "malformed message", err)
		return
	}

	c.recordAction(msg)
	if ev, ok := c.toEvent(msg); ok {
		// The engine's store must not be abandoned half-way because WeChat
		// hung up, hence WithoutCancel; the timeout keeps the answer inside
		// WeChat's 5 seconds.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.dispatchTimeout)
		err := c.dispatch(ctx, ev)
		timedOut := ctx.Err() != nil
		cancel()
		switch {
		case err != nil && timedOut:
			// The engine may still store it; an error answer now would only
			// show the customer WeChat's "service unavailable" notice.
			c.log.Warn("wechat dispatch timed out, answering success", "event", ev.ID, "err", err)
		case err != nil:
			// Not stored: say so, rather than drop the message silently.
			c.log.Error("wechat dispatch failed", "event", ev.ID, "err", err)
			http.Error(w, "could not store the message", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// plaintext returns the message XML of a request whose signature is
// valid: the body itself in plaintext mode, the decrypted Encrypt element
// in safe and compatible mode (encrypt_type=aes). A non-zero status means
// the request is refused for reason.
func (c *Channel) plaintext(q url.Values, body []byte) (raw []byte, status int, reason string, err error) {
	switch q.Get("encrypt_type") {
	case "", "raw":
		if c.cfg.EncodingAESKey != "" {
			// In plaintext mode the signature does not cover the body, so a
			// replayed URL could carry any message; with a key set, only
			// messages whose ciphertext is signed are accepted.
			return nil, http.StatusForbidden, "plaintext message refused: channels.wechat.encoding_aes_key is set, so only safe-mode messages are accepted (set 消息加解密方式 to 安全模式)", nil
		}
		return body, 0, "", nil
	case "aes":
	default:
		return nil, http.StatusBadRequest, fmt.Sprintf("unknown encrypt_type %.20q", q.Get("encrypt_type")), nil
	}
	if c.cfg.EncodingAESKey == "" {
		return nil, http.StatusForbidden, "encrypted message refused: channels.wechat.encoding_aes_key is not set", nil
	}
	var env message.EncryptedXMLMsg
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, http.StatusBadRequest, "malformed encrypted envelope", err
	}
	if env.EncryptedMsg == "" {
		return nil, http.StatusBadRequest, "encrypted envelope without Encrypt", nil
	}
	got := q.Get("msg_signature")
	want := util.Signature(c.cfg.Token, q.Get("timestamp"), q.Get("nonce"), env.EncryptedMsg)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, http.StatusUnauthorized, "bad msg_signature", nil
	}
	appID, raw, err := decrypt(env.EncryptedMsg, c.cfg.EncodingAESKey)
	if err != nil {
		return nil, http.StatusForbidden, "cannot decrypt (check channels.wechat.encoding_aes_key)", err
	}
	if subtle.ConstantTimeCompare(appID, []byte(c.cfg.AppID)) != 1 {
		return nil, http.StatusForbidden, fmt.Sprintf("message encrypted for AppID %.40q, not channels.wechat.app_id", appID), nil
	}
	return raw, 0, "", nil
}

// decrypt opens WeChat's AES-256-CBC envelope with the SDK's
// AESDecryptMsg and returns the AppID it names and the message. It does
// not use util.DecryptMsg, which folds a wrong AppID and a broken
// ciphertext into one error and panics (then recovers) on a bad key.
func decrypt(encrypted, encodingAESKey string) (appID, raw []byte, err error) {
	defer func() {
		// The SDK's helpers panic on some inputs; a webhook must not.
		if p := recover(); p != nil {
			err = fmt.Errorf("decrypt: %v", p)
		}
	}()
	ciphertext, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, nil, fmt.Errorf("decode base64: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, nil, errors.New("encoding_aes_key is not base64 of 32 bytes")
	}
	_, raw, appID, err = util.AESDecryptMsg(ciphertext, key)
	if err != nil {
		return nil, nil, fmt.Errorf("decrypt: %w", err)
	}
	return appID, raw, nil
}

// parseMessage decodes WeChat's message XML into the SDK's MixMessage.
func parseMessage(raw []byte) (*message.MixMessage, error) {
	var m message.MixMessage
	if err := xml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode XML: %w", err)
	}
	if m.FromUserName == "" || m.MsgType == "" {
		return nil, errors.New("FromUserName or MsgType missing")
	}
	return &m, nil
}

// toEvent normalises a message; ok is false for events the engine has
// no use for (menu links, location reports, template delivery receipts…).
func (c *Channel) toEvent(m *message.MixMessage) (ev channels.Event, ok bool) {
	openID := string(m.FromUserName)
	ev = channels.Event{
		Channel: Name,
		ChatID:  openID,
		UserID:  openID,
		Time:    c.eventTime(m),
		Type:    channels.EventMessage,
	}
	created := strconv.FormatInt(m.CreateTime, 10)
	if m.MsgType != message.MsgTypeEvent {
		// Messages carry MsgId, which WeChat keeps across its retries.
		ev.ID = "m" + strconv.FormatInt(m.MsgID, 10)
		if m.MsgID == 0 {
			ev.ID = openID + "-" + created + "-" + string(m.MsgType)
		}
		if m.MsgType != message.MsgTypeText {
			ev.Type = channels.EventUnsupported
			return ev, true
		}
		if p, ok := c.menuPayload(openID, m.Content, m.BizMsgMenuID); ok {
			ev.Payload = p
			return ev, true
		}
		ev.Text = m.Content
		return ev, true
	}
	// Events have no id: sender, time and event name are what stays the
	// same across retries; the key tells two menu clicks in one second
	// apart.
	ev.ID = openID + "-" + created + "-" + string(m.Event)
	if m.EventKey != "" {
		ev.ID += "-" + m.EventKey
	}
	switch {
	case strings.EqualFold(string(m.Event), string(message.EventSubscribe)):
		ev.Type = channels.EventFollow
	case strings.EqualFold(string(m.Event), string(message.EventUnsubscribe)):
		ev.Type = channels.EventUnfollow
	case strings.EqualFold(string(m.Event), string(message.EventClick)):
		ev.Payload = m.EventKey
	default:
		return ev, false
	}
	return ev, true
}

// eventTime is CreateTime, or now when WeChat sent none.
func (c *Channel) eventTime(m *message.MixMessage) time.Time {
	if m.CreateTime <= 0 {
		return c.now()
	}
	return time.Unix(m.CreateTime, 0)
}
