package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/store"
	"gopkg.in/yaml.v3"
)

// withApp runs local with an App on the data directory, or remote against
// the running server when that server holds the database.
func withApp(cfg *configs.Config, local func(*bot.App) error, remote func() error) error {
	app, err := bot.New(cfg, bot.WithLogger(quietLogger()))
	if errors.Is(err, store.ErrInUse) {
		return remote()
	}
	if err != nil {
		return err
	}
	defer app.Close()
	return local(app)
}

// adminJSON sends in (if not nil) as JSON to the running server's admin
// API and decodes its answer into out.
func adminJSON(cfg *configs.Config, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	resp, err := adminDo(cfg.Server.Addr, cfg.Admin.Token, cfg.Data.Dir, method, path, body, 30*time.Second)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("server answer: %w", err)
	}
	return nil
}

func runKBUnanswered(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kb unanswered", "[--limit N] [--json] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Lists the questions the bot could not answer, most frequent first, with counts, when they\nwere asked and the nearest entries: the list of what to add to the knowledge base next.\nAdd one with 'carebot kb add-question ENTRY TEXT'.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	limit := fs.Int("limit", 20, "how many questions")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	var list []knowledge.UnansweredStat
	err = withApp(cfg, func(app *bot.App) error {
		list, err = app.Unanswered(*limit)
		return err
	}, func() error {
		var body struct {
			Unanswered []knowledge.UnansweredStat `json:"unanswered"`
		}
		err := adminJSON(cfg, http.MethodGet, fmt.Sprintf("/api/v1/admin/kb/unanswered?limit=%d", *limit), nil, &body)
		list = body.Unanswered
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no unanswered questions")
		return nil
	}
	for _, u := range list {
		var near []string
		for _, n := range u.Nearest {
			near = append(near, fmt.Sprintf("%s %.2f", n.ID, n.Score))
		}
		fmt.Fprintf(stdout, "%4d×  %s\n       last %s; nearest: %s\n", u.Count, u.Query, u.LastSeen.Local().Format("2006-01-02 15:04"), orNone(strings.Join(near, ", ")))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func runKBAddQuestion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kb add-question", "[--locale L] [--config FILE] [--data DIR] [--addr HOST:PORT] ENTRY TEXT",
		"Adds TEXT as a similar question of entry ENTRY. The addition is stored in the database\n(the knowledge base files are left as they are), takes effect at once in a running\nserver, and removes the question from the unanswered list.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	locale := fs.String("locale", "", "locale of TEXT: zh-Hans, zh-Hant or en (default: detected)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want ENTRY and TEXT", errUsage)
	}
	id, text := fs.Arg(0), fs.Arg(1)
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	var added bool
	var loc string
	err = withApp(cfg, func(app *bot.App) error {
		add, ok, err := app.AddQuestion(id, *locale, text, "cli")
		added, loc = ok, add.Locale
		return err
	}, func() error {
		var out struct {
			Added  bool   `json:"added"`
			Locale string `json:"locale"`
		}
		err := adminJSON(cfg, http.MethodPost, "/api/v1/admin/kb/questions", map[string]string{"entry": id, "text": text, "locale": *locale, "by": "cli"}, &out)
		added, loc = out.Added, out.Locale
		return err
	})
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(stdout, "added %q (%s) to %s\n", text, loc, id)
	} else {
		fmt.Fprintf(stdout, "%s already has %q; nothing added\n", id, text)
	}
	return nil
}

func runKBLint(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kb lint", "[--dir DIR] [--config FILE]",
		"Checks a knowledge base: questions shared by two entries and entries without an answer\nin a locale the others have (errors, exit status 1), and questions that match another\nentry almost as well as their own (warnings).", stderr)
	var cf commonFlags
	cf.register(fs, false)
	dir := fs.String("dir", "", "knowledge base `directory` (default: knowledge.dir, else the embedded demo)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if *dir == "" {
		*dir = cfg.Knowledge.Dir
	}
	entries, err := bot.KnowledgeEntries(*dir)
	if err != nil {
		return err
	}
	seg, err := segment.Shared(cfg.Jieba.DictDir)
	if err != nil {
		return fmt.Errorf("jieba: %w", err)
	}
	opts, err := bot.KnowledgeOptions(cfg)
	if err != nil {
		return err
	}
	kb, err := knowledge.NewBase(seg, entries, opts)
	if err != nil {
		return err
	}
	problems := knowledge.Lint(kb)
	errs := 0
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s [%s] %s\n", p.Entry, p.Severity, p.Kind, p.Message)
		if p.Severity == knowledge.LintError {
			errs++
		}
	}
	fmt.Fprintf(stderr, "%d entries, %d errors, %d warnings\n", kb.Len(), errs, len(problems)-errs)
	if errs > 0 {
		return fmt.Errorf("%d errors", errs)
	}
	return nil
}

func runKBImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("kb import", "--questions Q.csv --answers A.csv [--out FILE.yaml]",
		"Turns a text,category CSV of questions and a category,locale,answer CSV of answers\ninto a knowledge base YAML file (one entry per category), checked like any other.", stderr)
	qPath := fs.String("questions", "", "questions `CSV` (text,category)")
	aPath := fs.String("answers", "", "answers `CSV` (category,locale,answer)")
	out := fs.String("out", "-", "output `file` (- for standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *qPath == "" || *aPath == "" {
		return fmt.Errorf("%w: --questions and --answers are required", errUsage)
	}
	qs, err := knowledge.ReadLabeledCSVFile(*qPath)
	if err != nil {
		return err
	}
	f, err := os.Open(*aPath)
	if err != nil {
		return fmt.Errorf("read answers: %w", err)
	}
	answers, err := knowledge.ReadAnswersCSV(f, *aPath)
	f.Close()
	if err != nil {
		return err
	}
	entries, err := knowledge.ImportEntries(qs, answers)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Imported by carebot kb import from %s and %s.\n", *qPath, *aPath)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"entries": entries}); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	// The file must load as any hand-written one would.
	if _, err := knowledge.Parse(buf.Bytes(), "imported knowledge base"); err != nil {
		return err
	}
	if *out == "-" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Fprintf(stderr, "wrote %d entries to %s\n", len(entries), *out)
	return nil
}
