package knowledge

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/carebot/carebot/segment"
)

// LabeledQuestion is one row of a "text,category" file: a question and the
// entry (category) it belongs to.
type LabeledQuestion struct {
	Text     string
	Category string
}

// ReadLabeledCSV reads "text,category" rows; the first row must be that
// header. name is used in errors.
func ReadLabeledCSV(r io.Reader, name string) ([]LabeledQuestion, error) {
	var out []LabeledQuestion
	err := readCSV(r, name, []string{"text", "category"}, func(line int, rec []string) error {
		if rec[0] == "" || rec[1] == "" {
			return fmt.Errorf("%s:%d: empty text or category", name, line)
		}
		out = append(out, LabeledQuestion{Text: rec[0], Category: rec[1]})
		return nil
	})
	return out, err
}

// readCSV checks the header row, then calls row with each record's line
// and trimmed fields; every record must have as many fields as the header.
func readCSV(r io.Reader, name string, header []string, row func(line int, rec []string) error) error {
	want := strings.Join(header, ",")
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	got, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file, want a header %s", name, want)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(got) > 0 {
		got[0] = strings.TrimPrefix(got[0], "\ufeff") // a byte-order mark from spreadsheet exports
	}
	for i := range got {
		got[i] = strings.TrimSpace(got[i])
	}
	if strings.Join(got, ",") != want {
		return fmt.Errorf("%s:1: header is %q, want %s", name, strings.Join(got, ","), want)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return fmt.Errorf("%s:%d: want %d fields (%s), got %d", name, line, len(header), want, len(rec))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if err := row(line, rec); err != nil {
			return err
		}
	}
}

// ReadLabeledCSVFile reads a "text,category" file.
func ReadLabeledCSVFile(path string) ([]LabeledQuestion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read questions: %w", err)
	}
	defer f.Close()
	return ReadLabeledCSV(f, path)
}

// EntriesFromLabeled makes one entry per category, in order of first
// appearance, with each question filed under the locale it is written in
// (English when it has no letters to tell). The answer of an entry is its
// category name until answers are attached, which is what evaluation needs.
func EntriesFromLabeled(qs []LabeledQuestion) []Entry {
	index := map[string]int{}
	var entries []Entry
	for _, q := range qs {
		i, ok := index[q.Category]
		if !ok {
			i = len(entries)
			index[q.Category] = i
			entries = append(entries, Entry{
				ID:        q.Category,
				Questions: map[string][]string{},
				Answer:    map[string]string{LocaleEn: q.Category},
			})
		}
		loc := segment.DetectLocale(q.Text)
		if !isLocale(loc) {
			loc = LocaleEn
		}
		entries[i].Questions[loc] = append(entries[i].Questions[loc], q.Text)
	}
	return entries
}

// ReadAnswersCSV reads "category,locale,answer" rows (with that header)
// into category → locale → answer.
func ReadAnswersCSV(r io.Reader, name string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := readCSV(r, name, []string{"category", "locale", "answer"}, func(line int, rec []string) error {
		cat, loc, ans := rec[0], rec[1], rec[2]
		if !isLocale(loc) {
			return fmt.Errorf("%s:%d: locale %q is not one of zh-Hans, zh-Hant, en", name, line, loc)
		}
		if cat == "" || ans == "" {
			return fmt.Errorf("%s:%d: empty category or answer", name, line)
		}
		if out[cat] == nil {
			out[cat] = map[string]string{}
		}
		out[cat][loc] = ans
		return nil
	})
	return out, err
}

// ImportEntries turns labelled questions and their answers into entries
// for a knowledge base file: categories become ids (lower case, other
// characters turned into '-'), and a category without an answer is an
// error, so no entry is ever written without one.
func ImportEntries(qs []LabeledQuestion, answers map[string]map[string]string) ([]Entry, error) {
	entries := EntriesFromLabeled(qs)
	used := map[string]bool{}
	var errs []error
	for i := range entries {
		e := &entries[i]
		ans := answers[e.ID]
		if len(ans) == 0 {
			errs = append(errs, fmt.Errorf("category %q has no answer", e.ID))
		}
		e.Answer = ans
		id := slug(e.ID)
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s-%d", slug(e.ID), n)
		}
		used[id] = true
		e.ID = id
	}
	return entries, errors.Join(errs...)
}

// slug makes an entry id from a category name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		out = "entry"
	}
	return out
}
