package wecom

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzVerifyURL checks WeCom's URL verification with arbitrary echostr
// plaintexts, raw echostr values and receive ids: an echostr sealed for
// the configured CorpID and signed with the token comes back decrypted,
// unchanged; one sealed for another id is refused with 403; anything
// signed with another token is refused with 401; arbitrary raw values
// never panic and never get a 200 with an answer that was not sealed.
func FuzzVerifyURL(f *testing.F) {
	f.Add("1616140317555161061", "AAAA", "ww-other")
	f.Add("", "", testCorpID+"x")
	f.Add("<xml>", "not base64!", "w")
	e := newEnv(f, nil)
	e.ch.log = slog.New(slog.DiscardHandler)
	ts, nonce := "1741946400", "1372623149"
	get := func(token, echo string) *httptest.ResponseRecorder {
		q := url.Values{"msg_signature": {signature(token, ts, nonce, echo)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
		return serve(e.ch.Handler(), httptest.NewRequest(http.MethodGet, "/webhook/wecom?"+q.Encode(), nil))
	}
	f.Fuzz(func(t *testing.T, plain, raw, otherID string) {
		if plain != "" {
			echo := encryptMsg(t, plain, testCorpID, testAESKey)
			if w := get(testToken, echo); w.Code != http.StatusOK || w.Body.String() != plain {
				t.Fatalf("sealed echostr: %d %q, want %q", w.Code, w.Body.String(), plain)
			}
			if w := get("another-token", echo); w.Code != http.StatusUnauthorized {
				t.Fatalf("signed with another token: %d", w.Code)
			}
			if otherID != "" && otherID != testCorpID {
				if w := get(testToken, encryptMsg(t, plain, otherID, testAESKey)); w.Code != http.StatusForbidden {
					t.Fatalf("sealed for %q: %d %q, want 403", otherID, w.Code, w.Body.String())
				}
			}
		}
		w := get(testToken, raw)
		switch w.Code {
		case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("raw echostr %q: status %d", raw, w.Code)
		}
		if raw == "" && w.Code != http.StatusUnauthorized {
			t.Fatalf("empty echostr: %d, want 401", w.Code)
		}
	})
}
