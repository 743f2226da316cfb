package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCronCommandsOfflineAndWhileServing(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	config := filepath.Join(dir, "carebot.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, "server:\n  addr: %s\ndata:\n  dir: %s\n", addr, data), 0o600); err != nil {
		t.Fatal(err)
	}
	cf := []string{"--config", config}
	cronCmd := func(args ...string) []string { return append(append([]string{"cron"}, args...), cf...) }

	// Two members with a birthday on 1 December, one of whom consented;
	// both have a web chat to be greeted in.
	csv := filepath.Join(dir, "members.csv")
	rows := "id,name,phone,birthday,tier,points,channel,channel_user,zone,consent\n" +
		"C1,王小明,,1990-12-01,gold,0,webchat,session-cron-1,Asia/Shanghai,yes\n" +
		"C2,李小红,,1992-12-01,,0,webchat,session-cron-2,,no\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	agentOK(t, bin, "", append([]string{"member", "import", csv}, cf...)...)

	var list struct {
		Zone string `json:"zone"`
		Jobs []struct {
			Name, Spec string
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(agentOK(t, bin, "", cronCmd("list", "--json")...)), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range list.Jobs {
		names = append(names, j.Name)
	}
	if got := strings.Join(names, " "); list.Zone != "Asia/Shanghai" || got != "points-expiry tier-review birthday recall nps new-member follow-ups weekly-report" {
		t.Fatalf("jobs in %s: %s", list.Zone, got)
	}
	if out := agentOK(t, bin, "", cronCmd("list")...); !strings.Contains(out, "birthday") || !strings.Contains(out, "0 9 * * *") {
		t.Errorf("list table:\n%s", out)
	}

	// A dry run prints who would get what, and changes nothing.
	at := "2026-12-01T09:00:00+08:00"
	out := agentOK(t, bin, "", cronCmd("run", "birthday", "--at", at, "--dry-run")...)
	for _, want := range []string{"C1", "王小明", "webchat/session-cron-1", "2026-12-01 09:00", "C2", "(skipped: no consent)", "would queue (dry run, nothing changed) 1, skipped 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	// The real run, while the server runs (through its admin API), queues
	// the greeting once.
	p := agentServe(t, bin, config)
	waitReady(t, p, addr)
	if out := agentOK(t, bin, "", cronCmd("run", "birthday", "--at", at)...); !strings.Contains(out, "queued 1, skipped 1") {
		t.Errorf("run while serving:\n%s", out)
	}
	if out := agentOK(t, bin, "", cronCmd("run", "birthday", "--at", at)...); !strings.Contains(out, "queued 0, skipped 2") || !strings.Contains(out, "already sent") {
		t.Errorf("second run:\n%s", out)
	}
	_, errOut, code := agentRun(t, bin, "", cronCmd("run", "nope")...)
	if code == 0 || !strings.Contains(errOut, "unknown cron job") {
		t.Errorf("unknown job: exit %d %q", code, errOut)
	}
	_, errOut, code = agentRun(t, bin, "", cronCmd("run", "birthday", "--at", "tomorrow")...)
	if code != 2 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("bad --at: exit %d %q", code, errOut)
	}
}
