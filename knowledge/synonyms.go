package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseSynonyms reads a synonyms file: a YAML document with a key
// "synonyms" listing groups of words or phrases that mean the same, the
// first of each group being the form the others are rewritten to (see
// Options.Synonyms). name is used in errors.
func ParseSynonyms(data []byte, name string) ([][]string, error) {
	var doc struct {
		Synonyms [][]string `yaml:"synonyms"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	for i, g := range doc.Synonyms {
		if len(g) < 2 {
			errs = append(errs, fmt.Errorf("%s: group %d has %d phrases, want at least 2", name, i+1, len(g)))
		}
		for _, p := range g {
			if strings.TrimSpace(p) == "" {
				errs = append(errs, fmt.Errorf("%s: group %d has an empty phrase", name, i+1))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return doc.Synonyms, nil
}

// LoadSynonyms reads a synonyms file (see ParseSynonyms).
func LoadSynonyms(path string) ([][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read synonyms: %w", err)
	}
	return ParseSynonyms(data, path)
}

// synonymMap rewrites runs of analysed words to their group's first
// phrase. Phrases are analysed like any text, so they meet questions in
// the form the index holds (Simplified, lower case, stemmed).
type synonymMap struct {
	to     map[string][]string // "\x00"-joined words → replacement words
	maxLen int                 // most words in a phrase
}

// newSynonymMap analyses every phrase of groups with analyze, which must
// not apply synonyms itself. A phrase listed in two groups keeps the
// first; a phrase without words is skipped.
func newSynonymMap(groups [][]string, analyze func(string) []string) *synonymMap {
	m := &synonymMap{to: make(map[string][]string)}
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		canon := analyze(g[0])
		if len(canon) == 0 {
			continue
		}
		for _, p := range g[1:] {
			words := analyze(p)
			key := strings.Join(words, "\x00")
			if len(words) == 0 || key == strings.Join(canon, "\x00") {
				continue
			}
			if _, dup := m.to[key]; dup {
				continue
			}
			m.to[key] = canon
			m.maxLen = max(m.maxLen, len(words))
		}
	}
	if len(m.to) == 0 {
		return nil
	}
	return m
}

// apply rewrites words, longest phrase first, into dst and returns it.
func (m *synonymMap) apply(words, dst []string) []string {
	var key strings.Builder
	for i := 0; i < len(words); {
		matched := false
		for n := min(m.maxLen, len(words)-i); n >= 1; n-- {
			key.Reset()
			for j, w := range words[i : i+n] {
				if j > 0 {
					key.WriteByte(0)
				}
				key.WriteString(w)
			}
			if to, ok := m.to[key.String()]; ok {
				dst = append(dst, to...)
				i += n
				matched = true
				break
			}
		}
		if !matched {
			dst = append(dst, words[i])
			i++
		}
	}
	return dst
}
