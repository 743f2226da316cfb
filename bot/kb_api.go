package bot

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/store"
)

// kbRoutes registers the knowledge base API of the manager console (the
// admin token, or a manager or admin account). Writes are checked with the
// rules of 'carebot kb lint', stored in the database (the knowledge base
// files are never written) and live for the next customer message.
//
//	GET    /api/v1/kb/entries?q=&limit=        → {"entries":[{id,questions,counts,source,version,tags}],"total"}
//	GET    /api/v1/kb/entries/{id}             → {"entry","version","source"}
//	POST   /api/v1/kb/entries                  {"entry"} → 201 {"entry","version","source","warnings"}
//	PUT    /api/v1/kb/entries/{id}             {"entry","version"} → {"entry","version","source","warnings"}
//	DELETE /api/v1/kb/entries/{id}?version=N   → {"id","version","deleted":true}
//	GET    /api/v1/kb/entries/{id}/history     → {"versions"}, newest first; version 0 is the files' text
//	POST   /api/v1/kb/entries/{id}/restore     {"version"[,"current"]} → like PUT
//	POST   /api/v1/kb/try                      {"text","locale"} → {"outcome","matches","answer","thresholds"}
//	GET    /api/v1/kb/unanswered?limit=N       → {"unanswered"}, as the admin route
//	POST   /api/v1/kb/unanswered/add           {"text","entry","locale"} → {"entry","locale","text","added","version"}
//
// A write on a version that is no longer the entry's current one is
// refused with 409 and the current version; a change that would give the
// knowledge base errors with 422 and {"error","problems"}.
func (a *App) kbRoutes(mux *http.ServeMux) {
	manager := a.loyaltyAuth(handoff.RoleManager)
	mux.HandleFunc("GET /api/v1/kb/entries", manager(a.handleKBList))
	mux.HandleFunc("POST /api/v1/kb/entries", manager(a.handleKBCreate))
	mux.HandleFunc("GET /api/v1/kb/entries/{id}", manager(a.handleKBGet))
	mux.HandleFunc("PUT /api/v1/kb/entries/{id}", manager(a.handleKBUpdate))
	mux.HandleFunc("DELETE /api/v1/kb/entries/{id}", manager(a.handleKBDelete))
	mux.HandleFunc("GET /api/v1/kb/entries/{id}/history", manager(a.handleKBHistory))
	mux.HandleFunc("POST /api/v1/kb/entries/{id}/restore", manager(a.handleKBRestore))
	mux.HandleFunc("POST /api/v1/kb/try", manager(a.handleKBTry))
	mux.HandleFunc("GET /api/v1/kb/unanswered", manager(func(w http.ResponseWriter, r *http.Request, _ handoff.Account) { a.handleUnanswered(w, r) }))
	mux.HandleFunc("POST /api/v1/kb/unanswered/add", manager(a.handleKBAddUnanswered))
}

// kbEntry is an entry as the API reads and writes it; knowledge.Entry
// only has the YAML names.
type kbEntry struct {
	ID        string              `json:"id"`
	Tags      []string            `json:"tags,omitempty"`
	Questions map[string][]string `json:"questions"`
	Answer    map[string]string   `json:"answer"`
	Buttons   []kbButton          `json:"buttons,omitempty"`
	Image     string              `json:"image,omitempty"`
}

type kbButton struct {
	Label   map[string]string `json:"label"`
	Payload string            `json:"payload,omitempty"`
	URL     string            `json:"url,omitempty"`
}

func toKBEntry(e *knowledge.Entry) *kbEntry {
	if e == nil {
		return nil
	}
	out := &kbEntry{ID: e.ID, Tags: e.Tags, Questions: e.Questions, Answer: e.Answer, Image: e.Image}
	if out.Questions == nil {
		out.Questions = map[string][]string{}
	}
	if out.Answer == nil {
		out.Answer = map[string]string{}
	}
	for _, b := range e.Buttons {
		out.Buttons = append(out.Buttons, kbButton{Label: b.Label, Payload: b.Payload, URL: b.URL})
	}
	return out
}

func (e *kbEntry) entry() *knowledge.Entry {
	out := &knowledge.Entry{ID: e.ID, Tags: e.Tags, Questions: e.Questions, Answer: e.Answer, Image: e.Image}
	for _, b := range e.Buttons {
		out.Buttons = append(out.Buttons, knowledge.Button{Label: b.Label, Payload: b.Payload, URL: b.URL})
	}
	return out
}

// kbSummary is one line of the entry list.
type kbSummary struct {
	ID string `json:"id"`
	// Questions is the first (standard) question per locale.
	Questions map[string]string `json:"questions"`
	// Counts is the number of questions per locale.
	Counts  map[string]int `json:"counts"`
	Tags    []string       `json:"tags,omitempty"`
	Source  string         `json:"source"`
	Version uint64         `json:"version"`
}

// EditKnowledge makes change c to the knowledge base (knowledge.Apply:
// checked, stored with its history) and makes the result live at once.
// It holds the reload lock, so edits, reloads and the file watcher take
// turns; conversations go on with the old knowledge base meanwhile.
func (a *App) EditKnowledge(c knowledge.Change) (*knowledge.Result, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	files, err := KnowledgeEntries(a.cfg.Knowledge.Dir)
	if err != nil {
		return nil, err
	}
	if c.At.IsZero() {
		c.At = a.now()
	}
	res, err := knowledge.Apply(a.store, files, a.indexKnowledge, a.Knowledge(), c)
	if err != nil {
		return nil, err
	}
	if res.Base == nil {
		return res, nil
	}
	if c.ID == "" && res.Entry != nil {
		c.ID = res.Entry.ID // a create names the entry in its text
	}
	if err := a.router.SetKnowledge(res.Base); err != nil {
		// Stored but not live: the next reload retries; say so rather than
		// pretend customers see it.
		a.log.Error("knowledge base edit stored but not made live", "entry", c.ID, "err", err)
		return res, fmt.Errorf("%s %s: stored, but the bot keeps the previous knowledge base: %w", c.Action, c.ID, err)
	}
	a.log.Info("knowledge base edited", "action", c.Action, "entry", c.ID, "version", res.Version, "by", c.By, "summary", res.Record.Summary, "entries", res.Base.Len())
	return res, nil
}

// kbFiles loads the knowledge base files, answering 503 when they do not
// load: without them no entry can be told apart or checked.
func (a *App) kbFiles(w http.ResponseWriter) ([]knowledge.Entry, bool) {
	files, err := KnowledgeEntries(a.cfg.Knowledge.Dir)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the knowledge base files do not load (fix them first): "+err.Error())
		return nil, false
	}
	return files, true
}

func (a *App) handleKBList(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	files, ok := a.kbFiles(w)
	if !ok {
		return
	}
	var all []knowledge.Info
	if err := a.store.View(func(tx store.Tx) error {
		all, err = knowledge.Catalog(tx, files)
		return err
	}); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []kbSummary{}
	total := 0
	for _, in := range all {
		if q != "" && !entryMatches(in.Entry, q) {
			continue
		}
		total++
		if len(out) >= limit {
			continue
		}
		s := kbSummary{ID: in.Entry.ID, Questions: map[string]string{}, Counts: map[string]int{}, Tags: in.Entry.Tags, Source: in.Source, Version: in.Version}
		for l, qs := range in.Entry.Questions {
			if len(qs) > 0 {
				s.Questions[l] = qs[0]
				s.Counts[l] = len(qs)
			}
		}
		out = append(out, s)
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"entries": out, "total": total})
}

// entryMatches reports whether lower-case q is in e's id, tags, questions
// or answers; the list is filtered by plain text, so that a manager finds
// exactly what was typed.
func entryMatches(e *knowledge.Entry, q string) bool {
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), q) }
	if has(e.ID) {
		return true
	}
	for _, t := range e.Tags {
		if has(t) {
			return true
		}
	}
	for _, qs := range e.Questions {
		for _, s := range qs {
			if has(s) {
				return true
			}
		}
	}
	for _, s := range e.Answer {
		if has(s) {
			return true
		}
	}
	return false
}

func (a *App) handleKBGet(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	id := r.PathValue("id")
	files, ok := a.kbFiles(w)
	if !ok {
		return
	}
	var in knowledge.Info
	var found bool
	err := a.store.View(func(tx store.Tx) error {
		var err error
		in, found, err = knowledge.Lookup(tx, files, id)
		return err
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no entry %q", id))
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"entry": toKBEntry(in.Entry), "version": in.Version, "source": in.Source})
}

type kbWriteRequest struct {
	Entry   *kbEntry `json:"entry"`
	Version *uint64  `json:"version"`
}

func (a *App) handleKBCreate(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req kbWriteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Entry == nil {
		writeError(w, http.StatusBadRequest, `field "entry" is required`)
		return
	}
	res, err := a.EditKnowledge(knowledge.Change{Action: knowledge.ActionCreate, Entry: req.Entry.entry(), By: who.Name})
	a.writeKBResult(w, http.StatusCreated, res, err)
}

func (a *App) handleKBUpdate(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req kbWriteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Entry == nil || req.Version == nil {
		writeError(w, http.StatusBadRequest, `fields "entry" and "version" (the version the edit was made on) are required`)
		return
	}
	res, err := a.EditKnowledge(knowledge.Change{Action: knowledge.ActionUpdate, ID: r.PathValue("id"), Entry: req.Entry.entry(), Version: *req.Version, By: who.Name})
	a.writeKBResult(w, http.StatusOK, res, err)
}

func (a *App) handleKBDelete(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	v, err := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "query parameter version (the version being deleted) is required")
		return
	}
	id := r.PathValue("id")
	res, err := a.EditKnowledge(knowledge.Change{Action: knowledge.ActionDelete, ID: id, Version: v, By: who.Name})
	if err != nil {
		a.writeKBResult(w, http.StatusOK, res, err)
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"id": id, "version": res.Version, "deleted": true})
}

type kbRestoreRequest struct {
	// Version is the version to bring back.
	Version *uint64 `json:"version"`
	// Current, when given, is the version the manager saw as current; the
	// restore is refused if the entry changed since.
	Current *uint64 `json:"current"`
}

func (a *App) handleKBRestore(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req kbRestoreRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Version == nil {
		writeError(w, http.StatusBadRequest, `field "version" (the version to restore) is required`)
		return
	}
	c := knowledge.Change{Action: knowledge.ActionRestore, ID: r.PathValue("id"), Restore: *req.Version, AnyVersion: req.Current == nil, By: who.Name}
	if req.Current != nil {
		c.Version = *req.Current
	}
	res, err := a.EditKnowledge(c)
	a.writeKBResult(w, http.StatusOK, res, err)
}

// writeKBResult answers a write: the entry, its version and warnings, or
// the error with its status.
func (a *App) writeKBResult(w http.ResponseWriter, status int, res *knowledge.Result, err error) {
	var invalid *knowledge.ValidationError
	var conflict *knowledge.ConflictError
	switch {
	case errors.As(err, &invalid):
		writeJSONStatus(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "problems": invalid.Problems})
		return
	case errors.As(err, &conflict):
		// The current version lets the console say what happened and
		// offer to load the entry again.
		writeJSONStatus(w, http.StatusConflict, map[string]any{"error": err.Error(), "version": conflict.Current})
		return
	case errors.Is(err, knowledge.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		// A store failure, files that do not load, or a change stored but
		// not made live (EditKnowledge logged it).
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	warnings := res.Warnings
	if warnings == nil {
		warnings = []knowledge.LintProblem{}
	}
	writeJSONStatus(w, status, map[string]any{"entry": toKBEntry(res.Entry), "version": res.Version, "source": res.Source,
		"warnings": warnings, "summary": res.Record.Summary, "unchanged": res.Noop})
}

func (a *App) handleKBHistory(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	id := r.PathValue("id")
	files, ok := a.kbFiles(w)
	if !ok {
		return
	}
	var versions []knowledge.Version
	err := a.store.View(func(tx store.Tx) error {
		var err error
		versions, err = knowledge.History(tx, files, id)
		return err
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(versions) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no entry %q", id))
		return
	}
	type version struct {
		knowledge.Version
		Entry *kbEntry `json:"entry,omitempty"`
	}
	out := make([]version, len(versions))
	for i, v := range versions {
		out[i] = version{Version: v, Entry: toKBEntry(v.Entry)}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"id": id, "versions": out})
}

// maxTryText bounds the text of POST /api/v1/kb/try.
const maxTryText = 1000

type kbTryRequest struct {
	Text   string `json:"text"`
	Locale string `json:"locale"`
}

type kbTryMatch struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
	// Question is the entry's question that matched best.
	Question string `json:"question"`
	// Standard is the entry's standard question in the locale.
	Standard string `json:"standard"`
}

// handleKBTry answers what the FAQ step of the bot would do with a
// question on the live knowledge base: the three best entries and the
// outcome, with the thresholds that decided it. Steps before the FAQ
// (greetings, an upset customer handed to a person) are not tried.
func (a *App) handleKBTry(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	var req kbTryRequest
	if !decodeBody(w, r, &req) {
		return
	}
	text := strings.TrimSpace(strings.ToValidUTF8(req.Text, ""))
	if text == "" || utf8.RuneCountInString(text) > maxTryText {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`field "text" must be 1 to %d characters`, maxTryText))
		return
	}
	locale := req.Locale
	if locale == "" {
		locale = segment.DetectLocale(text)
	}
	kb := a.Knowledge()
	matches := []kbTryMatch{}
	for _, m := range kb.Search(text, 3) {
		matches = append(matches, kbTryMatch{ID: m.Entry.ID, Score: m.Score, Question: m.Question, Standard: m.Entry.StandardQuestion(locale)})
	}
	d := kb.Decide(text, a.cfg.Knowledge.Suggestions)
	out := map[string]any{
		"outcome": d.Outcome,
		"locale":  locale,
		"matches": matches,
		"thresholds": map[string]any{
			"min_score":     kb.MinScore(),
			"clarify_score": kb.ClarifyScore(),
			"margin":        a.cfg.Knowledge.Margin, // 0: off
			"suggestions":   a.cfg.Knowledge.Suggestions,
		},
	}
	switch d.Outcome {
	case knowledge.OutcomeAnswer:
		e := d.Matches[0].Entry
		out["answer"] = map[string]any{"id": e.ID, "text": e.AnswerFor(locale)}
	case knowledge.OutcomeClarify:
		choices := make([]string, len(d.Matches))
		for i, m := range d.Matches {
			choices[i] = m.Entry.ID
		}
		out["choices"] = choices
	}
	writeJSONStatus(w, http.StatusOK, out)
}

type kbAddUnansweredRequest struct {
	Text   string `json:"text"`
	Entry  string `json:"entry"`
	Locale string `json:"locale"`
}

// handleKBAddUnanswered adds a question from the unanswered list to an
// entry, as the admin route does (App.AddQuestion), recording the manager.
func (a *App) handleKBAddUnanswered(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req kbAddUnansweredRequest
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
	add, added, err := a.AddQuestion(req.Entry, req.Locale, req.Text, who.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var version uint64
	if err := a.store.View(func(tx store.Tx) error {
		l, err := knowledge.ReadLayers(tx)
		version = l.Version(req.Entry)
		return err
	}); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"entry": req.Entry, "locale": add.Locale, "text": add.Text, "added": added, "version": version})
}
