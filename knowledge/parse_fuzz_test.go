package knowledge

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// addKBSeeds adds the test knowledge bases and the opening entries of
// the demo one (all of it would make a slow seed).
func addKBSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "kb", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	demo, err := os.ReadFile(filepath.Join("..", "configs", "kb", "demo.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	if i := nthIndex(string(demo), "\n  - id:", 5); i > 0 {
		demo = demo[:i+1]
	}
	f.Add(demo)
	for _, s := range []string{
		"",
		"# nothing\n",
		"entries:\n",
		"entries:\n  - id: a\n    questions: {en: [hi]}\n    answer: {en: hello}\n    buttons:\n      - label: {en: More}\n        payload: faq:a\n      - label: {en: Site}\n        url: https://example.com\n    image: https://example.com/a.png\n",
		"entries:\n  - &e {id: a, questions: {en: [x]}, answer: {en: y}}\n  - *e\n",
		"entries:\n  - id: A B\n    questions: {fr: []}\n",
		"---\nentries: []\n---\nentries: []\n",
	} {
		f.Add([]byte(s))
	}
}

func nthIndex(s, sub string, n int) int {
	at := -1
	for range n {
		i := strings.Index(s[at+1:], sub)
		if i < 0 {
			return -1
		}
		at += 1 + i
	}
	return at
}

// FuzzParse parses arbitrary knowledge base files. It must never panic;
// the entries of a file that parses have valid, unique ids, at least one
// question, answers only in known locales and buttons that resolve; and
// the file round-trips: the entries written back as YAML parse to the
// same entries.
func FuzzParse(f *testing.F) {
	addKBSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, e := range entries {
			if !idPattern.MatchString(e.ID) || ids[e.ID] {
				t.Fatalf("entry id %q is invalid or repeated", e.ID)
			}
			ids[e.ID] = true
			if len(e.Questions) == 0 || len(e.Answer) == 0 {
				t.Fatalf("entry %s has no question or no answer", e.ID)
			}
			for l := range e.Answer {
				if !isLocale(l) {
					t.Fatalf("entry %s answers in locale %q", e.ID, l)
				}
			}
		}
		for _, e := range entries {
			for _, b := range e.Buttons {
				if id, ok := strings.CutPrefix(b.Payload, faqPrefix); ok && !ids[id] {
					t.Fatalf("entry %s has a button to %q, which is not there", e.ID, b.Payload)
				}
			}
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(map[string]any{"entries": entries}); err != nil {
			t.Fatalf("cannot write the entries: %v", err)
		}
		again, err := Parse(buf.Bytes(), "written.yaml")
		if err != nil {
			t.Fatalf("the written entries do not parse: %v\n%s", err, buf.Bytes())
		}
		// Compared in their written form: "tags: []" reads as an empty
		// list, which is written as no tags, which reads as nil.
		var buf2 bytes.Buffer
		if err := yaml.NewEncoder(&buf2).Encode(map[string]any{"entries": again}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) || len(entries) != len(again) {
			t.Fatalf("round trip changed the entries:\n%s\n---\n%s", buf.Bytes(), buf2.Bytes())
		}
	})
}

// writeCSV writes a header and rows as CSV.
func writeCSV(t *testing.T, header []string, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadLabeledCSV reads arbitrary text,category files: it must never
// panic; rows it returns have a text and a category without surrounding
// spaces; and they round-trip through a CSV writer.
func FuzzReadLabeledCSV(f *testing.F) {
	f.Add([]byte(labeledCSV))
	f.Add([]byte("\ufefftext , category\r\n\"a, \"\"quoted\"\" text\",c1\r\n  spaced  ,  c2  \n"))
	f.Add([]byte("text,category\n\"multi\nline\",c\n"))
	f.Add([]byte("text,category\na,b,c\n"))
	f.Add([]byte("category,text\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := ReadLabeledCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			return
		}
		rows := make([][]string, len(qs))
		for i, q := range qs {
			if q.Text == "" || q.Category == "" || strings.TrimSpace(q.Text) != q.Text || strings.TrimSpace(q.Category) != q.Category {
				t.Fatalf("row %d: %+v", i, q)
			}
			rows[i] = []string{q.Text, q.Category}
		}
		out := writeCSV(t, []string{"text", "category"}, rows)
		again, err := ReadLabeledCSV(bytes.NewReader(out), "written.csv")
		if err != nil {
			t.Fatalf("the written rows do not read: %v\n%q", err, out)
		}
		if !slices.Equal(qs, again) {
			t.Fatalf("round trip changed the rows:\n%q\n%q", qs, again)
		}
	})
}

// FuzzReadAnswersCSV reads arbitrary category,locale,answer files: it
// must never panic; what it returns has known locales and non-empty
// categories and answers; it round-trips through a CSV writer; and with
// the questions of labeledCSV, ImportEntries makes entries with unique
// valid ids that write out as a knowledge base Parse reads back.
func FuzzReadAnswersCSV(f *testing.F) {
	f.Add([]byte("category,locale,answer\nshipping_fee,en,Free over 99.\nshipping_fee,zh-Hans,满 99 包邮。\ndelivery_time,en,2-4 days.\nrefunds,en,Within 7 days.\n"))
	f.Add([]byte("category,locale,answer\n\"a,b\",en,\"x\ny\"\n"))
	f.Add([]byte("category,locale,answer\nc,fr,x\n"))
	f.Add([]byte("category , locale , answer\nc , en , \n"))
	qs, err := ReadLabeledCSV(strings.NewReader(labeledCSV), "kb.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		answers, err := ReadAnswersCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			return
		}
		var rows [][]string
		for cat, byLoc := range answers {
			for loc, ans := range byLoc {
				if cat == "" || ans == "" || !isLocale(loc) {
					t.Fatalf("answer %q/%q: %q", cat, loc, ans)
				}
				rows = append(rows, []string{cat, loc, ans})
			}
		}
		out := writeCSV(t, []string{"category", "locale", "answer"}, rows)
		again, err := ReadAnswersCSV(bytes.NewReader(out), "written.csv")
		if err != nil {
			t.Fatalf("the written answers do not read: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(answers, again) {
			t.Fatalf("round trip changed the answers:\n%q\n%q", answers, again)
		}

		entries, err := ImportEntries(qs, answers)
		if err != nil {
			return // a category without an answer
		}
		ids := map[string]bool{}
		for _, e := range entries {
			if !idPattern.MatchString(e.ID) || ids[e.ID] {
				t.Fatalf("imported id %q is invalid or repeated", e.ID)
			}
			ids[e.ID] = true
		}
		// As 'carebot kb import' writes them.
		var buf bytes.Buffer
		if err := yaml.NewEncoder(&buf).Encode(map[string]any{"entries": entries}); err != nil {
			t.Fatalf("cannot write the entries: %v", err)
		}
		if _, err := Parse(buf.Bytes(), "imported.yaml"); err != nil {
			t.Fatalf("imported entries do not parse: %v\n%s", err, buf.Bytes())
		}
	})
}
