package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/bot"
)

func checkLoadReport(t *testing.T, rep *loadReport) {
	t.Helper()
	if rep.Sent < 50 || rep.Acknowledged != rep.Sent {
		t.Fatalf("%d sent, %d acknowledged", rep.Sent, rep.Acknowledged)
	}
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.Refused != 0 {
		t.Fatalf("lost %d, duplicated %d, refused %d: %v", rep.Lost, rep.Duplicates, rep.Refused, rep.Samples)
	}
	if rep.RepliedOnce+rep.Dead != rep.Acknowledged {
		t.Fatalf("%d replied once + %d dead != %d acknowledged", rep.RepliedOnce, rep.Dead, rep.Acknowledged)
	}
	l := rep.Latency
	if l.N == 0 || l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Fatalf("latency not reported sensibly: %+v", l)
	}
	// The reply can reach the platform before the webhook's answer
	// reaches the platform, so the two are not compared.
	if a := rep.AckLatency; a.N != l.N || a.P50 <= 0 || a.P99 > a.Max {
		t.Fatalf("webhook latency %+v", a)
	}
	if rep.Window.Sent == 0 || rep.Window.RepliedPerSec <= 0 {
		t.Fatalf("window %+v", rep.Window)
	}
	for _, k := range []string{"telegram/en", "telegram/zh-Hans", "line/zh-Hant"} {
		if rep.Questions[k] < 10 {
			t.Fatalf("questions %v", rep.Questions)
		}
	}
}

// A few seconds of customers on both channels against a server in this
// process: every message is answered exactly once and latencies are
// reported.
func TestLoadtestSmoke(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"loadtest", "--server", "inprocess", "--customers", "20", "--duration", "3s", "--warmup", "500ms", "--rate", "100", "--drain", "20s", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep loadReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	checkLoadReport(t, &rep)
	if rep.Sent > 400 {
		t.Fatalf("%d messages at 100/s for 3 s", rep.Sent)
	}
	if !strings.Contains(rep.Server, "in this process") {
		t.Fatalf("server %q", rep.Server)
	}
}

// The default: the built binary starts 'carebot serve' as a child, whose
// CPU is measured apart and whose dead letters are read after it stops.
func TestLoadtestStartsAServerProcess(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "loadtest", "--customers", "10", "--duration", "2s", "--warmup", "500ms", "--rate", "60", "--channels", "telegram", "--json")
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	var rep loadReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if rep.Sent < 50 || rep.Lost != 0 || rep.Duplicates != 0 || rep.RepliedOnce != rep.Sent {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(rep.Server, "child process") || rep.CPU.ServerCores <= 0 || rep.ServerPeakRSSMB <= 0 {
		t.Fatalf("server %q, cpu %+v, rss %v", rep.Server, rep.CPU, rep.ServerPeakRSSMB)
	}
	if len(rep.Notes) != 0 {
		t.Fatalf("notes %v", rep.Notes)
	}
	if rep.Questions["telegram/en"] == 0 || rep.Questions["line/en"] != 0 {
		t.Fatalf("questions %v for --channels telegram", rep.Questions)
	}
}

// A customer who blocked the bot: the replies to them become dead letters
// with Telegram's reason, which the accounting shows instead of a loss.
func TestLoadtestAccountsDeadLetters(t *testing.T) {
	f := loadtestFlags{customers: 6, duration: 2 * time.Second, warmup: 200 * time.Millisecond, drain: 3 * time.Second, rate: 30,
		server: "inprocess", telegramAPI: "127.0.0.1:0", lineAPI: "127.0.0.1:0",
		tgToken: ltTelegramToken, tgSecret: ltTelegramSecret, lineSecret: ltLineSecret, lineToken: ltLineToken}
	// Plans are sorted line/en, line/zh-Hans, line/zh-Hant, telegram/en…:
	// customer 3 is the first on Telegram.
	f.fakesReady = func(fk *ltFakes) { fk.telegram.Block("700000003") }
	var errb bytes.Buffer
	rep, err := loadtest(context.Background(), f, []string{"telegram", "line"}, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.Dead != 1 || len(rep.DeadLetters) != 1 {
		t.Fatalf("lost %d, duplicates %d, dead %d %v; samples %v", rep.Lost, rep.Duplicates, rep.Dead, rep.DeadLetters, rep.Samples)
	}
	if d := rep.DeadLetters[0]; d.ChatID != "700000003" || !strings.Contains(d.Reason, "blocked") {
		t.Fatalf("dead letter %+v", d)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !strings.Contains(out.String(), "1 dead letters, 0 lost") || !strings.Contains(out.String(), "bot was blocked") {
		t.Fatalf("printed report:\n%s", out.String())
	}
}

// The accounting on its own: a lost message, a duplicate, a refused
// webhook and a dead letter are each counted once.
func TestLoadReportAccounting(t *testing.T) {
	tr := &ltTracker{byChat: map[string]*ltCustomer{}, answerOf: map[string]string{"A1": "a", "B1": "b"}}
	c := newCustomer("telegram", "en", 0, false)
	tr.add(c)
	base := time.Now()
	msg := func(seq int, entry string) *ltMessage {
		m := &ltMessage{seq: seq, q: ltQuestion{Text: "q" + entry, Entry: entry}, sent: base.Add(time.Duration(seq) * time.Second), done: make(chan struct{})}
		m.acked = m.sent.Add(time.Millisecond)
		c.msgs = append(c.msgs, m)
		c.unreplied = append(c.unreplied, m)
		return m
	}
	msg(0, "a")
	tr.reply("telegram", c.chat, "", "A1", base.Add(10*time.Millisecond))
	tr.reply("telegram", c.chat, "", "A1", base.Add(20*time.Millisecond)) // a duplicate
	msg(1, "b")                                                           // never answered: lost
	m2 := msg(2, "a")
	m2.refused = "500 Internal Server Error"
	msg(3, "b") // answered by a dead letter
	tr.reply("telegram", c.chat, "", "no such answer", base.Add(3*time.Second))
	tr.reply("telegram", "999", "", "A1", base.Add(3*time.Second)) // nobody's chat
	dead := ltDeadLetters{rows: []bot.OutboxRow{{Channel: "telegram", ChatID: c.chat, Text: "B1", LastError: "Forbidden: bot was blocked by the user"}}, count: 1}
	rep := tr.report([]*ltCustomer{c}, base, base.Add(10*time.Second), dead)
	if rep.Sent != 4 || rep.Acknowledged != 3 || rep.Refused != 1 {
		t.Fatalf("sent %d acknowledged %d refused %d", rep.Sent, rep.Acknowledged, rep.Refused)
	}
	if rep.RepliedOnce != 0 || rep.Duplicated != 1 || rep.Duplicates != 1 {
		t.Fatalf("replied once %d, duplicated %d (%d copies)", rep.RepliedOnce, rep.Duplicated, rep.Duplicates)
	}
	// The dead letter answers the first message still waiting for "b".
	if rep.Dead != 1 || rep.Lost != 1 || rep.Unexpected != 2 {
		t.Fatalf("dead %d lost %d unexpected %d", rep.Dead, rep.Lost, rep.Unexpected)
	}
	if rep.Latency.N != 1 || rep.Latency.P50 != 10 {
		t.Fatalf("latency %+v", rep.Latency)
	}
}

func TestLoadtestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--customers", "0"},
		{"--duration", "1s", "--warmup", "2s"},
		{"--channels", "wechat"},
		{"--rate", "-1"},
		{"--server", "docker"},
		{"--addr", "127.0.0.1:8080"}, // the fakes' addresses are needed
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"loadtest"}, args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
