package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// consoleScreenshotPath is where TestConsoleBrowser keeps its picture of
// the console. CAREBOT_SCREENSHOT names a directory; when it names a .png
// file instead (as TestBrowserChat reads it), console.png goes beside that
// file, so one run of both tests keeps both pictures.
func consoleScreenshotPath(t *testing.T) string {
	t.Helper()
	v := os.Getenv("CAREBOT_SCREENSHOT")
	switch {
	case v == "":
		return filepath.Join(t.TempDir(), "console.png")
	case strings.EqualFold(filepath.Ext(v), ".png"):
		return filepath.Join(filepath.Dir(v), "console.png")
	}
	if err := os.MkdirAll(v, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(v, "console.png")
}

// waitJS polls a page expression until it is true. On a timeout it fails
// with what the page shows in diag, to say why. It polls on a timer, not
// chromedp's default requestAnimationFrame: a tab in the background gets no
// animation frames, and with two tabs one always is.
func waitJS(ctx context.Context, t *testing.T, what, expr, diag string) {
	t.Helper()
	var ok bool
	err := chromedp.Run(ctx, chromedp.Poll(`Boolean(`+expr+`)`, &ok,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || !ok {
		var seen string
		if diag != "" {
			_ = chromedp.Run(ctx, chromedp.Evaluate(diag, &seen))
		}
		t.Fatalf("waiting for %s: %v; page shows: %s", what, err, seen)
	}
}

// waitBubble waits until a bot or agent bubble of the web chat contains
// want.
func waitBubble(ctx context.Context, t *testing.T, want string) {
	t.Helper()
	waitJS(ctx, t, fmt.Sprintf("a chat bubble with %q", want), `(`+botTexts+`).some(s => s.includes(`+jsString(want)+`))`, `JSON.stringify(`+botTexts+`)`)
}

// front makes ctx's tab the one a person would be looking at.
func front(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := chromedp.Run(ctx, page.BringToFront()); err != nil {
		t.Fatal(err)
	}
}

// consoleDiag is what the console shows when a wait fails.
const consoleDiag = `JSON.stringify({
	error: (document.getElementById('action-error') || {}).textContent,
	login: (document.getElementById('login-error') || {}).textContent,
	banner: (document.getElementById('banner-text') || {}).textContent,
	queue: Array.from(document.querySelectorAll('#queue-list .ticket-card')).map(c => c.innerText),
	title: (document.getElementById('ticket-title') || {}).innerText,
	status: (document.getElementById('ticket') || {dataset: {}}).dataset.status,
	messages: Array.from(document.querySelectorAll('#messages li.msg')).map(m => m.className + ': ' + m.innerText),
})`

// pageProblems collects script errors and Content-Security-Policy
// violations of a tab: the console must run clean under the server's CSP.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *pageProblems) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				msg = fmt.Sprintf("console.%s called", e.Type)
			}
		case *cdplog.EventEntryAdded:
			// Network errors are expected (the 401s of a logged-out page and
			// of a wrong password); a security entry is a CSP violation.
			if e.Entry.Source == cdplog.SourceSecurity || strings.Contains(e.Entry.Text, "Content Security Policy") {
				msg = "security: " + e.Entry.Text
			}
		}
		if msg != "" {
			p.mu.Lock()
			p.list = append(p.list, msg)
			p.mu.Unlock()
		}
	})
}

func (p *pageProblems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.list {
		t.Errorf("console page: %s", m)
	}
}

// TestConsoleBrowser drives the agent console and the customer's web chat
// in two tabs of one headless Chromium against a real server: a complaint
// opens a ticket that appears in the console's queue live; the agent logs
// in, opens and claims it, replies, and resolves it with a cause; the
// customer sees the agent, the reply and the rating buttons, and rates 5.
func TestConsoleBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	customer := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Handoff.CSATDelay = 0 // ask for the rating at once: the test runs on the wall clock
	s := startServer(t, cfg)
	const agent, password = "lin", "console-test-pw"
	if _, err := s.app.Auth().AddAccount(agent, handoff.RoleAgent, password, false); err != nil {
		t.Fatal(err)
	}

	// The customer opens the web chat first: a tab must run before a second
	// one can be opened in the same browser.
	if err := chromedp.Run(customer,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible("#input", chromedp.ByID),
		chromedp.SetValue("#locale", "zh-Hans", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('locale').dispatchEvent(new Event('change', {bubbles: true}))`, nil),
	); err != nil {
		t.Fatal(err)
	}

	console, cancel := chromedp.NewContext(customer)
	t.Cleanup(cancel)
	var problems pageProblems
	problems.listen(console)
	if err := chromedp.Run(console,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(s.base+"/console.html"),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", agent, chromedp.ByID),
		chromedp.SendKeys("#login-password", "not-the-password", chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	// Checks read classes and states rather than English words, so that the
	// test does not depend on the browser's language.
	waitJS(console, t, "the wrong password to be refused",
		`document.getElementById('login-error').textContent !== '' && document.getElementById('console-view').hidden`, consoleDiag)
	if err := chromedp.Run(console,
		chromedp.SetValue("#login-password", password, chromedp.ByID),
		chromedp.SendKeys("#login-password", "\n", chromedp.ByID),
		chromedp.WaitVisible("#console-view", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	// Live before the complaint, so the ticket must arrive over the stream.
	waitJS(console, t, "the live connection", `document.getElementById('conn').classList.contains('online')`, consoleDiag)
	var who string
	if err := chromedp.Run(console, chromedp.Text("#who-name", &who, chromedp.ByID)); err != nil || who != agent {
		t.Fatalf("console shows %q logged in (%v), want %q", who, err, agent)
	}
	waitJS(console, t, "an empty queue", `!document.getElementById('queue-empty').hidden`, consoleDiag)

	// A moderate complaint opens a ticket and silences the bot.
	const complaint = "质量太差了，我要投诉"
	front(customer, t)
	if err := chromedp.Run(customer, chromedp.SendKeys("#input", complaint+"\n", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	promise, _, _ := strings.Cut(s.app.router.Text("handoff_moderate", "zh-Hans"), "{")
	waitBubble(customer, t, promise)
	front(console, t)
	waitJS(console, t, "the ticket in the queue",
		`Array.from(document.querySelectorAll('#queue-list .ticket-card')).some(c => c.innerText.includes(`+jsString(complaint)+`))`, consoleDiag)
	var idText string
	if err := chromedp.Run(console, chromedp.AttributeValue(`#queue-list .ticket-card`, "data-id", &idText, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		t.Fatalf("card data-id %q: %v", idText, err)
	}
	tk := getTicket(t, s, id)
	if tk.Tier != "moderate" || tk.Status != handoff.StatusOpen || !tk.Silenced || tk.Trigger != complaint {
		t.Fatalf("ticket after the complaint: tier %s status %s silenced %v trigger %q", tk.Tier, tk.Status, tk.Silenced, tk.Trigger)
	}
	card := fmt.Sprintf(`#queue-list .ticket-card[data-id="%d"]`, id)
	waitJS(console, t, "the card's tier badge and countdown",
		`document.querySelector('`+card+` .tier-moderate') && /\d:\d\d/.test(document.querySelector('`+card+` .countdown').textContent) && !document.querySelector('`+card+` .countdown.overdue')`, consoleDiag)

	// Open it: the customer's message is red, with its cues.
	if err := chromedp.Run(console, chromedp.Click(card, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(console, t, "the conversation with the complaint in red",
		`Array.from(document.querySelectorAll('#messages li.from-customer.emo-red')).some(m => m.querySelector('.bubble').textContent === `+jsString(complaint)+` && m.querySelector('.cue'))`, consoleDiag)
	var cues []string
	if err := chromedp.Run(console, chromedp.Evaluate(`Array.from(document.querySelectorAll('#messages li.from-customer.emo-red .cue')).map(c => c.textContent)`, &cues)); err != nil {
		t.Fatal(err)
	}
	t.Logf("cues shown for %q: %q", complaint, cues)
	for _, c := range cues {
		if !strings.HasSuffix(c, ")") || !strings.Contains(c, " (") {
			t.Errorf("cue chip %q is not 'text (kind)'", c)
		}
	}

	// Claim: the customer is told who joined.
	if err := chromedp.Run(console, chromedp.Click("#claim", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(console, t, "the ticket to be claimed",
		`document.getElementById('ticket').dataset.status === 'claimed' && document.getElementById('claim').hidden`, consoleDiag)
	waitBubble(customer, t, strings.ReplaceAll(s.app.router.Text("handoff_joined", "zh-Hans"), "{agent}", agent))

	// Reply with Enter: it reaches the customer's chat and shows as the agent's.
	const reply = "您好，我来帮您处理"
	if err := chromedp.Run(console, chromedp.SendKeys("#reply", reply+"\n", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitBubble(customer, t, reply)
	waitJS(console, t, "the reply in the console",
		`Array.from(document.querySelectorAll('#messages li.from-agent .bubble')).some(b => b.textContent === `+jsString(reply)+`) && document.getElementById('reply').value === ''`, consoleDiag)

	// A compensation coupon from the console reaches the customer, free of
	// points.
	if err := chromedp.Run(console,
		chromedp.Click("#compensate", chromedp.ByID),
		chromedp.WaitVisible("#compensate-right", chromedp.ByID),
		chromedp.SetValue("#compensate-right", "sorry-10", chromedp.ByID),
		chromedp.Click("#compensate-submit", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitBubble(customer, t, "10元补偿券")

	// The picture for the README: the conversation open, mid-case.
	front(console, t)
	var png []byte
	if err := chromedp.Run(console, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatal(err)
	}
	shot := consoleScreenshotPath(t)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshot: %s", shot)

	// Resolve with a cause picked from the configured tags.
	cause := "质量问题"
	if !slices.Contains(s.app.cfg.Handoff.Causes, cause) {
		t.Fatalf("cause %q is not configured: %q", cause, s.app.cfg.Handoff.Causes)
	}
	if err := chromedp.Run(console,
		chromedp.Click("#resolve", chromedp.ByID),
		chromedp.WaitVisible("#resolve-cause", chromedp.ByID),
		chromedp.SetValue("#resolve-cause", cause, chromedp.ByID),
		chromedp.SendKeys("#resolve-note", "换新并致歉", chromedp.ByID),
		chromedp.Click("#resolve-submit", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(console, t, "the ticket to be resolved",
		`document.getElementById('ticket').dataset.status === 'resolved' && !document.getElementById('resolve-dialog').open && document.getElementById('reply').disabled`, consoleDiag)

	// The customer gets the rating buttons and taps 5.
	front(customer, t)
	waitBubble(customer, t, s.app.router.Text("csat_prompt", "zh-Hans"))
	if err := chromedp.Run(customer, chromedp.Evaluate(`(() => {
		const chip = Array.from(document.querySelectorAll('button.chip')).find(b => b.innerText.trim().startsWith('5'));
		if (!chip) throw new Error('no rating button 5');
		chip.click();
	})()`, nil)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tk = getTicket(t, s, id); tk.CSAT != 5 && time.Now().Before(deadline); tk = getTicket(t, s, id) {
		time.Sleep(25 * time.Millisecond)
	}
	if tk.CSAT != 5 || tk.Status != handoff.StatusResolved || tk.Cause != cause || tk.Agent != agent {
		t.Fatalf("ticket after the rating: csat %d status %s cause %q agent %q", tk.CSAT, tk.Status, tk.Cause, tk.Agent)
	}
	// The open ticket follows live: the rating shows without a reload.
	front(console, t)
	waitJS(console, t, "the rating in the ticket panel",
		`(document.querySelector('#ticket-facts [data-field="csat"]') || {}).textContent === '5 / 5'`, consoleDiag)

	// The Resolved tab lists it.
	if err := chromedp.Run(console, chromedp.Click("#tab-resolved", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitJS(console, t, "the ticket under Resolved",
		`document.querySelector('`+card+`') && document.querySelector('`+card+`').innerText.includes('CSAT 5')`, consoleDiag)
	problems.check(t)
}

func getTicket(t *testing.T, s *server, id uint64) *handoff.Ticket {
	t.Helper()
	var tk *handoff.Ticket
	if err := s.app.Store().View(func(tx store.Tx) error {
		var err error
		tk, err = handoff.Get(tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestConsoleWeeklyReportPanel: a supervisor sees the latest weekly report
// (care.weekly_spec) in the console; an agent does not see the panel.
func TestConsoleWeeklyReportPanel(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	ctx := newBrowser(t)
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 17, 11, 0, 0, 0, cst))
	s.say("session-weekly-ui", "质量太差了，我要投诉")
	s.say("session-weekly-ui-2", "退款多久能到账")
	s.clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, cst))
	s.runJob(jobWeekly, s.clock.Now())
	const password = "weekly-panel-pw"
	if _, err := s.app.Auth().AddAccount("wendy", handoff.RoleSupervisor, password, false); err != nil {
		t.Fatal(err)
	}
	var problems pageProblems
	problems.listen(ctx)
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(s.base+"/console.html"),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", "wendy", chromedp.ByID),
		chromedp.SendKeys("#login-password", password+"\n", chromedp.ByID),
		chromedp.WaitVisible("#console-view", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the weekly report panel with last week's figures",
		`!document.getElementById('weekly').hidden && document.getElementById('wk-week').textContent.includes('2026-W47') &&
		 document.getElementById('wk-opened').textContent === '1' && document.getElementById('wk-tiers').textContent === '0 / 1 / 0' &&
		 document.getElementById('wk-faq').textContent.startsWith('100.0%')`, consoleDiag)
	problems.check(t)
}
