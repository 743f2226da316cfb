package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds carebot once per test run with -trimpath, the way release
// binaries and the Docker image are built: gojieba's compiled-in dictionary
// path is then useless and the dictionaries must be found another way.
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "carebot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "carebot")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build -trimpath: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServe(t testing.TB, bin, addr, data string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "serve", "--addr", addr, "--data", data), stderr: &syncBuffer{}, done: make(chan error, 1)}
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

// cleanEnv drops CAREBOT_* variables of the developer's shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAREBOT_") {
			env = append(env, kv)
		}
	}
	return env
}

func waitReady(t testing.TB, p *proc, addr string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 60*time.Second {
		select {
		case err := <-p.done:
			t.Fatalf("server exited early: %v\n%s", err, p.stderr.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("server not ready after 60s\n%s", p.stderr.String())
	return 0
}

// askCount gives each ask its own conversation: asking one question again
// in the same conversation is a sign of frustration the bot reacts to.
var askCount atomic.Int64

func ask(t *testing.T, addr, text, locale string) string {
	t.Helper()
	session := fmt.Sprintf("cli-test-session-%d", askCount.Add(1))
	body, _ := json.Marshal(map[string]string{"session": session, "text": text, "locale": locale})
	resp, err := http.Post("http://"+addr+"/api/v1/webchat/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Replies []struct{ Text string } `json:"replies"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Replies) == 0 {
		t.Fatalf("ask %q: status %d, %v %+v", text, resp.StatusCode, err, out)
	}
	return out.Replies[0].Text
}

func TestTrimpathBinaryServesBacksUpAndShutsDown(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	p := startServe(t, bin, addr, data)
	waitReady(t, p, addr)

	if got := ask(t, addr, "运费怎么算", "zh-Hans"); !strings.Contains(got, "99") {
		t.Errorf("zh-Hans answer about shipping: %q", got)
	}
	if got := ask(t, addr, "How much is shipping?", "en"); !strings.Contains(got, "99") {
		t.Errorf("en answer about shipping: %q", got)
	}

	// A second process on the same data fails fast and says why.
	second := exec.Command(bin, "serve", "--addr", freeAddr(t), "--data", data)
	second.Env = cleanEnv()
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "database is in use by another carebot") {
		t.Errorf("second server: err=%v output=%s", err, out)
	}

	// A hot backup through the running server opens and holds the chat.
	backup := filepath.Join(t.TempDir(), "copy.db")
	cmd := exec.Command(bin, "backup", "--addr", addr, "--data", data, backup)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	s, err := store.Open(backup, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	s.Close()
	if st, _ := os.Stat(backup); st == nil || st.Size() < 4096 {
		t.Fatalf("backup too small: %v", st)
	}

	// Knowledge base tools reach the running server through its admin API.
	ask(t, addr, "寄到火星要多少运费呀朋友", "zh-Hans")
	cmd = exec.Command(bin, "kb", "unanswered", "--addr", addr, "--data", data)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "寄到火星要多少运费呀朋友") {
		t.Fatalf("kb unanswered via server: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "kb", "add-question", "--addr", addr, "--data", data, "shipping-fee", "寄到火星要多少运费呀朋友")
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "added") {
		t.Fatalf("kb add-question via server: %v\n%s", err, out)
	}
	if got := ask(t, addr, "寄到火星要多少运费呀朋友", "zh-Hans"); !strings.Contains(got, "99") {
		t.Errorf("added question not answered live: %q", got)
	}

	// SIGHUP reloads the knowledge base while the server keeps serving.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), `reason=SIGHUP`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.stderr.String(), `reason=SIGHUP`) {
		t.Fatalf("no reload after SIGHUP:\n%s", p.stderr.String())
	}
	if got := ask(t, addr, "寄到火星要多少运费呀朋友", "zh-Hans"); !strings.Contains(got, "99") {
		t.Errorf("after SIGHUP reload: %q", got)
	}

	// SIGTERM shuts down gracefully with exit status 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
		p.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", p.stderr.String())
	}

	// With the server stopped, backup reads the file directly.
	cmd = exec.Command(bin, "backup", "--data", data, filepath.Join(t.TempDir(), "offline.db"))
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "carebot.db") {
		t.Fatalf("offline backup: %v\n%s", err, out)
	}
}

func TestChatInTheTerminal(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "chat", "--data", t.TempDir())
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader("你好\n1\nHow much is shipping?\n/locale zh-Hant\n运费怎么算\n/quit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"bot> 您好", "[1] ", "Orders", "免運"} {
		if !strings.Contains(text, want) {
			t.Errorf("chat transcript lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "bot> "); n != 4 {
		t.Errorf("%d bot messages, want 4 (greeting, button answer, two answers):\n%s", n, text)
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("server:\n  addr: 127.0.0.1:9\noutbox:\n  base_backoff: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("admin:\n  token: very-secret-admin-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		notInOut string
	}{
		{"help", []string{"--help"}, 0, []string{"serve", "chat", "backup", "config", "version"}, nil, ""},
		{"serve help", []string{"serve", "--help"}, 0, nil, []string{"--addr", "--data", "--config"}, ""},
		{"chat help", []string{"chat", "--help"}, 0, nil, []string{"--locale"}, ""},
		{"backup help", []string{"backup", "--help"}, 0, nil, []string{"FILE"}, ""},
		{"version", []string{"version"}, 0, []string{"carebot ", "go1."}, nil, ""},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`}, ""},
		{"unknown flag", []string{"serve", "--adr", "x"}, 2, nil, []string{"-adr"}, ""},
		{"config check ok", []string{"config", "check", "--config", good}, 0, []string{"addr: 127.0.0.1:8080", "token: '***'"}, []string{"configuration OK"}, "very-secret"},
		{"config check bad", []string{"config", "check", "--config", bad}, 1, nil, []string{"bad.yaml:4", "outbox.base_backoff", `"soon"`}, ""},
		{"config check missing", []string{"config", "check", "--config", filepath.Join(dir, "missing.yaml")}, 1, nil, []string{"missing.yaml"}, ""},
		{"backup without file", []string{"backup"}, 2, nil, []string{"FILE"}, ""},
		{"backup no database", []string{"backup", "--data", filepath.Join(dir, "empty"), filepath.Join(dir, "x.db")}, 1, nil, []string{"no database"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if tt.notInOut != "" && strings.Contains(stdout.String()+stderr.String(), tt.notInOut) {
				t.Errorf("output shows %q", tt.notInOut)
			}
		})
	}
}

// BenchmarkServeStartup measures the time from starting the -trimpath
// binary to /readyz answering 200, with a fresh data directory each time.
func BenchmarkServeStartup(b *testing.B) {
	bin := binary(b)
	for b.Loop() {
		addr := freeAddr(b)
		p := startServe(b, bin, addr, b.TempDir())
		waitReady(b, p, addr)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
		p.done <- nil
	}
}
