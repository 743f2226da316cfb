package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
	"golang.org/x/term"
)

const agentUsage = `Usage: carebot agent COMMAND [flags]

Manages the agent console's accounts. Each command works with the server
stopped (it opens the database) and while it runs on the same data
directory (it goes through the server's admin API with <data>/admin.token).

Commands:
  add NAME --role ROLE [--reset] [--password-stdin]   create an account (or reset its password)
  token NAME [--revoke]                               print a new API token (or revoke all)
  list [--json]                                       list the accounts
  remove NAME                                         delete an account, its tokens and sessions
  hash [--password-stdin]                             print a bcrypt hash for console.accounts

Common flags: --config FILE, --data DIR, --addr HOST:PORT (of the running server).
See docs/agents.md.
`

func runAgent(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentUsage)
		return fmt.Errorf("%w: want a command: add, token, list, remove or hash", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add":
		return runAgentAdd(rest, stdout, stderr)
	case "token":
		return runAgentToken(rest, stdout, stderr)
	case "list":
		return runAgentList(rest, stdout, stderr)
	case "remove":
		return runAgentRemove(rest, stdout, stderr)
	case "hash":
		return runAgentHash(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, agentUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown command 'agent %s' (want add, token, list, remove or hash)", errUsage, sub)
}

// parseInterspersed parses flags given before or after the positional
// arguments ('carebot agent add alice --role agent'); package flag alone
// stops at the first positional one.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// agentName parses the flags and returns the one NAME argument, checked
// here so that a typo is reported before the database is opened.
func agentName(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: want exactly one account NAME, got %d arguments", errUsage, len(pos))
	}
	if err := handoff.ValidateName(pos[0]); err != nil {
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	return pos[0], nil
}

// agentConfig loads the configuration with a short lock timeout: when a
// server holds the database, the command should go through it at once
// rather than wait the server's own lock timeout first.
func agentConfig(cf *commonFlags) (*configs.Config, error) {
	cfg, err := cf.load()
	if err != nil {
		return nil, err
	}
	cfg.Data.LockTimeout = configs.Duration(500 * time.Millisecond)
	return cfg, nil
}

func agentPath(name string, tail ...string) string {
	return "/api/v1/admin/agents/" + url.PathEscape(name) + strings.Join(tail, "")
}

func runAgentAdd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent add", "NAME --role ROLE [--reset] [--password-stdin] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Creates a console account with a password (asked twice on the terminal, or read as one\nline from standard input with --password-stdin) stored as a bcrypt hash. With --reset,\ngives an existing account a new password and role and logs out its sessions.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	roleFlag := fs.String("role", "", "`role`: agent, supervisor, manager or admin (required)")
	reset := fs.Bool("reset", false, "set a new password and role for an existing account")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (one line)")
	name, err := agentName(fs, args)
	if err != nil {
		return err
	}
	if *roleFlag == "" {
		return fmt.Errorf("%w: --role is required (agent, supervisor, manager or admin)", errUsage)
	}
	role, err := handoff.ParseRole(*roleFlag)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, err := agentConfig(&cf)
	if err != nil {
		return err
	}
	password, err := readNewPassword(*fromStdin, name, stderr)
	if err != nil {
		return err
	}
	var acct handoff.Account
	err = withApp(cfg, func(app *bot.App) error {
		acct, err = app.Auth().AddAccount(name, role, password, *reset)
		return err
	}, func() error {
		return adminJSON(cfg, http.MethodPost, "/api/v1/admin/agents",
			map[string]any{"name": name, "role": role, "password": password, "reset": *reset}, &acct)
	})
	if err != nil {
		return err
	}
	if *reset {
		fmt.Fprintf(stdout, "reset the password of %s (%s); their sessions are logged out\n", acct.Name, acct.Role)
	} else {
		fmt.Fprintf(stdout, "added %s (%s)\n", acct.Name, acct.Role)
	}
	return nil
}

func runAgentToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent token", "NAME [--revoke] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Prints a new API token for account NAME, for scripts: send it as 'Authorization: Bearer TOKEN'.\nOnly its hash is stored, so it is shown this once. With --revoke, deletes all of NAME's tokens.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	revoke := fs.Bool("revoke", false, "revoke every token of NAME instead")
	name, err := agentName(fs, args)
	if err != nil {
		return err
	}
	cfg, err := agentConfig(&cf)
	if err != nil {
		return err
	}
	if *revoke {
		var out struct {
			Revoked int `json:"revoked"`
		}
		err = withApp(cfg, func(app *bot.App) error {
			out.Revoked, err = app.Auth().RevokeTokens(name)
			return err
		}, func() error {
			return adminJSON(cfg, http.MethodDelete, agentPath(name, "/tokens"), nil, &out)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %d tokens of %s\n", out.Revoked, name)
		return nil
	}
	var out struct {
		Token string `json:"token"`
	}
	err = withApp(cfg, func(app *bot.App) error {
		out.Token, err = app.Auth().NewToken(name)
		return err
	}, func() error {
		return adminJSON(cfg, http.MethodPost, agentPath(name, "/tokens"), nil, &out)
	})
	if err != nil {
		return err
	}
	// The token alone on standard output, so TOKEN=$(carebot agent token
	// NAME) works; the advice goes to standard error.
	fmt.Fprintln(stdout, out.Token)
	fmt.Fprintf(stderr, "new API token for %s; carebot keeps only its hash, so store it now\n", name)
	return nil
}

func runAgentList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent list", "[--json] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Lists the console accounts: from the database and from console.accounts in the configuration.", stderr)
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
	var out struct {
		Agents []handoff.Account `json:"agents"`
	}
	err = withApp(cfg, func(app *bot.App) error {
		out.Agents, err = app.Auth().Accounts()
		return err
	}, func() error {
		return adminJSON(cfg, http.MethodGet, "/api/v1/admin/agents", nil, &out)
	})
	if err != nil {
		return err
	}
	if *asJSON {
		if out.Agents == nil {
			out.Agents = []handoff.Account{}
		}
		return json.NewEncoder(stdout).Encode(out.Agents)
	}
	if len(out.Agents) == 0 {
		fmt.Fprintln(stdout, "no accounts; add one with 'carebot agent add NAME --role ROLE'")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tFROM\tCREATED")
	for _, a := range out.Agents {
		from, created := "database", a.Created.Local().Format("2006-01-02 15:04")
		if a.Config {
			from, created = "config", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Role, from, created)
	}
	return tw.Flush()
}

func runAgentRemove(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent remove", "NAME [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Deletes account NAME with its API tokens and sessions; access ends at once.\nTickets keep the name.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	name, err := agentName(fs, args)
	if err != nil {
		return err
	}
	cfg, err := agentConfig(&cf)
	if err != nil {
		return err
	}
	err = withApp(cfg, func(app *bot.App) error {
		return app.Auth().RemoveAccount(name)
	}, func() error {
		var out map[string]string
		return adminJSON(cfg, http.MethodDelete, agentPath(name), nil, &out)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s\n", name)
	return nil
}

func runAgentHash(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent hash", "[--password-stdin]",
		"Prints the bcrypt hash of a password for console.accounts[].password_hash in the\nconfiguration file. Nothing is stored.", stderr)
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (one line)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q (the password is never an argument: it would stay in the shell history)", errUsage, pos[0])
	}
	password, err := readNewPassword(*fromStdin, "the configuration account", stderr)
	if err != nil {
		return err
	}
	h, err := handoff.HashPassword(password)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// readNewPassword reads a new password: one line from standard input with
// fromStdin, else typed twice on the terminal without echo. Passwords are
// never command-line arguments, which other users can see in ps.
func readNewPassword(fromStdin bool, who string, stderr io.Writer) (string, error) {
	var pw string
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, 4096)).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return "", fmt.Errorf("%w: standard input is not a terminal; pipe the password in with --password-stdin", errUsage)
		}
		fmt.Fprintf(stderr, "New password for %s: ", who)
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Repeat it: ")
		second, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ; nothing changed")
		}
		pw = string(first)
	}
	if err := handoff.ValidatePassword(pw); err != nil {
		return "", err
	}
	return pw, nil
}
