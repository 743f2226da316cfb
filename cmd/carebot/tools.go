package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/store"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", "Prints carebot's version, commit and Go version.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	v, rev := version, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	fmt.Fprintf(stdout, "carebot %s", v)
	if rev != "" {
		fmt.Fprintf(stdout, " (%s)", rev)
	}
	fmt.Fprintf(stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func runConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, "Usage: carebot config check [--config FILE]\n")
			return nil
		}
		return fmt.Errorf("%w: want 'carebot config check [--config FILE]'", errUsage)
	}
	fs := newFlags("config check", "[--config FILE]",
		"Validates the effective configuration (embedded defaults < --config file < CAREBOT_* environment)\nand prints it as YAML with secrets masked. Errors name the key and, for files, the line.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	out, err := cfg.Masked()
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	var set []string
	for env, key := range envVarsSet() {
		set = append(set, fmt.Sprintf("%s (%s)", env, key))
	}
	sort.Strings(set)
	if len(set) > 0 {
		fmt.Fprintf(stderr, "from the environment: %s\n", strings.Join(set, ", "))
	}
	fmt.Fprintln(stderr, "configuration OK")
	return nil
}

func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "[--config FILE] [--data DIR] [--addr HOST:PORT] FILE",
		"Writes a consistent copy of the database to FILE (\"-\" for standard output).\nWhen a carebot server holds the database, the copy is taken through its\nadmin API at --addr with the admin token (admin.token in the data directory).", stderr)
	var cf commonFlags
	cf.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want exactly one FILE argument", errUsage)
	}
	target := fs.Arg(0)
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	dbPath := filepath.Join(cfg.Data.Dir, bot.DBFile)
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no database at %s: %w", dbPath, err)
	}
	write := func(w io.Writer) (int64, string, error) {
		s, err := store.Open(dbPath, store.Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
		if errors.Is(err, store.ErrInUse) {
			n, err := backupFromServer(cfg.Server.Addr, cfg.Admin.Token, cfg.Data.Dir, w)
			return n, "from the running server at " + cfg.Server.Addr, err
		}
		if err != nil {
			return 0, "", err
		}
		defer s.Close()
		n, err := s.Backup(w)
		return n, "from " + dbPath, err
	}
	if target == "-" {
		_, _, err := write(stdout)
		return err
	}
	tmp := target + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	n, from, err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = verifyBackup(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("rename backup: %w", err)
	}
	fmt.Fprintf(stderr, "backup written to %s (%d bytes, %s)\n", target, n, from)
	return nil
}

// verifyBackup opens the copy, so a truncated download is never kept.
func verifyBackup(path string) error {
	s, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("backup copy does not open, discarded: %w", err)
	}
	return s.Close()
}

func backupFromServer(addr, token, dataDir string, w io.Writer) (int64, error) {
	resp, err := adminDo(addr, token, dataDir, http.MethodGet, "/api/v1/admin/backup", nil, 30*time.Minute)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("download backup: %w", err)
	}
	return n, nil
}

// adminDo calls the admin API of the server that holds the database, with
// the admin token from the configuration or the data directory. A non-2xx
// answer is an error carrying the server's message.
func adminDo(addr, token, dataDir, method, path string, body io.Reader, timeout time.Duration) (*http.Response, error) {
	if token == "" {
		b, err := os.ReadFile(filepath.Join(dataDir, bot.AdminTokenFile))
		if err != nil {
			return nil, fmt.Errorf("the database is in use by a running carebot, and its admin token could not be read (set CAREBOT_ADMIN_TOKEN): %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if host, port, ok := strings.Cut(addr, ":"); ok && (host == "" || host == "0.0.0.0") {
		addr = "127.0.0.1:" + port
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("the database is in use, and the server at %s did not answer: %w", addr, err)
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("server at %s: %s %s", addr, resp.Status, strings.TrimSpace(string(msg)))
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose releases the request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func runHealth(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", "[--config FILE] [--addr HOST:PORT]",
		"Asks the server at --addr for /readyz and exits 0 when it is ready, 1 otherwise.\nDocker's HEALTHCHECK uses it, so the image needs no curl.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	addr := cfg.Server.Addr
	// A server listening on all interfaces is reached on loopback.
	if host, port, ok := strings.Cut(addr, ":"); ok && (host == "" || host == "0.0.0.0") {
		addr = "127.0.0.1:" + port
	}
	client := &http.Client{Timeout: 4 * time.Second}
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		return fmt.Errorf("server at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server at %s is not ready: %s %s", addr, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "ready: %s", body)
	return nil
}
