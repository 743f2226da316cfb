package segment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/yanyiwu/gojieba"
)

// EnvDictDir is the environment variable that names the jieba dictionary
// directory when no directory is configured explicitly.
const EnvDictDir = "CAREBOT_JIEBA_DICT"

// gojiebaModule and gojiebaFallbackVersion locate the dictionaries inside the
// Go module cache. The fallback is the version go.mod pins; it is used when
// the binary carries no build information (for example when built by a tool
// that strips it).
const (
	gojiebaModule          = "github.com/yanyiwu/gojieba"
	gojiebaFallbackVersion = "v1.4.6"
	gojiebaDictSubdir      = "deps/cppjieba/dict"
)

// Names of the five files gojieba.NewJieba needs, in the order it takes them.
const (
	fileDict  = "jieba.dict.utf8"
	fileHMM   = "hmm_model.utf8"
	fileUser  = "user.dict.utf8"
	fileIDF   = "idf.utf8"
	fileStop  = "stop_words.utf8"
	fixAdvice = "set jieba.dict_dir in the configuration or the " + EnvDictDir +
		" environment variable to a directory holding " + fileDict + ", " + fileHMM + ", " +
		fileUser + ", " + fileIDF + " and " + fileStop +
		" (copy them from " + gojiebaModule + "@" + gojiebaFallbackVersion + "/" + gojiebaDictSubdir + ")"
)

// dictFiles lists the files in the argument order of gojieba.NewJieba.
var dictFiles = [...]string{fileDict, fileHMM, fileUser, fileIDF, fileStop}

// candidate is one directory FindDictDir tries, with where it came from so
// that the error can tell an operator which setting produced which path.
type candidate struct {
	dir    string
	source string
}

// FindDictDir returns the first directory that holds all five jieba
// dictionary files (jieba.dict.utf8, hmm_model.utf8, user.dict.utf8,
// idf.utf8 and stop_words.utf8).
//
// If explicit is non-empty it is the only candidate and a missing file is an
// error naming it: a configured directory that is wrong must not be papered
// over by a dictionary found elsewhere. Otherwise it tries, in order:
// $CAREBOT_JIEBA_DICT; <directory of the executable>/jieba-dict;
// /usr/share/carebot/jieba-dict; gojieba.DICT_DIR (the module directory on
// the machine that built the binary); and the Go module cache, that is
// $GOMODCACHE, else every $GOPATH entry + /pkg/mod, else ~/go/pkg/mod, each
// joined with github.com/yanyiwu/gojieba@<version>/deps/cppjieba/dict where
// <version> comes from the binary's build information (v1.4.6 if absent).
//
// The error lists every place tried with the reason it was rejected and says
// how to fix it.
func FindDictDir(explicit string) (string, error) {
	if explicit != "" {
		if err := checkDictDir(explicit); err != nil {
			return "", fmt.Errorf("jieba dictionary directory %s (jieba.dict_dir): %w; %s", explicit, err, fixAdvice)
		}
		return explicit, nil
	}
	return findDictDir(dictCandidates())
}

// findDictDir returns the first candidate holding all files. It is separate
// from FindDictDir so that tests can exercise the error path with candidates
// that surely do not exist.
func findDictDir(cands []candidate) (string, error) {
	var tried []string
	seen := make(map[string]bool)
	for _, c := range cands {
		if c.dir == "" {
			tried = append(tried, fmt.Sprintf("  - %s: not set", c.source))
			continue
		}
		clean := filepath.Clean(c.dir)
		if seen[clean] {
			// gojieba.DICT_DIR usually is the module cache path too; trying it
			// twice would only lengthen the error.
			continue
		}
		seen[clean] = true
		err := checkDictDir(c.dir)
		if err == nil {
			return c.dir, nil
		}
		tried = append(tried, fmt.Sprintf("  - %s (%s): %v", c.dir, c.source, err))
	}
	return "", fmt.Errorf("find jieba dictionary: no directory holds all of its files; tried:\n%s\n%s",
		strings.Join(tried, "\n"), fixAdvice)
}

// dictCandidates lists the implicit places in the order FindDictDir
// documents.
func dictCandidates() []candidate {
	cands := []candidate{{dir: os.Getenv(EnvDictDir), source: "$" + EnvDictDir}}
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, candidate{dir: filepath.Join(filepath.Dir(exe), "jieba-dict"), source: "next to the executable"})
	}
	cands = append(cands,
		candidate{dir: "/usr/share/carebot/jieba-dict", source: "system-wide install"},
		candidate{dir: gojieba.DICT_DIR, source: "gojieba.DICT_DIR, the module path on the build machine"},
	)
	return append(cands, moduleCacheCandidates()...)
}

// moduleCacheCandidates lists where the gojieba module holding the
// dictionaries would be extracted on this machine. The version must be the
// one compiled in, because another version's dictionaries may differ.
func moduleCacheCandidates() []candidate {
	modPath, version := gojiebaModule, gojiebaFallbackVersion
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path != gojiebaModule {
				continue
			}
			if r := dep.Replace; r != nil {
				if r.Version == "" {
					// A replacement by a local directory: its dictionaries
					// are right there and the module cache is not involved.
					return []candidate{{dir: filepath.Join(r.Path, filepath.FromSlash(gojiebaDictSubdir)), source: "local replacement of " + gojiebaModule}}
				}
				modPath, version = r.Path, r.Version
			} else if dep.Version != "" && dep.Version != "(devel)" {
				version = dep.Version
			}
		}
	}
	rel := filepath.Join(filepath.FromSlash(escapeModulePath(modPath)+"@"+escapeModulePath(version)), filepath.FromSlash(gojiebaDictSubdir))
	var cands []candidate
	switch {
	case os.Getenv("GOMODCACHE") != "":
		cands = append(cands, candidate{dir: filepath.Join(os.Getenv("GOMODCACHE"), rel), source: "$GOMODCACHE"})
	case os.Getenv("GOPATH") != "":
		for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
			if p != "" {
				cands = append(cands, candidate{dir: filepath.Join(p, "pkg", "mod", rel), source: "$GOPATH module cache"})
			}
		}
	default:
		if home, err := os.UserHomeDir(); err == nil {
			cands = append(cands, candidate{dir: filepath.Join(home, "go", "pkg", "mod", rel), source: "default module cache"})
		}
	}
	return cands
}

// escapeModulePath applies the module cache's case encoding (an upper-case
// letter becomes '!' and its lower-case form), which the go command uses
// so that paths differing only in case stay distinct on case-insensitive
// file systems; a module or version with capitals is stored that way.
func escapeModulePath(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkDictDir reports every dictionary file missing from dir, by full path.
func checkDictDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	var errs []error
	for _, name := range dictFiles {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("missing %s", p))
		case err != nil:
			errs = append(errs, fmt.Errorf("stat %s: %w", p, err))
		case !st.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s is not a regular file", p))
		}
	}
	return joinInline(errs)
}

// joinInline joins errors on one line, because these errors end up inside a
// bulleted list in findDictDir's message. It keeps them reachable through
// errors.Is and errors.As.
func joinInline(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &inlineErrors{errs: errs}
}

type inlineErrors struct{ errs []error }

func (e *inlineErrors) Error() string {
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e *inlineErrors) Unwrap() []error { return e.errs }
