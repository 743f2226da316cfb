package webchat

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/channels"
)

// MaxBody is the largest request body the API accepts.
const MaxBody = 64 << 10

// historyLimit is how many messages a page reload shows.
const historyLimit = 200

// locales the API accepts in the "locale" field.
var locales = []string{"zh-Hans", "zh-Hant", "en"}

type postRequest struct {
	Session string  `json:"session"`
	ID      string  `json:"id"`
	Text    *string `json:"text"`
	Payload string  `json:"payload"`
	Label   string  `json:"label"`
	Locale  string  `json:"locale"`
}

type replyJSON struct {
	Seq     uint64            `json:"seq"`
	Text    string            `json:"text"`
	Buttons []channels.Button `json:"buttons"`
	Image   string            `json:"image,omitempty"`
}

type postResponse struct {
	Seq     uint64      `json:"seq"`
	Replies []replyJSON `json:"replies"`
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Handler serves the web chat API:
//
//	POST /api/v1/webchat/messages
//	GET  /api/v1/webchat/history?session=…
//	GET  /api/v1/webchat/events?session=…   (Server-Sent Events)
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/webchat/messages", c.handlePost)
	mux.HandleFunc("GET /api/v1/webchat/history", c.handleHistory)
	mux.HandleFunc("GET /api/v1/webchat/events", c.handleEvents)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, field, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Field: field})
}

// badRequest is a client mistake: the status, the field at fault and the
// message to return.
type badRequest struct {
	status int
	field  string
	msg    string
}

// decodePost reads and checks a POST body.
func decodePost(w http.ResponseWriter, r *http.Request) (postRequest, *badRequest) {
	var req postRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return req, &badRequest{http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body is larger than %d bytes", MaxBody)}
	}
	if err != nil {
		return req, &badRequest{http.StatusBadRequest, "", fmt.Sprintf("read request body: %v", err)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return req, &badRequest{http.StatusBadRequest, typeErr.Field, fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type)}
		}
		return req, &badRequest{http.StatusBadRequest, "", fmt.Sprintf("malformed JSON: %v", err)}
	}
	bad := func(field, msg string) (postRequest, *badRequest) {
		return req, &badRequest{http.StatusBadRequest, field, msg}
	}
	switch {
	case req.Session == "":
		return bad("session", `field "session" is required`)
	case !validID(req.Session):
		return bad("session", `field "session" must be 8 to 64 letters, digits, '-' or '_'`)
	case req.ID != "" && !validID(req.ID):
		return bad("id", `field "id" must be 8 to 64 letters, digits, '-' or '_'`)
	case req.Text == nil && req.Payload == "":
		return bad("text", `field "text" (or "payload" for a button) is required`)
	case req.Locale != "" && !slices.Contains(locales, req.Locale):
		return bad("locale", `field "locale" must be one of `+strings.Join(locales, ", "))
	case len(req.Payload) > 256:
		return bad("payload", `field "payload" is longer than 256 bytes`)
	}
	return req, nil
}

func (c *Channel) handlePost(w http.ResponseWriter, r *http.Request) {
	req, bad := decodePost(w, r)
	if bad != nil {
		writeJSON(w, bad.status, apiError{Error: bad.msg, Field: bad.field})
		return
	}
	text := ""
	if req.Text != nil {
		// JSON decoding already replaced invalid UTF-8; this guards the
		// label and keeps the journal clean whatever the decoder does.
		text = strings.ToValidUTF8(*req.Text, "\uFFFD")
	}
	// Surrounding blank lines are an artefact of the input box, not part
	// of what the customer said.
	shown := strings.TrimSpace(text)
	if req.Payload != "" && req.Text == nil {
		shown = strings.ToValidUTF8(req.Label, "\uFFFD")
		if utf8.RuneCountInString(shown) > 200 {
			shown = string([]rune(shown)[:200])
		}
	}
	now := c.opts.Now()
	key := "in:" + req.ID
	if req.ID == "" {
		// No client id: nothing can be deduplicated, so the key only has to
		// be unique. Not the time: a coarse or injected clock repeats it and
		// would turn a new message into a "retry" of the previous one.
		key = "in:anon-" + rand.Text()
	}
	wake, unsubscribe := c.subscribe(req.Session)
	defer unsubscribe()
	in, created, err := c.journal.Append(req.Session, Message{Dir: DirIn, Text: shown, Time: now, Key: key})
	if err != nil {
		slog.Error("webchat journal append failed", "session", req.Session, "err", err)
		fail(w, http.StatusServiceUnavailable, "", "could not store the message, please retry")
		return
	}
	if !created {
		// A retry of a message already received (the client lost our
		// answer): answer with what was replied to it, not a second turn.
		writeJSON(w, http.StatusOK, postResponse{Seq: in.Seq, Replies: c.repliesTo(r, req.Session, in.Seq, wake)})
		return
	}
	ids, err := c.dispatch(r.Context(), channels.Event{
		Channel: Name,
		ID:      req.ID,
		ChatID:  req.Session,
		UserID:  req.Session,
		Text:    text,
		Payload: req.Payload,
		Locale:  req.Locale,
		Time:    now,
	})
	if err != nil {
		slog.Error("webchat dispatch failed", "session", req.Session, "err", err)
		fail(w, http.StatusServiceUnavailable, "", "the bot could not handle the message, please retry")
		return
	}
	replies := c.awaitReplies(r, req.Session, in.Seq, ids, wake)
	writeJSON(w, http.StatusOK, postResponse{Seq: in.Seq, Replies: replies})
}

// awaitReplies waits until the outbox rows ids have reached the journal, or
// ReplyWait passes, and returns the ones that did. Replies that come later
// reach the page through the event stream.
func (c *Channel) awaitReplies(r *http.Request, session string, after uint64, ids []uint64, wake <-chan struct{}) []replyJSON {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[fmt.Sprintf("outbox:%d", id)] = true
	}
	return c.waitReplies(r, session, after, wake, func(msgs []Message) ([]replyJSON, bool) {
		replies := []replyJSON{}
		for _, m := range msgs {
			if want[m.Key] {
				replies = append(replies, toReply(m))
			}
		}
		return replies, len(replies) == len(want)
	})
}

// repliesTo returns the replies that followed the customer message at seq,
// up to the next customer message, waiting up to ReplyWait for the first.
func (c *Channel) repliesTo(r *http.Request, session string, seq uint64, wake <-chan struct{}) []replyJSON {
	return c.waitReplies(r, session, seq, wake, func(msgs []Message) ([]replyJSON, bool) {
		replies := []replyJSON{}
		for _, m := range msgs {
			if m.Dir == DirIn {
				break
			}
			replies = append(replies, toReply(m))
		}
		return replies, len(replies) > 0
	})
}

// waitReplies reads the journal after seq each time the session is woken,
// until pick says it has all it wants or ReplyWait passes, and returns what
// pick chose last.
func (c *Channel) waitReplies(r *http.Request, session string, after uint64, wake <-chan struct{}, pick func([]Message) ([]replyJSON, bool)) []replyJSON {
	timer := time.NewTimer(c.opts.ReplyWait)
	defer timer.Stop()
	for {
		msgs, err := c.journal.Since(session, after, historyLimit)
		if err != nil {
			slog.Error("webchat journal read failed", "session", session, "err", err)
			return []replyJSON{}
		}
		replies, done := pick(msgs)
		if done {
			return replies
		}
		select {
		case <-wake:
		case <-timer.C:
			return replies
		case <-r.Context().Done():
			return replies
		case <-c.done:
			return replies
		}
	}
}

func toReply(m Message) replyJSON {
	return replyJSON{Seq: m.Seq, Text: m.Text, Buttons: nonNil(m.Buttons), Image: m.Image}
}

func nonNil(b []channels.Button) []channels.Button {
	if b == nil {
		return []channels.Button{}
	}
	return b
}

func (c *Channel) sessionParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	session := r.URL.Query().Get("session")
	if !validID(session) {
		fail(w, http.StatusBadRequest, "session", "query parameter \"session\" must be 8 to 64 letters, digits, '-' or '_'")
		return "", false
	}
	ok, err := c.journal.Exists(session)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "", "could not read the session, please retry")
		return "", false
	}
	if !ok {
		fail(w, http.StatusNotFound, "session", "%v", errUnknownSession)
		return "", false
	}
	return session, true
}

type historyResponse struct {
	Messages []Message `json:"messages"`
	LastSeq  uint64    `json:"last_seq"`
}

func (c *Channel) handleHistory(w http.ResponseWriter, r *http.Request) {
	session, ok := c.sessionParam(w, r)
	if !ok {
		return
	}
	msgs, err := c.journal.Recent(session, historyLimit)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "", "could not read the history, please retry")
		return
	}
	resp := historyResponse{Messages: make([]Message, 0, len(msgs))}
	for _, m := range msgs {
		m.Key = ""
		m.Buttons = nonNil(m.Buttons)
		resp.Messages = append(resp.Messages, m)
		resp.LastSeq = m.Seq
	}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Channel) handleEvents(w http.ResponseWriter, r *http.Request) {
	session, ok := c.sessionParam(w, r)
	if !ok {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, "", "streaming is not supported by this server")
		return
	}
	var last uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		last, _ = strconv.ParseUint(v, 10, 64)
	} else if v := r.URL.Query().Get("after"); v != "" {
		last, _ = strconv.ParseUint(v, 10, 64)
	}
	wake, unsubscribe := c.subscribe(session)
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	keepAlive := time.NewTicker(c.opts.KeepAlive)
	defer keepAlive.Stop()
	for {
		msgs, err := c.journal.Since(session, last, historyLimit)
		if err != nil {
			slog.Error("webchat journal read failed", "session", session, "err", err)
			return
		}
		for _, m := range msgs {
			m.Key = ""
			m.Buttons = nonNil(m.Buttons)
			data, err := json.Marshal(m)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", m.Seq, data); err != nil {
				return
			}
			last = m.Seq
		}
		flusher.Flush()
		if len(msgs) == historyLimit {
			continue // more are waiting
		}
		select {
		case <-wake:
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		}
	}
}
