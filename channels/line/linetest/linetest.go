// Package linetest is a fake LINE Messaging API for tests: an httptest
// server that speaks the real wire format of the endpoints carebot uses
// (reply, push with X-Line-Retry-Key, the loading animation), checks
// requests the way LINE does, answers with LINE's error shapes, and
// records what it delivered. Sign signs webhook bodies as LINE does.
//
// It imports only the standard library, so tests of any package (the
// adapter's own, the engine's end-to-end ones) can point a LINE channel's
// APIBase at Server.URL.
package linetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
)

// Sign returns the X-Line-Signature of body: the base64 HMAC-SHA256 of the
// body keyed with the channel secret.
func Sign(channelSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(channelSecret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Paths of the endpoints the fake serves.
const (
	PathReply   = "/v2/bot/message/reply"
	PathPush    = "/v2/bot/message/push"
	PathLoading = "/v2/bot/chat/loading/start"
)

// Message is a message object as LINE receives it: a text message (Text)
// or an image message (OriginalContentURL, PreviewImageURL).
type Message struct {
	Type               string      `json:"type"`
	Text               string      `json:"text,omitempty"`
	OriginalContentURL string      `json:"originalContentUrl,omitempty"`
	PreviewImageURL    string      `json:"previewImageUrl,omitempty"`
	QuickReply         *QuickReply `json:"quickReply,omitempty"`
}

// QuickReply is a message's quick reply object.
type QuickReply struct {
	Items []QuickReplyItem `json:"items"`
}

// QuickReplyItem is one quick reply button; LINE requires Type "action".
type QuickReplyItem struct {
	Type   string `json:"type"`
	Action Action `json:"action"`
}

// Action is a quick reply item's action (postback, message or uri).
type Action struct {
	Type        string `json:"type"`
	Label       string `json:"label"`
	Data        string `json:"data,omitempty"`
	DisplayText string `json:"displayText,omitempty"`
	Text        string `json:"text,omitempty"`
	URI         string `json:"uri,omitempty"`
}

// Delivery is one accepted reply or push request.
type Delivery struct {
	// Via is "reply" or "push".
	Via        string
	ReplyToken string // for replies
	To         string // for pushes
	RetryKey   string // X-Line-Retry-Key of a push, if any
	Messages   []Message
}

// Request is one request the fake received, accepted or not.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	Status int // the status the fake answered
}

// Response is a canned answer, queued with Fail.
type Response struct {
	// Status is the status to answer; zero lets the request through to
	// the normal handling, so that a failure can be aimed at a later one.
	Status int
	Header http.Header
	// Body is sent as is; empty means {"message": <status text>}.
	Body string
}

// Server is the fake Messaging API. Its zero value is not usable; call
// NewServer, and Close when done.
type Server struct {
	*httptest.Server
	token string

	mu          sync.Mutex
	requests    []Request
	deliveries  []Delivery
	replyTokens map[string]bool // issued and not yet used
	retryKeys   map[string]string
	canned      map[string][]Response
	loading     []LoadingRequest
}

// LoadingRequest is one accepted loading animation request.
type LoadingRequest struct {
	ChatID         string `json:"chatId"`
	LoadingSeconds int    `json:"loadingSeconds"`
}

// NewServer starts a fake that accepts the channel access token token.
func NewServer(token string) *Server {
	s := &Server{
		token:       token,
		replyTokens: make(map[string]bool),
		retryKeys:   make(map[string]string),
		canned:      make(map[string][]Response),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// IssueReplyToken makes tok valid for one reply, as a webhook event's
// replyToken is. Real tokens expire after about a minute; the fake's do
// not, which lets tests show that expiry is decided by the adapter.
func (s *Server) IssueReplyToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyTokens[tok] = true
}

// Fail queues resp as the answer to the next request to path, before any
// check; several calls queue several answers.
func (s *Server) Fail(path string, resp Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.canned[path] = append(s.canned[path], resp)
}

// Requests returns the requests received on path ("" for all), in order.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Deliveries returns the accepted replies and pushes, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Loading returns the accepted loading animation requests, in order.
func (s *Server) Loading() []LoadingRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoadingRequest(nil), s.loading...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	rec := &statusRecorder{ResponseWriter: w}
	rec.Header().Set("X-Line-Request-Id", newUUID())
	s.handle(rec, r, body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Status: rec.status})
	s.mu.Unlock()
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte) {
	if resp, ok := s.nextCanned(r.URL.Path); ok && resp.Status != 0 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if resp.Body == "" {
			writeError(w, resp.Status, http.StatusText(resp.Status))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.Status)
		io.WriteString(w, resp.Body)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	switch r.URL.Path {
	case PathReply, PathPush, PathLoading:
	default:
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeError(w, http.StatusUnauthorized, "Authentication failed. Confirm that the access token in the authorization header is valid.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	switch r.URL.Path {
	case PathReply:
		s.reply(w, body)
	case PathPush:
		s.push(w, r, body)
	case PathLoading:
		s.startLoading(w, body)
	}
}

func (s *Server) nextCanned(path string) (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.canned[path]
	if len(q) == 0 {
		return Response{}, false
	}
	s.canned[path] = q[1:]
	return q[0], true
}

type sendRequest struct {
	ReplyToken string    `json:"replyToken"`
	To         string    `json:"to"`
	Messages   []Message `json:"messages"`
}

func (s *Server) reply(w http.ResponseWriter, body []byte) {
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "The request body has 1 error(s)", detail{"Invalid JSON: " + err.Error(), ""})
		return
	}
	if errs := validate(req.Messages); len(errs) > 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The request body has %d error(s)", len(errs)), errs...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.replyTokens[req.ReplyToken] {
		writeError(w, http.StatusBadRequest, "Invalid reply token")
		return
	}
	delete(s.replyTokens, req.ReplyToken)
	s.deliveries = append(s.deliveries, Delivery{Via: "reply", ReplyToken: req.ReplyToken, Messages: req.Messages})
	writeSent(w, len(req.Messages))
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (s *Server) push(w http.ResponseWriter, r *http.Request, body []byte) {
	key := r.Header.Get("X-Line-Retry-Key")
	if key != "" && !uuidRe.MatchString(key) {
		writeError(w, http.StatusBadRequest, "The value for the 'X-Line-Retry-Key' header is invalid")
		return
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "The request body has 1 error(s)", detail{"Invalid JSON: " + err.Error(), ""})
		return
	}
	errs := validate(req.Messages)
	if req.To == "" {
		errs = append(errs, detail{"must be specified", "to"})
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The request body has %d error(s)", len(errs)), errs...)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if id, seen := s.retryKeys[key]; seen {
			// LINE's answer to a retry of an accepted push: nothing is sent
			// again, and the header names the request that was.
			w.Header().Set("X-Line-Accepted-Request-Id", id)
			writeError(w, http.StatusConflict, "The retry key is already accepted")
			return
		}
		s.retryKeys[key] = w.Header().Get("X-Line-Request-Id")
	}
	s.deliveries = append(s.deliveries, Delivery{Via: "push", To: req.To, RetryKey: key, Messages: req.Messages})
	writeSent(w, len(req.Messages))
}

func (s *Server) startLoading(w http.ResponseWriter, body []byte) {
	var req LoadingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "The request body has 1 error(s)", detail{"Invalid JSON: " + err.Error(), ""})
		return
	}
	if req.LoadingSeconds == 0 {
		req.LoadingSeconds = 20 // LINE's default
	}
	switch {
	case !strings.HasPrefix(req.ChatID, "U"):
		writeError(w, http.StatusBadRequest, "The request body has 1 error(s)", detail{"Only user IDs can be specified", "chatId"})
		return
	case req.LoadingSeconds < 5 || req.LoadingSeconds > 60 || req.LoadingSeconds%5 != 0:
		writeError(w, http.StatusBadRequest, "The request body has 1 error(s)", detail{"Must be a multiple of 5 between 5 and 60", "loadingSeconds"})
		return
	}
	s.mu.Lock()
	s.loading = append(s.loading, req)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "{}")
}

type detail struct {
	Message  string `json:"message"`
	Property string `json:"property,omitempty"`
}

// validate checks messages as LINE does for the fields carebot sends.
func validate(msgs []Message) []detail {
	var errs []detail
	bad := func(prop, msg string) { errs = append(errs, detail{msg, prop}) }
	if len(msgs) == 0 || len(msgs) > 5 {
		bad("messages", "Size must be between 1 and 5")
	}
	for i, m := range msgs {
		p := fmt.Sprintf("messages[%d]", i)
		switch m.Type {
		case "text":
			if n := units(m.Text); n == 0 || n > 5000 {
				bad(p+".text", "Length must be between 1 and 5000")
			}
		case "image":
			for _, f := range [...]struct{ prop, url string }{{"originalContentUrl", m.OriginalContentURL}, {"previewImageUrl", m.PreviewImageURL}} {
				switch prop, u := f.prop, f.url; {
				case u == "":
					bad(p+"."+prop, "must be specified")
				case units(u) > 2000:
					bad(p+"."+prop, "Length must be between 0 and 2000")
				case !httpsURL(u):
					bad(p+"."+prop, "must be non-empty HTTPS URL")
				}
			}
		case "video", "audio", "location", "sticker", "imagemap", "template", "flex":
			bad(p+".type", "The fake does not accept this message type")
		default:
			bad(p+".type", "Must be one of the following values: [text, image, video, audio, location, sticker, imagemap, template, flex]")
		}
		if m.QuickReply == nil {
			continue
		}
		if len(m.QuickReply.Items) == 0 || len(m.QuickReply.Items) > 13 {
			bad(p+".quickReply.items", "Size must be between 1 and 13")
		}
		for j, it := range m.QuickReply.Items {
			q := fmt.Sprintf("%s.quickReply.items[%d]", p, j)
			if it.Type != "action" {
				bad(q+".type", "must be specified")
			}
			if n := units(it.Action.Label); n == 0 || n > 20 {
				bad(q+".action.label", "Length must be between 1 and 20")
			}
			switch it.Action.Type {
			case "postback":
				if n := units(it.Action.Data); n == 0 || n > 300 {
					bad(q+".action.data", "Length must be between 1 and 300")
				}
				if units(it.Action.DisplayText) > 300 {
					bad(q+".action.displayText", "Length must be between 0 and 300")
				}
			case "message":
				if n := units(it.Action.Text); n == 0 || n > 300 {
					bad(q+".action.text", "Length must be between 1 and 300")
				}
			case "uri":
				if n := units(it.Action.URI); n == 0 || n > 1000 {
					bad(q+".action.uri", "Length must be between 1 and 1000")
				} else if !validURI(it.Action.URI) {
					bad(q+".action.uri", "Invalid URI scheme; http, https, line and tel are allowed")
				}
			default:
				bad(q+".action.type", "Unsupported action type")
			}
		}
	}
	return errs
}

func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

func validURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "line", "tel":
		return true
	}
	return false
}

// units counts UTF-16 code units, as LINE counts characters.
func units(s string) int { return len(utf16.Encode([]rune(s))) }

func writeError(w http.ResponseWriter, status int, msg string, details ...detail) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Message string   `json:"message"`
		Details []detail `json:"details,omitempty"`
	}{msg, details})
}

func writeSent(w http.ResponseWriter, n int) {
	type sent struct {
		ID         string `json:"id"`
		QuoteToken string `json:"quoteToken"`
	}
	out := struct {
		SentMessages []sent `json:"sentMessages"`
	}{}
	for range n {
		out.SentMessages = append(out.SentMessages, sent{ID: rand.Text()[:18], QuoteToken: rand.Text()})
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(out)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
