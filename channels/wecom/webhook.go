package wecom

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/silenceper/wechat/v2/work/kf"

	"github.com/carebot/carebot/channels/internal/wxapi"
)

// MaxBody is the largest callback body accepted; a kf callback is a few
// hundred bytes.
const MaxBody = 64 << 10

// eventKF is the callback event that says "there are messages to fetch".
const eventKF = "kf_msg_or_event"

// Handler serves the callback WeCom calls (mount it at /webhook/wecom).
// GET verifies the URL: it checks msg_signature and answers the decrypted
// echostr. POST checks msg_signature over the ciphertext before anything
// else (the SDK only decrypts), decrypts it (which checks the CorpID
// inside), answers "success" at once and fetches the new messages with
// sync_msg in the background: the callback carries none, and WeCom waits
// only 5 seconds. A refused request gets 401 or 403, is logged with the
// reason, and changes nothing.
func (c *Channel) Handler() http.Handler {
	return wxapi.MethodHandler(c.verifyURL, c.receive)
}

func (c *Channel) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, err error) {
	wxapi.Refuse(c.log, "wecom callback refused", w, r, status, reason, err)
}

// validSignature checks msg_signature = sha1(sort(token, timestamp,
// nonce, encrypted)).
func (c *Channel) validSignature(q url.Values, encrypted string) bool {
	return encrypted != "" && wxapi.SignatureOK(q.Get("msg_signature"), c.cfg.Token, q.Get("timestamp"), q.Get("nonce"), encrypted)
}

func (c *Channel) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	echo := q.Get("echostr")
	if !c.validSignature(q, echo) {
		c.refuse(w, r, http.StatusUnauthorized, "URL verification with a bad msg_signature (check channels.wecom.token)", nil)
		return
	}
	plain, err := c.kf.VerifyURL(kf.SignatureOptions{
		Signature: q.Get("msg_signature"),
		TimeStamp: q.Get("timestamp"),
		Nonce:     q.Get("nonce"),
		EchoStr:   echo,
	})
	if err != nil {
		c.refuse(w, r, http.StatusForbidden, "cannot decrypt echostr for channels.wecom.corp_id (check encoding_aes_key)", err)
		return
	}
	wxapi.WriteText(w, plain)
}

// envelope is the encrypted callback body.
type envelope struct {
	ToUserName string `xml:"ToUserName"`
	Encrypt    string `xml:"Encrypt"`
}

func (c *Channel) receive(w http.ResponseWriter, r *http.Request) {
	body, status, reason, err := wxapi.ReadBody(w, r, MaxBody)
	if status != 0 {
		c.refuse(w, r, status, reason, err)
		return
	}
	q := r.URL.Query()
	if q.Get("msg_signature") == "" {
		c.refuse(w, r, http.StatusUnauthorized, "no msg_signature", nil)
		return
	}
	// The signature covers the Encrypt element, so it can only be checked
	// once the envelope is read; nothing inside is used before.
	var env envelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		c.refuse(w, r, http.StatusBadRequest, "malformed callback envelope", err)
		return
	}
	if !c.validSignature(q, env.Encrypt) {
		c.refuse(w, r, http.StatusUnauthorized, "bad msg_signature (check channels.wecom.token)", nil)
		return
	}
	msg, err := c.kf.GetCallbackMessage(body)
	if err != nil {
		c.refuse(w, r, http.StatusForbidden, "cannot decrypt for channels.wecom.corp_id (check encoding_aes_key and corp_id)", err)
		return
	}
	switch {
	case msg.Event != eventKF:
		c.log.Debug("wecom callback ignored", "event", msg.Event)
	case c.cfg.OpenKfID != "" && msg.OpenKfID != c.cfg.OpenKfID:
		c.log.Debug("wecom callback for another kf account ignored", "open_kfid", msg.OpenKfID)
	case !kfIDRe.MatchString(msg.OpenKfID):
		c.refuse(w, r, http.StatusBadRequest, fmt.Sprintf("callback with open_kfid %.70q", msg.OpenKfID), nil)
		return
	default:
		c.trigger(msg.OpenKfID, msg.Token)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}
