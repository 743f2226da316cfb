package bot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// managerLogin opens the manager console in ctx and logs in.
func managerLogin(ctx context.Context, t *testing.T, base, name, password string, width, height int64) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(base+"/manager.html"),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", name, chromedp.ByID),
		chromedp.SendKeys("#login-password", password+"\n", chromedp.ByID),
		chromedp.WaitVisible("#app-view", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves the page as name in $CAREBOT_SCREENSHOT (docs/ when
// regenerating the README's pictures), when set.
func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("CAREBOT_SCREENSHOT")
	if dir == "" {
		return
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestManagerDashboardAndBroadcastBrowser: a manager logs in, the
// dashboard shows the day's figures and every chart as a picture (on a
// desktop and a phone width), and an announcement scheduled to a Telegram
// group reaches the fake Telegram API.
func TestManagerDashboardAndBroadcastBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	ctx := newBrowser(t)
	s, tg := telegramServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 11, 0, 0, 0, cst))
	for i, q := range []string{"退款多久能到账", "运费怎么算", "量子纠缠的原理是什么", "质量太差了，我要投诉"} {
		s.say("session-mgr-ui-"+string(rune('a'+i)), q)
	}
	const password = "manager-ui-pw"
	if _, err := s.app.Auth().AddAccount("mia", handoff.RoleManager, password, false); err != nil {
		t.Fatal(err)
	}
	var problems pageProblems
	problems.listen(ctx)

	// An agent may not use the manager console.
	if _, err := s.app.Auth().AddAccount("ann", handoff.RoleAgent, password, false); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.base+"/manager.html"),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", "ann", chromedp.ByID),
		chromedp.SendKeys("#login-password", password+"\n", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the agent to be refused", `document.getElementById('login-error').textContent !== '' && document.getElementById('app-view').hidden`, consoleDiag)

	managerLogin(ctx, t, s.base, "mia", password, 1280, 900)
	// The range of the test's day (the page defaults to the browser's
	// today, which is not the test clock's).
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible("#dash-from", chromedp.ByID),
		chromedp.SetValue("#dash-from", "2026-11-17", chromedp.ByID),
		chromedp.SetValue("#dash-to", "2026-11-23", chromedp.ByID),
		chromedp.Click(`#dash-range button[type=submit]`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	charts := `Array.from(document.querySelectorAll('#dash-charts figure img'))`
	waitJS(ctx, t, "every chart to load as a picture",
		charts+`.length >= 8 && `+charts+`.every(i => i.complete && i.naturalWidth > 0 && i.src.includes('from=2026-11-17'))`, consoleDiag)
	waitJS(ctx, t, "the key figures of the day",
		`document.getElementById('dash-kpis').innerText.includes('%') && document.querySelectorAll('#dash-unanswered-table tbody tr').length >= 1`, consoleDiag)
	var csvHref string
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`#dash-charts figure[data-chart="tickets"] a`, "href", &csvHref, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csvHref, "/tickets.csv?from=2026-11-17&to=2026-11-23") {
		t.Fatalf("CSV link %q", csvHref)
	}
	screenshot(ctx, t, "manager-dashboard.png")
	// A phone: the charts still fit the screen.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "charts no wider than a phone", charts+`.every(i => i.getBoundingClientRect().width <= 390 && i.getBoundingClientRect().width > 200) && document.documentElement.scrollWidth <= 390`, consoleDiag)
	screenshot(ctx, t, "manager-dashboard-phone.png")
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	// An announcement to a Telegram group, scheduled ten minutes ahead.
	const group, text = "-1001234567890", "本周六会员日：全场积分翻倍！"
	sendAt := s.clock.Now().Add(10 * time.Minute).In(time.Local).Format("2006-01-02T15:04")
	if err := chromedp.Run(ctx,
		chromedp.Click("#tab-broadcasts", chromedp.ByID),
		chromedp.WaitVisible("#bc-groups", chromedp.ByID),
		chromedp.SetValue("#bc-channel", "telegram", chromedp.ByID),
		chromedp.SendKeys("#bc-ids", group, chromedp.ByID),
		chromedp.SendKeys("#bc-text", text, chromedp.ByID),
		chromedp.SetValue("#bc-at", sendAt, chromedp.ByID),
		chromedp.Click("#bc-send", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the broadcast in the list, pending", `(() => { const r = document.querySelector('#bc-history tbody tr'); return r && r.innerText.includes('telegram'); })()`, consoleDiag)
	sent := func() bool {
		for _, m := range tg.SentMessages() {
			if m.ChatID == group && m.Text == text {
				return true
			}
		}
		return false
	}
	s.app.Outbox().Wake()
	time.Sleep(100 * time.Millisecond)
	if sent() {
		t.Fatal("the scheduled announcement went out early")
	}
	s.clock.Add(11 * time.Minute)
	waitFor(t, func() bool { s.app.Outbox().Wake(); return sent() })
	screenshot(ctx, t, "manager-broadcasts.png")
	problems.check(t)
}

// TestManagerProgrammeAndMembersBrowser: a manager retires a right and
// sets a category multiplier in the browser, the chat's rewards list and an
// order's points follow at once; the member's profile shows the complaint
// ticket with its tier.
func TestManagerProgrammeAndMembersBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	ctx := newBrowser(t)
	s := startCareServer(t)
	s.clock.Set(time.Date(2026, 11, 23, 11, 0, 0, 0, cst))
	m := s.joinMember("session-prog-ui", "王小明", "1990-01-01", true)
	s.credit(m.ID, "prog-ui-order-1", 800)
	const password = "manager-prog-pw"
	if _, err := s.app.Auth().AddAccount("mia", handoff.RoleManager, password, false); err != nil {
		t.Fatal(err)
	}
	var problems pageProblems
	problems.listen(ctx)
	managerLogin(ctx, t, s.base, "mia", password, 1280, 900)

	// Retire cash-5: the chat's 权益 list no longer offers it.
	rewards := func() string { return texts(s.say("session-prog-ui", "权益")) }
	if !strings.Contains(rewards(), "5元无门槛券") {
		t.Fatalf("cash-5 not offered before: %s", rewards())
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#tab-programme", chromedp.ByID),
		chromedp.WaitVisible(`#rights-table tr[data-right="cash-5"]`, chromedp.ByQuery),
		chromedp.Click(`#rights-table tr[data-right="cash-5"] button[data-action="toggle"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "cash-5 shown retired", `document.querySelector('#rights-table tr[data-right="cash-5"] .mgr-muted') !== null`, consoleDiag)
	if r := rewards(); strings.Contains(r, "5元无门槛券") || !strings.Contains(r, "积分") {
		t.Fatalf("a retired right is still offered: %s", r)
	}
	// Clothing earns double from now on.
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible("#cat-mults", chromedp.ByID),
		chromedp.SetValue("#cat-mults", "apparel = 2", chromedp.ByID),
		chromedp.Click("#cat-save", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var ok bool
		s.app.Store().View(func(tx store.Tx) error {
			mults, err := s.app.Loyalty().CategoryMultipliers(tx)
			ok = err == nil && mults["apparel"] == 2
			return err
		})
		return ok
	})
	before := s.member("session-prog-ui").Points
	s.credit(m.ID, "prog-ui-order-2", 100)
	if got := s.member("session-prog-ui").Points - before; got != 200 {
		t.Fatalf("apparel after ×2 earned %d", got)
	}

	// The member's profile, found by name, shows the complaint's ticket.
	// The sections are reached by keyboard too: focus the tab, press Enter.
	s.say("session-prog-ui", "质量太差了，我要投诉")
	if err := chromedp.Run(ctx,
		chromedp.Focus("#tab-members", chromedp.ByID),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("#member-query", chromedp.ByID),
		chromedp.SendKeys("#member-query", "王小明\n", chromedp.ByID),
		chromedp.WaitVisible(`button[data-member="`+m.ID+`"]`, chromedp.ByQuery),
		chromedp.Click(`button[data-member="`+m.ID+`"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the profile with the ticket", `(() => { const t = document.querySelector('#member-tickets tbody tr'); return t && t.innerText.includes('moderate') && t.innerText.includes('质量太差'); })()`, consoleDiag)
	screenshot(ctx, t, "manager-members.png")
	problems.check(t)
}
