package segment

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validateDictDir reads the five dictionary files and checks the properties
// cppjieba asserts while loading them. cppjieba reports a violation with
// XCHECK or assert, which aborts the process; checking here first turns a
// truncated download or a wrong file into an error the caller can report.
// The checks mirror cppjieba's parsing (limonp::Split, getline, Trim) rather
// than a stricter reading, so that every dictionary cppjieba accepts passes.
func validateDictDir(dir string) error {
	checks := [...]struct {
		name  string
		check func([]byte) error
	}{
		{fileDict, checkMainDict},
		{fileHMM, checkHMMModel},
		{fileUser, checkUserDict},
		{fileIDF, checkIDF},
		{fileStop, func([]byte) error { return nil }},
	}
	for _, c := range checks {
		p := filepath.Join(dir, c.name)
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read jieba dictionary: %w", err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return fmt.Errorf("jieba dictionary %s is empty", p)
		}
		if err := c.check(data); err != nil {
			return fmt.Errorf("jieba dictionary %s: %w", p, err)
		}
	}
	return nil
}

// checkMainDict mirrors DictTrie::LoadDict: every line, empty ones included,
// must split on single spaces into exactly word, frequency and tag.
func checkMainDict(data []byte) error {
	n := 0
	for line := range getlines(data) {
		n++
		if got := countFields(line, ' '); got != 3 {
			return fmt.Errorf("line %d: want 3 space-separated fields (word freq tag), got %d", n, got)
		}
	}
	return nil
}

// checkUserDict mirrors DictTrie::InserUserDictNode: non-empty lines hold a
// word, optionally followed by a tag or by a frequency and a tag. Other
// shapes would insert an empty word into the trie.
func checkUserDict(data []byte) error {
	n := 0
	for line := range getlines(data) {
		n++
		if len(line) == 0 {
			continue
		}
		if got := countFields(line, ' '); got < 1 || got > 3 {
			return fmt.Errorf("line %d: want 1 to 3 space-separated fields, got %d", n, got)
		}
	}
	return nil
}

// checkIDF mirrors KeywordExtractor::LoadIdfDict, which asserts that the
// average idf over all lines is positive.
func checkIDF(data []byte) error {
	sum := 0.0
	for line := range getlines(data) {
		if countFields(line, ' ') != 2 {
			continue
		}
		// The conversion does not allocate: the string does not escape.
		if v, err := strconv.ParseFloat(string(line[bytes.IndexByte(line, ' ')+1:]), 64); err == nil {
			sum += v
		}
	}
	if !(sum > 0) {
		return fmt.Errorf("no line of the form \"word idf\" with a positive idf sum")
	}
	return nil
}

// checkHMMModel mirrors HMMModel::LoadModel: after skipping blank and '#'
// lines, one line of 4 start probabilities, 4 lines of 4 transition
// probabilities and 4 lines of emission probabilities "rune:prob,...".
func checkHMMModel(data []byte) error {
	var lines []string
	for raw := range getlines(data) {
		line := strings.Trim(string(raw), " \t\n\v\f\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, line)
		if len(lines) == 9 {
			break
		}
	}
	if len(lines) < 9 {
		return fmt.Errorf("want 9 data lines (start, 4 transitions, 4 emissions), got %d", len(lines))
	}
	for i := 0; i < 5; i++ {
		if got := len(splitFields(lines[i], " ")); got != 4 {
			return fmt.Errorf("data line %d: want 4 probabilities, got %d", i+1, got)
		}
	}
	for i := 5; i < 9; i++ {
		for _, item := range splitFields(lines[i], ",") {
			kv := splitFields(item, ":")
			if len(kv) != 2 {
				return fmt.Errorf("data line %d: emission %q is not rune:prob", i+1, item)
			}
			if r, size := utf8.DecodeRuneInString(kv[0]); r == utf8.RuneError || size != len(kv[0]) {
				return fmt.Errorf("data line %d: emission key %q is not one UTF-8 character", i+1, kv[0])
			}
		}
	}
	return nil
}

// getlines yields the lines std::getline would: split on '\n', no empty
// line after a final newline, '\r' kept. The lines alias data.
func getlines(data []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				yield(data)
				return
			}
			if !yield(data[:i]) {
				return
			}
			data = data[i+1:]
		}
	}
}

// splitFields is limonp::Split: the separator is any byte of seps, an empty
// field appears between adjacent separators, but none after a trailing one.
func splitFields(s, seps string) []string {
	var res []string
	for start := 0; start < len(s); {
		i := strings.IndexAny(s[start:], seps)
		if i < 0 {
			return append(res, s[start:])
		}
		res = append(res, s[start:start+i])
		start += i + 1
	}
	return res
}

// countFields is len(splitFields(string(line), string(sep))) without
// allocating, for the 350,000 lines of the main dictionary.
func countFields(line []byte, sep byte) int {
	n := 0
	for start := 0; start < len(line); {
		i := bytes.IndexByte(line[start:], sep)
		n++
		if i < 0 {
			break
		}
		start += i + 1
	}
	return n
}
