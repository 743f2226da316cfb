package knowledge

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

// editEnv is a store and the test knowledge base files, with helpers to
// make changes the way the bot does (Apply).
type editEnv struct {
	t     *testing.T
	st    *store.Store
	files []Entry
	now   time.Time
}

func newEditEnv(t *testing.T) *editEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kb.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &editEnv{t: t, st: st, files: testEntries(t), now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

func (v *editEnv) build(es []Entry) (*Base, error) { return NewBase(sharedSeg(v.t), es, Options{}) }

// apply makes c (at a clock that moves a minute per change).
func (v *editEnv) apply(c Change) (*Result, error) {
	v.t.Helper()
	v.now = v.now.Add(time.Minute)
	c.At = v.now
	if c.By == "" {
		c.By = "mia"
	}
	return Apply(v.st, v.files, v.build, nil, c)
}

func (v *editEnv) mustApply(c Change) *Result {
	v.t.Helper()
	res, err := v.apply(c)
	if err != nil {
		v.t.Fatalf("%s %s: %v", c.Action, c.ID, err)
	}
	return res
}

// lookup returns the entry as the console lists it.
func (v *editEnv) lookup(id string) (Info, bool) {
	v.t.Helper()
	var in Info
	var ok bool
	if err := v.st.View(func(tx store.Tx) error {
		var err error
		in, ok, err = Lookup(tx, v.files, id)
		return err
	}); err != nil {
		v.t.Fatal(err)
	}
	return in, ok
}

// merged is the knowledge base the bot would load now.
func (v *editEnv) merged() []Entry {
	v.t.Helper()
	var l Layers
	if err := v.st.View(func(tx store.Tx) error {
		var err error
		l, err = ReadLayers(tx)
		return err
	}); err != nil {
		v.t.Fatal(err)
	}
	es, orphans := l.Merge(v.files)
	if len(orphans) > 0 {
		v.t.Fatalf("orphan additions %v", orphans)
	}
	return es
}

func (v *editEnv) history(id string) []Version {
	v.t.Helper()
	var hs []Version
	if err := v.st.View(func(tx store.Tx) error {
		var err error
		hs, err = History(tx, v.files, id)
		return err
	}); err != nil {
		v.t.Fatal(err)
	}
	return hs
}

func entryIDs(es []Entry) []string {
	out := make([]string, len(es))
	for i := range es {
		out[i] = es[i].ID
	}
	return out
}

func find(es []Entry, id string) *Entry {
	for i := range es {
		if es[i].ID == id {
			return &es[i]
		}
	}
	return nil
}

func TestEditsVersionsConflictsAndHistory(t *testing.T) {
	v := newEditEnv(t)
	in, ok := v.lookup("shipping-fee")
	if !ok || in.Version != 0 || in.Source != SourceFile {
		t.Fatalf("unedited entry: %+v %v", in, ok)
	}

	// An edit replaces the files' entry and is what the bot answers.
	e := cloneEntry(in.Entry)
	e.Answer["en"] = "Shipping is free from ¥59."
	e.Questions["en"] = append(e.Questions["en"], "Do I pay for delivery?")
	res := v.mustApply(Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &e, Version: 0})
	if res.Version != 1 || res.Source != SourceEdited || res.Base == nil || len(res.Warnings) != 0 {
		t.Fatalf("update: %+v", res)
	}
	if m, ok := res.Base.Answer("How much is shipping?"); !ok || m.Entry.AnswerFor("en") != "Shipping is free from ¥59." {
		t.Fatalf("new base answers %+v %v", m, ok)
	}
	if got := res.Record.Summary; got != "+1 question (en), answer en changed" {
		t.Fatalf("summary %q", got)
	}
	if got := entryIDs(v.merged()); !slices.Equal(got, entryIDs(v.files)) {
		t.Fatalf("an edit moved the entry: %v", got)
	}

	// A second manager still on version 0 is refused, with the versions.
	e2 := cloneEntry(in.Entry)
	e2.Answer["en"] = "Shipping costs ¥8."
	_, err := v.apply(Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &e2, Version: 0})
	var conflict *ConflictError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &conflict) || conflict.Version != 0 || conflict.Current != 1 {
		t.Fatalf("stale update: %v", err)
	}
	if got := find(v.merged(), "shipping-fee").Answer["en"]; got != "Shipping is free from ¥59." {
		t.Fatalf("stale update overwrote: %q", got)
	}

	// A question added from the unanswered list counts as a change: an
	// edit made before it is refused instead of dropping it, and merges
	// after the edit (files → edits → additions).
	base, _ := v.build(v.merged())
	if err := v.st.Update(func(tx store.Tx) error {
		_, _, err := AddQuestion(tx, base, "shipping-fee", "en", "ship to Mars?", "lee", v.now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	in, _ = v.lookup("shipping-fee")
	if in.Version != 2 || in.Entry.Questions["en"][len(in.Entry.Questions["en"])-1] != "ship to Mars?" || in.Entry.Answer["en"] != "Shipping is free from ¥59." {
		t.Fatalf("after an addition: %+v", in)
	}
	e3 := cloneEntry(&e)
	e3.Answer["zh-Hans"] = "满 59 元包邮。"
	if _, err := v.apply(Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &e3, Version: 1}); !errors.Is(err, ErrConflict) {
		t.Fatalf("edit made before an addition: %v", err)
	}
	// Saved on the entry with the addition, the edit folds it in.
	e3 = cloneEntry(in.Entry)
	e3.Answer["zh-Hans"] = "满 59 元包邮。"
	res = v.mustApply(Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &e3, Version: 2})
	if res.Version != 3 || res.Record.Summary != "answer zh-Hans changed" {
		t.Fatalf("update after an addition: %+v", res)
	}
	_ = v.st.View(func(tx store.Tx) error {
		adds, _ := Additions(tx)
		if len(adds["shipping-fee"]) != 0 {
			t.Errorf("additions not folded: %v", adds)
		}
		return nil
	})
	if qs := find(v.merged(), "shipping-fee").Questions["en"]; qs[len(qs)-1] != "ship to Mars?" || slices.Index(qs, "ship to Mars?") != len(qs)-1 {
		t.Fatalf("folded question lost or doubled: %q", qs)
	}

	// Saving the same text again changes nothing and adds no version.
	res = v.mustApply(Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &e3, Version: 3})
	if !res.Noop || res.Version != 3 || res.Base != nil {
		t.Fatalf("unchanged save: %+v", res)
	}

	// History: newest first, then the files' text as version 0.
	hs := v.history("shipping-fee")
	var got []string
	for _, h := range hs {
		got = append(got, h.Action)
	}
	if !slices.Equal(got, []string{ActionUpdate, ActionUpdate, ActionFile}) || hs[0].Version != 3 || hs[1].Version != 1 || hs[2].Version != 0 || hs[0].By != "mia" {
		t.Fatalf("history %+v", hs)
	}
	if hs[1].Entry.Answer["en"] != "Shipping is free from ¥59." || hs[2].Entry.Answer["en"] != find(v.files, "shipping-fee").Answer["en"] {
		t.Fatalf("snapshots %+v", hs)
	}

	// Restoring version 1 brings its text back as version 4.
	res = v.mustApply(Change{Action: ActionRestore, ID: "shipping-fee", Restore: 1, Version: 3})
	if res.Version != 4 || res.Entry.Answer["zh-Hans"] != find(v.files, "shipping-fee").Answer["zh-Hans"] || !strings.HasPrefix(res.Record.Summary, "restored version 1: ") {
		t.Fatalf("restore 1: %+v", res)
	}
	if _, err := v.apply(Change{Action: ActionRestore, ID: "shipping-fee", Restore: 1, Version: 3}); !errors.Is(err, ErrConflict) {
		t.Fatalf("restore on a stale version: %v", err)
	}
	if _, err := v.apply(Change{Action: ActionRestore, ID: "shipping-fee", Restore: 99, AnyVersion: true}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of a missing version: %v", err)
	}
	// Version 0 makes the files' entry apply again.
	res = v.mustApply(Change{Action: ActionRestore, ID: "shipping-fee", Restore: 0, AnyVersion: true})
	if in, _ = v.lookup("shipping-fee"); res.Version != 5 || in.Source != SourceFile || in.Version != 5 || !sameEntry(ptr(cleanEntry(in.Entry)), ptr(cleanEntry(find(v.files, "shipping-fee")))) {
		t.Fatalf("restore 0: %+v, now %+v", res, in)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCreateDeleteAndRestoreAnEntry(t *testing.T) {
	v := newEditEnv(t)
	gift := Entry{
		ID:        "gift-wrap",
		Questions: map[string][]string{"en": {"Can you gift wrap my order?", " ", "Do you offer gift wrapping?"}, "zh-Hans": {"可以礼品包装吗"}, "zh-Hant": {"可以禮品包裝嗎"}},
		Answer:    map[string]string{"en": "Yes, tick \"gift wrap\" at checkout.", "zh-Hans": "可以，结账时勾选“礼品包装”。", "zh-Hant": "可以，結帳時勾選「禮品包裝」。 "},
	}
	res := v.mustApply(Change{Action: ActionCreate, Entry: &gift})
	if res.Version != 1 || res.Source != SourceNew || len(res.Entry.Questions["en"]) != 2 || res.Entry.Answer["zh-Hant"] != "可以，結帳時勾選「禮品包裝」。" {
		t.Fatalf("create: %+v", res)
	}
	if m, ok := res.Base.Answer("gift wrapping please"); !ok || m.Entry.ID != "gift-wrap" {
		t.Fatalf("new entry not answered: %+v %v", m, ok)
	}
	if got := entryIDs(v.merged()); got[len(got)-1] != "gift-wrap" || len(got) != len(v.files)+1 {
		t.Fatalf("new entry not after the files' entries: %v", got)
	}
	// The id is taken now.
	var invalid *ValidationError
	if _, err := v.apply(Change{Action: ActionCreate, Entry: &gift}); !errors.As(err, &invalid) || invalid.Problems[0].Kind != "duplicate-id" {
		t.Fatalf("second create: %v", err)
	}

	// Delete needs the current version; the entry then is gone from the
	// bot, listed as deleted, and cannot be updated.
	if _, err := v.apply(Change{Action: ActionDelete, ID: "gift-wrap", Version: 0}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	res = v.mustApply(Change{Action: ActionDelete, ID: "gift-wrap", Version: 1})
	if res.Version != 2 || res.Entry != nil || res.Source != SourceDeleted {
		t.Fatalf("delete: %+v", res)
	}
	if _, ok := res.Base.Entry("gift-wrap"); ok || find(v.merged(), "gift-wrap") != nil {
		t.Fatal("deleted entry still in the knowledge base")
	}
	if in, ok := v.lookup("gift-wrap"); !ok || in.Source != SourceDeleted || in.Version != 2 || in.Entry.Answer["en"] == "" {
		t.Fatalf("deleted entry listed as %+v %v", in, ok)
	}
	if _, err := v.apply(Change{Action: ActionUpdate, ID: "gift-wrap", Entry: &gift, Version: 2}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a deleted entry: %v", err)
	}
	// The deletion itself is no text to restore; the version before it is.
	if _, err := v.apply(Change{Action: ActionRestore, ID: "gift-wrap", Restore: 2, AnyVersion: true}); !errors.As(err, &invalid) {
		t.Fatalf("restore of the deletion: %v", err)
	}
	res = v.mustApply(Change{Action: ActionRestore, ID: "gift-wrap", Restore: 1, Version: 2})
	if res.Version != 3 || res.Source != SourceNew || find(v.merged(), "gift-wrap") == nil {
		t.Fatalf("restore: %+v", res)
	}
	hs := v.history("gift-wrap")
	if len(hs) != 3 || hs[0].Action != ActionRestore || hs[1].Action != ActionDelete || hs[1].Entry != nil || hs[2].Action != ActionCreate ||
		hs[2].Summary != "new entry: 4 questions (zh-Hans 1, zh-Hant 1, en 2), answers zh-Hans, zh-Hant, en" {
		t.Fatalf("history %+v", hs)
	}

	// A file entry deleted and created again continues its versions.
	v.mustApply(Change{Action: ActionDelete, ID: "order-tracking", Version: 0})
	inv := cloneEntry(find(v.files, "order-tracking"))
	res = v.mustApply(Change{Action: ActionCreate, Entry: &inv})
	if res.Version != 2 || res.Source != SourceEdited {
		t.Fatalf("create over a deleted file entry: %+v", res)
	}
}

func TestEditsRefusedByLintRules(t *testing.T) {
	v := newEditEnv(t)
	ship := cloneEntry(find(v.files, "shipping-fee"))
	refused := func(what string, c Change, kind string) []LintProblem {
		t.Helper()
		_, err := v.apply(c)
		var invalid *ValidationError
		if !errors.As(err, &invalid) {
			t.Fatalf("%s: %v, want a validation error", what, err)
		}
		for _, p := range invalid.Problems {
			if p.Kind == kind && p.Severity == LintError {
				return invalid.Problems
			}
		}
		t.Fatalf("%s: problems %+v, want kind %s", what, invalid.Problems, kind)
		return nil
	}
	newEntry := func(id string, en ...string) *Entry {
		return &Entry{ID: id, Questions: map[string][]string{"en": en, "zh-Hans": {"新条目问题" + id}, "zh-Hant": {"新條目問題" + id}},
			Answer: map[string]string{"en": "An answer.", "zh-Hans": "回答。", "zh-Hant": "回答。"}}
	}

	// A question another entry has already.
	refused("duplicate question", Change{Action: ActionCreate, Entry: newEntry("shipping-2", "is shipping free?")}, "duplicate-question")
	refused("empty id", Change{Action: ActionCreate, Entry: newEntry("", "gift cards?")}, "empty-id")
	refused("bad id", Change{Action: ActionCreate, Entry: newEntry("Gift Cards", "gift cards?")}, "bad-id")
	bad := newEntry("gift-cards", "gift cards?")
	bad.Image = "http://shop.example/a.png"
	bad.Buttons = []Button{{Label: map[string]string{"en": "More"}, Payload: "faq:nowhere"}}
	refused("http image", Change{Action: ActionCreate, Entry: bad}, "bad-image")
	refused("button to nowhere", Change{Action: ActionCreate, Entry: bad}, "broken-button")
	bad = newEntry("gift-cards", "???")
	refused("question without words", Change{Action: ActionCreate, Entry: bad}, "bad-question")
	bad = newEntry("gift-cards", "gift cards?")
	bad.Questions["fr"] = []string{"cartes cadeaux?"}
	refused("unknown locale", Change{Action: ActionCreate, Entry: bad}, "bad-locale")

	// An answer removed in a locale the entry has questions in: said
	// once, though two rules see it.
	noEn := cloneEntry(&ship)
	noEn.Answer["en"] = "  "
	problems := refused("missing answer", Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &noEn}, "missing-answer")
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "no en answer") {
		t.Fatalf("missing answer reported as %+v", problems)
	}
	other := cloneEntry(&ship)
	other.ID = "shipping-fees"
	refused("changed id", Change{Action: ActionUpdate, ID: "shipping-fee", Entry: &other}, "id-changed")
	// shipping-fee's button answers delivery-time.
	refused("delete of an entry a button names", Change{Action: ActionDelete, ID: "delivery-time"}, "broken-button")

	// Nothing of it was stored.
	if got := entryIDs(v.merged()); !slices.Equal(got, entryIDs(v.files)) {
		t.Fatalf("refused changes changed the knowledge base: %v", got)
	}
	for _, id := range []string{"shipping-fee", "delivery-time", "gift-cards", "shipping-2"} {
		if hs := v.history(id); len(hs) > 1 || (len(hs) == 1 && hs[0].Action != ActionFile) {
			t.Fatalf("refused change in the history of %s: %+v", id, hs)
		}
	}

	// A problem the files had already does not block other edits.
	v.files[1].Questions["en"] = append(v.files[1].Questions["en"], v.files[0].Questions["en"][0])
	fix := cloneEntry(find(v.files, "invoice"))
	fix.Answer["en"] = "Yes: tap \"Request invoice\" in the order."
	if res := v.mustApply(Change{Action: ActionUpdate, ID: "invoice", Entry: &fix}); res.Version != 1 {
		t.Fatalf("edit beside an old problem: %+v", res)
	}
}

func TestEditWarnsAboutConfusableQuestions(t *testing.T) {
	v := newEditEnv(t)
	// The words of a shipping-fee question, in a new entry: not the same
	// text, so no error, but customers asking it get either answer.
	e := &Entry{ID: "shipping-abroad",
		Questions: map[string][]string{"en": {"Is shipping free", "international shipping"}, "zh-Hans": {"国际运费"}, "zh-Hant": {"國際運費"}},
		Answer:    map[string]string{"en": "We ship to 20 countries.", "zh-Hans": "可寄往 20 个国家。", "zh-Hant": "可寄往 20 個國家。"}}
	res := v.mustApply(Change{Action: ActionCreate, Entry: e})
	if len(res.Warnings) == 0 {
		t.Fatalf("no warning for %q; lint says %+v", e.Questions["en"][0], Lint(res.Base))
	}
	for _, w := range res.Warnings {
		if w.Severity != LintWarning || w.Kind != "confusable" || (w.Entry != "shipping-abroad" && !strings.Contains(w.Message, "shipping-abroad")) {
			t.Fatalf("warning %+v", w)
		}
	}
	if res.Version != 1 {
		t.Fatalf("a warning refused the change: %+v", res)
	}
}

func TestCommitRefusesAChangeMadeWhileChecking(t *testing.T) {
	v := newEditEnv(t)
	e := cloneEntry(find(v.files, "invoice"))
	e.Answer["en"] = "Yes."
	var p *Plan
	if err := v.st.View(func(tx store.Tx) error {
		var err error
		p, err = PlanChange(tx, v.files, Change{Action: ActionUpdate, ID: "invoice", Entry: &e, By: "mia", At: v.now})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	base, _ := v.build(v.files)
	if err := v.st.Update(func(tx store.Tx) error {
		_, _, err := AddQuestion(tx, base, "invoice", "en", "receipt for my company", "lee", v.now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := v.st.Update(p.Commit); !errors.Is(err, ErrConflict) {
		t.Fatalf("commit after a concurrent change: %v", err)
	}
}

func TestWithEditsMergeOrder(t *testing.T) {
	files := []Entry{
		{ID: "a", Questions: map[string][]string{"en": {"a?"}}, Answer: map[string]string{"en": "A"}},
		{ID: "b", Questions: map[string][]string{"en": {"b?"}}, Answer: map[string]string{"en": "B"}},
		{ID: "c", Questions: map[string][]string{"en": {"c?"}}, Answer: map[string]string{"en": "C"}},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Layers{
		Edits: map[string]Edit{
			"a": {Version: 1, Entry: &Entry{ID: "a", Questions: map[string][]string{"en": {"a edited?"}}, Answer: map[string]string{"en": "A2"}}},
			"b": {Version: 1, Deleted: true, Entry: &files[1]},
			"c": {Version: 2}, // restored to the files' text
			"z": {Version: 1, At: t0, Entry: &Entry{ID: "z", Questions: map[string][]string{"en": {"z?"}}, Answer: map[string]string{"en": "Z"}}},
			"y": {Version: 1, At: t0.Add(time.Hour), Entry: &Entry{ID: "y", Questions: map[string][]string{"en": {"y?"}}, Answer: map[string]string{"en": "Y"}}},
		},
		Additions: map[string][]Addition{"a": {{Locale: "en", Text: "added to a"}}, "z": {{Locale: "en", Text: "added to z"}}},
	}
	got, orphans := l.Merge(files)
	if len(orphans) != 0 || !slices.Equal(entryIDs(got), []string{"a", "c", "z", "y"}) {
		t.Fatalf("merged %v orphans %v", entryIDs(got), orphans)
	}
	if !slices.Equal(got[0].Questions["en"], []string{"a edited?", "added to a"}) || got[0].Answer["en"] != "A2" || got[1].Answer["en"] != "C" ||
		!slices.Equal(got[2].Questions["en"], []string{"z?", "added to z"}) {
		t.Fatalf("merged %+v", got)
	}
	if l.Version("a") != 2 || l.Version("c") != 2 || l.Version("q") != 0 {
		t.Fatalf("versions a %d c %d", l.Version("a"), l.Version("c"))
	}
	if l.Source("a", true) != SourceEdited || l.Source("b", true) != SourceDeleted || l.Source("c", true) != SourceFile || l.Source("z", false) != SourceNew {
		t.Fatal("sources")
	}
	// The caller's entries are not touched.
	if files[0].Answer["en"] != "A" || len(files[0].Questions["en"]) != 1 {
		t.Fatalf("files changed: %+v", files[0])
	}
}
