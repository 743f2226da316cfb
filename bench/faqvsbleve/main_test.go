package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// tinyKB is a knowledge base small enough to read: three English and two
// Chinese entries whose questions share few words across entries, so that
// any sane ranking answers the test questions below.
var tinyKB = []knowledge.LabeledQuestion{
	{Text: "How do I reset my password?", Category: "password"},
	{Text: "I forgot my password", Category: "password"},
	{Text: "change the login password", Category: "password"},
	{Text: "Where is my parcel?", Category: "delivery"},
	{Text: "my order has not arrived yet", Category: "delivery"},
	{Text: "track the delivery of my order", Category: "delivery"},
	{Text: "I want a refund", Category: "refund"},
	{Text: "give me my money back", Category: "refund"},
	{Text: "how long does a refund take", Category: "refund"},
	{Text: "怎么修改收货地址", Category: "address"},
	{Text: "收货地址填错了", Category: "address"},
	{Text: "发票怎么开", Category: "invoice"},
	{Text: "我需要开发票", Category: "invoice"},
}

var tinyTests = []knowledge.LabeledQuestion{
	{Text: "reset password", Category: "password"},
	{Text: "my parcel has not arrived", Category: "delivery"},
	{Text: "when will I get my refund", Category: "refund"},
	{Text: "收货地址怎么改", Category: "address"},
	{Text: "能开发票吗", Category: "invoice"},
}

var tinyOOS = []knowledge.LabeledQuestion{
	{Text: "what is the weather on mars", Category: "oos"},
	{Text: "sing me a song about penguins", Category: "oos"},
}

// sharedSegmenter loads the process's segmenter, failing the test when the
// jieba dictionaries cannot be found (they come with the gojieba module).
func sharedSegmenter(t *testing.T) *segment.Segmenter {
	t.Helper()
	seg, err := segment.Shared("")
	if err != nil {
		t.Fatalf("load segmenter: %v", err)
	}
	return seg
}

// TestCompareSmall runs the whole comparison on the tiny KB with both
// bleve index types and both ways of reading categories, and checks that
// both systems indexed it, answered it, and appear in every output form.
func TestCompareSmall(t *testing.T) {
	seg := sharedSegmenter(t)
	for _, cfg := range []Config{
		{Rounds: 2, Warmup: 2, CarebotFirst: true, BleveIndex: IndexMemOnly},
		{Rounds: 1, Warmup: 0, CarebotFirst: false, BleveIndex: IndexScorch, BleveCategoryFromID: true, BleveScoring: "bm25"},
	} {
		t.Run(cfg.BleveIndex, func(t *testing.T) {
			rep, err := Compare("tiny", seg, tinyKB, tinyTests, tinyOOS, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Entries != 5 || rep.KBQuestions != len(tinyKB) || rep.Questions != len(tinyTests) || rep.OOS != len(tinyOOS) {
				t.Errorf("counts: %+v", rep)
			}
			if len(rep.Results) != 2 || rep.Results[0].System != nameCarebot || rep.Results[1].System != nameBleve {
				t.Fatalf("results: %+v", rep.Results)
			}
			for _, r := range rep.Results {
				// Not 1.0: carebot's scoring is being tuned, and a tiny KB
				// should not pin it; every question is easy, so most must
				// come out right.
				if r.Top1 < 0.6 || r.Top3 < r.Top1 {
					t.Errorf("%s: top-1 %.2f, top-3 %.2f", r.System, r.Top1, r.Top3)
				}
				if r.P50us <= 0 || r.P99us < r.P50us || r.BuildMs <= 0 {
					t.Errorf("%s: timings %+v", r.System, r)
				}
			}
			cb, bl := rep.Results[0], rep.Results[1]
			if cb.OOSRejected == nil || cb.InScopeAnswered == nil {
				t.Error("carebot has no out-of-scope numbers")
			}
			if bl.OOSRejected != nil {
				t.Error("bleve reports a rejection rate it cannot have")
			}
			if rep.Ratios.Top1 <= 0 || rep.Ratios.P50 <= 0 {
				t.Errorf("ratios: %+v", rep.Ratios)
			}

			var table bytes.Buffer
			writeTable(&table, rep)
			for _, want := range []string{"carebot", "bleve", "top-1", "top-3", "p50 latency", "p99 latency", "build ms", "heap MB", "oos rejected", "n/a"} {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
			js, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js, &back); err != nil || len(back.Results) != 2 {
				t.Errorf("JSON round trip: %v, %s", err, js)
			}
		})
	}
}

// TestBleveAnswers checks the bleve side alone: the whitespace-only
// analyzer must keep carebot's tokens (Chinese words included) intact, so
// an exact knowledge base question finds itself.
func TestBleveAnswers(t *testing.T) {
	seg := sharedSegmenter(t)
	for _, typ := range []string{IndexMemOnly, IndexScorch} {
		for _, fromID := range []bool{false, true} {
			bl, err := buildBleve(seg, tinyKB, typ, "", fromID)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tinyKB {
				if got := bl.top3(q.Text); len(got) == 0 || got[0] != q.Category {
					t.Errorf("%s fromID=%v: %q → %v, want %s first", typ, fromID, q.Text, got, q.Category)
				}
			}
			if got := bl.top3("!!!"); got != nil {
				t.Errorf("%s: a query without tokens answered %v", typ, got)
			}
			bl.index.Close()
		}
	}
	if _, err := buildBleve(seg, tinyKB, "lucene", "", false); err == nil {
		t.Error("unknown index type accepted")
	}
}

// TestRunWithoutData checks that missing shared data is a clear error,
// not a panic, and is found before anything is measured.
func TestRunWithoutData(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run([]string{"--data", filepath.Join(dir, "nope")}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "shared FAQ data not found") {
		t.Errorf("missing dir: %v", err)
	}
	err = run([]string{"--data", dir, "--sets", "clinc150"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), "oos_dev.csv") {
		t.Errorf("empty dir: %v", err)
	}
	if err := run([]string{"--data", dir, "--sets", "squad"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "unknown set") {
		t.Errorf("unknown set: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed results without data: %s", out.String())
	}
}
