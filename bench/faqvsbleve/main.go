// Command faqvsbleve compares carebot's FAQ retrieval with bleve v2, the
// search library a Go developer would otherwise reach for, on the shared
// FAQ sets: the same knowledge base questions, cut into the same tokens by
// carebot's segmenter, so that what differs is the ranking machinery.
//
// For each set it builds both indexes in one process, asks every test
// question to both (one at a time, alternating which goes first), and
// prints top-1 and top-3 accuracy, p50 and p99 latency, build time and Go
// heap of both, with ratios; --json prints one JSON object per set instead.
//
// Usage, from the bench module:
//
//	go run ./faqvsbleve [--data ../../shared/data/faq] [--sets banking77,banking77-kb10,clinc150,atec-zh] [--rounds 3] [--json]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// setSpec names the files of one set under the data directory.
type setSpec struct {
	dir, kb, dev, oos string // oos is empty when the set has none
}

// sets are the comparisons --sets may name, in the default order.
var sets = map[string]setSpec{
	"banking77":      {dir: "banking77", kb: "kb.csv", dev: "dev.csv"},
	"banking77-kb10": {dir: "banking77", kb: "kb10.csv", dev: "dev.csv"},
	"clinc150":       {dir: "clinc150", kb: "kb.csv", dev: "dev.csv", oos: "oos_dev.csv"},
	"atec-zh":        {dir: "atec-zh", kb: "kb.csv", dev: "dev.csv"},
}

const defaultSets = "banking77,banking77-kb10,clinc150,atec-zh"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "faqvsbleve:", err)
		os.Exit(1)
	}
}

// run is main without the exit, so that errors come back as values.
func run(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("faqvsbleve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	data := fl.String("data", "../../shared/data/faq", "directory of the shared FAQ sets (banking77/, clinc150/, atec-zh/)")
	setList := fl.String("sets", defaultSets, "comma-separated sets to compare")
	rounds := fl.Int("rounds", 1, "times every question is asked to both systems; latency is the median over rounds")
	warmup := fl.Int("warmup", 50, "questions each system answers untimed before measuring")
	bleveIndex := fl.String("bleve-index", IndexMemOnly, "bleve index type: "+IndexMemOnly+" (bleve.NewMemOnly) or "+IndexScorch+" (scorch kept in memory)")
	fromID := fl.Bool("bleve-id-category", false, "bleve: take a hit's category from its document id instead of loading the stored field")
	scoring := fl.String("bleve-scoring", "", "bleve scoring model: tfidf (bleve's default) or bm25")
	asJSON := fl.Bool("json", false, "print one JSON object per set instead of tables")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if *bleveIndex != IndexMemOnly && *bleveIndex != IndexScorch {
		return fmt.Errorf("--bleve-index is %q, want %s or %s", *bleveIndex, IndexMemOnly, IndexScorch)
	}
	switch *scoring {
	case "", "tfidf", "tf-idf":
		*scoring = "tf-idf"
	case "bm25":
		if *bleveIndex != IndexScorch {
			return fmt.Errorf("--bleve-scoring bm25 needs --bleve-index %s: bleve's %s (upsidedown) index has no BM25 statistics and would silently use tf-idf", IndexScorch, IndexMemOnly)
		}
	default:
		return fmt.Errorf("--bleve-scoring is %q, want tfidf or bm25", *scoring)
	}
	names, err := parseSets(*setList)
	if err != nil {
		return err
	}
	// Check every file before loading the segmenter (half a second) or
	// measuring anything, so that missing data fails at once and clearly.
	if err := checkData(*data, names); err != nil {
		return err
	}
	seg, err := segment.Shared("")
	if err != nil {
		return err
	}

	enc := json.NewEncoder(stdout)
	var reports []Report
	for i, name := range names {
		kb, tests, oos, err := loadSet(*data, sets[name])
		if err != nil {
			return err
		}
		// Alternate which system is built and warmed first, so that
		// neither is always measured on the colder or the more
		// fragmented heap.
		rep, err := Compare(name, seg, kb, tests, oos, Config{Rounds: *rounds, Warmup: *warmup, CarebotFirst: i%2 == 0, BleveIndex: *bleveIndex, BleveCategoryFromID: *fromID, BleveScoring: *scoring})
		if err != nil {
			return err
		}
		if *asJSON {
			if err := enc.Encode(rep); err != nil {
				return err
			}
			continue
		}
		writeTable(stdout, rep)
		fmt.Fprintln(stdout)
		reports = append(reports, rep)
	}
	if !*asJSON && len(reports) > 1 {
		writeSummary(stdout, reports)
	}
	return nil
}

// parseSets splits and checks the --sets list.
func parseSets(list string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := sets[n]; !ok {
			return nil, fmt.Errorf("unknown set %q; known: %s", n, defaultSets)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("no sets given")
	}
	return names, nil
}

// checkData reports every missing file of the chosen sets at once.
func checkData(dir string, names []string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("shared FAQ data not found at %s: run from the bench module of a checkout with shared/ beside it, or pass --data DIR (DIR/banking77/kb.csv and so on)", dir)
	}
	var missing []string
	for _, n := range names {
		s := sets[n]
		for _, f := range []string{s.kb, s.dev, s.oos} {
			if f == "" {
				continue
			}
			p := filepath.Join(dir, s.dir, f)
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, p)
			} else if err != nil {
				return err
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("shared FAQ data incomplete under %s, missing: %s", dir, strings.Join(missing, ", "))
	}
	return nil
}

// loadSet reads a set's knowledge base, test and out-of-scope questions.
func loadSet(dir string, s setSpec) (kb, tests, oos []knowledge.LabeledQuestion, err error) {
	read := func(f string) []knowledge.LabeledQuestion {
		if f == "" || err != nil {
			return nil
		}
		var qs []knowledge.LabeledQuestion
		qs, err = knowledge.ReadLabeledCSVFile(filepath.Join(dir, s.dir, f))
		return qs
	}
	kb, tests, oos = read(s.kb), read(s.dev), read(s.oos)
	return kb, tests, oos, err
}

// writeTable prints one set's comparison: a row per measure, a column per
// system, and the ratio with its direction spelled out.
func writeTable(w io.Writer, r Report) {
	cb, bl := r.Results[0], r.Results[1]
	fmt.Fprintf(w, "%s: %d KB questions in %d entries, %d test questions", r.Set, r.KBQuestions, r.Entries, r.Questions)
	if r.OOS > 0 {
		fmt.Fprintf(w, " + %d out-of-scope", r.OOS)
	}
	fmt.Fprintf(w, "\n  bleve: %s index, %s scoring, category from %s; median of %d rounds; carebot's segmenter alone takes %.1f µs (p50) of each query\n",
		r.BleveIndex, r.BleveScoring, r.BleveCategory, r.Rounds, r.SegmentP50us)
	fmt.Fprintf(w, "  %-20s %10s %10s %8s  %s\n", "measure", cb.System, bl.System, "ratio", "ratio is")
	row := func(label, format string, a, b, ratio float64, what string) {
		fmt.Fprintf(w, "  %-20s %10s %10s %8s  %s\n", label, fmt.Sprintf(format, a), fmt.Sprintf(format, b), times(ratio), what)
	}
	row("top-1", "%.3f", cb.Top1, bl.Top1, r.Ratios.Top1, "carebot/bleve")
	row("top-3", "%.3f", cb.Top3, bl.Top3, r.Ratios.Top3, "carebot/bleve")
	row("p50 latency µs", "%.1f", cb.P50us, bl.P50us, r.Ratios.P50, "bleve/carebot (speed-up)")
	row("p99 latency µs", "%.1f", cb.P99us, bl.P99us, r.Ratios.P99, "bleve/carebot (speed-up)")
	row("build ms", "%.1f", cb.BuildMs, bl.BuildMs, r.Ratios.Build, "bleve/carebot")
	row("heap MB", "%.2f", cb.HeapMB, bl.HeapMB, r.Ratios.Heap, "bleve/carebot")
	if cb.OOSRejected != nil {
		fmt.Fprintf(w, "  %-20s %10.3f %10s %8s  %s\n", "oos rejected", *cb.OOSRejected, "n/a", "-", "bleve has no calibrated rejection")
		fmt.Fprintf(w, "  %-20s %10.3f %10s %8s  %s\n", "in-scope answered", *cb.InScopeAnswered, "n/a", "-", "carebot's Decide at default MinScore")
	}
}

// writeSummary prints one line per set with the headline ratios.
func writeSummary(w io.Writer, rs []Report) {
	fmt.Fprintf(w, "summary (top-1 carebot vs bleve; ratios as above)\n")
	fmt.Fprintf(w, "  %-16s %8s %8s %8s %10s %10s %8s\n", "set", "carebot", "bleve", "top-1 ×", "p50 ×", "build ×", "heap ×")
	for _, r := range rs {
		fmt.Fprintf(w, "  %-16s %8.3f %8.3f %8s %10s %10s %8s\n", r.Set, r.Results[0].Top1, r.Results[1].Top1,
			times(r.Ratios.Top1), times(r.Ratios.P50), times(r.Ratios.Build), times(r.Ratios.Heap))
	}
}

// times formats a ratio, "-" when it could not be computed.
func times(x float64) string {
	if x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", x)
}
