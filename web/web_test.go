package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func readStatic(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Static(), name)
	if err != nil {
		t.Fatalf("read %s from Static(): %v", name, err)
	}
	if len(b) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return string(b)
}

func TestStaticHasChatPage(t *testing.T) {
	// Static() must be rooted at static/: index.html at the top, no prefix.
	if err := fstest.TestFS(Static(), "index.html", "chat.js", "chat.css", "favicon.svg"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(Static(), "static"); err == nil {
		t.Error(`Static() still has a "static" directory at its root`)
	}
}

func TestIndexReferencesAssetsFromRoot(t *testing.T) {
	html := readStatic(t, "index.html")
	for _, want := range []string{`src="/chat.js"`, `href="/chat.css"`, `href="/favicon.svg"`} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html does not contain %s", want)
		}
	}
	for _, id := range []string{`id="messages"`, `aria-live="polite"`, `id="input"`, `id="locale"`} {
		if !strings.Contains(html, id) {
			t.Errorf("index.html lacks %s", id)
		}
	}
}

var externalURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)

func TestNoExternalLoads(t *testing.T) {
	js := readStatic(t, "chat.js")
	for _, scheme := range []string{"http://", "https://"} {
		if strings.Contains(js, scheme) {
			t.Errorf("chat.js contains %q: the page must load nothing from elsewhere", scheme)
		}
	}
	// index.html and chat.css may not pull in anything from another origin
	// either (protocol-relative URLs included). favicon.svg is left out: its
	// xmlns is a name, not a load.
	for _, name := range []string{"index.html", "chat.css"} {
		if m := externalURL.FindString(readStatic(t, name)); m != "" {
			t.Errorf("%s refers to %q: the page must load nothing from elsewhere", name, m)
		}
	}
}

func TestChatJSNeverUsesInnerHTML(t *testing.T) {
	js := readStatic(t, "chat.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, bad) {
			t.Errorf("chat.js uses %s: server text must only be written with textContent", bad)
		}
	}
}

func TestSubFallsBack(t *testing.T) {
	fsys := fstest.MapFS{"a.txt": {Data: []byte("x")}}
	if got := sub(fsys, "../bad"); got == nil {
		t.Fatal("sub returned nil")
	} else if _, err := fs.Stat(got, "a.txt"); err != nil {
		t.Errorf("sub with an invalid dir should return the FS itself: %v", err)
	}
}

func TestStaticHasConsole(t *testing.T) {
	if err := fstest.TestFS(Static(), "console.html", "console.js", "console.css"); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleReferencesAssetsFromRoot(t *testing.T) {
	html := readStatic(t, "console.html")
	for _, want := range []string{`src="/console.js"`, `href="/console.css"`, `href="/favicon.svg"`} {
		if !strings.Contains(html, want) {
			t.Errorf("console.html does not contain %s", want)
		}
	}
	// The elements console.js and the browser test find by id, and the live
	// region that announces new messages.
	for _, id := range []string{`id="login-form"`, `id="queue-list"`, `id="messages"`, `aria-live="polite"`, `id="reply"`, `id="resolve-cause"`} {
		if !strings.Contains(html, id) {
			t.Errorf("console.html lacks %s", id)
		}
	}
}

var (
	fieldID   = regexp.MustCompile(`<(?:input|textarea|select)\b[^>]*\bid="([^"]+)"`)
	inlineJS  = regexp.MustCompile(`(?i)\son[a-z]+\s*=|<script\b[^>]*>\s*[^<\s]|javascript:`)
	inlineCSS = regexp.MustCompile(`(?i)\sstyle\s*=|<style\b`)
)

func TestConsoleFieldsHaveLabels(t *testing.T) {
	html := readStatic(t, "console.html")
	fields := fieldID.FindAllStringSubmatch(html, -1)
	if len(fields) < 5 {
		t.Fatalf("found only %d form fields in console.html", len(fields))
	}
	for _, m := range fields {
		if !strings.Contains(html, `<label for="`+m[1]+`"`) {
			t.Errorf("field #%s has no <label for>", m[1])
		}
	}
}

// The server's Content-Security-Policy allows scripts and styles from
// files only: an inline handler, script or style attribute would be
// blocked in the browser, so it must not be written in the first place.
func TestConsoleHasNothingInline(t *testing.T) {
	html := readStatic(t, "console.html")
	if m := inlineJS.FindString(html); m != "" {
		t.Errorf("console.html has inline script %q: the CSP blocks it", m)
	}
	if m := inlineCSS.FindString(html); m != "" {
		t.Errorf("console.html has inline style %q: the CSP blocks it", m)
	}
	for _, name := range []string{"console.html", "console.css"} {
		if m := externalURL.FindString(readStatic(t, name)); m != "" {
			t.Errorf("%s refers to %q: the console must load nothing from elsewhere", name, m)
		}
	}
	js := readStatic(t, "console.js")
	for _, scheme := range []string{"http://", "https://"} {
		if strings.Contains(js, scheme) {
			t.Errorf("console.js contains %q: the console must load nothing from elsewhere", scheme)
		}
	}
}

func TestConsoleJSNeverUsesInnerHTML(t *testing.T) {
	js := readStatic(t, "console.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "localStorage", "sessionStorage"} {
		if strings.Contains(js, bad) {
			t.Errorf("console.js uses %s: customer text must only be written with textContent, and nothing but the cookie is kept", bad)
		}
	}
}

var (
	dictKey  = regexp.MustCompile(`(?m)^\s{6}([A-Za-z_]+):`)
	i18nAttr = regexp.MustCompile(`data-i18n(?:-placeholder|-label)?="([^"]+)"`)
)

// consoleDict returns the keys of one language's block in console.js's
// STRINGS, which is written as "    zh: {" … "    }," at fixed indents.
func consoleDict(t *testing.T, js, lang string) map[string]bool {
	t.Helper()
	start := strings.Index(js, "\n    "+lang+": {\n")
	if start < 0 {
		t.Fatalf("console.js has no %q block in STRINGS", lang)
	}
	end := strings.Index(js[start:], "\n    },\n")
	if end < 0 {
		t.Fatalf("console.js: the %q block in STRINGS does not end", lang)
	}
	keys := map[string]bool{}
	for _, m := range dictKey.FindAllStringSubmatch(js[start:start+end], -1) {
		keys[m[1]] = true
	}
	return keys
}

func TestConsoleStringsComplete(t *testing.T) {
	js := readStatic(t, "console.js")
	zh, en := consoleDict(t, js, "zh"), consoleDict(t, js, "en")
	if len(en) < 50 {
		t.Fatalf("found only %d English strings; has the STRINGS layout changed?", len(en))
	}
	for k := range en {
		if !zh[k] {
			t.Errorf("string %q has no zh translation", k)
		}
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("string %q has no en text", k)
		}
	}
	for _, m := range i18nAttr.FindAllStringSubmatch(readStatic(t, "console.html"), -1) {
		if !en[m[1]] {
			t.Errorf("console.html uses string %q, which console.js does not define", m[1])
		}
	}
}

// TestManagerPagesLoadOnlyTheirOwnScripts: the manager console loads its
// shell and every section script from this origin, writes server text only
// with textContent, and pulls in nothing from elsewhere.
func TestManagerPagesLoadOnlyTheirOwnScripts(t *testing.T) {
	html := readStatic(t, "manager.html")
	scripts := regexp.MustCompile(`<script src="/([a-z-]+\.js)"`).FindAllStringSubmatch(html, -1)
	if len(scripts) < 7 || scripts[0][1] != "manager.js" || scripts[len(scripts)-1][1] != "manager-start.js" {
		t.Fatalf("manager.html scripts = %v: the shell first, the start last", scripts)
	}
	for _, name := range append([]string{"manager.html", "manager.css"}, func() []string {
		var out []string
		for _, s := range scripts {
			out = append(out, s[1])
		}
		return out
	}()...) {
		body := readStatic(t, name) // fails when a referenced file is missing
		if m := externalURL.FindString(body); m != "" {
			t.Errorf("%s refers to %q: the page must load nothing from elsewhere", name, m)
		}
		if strings.HasSuffix(name, ".js") {
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if strings.Contains(body, bad) {
					t.Errorf("%s uses %s: server text must only be written with textContent", name, bad)
				}
			}
		}
	}
}
