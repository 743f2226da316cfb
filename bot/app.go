package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/segment"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// DBFile is the database file's name inside data.dir.
const DBFile = "carebot.db"

// AdminTokenFile holds the generated admin token inside data.dir.
const AdminTokenFile = "admin.token"

// App is a wired carebot: store, knowledge base, dialog, engine, outbox,
// channels and HTTP handler, built from one Config.
type App struct {
	cfg      *configs.Config
	log      *slog.Logger
	now      func() time.Time
	store    *store.Store
	seg      *segment.Segmenter
	router   *dialog.Router
	reloadMu sync.Mutex
	engine   *Engine
	outbox   *Outbox
	registry *channels.Registry
	webchat  *webchat.Channel
	metrics  *Metrics
	admin    string
	auth     *handoff.Auth // console accounts, sessions, tokens (agents.go)
	care     *Care
	// kbFingerprint is what the knowledge files looked like when the
	// knowledge base was first loaded.
	kbFingerprint string
	// loyalty is nil when loyalty.enabled is off.
	loyalty     *loyalty.Program
	loyaltyChat *loyaltyChat
	platforms   []platform
	cron        *cron.Scheduler
	// careJobs is nil unless care and loyalty are both enabled.
	careJobs *careJobs
	// stats keeps the daily aggregates of the dashboard and reports.
	stats *stats.Recorder

	workersMu sync.Mutex
	stopWork  context.CancelFunc
	workDone  chan struct{}
}

type appOptions struct {
	log      *slog.Logger
	now      func() time.Time
	channels []channels.Channel
	// compensate is the mild tier's compensation hook.
	compensate Compensator
}

// Option customises New.
type Option func(*appOptions)

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *appOptions) { o.log = l } }

// WithClock sets the clock used for state, scheduling and expiry.
func WithClock(now func() time.Time) Option { return func(o *appOptions) { o.now = now } }

// WithChannel registers an extra channel (the terminal chat uses one).
func WithChannel(ch channels.Channel) Option {
	return func(o *appOptions) { o.channels = append(o.channels, ch) }
}

// WithCompensation sets the hook that gives a small compensation (a coupon)
// with a mild apology; without it the apology comes alone.
func WithCompensation(fn Compensator) Option { return func(o *appOptions) { o.compensate = fn } }

// New opens the database and builds every part from cfg. Close releases it.
func New(cfg *configs.Config, opts ...Option) (*App, error) {
	o := appOptions{log: slog.Default(), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	// Secrets and personal data never reach the log (logmask.go).
	o.log = MaskLogger(o.log, ConfigSecrets(cfg)...)
	seg, err := segment.Shared(cfg.Jieba.DictDir)
	if err != nil {
		return nil, fmt.Errorf("jieba: %w", err)
	}
	replies, err := configs.LoadReplies()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(cfg.Data.Dir, DBFile), store.Options{LockTimeout: cfg.Data.LockTimeout.D()})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: o.log, now: o.now, store: st, seg: seg, registry: channels.NewRegistry()}
	a.auth = newAuth(cfg, st, o.now, o.log)
	// The watcher compares with the files as they were before this load,
	// so a change made while carebot starts is not missed.
	if cfg.Knowledge.Dir != "" {
		a.kbFingerprint = fingerprint(cfg.Knowledge.Dir)
	}
	kb, err := a.buildKnowledge()
	if err != nil {
		st.Close()
		return nil, err
	}
	scorer, err := NewEmotionScorer(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	var rules *handoff.Rules
	if cfg.Handoff.Enabled {
		r := handoffRules(cfg.Handoff)
		rules = &r
	}
	router, err := dialog.New(kb, dialog.Options{
		Replies:       replies,
		DefaultLocale: cfg.Dialog.DefaultLocale,
		Suggestions:   cfg.Knowledge.Suggestions,
		Emotion:       scorer,
		Handoff:       rules,
		WaitingNotice: cfg.Handoff.WaitingNotice.D(),
		Loyalty:       cfg.Loyalty.Enabled,
		GroupKeywords: cfg.Dialog.GroupKeywords,
		GroupWelcome:  cfg.Dialog.GroupWelcome,
		FloodBurst:    cfg.Dialog.FloodBurst,
		FloodRate:     cfg.Dialog.FloodRate,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.router = router
	a.admin, err = adminToken(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	addLogSecrets(o.log, a.admin) // also when generated
	a.metrics = newMetrics(func() float64 { return float64(a.outbox.Depth()) })
	a.outbox = newOutbox(st, a.registry, OutboxOptions{
		Concurrency:  cfg.Outbox.Concurrency,
		MaxAttempts:  cfg.Outbox.MaxAttempts,
		BaseBackoff:  cfg.Outbox.BaseBackoff.D(),
		MaxBackoff:   cfg.Outbox.MaxBackoff.D(),
		SendTimeout:  cfg.Outbox.SendTimeout.D(),
		PollInterval: cfg.Outbox.PollInterval.D(),
	}, o.now, o.log, a.metrics)
	if a.outbox.limits, err = newRateLimits(cfg.Outbox.RateLimits); err != nil {
		st.Close()
		return nil, err
	}
	// Days of the dashboard and reports are the programme's days (the
	// loyalty figures are counted in them), else the care zone's.
	zoneKey, zoneName := "care.time_zone", cfg.Care.TimeZone
	if cfg.Loyalty.Enabled {
		zoneKey, zoneName = "loyalty.time_zone", cfg.Loyalty.TimeZone
	}
	statsZone, err := loadZone(zoneName)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: %w", zoneKey, err)
	}
	a.stats = stats.New(statsZone)
	a.care = &Care{stats: a.stats, npsLow: cfg.Care.NPSLowScore, csatLow: cfg.Care.CSATLowScore, causes: cfg.Handoff.Causes, staff: cfg.Handoff.Staff, csat: cfg.Handoff.CSAT, router: router, outbox: a.outbox, hub: newTicketHub(), log: o.log, compensate: o.compensate}
	if rules != nil {
		a.care.rules = *rules
	}
	a.engine = &Engine{store: st, router: router, outbox: a.outbox, metrics: a.metrics, now: o.now, log: o.log, seenTTL: cfg.Data.SeenEventTTL.D(), care: a.care, stats: a.stats}
	if cfg.Loyalty.Enabled {
		prog, lopts, err := newLoyalty(cfg, st, o.now)
		if err != nil {
			st.Close()
			return nil, err
		}
		a.loyalty = prog
		a.loyaltyChat = &loyaltyChat{prog: prog, opts: lopts, router: router, now: o.now, welcome: cfg.Loyalty.WelcomeRight}
		a.engine.loyalty = a.loyaltyChat
		a.care.tierPriority = a.loyaltyChat.handoffPriority
		a.care.prog = prog
		if a.care.compensate == nil && cfg.Handoff.CompensationRight != "" {
			a.care.compensate = a.loyaltyChat.compensator(cfg.Handoff.CompensationRight)
		}
	}
	if cfg.Webchat.Enabled {
		a.webchat = webchat.New(webJournal{st}, a.dispatchIDs, webchat.Options{ReplyWait: cfg.Webchat.ReplyWait.D(), Now: o.now})
		if err := a.registry.Register(a.webchat); err != nil {
			st.Close()
			return nil, err
		}
	}
	var loc *time.Location
	if a.loyalty != nil {
		loc = a.loyalty.Location()
		n, err := a.loyalty.EnsureIndexes(st)
		if n > 0 {
			o.log.Info("loyalty indexes built for existing members", "members", n)
		}
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("loyalty indexes: %w", err)
		}
	}
	jobs := a.loyaltyCronJobs()
	if cfg.Care.Enabled && a.loyalty == nil {
		o.log.Warn("care.enabled is on but loyalty.enabled is off: scheduled care needs the members, so no care jobs run")
	}
	if cfg.Care.Enabled && a.loyalty != nil {
		if a.careJobs, err = newCareJobs(a, cfg.Care); err != nil {
			st.Close()
			return nil, err
		}
		if loc == nil {
			loc = a.careJobs.loc
		}
		jobs = append(jobs, a.careJobs.jobs(loc)...)
		a.care.careSendAt = a.careJobs.sendAt
	}
	if a.cron, err = cron.New(st, cron.Options{Location: loc, Now: o.now, Logger: o.log}, jobs...); err != nil {
		st.Close()
		return nil, fmt.Errorf("cron: %w", err)
	}
	if a.platforms, err = a.newPlatforms(cfg.Channels, cfg.Outbox.Concurrency); err != nil {
		st.Close()
		return nil, err
	}
	for _, p := range a.platforms {
		if err := a.registry.Register(p.channel); err != nil {
			st.Close()
			return nil, err
		}
	}
	for _, ch := range o.channels {
		if err := a.registry.Register(ch); err != nil {
			st.Close()
			return nil, err
		}
	}
	return a, nil
}

// adminToken returns the configured token, or the one stored in the data
// directory, generating it on first start.
func adminToken(cfg *configs.Config) (string, error) {
	if cfg.Admin.Token != "" {
		return cfg.Admin.Token, nil
	}
	path := filepath.Join(cfg.Data.Dir, AdminTokenFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	tok := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

func (a *App) dispatchIDs(ctx context.Context, ev channels.Event) ([]uint64, error) {
	res, err := a.engine.Dispatch(ctx, ev)
	return res.OutboxIDs, err
}

// Engine returns the dispatch engine.
func (a *App) Engine() *Engine { return a.engine }

// Outbox returns the outbox.
func (a *App) Outbox() *Outbox { return a.outbox }

// Knowledge returns the knowledge base.
func (a *App) Knowledge() *knowledge.Base { return a.router.Knowledge() }

// Store returns the open store.
func (a *App) Store() *store.Store { return a.store }

// StartWorkers starts the outbox worker and the janitor; StopWorkers ends
// them. Serve calls both itself.
func (a *App) StartWorkers() {
	a.workersMu.Lock()
	defer a.workersMu.Unlock()
	if a.stopWork != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopWork, a.workDone = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(6)
	go func() { defer wg.Done(); a.runPlatforms(ctx) }()
	go func() { defer wg.Done(); a.escalator(ctx.Done()) }()
	go func() { defer wg.Done(); a.cron.Start(ctx) }()
	go func() { defer wg.Done(); a.outbox.Run(ctx) }()
	go func() { defer wg.Done(); a.janitor(ctx) }()
	go func() { defer wg.Done(); a.watchKnowledge(ctx) }()
	go func() { wg.Wait(); close(a.workDone) }()
}

// StopWorkers stops the workers and waits for deliveries in flight.
func (a *App) StopWorkers() {
	a.workersMu.Lock()
	cancel, done := a.stopWork, a.workDone
	a.stopWork = nil
	a.workersMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// janitor forgets expired event ids every few minutes.
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		for {
			n, err := a.engine.ExpireSeenEvents(5000)
			if err != nil {
				a.log.Error("janitor failed", "err", err)
			}
			if n < 5000 || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve serves HTTP on ln and runs the workers until ctx is cancelled, then
// shuts down gracefully: it stops accepting, ends event streams, waits for
// requests in flight (and so for their dispatches) up to
// server.shutdown_timeout, stops the outbox after its deliveries in flight,
// and returns. The caller closes the App.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: a.cfg.Server.ReadHeaderTimeout.D(),
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if a.webchat != nil {
		srv.RegisterOnShutdown(a.webchat.Close)
	}
	srv.RegisterOnShutdown(a.care.hub.close)
	a.StartWorkers()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("carebot is serving", "addr", ln.Addr().String(), "channels", a.registry.Names(), "faq_entries", a.Knowledge().Len())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout.D())
	defer cancel()
	a.log.Info("shutting down")
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Warn("shutdown did not finish in time", "err", err)
	}
	a.StopWorkers()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close stops the workers and closes the database.
func (a *App) Close() error {
	a.StopWorkers()
	if a.webchat != nil {
		a.webchat.Close()
	}
	a.care.hub.close()
	return a.store.Close()
}
