// Command carebot runs the carebot customer-care bot and its tools.
//
//	carebot [serve]        run the bot (web chat, webhooks, API) — the default
//	carebot chat           talk to the bot in the terminal
//	carebot config check   validate and print the effective configuration
//	carebot kb …           knowledge base tools (eval, unanswered, add-question, lint, import)
//	carebot emotion …      emotion scoring tools (eval, train, score)
//	carebot agent …        console accounts and API tokens (add, token, list, remove, hash)
//	carebot member …       loyalty members (import, show)
//	carebot backup FILE    copy the database while the bot runs
//	carebot health         check a running server's /readyz
//	carebot version        print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// errUsage marks a command-line mistake; main exits with status 2.
var errUsage = errors.New("usage error")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the bot: web chat, API, metrics (default)", runServe},
		{"chat", "talk to the bot in this terminal, with the same engine and data", runChat},
		{"config", "configuration tools: config check", runConfig},
		{"kb", "knowledge base tools: eval, unanswered, add-question, lint, import", runKB},
		{"emotion", "emotion scoring tools: eval, train, score", runEmotion},
		{"agent", "agent console accounts: add, token, list, remove, hash", runAgent},
		{"member", "loyalty members: import a CSV, show one", runMember},
		{"cron", "scheduled jobs: list, run one now (or as a dry run)", runCron},
		{"backup", "write a consistent copy of the database to FILE, also while the bot runs", runBackup},
		{"health", "check that a running server is ready (for container health checks)", runHealth},
		{"loadtest", "play customers through signed webhooks against fake platform APIs; report throughput and latency", runLoadtest},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		usage(stdout)
		return 0
	}
	if name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(args, stdout, stderr)
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "carebot %s: %v\n", name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "carebot %s: %v\n", name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "carebot: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, "carebot is a customer-care bot for WeChat, LINE, Telegram and the web.\n\nUsage:\n  carebot [command] [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'carebot COMMAND --help' for the flags of a command.\n")
}

// newFlags returns a flag set whose --help prints the command's usage line
// and summary before its flags.
func newFlags(name, args, summary string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: carebot %s %s\n\n%s\n\nFlags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
