package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
)

// kbDiag is what the knowledge base section shows when a wait fails.
const kbDiag = `JSON.stringify({
	banner: (document.getElementById('banner-text') || {}).textContent,
	login: (document.getElementById('login-error') || {}).textContent,
	editor: (document.getElementById('kb-editor') || {dataset: {}}).dataset,
	meta: (document.getElementById('kb-meta') || {}).textContent,
	status: (document.getElementById('kb-status') || {}).textContent,
	problems: (document.getElementById('kb-problems') || {}).innerText,
	list: Array.from(document.querySelectorAll('#kb-list tr[data-entry]')).slice(0, 5).map(r => r.dataset.entry),
	unanswered: Array.from(document.querySelectorAll('#kb-unanswered tr')).map(r => r.innerText),
	try: (document.getElementById('kb-try-result') || {}).innerText,
	focus: document.activeElement && (document.activeElement.id || document.activeElement.className),
})`

// managerKBScreenshot saves the page as manager-kb.png when
// CAREBOT_SCREENSHOT names a directory (or, as TestBrowserChat reads it, a
// .png file, beside which it goes).
func managerKBScreenshot(ctx context.Context, t *testing.T) {
	t.Helper()
	v := os.Getenv("CAREBOT_SCREENSHOT")
	if v == "" {
		return
	}
	dir := v
	if strings.EqualFold(filepath.Ext(v), ".png") {
		dir = filepath.Dir(v)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manager-kb.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// setField sets a field's value as typing would, with the input event.
func setField(sel, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => {
		const n = document.querySelector(%s);
		n.value = %s;
		n.dispatchEvent(new Event('input', {bubbles: true}));
		n.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, jsString(sel), jsString(value)), nil)
}

// TestManagerKnowledgeBaseBrowser: a manager finds an entry in the
// manager console, changes its Simplified answer, and the web chat answers
// with the new text at once; a stale save shows the conflict and a lint
// error the problem; a question the bot could not answer is added from
// the unanswered list to an entry, and the bot answers it; the try box
// shows the outcome; the section fits a 360 px screen.
func TestManagerKnowledgeBaseBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	ctx := newBrowser(t)
	s := startServer(t, testConfig(t, t.TempDir()))
	const name, password = "mia", "manager-kb-pw"
	if _, err := s.app.Auth().AddAccount(name, handoff.RoleManager, password, false); err != nil {
		t.Fatal(err)
	}
	const question = "运费怎么算"
	old, _ := s.app.Knowledge().Entry("shipping-fee")
	if got := s.ask("kb-browser-1", "", question, "zh-Hans")[0].Text; got != old.AnswerFor("zh-Hans") {
		t.Fatalf("before the edit the bot says %q", got)
	}
	var problems pageProblems
	problems.listen(ctx)

	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.base+"/manager.html"),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", name, chromedp.ByID),
		chromedp.SendKeys("#login-password", password+"\n", chromedp.ByID),
		chromedp.WaitVisible("#app-view", chromedp.ByID),
		chromedp.Click("#tab-kb", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the knowledge base section with its entries",
		`!document.getElementById('section-kb').hidden && document.querySelector('#kb-list tr[data-entry="shipping-fee"]')`, kbDiag)

	// Search, open the entry: the editor has its answer and the focus.
	if err := chromedp.Run(ctx, setField("#kb-query", "运费"), chromedp.Click("#kb-search", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the search result",
		`(() => { const rows = document.querySelectorAll('#kb-list tr[data-entry]'); return rows.length > 0 && rows.length < 20 && rows[0].dataset.entry === 'shipping-fee'; })()`, kbDiag)
	if err := chromedp.Run(ctx, chromedp.Click(`#kb-list tr[data-entry="shipping-fee"] .kb-open`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the editor with shipping-fee",
		`!document.getElementById('kb-editor').hidden && document.getElementById('kb-editor').dataset.version === '0' &&
		 document.getElementById('kb-a-zh-Hans').value === `+jsString(old.AnswerFor("zh-Hans"))+` &&
		 document.getElementById('kb-q-en').value.split('\n').length === `+fmt.Sprint(len(old.Questions["en"]))+` &&
		 document.activeElement.id === 'kb-editor-title'`, kbDiag)

	// Change the Simplified answer and save: version 1, and the next
	// customer gets it.
	const newAnswer = "即日起全场满 59 元包邮，不满 59 元收取 6 元运费。"
	if err := chromedp.Run(ctx, setField("#kb-a-zh-Hans", newAnswer), chromedp.Click("#kb-save", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the save",
		`document.getElementById('kb-editor').dataset.version === '1' && document.getElementById('kb-editor').dataset.source === 'edited' &&
		 document.getElementById('kb-status').textContent !== '' && document.activeElement.id === 'kb-status'`, kbDiag)
	if got := s.ask("kb-browser-2", "", question, "zh-Hans")[0].Text; got != newAnswer {
		t.Fatalf("after saving in the browser the bot says %q", got)
	}

	// Another manager saves meanwhile: this page's next save is refused
	// with the conflict, and loading the latest shows their version.
	e, _ := s.app.Knowledge().Entry("shipping-fee")
	theirs := *e
	theirs.Answer = map[string]string{"zh-Hans": newAnswer, "zh-Hant": e.Answer["zh-Hant"], "en": "Free shipping from ¥59."}
	if _, err := s.app.EditKnowledge(knowledge.Change{Action: knowledge.ActionUpdate, ID: "shipping-fee", Entry: &theirs, Version: 1, By: "lee"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, setField("#kb-a-zh-Hans", "满 49 元包邮。"), chromedp.Click("#kb-save", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the conflict",
		`document.getElementById('kb-load-latest') && document.activeElement.id === 'kb-problems' && document.getElementById('kb-a-zh-Hans').value === '满 49 元包邮。'`, kbDiag)
	if err := chromedp.Run(ctx, chromedp.Click("#kb-load-latest", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the latest version",
		`document.getElementById('kb-editor').dataset.version === '2' && document.getElementById('kb-a-en').value === 'Free shipping from ¥59.'`, kbDiag)

	// A lint error is shown and nothing is saved.
	if err := chromedp.Run(ctx, setField("#kb-a-en", ""), chromedp.Click("#kb-save", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the missing answer refused",
		`document.querySelectorAll('#kb-problems li').length === 1 && document.getElementById('kb-problems').innerText.includes('en') &&
		 document.getElementById('kb-editor').dataset.version === '2' && document.activeElement.id === 'kb-problems'`, kbDiag)

	// History: the file's text is there to restore.
	if err := chromedp.Run(ctx, chromedp.Click("#kb-history-toggle", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the history",
		`document.querySelectorAll('#kb-history li[data-version]').length === 3 && document.querySelector('#kb-history li[data-version="0"] button')`, kbDiag)

	// A question nobody answers, added from the unanswered list.
	const mars = "你们的包裹能寄到南极科考站吗"
	if got := s.ask("kb-browser-3", "", mars, "zh-Hans")[0].Text; strings.Contains(got, "南极") {
		t.Fatalf("the bot answered %q", got)
	}
	stats, err := s.app.Unanswered(5)
	if err != nil || len(stats) != 1 || len(stats[0].Nearest) == 0 {
		t.Fatalf("unanswered %+v %v", stats, err)
	}
	row := fmt.Sprintf(`#kb-unanswered tr[data-query=%s]`, jsString(stats[0].Query))
	if err := chromedp.Run(ctx, chromedp.Click("#kb-unanswered-refresh", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the question in the unanswered list", `document.querySelector(`+jsString(row)+`)`, kbDiag)
	if err := chromedp.Run(ctx, chromedp.Click(row+" .kb-add", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the entry picker on the nearest entry",
		`document.activeElement.classList.contains('kb-pick-entry') && document.activeElement.value === `+jsString(stats[0].Nearest[0].ID), kbDiag)
	if err := chromedp.Run(ctx,
		chromedp.SetValue(".kb-pick-entry", "shipping-regions", chromedp.ByQuery),
		chromedp.Click(".kb-pick-add", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the question added", `!document.querySelector(`+jsString(row)+`) && document.querySelector('#kb-unanswered .kb-added')`, kbDiag)
	regions, _ := s.app.Knowledge().Entry("shipping-regions")
	if got := s.ask("kb-browser-4", "", mars, "zh-Hans")[0].Text; got != regions.AnswerFor("zh-Hans") {
		t.Fatalf("the added question is answered with %q", got)
	}

	// Try it: the bot would answer with shipping-regions.
	if err := chromedp.Run(ctx, setField("#kb-try-text", mars), chromedp.Click("#kb-try-submit", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the try result",
		`document.querySelector('#kb-try-result [data-outcome="answer"]') && document.querySelectorAll('#kb-try-result tr[data-entry]').length === 3 &&
		 document.querySelector('#kb-try-result tr[data-entry]').dataset.entry === 'shipping-regions'`, kbDiag)
	managerKBScreenshot(ctx, t)

	// On a phone, nothing of the section sticks out of the screen.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(360, 800)); err != nil {
		t.Fatal(err)
	}
	var wide []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll('#section-kb *'))
		.filter(n => n.getClientRects().length && n.getBoundingClientRect().right > window.innerWidth + 1)
		.map(n => n.tagName + '#' + n.id + '.' + n.className)`, &wide)); err != nil {
		t.Fatal(err)
	}
	if len(wide) > 0 {
		t.Errorf("wider than 360 px: %q", wide)
	}
	problems.check(t)
}
