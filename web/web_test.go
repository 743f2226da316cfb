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
