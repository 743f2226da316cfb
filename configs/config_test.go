package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "carebot.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) string { return "" }

func TestEmbeddedDefaultsAreValid(t *testing.T) {
	cfg, err := Load("", noEnv)
	if err != nil {
		t.Fatalf("embedded defaults: %v", err)
	}
	if cfg.Server.Addr != "127.0.0.1:8080" || cfg.Data.Dir != "./carebot-data" || !cfg.Webchat.Enabled {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if cfg.Outbox.BaseBackoff.D() != time.Second || cfg.Data.SeenEventTTL.D() != 72*time.Hour {
		t.Fatalf("durations not parsed: %+v", cfg.Outbox)
	}
}

func TestPrecedenceDefaultsFileEnv(t *testing.T) {
	path := writeConfig(t, "server:\n  addr: 0.0.0.0:9000\noutbox:\n  max_attempts: 3\n")
	env := map[string]string{"CAREBOT_ADDR": "127.0.0.1:7000", "CAREBOT_ADMIN_TOKEN": "s3cret-token-value"}
	cfg, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:7000" {
		t.Errorf("env did not win over file: %s", cfg.Server.Addr)
	}
	if cfg.Outbox.MaxAttempts != 3 {
		t.Errorf("file did not win over defaults: %d", cfg.Outbox.MaxAttempts)
	}
	if cfg.Outbox.Concurrency != 4 {
		t.Errorf("key absent from file lost its default: %d", cfg.Outbox.Concurrency)
	}
	out, err := cfg.Masked()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") || !strings.Contains(string(out), "token: '***'") {
		t.Errorf("secret not masked:\n%s", out)
	}
	if !strings.Contains(string(out), "base_backoff: 1s") {
		t.Errorf("durations not printed in Go syntax:\n%s", out)
	}
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"unknown key", "server:\n  adr: x\n", []string{":2:", `unknown key "server.adr"`, `did you mean "addr"`}},
		{"unknown section", "serverz:\n  addr: x\n", []string{":1:", `unknown key "serverz"`}},
		{"bad duration", "outbox:\n  concurrency: 2\n  base_backoff: 10 seconds\n", []string{":3:", "outbox.base_backoff", `invalid duration "10 seconds"`}},
		{"int expected", "outbox:\n  concurrency: many\n", []string{":2:", "outbox.concurrency", "whole number"}},
		{"bool expected", "webchat:\n  enabled: sometimes\n", []string{":2:", "webchat.enabled", "true or false"}},
		{"invalid yaml", "server: [\n", []string{"yaml"}},
		{"bad value", "dialog:\n  default_locale: fr\n", []string{"dialog.default_locale", `"fr"`}},
		{"two problems", "server:\n  adr: x\nlog:\n  levle: debug\n", []string{"server.adr", "log.levle"}},
		{"unknown key in a list item", "handoff:\n  staff:\n    - {channel: line, chatid: C1}\n", []string{":3:", `unknown key "handoff.staff[0].chatid"`, `did you mean "chat_id"`}},
		{"list expected", "handoff:\n  causes: 物流慢\n", []string{":2:", "handoff.causes", "want a list"}},
		{"bad follow-up", "handoff:\n  severe:\n    follow_ups: [24h, tomorrow]\n", []string{":3:", "handoff.severe.follow_ups[1]", "invalid duration"}},
		{"bad queue", "handoff:\n  mild:\n    queue: boss\n", []string{"handoff.mild.queue", `"boss"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.body), noEnv)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMissingFileAndBadEnvAreClear(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load("", func(k string) string {
		if k == "CAREBOT_WEBCHAT_ENABLED" {
			return "perhaps"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "CAREBOT_WEBCHAT_ENABLED") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, "# nothing\n"), noEnv)
	if err != nil || cfg.Server.Addr != "127.0.0.1:8080" {
		t.Fatalf("cfg=%+v err=%v", cfg, err)
	}
}

func TestEnvVarsListsAddrAndData(t *testing.T) {
	vars := EnvVars()
	if vars["CAREBOT_ADDR"] != "server.addr" || vars["CAREBOT_DATA"] != "data.dir" {
		t.Fatalf("EnvVars = %v", vars)
	}
}

func TestRepliesComplete(t *testing.T) {
	r, err := LoadReplies()
	if err != nil {
		t.Fatal(err)
	}
	if r["greeting"]["zh-Hant"] == "" {
		t.Fatal("greeting has no zh-Hant text")
	}
	if _, err := ParseReplies([]byte("greeting:\n  en: hi\nbogus:\n  en: x\n"), "x.yaml"); err == nil ||
		!strings.Contains(err.Error(), `unknown reply key "bogus"`) || !strings.Contains(err.Error(), "greeting.zh-Hans: missing") {
		t.Fatalf("incomplete replies: %v", err)
	}
}

func TestMaskedHidesSecretsInListsWithoutChangingTheConfig(t *testing.T) {
	hash := "$2a$10$abcdefghijklmnopqrstuuOj8bm0QW1o0nQ3m9x1aH8b5T8zq7Xq2"
	cfg, err := Load(writeConfig(t, "console:\n  accounts:\n    - {name: lee, role: admin, password_hash: \""+hash+"\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Masked()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), hash) || !strings.Contains(string(out), "password_hash: '***'") {
		t.Errorf("account hash not masked:\n%s", out)
	}
	if cfg.Console.Accounts[0].PasswordHash != hash {
		t.Errorf("masking changed the live config: %q", cfg.Console.Accounts[0].PasswordHash)
	}
}
