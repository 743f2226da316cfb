package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// maxPayload is the longest button payload in bytes. Chat platforms cap
// callback data (Telegram at 64 bytes), so a longer payload would be
// accepted here and fail at send time.
const maxPayload = 64

// faqPrefix starts a payload that answers another entry.
const faqPrefix = "faq:"

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Parse reads one knowledge base file. name is used in error messages,
// which read "name:LINE: entries[3].id: duplicate id "x"". Every problem in
// the file is reported, joined with errors.Join, so that an author fixes
// them in one round; on error no entries are returned. Button payloads
// "faq:<id>" must name an entry of this file (LoadFS checks across files).
func Parse(data []byte, name string) ([]Entry, error) {
	f := parseFile(data, name)
	if len(f.errs) == 0 {
		f.errs = checkRefs([]*parsedFile{f})
	}
	if len(f.errs) > 0 {
		return nil, errors.Join(f.errs...)
	}
	return f.entries, nil
}

// LoadFS loads every *.yaml and *.yml file directly in dir of fsys, in
// name order, and checks that ids are unique and faq: payloads resolve
// across all of them. Names starting with "." (editor swap and lock files)
// are skipped. A directory without knowledge base files is an error, since
// it almost always means a wrong path.
func LoadFS(fsys fs.FS, dir string) ([]Entry, error) {
	return loadFS(fsys, dir, func(name string) string { return path.Join(dir, name) })
}

// LoadDir loads the knowledge base files in the directory path, like
// LoadFS, with errors naming the files by their real paths.
func LoadDir(dir string) ([]Entry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load knowledge base: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load knowledge base: %s is not a directory", dir)
	}
	return loadFS(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

func loadFS(fsys fs.FS, dir string, display func(string) string) ([]Entry, error) {
	items, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("load knowledge base %s: %w", display("."), err)
	}
	var files []*parsedFile
	var errs []error
	for _, it := range items {
		name := it.Name()
		ext := strings.ToLower(path.Ext(name))
		if it.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("load knowledge base %s: %w", display(name), err))
			continue
		}
		f := parseFile(data, display(name))
		files = append(files, f)
		errs = append(errs, f.errs...)
	}
	if len(files) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("load knowledge base: no .yaml or .yml files in %s", display("."))
	}
	if len(errs) == 0 {
		errs = checkRefs(files)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var all []Entry
	for _, f := range files {
		all = append(all, f.entries...)
	}
	return all, nil
}

// parsedFile is one file's entries plus the positions needed for the checks
// that span files.
type parsedFile struct {
	name    string
	entries []Entry
	idLines []int    // line of each entry's id
	refs    []faqRef // faq: payloads to resolve
	errs    []error
}

// faqRef is a "faq:<id>" payload and where it was written.
type faqRef struct {
	line    int
	path    string
	payload string
}

// checkRefs reports ids defined twice and faq: payloads naming no entry,
// across files.
func checkRefs(files []*parsedFile) []error {
	var errs []error
	first := make(map[string]string) // id → "file:line"
	for _, f := range files {
		for i, e := range f.entries {
			at := fmt.Sprintf("%s:%d", f.name, f.idLines[i])
			if prev, dup := first[e.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: entries[%d].id: duplicate id %q (first defined at %s)", at, i, e.ID, prev))
				continue
			}
			first[e.ID] = at
		}
	}
	for _, f := range files {
		for _, r := range f.refs {
			if _, ok := first[strings.TrimPrefix(r.payload, faqPrefix)]; !ok {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %q names no entry", f.name, r.line, r.path, r.payload))
			}
		}
	}
	return errs
}

// yamlLine extracts the line from yaml.v3's syntax errors, which read
// "yaml: line 3: did not find expected key".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseFile checks the file's structure on the YAML node tree, so that
// every problem carries a line and a path, and only then decodes it into
// Entry values with KnownFields(true): the struct tags stay the definition
// of the format, and a key the walker allowed but Entry lacks would still
// be caught.
func parseFile(data []byte, name string) *parsedFile {
	f := &parsedFile{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f // an empty file defines no entries
		}
		f.errs = append(f.errs, yamlError(name, err))
		return f
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			f.errs = append(f.errs, yamlError(name, err))
			return f
		}
		f.errs = append(f.errs, fmt.Errorf("%s:%d: only one YAML document is allowed per file", name, line))
		return f
	}
	w := walker{f: f}
	w.file(&doc)
	if len(f.errs) > 0 {
		return f
	}
	var out struct {
		Entries []Entry `yaml:"entries"`
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		f.errs = append(f.errs, fmt.Errorf("%s: decode: %w", name, err))
		return f
	}
	for i := range out.Entries {
		trimEntry(&out.Entries[i])
	}
	f.entries = out.Entries
	return f
}

func yamlError(name string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: invalid YAML: %s", name, m[1], m[2])
	}
	return fmt.Errorf("%s: invalid YAML: %w", name, err)
}

// trimEntry drops the surrounding whitespace YAML block scalars keep (the
// final newline of "answer: |"), which would otherwise reach the chat.
func trimEntry(e *Entry) {
	for l, qs := range e.Questions {
		for i := range qs {
			qs[i] = strings.TrimSpace(qs[i])
		}
		e.Questions[l] = qs
	}
	for l, a := range e.Answer {
		e.Answer[l] = strings.TrimSpace(a)
	}
	for i := range e.Buttons {
		b := &e.Buttons[i]
		b.Payload = strings.TrimSpace(b.Payload)
		b.URL = strings.TrimSpace(b.URL)
		for l, s := range b.Label {
			b.Label[l] = strings.TrimSpace(s)
		}
	}
	for i := range e.Tags {
		e.Tags[i] = strings.TrimSpace(e.Tags[i])
	}
}

// walker validates the node tree of one file.
type walker struct {
	f *parsedFile
}

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.f.errs = append(w.f.errs, fmt.Errorf("%s:%d: %s: %s", w.f.name, n.Line, path, fmt.Sprintf(format, args...)))
}

// deref follows aliases, so that anchors work as YAML authors expect.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return "a scalar"
	}
	return "an alias"
}

// fields checks that n is a mapping with only allowed keys, each once, and
// returns the values by key.
func (w *walker) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a mapping, got %s", kindName(n))
		return nil
	}
	out := make(map[string]*yaml.Node)
	lines := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode:
			w.errorf(k, path, "keys must be strings, got %s", kindName(k))
		case lines[key] != 0:
			w.errorf(k, path, "duplicate key %q (first at line %d)", key, lines[key])
		case !slices.Contains(allowed, key):
			w.errorf(k, path, "unknown key %q (allowed: %s)", key, strings.Join(allowed, ", "))
		default:
			lines[key] = k.Line
			out[key] = v
		}
	}
	return out
}

// text checks that n is a non-empty string and returns it trimmed.
func (w *walker) text(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		w.errorf(n, path, "must be text, got %s", kindName(n))
		return "", false
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		w.errorf(n, path, "must not be empty")
		return "", false
	}
	return s, true
}

// file checks the top level: a mapping with the key entries.
func (w *walker) file(doc *yaml.Node) {
	if len(doc.Content) == 0 {
		return
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return // only comments
	}
	top := w.fields(root, "top level", "entries")
	entries, ok := top["entries"]
	if !ok {
		if top != nil {
			w.errorf(root, "top level", "missing key \"entries\"")
		}
		return
	}
	if entries.Kind == yaml.ScalarNode && entries.ShortTag() == "!!null" {
		return // "entries:" with nothing under it
	}
	if entries.Kind != yaml.SequenceNode {
		w.errorf(entries, "entries", "must be a list, got %s", kindName(entries))
		return
	}
	for i, n := range entries.Content {
		w.entry(deref(n), i)
	}
}

func (w *walker) entry(n *yaml.Node, i int) {
	p := fmt.Sprintf("entries[%d]", i)
	kv := w.fields(n, p, "id", "tags", "questions", "answer", "buttons", "image")
	if kv == nil {
		return
	}
	if v, ok := kv["id"]; !ok {
		w.errorf(n, p, "missing id")
	} else if id, ok := w.text(v, p+".id"); ok {
		if !idPattern.MatchString(id) {
			w.errorf(v, p+".id", "invalid id %q: use lower-case letters, digits and '-', starting with a letter or digit", id)
		}
		// Only read when the file has no errors, when every entry has
		// added exactly one line here.
		w.f.idLines = append(w.f.idLines, v.Line)
	}
	if v, ok := kv["tags"]; ok {
		w.list(v, p+".tags", func(item *yaml.Node, ip string) { w.text(item, ip) })
	}
	w.questions(n, kv["questions"], p+".questions")
	w.localeTexts(n, kv["answer"], p+".answer", "answer")
	if v, ok := kv["buttons"]; ok {
		w.list(v, p+".buttons", w.button)
	}
	if v, ok := kv["image"]; ok {
		if u, ok := w.text(v, p+".image"); ok && !isHTTPSURL(u) {
			w.errorf(v, p+".image", "%q is not an https URL (chat apps load images over https only)", u)
		}
	}
}

// isHTTPSURL reports whether s is an absolute https URL with a host.
func isHTTPSURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// list checks that n is a list and calls each for its items.
func (w *walker) list(n *yaml.Node, path string, each func(*yaml.Node, string)) {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		each(deref(item), fmt.Sprintf("%s[%d]", path, i))
	}
}

// locale checks a locale key.
func (w *walker) locale(k *yaml.Node, path string) bool {
	if !isLocale(k.Value) {
		w.errorf(k, path, "unknown locale %q (allowed: %s)", k.Value, strings.Join(locales[:], ", "))
		return false
	}
	return true
}

// questions checks locale → non-empty list of questions, at least one in
// all.
func (w *walker) questions(entry, n *yaml.Node, path string) {
	if n == nil {
		w.errorf(entry, path, "missing: at least one question is required")
		return
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a mapping from locale to a list of questions, got %s", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		w.errorf(n, path, "at least one question is required")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		lp := path + "." + k.Value
		if !w.checkKey(n, i, path) || !w.locale(k, lp) {
			continue
		}
		if v.Kind != yaml.SequenceNode {
			w.errorf(v, lp, "must be a list of questions, got %s", kindName(v))
			continue
		}
		if len(v.Content) == 0 {
			w.errorf(v, lp, "must list at least one question (or leave out the locale)")
		}
		w.list(v, lp, func(item *yaml.Node, ip string) {
			if q, ok := w.text(item, ip); ok {
				if !hasWord(q) {
					w.errorf(item, ip, "question %q has no letters or digits to match on", q)
				}
			}
		})
	}
}

// localeTexts checks locale → non-empty text, at least one locale.
func (w *walker) localeTexts(parent, n *yaml.Node, path, what string) {
	if n == nil {
		w.errorf(parent, path, "missing: the %s needs at least one locale", what)
		return
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a mapping from locale to text, got %s", kindName(n))
		return
	}
	if len(n.Content) == 0 {
		w.errorf(n, path, "the %s needs at least one locale", what)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		lp := path + "." + k.Value
		if w.checkKey(n, i, path) && w.locale(k, lp) {
			w.text(v, lp)
		}
	}
}

// checkKey reports a non-string key or one repeated earlier in mapping n.
func (w *walker) checkKey(n *yaml.Node, i int, path string) bool {
	k := deref(n.Content[i])
	if k.Kind != yaml.ScalarNode {
		w.errorf(k, path, "keys must be strings, got %s", kindName(k))
		return false
	}
	for j := 0; j < i; j += 2 {
		if prev := deref(n.Content[j]); prev.Kind == yaml.ScalarNode && prev.Value == k.Value {
			w.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, prev.Line)
			return false
		}
	}
	return true
}

func (w *walker) button(n *yaml.Node, path string) {
	kv := w.fields(n, path, "label", "payload", "url")
	if kv == nil {
		return
	}
	w.localeTexts(n, kv["label"], path+".label", "label")
	if u, isLink := kv["url"]; isLink {
		if _, both := kv["payload"]; both {
			w.errorf(n, path, "a button has a payload or a url, not both")
		}
		if s, ok := w.text(u, path+".url"); ok && !isHTTPSURL(s) {
			w.errorf(u, path+".url", "%q is not an https URL", s)
		}
		return
	}
	v, ok := kv["payload"]
	if !ok {
		w.errorf(n, path, "missing payload (or url for a link)")
		return
	}
	payload, ok := w.text(v, path+".payload")
	if !ok {
		return
	}
	if len(payload) > maxPayload {
		w.errorf(v, path+".payload", "payload is %d bytes, the limit is %d", len(payload), maxPayload)
	}
	if strings.HasPrefix(payload, faqPrefix) {
		w.f.refs = append(w.f.refs, faqRef{line: v.Line, path: path + ".payload", payload: payload})
	}
}

// hasWord reports whether s has a letter or digit, that is something the
// segmenter keeps.
func hasWord(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}
