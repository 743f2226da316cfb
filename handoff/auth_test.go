package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

// authClock is a clock tests move by hand.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *authClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authHarness is an Auth on a real database behind a real loopback HTTP
// server, with test routes for each role.
type authHarness struct {
	t     *testing.T
	st    *store.Store
	path  string
	auth  *Auth
	clock *authClock
	srv   *httptest.Server
}

func newAuthHarness(t *testing.T, opts AuthOptions) *authHarness {
	t.Helper()
	st, path := acctTestStore(t)
	h := &authHarness{t: t, st: st, path: path, clock: &authClock{t: acctT0}}
	h.serve(opts)
	return h
}

// serve (re)builds the Auth over h.st and starts a server for it.
func (h *authHarness) serve(opts AuthOptions) {
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h.auth = NewAuth(h.st, h.clock.now, opts)
	mux := http.NewServeMux()
	h.auth.Routes(mux)
	echo := func(w http.ResponseWriter, r *http.Request, who Account) {
		authJSON(w, http.StatusOK, map[string]string{"name": who.Name, "role": string(who.Role), "method": r.Method})
	}
	mux.HandleFunc("GET /t/agent", h.auth.Require(RoleAgent, echo))
	mux.HandleFunc("POST /t/agent", h.auth.Require(RoleAgent, echo))
	mux.HandleFunc("DELETE /t/agent", h.auth.Require(RoleAgent, echo))
	mux.HandleFunc("POST /t/supervisor", h.auth.Require(RoleSupervisor, echo))
	mux.HandleFunc("GET /t/admin", h.auth.Require(RoleAdmin, echo))
	h.srv = httptest.NewServer(mux)
	h.t.Cleanup(h.srv.Close)
}

func (h *authHarness) add(name string, role Role, password string) {
	h.t.Helper()
	if _, err := h.auth.AddAccount(name, role, password, false); err != nil {
		h.t.Fatal(err)
	}
}

type authReply struct {
	status int
	body   map[string]any
	resp   *http.Response
}

func (r authReply) str(key string) string { s, _ := r.body[key].(string); return s }

// do sends a request; hdr holds extra headers, "Cookie" included.
func (h *authHarness) do(method, path, body string, hdr map[string]string) authReply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := authReply{status: resp.StatusCode, resp: resp}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		h.t.Fatalf("%s %s: status %d, body is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 400 && out.str("error") == "" {
		h.t.Errorf("%s %s: status %d without an error message: %s", method, path, resp.StatusCode, raw)
	}
	return out
}

// login returns the session cookie header value and the CSRF token.
func (h *authHarness) login(name, password string) (cookie, csrf string) {
	h.t.Helper()
	r := h.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"name":%q,"password":%q}`, name, password), nil)
	if r.status != http.StatusOK {
		h.t.Fatalf("login %s: %d %v", name, r.status, r.body)
	}
	for _, c := range r.resp.Cookies() {
		if c.Name == SessionCookie {
			return c.Name + "=" + c.Value, r.str("csrf")
		}
	}
	h.t.Fatalf("login %s: no %s cookie", name, SessionCookie)
	return "", ""
}

func TestLoginSessionMeLogout(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")

	r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil)
	if r.status != http.StatusOK || r.str("name") != "alice" || r.str("role") != "agent" || len(r.str("csrf")) < 40 {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	var c *http.Cookie
	for _, x := range r.resp.Cookies() {
		if x.Name == SessionCookie {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != 12*3600 {
		t.Fatalf("session cookie attributes: %+v", c)
	}
	if r.resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("login answer may be cached")
	}
	cookie := map[string]string{"Cookie": c.Name + "=" + c.Value}

	me := h.do("GET", "/api/v1/auth/me", "", cookie)
	if me.status != http.StatusOK || me.str("name") != "alice" || me.str("csrf") != r.str("csrf") {
		t.Fatalf("me: %d %v", me.status, me.body)
	}
	if got := h.do("POST", "/api/v1/auth/logout", "", cookie); got.status != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d", got.status)
	}
	out := h.do("POST", "/api/v1/auth/logout", "", map[string]string{"Cookie": cookie["Cookie"], CSRFHeader: r.str("csrf")})
	if out.status != http.StatusOK {
		t.Fatalf("logout: %d %v", out.status, out.body)
	}
	if cs := out.resp.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %+v", cs)
	}
	if got := h.do("GET", "/api/v1/auth/me", "", cookie); got.status != http.StatusUnauthorized {
		t.Errorf("me after logout: %d", got.status)
	}
	if n := h.st.View(func(tx store.Tx) error {
		if c := tx.Count(bucketSessions); c != 0 {
			t.Errorf("%d sessions left after logout", c)
		}
		return nil
	}); n != nil {
		t.Fatal(n)
	}
}

func TestLoginSecureCookieWhenConfigured(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{CookieSecure: true, SessionTTL: time.Hour})
	h.add("alice", RoleAgent, "alice's password")
	r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil)
	if cs := r.resp.Cookies(); len(cs) != 1 || !cs[0].Secure || cs[0].MaxAge != 3600 {
		t.Errorf("cookie: %+v", cs)
	}
}

func TestLoginSecureCookieBehindTLS(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{SessionTTL: time.Hour})
	h.add("alice", RoleAgent, "alice's password")
	r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, map[string]string{"X-Forwarded-Proto": "https"})
	if cs := r.resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("cookie of a login through an HTTPS proxy: %+v", cs)
	}
	r = h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil)
	if cs := r.resp.Cookies(); len(cs) != 1 || cs[0].Secure {
		t.Errorf("cookie of a plain HTTP login must not be Secure (the browser would drop it): %+v", cs)
	}
}

func TestLoginRejectsBadRequests(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	for _, tc := range []struct {
		what, body, ctype string
		want              int
	}{
		{"wrong password", `{"name":"alice","password":"not the password"}`, "", 401},
		{"unknown name", `{"name":"mallory","password":"alice's password"}`, "", 401},
		{"name that cannot exist", `{"name":"` + strings.Repeat("m", 5000) + `","password":"x"}`, "", 401},
		{"malformed JSON", `{"name":"alice",`, "", 400},
		{"not an object", `[1,2]`, "", 400},
		{"unknown field", `{"name":"alice","password":"alice's password","admin":true}`, "", 400},
		{"missing password", `{"name":"alice"}`, "", 400},
		{"form post", `name=alice&password=x`, "application/x-www-form-urlencoded", 415},
		{"huge body", `{"name":"alice","password":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413},
	} {
		hdr := map[string]string{}
		if tc.ctype != "" {
			hdr["Content-Type"] = tc.ctype
		}
		if r := h.do("POST", "/api/v1/auth/login", tc.body, hdr); r.status != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.what, r.status, r.body, tc.want)
		} else if len(r.resp.Cookies()) != 0 {
			t.Errorf("%s: sets a cookie", tc.what)
		}
	}
	// A 401 says the same for a wrong password and an unknown name, so
	// the answer does not reveal which names exist.
	a := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"nope nope"}`, nil)
	b := h.do("POST", "/api/v1/auth/login", `{"name":"nobody","password":"nope nope"}`, nil)
	if a.str("error") != b.str("error") {
		t.Errorf("different errors: %q vs %q", a.str("error"), b.str("error"))
	}
}

func TestLoginThrottledPerName(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	h.add("bob", RoleAgent, "bob's password")
	for i := 0; i < 5; i++ {
		if r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"guess guess"}`, nil); r.status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	// Locked: even the right password is refused, so guessing cannot go on.
	r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil)
	if r.status != http.StatusTooManyRequests || r.resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("after 5 failures: %d Retry-After=%q %v", r.status, r.resp.Header.Get("Retry-After"), r.body)
	}
	// Another name from the same address is not locked out by alice's.
	h.login("bob", "bob's password")
	h.clock.advance(61 * time.Second)
	h.login("alice", "alice's password")
	// Success forgets alice's failures: four more do not lock her again.
	for i := 0; i < 4; i++ {
		h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"guess guess"}`, nil)
	}
	h.login("alice", "alice's password")
}

func TestLoginThrottledPerAddress(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{MaxFailuresPerIP: 8})
	h.add("alice", RoleAgent, "alice's password")
	// A spray over many names stays under the per-name limit but hits
	// the per-address one.
	for i := 0; i < 8; i++ {
		body := fmt.Sprintf(`{"name":"user%d","password":"guess guess"}`, i)
		if r := h.do("POST", "/api/v1/auth/login", body, nil); r.status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	if r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil); r.status != http.StatusTooManyRequests {
		t.Fatalf("address not locked: %d", r.status)
	}
	h.clock.advance(time.Minute)
	h.login("alice", "alice's password")
}

func TestLoginThrottleForgetsOldFailures(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	for i := 0; i < 4; i++ {
		h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"guess guess"}`, nil)
	}
	h.clock.advance(16 * time.Minute)
	// The window has passed: this is failure 1 of a new count, not 5.
	h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"guess guess"}`, nil)
	h.login("alice", "alice's password")
}

func TestAuthBearerTokens(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	h.add("sue", RoleSupervisor, "sue's password")
	tok, err := h.auth.NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok}

	for _, tc := range []struct {
		what, authz string
	}{
		{"no credentials", ""},
		{"unknown token", "Bearer cbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"not a carebot token", "Bearer hello"},
		{"empty bearer", "Bearer "},
		{"basic auth", "Basic YWxpY2U6cGFzc3dvcmQ="},
	} {
		r := h.do("GET", "/t/agent", "", map[string]string{"Authorization": tc.authz})
		if r.status != http.StatusUnauthorized || r.resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v", tc.what, r.status, r.body)
		}
	}
	if r := h.do("GET", "/t/agent", "", bearer); r.status != 200 || r.str("name") != "alice" {
		t.Errorf("valid token: %d %v", r.status, r.body)
	}
	// A script with a token needs no CSRF token: a browser never sends an
	// Authorization header by itself.
	if r := h.do("POST", "/t/agent", `{}`, bearer); r.status != 200 {
		t.Errorf("bearer POST without CSRF: %d %v", r.status, r.body)
	}
	if r := h.do("POST", "/t/supervisor", `{}`, bearer); r.status != http.StatusForbidden {
		t.Errorf("agent on a supervisor route: %d %v", r.status, r.body)
	}
	me := h.do("GET", "/api/v1/auth/me", "", bearer)
	if me.status != 200 || me.str("name") != "alice" || me.body["csrf"] != nil {
		t.Errorf("me with a token: %d %v", me.status, me.body)
	}
	if r := h.do("POST", "/api/v1/auth/logout", "", bearer); r.status != http.StatusBadRequest {
		t.Errorf("logout with a token: %d", r.status)
	}
	// A bad Authorization header is refused even with a valid cookie.
	cookie, _ := h.login("sue", "sue's password")
	if r := h.do("GET", "/t/agent", "", map[string]string{"Cookie": cookie, "Authorization": "Bearer nope"}); r.status != 401 {
		t.Errorf("bad bearer with good cookie: %d", r.status)
	}
	// The role is read at each request: a promotion applies at once.
	if _, err := h.auth.AddAccount("alice", RoleSupervisor, "alice's new password", true); err != nil {
		t.Fatal(err)
	}
	if r := h.do("POST", "/t/supervisor", `{}`, bearer); r.status != 200 {
		t.Errorf("promoted agent's token on a supervisor route: %d", r.status)
	}
	if n, err := h.auth.RevokeTokens("alice"); n != 1 || err != nil {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if r := h.do("GET", "/t/agent", "", bearer); r.status != 401 {
		t.Errorf("revoked token: %d", r.status)
	}
	if _, err := h.auth.RevokeTokens("nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("revoke for a missing account: %v", err)
	}
}

func TestAuthCSRFOnCookieWrites(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("sue", RoleSupervisor, "sue's password")
	cookie, csrf := h.login("sue", "sue's password")
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/t/agent", "", 200},
		{"POST", "/t/agent", "", 403},
		{"POST", "/t/agent", "wrong", 403},
		{"POST", "/t/agent", csrf + "x", 403},
		{"POST", "/t/agent", csrf, 200},
		{"DELETE", "/t/agent", "", 403},
		{"DELETE", "/t/agent", csrf, 200},
		{"POST", "/t/supervisor", csrf, 200},
		{"GET", "/t/admin", "", 403},
	} {
		hdr := map[string]string{"Cookie": cookie}
		if tc.token != "" {
			hdr[CSRFHeader] = tc.token
		}
		if r := h.do(tc.method, tc.path, "", hdr); r.status != tc.want {
			t.Errorf("%s %s with CSRF %q: %d %v, want %d", tc.method, tc.path, tc.token, r.status, r.body, tc.want)
		}
	}
	// Another session's CSRF token does not fit this session.
	_, other := h.login("sue", "sue's password")
	if r := h.do("POST", "/t/agent", "", map[string]string{"Cookie": cookie, CSRFHeader: other}); r.status != 403 {
		t.Errorf("CSRF token of another session: %d", r.status)
	}
}

func TestSessionExpiresWithTheClock(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{SessionTTL: time.Hour})
	h.add("alice", RoleAgent, "alice's password")
	cookie, _ := h.login("alice", "alice's password")
	hdr := map[string]string{"Cookie": cookie}
	h.clock.advance(59 * time.Minute)
	if r := h.do("GET", "/t/agent", "", hdr); r.status != 200 {
		t.Fatalf("before expiry: %d", r.status)
	}
	h.clock.advance(time.Minute)
	if r := h.do("GET", "/t/agent", "", hdr); r.status != 401 || !strings.Contains(r.str("error"), "expired") {
		t.Fatalf("after expiry: %d %v", r.status, r.body)
	}
	_ = h.st.View(func(tx store.Tx) error {
		if n := tx.Count(bucketSessions); n != 0 {
			t.Errorf("expired session still stored (%d)", n)
		}
		return nil
	})
	// A login sweeps sessions that expired without being used again.
	h.login("alice", "alice's password")
	h.clock.advance(2 * time.Hour)
	h.login("alice", "alice's password")
	_ = h.st.View(func(tx store.Tx) error {
		if n := tx.Count(bucketSessions); n != 1 {
			t.Errorf("%d sessions stored after the sweep, want 1", n)
		}
		return nil
	})
	h.clock.advance(2 * time.Hour)
	if n, err := h.auth.ExpireSessions(); n != 1 || err != nil {
		t.Errorf("ExpireSessions = %d, %v", n, err)
	}
}

func TestSessionSurvivesReopeningTheStore(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	cookie, csrf := h.login("alice", "alice's password")
	h.srv.Close()
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	h.serve(AuthOptions{})
	r := h.do("GET", "/api/v1/auth/me", "", map[string]string{"Cookie": cookie})
	if r.status != 200 || r.str("csrf") != csrf {
		t.Fatalf("me after restart: %d %v", r.status, r.body)
	}
	// The cookie's value is not stored, only its hash.
	value := strings.TrimPrefix(cookie, SessionCookie+"=")
	_ = st.View(func(tx store.Tx) error {
		return tx.Scan(bucketSessions, nil, func(k, v []byte) error {
			if strings.Contains(string(k)+string(v), value) {
				t.Error("session id stored in clear")
			}
			return nil
		})
	})
}

func TestAccountResetAndRemoveEndAccess(t *testing.T) {
	h := newAuthHarness(t, AuthOptions{})
	h.add("alice", RoleAgent, "alice's password")
	cookie, _ := h.login("alice", "alice's password")
	if _, err := h.auth.AddAccount("alice", RoleAgent, "a fresh password", false); !errors.Is(err, ErrAccountExists) {
		t.Fatalf("add over an existing account: %v", err)
	}
	if _, err := h.auth.AddAccount("ghost", RoleAgent, "a fresh password", true); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("reset of a missing account: %v", err)
	}
	if _, err := h.auth.AddAccount("alice", RoleAgent, "a fresh password", true); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/t/agent", "", map[string]string{"Cookie": cookie}); r.status != 401 {
		t.Errorf("session survives a password reset: %d", r.status)
	}
	if r := h.do("POST", "/api/v1/auth/login", `{"name":"alice","password":"alice's password"}`, nil); r.status != 401 {
		t.Errorf("old password after reset: %d", r.status)
	}
	cookie, _ = h.login("alice", "a fresh password")
	tok, err := h.auth.NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.auth.RemoveAccount("alice"); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/t/agent", "", map[string]string{"Cookie": cookie}); r.status != 401 {
		t.Errorf("session of a removed account: %d", r.status)
	}
	if r := h.do("GET", "/t/agent", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != 401 {
		t.Errorf("token of a removed account: %d", r.status)
	}
	if err := h.auth.RemoveAccount("alice"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("removing twice: %v", err)
	}
	_ = h.st.View(func(tx store.Tx) error {
		if tx.Count(bucketTokens)+tx.Count(bucketSessions) != 0 {
			t.Error("tokens or sessions of a removed account are left")
		}
		return nil
	})
}

func TestAuthConfigAccounts(t *testing.T) {
	hash, err := HashPassword("boss's password")
	if err != nil {
		t.Fatal(err)
	}
	h := newAuthHarness(t, AuthOptions{})
	// A stored account of the same name is shadowed by the configuration.
	h.add("boss", RoleAgent, "stored password")
	h.add("alice", RoleAgent, "alice's password")
	h.serve(AuthOptions{Accounts: []ConfigAccount{
		{Name: "boss", Role: RoleAdmin, PasswordHash: hash},
		{Name: "broken", Role: "root", PasswordHash: hash},
		{Name: "nohash", Role: RoleAgent, PasswordHash: "not a bcrypt hash"},
	}})
	if r := h.do("POST", "/api/v1/auth/login", `{"name":"boss","password":"stored password"}`, nil); r.status != 401 {
		t.Errorf("shadowed stored password: %d", r.status)
	}
	cookie, _ := h.login("boss", "boss's password")
	if r := h.do("GET", "/t/admin", "", map[string]string{"Cookie": cookie}); r.status != 200 || r.str("role") != "admin" {
		t.Errorf("config admin: %d %v", r.status, r.body)
	}
	for _, name := range []string{"broken", "nohash"} {
		body := fmt.Sprintf(`{"name":%q,"password":"boss's password"}`, name)
		if r := h.do("POST", "/api/v1/auth/login", body, nil); r.status != 401 {
			t.Errorf("invalid config account %s: %d", name, r.status)
		}
	}
	if _, err := h.auth.AddAccount("boss", RoleAgent, "another password", true); !errors.Is(err, ErrConfigAccount) {
		t.Errorf("reset of a config account: %v", err)
	}
	if err := h.auth.RemoveAccount("boss"); !errors.Is(err, ErrConfigAccount) {
		t.Errorf("removal of a config account: %v", err)
	}
	tok, err := h.auth.NewToken("boss")
	if err != nil {
		t.Fatalf("token for a config account: %v", err)
	}
	if r := h.do("GET", "/t/admin", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != 200 {
		t.Errorf("config account's token: %d", r.status)
	}
	list, err := h.auth.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, fmt.Sprintf("%s:%s:%v", a.Name, a.Role, a.Config))
	}
	if strings.Join(got, " ") != "alice:agent:false boss:admin:true nohash:agent:true" {
		t.Errorf("Accounts() = %v", got)
	}
	// The same configuration after a restart keeps the session; a new hash
	// for boss ends the sessions opened with the old password.
	h.serve(AuthOptions{Accounts: []ConfigAccount{{Name: "boss", Role: RoleAdmin, PasswordHash: hash}}})
	if r := h.do("GET", "/t/admin", "", map[string]string{"Cookie": cookie}); r.status != 200 {
		t.Errorf("session after restart with the same config: %d", r.status)
	}
	newHash, err := HashPassword("boss's new password")
	if err != nil {
		t.Fatal(err)
	}
	h.serve(AuthOptions{Accounts: []ConfigAccount{{Name: "boss", Role: RoleAdmin, PasswordHash: newHash}}})
	if r := h.do("GET", "/t/admin", "", map[string]string{"Cookie": cookie}); r.status != 401 {
		t.Errorf("session after the configured password changed: %d", r.status)
	}
	// Without the configuration entry the token no longer authenticates
	// as the config admin (it falls back to the stored agent of that name).
	h.serve(AuthOptions{})
	if r := h.do("GET", "/t/admin", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != 403 {
		t.Errorf("token after the config account went: %d", r.status)
	}
}
