package bot

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/store"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium or Chrome binary; CI installs Debian's
// chromium package, so there the browser test always runs.
func chromiumPath() string {
	if p := os.Getenv("CAREBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found, but CI must run the browser test (.ci/run installs chromium)")
		}
		t.Skip("no Chromium on this machine (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(420, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// botTexts is a page expression listing the text of every bot bubble.
const botTexts = `Array.from(document.querySelectorAll('li.msg.from-bot[data-seq] .bubble')).map(b => b.innerText)`

// waitText polls until some bubble matching the expression contains want.
func waitText(ctx context.Context, t *testing.T, expr, want string) {
	t.Helper()
	var ok bool
	err := chromedp.Run(ctx, chromedp.Poll(`(`+expr+`).some(s => s.includes(`+jsString(want)+`))`, &ok, chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || !ok {
		var texts []string
		_ = chromedp.Run(ctx, chromedp.Evaluate(expr, &texts))
		t.Fatalf("no bubble contains %q (err %v); bubbles: %q", want, err, texts)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

func TestBrowserChat(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	ctx := newBrowser(t)
	s := startServer(t, testConfig(t, t.TempDir()))
	shipping, _ := s.app.Knowledge().Entry("shipping-fee")
	delivery, _ := s.app.Knowledge().Entry("delivery-time")
	if shipping == nil || delivery == nil {
		t.Fatal("demo knowledge base lacks shipping-fee or delivery-time")
	}

	// Ask in English (the browser's language) and press Enter.
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible("#input", chromedp.ByID),
		chromedp.SendKeys("#input", "How much is shipping?\n", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, botTexts, firstLine(shipping.AnswerFor("en")))

	// Tap the "Delivery time" quick reply under the answer.
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const chip = Array.from(document.querySelectorAll('button.chip')).find(b => b.innerText.trim() === 'Delivery time');
		if (!chip) throw new Error('no Delivery time chip');
		chip.click();
	})()`, nil)); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, botTexts, firstLine(delivery.AnswerFor("en")))

	// Switch to Traditional Chinese and ask in it.
	if err := chromedp.Run(ctx,
		chromedp.SetValue("#locale", "zh-Hant", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('locale').dispatchEvent(new Event('change', {bubbles: true}))`, nil),
		chromedp.SendKeys("#input", "運費怎麼算\n", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, botTexts, firstLine(shipping.AnswerFor("zh-Hant")))
	var asked []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll('li.msg.from-customer .text')).map(s => s.textContent)`, &asked)); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 3 || asked[0] != "How much is shipping?" || asked[1] != "Delivery time" || asked[2] != "運費怎麼算" {
		t.Fatalf("customer bubbles: %q", asked)
	}

	// A message queued later (as an agent reply would be) arrives by itself.
	var session string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`localStorage.getItem('carebot.session')`, &session)); err != nil || session == "" {
		t.Fatalf("no session in localStorage: %q %v", session, err)
	}
	pushed := "您好，我是客服小林，剛剛看到您的問題。"
	if err := s.app.Store().Update(func(tx store.Tx) error {
		_, err := s.app.Outbox().Enqueue(tx, OutboxRow{Channel: webchat.Name, ChatID: session, Text: pushed})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.app.Outbox().Wake()
	waitText(ctx, t, botTexts, pushed)

	// After a reload the whole conversation is still there, once.
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#input", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, `Array.from(document.querySelectorAll('li.msg.from-customer .bubble')).map(b => b.innerText)`, "How much is shipping?")
	waitText(ctx, t, botTexts, pushed)
	var count int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(`+botTexts+`).filter(s => s.includes(`+jsString(pushed)+`)).length`, &count)); err != nil || count != 1 {
		t.Fatalf("pushed message shown %d times after reload (%v)", count, err)
	}
	// CAREBOT_SCREENSHOT=file.png keeps a picture of the final page, for a
	// person to look at.
	if path := os.Getenv("CAREBOT_SCREENSHOT"); path != "" {
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > 30 {
		line = string(r[:30])
	}
	return line
}
