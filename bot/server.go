package bot

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/carebot/carebot/knowledge"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
	"github.com/carebot/carebot/web"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns carebot's HTTP routes:
//
//	GET  /                      the web chat page (and its assets)
//	     /api/v1/webchat/…      the web chat API (when webchat.enabled)
//	GET  /api/v1/admin/backup   a consistent copy of the database (admin token)
//	GET  /api/v1/admin/kb/unanswered?limit=N   questions the bot could not answer
//	POST /api/v1/admin/kb/questions            add a question to an entry
//	POST /api/v1/admin/kb/reload               reload the knowledge base files
//	GET  /healthz               the process is up
//	GET  /readyz                the database is open and the outbox worker alive
//	GET  /metrics               Prometheus metrics
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", a.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/admin/backup", a.requireAdmin(a.handleBackup))
	mux.HandleFunc("GET /api/v1/admin/kb/unanswered", a.requireAdmin(a.handleUnanswered))
	mux.HandleFunc("POST /api/v1/admin/kb/questions", a.requireAdmin(a.handleAddQuestion))
	mux.HandleFunc("POST /api/v1/admin/kb/reload", a.requireAdmin(a.handleReload))
	a.ticketRoutes(mux)
	a.agentRoutes(mux)
	a.broadcastRoutes(mux)
	a.careRoutes(mux)
	a.kbRoutes(mux)
	a.dashboardRoutes(mux)
	if a.loyalty != nil {
		a.segmentRoutes(mux)
	}
	for _, p := range a.platforms {
		mux.Handle("POST "+p.path, p.handler)
		mux.Handle("GET "+p.path, p.handler) // WeChat and WeCom verify the URL with a GET
	}
	if a.loyalty != nil {
		a.loyaltyRoutes(mux)
	}
	if a.webchat != nil {
		mux.Handle("/api/v1/webchat/", a.webchat.Handler())
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	mux.Handle("/", pageHeaders(http.FileServerFS(web.Static())))
	return recoverer(a.log, mux)
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (a *App) handleReady(w http.ResponseWriter, _ *http.Request) {
	res := readiness{Status: "ready", Checks: map[string]string{"database": "ok", "outbox": "ok"}}
	if err := a.store.View(func(store.Tx) error { return nil }); err != nil {
		res.Status, res.Checks["database"] = "not ready", err.Error()
	}
	if !a.outbox.Alive() {
		res.Status, res.Checks["outbox"] = "not ready", "worker not running"
	}
	status := http.StatusOK
	if res.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

// requireAdmin lets a request through only with "Authorization: Bearer
// <admin token>", compared in constant time.
func (a *App) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(a.admin)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebot admin"`)
			writeError(w, http.StatusUnauthorized, "admin token required")
			return
		}
		next(w, r)
	}
}

func (a *App) handleBackup(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="carebot-%s.db"`, a.now().UTC().Format("20060102-150405")))
	if _, err := a.store.Backup(w); err != nil {
		// Headers are gone; the client sees a truncated body and must not
		// trust it. The CLI checks the copy opens before keeping it.
		a.log.Error("backup failed", "err", err)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSONStatus(w, status, map[string]string{"error": msg})
}

// pageHeaders adds browser security headers to the web pages: scripts,
// styles and connections only from this origin.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic in a handler into a 500 and a log line, so one
// bad request cannot take the server down.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal error")
				return
			}
			log.Debug("request", "method", r.Method, "path", r.URL.Path, "duration", time.Since(start))
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *App) handleUnanswered(w http.ResponseWriter, r *http.Request) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	list, err := a.Unanswered(limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if list == nil {
		list = []knowledge.UnansweredStat{}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"unanswered": list})
}

type addQuestionRequest struct {
	Entry  string `json:"entry"`
	Text   string `json:"text"`
	Locale string `json:"locale"`
	By     string `json:"by"`
}

func (a *App) handleAddQuestion(w http.ResponseWriter, r *http.Request) {
	var req addQuestionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Entry == "" || strings.TrimSpace(req.Text) == "" {
		writeError(w, http.StatusBadRequest, `fields "entry" and "text" are required`)
		return
	}
	if _, ok := a.Knowledge().Entry(req.Entry); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no entry %q", req.Entry))
		return
	}
	add, added, err := a.AddQuestion(req.Entry, req.Locale, req.Text, req.By)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"entry": req.Entry, "locale": add.Locale, "text": add.Text, "added": added})
}

func (a *App) handleReload(w http.ResponseWriter, _ *http.Request) {
	if err := a.ReloadKnowledge("admin API"); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"entries": a.Knowledge().Len()})
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxAPIBody bounds the JSON body of API requests.
const maxAPIBody = 64 << 10

// decodeBody decodes r's JSON body into v, refusing unknown fields and
// bodies over maxAPIBody. On failure it has written the error (400 or 413)
// and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}
