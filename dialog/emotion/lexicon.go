package emotion

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/carebot/carebot/segment"
)

// kind is what a lexicon entry does when it matches.
type kind uint8

const (
	kindWord           kind = iota + 1 // a sentiment word: weight, modified by negators and degrees
	kindDegree                         // multiplies the next sentiment word
	kindNegator                        // flips the next sentiment word
	kindContrast                       // what follows weighs more than what precedes
	kindClauseContrast                 // a contrast only at the start of a clause (就是, 只是)
	kindConcession                     // the clause holding it weighs less (虽然, although)
	kindMild                           // sets tier mild
	kindComplaint                      // sets tier moderate
	kindAbuse                          // sets tier moderate, severe with repeated anger
	kindEscalation                     // sets tier severe
	kindExposure                       // a platform or the media: severe in a negative message
	kindSarcasm                        // turns the message's praise into blame
	kindNeutral                        // hides shorter entries inside it, means nothing
	kindEmoji                          // a weighted emoji
)

// sections maps the YAML section names to kinds, in the order Entries and
// error messages list them.
var sections = []struct {
	name string
	kind kind
}{
	{"words", kindWord},
	{"degrees", kindDegree},
	{"negators", kindNegator},
	{"contrasts", kindContrast},
	{"clause_contrasts", kindClauseContrast},
	{"concessions", kindConcession},
	{"mild", kindMild},
	{"complaints", kindComplaint},
	{"abuse", kindAbuse},
	{"escalations", kindEscalation},
	{"exposure", kindExposure},
	{"sarcasm", kindSarcasm},
	{"neutral", kindNeutral},
	{"emoji", kindEmoji},
}

func (k kind) String() string {
	for _, s := range sections {
		if s.kind == k {
			return s.name
		}
	}
	return fmt.Sprintf("kind(%d)", k)
}

// cueKind is the Cue.Kind reported for a match of this kind.
func (k kind) cueKind() string {
	switch k {
	case kindWord:
		return "word"
	case kindDegree:
		return "degree"
	case kindNegator:
		return "negation"
	case kindContrast, kindClauseContrast, kindConcession:
		return "contrast"
	case kindMild:
		return "mild"
	case kindComplaint:
		return "complaint"
	case kindAbuse:
		return "abuse"
	case kindEscalation:
		return "escalation"
	case kindExposure:
		return "exposure"
	case kindSarcasm:
		return "sarcasm"
	case kindEmoji:
		return "emoji"
	}
	return "word"
}

// entry is one lexicon phrase, normalised.
type entry struct {
	text   string
	kind   kind
	weight float64 // for weighted kinds, in [-1, 1]
	// degree, when not zero, makes a word also a degree word when a
	// sentiment word follows it directly: 好 is praise in 很好 but "very"
	// in 好慢.
	degree float64
	// latinStart and latinEnd ask for a word boundary at that end, because
	// the phrase begins or ends with an ASCII letter or digit: "sue" must
	// not match inside "issue", nor 315 inside 3150.
	latinStart, latinEnd bool
	// prefix lets the last word match any word it begins ("disappoint*"
	// matches disappointed and disappointing).
	prefix bool
}

// Lexicon is a merged set of lexicon files, indexed for a longest-match
// scan. It is read-only after loading and safe for concurrent use.
type Lexicon struct {
	entries map[string]*entry
	// byFirst lists entries by their first rune, longest first, so that the
	// scan takes the first entry that matches. ASCII runes index an array
	// because they are most lookups in English text.
	byFirst map[rune][]*entry
	byASCII [128][]*entry
	files   []string
}

// lexiconFile is the YAML form of one lexicon file; docs/emotion.md
// describes it. Weighted sections map a phrase to a weight from -1 (very
// negative) to 1 (very positive); degrees map to a multiplier.
type lexiconFile struct {
	Version         int                `yaml:"version"`
	Language        string             `yaml:"language"`
	Words           map[string]float64 `yaml:"words"`
	Degrees         map[string]float64 `yaml:"degrees"`
	Negators        []string           `yaml:"negators"`
	Contrasts       []string           `yaml:"contrasts"`
	ClauseContrasts []string           `yaml:"clause_contrasts"`
	Concessions     []string           `yaml:"concessions"`
	Mild            map[string]float64 `yaml:"mild"`
	Complaints      map[string]float64 `yaml:"complaints"`
	Abuse           map[string]float64 `yaml:"abuse"`
	Escalations     map[string]float64 `yaml:"escalations"`
	Exposure        map[string]float64 `yaml:"exposure"`
	Sarcasm         map[string]float64 `yaml:"sarcasm"`
	Neutral         []string           `yaml:"neutral"`
	Emoji           map[string]float64 `yaml:"emoji"`
	// Remove deletes entries that earlier files defined.
	Remove []string `yaml:"remove"`
}

// lexiconVersion is the file format version this code reads.
const lexiconVersion = 1

// LoadLexicon reads lexicon files from fsys in order and merges them: a
// later file adds entries and replaces an earlier file's entry for the same
// phrase (phrases are compared after segment.Normalize, so Traditional and
// full-width spellings meet their Simplified, half-width forms), and its
// remove list deletes entries. A path naming a directory loads the *.yaml
// and *.yml files in it in name order.
func LoadLexicon(fsys fs.FS, paths ...string) (*Lexicon, error) {
	lex := &Lexicon{entries: make(map[string]*entry)}
	for _, p := range paths {
		if err := lex.loadFS(fsys, p); err != nil {
			return nil, err
		}
	}
	return lex.finish(strings.Join(paths, ", "))
}

// LoadDefaultLexicon loads every lexicon file in the directory dir of base
// (carebot passes configs.FS and configs.EmotionDir, the lexicons embedded
// in the binary), then the user's files, read from the operating system's
// file system, in the order given, so that they add and override entries.
func LoadDefaultLexicon(base fs.FS, dir string, userFiles ...string) (*Lexicon, error) {
	lex := &Lexicon{entries: make(map[string]*entry)}
	if err := lex.loadFS(base, dir); err != nil {
		return nil, err
	}
	for _, f := range userFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read lexicon: %w", err)
		}
		if err := lex.merge(data, f); err != nil {
			return nil, err
		}
		lex.files = append(lex.files, f)
	}
	return lex.finish(dir)
}

// loadFS merges the file p of fsys, or the lexicon files in it if it is a
// directory.
func (lex *Lexicon) loadFS(fsys fs.FS, p string) error {
	files, err := expandLexiconPath(fsys, p)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("read lexicon: %w", err)
		}
		if err := lex.merge(data, f); err != nil {
			return err
		}
		lex.files = append(lex.files, f)
	}
	return nil
}

// finish indexes a loaded lexicon; what names its files in the error.
func (lex *Lexicon) finish(what string) (*Lexicon, error) {
	if len(lex.entries) == 0 {
		return nil, fmt.Errorf("load lexicon %s: no entries", what)
	}
	lex.index()
	return lex, nil
}

// expandLexiconPath returns p, or the YAML files in p if it is a directory.
func expandLexiconPath(fsys fs.FS, p string) ([]string, error) {
	st, err := fs.Stat(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("lexicon: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	des, err := fs.ReadDir(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("lexicon directory: %w", err)
	}
	var files []string
	for _, de := range des {
		if de.IsDir() {
			continue
		}
		if ext := path.Ext(de.Name()); ext == ".yaml" || ext == ".yml" {
			files = append(files, path.Join(p, de.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("lexicon directory %s holds no .yaml files", p)
	}
	return files, nil
}

// merge parses one file and merges it into lex.
func (lex *Lexicon) merge(data []byte, name string) error {
	var f lexiconFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt section must not be ignored silently
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file adds nothing
		}
		return fmt.Errorf("lexicon %s: %w", name, err)
	}
	if f.Version != 0 && f.Version != lexiconVersion {
		return fmt.Errorf("lexicon %s: version %d, this carebot reads version %d", name, f.Version, lexiconVersion)
	}
	m := merger{lex: lex, name: name, seen: make(map[string]kind)}
	weighted := []struct {
		k kind
		m map[string]float64
	}{
		{kindWord, f.Words}, {kindMild, f.Mild}, {kindComplaint, f.Complaints},
		{kindAbuse, f.Abuse}, {kindEscalation, f.Escalations}, {kindExposure, f.Exposure},
		{kindSarcasm, f.Sarcasm}, {kindEmoji, f.Emoji},
	}
	for _, s := range weighted {
		for _, k := range sortedKeys(s.m) {
			m.add(s.k, k, s.m[k])
		}
	}
	lists := []struct {
		k kind
		l []string
	}{
		{kindNegator, f.Negators}, {kindContrast, f.Contrasts}, {kindClauseContrast, f.ClauseContrasts},
		{kindConcession, f.Concessions}, {kindNeutral, f.Neutral},
	}
	for _, s := range lists {
		for _, k := range s.l {
			m.add(s.k, k, 0)
		}
	}
	// Degrees last, so that they can tell a phrase that is also a word.
	for _, k := range sortedKeys(f.Degrees) {
		m.add(kindDegree, k, f.Degrees[k])
	}
	for _, raw := range f.Remove {
		key := strings.TrimSuffix(segment.Normalize(raw), "*")
		if _, ok := lex.entries[key]; !ok {
			m.errs = append(m.errs, fmt.Errorf("lexicon %s: remove: %q is not in an earlier file", name, raw))
			continue
		}
		delete(lex.entries, key)
	}
	return errors.Join(m.errs...)
}

// merger adds the entries of one file to a lexicon, collecting every
// problem so that an author sees them all at once.
type merger struct {
	lex  *Lexicon
	name string
	// seen catches a phrase listed in two sections of one file, which is
	// always a slip: across files, the later file wins on purpose.
	seen map[string]kind
	errs []error
}

func (m *merger) fail(format string, args ...any) {
	m.errs = append(m.errs, fmt.Errorf("lexicon %s: %s", m.name, fmt.Sprintf(format, args...)))
}

// add adds or replaces the entry for raw with kind k and weight (or
// multiplier) w.
func (m *merger) add(k kind, raw string, w float64) {
	key := segment.Normalize(raw)
	prefix := false
	if strings.HasSuffix(key, "*") && len(key) > 1 {
		key, prefix = strings.TrimSuffix(key, "*"), true
	}
	switch {
	case key == "":
		m.fail("%s: empty phrase", k)
		return
	case math.IsNaN(w) || math.IsInf(w, 0):
		m.fail("%s: %q: weight is not a number", k, raw)
		return
	case k == kindDegree && (w <= 0 || w > 3):
		m.fail("degrees: %q: multiplier %g is not in (0, 3]", raw, w)
		return
	case k != kindDegree && (w < -1 || w > 1):
		m.fail("%s: %q: weight %g is not in [-1, 1]", k, raw, w)
		return
	}
	if k != kindDegree {
		if prev, ok := m.seen[key]; ok {
			m.fail("%q is in both %s and %s", raw, prev, k)
			return
		}
		m.seen[key] = k
	}
	e := m.lex.entries[key]
	if e == nil {
		e = &entry{text: key}
		m.lex.entries[key] = e
	}
	e.prefix = prefix
	first, _ := utf8.DecodeRuneInString(key)
	last, _ := utf8.DecodeLastRuneInString(key)
	e.latinStart, e.latinEnd = isASCIIAlnum(first), isASCIIAlnum(last) && !prefix
	if k == kindDegree {
		// A degree keeps the entry's main kind: a sentiment word listed as
		// a degree too is both (好 in 很好 and in 好慢); the scan reads
		// degree only on words and pure degree entries.
		e.degree = w
		if e.kind == 0 {
			e.kind = kindDegree
		}
		return
	}
	e.kind, e.weight = k, w
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isASCIIAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z'
}

// index builds the first-rune lists, longest entry first.
func (lex *Lexicon) index() {
	lex.byFirst = make(map[rune][]*entry)
	lex.byASCII = [128][]*entry{}
	for _, e := range lex.entries {
		r, _ := utf8.DecodeRuneInString(e.text)
		if r < 128 {
			lex.byASCII[r] = append(lex.byASCII[r], e)
		} else {
			lex.byFirst[r] = append(lex.byFirst[r], e)
		}
	}
	longestFirst := func(a, b *entry) int {
		if len(a.text) != len(b.text) {
			return len(b.text) - len(a.text)
		}
		return strings.Compare(a.text, b.text)
	}
	for r, l := range lex.byFirst {
		slices.SortFunc(l, longestFirst)
		lex.byFirst[r] = l
	}
	for r := range lex.byASCII {
		slices.SortFunc(lex.byASCII[r], longestFirst)
	}
}

// Len returns the number of entries.
func (lex *Lexicon) Len() int { return len(lex.entries) }

// Files returns the files the lexicon was loaded from, in order.
func (lex *Lexicon) Files() []string { return slices.Clone(lex.files) }

// candidates returns the entries that begin with r, longest first.
func (lex *Lexicon) candidates(r rune) []*entry {
	if r < 128 {
		return lex.byASCII[r]
	}
	return lex.byFirst[r]
}
