package wxapi

import (
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// FuzzSignatureOK checks the WeChat/WeCom signature check against its
// definition, sha1 of the sorted parts in hex: a request's signature is
// accepted exactly when it equals that (never when empty), in whatever
// order the parts are given.
func FuzzSignatureOK(f *testing.F) {
	f.Add("", "QDG6eK", "1409659813", "1372623149", "")
	f.Add("da39a3ee5e6b4b0d3255bfef95601890afd80709", "", "", "", "")
	f.Add("x", "token", "1", "2", "AAAA")
	f.Fuzz(func(t *testing.T, got, token, ts, nonce, enc string) {
		parts := []string{token, ts, nonce, enc}
		sort.Strings(parts)
		sum := sha1.Sum([]byte(strings.Join(parts, "")))
		want := hex.EncodeToString(sum[:])
		if ok := SignatureOK(got, token, ts, nonce, enc); ok != (got != "" && got == want) {
			t.Fatalf("SignatureOK(%q) = %v, want %v (the signature is %s)", got, ok, !ok, want)
		}
		if !SignatureOK(want, token, enc, nonce, ts) {
			t.Fatalf("the right signature is refused when the parts come in another order")
		}
		if got != want && SignatureOK(got, token, ts, nonce, enc) {
			t.Fatalf("a wrong signature is accepted")
		}
	})
}

// FuzzParseBase checks the api_base parser: an accepted value is an
// http(s) URL with a host and without query or fragment, and parsing its
// own string form gives the same URL.
func FuzzParseBase(f *testing.F) {
	const official = "https://api.weixin.qq.com"
	for _, s := range []string{"", official, official + "/", "http://127.0.0.1:8080", "https://proxy.example/wx/",
		" https://x ", "https://x/?a=1", "https://x/#f", "ftp://x", "http://", "://", "http://[::1]:1/p%20q"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseBase(raw, official)
		if err != nil || u == nil {
			if err == nil && strings.TrimSuffix(strings.TrimSpace(raw), "/") != official && strings.TrimSpace(raw) != "" {
				t.Fatalf("ParseBase(%q) = nil, nil", raw)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ParseBase(%q) accepted %#v", raw, u)
		}
		again, err := ParseBase(u.String(), official)
		if err != nil {
			t.Fatalf("ParseBase(%q) accepted %q, whose own form %q it refuses: %v", raw, u, u.String(), err)
		}
		if again != nil && again.String() != u.String() {
			t.Fatalf("round trip: %q became %q", u.String(), again.String())
		}
		if _, err := url.Parse(u.String()); err != nil {
			t.Fatalf("%q does not parse: %v", u.String(), err)
		}
	})
}
