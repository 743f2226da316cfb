package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// kbCommands are the subcommands of "carebot kb".
func kbCommands() map[string]command {
	cmds := []command{
		{"eval", "measure matching on labelled questions: top-1/3, MRR, outcomes, latency", runKBEval},
		{"unanswered", "list the questions the bot could not answer", runKBUnanswered},
		{"add-question", "add a similar question to an entry (live in a running server)", runKBAddQuestion},
		{"lint", "check a knowledge base for duplicates, missing answers, confusable entries", runKBLint},
		{"import", "make a knowledge base file from question and answer CSVs", runKBImport},
	}
	out := map[string]command{}
	for _, c := range cmds {
		out[c.name] = c
	}
	return out
}

func runKB(args []string, stdout, stderr io.Writer) error {
	cmds := kbCommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, "Usage: carebot kb COMMAND [flags]\n\nKnowledge base tools:\n")
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-13s %s\n", n, cmds[n].summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: name a kb command", errUsage)
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown kb command %q", errUsage, args[0])
	}
	return c.run(args[1:], stdout, stderr)
}

func runKBEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kb eval", "--kb KB.csv --test TEST.csv [--oos OOS.csv] [--json]",
		"Builds an index from a text,category CSV (each category one entry) or a YAML knowledge\nbase directory, asks every test question and prints top-1, top-3 and MRR (ranking of\nentries, whatever the outcome), the shares answered / clarified / rejected, the out-of-scope rejection rate (--oos),\np50/p99 query latency, index build time and heap size.", stderr)
	kbPath := fs.String("kb", "", "knowledge base: a `CSV` (text,category) or a directory of YAML files (categories of the tests are then entry ids)")
	testPath := fs.String("test", "", "test questions `CSV` (text,category)")
	oosPath := fs.String("oos", "", "out-of-scope questions `CSV` (text,category; category ignored)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	minScore := fs.Float64("min-score", 0, "answer threshold (default: the built-in default)")
	clarify := fs.Float64("clarify-score", 0, "clarify threshold (default: the built-in default)")
	margin := fs.Float64("margin", 0, "lead over the runner-up needed to answer (default: the built-in default; negative: off)")
	dictDir := fs.String("jieba-dict", "", "jieba dictionary `directory` (default: searched)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *kbPath == "" || *testPath == "" {
		return fmt.Errorf("%w: --kb and --test are required", errUsage)
	}
	var entries []knowledge.Entry
	if st, err := os.Stat(*kbPath); err == nil && st.IsDir() {
		entries, err = knowledge.LoadDir(*kbPath)
		if err != nil {
			return err
		}
	} else {
		kb, err := knowledge.ReadLabeledCSVFile(*kbPath)
		if err != nil {
			return err
		}
		entries = knowledge.EntriesFromLabeled(kb)
	}
	tests, err := knowledge.ReadLabeledCSVFile(*testPath)
	if err != nil {
		return err
	}
	var oos []knowledge.LabeledQuestion
	if *oosPath != "" {
		if oos, err = knowledge.ReadLabeledCSVFile(*oosPath); err != nil {
			return err
		}
	}
	seg, err := segment.Shared(*dictDir)
	if err != nil {
		return fmt.Errorf("jieba: %w", err)
	}
	opts := knowledge.DefaultOptions()
	opts.ClarifyScore = 0 // follow MinScore unless given
	if *minScore > 0 {
		opts.MinScore = *minScore
	}
	if *clarify > 0 {
		opts.ClarifyScore = *clarify
	}
	opts.Margin = *margin
	res, _, err := knowledge.EvaluateEntries(seg, entries, tests, oos, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	printEval(stdout, res)
	return nil
}

func printEval(w io.Writer, r knowledge.EvalResult) {
	pct := func(x float64) string { return fmt.Sprintf("%5.1f%%", 100*x) }
	rows := [][2]string{
		{"entries / KB questions", fmt.Sprintf("%d / %d", r.Entries, r.KBSize)},
		{"test questions", fmt.Sprint(r.Questions)},
		{"top-1", pct(r.Top1)},
		{"top-3", pct(r.Top3)},
		{"MRR@10", fmt.Sprintf("%.3f", r.MRR)},
		{"answered (right / wrong)", fmt.Sprintf("%s (%s / %s)", pct(r.Answered), strings.TrimSpace(pct(r.AnsweredRight)), strings.TrimSpace(pct(r.AnsweredWrong)))},
		{"clarified", pct(r.Clarified)},
		{"rejected", pct(r.Rejected)},
	}
	if r.OOS > 0 {
		rows = append(rows, [2]string{"out-of-scope rejected", fmt.Sprintf("%s of %d (answered %s)", pct(r.OOSRejected), r.OOS, strings.TrimSpace(pct(r.OOSAnswered)))})
	}
	rows = append(rows,
		[2]string{"query latency p50 / p99", fmt.Sprintf("%.0f µs / %.0f µs", r.P50us, r.P99us)},
		[2]string{"index build", fmt.Sprintf("%.0f ms", r.BuildMs)},
		[2]string{"index heap", fmt.Sprintf("%.1f MB", r.HeapMB)},
	)
	for _, row := range rows {
		fmt.Fprintf(w, "%-26s %s\n", row[0], row[1])
	}
}
