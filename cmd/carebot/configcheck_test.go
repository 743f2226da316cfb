package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckMasksEverySecret sets every secret of the configuration,
// from the file and from the environment, and checks that 'carebot
// config check' prints none of them, only "***" in their place.
func TestConfigCheckMasksEverySecret(t *testing.T) {
	const hash = "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
	secrets := []string{
		"file-admin-TOKEN-1", "123456:file-telegram-TOKEN", "file-telegram-HOOK-2",
		"file-line-SECRET-3", "file-line-TOKEN-4", "file-wechat-SECRET-5", "fileWechatTOKEN6",
		"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "file-wecom-SECRET-7", "fileWecomTOKEN8",
		"ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut", hash,
	}
	yaml := `admin: {token: ` + secrets[0] + `}
channels:
  telegram: {token: "` + secrets[1] + `", webhook_secret: ` + secrets[2] + `}
  line: {channel_secret: ` + secrets[3] + `, channel_token: ` + secrets[4] + `}
  wechat: {app_id: wx0123456789abcdef, app_secret: ` + secrets[5] + `, token: ` + secrets[6] + `, encoding_aes_key: ` + secrets[7] + `}
  wecom: {corp_id: ww0123456789abcdef, secret: ` + secrets[8] + `, token: ` + secrets[9] + `, encoding_aes_key: ` + secrets[10] + `}
console:
  accounts: [{name: boss, role: admin, password_hash: "` + secrets[11] + `"}]
`
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// The environment wins over the file: its values are secrets too.
	env := map[string]string{"CAREBOT_ADMIN_TOKEN": "env-admin-TOKEN-9", "CAREBOT_LINE_CHANNEL_TOKEN": "env-line-TOKEN-10"}
	for k, v := range env {
		t.Setenv(k, v)
		secrets = append(secrets, v)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"config", "check", "--config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	out := stdout.String() + stderr.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("config check shows the secret %q", s)
		}
	}
	// Twelve fields hold secrets (the admin token and the LINE token come
	// from the environment, still masked).
	if n := strings.Count(stdout.String(), "'***'"); n != 12 {
		t.Errorf("%d masked values, want 12:\n%s", n, stdout.String())
	}
	if !strings.Contains(stderr.String(), "CAREBOT_ADMIN_TOKEN (admin.token)") {
		t.Errorf("stderr does not name the variables it read: %s", stderr.String())
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}
