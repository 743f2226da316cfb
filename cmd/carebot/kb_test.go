package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const smallKB = `text,category
How much is shipping?,shipping
do you ship for free,shipping
what does delivery cost,shipping
运费怎么算,shipping
When will my parcel arrive,delivery
how many days does delivery take,delivery
多久能到,delivery
Can I get a refund,refund
how do I get my money back,refund
退款怎么申请,refund
`

func TestKBEval(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kb.csv":   smallKB,
		"test.csv": "text,category\nhow much does shipping cost,shipping\nhow many days until delivery,delivery\nI want my money back,refund\n運費怎麼算,shipping\n",
		"oos.csv":  "text,category\nzzyzx plover quux,oos\n",
	})
	code, out, errOut := runCLI(t, "kb", "eval", "--kb", filepath.Join(dir, "kb.csv"), "--test", filepath.Join(dir, "test.csv"), "--oos", filepath.Join(dir, "oos.csv"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, key := range []string{"top1", "top3", "mrr", "answered", "clarified", "rejected", "oos_rejected", "p50_us", "p99_us", "build_ms"} {
		if _, ok := res[key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, out)
		}
	}
	if res["top1"] != 1 || res["oos_rejected"] != 1 || res["questions"] != 4 {
		t.Fatalf("results %v", res)
	}
	code, out, _ = runCLI(t, "kb", "eval", "--kb", filepath.Join(dir, "kb.csv"), "--test", filepath.Join(dir, "test.csv"))
	if code != 0 || !strings.Contains(out, "top-1") || !strings.Contains(out, "100.0%") || !strings.Contains(out, "p50") {
		t.Fatalf("text output (%d):\n%s", code, out)
	}
	if code, _, errOut = runCLI(t, "kb", "eval", "--kb", filepath.Join(dir, "missing.csv"), "--test", filepath.Join(dir, "test.csv")); code != 1 || !strings.Contains(errOut, "missing.csv") {
		t.Fatalf("missing file: %d %s", code, errOut)
	}
	if code, _, _ = runCLI(t, "kb", "eval"); code != 2 {
		t.Fatalf("no flags: exit %d, want 2", code)
	}
}

func TestKBImportThenLint(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"q.csv": smallKB,
		"a.csv": "category,locale,answer\nshipping,en,Free over ¥99.\nshipping,zh-Hans,满 99 元包邮。\ndelivery,en,2 to 4 days.\ndelivery,zh-Hans,2 到 4 天。\nrefund,en,Within 7 days.\nrefund,zh-Hans,7 天内退款。\n",
	})
	kbDir := filepath.Join(dir, "kb")
	if err := os.Mkdir(kbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(kbDir, "imported.yaml")
	code, _, errOut := runCLI(t, "kb", "import", "--questions", filepath.Join(dir, "q.csv"), "--answers", filepath.Join(dir, "a.csv"), "--out", out)
	if code != 0 || !strings.Contains(errOut, "wrote 3 entries") {
		t.Fatalf("import: %d %s", code, errOut)
	}
	body, _ := os.ReadFile(out)
	if !strings.Contains(string(body), "id: shipping") || !strings.Contains(string(body), "满 99 元包邮") {
		t.Fatalf("imported file:\n%s", body)
	}
	code, stdout, errOut := runCLI(t, "kb", "lint", "--dir", kbDir)
	if code != 0 || !strings.Contains(errOut, "3 entries, 0 errors") {
		t.Fatalf("lint of imported KB: %d\n%s%s", code, stdout, errOut)
	}
	// A question shared by two entries is an error.
	bad := strings.Replace(string(body), "When will my parcel arrive", "How much is shipping?", 1)
	if err := os.WriteFile(out, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "kb", "lint", "--dir", kbDir)
	if code != 1 || !strings.Contains(stdout, "duplicate-question") {
		t.Fatalf("lint of a duplicate: %d\n%s", code, stdout)
	}
	// Import refuses categories without answers.
	partial := filepath.Join(dir, "partial.csv")
	_ = os.WriteFile(partial, []byte("category,locale,answer\nshipping,en,Free.\n"), 0o644)
	if code, _, errOut = runCLI(t, "kb", "import", "--questions", filepath.Join(dir, "q.csv"), "--answers", partial); code != 1 || !strings.Contains(errOut, `"refund" has no answer`) {
		t.Fatalf("import without answers: %d %s", code, errOut)
	}
}

func TestKBAddQuestionAndUnansweredOffline(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := runCLI(t, "kb", "unanswered", "--data", data)
	if code != 0 || !strings.Contains(out, "no unanswered questions") {
		t.Fatalf("empty list: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "kb", "add-question", "--data", data, "shipping-fee", "寄到火星要多少运费")
	if code != 0 || !strings.Contains(out, "added") {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "kb", "add-question", "--data", data, "shipping-fee", "寄到火星要多少运费")
	if code != 0 || !strings.Contains(out, "nothing added") {
		t.Fatalf("add again: %d %s", code, out)
	}
	if code, _, errOut = runCLI(t, "kb", "add-question", "--data", data, "no-such-entry", "x"); code != 1 || !strings.Contains(errOut, "no-such-entry") {
		t.Fatalf("unknown entry: %d %s", code, errOut)
	}
	if code, _, _ = runCLI(t, "kb", "add-question", "--data", data, "only-one-arg"); code != 2 {
		t.Fatalf("one argument: exit %d", code)
	}
}

func TestKBEvalOnAYAMLKnowledgeBase(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"test.csv": "text,category\n满多少钱可以包邮,shipping-fee\nhow do I track my parcel,order-tracking\n發票怎麼開,invoice\n",
	})
	code, out, errOut := runCLI(t, "kb", "eval", "--kb", "../../configs/kb", "--test", filepath.Join(dir, "test.csv"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res["entries"] != 55 || res["kb_questions"] < 500 || res["top3"] != 1 {
		t.Fatalf("demo knowledge base eval: %v", res)
	}
}
