package knowledge

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/store"
)

const labeledCSV = `text,category
How much is shipping?,shipping_fee
"Do you ship for free, ever?",shipping_fee
what does delivery cost,shipping_fee
运费怎么算,shipping_fee
When will my parcel arrive,delivery_time
how many days does delivery take,delivery_time
多久能到,delivery_time
Can I get a refund,refunds
how do I get my money back,refunds
`

func TestReadLabeledCSVAndEntries(t *testing.T) {
	qs, err := ReadLabeledCSV(strings.NewReader(labeledCSV), "kb.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 9 || qs[1].Text != "Do you ship for free, ever?" {
		t.Fatalf("rows %+v", qs)
	}
	es := EntriesFromLabeled(qs)
	if len(es) != 3 || es[0].ID != "shipping_fee" || len(es[0].Questions["en"]) != 3 || es[0].Questions["zh-Hans"][0] != "运费怎么算" {
		t.Fatalf("entries %+v", es)
	}
	for _, bad := range []struct{ name, body, want string }{
		{"no header", "How much,shipping\n", "header"},
		{"empty", "", "empty file"},
		{"empty category", "text,category\nhello,\n", ":2: empty"},
		{"three fields", "text,category\na,b,c\n", ":2: want 2 fields"},
	} {
		if _, err := ReadLabeledCSV(strings.NewReader(bad.body), "x.csv"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.name, err, bad.want)
		}
	}
}

func TestImportEntriesNeedsAnswersAndMakesIDs(t *testing.T) {
	qs, _ := ReadLabeledCSV(strings.NewReader(labeledCSV), "kb.csv")
	answers, err := ReadAnswersCSV(strings.NewReader("category,locale,answer\nshipping_fee,en,Free over 99.\nshipping_fee,zh-Hans,满 99 包邮。\ndelivery_time,en,2-4 days.\n"), "a.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ImportEntries(qs, answers)
	if err == nil || !strings.Contains(err.Error(), `"refunds" has no answer`) {
		t.Fatalf("missing answer: %v", err)
	}
	answers["refunds"] = map[string]string{"en": "Within 7 days."}
	es, err := ImportEntries(qs, answers)
	if err != nil {
		t.Fatal(err)
	}
	if es[0].ID != "shipping-fee" || es[1].ID != "delivery-time" || es[0].Answer["zh-Hans"] != "满 99 包邮。" {
		t.Fatalf("entries %+v", es)
	}
	if _, err := ReadAnswersCSV(strings.NewReader("category,locale,answer\nx,fr,bonjour\n"), "a.csv"); err == nil || !strings.Contains(err.Error(), `a.csv:2: locale "fr"`) {
		t.Fatalf("bad locale: %v", err)
	}
	if slug("Card Arrival!") != "card-arrival" || slug("退款") != "entry" {
		t.Fatalf("slug: %q %q", slug("Card Arrival!"), slug("退款"))
	}
}

func TestEvaluateOnASmallKnowledgeBase(t *testing.T) {
	kb, _ := ReadLabeledCSV(strings.NewReader(labeledCSV), "kb.csv")
	tests := []LabeledQuestion{
		{"how much does shipping cost", "shipping_fee"},
		{"how many days until delivery", "delivery_time"},
		{"I want my money back", "refunds"},
		{"运费多少钱", "shipping_fee"},
	}
	oos := []LabeledQuestion{{"zzyzx plover quux", "oos"}, {"qwerty zxcvb asdfgh", "oos"}}
	res, _, err := EvaluateCSV(sharedSeg(t), kb, tests, oos, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 3 || res.KBSize != 9 || res.Questions != 4 || res.OOS != 2 {
		t.Fatalf("counts %+v", res)
	}
	if res.Top1 != 1 || res.Top3 != 1 || res.MRR != 1 {
		t.Fatalf("ranking %+v", res)
	}
	if sum := res.Answered + res.Clarified + res.Rejected; sum < 0.999 || sum > 1.001 {
		t.Fatalf("outcomes do not add up: %+v", res)
	}
	if res.OOSRejected != 1 {
		t.Fatalf("out-of-scope not rejected: %+v", res)
	}
	if res.P50us <= 0 || res.P99us < res.P50us || res.BuildMs <= 0 {
		t.Fatalf("timings %+v", res)
	}
}

func TestDecideOutcomes(t *testing.T) {
	b := testBase(t)
	d := b.Decide(b.Entries()[0].StandardQuestion("zh-Hans"), 3)
	if d.Outcome != OutcomeAnswer || d.Matches[0].Entry.ID != b.Entries()[0].ID {
		t.Fatalf("standard question: %+v", d)
	}
	if d := b.Decide("what is the capital of France", 3); d.Outcome != OutcomeReject {
		t.Fatalf("unrelated: %+v", d.Outcome)
	}
	if d := b.Decide("", 3); d.Outcome != OutcomeReject || len(d.Matches) != 0 {
		t.Fatalf("empty: %+v", d)
	}
	// With suggestions off, a near miss is rejected, never clarified.
	for _, e := range b.Entries() {
		for _, q := range e.Questions["en"] {
			words := strings.Fields(q)
			if len(words) < 3 {
				continue
			}
			if d := b.Decide(words[len(words)-1]+" something else entirely", 0); d.Outcome == OutcomeClarify {
				t.Fatalf("clarified with suggestions off: %+v", d)
			}
		}
	}
	if _, err := NewBase(sharedSeg(t), nil, Options{MinScore: 0.5, ClarifyScore: 0.7}); err == nil {
		t.Fatal("clarify score above min score accepted")
	}
}

func TestAdditionsAndLint(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "kb.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := testBase(t)
	e := b.Entries()[0]
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var added bool
	if err := st.Update(func(tx store.Tx) error {
		if err := RecordUnanswered(tx, Unanswered{Query: segment.Normalize("火星快递？"), Text: "火星快递？", Time: now}); err != nil {
			return err
		}
		_, added, err = AddQuestion(tx, b, e.ID, "", "火星快递？", "test", now)
		return err
	}); err != nil || !added {
		t.Fatalf("add: %v %v", added, err)
	}
	var adds map[string][]Addition
	var top []UnansweredStat
	_ = st.View(func(tx store.Tx) error {
		adds, _ = Additions(tx)
		top, _ = TopUnanswered(tx, 10)
		return nil
	})
	if len(adds[e.ID]) != 1 || adds[e.ID][0].Locale != "zh-Hans" || len(top) != 0 {
		t.Fatalf("additions %+v unanswered %+v", adds, top)
	}
	merged, orphans := WithAdditions(testEntries(t), map[string][]Addition{e.ID: adds[e.ID], "gone": {{Locale: "en", Text: "x"}}})
	if len(orphans) != 1 || orphans[0] != "gone" || !strings.Contains(strings.Join(merged[0].Questions["zh-Hans"], "|"), "火星快递？") {
		t.Fatalf("merged %+v orphans %v", merged[0].Questions, orphans)
	}
	if err := st.Update(func(tx store.Tx) error {
		_, _, err := AddQuestion(tx, b, "no-such-entry", "", "x", "", now)
		return err
	}); err == nil {
		t.Fatal("unknown entry accepted")
	}

	// Lint: a question shared by two entries and a missing answer.
	es := testEntries(t)
	es[1].Questions["en"] = append(es[1].Questions["en"], es[0].StandardQuestion("en"))
	delete(es[1].Answer, "en")
	lb, err := NewBase(sharedSeg(t), es, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range Lint(lb) {
		kinds[p.Kind]++
	}
	if kinds["duplicate-question"] != 1 || kinds["missing-answer"] != 1 {
		t.Fatalf("lint kinds %v", kinds)
	}
	if clean := Lint(testBase(t)); len(clean) != 0 {
		for _, p := range clean {
			if p.Severity == LintError {
				t.Fatalf("clean base has errors: %+v", clean)
			}
		}
	}
}

func testEntries(t *testing.T) []Entry {
	t.Helper()
	es, err := LoadDir("testdata/kb")
	if err != nil {
		t.Fatal(err)
	}
	return es
}
