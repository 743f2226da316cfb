package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// agentRun runs the built binary with stdin and returns its output and
// exit status.
func agentRun(t *testing.T, bin, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// agentOK runs a command that must succeed and returns its standard output.
func agentOK(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := agentRun(t, bin, stdin, args...)
	if code != 0 {
		t.Fatalf("carebot %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// agentAPI calls the server's API and decodes a JSON answer.
func agentAPI(t *testing.T, method, url, body string, hdr map[string]string) (int, map[string]any, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp
}

// agentServe starts 'carebot serve' with a configuration file.
func agentServe(t *testing.T, bin, config string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "serve", "--config", config), stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	p.cmd.Env = cleanEnv()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func agentNames(t *testing.T, listJSON string) string {
	t.Helper()
	var list []struct {
		Name, Role string
		Config     bool
	}
	if err := json.Unmarshal([]byte(listJSON), &list); err != nil {
		t.Fatalf("agent list --json: %v: %q", err, listJSON)
	}
	var out []string
	for _, a := range list {
		s := a.Name + ":" + a.Role
		if a.Config {
			s += ":config"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestAgentCommandsOfflineAndWhileServing(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)

	hash := strings.TrimSpace(agentOK(t, bin, "boss password\n", "agent", "hash", "--password-stdin"))
	if !strings.HasPrefix(hash, "$2a$10$") || len(hash) != 60 {
		t.Fatalf("agent hash printed %q", hash)
	}
	config := filepath.Join(dir, "carebot.yaml")
	yaml := fmt.Sprintf("server:\n  addr: %s\ndata:\n  dir: %s\nconsole:\n  accounts:\n    - name: boss\n      role: admin\n      password_hash: %q\n", addr, data, hash)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cf := []string{"--config", config}
	agent := func(args ...string) []string { return append(append([]string{"agent"}, args...), cf...) }

	// With the server stopped: the commands open the database.
	if out := agentOK(t, bin, "alice password\n", agent("add", "alice", "--role", "agent", "--password-stdin")...); out != "added alice (agent)\n" {
		t.Errorf("add alice: %q", out)
	}
	out, errOut, code := agentRun(t, bin, "another password\n", agent("add", "alice", "--role", "agent", "--password-stdin")...)
	if code != 1 || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--reset") {
		t.Errorf("adding alice twice: exit %d %q %q", code, out, errOut)
	}
	aliceToken := strings.TrimSpace(agentOK(t, bin, "", agent("token", "alice")...))
	if !strings.HasPrefix(aliceToken, "cbt_") || strings.Contains(aliceToken, "\n") {
		t.Fatalf("token alice printed %q", aliceToken)
	}
	if got := agentNames(t, agentOK(t, bin, "", agent("list", "--json")...)); got != "alice:agent boss:admin:config" {
		t.Errorf("offline list: %s", got)
	}

	p := agentServe(t, bin, config)
	waitReady(t, p, addr)
	base := "http://" + addr

	// The token issued offline works on the running server.
	if st, me, _ := agentAPI(t, "GET", base+"/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + aliceToken}); st != 200 || me["name"] != "alice" {
		t.Fatalf("me with alice's token: %d %v", st, me)
	}

	// While it runs: the commands go through its admin API.
	if out := agentOK(t, bin, "bob password\r\n", agent("add", "bob", "--role", "supervisor", "--password-stdin")...); out != "added bob (supervisor)\n" {
		t.Errorf("add bob while serving: %q", out)
	}
	st, login, resp := agentAPI(t, "POST", base+"/api/v1/auth/login", `{"name":"bob","password":"bob password"}`, nil)
	if st != 200 || login["role"] != "supervisor" || len(resp.Cookies()) != 1 {
		t.Fatalf("bob's login (password read up to CR LF): %d %v", st, login)
	}
	bobToken := strings.TrimSpace(agentOK(t, bin, "", agent("token", "bob")...))
	if st, me, _ := agentAPI(t, "GET", base+"/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + bobToken}); st != 200 || me["name"] != "bob" {
		t.Fatalf("me with bob's token: %d %v", st, me)
	}
	if got := agentNames(t, agentOK(t, bin, "", agent("list", "--json")...)); got != "alice:agent bob:supervisor boss:admin:config" {
		t.Errorf("list while serving: %s", got)
	}
	if out := agentOK(t, bin, "", agent("list")...); !strings.Contains(out, "boss   admin       config") {
		t.Errorf("list table:\n%s", out)
	}

	// Configuration accounts cannot be changed from the CLI.
	_, errOut, code = agentRun(t, bin, "new boss password\n", agent("add", "boss", "--role", "agent", "--password-stdin", "--reset")...)
	if code != 1 || !strings.Contains(errOut, "console.accounts") {
		t.Errorf("reset of a config account: exit %d %q", code, errOut)
	}
	// The config admin logs in with the password whose hash is configured,
	// and adds a colleague from the console (session + CSRF token).
	st, login, resp = agentAPI(t, "POST", base+"/api/v1/auth/login", `{"name":"boss","password":"boss password"}`, nil)
	if st != 200 {
		t.Fatalf("boss login: %d %v", st, login)
	}
	c := resp.Cookies()[0]
	session := map[string]string{"Cookie": c.Name + "=" + c.Value}
	if st, _, _ := agentAPI(t, "POST", base+"/api/v1/admin/agents", `{"name":"carol","role":"agent","password":"carol password"}`, session); st != http.StatusForbidden {
		t.Errorf("console admin without CSRF token: %d", st)
	}
	session["X-CSRF-Token"] = login["csrf"].(string)
	if st, body, _ := agentAPI(t, "POST", base+"/api/v1/admin/agents", `{"name":"carol","role":"agent","password":"carol password"}`, session); st != http.StatusCreated || body["name"] != "carol" {
		t.Errorf("console admin adds carol: %d %v", st, body)
	}
	if st, _, _ := agentAPI(t, "GET", base+"/api/v1/admin/agents", "", map[string]string{"Authorization": "Bearer " + bobToken}); st != http.StatusForbidden {
		t.Errorf("supervisor on the account admin API: %d", st)
	}

	// Revoking, resetting and removing take effect at once.
	if out := agentOK(t, bin, "", agent("token", "alice", "--revoke")...); out != "revoked 1 tokens of alice\n" {
		t.Errorf("revoke: %q", out)
	}
	if st, _, _ := agentAPI(t, "GET", base+"/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + aliceToken}); st != 401 {
		t.Errorf("revoked token: %d", st)
	}
	agentOK(t, bin, "alice's new password\n", agent("add", "alice", "--reset", "--role", "supervisor", "--password-stdin")...)
	if st, login, _ := agentAPI(t, "POST", base+"/api/v1/auth/login", `{"name":"alice","password":"alice's new password"}`, nil); st != 200 || login["role"] != "supervisor" {
		t.Errorf("alice after reset: %d %v", st, login)
	}
	if out := agentOK(t, bin, "", agent("remove", "bob")...); out != "removed bob\n" {
		t.Errorf("remove: %q", out)
	}
	if st, _, _ := agentAPI(t, "GET", base+"/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + bobToken}); st != 401 {
		t.Errorf("removed account's token: %d", st)
	}
	_, errOut, code = agentRun(t, bin, "", agent("token", "nobody")...)
	if code != 1 || !strings.Contains(errOut, "no such account") {
		t.Errorf("token for a missing account: exit %d %q", code, errOut)
	}
}

func TestAgentCommandLineMistakes(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	for _, tc := range []struct {
		what, stdin string
		args        []string
		code        int
		want        string
	}{
		{"no command", "", []string{"agent"}, 2, "want a command"},
		{"unknown command", "", []string{"agent", "fire", "bob"}, 2, "unknown command"},
		{"no role", "x", []string{"agent", "add", "bob", "--password-stdin"}, 2, "--role is required"},
		{"bad role", "x", []string{"agent", "add", "bob", "--role", "root", "--password-stdin"}, 2, "agent, supervisor, manager, admin"},
		{"bad name", "x", []string{"agent", "add", "bob smith", "--role", "agent"}, 2, "letters, digits"},
		{"two names", "x", []string{"agent", "add", "bob", "carol", "--role", "agent"}, 2, "exactly one"},
		{"short password", "short\n", []string{"agent", "add", "bob", "--role", "agent", "--password-stdin"}, 1, "at least 8"},
		{"empty stdin", "", []string{"agent", "add", "bob", "--role", "agent", "--password-stdin"}, 1, "standard input"},
		{"no terminal", "", []string{"agent", "add", "bob", "--role", "agent"}, 2, "--password-stdin"},
		{"password as argument", "", []string{"agent", "hash", "hunter22"}, 2, "shell history"},
	} {
		args := append(tc.args, "--data", data)
		if len(tc.args) < 2 || tc.args[1] == "hash" {
			args = tc.args
		}
		_, errOut, code := agentRun(t, bin, tc.stdin, args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d %q, want %d and %q", tc.what, code, errOut, tc.code, tc.want)
		}
	}
	// None of the mistakes left an account behind.
	if out := agentOK(t, bin, "", "agent", "list", "--json", "--data", data); strings.TrimSpace(out) != "[]" {
		t.Errorf("accounts after failed commands: %s", out)
	}
}

// TestAgentPromptsOnTerminal types the password on a real terminal: script(1)
// gives the command a pseudo-terminal, so term.ReadPassword is exercised.
func TestAgentPromptsOnTerminal(t *testing.T) {
	bin := binary(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	for _, tc := range []struct {
		typed, want string
	}{
		{"typed password\ntyped password\n", "$2a$10$"},
		{"typed password\nanother one\n", "the two passwords differ"},
	} {
		cmd := exec.Command(script, "-qec", bin+" agent hash", "/dev/null")
		cmd.Env = cleanEnv()
		cmd.Stdin = strings.NewReader(tc.typed)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "Repeat it") || !strings.Contains(string(out), tc.want) {
			t.Errorf("typed %q: %s", tc.typed, out)
		}
	}
}
