package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/cron"
)

const cronUsage = `Usage: carebot cron COMMAND [flags]

The scheduled jobs (birthday, recall, nps, new-member, follow-ups,
weekly-report, points-expiry, tier-review). Each command works with the
server stopped (it opens the database; messages queued then go out at the
next start) and while it runs on the same data directory (through the
admin API with <data>/admin.token).

Commands:
  list [--json]                          jobs, specs, last and next run
  run JOB [--at RFC3339] [--dry-run] [--json]
                                         run one job as if it were that time;
                                         --dry-run prints who would get what
                                         and queues nothing

Common flags: --config FILE, --data DIR, --addr HOST:PORT (of the running server).
See docs/care.md.
`

func runCron(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, cronUsage)
		return fmt.Errorf("%w: want a command: list or run", errUsage)
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "list":
		return runCronList(rest, stdout, stderr)
	case "run":
		return runCronRun(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, cronUsage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command 'cron %s' (want list or run)", errUsage, sub)
	}
}

type cronList struct {
	Zone string        `json:"zone"`
	Jobs []cron.Status `json:"jobs"`
}

func runCronList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cron list", "[--json] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Lists the scheduled jobs with their specs, the last run recorded and the next one.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	cfg, err := agentConfig(&cf)
	if err != nil {
		return err
	}
	var out cronList
	err = withApp(cfg, func(app *bot.App) error {
		out.Zone = app.Scheduler().Location().String()
		out.Jobs, err = app.Scheduler().List()
		return err
	}, func() error {
		return adminJSON(cfg, http.MethodGet, "/api/v1/admin/cron", nil, &out)
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	if len(out.Jobs) == 0 {
		fmt.Fprintln(stdout, "no jobs (loyalty.enabled and care.enabled are both off?)")
		return nil
	}
	fmt.Fprintf(stdout, "zone %s\n", out.Zone)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSPEC\tLAST RUN\tNEXT RUN\tLAST RESULT")
	for _, j := range out.Jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, j.Spec, cronTime(j.LastAt, out.Zone), cronTime(j.Next, out.Zone), cronResult(j))
	}
	return tw.Flush()
}

func cronTime(t time.Time, zone string) string {
	if t.IsZero() {
		return "-"
	}
	if loc, err := time.LoadLocation(zone); err == nil {
		t = t.In(loc)
	}
	return t.Format("2006-01-02 15:04")
}

func cronResult(j cron.Status) string {
	switch {
	case j.LastError != "":
		return "error: " + j.LastError
	case j.LastAt.IsZero():
		return "never run"
	}
	s := fmt.Sprintf("%d queued, %d skipped", j.LastResult.Queued, j.LastResult.Skipped)
	if j.LastResult.Note != "" {
		s += "; " + j.LastResult.Note
	}
	return s
}

func runCronRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cron run", "JOB [--at RFC3339] [--dry-run] [--json] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Runs one job now, as if it were --at (default now). Jobs are idempotent: messages already\nqueued for the same member and period are not queued again. With --dry-run nothing is\nqueued, granted or recorded; the command prints who would get what, and who not and why.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	atFlag := fs.String("at", "", "run as if at this `time` (RFC 3339, e.g. 2026-12-01T09:00:00+08:00)")
	dry := fs.Bool("dry-run", false, "print who would get what; queue nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one JOB (see 'carebot cron list'), got %d arguments", errUsage, len(pos))
	}
	var at time.Time
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return fmt.Errorf("%w: --at %q is not an RFC 3339 time such as 2026-12-01T09:00:00+08:00", errUsage, *atFlag)
		}
	}
	cfg, err := agentConfig(&cf)
	if err != nil {
		return err
	}
	var out bot.CronRunResponse
	err = withApp(cfg, func(app *bot.App) error {
		out, err = app.RunJob(context.Background(), pos[0], at, *dry, 1<<30)
		return err
	}, func() error {
		req := bot.CronRunRequest{DryRun: *dry}
		if !at.IsZero() {
			req.At = at.Format(time.RFC3339)
		}
		return adminJSON(cfg, http.MethodPost, "/api/v1/admin/cron/"+url.PathEscape(pos[0])+"/run", req, &out)
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if len(out.Plan) > 0 {
		fmt.Fprintln(tw, "MEMBER\tKIND\tTO\tSEND AT\tMESSAGE")
	}
	for _, p := range out.Plan {
		to, when, msg := "-", "-", strings.ReplaceAll(p.Text, "\n", " ")
		if p.Skipped != "" {
			msg = "(skipped: " + p.Skipped + ")"
		} else {
			to, when = p.Channel+"/"+p.ChatID, p.SendAt.In(out.At.Location()).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(p.Member), p.Kind, to, when, msg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verb := "queued"
	if out.DryRun {
		verb = "would queue (dry run, nothing changed)"
	}
	fmt.Fprintf(stdout, "%s at %s: %s %d, skipped %d", out.Job, out.At.Format(time.RFC3339), verb, out.Result.Queued, out.Result.Skipped)
	if out.Result.Note != "" {
		fmt.Fprintf(stdout, "; %s", out.Result.Note)
	}
	fmt.Fprintln(stdout)
	if out.Truncated {
		fmt.Fprintln(stderr, "the plan was cut to its first lines; the counts above are complete")
	}
	return nil
}
