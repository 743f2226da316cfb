package knowledge

import (
	"fmt"
	"slices"
	"sort"

	"github.com/carebot/carebot/segment"
)

// Severity of a lint problem.
const (
	LintError   = "error"   // the knowledge base is wrong: fix before use
	LintWarning = "warning" // customers may get the wrong answer
)

// confusableScore is the score from which a question that also matches
// another entry is reported: at 0.8 and above the two entries' wording is
// nearly the same, so a customer's paraphrase may land on either.
const confusableScore = 0.8

// LintProblem is one finding of Lint.
type LintProblem struct {
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Entry    string `json:"entry"`
	Message  string `json:"message"`
}

// Lint checks a knowledge base for questions shared by two entries,
// entries without an answer in a locale the knowledge base uses, and
// questions that match another entry almost as well as their own.
func Lint(b *Base) []LintProblem {
	var out []LintProblem
	used := map[string]bool{}
	for _, e := range b.Entries() {
		for loc, a := range e.Answer {
			if a != "" {
				used[loc] = true
			}
		}
	}
	owner := map[string]string{}
	for _, e := range b.Entries() {
		for _, loc := range locales {
			if used[loc] && e.Answer[loc] == "" {
				out = append(out, LintProblem{LintError, "missing-answer", e.ID, fmt.Sprintf("no %s answer, though other entries have one", loc)})
			}
		}
		for _, loc := range sortedLocales(e.Questions) {
			for _, q := range e.Questions[loc] {
				norm := segment.Normalize(q)
				if prev, ok := owner[norm]; ok && prev != e.ID {
					out = append(out, LintProblem{LintError, "duplicate-question", e.ID, fmt.Sprintf("question %q is also a question of %s", q, prev)})
					continue
				}
				owner[norm] = e.ID
				for _, m := range b.Search(q, 2) {
					if m.Entry.ID != e.ID && m.Score >= confusableScore {
						out = append(out, LintProblem{LintWarning, "confusable", e.ID,
							fmt.Sprintf("question %q also matches %s (score %.2f, their question %q): reword one of them", q, m.Entry.ID, m.Score, m.Question)})
					}
				}
			}
		}
	}
	return out
}

func sortedLocales(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Compact(out)
}
