package segment

import (
	"fmt"
	"path/filepath"
	"sync"
	"unicode"

	"github.com/yanyiwu/gojieba"
)

// Segmenter cuts normalised text into search tokens with jieba. It is safe
// for concurrent use: Cut runs in parallel, AddWords and Close wait for
// running Cuts and block new ones, because gojieba crashes when its
// dictionary trie changes under a running cut.
type Segmenter struct {
	dir string

	mu     sync.RWMutex
	jieba  *gojieba.Jieba // nil once closed
	shared bool           // returned by Shared: Close is a no-op
}

// Open finds the dictionary directory with FindDictDir(dictDir), checks that
// the files are readable, non-empty and shaped as jieba expects, and loads a
// new segmenter. Loading takes about 0.5 s and 130 MB; programs use Shared,
// and only tests and tools that need a private instance call Open.
func Open(dictDir string) (*Segmenter, error) {
	dir, err := FindDictDir(dictDir)
	if err != nil {
		return nil, err
	}
	if err := validateDictDir(dir); err != nil {
		return nil, fmt.Errorf("open segmenter: %w", err)
	}
	jb, err := newJieba(dir)
	if err != nil {
		return nil, fmt.Errorf("open segmenter: %w", err)
	}
	return &Segmenter{dir: dir, jieba: jb}, nil
}

// newJieba loads gojieba with every path explicit, so that gojieba's
// DICT_DIR — the build machine's module cache — is never consulted.
// gojieba panics if a file vanished between our checks and its own; that
// becomes an error.
func newJieba(dir string) (jb *gojieba.Jieba, err error) {
	defer func() {
		if r := recover(); r != nil {
			jb, err = nil, fmt.Errorf("load jieba from %s: %v", dir, r)
		}
	}()
	var paths [len(dictFiles)]string
	for i, name := range dictFiles {
		paths[i] = filepath.Join(dir, name)
	}
	return gojieba.NewJieba(paths[:]...), nil
}

// shared holds the process-wide segmenter.
var shared struct {
	once sync.Once
	seg  *Segmenter
	err  error
}

// Shared returns the process's one segmenter, loading it on the first call
// with Open(dictDir). Every later call returns the first call's result —
// the same *Segmenter, or the same error — and ignores its own dictDir, so
// the program's startup code should make the first call with the configured
// directory. A failed load is not retried: the cause (a missing or broken
// dictionary) does not fix itself, and each attempt would cost seconds.
// Close on the shared segmenter does nothing, since other packages hold it.
func Shared(dictDir string) (*Segmenter, error) {
	shared.once.Do(func() {
		shared.seg, shared.err = Open(dictDir)
		if shared.seg != nil {
			shared.seg.shared = true
		}
	})
	return shared.seg, shared.err
}

// Dir returns the directory the dictionaries were loaded from, for logs.
func (s *Segmenter) Dir() string { return s.dir }

// Cut normalises text (see Normalize) and cuts it in jieba's search mode
// with HMM for unknown words, which also yields the shorter words inside
// long ones (订单号 → 订单, 单号, 订单号) so that a question and a
// paraphrase share tokens. Tokens without a letter or a digit (spaces,
// punctuation, symbols, emoji) are dropped; numbers and Latin words are
// kept. Cut returns nil for text without tokens and after Close.
func (s *Segmenter) Cut(text string) []string {
	norm := Normalize(text)
	if norm == "" {
		return nil
	}
	s.mu.RLock()
	if s.jieba == nil {
		s.mu.RUnlock()
		return nil
	}
	words := s.jieba.CutForSearch(norm, true)
	s.mu.RUnlock()
	out := words[:0]
	for _, w := range words {
		if hasWordRune(w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hasWordRune reports whether tok contains a letter or a digit.
func hasWordRune(tok string) bool {
	for _, r := range tok {
		if r < 0x80 {
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' {
				return true
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}

// AddWords teaches the segmenter words it should keep whole, such as
// product names. Each word is normalised first, since Cut only ever sees
// normalised text; empty words and words with spaces (which jieba never
// sees inside one token) are skipped. It waits for running Cuts to finish.
func (s *Segmenter) AddWords(words ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jieba == nil {
		return
	}
	for _, w := range words {
		w = Normalize(w)
		if w == "" || containsSpace(w) {
			continue
		}
		s.jieba.AddWord(w)
	}
}

func containsSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return true
		}
	}
	return false
}

// Close frees the C++ segmenter. It is safe to call more than once, and
// Cut returns nil afterwards. On the segmenter returned by Shared it does
// nothing.
func (s *Segmenter) Close() {
	if s.shared {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jieba != nil {
		s.jieba.Free()
		s.jieba = nil
	}
}
