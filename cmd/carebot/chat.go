package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/channels"
	"github.com/chzyer/readline"
)

// terminalChannel delivers the bot's messages to the terminal.
type terminalChannel struct {
	out io.Writer

	mu        sync.Mutex
	delivered map[uint64]bool
	buttons   []channels.Button
	cond      *sync.Cond
}

func newTerminalChannel(out io.Writer) *terminalChannel {
	t := &terminalChannel{out: out, delivered: map[uint64]bool{}}
	t.cond = sync.NewCond(&t.mu)
	return t
}

func (t *terminalChannel) Name() string { return "terminal" }

func (t *terminalChannel) Send(_ context.Context, m channels.Outbound) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.delivered[m.ID] {
		return nil
	}
	fmt.Fprintf(t.out, "bot> %s\n", strings.ReplaceAll(m.Text, "\n", "\n     "))
	if len(m.Buttons) > 0 {
		t.buttons = m.Buttons
		for i, b := range m.Buttons {
			fmt.Fprintf(t.out, "     [%d] %s\n", i+1, b.Label)
		}
	}
	t.delivered[m.ID] = true
	t.cond.Broadcast()
	return nil
}

// wait blocks until every id was delivered or the timeout passes.
func (t *terminalChannel) wait(ids []uint64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { t.mu.Lock(); t.cond.Broadcast(); t.mu.Unlock() })
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for time.Now().Before(deadline) && slices.ContainsFunc(ids, func(id uint64) bool { return !t.delivered[id] }) {
		t.cond.Wait()
	}
}

func (t *terminalChannel) button(n int) (channels.Button, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 1 || n > len(t.buttons) {
		return channels.Button{}, false
	}
	return t.buttons[n-1], true
}

func runChat(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", "[--config FILE] [--data DIR] [--locale zh-Hans|zh-Hant|en]",
		"Talks to the bot in the terminal, with the same engine, knowledge base and data as 'serve'.\nType a question; a number presses a button; /locale LOCALE switches language; /quit ends.\nThe server must not be running on the same data directory.", stderr)
	var cf commonFlags
	cf.register(fs, false)
	locale := fs.String("locale", "", "reply `locale`: zh-Hans, zh-Hant or en (default: detected from what you type)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *locale != "" && !slices.Contains([]string{"zh-Hans", "zh-Hant", "en"}, *locale) {
		return fmt.Errorf("%w: --locale must be zh-Hans, zh-Hant or en", errUsage)
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	// Logs go to a file so they do not interleave with the conversation.
	if err := os.MkdirAll(cfg.Data.Dir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.Data.Dir, "chat.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open chat log: %w", err)
	}
	defer logFile.Close()
	term := newTerminalChannel(stdout)
	app, err := bot.New(cfg, bot.WithLogger(newLogger(cfg, logFile)), bot.WithChannel(term))
	if err != nil {
		return err
	}
	defer app.Close()
	app.StartWorkers()

	user := "terminal-" + terminalUser()
	lines, closeInput, err := inputLines(stdout)
	if err != nil {
		return err
	}
	defer closeInput()
	fmt.Fprintf(stdout, "carebot chat — %d FAQ entries. Ask a question, a number presses a button, /quit ends.\n", app.Knowledge().Len())
	ctx := context.Background()
	for {
		line, err := lines()
		if errors.Is(err, io.EOF) || errors.Is(err, readline.ErrInterrupt) {
			return nil
		}
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		ev := channels.Event{Channel: term.Name(), ID: randomID(), ChatID: user, UserID: user, Locale: *locale, Text: line}
		switch {
		case line == "/quit" || line == "/exit":
			return nil
		case strings.HasPrefix(line, "/locale"):
			l := strings.TrimSpace(strings.TrimPrefix(line, "/locale"))
			if !slices.Contains([]string{"zh-Hans", "zh-Hant", "en", ""}, l) {
				fmt.Fprintln(stdout, "     (locales: zh-Hans, zh-Hant, en; empty to detect)")
				continue
			}
			*locale = l
			fmt.Fprintf(stdout, "     (locale: %s)\n", cmp(l, "detected"))
			continue
		}
		if n, err := strconv.Atoi(line); err == nil {
			b, ok := term.button(n)
			if !ok {
				fmt.Fprintln(stdout, "     (no such button)")
				continue
			}
			ev.Text, ev.Payload = "", b.Payload
		}
		res, err := app.Engine().Dispatch(ctx, ev)
		if err != nil {
			slog.Error("dispatch failed", "err", err)
			fmt.Fprintf(stdout, "     (error: %v)\n", err)
			continue
		}
		term.wait(res.OutboxIDs, 5*time.Second)
	}
}

func cmp(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// inputLines reads lines with line editing and history on a terminal, and
// plainly from a pipe (scripts, tests).
func inputLines(stdout io.Writer) (func() (string, error), func(), error) {
	if readline.DefaultIsTerminal() {
		rl, err := readline.NewEx(&readline.Config{Prompt: "you> ", Stdout: stdout})
		if err != nil {
			return nil, nil, fmt.Errorf("terminal: %w", err)
		}
		return rl.Readline, func() { rl.Close() }, nil
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return func() (string, error) {
		fmt.Fprint(stdout, "you> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", io.EOF
		}
		return sc.Text(), nil
	}, func() {}, nil
}

func terminalUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "local"
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
