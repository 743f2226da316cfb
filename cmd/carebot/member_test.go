package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/store"
)

// membersCSV is a small import with good rows and one of each mistake.
// Columns are in an unusual order: the header decides.
const membersCSV = "\ufeffname,id,phone,birthday,tier,points,channel,channel_user\n" +
	"张三,C001,13800000001,1990-05-01,silver,1200,webchat,sess-zhangsan-01\n" + // line 2
	"\"Smith, John\",C002,+1 555 0100,,regular,0,,\n" + // 3: a quoted comma, optional values empty
	"李四,C003,13800000003,1990-13-01,regular,10,,\n" + // 4: bad birthday
	"王五,C001,13800000004,1991-01-01,gold,5,,\n" + // 5: duplicate id in the file
	",C004,13800000005,1992-02-02,regular,5,,\n" + // 6: missing name
	"赵六,C005,13800000006,1993-03-03,regular,lots,,\n" + // 7: points not a number
	"钱七,C006,13800000007,1994-04-04,platinum,5,,\n" + // 8: unknown tier
	"孙八,C007,13800000008\n" + // 9: too few fields
	"周九,,13800000009,1995-05-05,regular,5,,\n" + // 10: no id
	"\xd6\xdc\xca\xae,C008,13800000010,1996-06-06,regular,5,,\n" + // 11: GBK, not UTF-8
	"吴十,C009,13800000011,1997-07-07,diamond,25000,,\n" + // 12
	"郑一,C010,13800000012,1998-08-08,regular,5,webchat,sess-zhangsan-01\n" // 13: chat identity of line 2 again

// memberRun runs the CLI in this process and returns its output.
func memberRun(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMemberImportReportsRejectsAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := writeFile(t, dir, "members.csv", membersCSV)

	out, errOut, code := memberRun("member", "import", file, "--data", data)
	if code != 1 {
		t.Fatalf("import with bad rows: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "12 rows read") || !strings.Contains(out, "3 members created, 0 already present, 9 rejected") {
		t.Errorf("first run summary: %q", out)
	}
	for _, want := range []string{
		"line 4 (id C003): ", "1990-13-01",
		"line 5 (id C001): duplicate id: the same id is on line 2",
		"line 6 (id C004): ", "name",
		"line 7 (id C005): points \"lots\" is not a whole number",
		"line 8 (id C006): ", "platinum",
		"line 9 (id C007): 3 fields, the header has 8",
		"line 10: id is empty",
		"line 11 (id C008): not UTF-8",
		"line 13 (id C010): duplicate chat identity webchat/sess-zhangsan-01: the same one is on line 2",
		"9 rows rejected (listed above); the other rows are imported",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, line := range []string{"line 2", "line 3", "line 12"} {
		if strings.Contains(errOut, line+" ") {
			t.Errorf("good row rejected (%s):\n%s", line, errOut)
		}
	}

	// Running it again changes nothing and says so; rejects go to a file.
	rejects := filepath.Join(dir, "rejects.csv")
	out, errOut, code = memberRun("member", "import", "--data", data, file, "--rejects", rejects)
	if code != 1 || !strings.Contains(out, "0 members created, 3 already present, 9 rejected") {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(errOut, "line 4") || !strings.Contains(errOut, "listed in "+rejects) {
		t.Errorf("with --rejects, stderr should only point at the file:\n%s", errOut)
	}
	f, err := os.Open(rejects)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatalf("rejects file is not CSV: %v", err)
	}
	if len(recs) != 10 || strings.Join(recs[0], ",") != "line,id,reason" || recs[1][0] != "4" || recs[1][1] != "C003" {
		t.Errorf("rejects file: %q", recs)
	}

	// The imported members are there, with their points, tier and chat
	// identity; the second run did not credit the points twice.
	out, errOut, code = memberRun("member", "show", "C001", "--data", data)
	if code != 0 {
		t.Fatalf("show C001: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"C001", "张三", "13800000001", "1990-05-01", "silver", "1200 points", "import"} {
		if !strings.Contains(out, want) {
			t.Errorf("show C001 lacks %q:\n%s", want, out)
		}
	}
	out, _, code = memberRun("member", "show", "--json", "--data", data, "C009")
	var prof bot.MemberDetail
	if err := json.Unmarshal([]byte(out), &prof); code != 0 || err != nil {
		t.Fatalf("show --json: exit %d, %v\n%s", code, err, out)
	}
	if prof.Member.Name != "吴十" || prof.Member.Tier != "diamond" || prof.Balance.Points != 25000 || len(prof.Ledger) != 1 || prof.Stage == "" {
		t.Errorf("C009 after two imports: %+v", prof)
	}
	out, _, _ = memberRun("member", "show", "--json", "--data", data, "C002")
	if err := json.Unmarshal([]byte(out), &prof); err != nil || prof.Member.Name != "Smith, John" || prof.Balance.Points != 0 || len(prof.Ledger) != 0 {
		t.Errorf("C002 (quoted comma, no points): %v %+v", err, prof)
	}
	_, errOut, code = memberRun("member", "show", "C404", "--data", data)
	if code != 1 || !strings.Contains(errOut, "no such member") {
		t.Errorf("show of an unknown member: exit %d %q", code, errOut)
	}
}

// TestMemberImportLeavesNothingOfARowRefusedHalfWay imports a row whose
// chat identity belongs to a frozen member: the programme refuses the merge
// after it has created the new member, so the batch is rolled back and
// replayed without that row. Nothing of the row stays, and a re-run
// refuses it the same way instead of finding a half-imported member.
func TestMemberImportLeavesNothingOfARowRefusedHalfWay(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.Dir = data
	app, err := bot.New(cfg, bot.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	err = app.Store().Update(func(tx store.Tx) error {
		m, _, err := app.Loyalty().EnsureMember(tx, "webchat", "sess-frozen")
		if err != nil {
			return err
		}
		return app.Loyalty().Freeze(tx, m.ID, true, "abuse", "test")
	})
	if cerr := app.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, dir, "m.csv", "id,name,phone,birthday,tier,points,channel,channel_user\n"+
		"C100,甲,,,,100,webchat,sess-imported\n"+
		"C101,乙,,,,200,webchat,sess-frozen\n"+
		"C102,丙,,,,300,,\n")
	for run := range 2 {
		out, errOut, code := memberRun("member", "import", file, "--data", data)
		want := "2 members created, 0 already present, 1 rejected"
		if run == 1 {
			want = "0 members created, 2 already present, 1 rejected"
		}
		if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "line 3 (id C101): ") || !strings.Contains(errOut, "frozen") {
			t.Fatalf("run %d: exit %d\n%s%s", run+1, code, out, errOut)
		}
	}
	// A later file naming a chat identity an imported member has: refused
	// after the new member was written, rolled back too.
	later := writeFile(t, dir, "later.csv", "id,name,phone,birthday,tier,points,channel,channel_user\n"+
		"C103,丁,,,,400,webchat,sess-imported\n")
	for run := range 2 {
		out, errOut, code := memberRun("member", "import", later, "--data", data)
		if code != 1 || !strings.Contains(out, "0 members created, 0 already present, 1 rejected") || !strings.Contains(errOut, "already belongs to imported member C100") {
			t.Fatalf("later file, run %d: exit %d\n%s%s", run+1, code, out, errOut)
		}
	}
	for _, id := range []string{"C101", "C103"} {
		if _, errOut, code := memberRun("member", "show", id, "--data", data); code != 1 || !strings.Contains(errOut, "no such member") {
			t.Errorf("the refused row %s left a member behind: exit %d %s", id, code, errOut)
		}
	}
	for id, points := range map[string]string{"C100": "100 points", "C102": "300 points"} {
		if out, _, code := memberRun("member", "show", id, "--data", data); code != 0 || !strings.Contains(out, points) {
			t.Errorf("%s after the rollback: exit %d\n%s", id, code, out)
		}
	}
}

func TestMemberImportStopsOnABadFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, tc := range []struct {
		what, content string
		args          []string
		code          int
		want          string
	}{
		{"no file argument", "", nil, 2, "exactly one FILE.csv"},
		{"missing file", "", []string{filepath.Join(dir, "nope.csv")}, 1, "nope.csv"},
		{"empty file", "", []string{"@"}, 1, "needs a header row"},
		{"missing columns", "id,name\nC1,A\n", []string{"@"}, 1, "missing columns phone, birthday, tier, points"},
		{"unknown column", "id,name,phone,birthday,tier,points,email\n", []string{"@"}, 1, `unknown column "email"`},
		{"repeated column", "id,name,phone,birthday,tier,points,name\n", []string{"@"}, 1, `column "name" appears twice`},
		{"half an identity", "id,name,phone,birthday,tier,points,channel\n", []string{"@"}, 1, "channel and channel_user go together"},
		{"bad batch", "", []string{"@", "--batch", "0"}, 2, "--batch"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			args := append([]string{"member", "import", "--data", data}, tc.args...)
			for i, a := range args {
				if a == "@" {
					args[i] = writeFile(t, t.TempDir(), "m.csv", tc.content)
				}
			}
			out, errOut, code := memberRun(args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d %q %q, want %d and %q", code, out, errOut, tc.code, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"member"}, "want a command"},
		{[]string{"member", "delete", "C1"}, "unknown command"},
		{[]string{"member", "show"}, "exactly one member ID"},
		{[]string{"member", "show", "C1", "--ledger", "0"}, "--ledger"},
	} {
		if _, errOut, code := memberRun(tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestMemberImportLargeBatchesAndPlainProgress(t *testing.T) {
	// 2,500 rows in batches of 1,000: three transactions, and the plain
	// progress line of a non-terminal stderr after each (the interval is
	// zero here).
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := filepath.Join(dir, "m.csv")
	if err := writeMembersCSV(file, 2500); err != nil {
		t.Fatal(err)
	}
	var pr bytes.Buffer
	p := newProgress(&pr, 100, &countingReader{n: 50})
	p.every = 0
	p.update(1000)
	if got := pr.String(); !strings.HasPrefix(got, "member import: 1000 rows (50%") {
		t.Errorf("plain progress line: %q", got)
	}
	out, errOut, code := memberRun("member", "import", file, "--data", data, "--batch", "1000")
	if code != 0 || !strings.Contains(out, "2500 rows read") || !strings.Contains(out, "2500 members created, 0 already present, 0 rejected") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = memberRun("member", "import", file, "--data", data, "--batch", "1000")
	if code != 0 || !strings.Contains(out, "0 members created, 2500 already present, 0 rejected") {
		t.Fatalf("re-run: exit %d\n%s", code, out)
	}
}

// TestMemberImportProgressBarOnATerminal runs the import under script(1),
// which gives it a pseudo-terminal: the bar is drawn and ends at 100%.
func TestMemberImportProgressBarOnATerminal(t *testing.T) {
	bin := binary(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "m.csv")
	if err := writeMembersCSV(file, 3000); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "-qec", fmt.Sprintf("%s member import %s --data %s", bin, file, filepath.Join(dir, "data")), "/dev/null")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("import on a terminal: %v\n%s", err, out)
	}
	for _, want := range []string{"\r[##############################] 100%  3000 rows", "3000 members created"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
}

func TestMemberCommandsWhileServing(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := writeFile(t, dir, "members.csv", membersCSV)
	if _, errOut, code := memberRun("member", "import", file, "--data", data); code != 1 {
		t.Fatalf("offline import: exit %d\n%s", code, errOut)
	}
	addr := freeAddr(t)
	p := startServe(t, bin, addr, data)
	waitReady(t, p, addr)

	// The import refuses to run beside the server, and says why.
	_, errOut, code := agentRun(t, bin, "", "member", "import", file, "--data", data)
	if code != 1 || !strings.Contains(errOut, "a carebot server is running") || !strings.Contains(errOut, "stop it") {
		t.Errorf("import while serving: exit %d %q", code, errOut)
	}

	// An order through the shop API, then 'member show' through the
	// server's admin API sees it.
	tok, err := os.ReadFile(filepath.Join(data, bot.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	st, body, _ := agentAPI(t, "POST", "http://"+addr+"/api/v1/orders",
		`{"order_id":"SO-1","channel":"webchat","user":"sess-zhangsan-01","amount":88.5,"currency":"CNY","category":"shoes"}`,
		map[string]string{"Authorization": "Bearer " + strings.TrimSpace(string(tok))})
	if st != 200 {
		t.Fatalf("order: %d %v", st, body)
	}
	out := agentOK(t, bin, "", "member", "show", "C001", "--data", data, "--addr", addr)
	for _, want := range []string{"张三", "silver", "1306 points", "order"} { // 1200 + floor(88.5 × 1.2)
		if !strings.Contains(out, want) {
			t.Errorf("show while serving lacks %q:\n%s", want, out)
		}
	}
	out = agentOK(t, bin, "", "member", "show", "C001", "--json", "--ledger", "1", "--data", data, "--addr", addr)
	var prof bot.MemberDetail
	if err := json.Unmarshal([]byte(out), &prof); err != nil || len(prof.Ledger) != 1 || prof.Ledger[0].Order != "SO-1" {
		t.Errorf("show --json --ledger 1 while serving: %v\n%s", err, out)
	}
	_, errOut, code = agentRun(t, bin, "", "member", "show", "C404", "--data", data, "--addr", addr)
	if code != 1 || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "no such member") {
		t.Errorf("show unknown while serving: exit %d %q", code, errOut)
	}
}
