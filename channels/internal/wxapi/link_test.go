package wxapi

import "testing"

func TestHTTPSURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://example.com/a?b=1&c=2#d": true,
		"HTTPS://example.com/":            true,
		"https://例子.中国/图片.png":            true,
		"":                                false,
		"http://example.com/":             false,
		"javascript:alert(1)":             false,
		"https:example.com":               false,
		"https:///path":                   false,
		"//example.com/":                  false,
		"https://user@evil.example/":      false,
		"https://example.com/a b":         false,
		"https://example.com/\n<a>":       false,
		"https://example.com/\u200bx":     true, // not space or control: harmless in a link
		"https://example.com/%zz":         false,
	} {
		if got := HTTPSURL(raw); got != want {
			t.Errorf("HTTPSURL(%q) = %v, want %v", raw, got, want)
		}
	}
}
