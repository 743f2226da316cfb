package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
)

// authzKind is how a route decides who may call it.
type authzKind int

const (
	// authzPublic routes answer everyone (health, the web chat, login).
	authzPublic authzKind = iota
	// authzSigned routes are platform webhooks: no account or token gets
	// in, only a request signed with the platform's secret.
	authzSigned
	// authzAdminToken routes take only the server's admin token
	// (requireAdmin), not even an admin account.
	authzAdminToken
	// authzAccount routes take a console account (API token or session)
	// with at least the row's role, and not the admin token.
	authzAccount
	// authzAccountOrToken routes take a console account with at least the
	// row's role, or the server's admin token.
	authzAccountOrToken
)

// authzRow is one route of the authorization table: the pattern as the
// server registers it, the request that tries it, and who may pass.
type authzRow struct {
	pattern string
	// path is the request path when the pattern's has wildcards or no
	// method; the values name things that do not exist, so that an
	// allowed request changes nothing.
	path string
	kind authzKind
	min  handoff.Role
}

// routePublic, routeSigned, routeAdminToken, routeAccount and
// routeAccountOrToken make the table's rows of each authzKind.
func routePublic(pattern string) authzRow { return authzRow{pattern: pattern, kind: authzPublic} }
func routeSigned(pattern string) authzRow {
	return authzRow{pattern: pattern, kind: authzSigned}
}
func routeAdminToken(pattern string) authzRow {
	return authzRow{pattern: pattern, kind: authzAdminToken}
}
func routeAccount(min handoff.Role, pattern string) authzRow {
	return authzRow{pattern: pattern, kind: authzAccount, min: min}
}
func routeAccountOrToken(min handoff.Role, pattern string) authzRow {
	return authzRow{pattern: pattern, kind: authzAccountOrToken, min: min}
}

// at sets the request path for a pattern with wildcards.
func (r authzRow) at(path string) authzRow { r.path = path; return r }

const (
	agentRole = handoff.RoleAgent
	supRole   = handoff.RoleSupervisor
	mgrRole   = handoff.RoleManager
	adminRole = handoff.RoleAdmin
)

// authzTable lists every route the server registers (the test fails on a
// route missing here) with the least that gets through.
var authzTable = []authzRow{
	routePublic("GET /healthz"),
	routePublic("GET /readyz"),
	routePublic("GET /metrics"),
	routePublic("/").at("/"),
	routePublic("/api/").at("/api/v1/no-such-route"),
	routePublic("POST /api/v1/auth/login"),
	routePublic("/api/v1/webchat/").at("/api/v1/webchat/no-such-route"),
	routePublic("POST /api/v1/webchat/messages"),
	routePublic("GET /api/v1/webchat/history"),
	routePublic("GET /api/v1/webchat/events"),

	routeSigned("POST /webhook/telegram"),
	routeSigned("GET /webhook/telegram"),
	routeSigned("POST /webhook/line"),
	routeSigned("GET /webhook/line"),
	routeSigned("POST /webhook/wechat"),
	routeSigned("GET /webhook/wechat"),
	routeSigned("POST /webhook/wecom"),
	routeSigned("GET /webhook/wecom"),

	routeAdminToken("GET /api/v1/admin/backup"),
	routeAdminToken("GET /api/v1/admin/kb/unanswered"),
	routeAdminToken("POST /api/v1/admin/kb/questions"),
	routeAdminToken("POST /api/v1/admin/kb/reload"),

	routeAccount(agentRole, "POST /api/v1/auth/logout"),
	routeAccount(agentRole, "GET /api/v1/auth/me"),
	routeAccount(agentRole, "GET /api/v1/tickets"),
	routeAccount(agentRole, "GET /api/v1/tickets/events"),
	routeAccount(supRole, "GET /api/v1/tickets/report"),
	routeAccount(agentRole, "GET /api/v1/tickets/{id}").at("/api/v1/tickets/999999"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/claim").at("/api/v1/tickets/999999/claim"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/messages").at("/api/v1/tickets/999999/messages"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/transfer").at("/api/v1/tickets/999999/transfer"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/compensate").at("/api/v1/tickets/999999/compensate"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/typing").at("/api/v1/tickets/999999/typing"),
	routeAccount(agentRole, "POST /api/v1/tickets/{id}/resolve").at("/api/v1/tickets/999999/resolve"),

	routeAccountOrToken(adminRole, "GET /api/v1/admin/agents"),
	routeAccountOrToken(adminRole, "POST /api/v1/admin/agents"),
	routeAccountOrToken(adminRole, "DELETE /api/v1/admin/agents/{name}").at("/api/v1/admin/agents/nobody-here"),
	routeAccountOrToken(adminRole, "POST /api/v1/admin/agents/{name}/tokens").at("/api/v1/admin/agents/nobody-here/tokens"),
	routeAccountOrToken(adminRole, "DELETE /api/v1/admin/agents/{name}/tokens").at("/api/v1/admin/agents/nobody-here/tokens"),
	routeAccountOrToken(supRole, "POST /api/v1/broadcasts"),
	routeAccountOrToken(supRole, "GET /api/v1/broadcasts"),
	routeAccountOrToken(supRole, "GET /api/v1/broadcasts/{id}").at("/api/v1/broadcasts/999999"),
	routeAccountOrToken(adminRole, "GET /api/v1/admin/cron"),
	routeAccountOrToken(adminRole, "POST /api/v1/admin/cron/{job}/run").at("/api/v1/admin/cron/no-such-job/run"),
	routeAccountOrToken(supRole, "GET /api/v1/reports/weekly"),
	routeAccountOrToken(supRole, "GET /api/v1/surveys/nps/{period}").at("/api/v1/surveys/nps/2026Q4"),
	routeAccountOrToken(supRole, "GET /api/v1/surveys/csat"),
	routeAccountOrToken(mgrRole, "GET /api/v1/dashboard/summary"),
	routeAccountOrToken(mgrRole, "GET /api/v1/dashboard/charts/{file}").at("/api/v1/dashboard/charts/no-such-chart.svg"),
	routeAccountOrToken(mgrRole, "GET /api/v1/kb/entries"),
	routeAccountOrToken(mgrRole, "POST /api/v1/kb/entries"),
	routeAccountOrToken(mgrRole, "GET /api/v1/kb/entries/{id}").at("/api/v1/kb/entries/no-such-entry"),
	routeAccountOrToken(mgrRole, "PUT /api/v1/kb/entries/{id}").at("/api/v1/kb/entries/no-such-entry"),
	routeAccountOrToken(mgrRole, "DELETE /api/v1/kb/entries/{id}").at("/api/v1/kb/entries/no-such-entry"),
	routeAccountOrToken(mgrRole, "GET /api/v1/kb/entries/{id}/history").at("/api/v1/kb/entries/no-such-entry/history"),
	routeAccountOrToken(mgrRole, "POST /api/v1/kb/entries/{id}/restore").at("/api/v1/kb/entries/no-such-entry/restore"),
	routeAccountOrToken(mgrRole, "POST /api/v1/kb/try"),
	routeAccountOrToken(mgrRole, "GET /api/v1/kb/unanswered"),
	routeAccountOrToken(mgrRole, "POST /api/v1/kb/unanswered/add"),
	routeAccountOrToken(adminRole, "POST /api/v1/orders"),
	routeAccountOrToken(adminRole, "POST /api/v1/orders/{id}/refund").at("/api/v1/orders/no-such-order/refund"),
	routeAccountOrToken(adminRole, "POST /api/v1/coupons/{code}/use").at("/api/v1/coupons/NO-SUCH-COUPON/use"),
	routeAccountOrToken(mgrRole, "GET /api/v1/members"),
	routeAccountOrToken(mgrRole, "GET /api/v1/members/{id}").at("/api/v1/members/no-such-member"),
	routeAccountOrToken(mgrRole, "POST /api/v1/members/{id}/adjust").at("/api/v1/members/no-such-member/adjust"),
	routeAccountOrToken(mgrRole, "POST /api/v1/members/{id}/freeze").at("/api/v1/members/no-such-member/freeze"),
	routeAccountOrToken(mgrRole, "PUT /api/v1/members/{id}/zone").at("/api/v1/members/no-such-member/zone"),
	routeAccountOrToken(mgrRole, "PUT /api/v1/members/{id}/tags").at("/api/v1/members/no-such-member/tags"),
	routeAccountOrToken(agentRole, "POST /api/v1/members/{id}/coupons").at("/api/v1/members/no-such-member/coupons"),
	routeAccountOrToken(mgrRole, "GET /api/v1/rights"),
	routeAccountOrToken(mgrRole, "POST /api/v1/rights"),
	routeAccountOrToken(mgrRole, "PUT /api/v1/rights/{id}").at("/api/v1/rights/no-such-right"),
	routeAccountOrToken(mgrRole, "DELETE /api/v1/rights/{id}").at("/api/v1/rights/no-such-right"),
	routeAccountOrToken(mgrRole, "GET /api/v1/campaigns"),
	routeAccountOrToken(mgrRole, "POST /api/v1/campaigns"),
	routeAccountOrToken(mgrRole, "GET /api/v1/category-multipliers"),
	routeAccountOrToken(mgrRole, "PUT /api/v1/category-multipliers"),
	routeAccountOrToken(mgrRole, "POST /api/v1/segments/preview"),
	routeAccountOrToken(mgrRole, "POST /api/v1/segments/send"),
}

// malformedBody is the body of every write: each handler that reads a
// body refuses it, so an allowed write changes nothing.
const malformedBody = `{"not json`

// method and path of a row's request.
func (r authzRow) request() (method, path string) {
	method, path, ok := strings.Cut(r.pattern, " ")
	if !ok {
		method, path = http.MethodGet, r.pattern
	}
	if r.path != "" {
		path = r.path
	}
	return method, path
}

func (r authzRow) writes() bool {
	m, _ := r.request()
	return m != http.MethodGet && m != http.MethodHead
}

// authzCaller is who sends a request: nobody, an account's API token or
// browser session, or the server's admin token.
type authzCaller struct {
	name       string
	role       handoff.Role // "" for anonymous and the admin token
	adminToken bool
	session    bool
	// csrfOK is true for a session sending its own CSRF token.
	csrfOK bool
	hdr    map[string]string
}

// want is the status the row's check answers caller with: 401 or 403,
// or 0 when the request passes authorization.
func (r authzRow) want(c authzCaller) int {
	switch r.kind {
	case authzPublic:
		return 0
	case authzSigned:
		return http.StatusUnauthorized // refused however it is sent; see checkAuthz
	case authzAdminToken:
		if c.adminToken {
			return 0
		}
		return http.StatusUnauthorized
	}
	switch {
	case c.adminToken && r.kind == authzAccountOrToken:
		return 0
	case c.role == "":
		return http.StatusUnauthorized // anonymous, or the admin token where it is no account
	case c.session && r.writes() && !c.csrfOK:
		return http.StatusForbidden // CSRF is checked before the role
	case !c.role.AtLeast(r.min):
		return http.StatusForbidden
	}
	return 0
}

// passedAuthz are the answers of a request that got past authorization to
// a handler refusing a harmless request (or doing a harmless one).
var passedAuthz = []int{200, 201, 204, 400, 404, 409, 415, 422}

// authzSend makes one request and returns its status; it does not wait for a
// stream's end (the event routes).
func (s *server) authzSend(method, path, body string, hdr map[string]string) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkAuthz sends row's request as c and reports an answer that does
// not match the table.
func checkAuthz(t *testing.T, s *server, row authzRow, c authzCaller) {
	t.Helper()
	method, path := row.request()
	got := s.authzSend(method, path, malformedBody, c.hdr)
	want := row.want(c)
	switch {
	case row.kind == authzSigned:
		// Unsigned: refused before the body is read (405 where the
		// platform only posts).
		if got != http.StatusUnauthorized && got != http.StatusMethodNotAllowed {
			t.Errorf("%s as %s: %d, want 401 (or 405): webhooks take only signed requests", row.pattern, c.name, got)
		}
	case want != 0 && got != want:
		t.Errorf("%s as %s: %d, want %d", row.pattern, c.name, got, want)
	case want == 0 && !slices.Contains(passedAuthz, got):
		t.Errorf("%s as %s: %d, want it past authorization (one of %v)", row.pattern, c.name, got, passedAuthz)
	}
}

// startAuthzServer runs the app with every optional part on (loyalty, web
// chat, care, all four platforms against an API that is down), so that
// every route is registered, and session cookies marked Secure.
func startAuthzServer(t *testing.T) *careServer {
	t.Helper()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	s := startCareServer(t, func(c *configs.Config) {
		c.Loyalty.Enabled, c.Care.Enabled, c.Webchat.Enabled = true, true, true
		c.Console.CookieSecure = true
		c.Channels = configs.Channels{
			Telegram: configs.Telegram{Token: "987654:authz-test-token", WebhookSecret: "authz-hook-secret", APIBase: down.URL},
			LINE:     configs.LINE{ChannelSecret: "authz-line-secret", ChannelToken: "authz-line-token", APIBase: down.URL},
			WeChat:   configs.WeChat{AppID: "wx0123456789abcdef", AppSecret: "authz-wechat-secret", Token: "authzwechattoken", APIBase: down.URL},
			WeCom: configs.WeCom{CorpID: "ww0123456789abcdef", Secret: "authz-wecom-secret", Token: "authzwecomtoken",
				EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", APIBase: down.URL},
		}
	})
	if s.app.loyalty == nil || s.app.webchat == nil {
		t.Fatal("the loyalty programme or the web chat is off: their routes are not registered")
	}
	return s
}

// TestEveryRouteIsInTheAuthorizationTable reads the routes registered in
// the source (bot, the login routes of handoff, the web chat's) and
// fails on a route the table does not list, and on a row for a route
// that is gone.
func TestEveryRouteIsInTheAuthorizationTable(t *testing.T) {
	s := startAuthzServer(t)
	registered, platforms := sourceRoutes(t, ".", "../handoff", "../channels/webchat")
	// The platforms' webhooks are registered in a loop over the configured
	// platforms; every platform the source builds must be on in the test.
	if len(s.app.platforms) != platforms {
		t.Fatalf("the test server runs %d platforms, the source builds %d: configure the new one in startAuthzServer", len(s.app.platforms), platforms)
	}
	var routes []string
	for _, r := range registered {
		method, ok := strings.CutSuffix(r, `" + p.path`)
		if !ok {
			routes = append(routes, r)
			continue
		}
		method = strings.TrimPrefix(method, `"`)
		for _, p := range s.app.platforms {
			routes = append(routes, method+p.path)
		}
	}
	inTable := map[string]bool{}
	for _, row := range authzTable {
		if inTable[row.pattern] {
			t.Errorf("%s is in the table twice", row.pattern)
		}
		inTable[row.pattern] = true
		if strings.Contains(row.pattern, "{") && row.path == "" {
			t.Errorf("%s has wildcards but no request path", row.pattern)
		}
	}
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r] = true
		if !inTable[r] {
			t.Errorf("route %q has no row in authzTable: add who may call it", r)
		}
	}
	for _, row := range authzTable {
		if !seen[row.pattern] {
			t.Errorf("authzTable lists %q, which the server no longer registers", row.pattern)
		}
	}
	if len(routes) < 70 {
		t.Errorf("found only %d routes in the source: is the parser still finding them?", len(routes))
	}
}

// sourceRoutes returns the first argument of every mux.Handle and
// mux.HandleFunc call in the non-test Go files of dirs (a pattern, or for
// a computed one its expression), and how many platform{} values bot's
// source builds.
func sourceRoutes(t *testing.T, dirs ...string) (routes []string, platforms int) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					if id, ok := n.Type.(*ast.Ident); ok && id.Name == "platform" && dir == "." {
						platforms++
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(n.Args) != 2 {
						return true
					}
					if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "mux" {
						if lit, ok := n.Args[0].(*ast.BasicLit); !ok || lit.Kind != token.STRING {
							return true // not a route: slog's Handle(ctx, record) and the like
						}
						t.Errorf("%s: %s registered on %s, not on a mux this test knows", fset.Position(n.Pos()), sel.Sel.Name, types.ExprString(sel.X))
						return true
					}
					if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						p, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						routes = append(routes, p)
						return true
					}
					expr := types.ExprString(n.Args[0])
					if !strings.HasSuffix(expr, `" + p.path`) {
						t.Errorf("%s: route pattern %s is computed in a way this test cannot list", fset.Position(n.Pos()), expr)
					}
					routes = append(routes, expr)
				}
				return true
			})
		}
	}
	return routes, platforms
}

// consoleLogin opens a console session and returns its cookie and CSRF token,
// checking the cookie's attributes.
func consoleLogin(t *testing.T, s *server, name string, secure bool) (cookie, csrf string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":"correct horse battery"}`, name)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ CSRF string }
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK || me.CSRF == "" {
		t.Fatalf("login %s: %d %v %+v", name, resp.StatusCode, err, me)
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == handoff.SessionCookie {
			c = k
		}
	}
	if c == nil || c.Value == "" {
		t.Fatalf("login %s set no session cookie", name)
	}
	if !c.HttpOnly {
		t.Errorf("session cookie is not HttpOnly: scripts could read it")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie SameSite = %v, want Strict", c.SameSite)
	}
	if c.Secure != secure {
		t.Errorf("session cookie Secure = %v with console.cookie_secure %v", c.Secure, secure)
	}
	if c.Path != "/" {
		t.Errorf("session cookie path %q, want /", c.Path)
	}
	return handoff.SessionCookie + "=" + c.Value, me.CSRF
}

// TestAuthorizationTable sends every route's request as nobody, as
// accounts of each role (API tokens, then browser sessions with and
// without the CSRF header) and with the admin token, and checks each
// answer against the table: 401 without credentials, 403 for too low a
// role or a session write without CSRF, past authorization otherwise.
func TestAuthorizationTable(t *testing.T) {
	s := startAuthzServer(t)
	tokens := map[handoff.Role]string{
		agentRole: s.agentTok, supRole: s.supervisTok,
		mgrRole: s.addAgent("mia", mgrRole), adminRole: s.addAgent("root", adminRole),
	}
	names := map[handoff.Role]string{agentRole: "alice", supRole: "sam", mgrRole: "mia", adminRole: "root"}
	roles := []handoff.Role{agentRole, supRole, mgrRole, adminRole}

	callers := []authzCaller{
		{name: "anonymous"},
		{name: "a wrong token", hdr: bearer("not-a-token")},
		{name: "the server's admin token", adminToken: true, hdr: bearer(s.app.admin)},
	}
	for _, r := range roles {
		callers = append(callers, authzCaller{name: string(r) + " API token", role: r, hdr: bearer(tokens[r])})
	}
	sessions := map[handoff.Role][2]string{}
	for _, r := range roles {
		cookie, csrf := consoleLogin(t, s.server, names[r], true)
		sessions[r] = [2]string{cookie, csrf}
		callers = append(callers,
			authzCaller{name: string(r) + " session", role: r, session: true, csrfOK: true, hdr: map[string]string{"Cookie": cookie, handoff.CSRFHeader: csrf}},
			authzCaller{name: string(r) + " session without CSRF header", role: r, session: true, hdr: map[string]string{"Cookie": cookie}},
			authzCaller{name: string(r) + " session with a wrong CSRF header", role: r, session: true, hdr: map[string]string{"Cookie": cookie, handoff.CSRFHeader: "wrong"}})
	}

	const logout = "POST /api/v1/auth/logout"
	for _, row := range authzTable {
		for _, c := range callers {
			if row.pattern == logout && c.csrfOK {
				continue // it would end the session; checked below
			}
			checkAuthz(t, s.server, row, c)
		}
	}

	// Logging out needs the CSRF header too, ends the session and clears
	// the cookie with the same attributes.
	sess := sessions[agentRole]
	if got := s.authzSend(http.MethodPost, "/api/v1/auth/logout", "", map[string]string{"Cookie": sess[0]}); got != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d, want 403", got)
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/auth/logout", nil)
	req.Header.Set("Cookie", sess[0])
	req.Header.Set(handoff.CSRFHeader, sess[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		if c.Name == handoff.SessionCookie && c.MaxAge < 0 {
			cleared = c.HttpOnly && c.Secure && c.SameSite == http.SameSiteStrictMode
		}
	}
	if !cleared {
		t.Errorf("logout did not clear the cookie with HttpOnly, Secure and SameSite=Strict: %v", resp.Header.Values("Set-Cookie"))
	}
	if got := s.authzSend(http.MethodGet, "/api/v1/auth/me", "", map[string]string{"Cookie": sess[0]}); got != http.StatusUnauthorized {
		t.Errorf("the session still works after logout: %d", got)
	}
}

// TestSessionCookieIsNotSecureWhenTurnedOff checks the other side of
// console.cookie_secure: off (plain HTTP in development), the cookie
// must still be HttpOnly and SameSite=Strict.
func TestSessionCookieIsNotSecureWhenTurnedOff(t *testing.T) {
	s := startCareServer(t)
	cookie, csrf := consoleLogin(t, s.server, "alice", false)
	hdr := map[string]string{"Cookie": cookie}
	if got := s.authzSend(http.MethodPost, "/api/v1/tickets/1/claim", "", hdr); got != http.StatusForbidden {
		t.Errorf("a session write without CSRF: %d, want 403", got)
	}
	hdr[handoff.CSRFHeader] = csrf
	if got := s.authzSend(http.MethodGet, "/api/v1/auth/me", "", hdr); got != http.StatusOK {
		t.Errorf("the session does not work: %d", got)
	}
}
