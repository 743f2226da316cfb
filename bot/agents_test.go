package bot

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
)

// agentCall sends a raw body with optional headers and decodes the answer.
func (s *server) agentCall(method, path, body string, hdr map[string]string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("%s %s: status %d, answer is not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestAgentAdminAPI(t *testing.T) {
	hash, err := handoff.HashPassword("boss password")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Console.Accounts = []configs.ConsoleAccount{{Name: "boss", Role: "admin", PasswordHash: hash}}
	s := startServer(t, cfg)
	admin := map[string]string{"Authorization": "Bearer " + s.app.admin}

	for _, tc := range []struct {
		what, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"no token", "POST", "/api/v1/admin/agents", `{"name":"alice","role":"agent","password":"alice password"}`, nil, 401},
		{"wrong token", "GET", "/api/v1/admin/agents", "", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"add", "POST", "/api/v1/admin/agents", `{"name":"alice","role":"agent","password":"alice password"}`, admin, 201},
		{"add twice", "POST", "/api/v1/admin/agents", `{"name":"alice","role":"agent","password":"alice password"}`, admin, 409},
		{"config name", "POST", "/api/v1/admin/agents", `{"name":"boss","role":"agent","password":"boss password","reset":true}`, admin, 409},
		{"bad role", "POST", "/api/v1/admin/agents", `{"name":"bob","role":"root","password":"bob password"}`, admin, 400},
		{"bad name", "POST", "/api/v1/admin/agents", `{"name":"bob/../x","role":"agent","password":"bob password"}`, admin, 400},
		{"short password", "POST", "/api/v1/admin/agents", `{"name":"bob","role":"agent","password":"short"}`, admin, 400},
		{"malformed", "POST", "/api/v1/admin/agents", `{"name":`, admin, 400},
		{"unknown field", "POST", "/api/v1/admin/agents", `{"name":"bob","role":"agent","password":"bob password","admin":true}`, admin, 400},
		{"huge", "POST", "/api/v1/admin/agents", `{"name":"` + strings.Repeat("b", 70<<10) + `"}`, admin, 413},
		{"reset missing", "POST", "/api/v1/admin/agents", `{"name":"bob","role":"agent","password":"bob password","reset":true}`, admin, 404},
		{"token missing", "POST", "/api/v1/admin/agents/nobody/tokens", "", admin, 404},
		{"remove missing", "DELETE", "/api/v1/admin/agents/nobody", "", admin, 404},
		{"remove config", "DELETE", "/api/v1/admin/agents/boss", "", admin, 409},
	} {
		if got, body := s.agentCall(tc.method, tc.path, tc.body, tc.hdr); got != tc.want || (got >= 400 && body["error"] == nil) {
			t.Errorf("%s: %d %v, want %d", tc.what, got, body, tc.want)
		}
	}

	st, out := s.agentCall("POST", "/api/v1/admin/agents/alice/tokens", "", admin)
	tok, _ := out["token"].(string)
	if st != 201 || !strings.HasPrefix(tok, handoff.TokenPrefix) {
		t.Fatalf("token: %d %v", st, out)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	if st, me := s.agentCall("GET", "/api/v1/auth/me", "", bearer); st != 200 || me["name"] != "alice" || me["role"] != "agent" {
		t.Errorf("me with alice's token: %d %v", st, me)
	}
	// An agent's token is not an admin's.
	if st, _ := s.agentCall("GET", "/api/v1/admin/agents", "", bearer); st != 403 {
		t.Errorf("agent on the admin API: %d", st)
	}
	st, out = s.agentCall("GET", "/api/v1/admin/agents", "", admin)
	list, _ := json.Marshal(out["agents"])
	if st != 200 || !strings.Contains(string(list), `"name":"alice","role":"agent"`) || !strings.Contains(string(list), `"name":"boss","role":"admin"`) {
		t.Errorf("list: %d %s", st, list)
	}
	if strings.Contains(string(list), "$2a$") {
		t.Errorf("list shows a password hash: %s", list)
	}
	if st, out := s.agentCall("DELETE", "/api/v1/admin/agents/alice/tokens", "", admin); st != 200 || out["revoked"] != 1.0 {
		t.Errorf("revoke: %d %v", st, out)
	}
	if st, _ := s.agentCall("GET", "/api/v1/auth/me", "", bearer); st != 401 {
		t.Errorf("revoked token: %d", st)
	}
	if st, _ := s.agentCall("DELETE", "/api/v1/admin/agents/alice", "", admin); st != 200 {
		t.Errorf("remove alice: %d", st)
	}
	// The configured admin logs in; the API answers unknown routes as before.
	if st, out := s.agentCall("POST", "/api/v1/auth/login", `{"name":"boss","password":"boss password"}`, nil); st != 200 || out["role"] != "admin" {
		t.Errorf("config admin login: %d %v", st, out)
	}
	if st, _ := s.agentCall("GET", "/api/v1/auth/nothing", "", nil); st != 404 {
		t.Errorf("unknown auth route: %d", st)
	}
}

func TestAgentSessionSurvivesRestart(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	s := startServer(t, cfg)
	if _, err := s.app.Auth().AddAccount("alice", handoff.RoleAgent, "alice password", false); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.base+"/api/v1/auth/login", strings.NewReader(`{"name":"alice","password":"alice password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	c := resp.Cookies()[0]
	s.stop()
	s = startServer(t, cfg)
	if st, me := s.agentCall("GET", "/api/v1/auth/me", "", map[string]string{"Cookie": c.Name + "=" + c.Value}); st != 200 || me["name"] != "alice" {
		t.Errorf("me after restart: %d %v", st, me)
	}
}

func TestAgentConsoleConfig(t *testing.T) {
	hash, err := handoff.HashPassword("a password")
	if err != nil {
		t.Fatal(err)
	}
	good := configs.Console{SessionTTL: configs.Duration(12 * time.Hour), Accounts: []configs.ConsoleAccount{
		{Name: "boss", Role: "admin", PasswordHash: hash},
		{Name: "王芳", Role: "agent", PasswordHash: hash},
	}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid console config: %v", err)
	}
	for _, tc := range []struct {
		what string
		edit func(*configs.Console)
		want string
	}{
		{"no ttl", func(c *configs.Console) { c.SessionTTL = 0 }, "console.session_ttl: must be a positive"},
		{"long ttl", func(c *configs.Console) { c.SessionTTL = configs.Duration(1000 * time.Hour) }, "console.session_ttl: must be at most"},
		{"role", func(c *configs.Console) { c.Accounts[0].Role = "root" }, `console.accounts[0].role: "root"`},
		{"name", func(c *configs.Console) { c.Accounts[1].Name = "a b" }, "console.accounts[1].name"},
		{"dup", func(c *configs.Console) { c.Accounts[1].Name = "boss" }, `console.accounts[1].name: "boss" is already console.accounts[0]`},
		{"plain password", func(c *configs.Console) { c.Accounts[0].PasswordHash = "hunter22" }, "console.accounts[0].password_hash: want a bcrypt hash"},
		{"bad cost", func(c *configs.Console) { c.Accounts[0].PasswordHash = hash[:4] + "99" + hash[6:] }, "password_hash"},
		{"bad char", func(c *configs.Console) { c.Accounts[0].PasswordHash = hash[:59] + "!" }, "password_hash"},
	} {
		c := good
		c.Accounts = append([]configs.ConsoleAccount(nil), good.Accounts...)
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.what, err, tc.want)
		}
	}
}
