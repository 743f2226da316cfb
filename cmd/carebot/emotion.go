package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/segment"
)

// emotionCommands are the subcommands of "carebot emotion".
func emotionCommands() map[string]command {
	cmds := []command{
		{"eval", "measure scoring on labelled messages: accuracy and F1, or tier confusion; throughput", runEmotionEval},
		{"train", "train a naive Bayes model from label,review data for the scorer to blend in", runEmotionTrain},
		{"score", "score messages given as arguments and print each result as JSON", runEmotionScore},
	}
	out := map[string]command{}
	for _, c := range cmds {
		out[c.name] = c
	}
	return out
}

func runEmotion(args []string, stdout, stderr io.Writer) error {
	cmds := emotionCommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, "Usage: carebot emotion COMMAND [flags]\n\nEmotion scoring tools:\n")
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-6s %s\n", n, cmds[n].summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: name an emotion command", errUsage)
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown emotion command %q", errUsage, args[0])
	}
	return c.run(args[1:], stdout, stderr)
}

// emotionFlags are the flags that choose the scorer, shared by eval and
// score.
type emotionFlags struct {
	config, model string
	weight        float64
	lexicons      stringList
}

func (f *emotionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML configuration `file` (emotion and jieba sections)")
	fs.StringVar(&f.model, "model", "", "model `file` from 'carebot emotion train' (default: emotion.model; \"none\": lexicon only)")
	fs.Float64Var(&f.weight, "model-weight", 0, "the model's share of the value, 0 to 1 (default: emotion.model_weight)")
	fs.Var(&f.lexicons, "lexicon", "extra lexicon `file`, after those of emotion.lexicons (repeatable)")
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// scorer builds the scorer the configuration describes, as the server
// does, with the flags' model, weight and extra lexicons in place of the
// configured ones.
func (f *emotionFlags) scorer() (*emotion.Scorer, error) {
	cf := commonFlags{config: f.config}
	cfg, err := cf.load()
	if err != nil {
		return nil, err
	}
	ec := &cfg.Emotion
	switch f.model {
	case "":
	case "none":
		ec.Model = ""
	default:
		ec.Model = f.model
	}
	if f.weight != 0 {
		ec.ModelWeight = f.weight
	}
	ec.Lexicons = append(ec.Lexicons[:len(ec.Lexicons):len(ec.Lexicons)], f.lexicons...)
	return bot.NewEmotionScorer(cfg)
}

func runEmotionEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("emotion eval", "--data FILE.csv [--json] [--model MODEL] [--errors] [--config FILE]",
		"Scores every message of a CSV. With columns label,review (1 positive, 0 negative) it prints\naccuracy, macro-F1 and negative precision and recall (a review scoring 0 or below counts as\nnegative); with columns text,tier it prints the tier confusion matrix, tier accuracy and recall\nper tier. Both print the scoring throughput of one core in messages per second.", stderr)
	var ef emotionFlags
	ef.register(fs)
	data := fs.String("data", "", "labelled `CSV`: label,review or text,tier")
	asJSON := fs.Bool("json", false, "print one JSON object")
	showErrors := fs.Bool("errors", false, "list the messages whose tier came out wrong (text,tier data)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: want --data FILE.csv and no other arguments", errUsage)
	}
	d, err := emotion.ReadDatasetFile(*data)
	if err != nil {
		return err
	}
	s, err := ef.scorer()
	if err != nil {
		return err
	}
	res := s.Evaluate(d)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printEmotionEval(stdout, res)
	if *showErrors {
		for _, e := range res.Errors {
			cues, _ := json.Marshal(e.Result.Cues)
			fmt.Fprintf(stdout, "want %-8s got %-8s %6.3f  %s  %s\n", e.Want, e.Got, e.Result.Value, e.Text, cues)
		}
	}
	return nil
}

func printEmotionEval(w io.Writer, r emotion.Eval) {
	pct := func(x float64) string { return fmt.Sprintf("%5.1f%%", 100*x) }
	fmt.Fprintf(w, "%-20s %d\n", "messages", r.Messages)
	if r.Accuracy != nil {
		fmt.Fprintf(w, "%-20s %s\n", "accuracy", pct(*r.Accuracy))
		fmt.Fprintf(w, "%-20s %.3f\n", "macro-F1", *r.MacroF1)
		fmt.Fprintf(w, "%-20s %s\n", "negative precision", pct(*r.NegPrecision))
		fmt.Fprintf(w, "%-20s %s\n", "negative recall", pct(*r.NegRecall))
	}
	if r.TierAccuracy != nil {
		fmt.Fprintf(w, "%-20s %s\n\n", "tier accuracy", pct(*r.TierAccuracy))
		fmt.Fprintf(w, "%-10s", "labelled ↓ scored →")
		for _, t := range emotion.Tiers {
			fmt.Fprintf(w, " %9s", t)
		}
		fmt.Fprintf(w, " %9s\n", "recall")
		for _, want := range emotion.Tiers {
			fmt.Fprintf(w, "%-19s", want)
			for _, got := range emotion.Tiers {
				fmt.Fprintf(w, " %9d", r.Confusion[want.Rank()][got.Rank()])
			}
			if rec, ok := r.TierRecall[want]; ok {
				fmt.Fprintf(w, " %9s", pct(rec))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-20s %.0f msgs/s (one core)\n", "throughput", r.MsgsPerSec)
}

func runEmotionTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("emotion train", "--data LABELED.csv --out MODEL [--ngrams N] [--words] [--config FILE]",
		"Trains a naive Bayes model of positive and negative text on character n-grams (and jieba\nwords with --words) from a label,review CSV (1 positive, 0 negative) and writes it to MODEL\n(gzip-compressed JSON). Point emotion.model at it, or try it with 'carebot emotion eval --model'.", stderr)
	data := fs.String("data", "", "training `CSV` with columns label,review")
	out := fs.String("out", "", "model `file` to write")
	ngrams := fs.Int("ngrams", 2, "longest character n-gram, 1 to 5")
	words := fs.Bool("words", false, "add jieba words as features (scoring then needs the dictionary)")
	minCount := fs.Int("min-count", 2, "drop features seen fewer times")
	config := fs.String("config", "", "YAML configuration `file` (for jieba.dict_dir with --words)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: want --data LABELED.csv --out MODEL", errUsage)
	}
	d, err := emotion.ReadDatasetFile(*data)
	if err != nil {
		return err
	}
	if len(d.Binary) == 0 {
		return fmt.Errorf("%w: %s has columns text,tier; training needs label,review", errUsage, *data)
	}
	var seg *segment.Segmenter
	if *words {
		cf := commonFlags{config: *config}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		if seg, err = segment.Shared(cfg.Jieba.DictDir); err != nil {
			return fmt.Errorf("jieba: %w", err)
		}
	}
	m, err := emotion.TrainModel(seg, d.Binary, emotion.TrainOptions{NGrams: *ngrams, Words: *words, MinCount: *minCount})
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "trained on %d reviews (%d positive): %d features; wrote %s\n", m.Examples, m.Positives, len(m.Weights)+len(m.WordWeights), *out)
	return nil
}

func runEmotionScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("emotion score", "[--model MODEL] [--config FILE] TEXT...",
		"Scores each argument as one customer message and prints its result (value, label, colour,\ntier and cues) as one JSON object a line.", stderr)
	var ef emotionFlags
	ef.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: give at least one message", errUsage)
	}
	s, err := ef.scorer()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, text := range fs.Args() {
		if err := enc.Encode(struct {
			Text string `json:"text"`
			emotion.Result
		}{text, s.Score(text)}); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
	return nil
}
