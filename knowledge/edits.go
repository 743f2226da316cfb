package knowledge

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/store"
)

// Entries edited in the manager console live in the database, like the
// questions added from the unanswered list (additions.go), so that a
// community manager never rewrites a file an operator owns and the
// embedded demo can be edited too.
var (
	// bucketEdits holds the current Edit of every entry changed in the
	// database, entry id → Edit.
	bucketEdits = store.RegisterBucket("knowledge", "knowledge_edits")
	// bucketHistory keeps every change, Prefix(entry id) + U64(version) →
	// Version, so an entry's history is one prefix scan, newest first in
	// reverse.
	bucketHistory = store.RegisterBucket("knowledge", "knowledge_history")
)

// The actions of a Version. ActionFile only names the synthetic version 0
// History returns for an entry of the files: it is never stored.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionDelete  = "delete"
	ActionRestore = "restore"
	ActionFile    = "file"
)

// Where an entry of the merged knowledge base comes from.
const (
	SourceFile    = "file"    // the knowledge base files, unedited
	SourceEdited  = "edited"  // the files' entry, replaced in the database
	SourceNew     = "new"     // created in the database
	SourceDeleted = "deleted" // deleted in the database (kept for restoring)
)

// maxAnswerLen bounds an answer written in the console, in characters:
// chat platforms cut longer messages (Telegram at 4096).
const maxAnswerLen = 4000

var (
	// ErrConflict refuses a change made to a version of the entry that is
	// no longer the current one: someone else changed it in between.
	ErrConflict = errors.New("the entry was changed by someone else since it was read")
	// ErrNotFound is a change to an entry the knowledge base does not have.
	ErrNotFound = errors.New("no such entry")
)

// ConflictError is ErrConflict with the versions involved.
type ConflictError struct {
	Action, ID string
	// Version is the version the change was made on, Current the entry's
	// version now.
	Version, Current uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s: made on version %d, but it is now version %d: %v", e.Action, e.ID, e.Version, e.Current, ErrConflict)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ValidationError refuses a change that would give the knowledge base
// errors (see Plan.Check).
type ValidationError struct {
	Problems []LintProblem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Entry + ": " + p.Message
	}
	return "knowledge base change refused: " + strings.Join(msgs, "; ")
}

// Edit is the stored state of an entry changed in the database.
type Edit struct {
	// Version is the entry's version when the edit was made (see
	// Layers.Version).
	Version uint64 `json:"version"`
	// Entry replaces the files' entry of the same id, or adds an entry.
	// Nil means the files' entry applies again (version 0 restored).
	Entry *Entry `json:"entry,omitempty"`
	// Deleted hides the entry; Entry keeps its last text for restoring.
	Deleted bool      `json:"deleted,omitempty"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
}

// Version is one change in an entry's history.
type Version struct {
	Version uint64    `json:"version"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	Action  string    `json:"action"`
	// Entry is the entry after the change; nil for a delete.
	Entry *Entry `json:"entry,omitempty"`
	// Summary says what changed, for people: "+2 questions (zh-Hans),
	// answer en changed".
	Summary string `json:"summary"`
}

// Layers are what the database puts over the knowledge base files: edited
// entries, then questions added from the unanswered list.
type Layers struct {
	Edits     map[string]Edit
	Additions map[string][]Addition
}

// ReadLayers reads the edits and the added questions.
func ReadLayers(tx store.Tx) (Layers, error) {
	l := Layers{Edits: map[string]Edit{}}
	err := tx.Scan(bucketEdits, nil, func(k, v []byte) error {
		var e Edit
		if err := store.DecodeJSON(v, &e); err != nil {
			return fmt.Errorf("edit of %s: %w", k, err)
		}
		l.Edits[string(k)] = e
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("read knowledge base edits: %w", err)
	}
	if l.Additions, err = Additions(tx); err != nil {
		return l, fmt.Errorf("read knowledge base additions: %w", err)
	}
	return l, nil
}

// Merge is the knowledge base the bot answers from: the files, with the
// edits applied (WithEdits), then the added questions (WithAdditions). It
// is the one place the layers are combined, for the live knowledge base
// and for checking a change alike. It returns the ids of additions whose
// entry is gone.
func (l Layers) Merge(files []Entry) ([]Entry, []string) {
	return WithAdditions(WithEdits(files, l.Edits), l.Additions)
}

// Version is the version of entry id: it counts every change to the entry
// since the files, edits and questions added from the unanswered list
// alike, so that an edit based on an entry read before a question was
// added is refused rather than dropping that question. Saving an edit
// folds the added questions into it, and its version continues the count.
func (l Layers) Version(id string) uint64 {
	return l.Edits[id].Version + uint64(len(l.Additions[id]))
}

// Source tells where entry id comes from; inFiles says whether the files
// have it.
func (l Layers) Source(id string, inFiles bool) string {
	e, edited := l.Edits[id]
	switch {
	case edited && e.Deleted:
		return SourceDeleted
	case edited && e.Entry != nil && inFiles:
		return SourceEdited
	case edited && e.Entry != nil:
		return SourceNew
	}
	return SourceFile
}

// WithEdits returns entries with the edits applied: an edited entry
// replaces the files' entry in place, a deleted one is left out, and
// entries created in the database follow the files' entries in the order
// they were created.
func WithEdits(entries []Entry, edits map[string]Edit) []Entry {
	out := make([]Entry, 0, len(entries)+len(edits))
	inFiles := make(map[string]bool, len(entries))
	for i := range entries {
		e := &entries[i]
		inFiles[e.ID] = true
		ed, ok := edits[e.ID]
		switch {
		case ok && ed.Deleted:
			continue
		case ok && ed.Entry != nil:
			out = append(out, cloneEntry(ed.Entry))
		default:
			out = append(out, cloneEntry(e))
		}
	}
	var added []string
	for id, ed := range edits {
		if !inFiles[id] && !ed.Deleted && ed.Entry != nil {
			added = append(added, id)
		}
	}
	slices.SortFunc(added, func(a, b string) int {
		if c := edits[a].At.Compare(edits[b].At); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, id := range added {
		e := cloneEntry(edits[id].Entry)
		e.ID = id
		out = append(out, e)
	}
	return out
}

// Info is one entry of the merged knowledge base as the console lists it.
type Info struct {
	// Entry is the entry with its added questions; for a deleted entry,
	// its last text.
	Entry   *Entry
	Version uint64
	Source  string
}

// Catalog lists the merged knowledge base's entries in its order, then
// the deleted ones by id.
func Catalog(tx store.Tx, files []Entry) ([]Info, error) {
	l, err := ReadLayers(tx)
	if err != nil {
		return nil, err
	}
	merged, _ := l.Merge(files)
	inFiles := fileIDs(files)
	out := make([]Info, 0, len(merged))
	for i := range merged {
		e := &merged[i]
		out = append(out, Info{Entry: e, Version: l.Version(e.ID), Source: l.Source(e.ID, inFiles[e.ID])})
	}
	var deleted []string
	for id, ed := range l.Edits {
		if ed.Deleted && ed.Entry != nil {
			deleted = append(deleted, id)
		}
	}
	slices.Sort(deleted)
	for _, id := range deleted {
		e := cloneEntry(l.Edits[id].Entry)
		out = append(out, Info{Entry: &e, Version: l.Version(id), Source: SourceDeleted})
	}
	return out, nil
}

// Lookup returns entry id as Catalog lists it.
func Lookup(tx store.Tx, files []Entry, id string) (Info, bool, error) {
	all, err := Catalog(tx, files)
	if err != nil {
		return Info{}, false, err
	}
	for _, in := range all {
		if in.Entry.ID == id {
			return in, true, nil
		}
	}
	return Info{}, false, nil
}

// History lists the versions of entry id, newest first. When the files
// have the entry, the last is version 0, its text there (ActionFile);
// restoring it makes the files' entry apply again.
func History(tx store.Tx, files []Entry, id string) ([]Version, error) {
	var out []Version
	err := tx.ScanReverse(bucketHistory, store.Prefix(id), func(k, v []byte) error {
		var rec Version
		if err := store.DecodeJSON(v, &rec); err != nil {
			return fmt.Errorf("version %d: %w", store.ParseU64(k[len(k)-8:]), err)
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	if f := fileEntry(files, id); f != nil {
		out = append(out, Version{Action: ActionFile, Entry: f, Summary: "as in the knowledge base files"})
	}
	return out, nil
}

func historyKey(id string, version uint64) []byte {
	return append(store.Prefix(id), store.U64(version)...)
}

func fileIDs(files []Entry) map[string]bool {
	out := make(map[string]bool, len(files))
	for i := range files {
		out[files[i].ID] = true
	}
	return out
}

func fileEntry(files []Entry, id string) *Entry {
	for i := range files {
		if files[i].ID == id {
			e := cloneEntry(&files[i])
			return &e
		}
	}
	return nil
}

// Change is one change to the knowledge base.
type Change struct {
	// Action is ActionCreate, ActionUpdate, ActionDelete or ActionRestore.
	Action string
	// ID is the entry changed; for a create it may be left empty and is
	// then Entry.ID.
	ID string
	// Entry is the whole new text of the entry (create, update).
	Entry *Entry
	// Version is the entry's version the change was made on (update,
	// delete, and restore unless AnyVersion); a different current version
	// refuses the change with ErrConflict.
	Version uint64
	// AnyVersion lets a restore through whatever the current version.
	AnyVersion bool
	// Restore is the version a restore brings back; 0 is the files' text.
	Restore uint64
	By      string
	At      time.Time
}

// Plan is a change worked out against the stored knowledge base, not yet
// checked or stored. PlanChange makes one; Check validates it; Commit
// stores it.
type Plan struct {
	Change Change
	// Before and After are the merged knowledge base without and with the
	// change.
	Before, After []Entry
	// Entry is the entry after the change (nil after a delete), Version its
	// version and Source where it comes from then.
	Entry   *Entry
	Version uint64
	Source  string
	// Record is the history record Commit adds.
	Record Version
	// Noop is set when the change changes nothing: Commit stores nothing.
	Noop bool
	prev uint64
	edit Edit
}

// PlanChange works c out against the layers stored in tx over the files.
// It refuses with ErrNotFound, ErrConflict or a *ValidationError (an id
// that is taken or changed) what can be told without building the index.
func PlanChange(tx store.Tx, files []Entry, c Change) (*Plan, error) {
	l, err := ReadLayers(tx)
	if err != nil {
		return nil, err
	}
	before, _ := l.Merge(files)
	if c.Action == ActionCreate && c.ID == "" && c.Entry != nil {
		c.ID = clean(c.Entry.ID)
	}
	id := c.ID
	var cur *Entry
	for i := range before {
		if before[i].ID == id {
			cur = &before[i]
			break
		}
	}
	p := &Plan{Change: c, Before: before, prev: l.Version(id)}
	p.Version = p.prev + 1
	p.edit = Edit{Version: p.Version, By: c.By, At: c.At}
	p.Record = Version{Version: p.Version, By: c.By, At: c.At, Action: c.Action}
	checkVersion := func() error {
		if c.Version != p.prev {
			return &ConflictError{Action: c.Action, ID: id, Version: c.Version, Current: p.prev}
		}
		return nil
	}
	switch c.Action {
	case ActionCreate:
		if c.Entry == nil {
			return nil, fmt.Errorf("create: no entry given")
		}
		e := cleanEntry(c.Entry)
		e.ID = id
		if cur != nil {
			return nil, &ValidationError{[]LintProblem{{LintError, "duplicate-id", id, fmt.Sprintf("id %q is taken by another entry", id)}}}
		}
		p.Entry = &e
		p.edit.Entry = &e
		p.Record.Summary = "new entry: " + describeNew(&e)
	case ActionUpdate:
		if c.Entry == nil {
			return nil, fmt.Errorf("update %s: no entry given", id)
		}
		if cur == nil {
			return nil, fmt.Errorf("update %s: %w", id, ErrNotFound)
		}
		if err := checkVersion(); err != nil {
			return nil, err
		}
		e := cleanEntry(c.Entry)
		if e.ID == "" {
			e.ID = id
		}
		if e.ID != id {
			return nil, &ValidationError{[]LintProblem{{LintError, "id-changed", id,
				fmt.Sprintf("the id cannot change (%q → %q): create a new entry and delete this one", id, e.ID)}}}
		}
		old := cleanEntry(cur)
		if sameEntry(&old, &e) {
			return noop(p, l, files, cur), nil
		}
		p.Entry = &e
		p.edit.Entry = &e
		p.Record.Summary = summarize(&old, &e)
	case ActionDelete:
		if cur == nil {
			return nil, fmt.Errorf("delete %s: %w", id, ErrNotFound)
		}
		if err := checkVersion(); err != nil {
			return nil, err
		}
		last := cloneEntry(cur)
		p.edit.Entry = &last
		p.edit.Deleted = true
		p.Record.Summary = "deleted"
	case ActionRestore:
		if !c.AnyVersion {
			if err := checkVersion(); err != nil {
				return nil, err
			}
		}
		target, err := restoreTarget(tx, files, id, c.Restore)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			old := cleanEntry(cur)
			if sameEntry(&old, target) && (c.Restore != 0 || l.Edits[id].Entry == nil) {
				return noop(p, l, files, cur), nil
			}
			p.Record.Summary = fmt.Sprintf("restored version %d: %s", c.Restore, summarize(&old, target))
		} else {
			p.Record.Summary = fmt.Sprintf("restored version %d (was deleted)", c.Restore)
		}
		p.Entry = target
		if c.Restore != 0 {
			p.edit.Entry = target
		}
	default:
		return nil, fmt.Errorf("change %s: unknown action %q", id, c.Action)
	}
	p.Record.Entry = p.Entry
	after := Layers{Edits: make(map[string]Edit, len(l.Edits)+1), Additions: make(map[string][]Addition, len(l.Additions))}
	for k, v := range l.Edits {
		after.Edits[k] = v
	}
	for k, v := range l.Additions {
		if k != id { // the change's text includes them: Commit folds them in
			after.Additions[k] = v
		}
	}
	after.Edits[id] = p.edit
	p.After, _ = after.Merge(files)
	p.Source = after.Source(id, fileEntry(files, id) != nil)
	return p, nil
}

func noop(p *Plan, l Layers, files []Entry, cur *Entry) *Plan {
	e := cloneEntry(cur)
	p.Entry, p.Version, p.Noop = &e, p.prev, true
	p.Source = l.Source(e.ID, fileEntry(files, e.ID) != nil)
	return p
}

// restoreTarget returns the text version v of entry id had.
func restoreTarget(tx store.Tx, files []Entry, id string, v uint64) (*Entry, error) {
	if v == 0 {
		if f := fileEntry(files, id); f != nil {
			e := cleanEntry(f)
			return &e, nil
		}
		return nil, fmt.Errorf("restore %s: the files have no such entry: %w", id, ErrNotFound)
	}
	var rec Version
	ok, err := store.GetJSON(tx, bucketHistory, historyKey(id, v), &rec)
	if err != nil {
		return nil, fmt.Errorf("restore %s version %d: %w", id, v, err)
	}
	if !ok {
		return nil, fmt.Errorf("restore %s: no version %d: %w", id, v, ErrNotFound)
	}
	if rec.Entry == nil {
		return nil, &ValidationError{[]LintProblem{{LintError, "restore-delete", id,
			fmt.Sprintf("version %d is the deletion; restore the version before it", v)}}}
	}
	e := cleanEntry(rec.Entry)
	e.ID = id
	return &e, nil
}

// CheckEntries returns the errors the change introduces under the rules
// of the knowledge base files, which need no index: Check includes them.
func (p *Plan) CheckEntries() []LintProblem {
	if p.Noop {
		return nil
	}
	old := map[string]bool{}
	for _, q := range structural(p.Before, p.Change.ID) {
		old[problemKey(q)] = true
	}
	var errs []LintProblem
	for _, q := range structural(p.After, p.Change.ID) {
		if !old[problemKey(q)] {
			errs = append(errs, q)
		}
	}
	return errs
}

// Check validates the knowledge base after the change, built as after
// (from p.After), with the rules of the knowledge base files (valid id,
// locales, questions, answers, https links, buttons naming an entry) and
// of Lint. Errors refuse the change: those the change introduces, so that
// an old problem elsewhere does not block every edit; before is called
// for the knowledge base before the change only when there are errors to
// tell apart. Warnings are Lint's warnings about the changed entry:
// questions that match another entry nearly as well.
func (p *Plan) Check(after *Base, before func() (*Base, error)) (errs, warns []LintProblem, err error) {
	if p.Noop {
		return nil, nil, nil
	}
	id := p.Change.ID
	errs = p.CheckEntries()
	var lintErrs []LintProblem
	for _, q := range Lint(after) {
		switch {
		case q.Severity == LintError:
			lintErrs = append(lintErrs, q)
		case p.Entry != nil && (q.Entry == id || strings.Contains(q.Message, "also matches "+id+" ")):
			warns = append(warns, q)
		}
	}
	if len(lintErrs) > 0 {
		bb, err := before()
		if err != nil {
			return nil, nil, fmt.Errorf("check the change: the knowledge base before it: %w", err)
		}
		old := map[string]bool{}
		for _, q := range Lint(bb) {
			if q.Severity == LintError {
				old[problemKey(q)] = true
			}
		}
		said := map[string]bool{}
		for _, q := range errs {
			said[q.Entry+"|"+q.Kind+"|"+sayKey(q.Message)] = true
		}
		for _, q := range lintErrs {
			// Both rule sets report a missing answer in their words;
			// once is enough.
			if !old[problemKey(q)] && !said[q.Entry+"|"+q.Kind+"|"+sayKey(q.Message)] {
				errs = append(errs, q)
			}
		}
	}
	return errs, warns, nil
}

func problemKey(p LintProblem) string {
	return p.Severity + "|" + p.Kind + "|" + p.Entry + "|" + p.Message
}

// sayKey is a message up to its first comma: "no en answer".
func sayKey(msg string) string {
	s, _, _ := strings.Cut(msg, ",")
	return s
}

// Commit stores the plan in tx: the entry's new Edit and history record,
// folding in (removing) the questions added to it, whose text the change
// already has. A change to the entry since PlanChange refuses it with
// ErrConflict.
func (p *Plan) Commit(tx store.Tx) error {
	if p.Noop {
		return nil
	}
	id := p.Change.ID
	var ed Edit
	if _, err := store.GetJSON(tx, bucketEdits, []byte(id), &ed); err != nil {
		return fmt.Errorf("commit %s: %w", id, err)
	}
	var adds []Addition
	if _, err := store.GetJSON(tx, bucketAdditions, []byte(id), &adds); err != nil {
		return fmt.Errorf("commit %s: %w", id, err)
	}
	if now := ed.Version + uint64(len(adds)); now != p.prev {
		// Changed while the index was built.
		return &ConflictError{Action: p.Change.Action, ID: id, Version: p.prev, Current: now}
	}
	if err := store.PutJSON(tx, bucketEdits, []byte(id), p.edit); err != nil {
		return fmt.Errorf("commit %s: %w", id, err)
	}
	if err := store.PutJSON(tx, bucketHistory, historyKey(id, p.Version), p.Record); err != nil {
		return fmt.Errorf("commit %s history: %w", id, err)
	}
	if err := tx.Delete(bucketAdditions, []byte(id)); err != nil {
		return fmt.Errorf("commit %s: fold added questions: %w", id, err)
	}
	return nil
}

// Result is a change that was stored.
type Result struct {
	// Entry is the entry after the change; nil after a delete.
	Entry   *Entry
	Version uint64
	// Source is where the entry comes from now (SourceFile…).
	Source string
	// Warnings are Lint's warnings about the entry.
	Warnings []LintProblem
	// Base is the knowledge base after the change, to make live; nil when
	// nothing changed.
	Base *Base
	// Record is the history record added.
	Record Version
	Noop   bool
}

// Apply makes change c to the knowledge base stored in st over the files:
// it works the change out (PlanChange), builds the knowledge base after
// it with build and checks it (Plan.Check; current is the knowledge base
// before, nil to build it when needed), and stores it (Plan.Commit). The
// index is built outside a write transaction, so conversations are not
// held up meanwhile; the version is checked again when storing. Callers
// serialise Apply with the reloads of the knowledge base and make
// Result.Base live.
func Apply(st *store.Store, files []Entry, build func([]Entry) (*Base, error), current *Base, c Change) (*Result, error) {
	var p *Plan
	if err := st.View(func(tx store.Tx) error {
		var err error
		p, err = PlanChange(tx, files, c)
		return err
	}); err != nil {
		return nil, err
	}
	if p.Noop {
		return &Result{Entry: p.Entry, Version: p.Version, Source: p.Source, Noop: true}, nil
	}
	// The rules of the files first: they need no index, and an entry
	// without an id cannot be indexed at all.
	if errs := p.CheckEntries(); len(errs) > 0 {
		return nil, &ValidationError{Problems: errs}
	}
	after, err := build(p.After)
	if err != nil {
		return nil, fmt.Errorf("%s %s: build the knowledge base: %w", c.Action, p.Change.ID, err)
	}
	errs, warns, err := p.Check(after, func() (*Base, error) {
		if current != nil {
			return current, nil
		}
		return build(p.Before)
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Problems: errs}
	}
	if err := st.Update(p.Commit); err != nil {
		return nil, err
	}
	return &Result{Entry: p.Entry, Version: p.Version, Source: p.Source, Warnings: warns, Base: after, Record: p.Record}, nil
}

// structural checks entry id of entries with the rules the file parser
// applies, and the faq: buttons of every entry (a delete can break those).
func structural(entries []Entry, id string) []LintProblem {
	ids := make(map[string]bool, len(entries))
	for i := range entries {
		ids[entries[i].ID] = true
	}
	var out []LintProblem
	for i := range entries {
		e := &entries[i]
		if e.ID == id {
			out = append(out, validateEntry(e, ids)...)
			continue
		}
		for j, b := range e.Buttons {
			if target, ok := strings.CutPrefix(b.Payload, faqPrefix); ok && !ids[target] {
				out = append(out, LintProblem{LintError, "broken-button", e.ID, fmt.Sprintf("button %d answers %s, which is not in the knowledge base", j+1, b.Payload)})
			}
		}
	}
	return out
}

// validateEntry applies parse.go's rules to one entry given as a value,
// plus bounds on lengths and an answer in every locale with questions.
func validateEntry(e *Entry, ids map[string]bool) []LintProblem {
	var out []LintProblem
	add := func(kind, format string, args ...any) {
		out = append(out, LintProblem{LintError, kind, e.ID, fmt.Sprintf(format, args...)})
	}
	allowed := strings.Join(locales[:], ", ")
	switch {
	case e.ID == "":
		add("empty-id", "the entry needs an id")
	case !idPattern.MatchString(e.ID):
		add("bad-id", "invalid id %q: use lower-case letters, digits and '-', starting with a letter or digit", e.ID)
	}
	if len(e.Questions) == 0 {
		add("no-questions", "at least one question is required")
	}
	for _, l := range localeOrder(e.Questions) {
		if !isLocale(l) {
			add("bad-locale", "unknown question locale %q (allowed: %s)", l, allowed)
			continue
		}
		for _, q := range e.Questions[l] {
			if !hasWord(q) {
				add("bad-question", "question %q has no letters or digits to match on", q)
			}
			if n := utf8.RuneCountInString(q); n > maxQuestionLen {
				add("long-question", "a %s question is %d characters long, the limit is %d", l, n, maxQuestionLen)
			}
		}
	}
	if len(e.Answer) == 0 {
		add("no-answer", "the answer needs at least one locale")
	}
	for _, l := range localeOrder(e.Answer) {
		if !isLocale(l) {
			add("bad-locale", "unknown answer locale %q (allowed: %s)", l, allowed)
		} else if n := utf8.RuneCountInString(e.Answer[l]); n > maxAnswerLen {
			add("long-answer", "the %s answer is %d characters long, the limit is %d", l, n, maxAnswerLen)
		}
	}
	for _, l := range localeOrder(e.Questions) {
		if isLocale(l) && e.Answer[l] == "" {
			add("missing-answer", "no %s answer, though the entry has %s questions", l, l)
		}
	}
	for i, b := range e.Buttons {
		n := i + 1
		if len(b.Label) == 0 {
			add("bad-button", "button %d needs a label", n)
		}
		for _, l := range localeOrder(b.Label) {
			if !isLocale(l) {
				add("bad-locale", "button %d: unknown label locale %q (allowed: %s)", n, l, allowed)
			}
		}
		switch {
		case b.URL != "" && b.Payload != "":
			add("bad-button", "button %d has a payload and a url; give one", n)
		case b.URL != "":
			if !isHTTPSURL(b.URL) {
				add("bad-button", "button %d: %q is not an https URL", n, b.URL)
			}
		case b.Payload == "":
			add("bad-button", "button %d needs a payload or a url", n)
		case len(b.Payload) > maxPayload:
			add("bad-button", "button %d: the payload is %d bytes, the limit is %d", n, len(b.Payload), maxPayload)
		}
		if target, ok := strings.CutPrefix(b.Payload, faqPrefix); ok && b.URL == "" && !ids[target] {
			add("broken-button", "button %d answers %s, which is not in the knowledge base", n, b.Payload)
		}
	}
	if e.Image != "" && !isHTTPSURL(e.Image) {
		add("bad-image", "image %q is not an https URL (chat apps load images over https only)", e.Image)
	}
	return out
}

func clean(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "")) }

// cleanEntry returns a copy of e trimmed the way the parser trims a file's
// entries, without empty questions, answers, tags and buttons (the blank
// lines and fields of a form) and without repeated questions or tags.
func cleanEntry(e *Entry) Entry {
	c := Entry{ID: clean(e.ID), Image: clean(e.Image)}
	for _, t := range e.Tags {
		if t = clean(t); t != "" && !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
	for l, qs := range e.Questions {
		var keep []string
		for _, q := range qs {
			if q = clean(q); q != "" && !slices.Contains(keep, q) {
				keep = append(keep, q)
			}
		}
		if len(keep) > 0 {
			if c.Questions == nil {
				c.Questions = map[string][]string{}
			}
			c.Questions[clean(l)] = keep
		}
	}
	c.Answer = cleanTexts(e.Answer)
	for _, b := range e.Buttons {
		nb := Button{Label: cleanTexts(b.Label), Payload: clean(b.Payload), URL: clean(b.URL)}
		if len(nb.Label) > 0 || nb.Payload != "" || nb.URL != "" {
			c.Buttons = append(c.Buttons, nb)
		}
	}
	return c
}

func cleanTexts(m map[string]string) map[string]string {
	var out map[string]string
	for l, s := range m {
		if s = clean(s); s != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[clean(l)] = s
		}
	}
	return out
}

// sameEntry compares two cleaned entries; JSON sorts the maps' keys.
func sameEntry(a, b *Entry) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// summarize says what changed from old (nil for nothing) to e: "+2
// questions (zh-Hans), −1 question (en), answer en changed".
func summarize(old, e *Entry) string {
	if old == nil {
		old = &Entry{}
	}
	var parts []string
	for _, l := range localeOrder(mergeKeys(old.Questions, e.Questions)) {
		plus, minus := 0, 0
		for _, q := range e.Questions[l] {
			if !slices.Contains(old.Questions[l], q) {
				plus++
			}
		}
		for _, q := range old.Questions[l] {
			if !slices.Contains(e.Questions[l], q) {
				minus++
			}
		}
		if plus > 0 {
			parts = append(parts, fmt.Sprintf("+%d %s (%s)", plus, plural(plus, "question"), l))
		}
		if minus > 0 {
			parts = append(parts, fmt.Sprintf("−%d %s (%s)", minus, plural(minus, "question"), l))
		}
	}
	for _, l := range localeOrder(mergeKeys(old.Answer, e.Answer)) {
		a, b := old.Answer[l], e.Answer[l]
		switch {
		case a == "" && b != "":
			parts = append(parts, "answer "+l+" added")
		case a != "" && b == "":
			parts = append(parts, "answer "+l+" removed")
		case a != b:
			parts = append(parts, "answer "+l+" changed")
		}
	}
	if !slices.Equal(old.Tags, e.Tags) {
		parts = append(parts, "tags changed")
	}
	if !sameEntry(&Entry{Buttons: old.Buttons}, &Entry{Buttons: e.Buttons}) {
		parts = append(parts, "buttons changed")
	}
	if old.Image != e.Image {
		parts = append(parts, "image changed")
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// describeNew says what a new entry has: "3 questions (zh-Hans 1, en 2),
// answers zh-Hans, en".
func describeNew(e *Entry) string {
	n := 0
	var per []string
	for _, l := range localeOrder(e.Questions) {
		n += len(e.Questions[l])
		per = append(per, fmt.Sprintf("%s %d", l, len(e.Questions[l])))
	}
	answers := localeOrder(e.Answer)
	return fmt.Sprintf("%d %s (%s), %s %s", n, plural(n, "question"), strings.Join(per, ", "), plural(len(answers), "answer"), strings.Join(answers, ", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
