// Package telegramtest is a fake Telegram Bot API server for tests. It
// speaks the real wire format: POST /bot<token>/<method> with multipart,
// form or JSON parameters, answered with {"ok":true,"result":…} or
// {"ok":false,"error_code":…,"description":…,"parameters":{…}} and the
// matching HTTP status. It records every call, serves queued updates to
// getUpdates (long polling, confirmation by offset, 409 while a webhook is
// set) and checks requests the way Telegram does where carebot could get
// them wrong (text length, callback_data size, empty copy_text buttons,
// link buttons, buttons with no or two actions). sendPhoto is accepted
// with a URL or file_id and recorded apart (Photos).
//
// It imports only the standard library and listens on loopback.
package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Call is one Bot API request the server received.
type Call struct {
	Method string
	// Params are the request's parameters as sent; structured ones such
	// as reply_markup are JSON strings, as on the wire.
	Params map[string]string
}

// Message is a message the bot sent with sendMessage.
type Message struct {
	ChatID      string
	Text        string
	ReplyMarkup string // JSON, empty when none
}

// Photo is a picture the bot sent with sendPhoto.
type Photo struct {
	ChatID      string
	Photo       string // the file_id or URL, as sent
	Caption     string
	ReplyMarkup string // JSON, empty when none
}

// Failure is an error answer the server gives instead of the next result.
type Failure struct {
	// After lets this many calls succeed before the failure applies.
	After       int
	Code        int    // error_code and HTTP status: 400, 403, 429…
	Description string // e.g. "Forbidden: bot was blocked by the user"
	RetryAfter  int    // parameters.retry_after, seconds (429)
	// MigrateToChatID is parameters.migrate_to_chat_id (a group that
	// became a supergroup).
	MigrateToChatID int64
}

// Server is a fake Bot API server.
type Server struct {
	// URL is the base URL to pass as the API base (bot.WithServerURL).
	URL string
	// Token is the only token the server accepts.
	Token string
	// Username is the bot's username returned by getMe.
	Username string
	// BotID is the bot's user id: the number before ":" in Token.
	BotID int64

	srv       *httptest.Server
	closing   chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	calls      []Call
	sent       []Message
	photos     []Photo
	updates    []pending
	nextUpdate int64
	nextMsg    int
	failures   map[string][]Failure
	blocked    map[string]bool
	answered   map[string]bool
	webhook    string
	wake       chan struct{} // closed when updates are added
}

type pending struct {
	id  int64
	raw json.RawMessage
}

// NewServer starts a fake server for token ("123456:secret") whose bot is
// called username. Close it when done.
func NewServer(token, username string) *Server {
	id, _ := strconv.ParseInt(strings.Split(token, ":")[0], 10, 64)
	s := &Server{
		Token:      token,
		Username:   username,
		BotID:      id,
		closing:    make(chan struct{}),
		nextUpdate: 1000,
		failures:   make(map[string][]Failure),
		blocked:    make(map[string]bool),
		answered:   make(map[string]bool),
		wake:       make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Handler is the fake's HTTP handler, for a caller that serves the Bot
// API on its own listener (a load generator saves a proxy hop with it).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Close ends pending long polls and shuts the server down. Calling it
// again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// Calls returns the calls of method so far, oldest first; "" means all.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// SentMessages returns what sendMessage accepted, oldest first.
func (s *Server) SentMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

// Photos returns what sendPhoto accepted, oldest first.
func (s *Server) Photos() []Photo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Photo(nil), s.photos...)
}

// FailNext makes the next call of method fail with f; several calls queue
// several failures.
func (s *Server) FailNext(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f)
}

// Block makes every sendMessage, sendPhoto and sendChatAction to chatID fail with
// 403 "Forbidden: bot was blocked by the user".
func (s *Server) Block(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// WebhookURL returns the URL set with setWebhook, "" if none.
func (s *Server) WebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// AddUpdate queues an update (a JSON object) for getUpdates and returns
// its update_id: the one it carries, or the next in sequence.
func (s *Server) AddUpdate(update []byte) (int64, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(update, &obj); err != nil {
		return 0, fmt.Errorf("telegramtest: update is not a JSON object: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var id int64
	if raw, ok := obj["update_id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil {
			return 0, fmt.Errorf("telegramtest: update_id: %w", err)
		}
	} else {
		s.nextUpdate++
		id = s.nextUpdate
		obj["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
	}
	s.nextUpdate = max(s.nextUpdate, id)
	raw, err := json.Marshal(obj)
	if err != nil {
		return 0, fmt.Errorf("telegramtest: %w", err)
	}
	s.updates = append(s.updates, pending{id: id, raw: raw})
	sort.SliceStable(s.updates, func(i, j int) bool { return s.updates[i].id < s.updates[j].id })
	close(s.wake)
	s.wake = make(chan struct{})
	return id, nil
}

// Pending returns the ids of updates not yet confirmed by an offset.
func (s *Server) Pending() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, len(s.updates))
	for i, u := range s.updates {
		ids[i] = u.id
	}
	return ids
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" {
		writeError(w, Failure{Code: 404, Description: "Not Found"})
		return
	}
	if token != s.Token {
		writeError(w, Failure{Code: 401, Description: "Unauthorized"})
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, Failure{Code: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	call := Call{Method: method, Params: params}
	s.mu.Lock()
	if q := s.failures[method]; len(q) > 0 && q[0].After > 0 {
		q[0].After--
	} else if len(q) > 0 {
		f := q[0]
		s.failures[method] = q[1:]
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		writeError(w, f)
		return
	}
	s.mu.Unlock()

	var result any
	var fail *Failure
	switch method {
	case "getMe":
		result = s.me()
	case "sendMessage":
		result, fail = s.sendMessage(params)
	case "sendPhoto":
		result, fail = s.sendPhoto(params)
	case "sendChatAction":
		result, fail = s.sendChatAction(params)
	case "answerCallbackQuery":
		result, fail = s.answerCallbackQuery(params)
	case "setWebhook":
		result, fail = s.setWebhook(params)
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook = ""
		s.mu.Unlock()
		result = true
	case "getWebhookInfo":
		s.mu.Lock()
		result = map[string]any{"url": s.webhook, "has_custom_certificate": false, "pending_update_count": len(s.updates)}
		s.mu.Unlock()
	case "getUpdates":
		s.record(call)
		s.getUpdates(w, r, params)
		return
	default:
		fail = &Failure{Code: 404, Description: "Not Found: method not found"}
	}
	s.record(call)
	if fail != nil {
		writeError(w, *fail)
		return
	}
	writeResult(w, result)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) me() map[string]any {
	return map[string]any{
		"id": s.BotID, "is_bot": true, "first_name": "Carebot", "username": s.Username,
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
	}
}

func (s *Server) sendMessage(p map[string]string) (any, *Failure) {
	chat := p["chat_id"]
	switch {
	case chat == "":
		return nil, &Failure{Code: 400, Description: "Bad Request: chat_id is empty"}
	case p["text"] == "":
		return nil, &Failure{Code: 400, Description: "Bad Request: message text is empty"}
	case len(utf16.Encode([]rune(p["text"]))) > 4096:
		return nil, &Failure{Code: 400, Description: "Bad Request: message is too long"}
	}
	msg, _, f := s.accept(p, func() {
		s.sent = append(s.sent, Message{ChatID: chat, Text: p["text"], ReplyMarkup: p["reply_markup"]})
	})
	if f != nil {
		return nil, f
	}
	msg["text"] = p["text"]
	return msg, nil
}

// sendPhoto accepts a photo given as a URL or a file_id; an uploaded file
// (multipart attachment) is not supported. Telegram fetches URLs itself
// and answers 400 when it cannot: make it do so with FailNext.
func (s *Server) sendPhoto(p map[string]string) (any, *Failure) {
	chat, photo := p["chat_id"], p["photo"]
	switch {
	case chat == "":
		return nil, &Failure{Code: 400, Description: "Bad Request: chat_id is empty"}
	case photo == "":
		return nil, &Failure{Code: 400, Description: "Bad Request: there is no photo in the request"}
	case strings.Contains(photo, "://") && !strings.HasPrefix(photo, "http://") && !strings.HasPrefix(photo, "https://"),
		strings.ContainsAny(photo, " \t\n"):
		return nil, &Failure{Code: 400, Description: "Bad Request: wrong file identifier/HTTP URL specified"}
	case len(utf16.Encode([]rune(p["caption"]))) > 1024:
		return nil, &Failure{Code: 400, Description: "Bad Request: message caption is too long"}
	}
	msg, id, f := s.accept(p, func() {
		s.photos = append(s.photos, Photo{ChatID: chat, Photo: photo, Caption: p["caption"], ReplyMarkup: p["reply_markup"]})
	})
	if f != nil {
		return nil, f
	}
	msg["photo"] = []map[string]any{{"file_id": fmt.Sprintf("photo-%d", id), "file_unique_id": fmt.Sprintf("u%d", id), "width": 800, "height": 600}}
	if c := p["caption"]; c != "" {
		msg["caption"] = c
	}
	return msg, nil
}

// accept checks the chat and the reply markup of a message the bot sends
// and, when both pass, numbers the message and has keep record it (under
// the lock). It answers the Message object to complete and its id.
func (s *Server) accept(p map[string]string, keep func()) (map[string]any, int, *Failure) {
	chat := p["chat_id"]
	if f := s.checkChat(chat); f != nil {
		return nil, 0, f
	}
	if m := p["reply_markup"]; m != "" {
		if f := checkMarkup(m); f != nil {
			return nil, 0, f
		}
	}
	s.mu.Lock()
	s.nextMsg++
	id := s.nextMsg
	keep()
	s.mu.Unlock()
	return s.message(id, chat), id, nil
}

// message is the Message object of a message the bot sent to chat.
func (s *Server) message(id int, chat string) map[string]any {
	chatID, _ := strconv.ParseInt(chat, 10, 64)
	return map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": s.BotID, "is_bot": true, "first_name": "Carebot", "username": s.Username},
		"chat":       map[string]any{"id": chatID, "type": ChatType(chatID)},
		"date":       time.Now().Unix(),
	}
}

func (s *Server) checkChat(chat string) *Failure {
	if _, err := strconv.ParseInt(chat, 10, 64); err != nil && !strings.HasPrefix(chat, "@") {
		return &Failure{Code: 400, Description: "Bad Request: chat not found"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked[chat] {
		return &Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}
	}
	return nil
}

// checkMarkup checks an inline keyboard the way Telegram does.
func checkMarkup(markup string) *Failure {
	var m struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &m); err != nil {
		return &Failure{Code: 400, Description: "Bad Request: can't parse reply keyboard markup JSON object"}
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			var text, data string
			_ = json.Unmarshal(b["text"], &text)
			if text == "" {
				return &Failure{Code: 400, Description: "Bad Request: BUTTON_TEXT_EMPTY"}
			}
			if raw, ok := b["copy_text"]; ok {
				var ct struct {
					Text string `json:"text"`
				}
				if json.Unmarshal(raw, &ct) != nil || ct.Text == "" {
					return &Failure{Code: 400, Description: "Bad Request: BUTTON_COPY_TEXT_INVALID"}
				}
			}
			if raw, ok := b["callback_data"]; ok {
				_ = json.Unmarshal(raw, &data)
				if len(data) == 0 || len(data) > 64 {
					return &Failure{Code: 400, Description: "Bad Request: BUTTON_DATA_INVALID"}
				}
			}
			if raw, ok := b["url"]; ok {
				var link string
				_ = json.Unmarshal(raw, &link)
				u, err := url.Parse(link)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") || (u.Scheme != "tg" && u.Host == "") {
					return &Failure{Code: 400, Description: "Bad Request: BUTTON_URL_INVALID"}
				}
			}
			actions := 0
			for _, k := range []string{"callback_data", "url", "copy_text", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game", "pay"} {
				if _, ok := b[k]; ok {
					actions++
				}
			}
			if actions != 1 {
				return &Failure{Code: 400, Description: "Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used"}
			}
		}
	}
	return nil
}

func (s *Server) sendChatAction(p map[string]string) (any, *Failure) {
	if p["chat_id"] == "" {
		return nil, &Failure{Code: 400, Description: "Bad Request: chat_id is empty"}
	}
	if p["action"] == "" {
		return nil, &Failure{Code: 400, Description: "Bad Request: action is empty"}
	}
	if f := s.checkChat(p["chat_id"]); f != nil {
		return nil, f
	}
	return true, nil
}

func (s *Server) answerCallbackQuery(p map[string]string) (any, *Failure) {
	id := p["callback_query_id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || s.answered[id] {
		return nil, &Failure{Code: 400, Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
	}
	s.answered[id] = true
	return true, nil
}

var secretTokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(p map[string]string) (any, *Failure) {
	u := p["url"]
	if u != "" && !strings.HasPrefix(u, "https://") {
		return nil, &Failure{Code: 400, Description: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}
	}
	if t := p["secret_token"]; t != "" && !secretTokenRe.MatchString(t) {
		return nil, &Failure{Code: 400, Description: "Bad Request: secret token contains unallowed characters"}
	}
	s.mu.Lock()
	s.webhook = u
	s.mu.Unlock()
	return true, nil
}

// getUpdates confirms updates below offset, then answers the pending ones,
// waiting up to timeout seconds for one to arrive.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string) {
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	timeout, _ := strconv.Atoi(p["timeout"])
	limit, _ := strconv.Atoi(p["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.webhook != "" {
			s.mu.Unlock()
			writeError(w, Failure{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})
			return
		}
		if offset > 0 {
			kept := s.updates[:0]
			for _, u := range s.updates {
				if u.id >= offset {
					kept = append(kept, u)
				}
			}
			s.updates = kept
		}
		var batch []json.RawMessage
		for _, u := range s.updates {
			if len(batch) == limit {
				break
			}
			batch = append(batch, u.raw)
		}
		wake := s.wake
		s.mu.Unlock()
		if len(batch) > 0 || timeout <= 0 {
			if batch == nil {
				batch = []json.RawMessage{}
			}
			writeResult(w, batch)
			return
		}
		select {
		case <-wake:
		case <-deadline.C:
			timeout = 0
		case <-r.Context().Done():
			return
		case <-s.closing:
			timeout = 0
		}
	}
}

// readParams reads parameters the ways Telegram accepts them: query
// string, urlencoded or multipart form, or a JSON object.
func readParams(r *http.Request) (map[string]string, error) {
	out := make(map[string]string)
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return out, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return nil, fmt.Errorf("can't read request")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		// The SDK sends a bare multipart header for methods without
		// parameters (getMe); Telegram accepts it.
		return out, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(raw)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return nil, fmt.Errorf("can't parse multipart form")
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = v[0]
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("can't parse form")
		}
		for k, v := range r.PostForm {
			out[k] = v[0]
		}
	}
	return out, nil
}

func writeResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, f Failure) {
	body := map[string]any{"ok": false, "error_code": f.Code, "description": f.Description}
	params := map[string]any{}
	if f.RetryAfter > 0 {
		params["retry_after"] = f.RetryAfter
	}
	if f.MigrateToChatID != 0 {
		params["migrate_to_chat_id"] = f.MigrateToChatID
	}
	if len(params) > 0 {
		body["parameters"] = params
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Code)
	_ = json.NewEncoder(w).Encode(body)
}

// ChatType is the type Telegram gives a chat id: positive ids are private
// chats, -100… ids supergroups, other negative ids basic groups.
func ChatType(id int64) string {
	switch {
	case id > 0:
		return "private"
	case id <= -1000000000000:
		return "supergroup"
	}
	return "group"
}
