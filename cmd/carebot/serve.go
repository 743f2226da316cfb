package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/configs"
)

// commonFlags are the flags every command that opens the data shares.
type commonFlags struct {
	config, addr, data string
}

func (c *commonFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}, withAddr bool) {
	fs.StringVar(&c.config, "config", "", "YAML configuration `file` (overrides the embedded defaults)")
	fs.StringVar(&c.data, "data", "", "data `directory` (default from config: ./carebot-data; env CAREBOT_DATA)")
	if withAddr {
		fs.StringVar(&c.addr, "addr", "", "listen address `host:port` (default from config: 127.0.0.1:8080; env CAREBOT_ADDR)")
	}
}

// load reads the configuration; flags given on the command line win over
// the environment, the file and the defaults.
func (c *commonFlags) load() (*configs.Config, error) {
	cfg, err := configs.Load(c.config, os.Getenv)
	if err != nil {
		return nil, err
	}
	if c.addr != "" {
		cfg.Server.Addr = c.addr
	}
	if c.data != "" {
		cfg.Data.Dir = c.data
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(cfg *configs.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", "[--config FILE] [--addr HOST:PORT] [--data DIR]",
		"Runs the bot: the web chat at http://ADDR/, its API, /healthz, /readyz and /metrics.\nStops gracefully on SIGINT or SIGTERM; SIGHUP reloads the knowledge base.", stderr)
	var cf commonFlags
	cf.register(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	log := bot.MaskLogger(newLogger(cfg, stderr), bot.ConfigSecrets(cfg)...)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := bot.New(cfg, bot.WithLogger(log))
	if err != nil {
		return err
	}
	defer app.Close()
	// SIGHUP reloads the knowledge base, the habit operators expect of a
	// daemon; traffic goes on with the old one until the new one is built.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = app.ReloadKnowledge("SIGHUP")
			case <-ctx.Done():
				return
			}
		}
	}()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	log.Info("open the web chat", "url", "http://"+ln.Addr().String()+"/", "data", cfg.Data.Dir)
	return app.Serve(ctx, ln)
}

// envVarsSet lists the CAREBOT_* variables that are set, with their keys.
func envVarsSet() map[string]string {
	out := map[string]string{}
	for env, key := range configs.EnvVars() {
		if os.Getenv(env) != "" {
			out[env] = key
		}
	}
	return out
}

// quietLogger logs only errors, to standard error, for one-shot commands.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
