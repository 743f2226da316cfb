package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/channels/line/linetest"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/store"
)

// Credentials the load test gives its fake platforms and the server it
// starts. With --addr the server must be configured with the same ones
// (flags override them).
const (
	ltTelegramToken  = "123456:LOADTEST-token"
	ltTelegramSecret = "loadtest-webhook-secret"
	ltLineSecret     = "loadtest-line-channel-secret"
	ltLineToken      = "loadtest-line-channel-token"
)

// ltLocales are the locales customers write in; each customer keeps one,
// as people do.
var ltLocales = []string{"zh-Hans", "zh-Hant", "en"}

// telegramLanguage is the language_code a Telegram client sends for a
// locale.
var telegramLanguage = map[string]string{"zh-Hans": "zh-hans", "zh-Hant": "zh-hant", "en": "en"}

type loadtestFlags struct {
	addr        string
	customers   int
	duration    time.Duration
	warmup      time.Duration
	drain       time.Duration
	rate        float64
	channels    string
	json        bool
	server      string
	telegramAPI string
	lineAPI     string
	tgToken     string
	tgSecret    string
	lineSecret  string
	lineToken   string
	cpuprofile  string
	memprofile  string
	concurrency int
	// fakesReady, when set, is called with the fakes before the run (tests
	// make them misbehave).
	fakesReady func(*ltFakes)
}

func runLoadtest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("loadtest", "[--customers N] [--duration D] [--rate R] [--channels telegram,line] [--json] [--addr HOST:PORT]",
		"Plays N customers writing to carebot through signed Telegram and LINE webhooks and measures\n"+
			"each message end to end: from the webhook POST to the reply reaching the platform API. The\n"+
			"platform APIs are fakes this command runs on loopback. Without --addr it starts a server\n"+
			"(this binary's 'serve') with a temporary data directory, the embedded demo configuration,\n"+
			"the channels pointed at the fakes, flood control and platform rate limits off. With --addr\n"+
			"it targets a running server, which must use the fakes: give --telegram-api and --line-api\n"+
			"listen addresses and configure the server's channels.*.api_base, tokens and secrets to match.\n"+
			"It reports throughput, latency percentiles and an accounting of every message (replied once,\n"+
			"dead letter, lost, duplicated), and exits 1 on any loss, duplicate or refused webhook.", stderr)
	var f loadtestFlags
	fs.StringVar(&f.addr, "addr", "", "target a running server at `host:port` instead of starting one")
	fs.IntVar(&f.customers, "customers", 200, "concurrent customers; each waits for the reply before writing again")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "how long customers write")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "start of the run left out of the measured window")
	fs.DurationVar(&f.drain, "drain", 30*time.Second, "how long to wait for the last replies after writing stops")
	fs.Float64Var(&f.rate, "rate", 0, "messages per second over all customers; 0 = as fast as replies come")
	fs.StringVar(&f.channels, "channels", "telegram,line", "comma-separated channels to use: telegram, line")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.StringVar(&f.server, "server", "process", "how to start the server without --addr: process (a child 'carebot serve') or inprocess")
	fs.StringVar(&f.telegramAPI, "telegram-api", "127.0.0.1:0", "listen `address` of the fake Telegram Bot API")
	fs.StringVar(&f.lineAPI, "line-api", "127.0.0.1:0", "listen `address` of the fake LINE Messaging API")
	fs.StringVar(&f.tgToken, "telegram-token", ltTelegramToken, "Telegram bot token the fake accepts")
	fs.StringVar(&f.tgSecret, "telegram-secret", ltTelegramSecret, "Telegram webhook secret token sent with each update")
	fs.StringVar(&f.lineSecret, "line-secret", ltLineSecret, "LINE channel secret that signs each webhook")
	fs.StringVar(&f.lineToken, "line-token", ltLineToken, "LINE channel access token the fake accepts")
	fs.IntVar(&f.concurrency, "outbox-concurrency", 0, "the started server's outbox.concurrency (deliveries at once per channel); 0 keeps the configuration's")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of this process to `file` (with --server inprocess it includes the server)")
	fs.StringVar(&f.memprofile, "memprofile", "", "write an allocation profile of this process to `file` at the end (with --server inprocess it includes the server)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	chans, err := f.validate()
	if err != nil {
		return err
	}
	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// Ctrl-C ends the run early with a report of what was sent; the
	// server is stopped as at the end of a run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest(ctx, f, chans, stderr)
	if err != nil {
		return err
	}
	if f.memprofile != "" {
		if err := writeHeapProfile(f.memprofile); err != nil {
			return err
		}
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else {
		rep.print(stdout)
	}
	if rep.Lost > 0 || rep.Duplicates > 0 || rep.Refused > 0 {
		return fmt.Errorf("%d lost, %d duplicated, %d refused messages", rep.Lost, rep.Duplicates, rep.Refused)
	}
	return nil
}

// writeHeapProfile writes the allocations since the start (pprof's
// alloc_space and alloc_objects) to path.
func writeHeapProfile(path string) error {
	pf, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(pf, 0); err != nil {
		pf.Close()
		return fmt.Errorf("memory profile: %w", err)
	}
	if err := pf.Close(); err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	return nil
}

func (f *loadtestFlags) validate() ([]string, error) {
	if f.customers < 1 || f.customers > 100000 {
		return nil, fmt.Errorf("%w: --customers must be 1 to 100000", errUsage)
	}
	if f.duration <= 0 || f.warmup < 0 || f.drain <= 0 {
		return nil, fmt.Errorf("%w: --duration and --drain must be positive, --warmup not negative", errUsage)
	}
	if f.warmup >= f.duration {
		return nil, fmt.Errorf("%w: --warmup must be shorter than --duration", errUsage)
	}
	if f.concurrency < 0 || f.concurrency > 1000 {
		return nil, fmt.Errorf("%w: --outbox-concurrency must be 0 (the configuration's) to 1000", errUsage)
	}
	if f.addr != "" && f.concurrency != 0 {
		return nil, fmt.Errorf("%w: --outbox-concurrency configures a server this command starts, not one at --addr", errUsage)
	}
	if f.rate < 0 || math.IsNaN(f.rate) || math.IsInf(f.rate, 0) {
		return nil, fmt.Errorf("%w: --rate must be 0 (as fast as possible) or positive", errUsage)
	}
	if f.server != "process" && f.server != "inprocess" {
		return nil, fmt.Errorf("%w: --server must be process or inprocess", errUsage)
	}
	var chans []string
	for _, c := range strings.Split(f.channels, ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case c != "telegram" && c != "line":
			return nil, fmt.Errorf("%w: unknown channel %q (telegram, line)", errUsage, c)
		case !slices.Contains(chans, c):
			chans = append(chans, c)
		}
	}
	if len(chans) == 0 {
		return nil, fmt.Errorf("%w: --channels names no channel", errUsage)
	}
	if f.addr != "" {
		// The running server was configured before this command chose its
		// ports, so the fakes must listen where the server expects them.
		if slices.Contains(chans, "telegram") && strings.HasSuffix(f.telegramAPI, ":0") {
			return nil, fmt.Errorf("%w: with --addr give --telegram-api, the address the server's channels.telegram.api_base points at", errUsage)
		}
		if slices.Contains(chans, "line") && strings.HasSuffix(f.lineAPI, ":0") {
			return nil, fmt.Errorf("%w: with --addr give --line-api, the address the server's channels.line.api_base points at", errUsage)
		}
	}
	return chans, nil
}

// loadtest runs the whole test: fakes, server, probe, load, drain and the
// accounting.
func loadtest(ctx context.Context, f loadtestFlags, chans []string, stderr io.Writer) (*loadReport, error) {
	kb, err := knowledge.LoadFS(configs.FS, "kb")
	if err != nil {
		return nil, fmt.Errorf("demo knowledge base: %w", err)
	}
	tr := &ltTracker{byChat: map[string]*ltCustomer{}, answerOf: map[string]string{}}
	for _, e := range kb {
		for _, a := range e.Answer {
			tr.answerOf[a] = e.ID
		}
	}
	fakes, err := startFakes(f, chans, tr)
	if err != nil {
		return nil, err
	}
	defer fakes.close()
	if f.fakesReady != nil {
		f.fakesReady(fakes)
	}
	tmp, err := os.MkdirTemp("", "carebot-loadtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	var srv ltServer
	switch {
	case f.addr != "":
		srv = &externalServer{base: "http://" + f.addr}
	case f.server == "inprocess":
		srv, err = startInprocess(f, fakes, tmp, stderr)
	default:
		srv, err = startProcess(f, fakes, tmp)
	}
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	var exited <-chan struct{} // nil: never
	if p, ok := srv.(*procServer); ok {
		exited = p.exited
		// The server logs warnings and errors only; whatever it said is
		// worth seeing after the report.
		defer func() {
			if tail := p.logTail(); tail != "" {
				fmt.Fprintf(stderr, "server log (end):\n%s\n", tail)
			}
		}()
	}
	if err := waitHealthy(ctx, srv.baseURL(), 60*time.Second, exited); err != nil {
		return nil, err
	}
	cl := newLtClient(f, fakes, srv.baseURL())
	defer cl.http.CloseIdleConnections()

	plans, err := probe(ctx, cl, tr, kb, chans)
	if err != nil {
		return nil, err
	}
	custs := make([]*ltCustomer, f.customers)
	for i := range custs {
		p := plans[i%len(plans)]
		c := newCustomer(p.channel, p.locale, i, false)
		// Each customer asks the usable questions in its own order, so
		// that the same answer comes back only after every other one (the
		// bot notices a question asked again and would read it as
		// frustration).
		c.questions = slices.Clone(p.questions)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		rng.Shuffle(len(c.questions), func(a, b int) { c.questions[a], c.questions[b] = c.questions[b], c.questions[a] })
		custs[i] = c
		tr.add(c)
	}

	start := time.Now()
	windowStart := start.Add(f.warmup)
	sendEnd := start.Add(f.duration)
	deadline := sendEnd.Add(f.drain)
	var atWindow cpuSample
	var windowOnce sync.Once
	markWindow := func() { windowOnce.Do(func() { atWindow = sampleCPU(srv) }) }
	go func() {
		t := time.NewTimer(time.Until(windowStart))
		defer t.Stop()
		<-t.C
		markWindow()
	}()
	var wg sync.WaitGroup
	for i, c := range custs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var interval, offset time.Duration
			if f.rate > 0 {
				interval = time.Duration(float64(f.customers) / f.rate * float64(time.Second))
				offset = interval * time.Duration(i) / time.Duration(f.customers)
			}
			cl.play(ctx, c, start.Add(offset), interval, sendEnd, deadline)
		}()
	}
	// Measure the window's CPU when sending stops, not after the drain.
	endCPU := make(chan cpuSample, 1)
	go func() {
		time.Sleep(time.Until(sendEnd))
		markWindow()
		endCPU <- sampleCPU(srv)
	}()
	wg.Wait()
	atEnd := <-endCPU
	// Late duplicates would come within a few delivery rounds.
	time.Sleep(500 * time.Millisecond)
	dead, deadErr := srv.stopAndDeadLetters()

	rep := tr.report(custs, windowStart, sendEnd, dead)
	rep.Server = srv.describe()
	rep.Channels = chans
	rep.Customers = f.customers
	rep.DurationS = f.duration.Seconds()
	rep.WarmupS = f.warmup.Seconds()
	rep.TargetRate = f.rate
	rep.Questions = map[string]int{}
	for _, p := range plans {
		rep.Questions[p.channel+"/"+p.locale] = len(p.questions)
	}
	if deadErr != nil {
		rep.Notes = append(rep.Notes, "dead letters not read: "+deadErr.Error())
	}
	if ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "interrupted: messages still waiting for a reply are counted as lost")
	}
	rep.CPU = cpuBetween(atWindow, atEnd)
	rep.CPU.Cores = runtime.NumCPU()
	rep.CPU.Note = srv.cpuNote()
	rep.ServerPeakRSSMB = srv.peakRSSMB()
	rep.Fakes = fakes.summary()
	return rep, nil
}

// ---------------------------------------------------------------- customers

// ltQuestion is a question and the FAQ entry that answers it. The answer
// may come in any of the entry's locales: a customer's first message in
// characters that zh-Hans and zh-Hant share is answered in the default one.
type ltQuestion struct {
	Text  string
	Entry string
}

// ltMessage is one customer message and what became of it.
type ltMessage struct {
	seq     int
	q       ltQuestion
	token   string // LINE reply token, the marker of the message
	sent    time.Time
	acked   time.Time
	replied time.Time
	replies int
	refused string // why the webhook was not accepted
	done    chan struct{}
}

// ltCustomer is one chat. Replies are matched to its messages under mu.
type ltCustomer struct {
	index     int
	channel   string
	chat      string // Telegram chat id or LINE user id
	locale    string
	questions []ltQuestion

	mu        sync.Mutex
	msgs      []*ltMessage
	unreplied []*ltMessage
	extras    []string
	// learn receives every reply during the probe.
	learn chan string
}

func newCustomer(channel, locale string, index int, probe bool) *ltCustomer {
	c := &ltCustomer{index: index, channel: channel, locale: locale}
	switch channel {
	case "telegram":
		base := 700_000_000
		if probe {
			base = 600_000_000
		}
		c.chat = strconv.Itoa(base + index)
	default:
		kind := 0xa
		if probe {
			kind = 0xb
		}
		c.chat = fmt.Sprintf("U%x%031x", kind, index)
	}
	if probe {
		c.learn = make(chan string, 64)
	}
	return c
}

// ltTokenRef is the message a LINE reply token was issued for.
type ltTokenRef struct {
	c *ltCustomer
	m *ltMessage
}

// ltTracker finds the message each accepted reply answers.
type ltTracker struct {
	mu     sync.RWMutex
	byChat map[string]*ltCustomer
	// answerOf maps each FAQ answer (in every locale) to its entry.
	answerOf map[string]string
	// tokens maps each LINE reply token to its message.
	tokens sync.Map
	extra  atomic.Int64
}

func (t *ltTracker) add(c *ltCustomer) {
	t.mu.Lock()
	t.byChat[c.channel+"\x00"+c.chat] = c
	t.mu.Unlock()
}

// reply records a message the bot sent that the fake API accepted: a
// LINE reply by its token, anything else by chat and text.
func (t *ltTracker) reply(channel, chat, token, text string, at time.Time) {
	var c *ltCustomer
	var m *ltMessage
	if v, ok := t.tokens.Load(token); ok && token != "" {
		ref := v.(ltTokenRef)
		c, m = ref.c, ref.m
	} else {
		t.mu.RLock()
		c = t.byChat[channel+"\x00"+chat]
		t.mu.RUnlock()
	}
	if c == nil {
		t.extra.Add(1)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.learn != nil {
		select {
		case c.learn <- text:
		default:
		}
		return
	}
	// A reply token names the message, but the first message of a turn is
	// not always the answer (an apology can come first), so the text must
	// match too; failing that, the earliest message waiting for this
	// text, else one that had it already (a duplicate).
	entry := t.answerOf[text]
	if entry == "" {
		c.extras = append(c.extras, text)
		return
	}
	if m != nil && m.q.Entry != entry {
		m = nil
	}
	if m == nil {
		for _, u := range c.unreplied {
			if u.q.Entry == entry {
				m = u
				break
			}
		}
	}
	if m == nil {
		for i := len(c.msgs) - 1; i >= 0; i-- {
			if c.msgs[i].q.Entry == entry {
				m = c.msgs[i]
				break
			}
		}
	}
	if m == nil {
		c.extras = append(c.extras, text)
		return
	}
	m.replies++
	if m.replies == 1 {
		m.replied = at
		c.unreplied = slices.DeleteFunc(c.unreplied, func(u *ltMessage) bool { return u == m })
		close(m.done)
	}
}

// ltClient posts webhooks as the platforms do.
type ltClient struct {
	http     *http.Client
	base     string
	fakes    *ltFakes
	tgSecret string
	lnSecret string
	updateID atomic.Int64
	eventID  atomic.Int64
	tracker  *ltTracker
}

func newLtClient(f loadtestFlags, fakes *ltFakes, base string) *ltClient {
	tr := &http.Transport{
		MaxIdleConns:        f.customers + 64,
		MaxIdleConnsPerHost: f.customers + 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &ltClient{
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base, fakes: fakes,
		tgSecret: f.tgSecret, lnSecret: f.lineSecret, tracker: fakes.tracker,
	}
}

// send posts one message of c as a webhook, retried like the platforms
// retry an unanswered webhook (same update id, so the bot drops the
// copy), and returns when the bot acknowledged it.
func (cl *ltClient) send(ctx context.Context, c *ltCustomer, m *ltMessage) {
	var body []byte
	var req func() (*http.Request, error)
	switch c.channel {
	case "telegram":
		id, _ := strconv.ParseInt(c.chat, 10, 64)
		body = telegramtest.TextUpdate(cl.updateID.Add(1), id, telegramtest.User{ID: id, FirstName: "Load", LanguageCode: telegramLanguage[c.locale]}, m.q.Text)
		req = func() (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.base+"/webhook/telegram", bytes.NewReader(body))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Telegram-Bot-Api-Secret-Token", cl.tgSecret)
			}
			return r, err
		}
	default:
		n := cl.eventID.Add(1)
		m.token = fmt.Sprintf("lt%d-%d", c.index, n)
		cl.tracker.tokens.Store(m.token, ltTokenRef{c: c, m: m})
		cl.fakes.line.IssueReplyToken(m.token)
		body = fmt.Appendf(nil, `{"destination":"Uloadtest","events":[{"replyToken":%q,"type":"message","mode":"active","timestamp":%d,`+
			`"source":{"type":"user","userId":%q},"webhookEventId":"01LT%020d","deliveryContext":{"isRedelivery":false},`+
			`"message":{"id":"%d","type":"text","quoteToken":"q%d","text":%s}}]}`,
			m.token, time.Now().UnixMilli(), c.chat, n, n, n, jsonString(m.q.Text))
		sig := linetest.Sign(cl.lnSecret, body)
		req = func() (*http.Request, error) {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.base+"/webhook/line", bytes.NewReader(body))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Line-Signature", sig)
			}
			return r, err
		}
	}
	m.sent = time.Now()
	var why string
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		r, err := req()
		if err != nil {
			why = err.Error()
			break
		}
		resp, err := cl.http.Do(r)
		if err != nil {
			why = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			m.acked = time.Now()
			return
		}
		why = resp.Status
		if resp.StatusCode/100 == 4 {
			break // a rejected request is not retried by the platforms either
		}
	}
	m.refused = why
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// play runs one customer: a message, then wait for its reply, until end;
// with an interval, messages start on a fixed schedule (late ones go at
// once, so a slow server is measured, not hidden).
func (cl *ltClient) play(ctx context.Context, c *ltCustomer, first time.Time, interval time.Duration, end, deadline time.Time) {
	next := first
	for seq := 0; ; seq++ {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		if !time.Now().Before(end) || ctx.Err() != nil {
			return
		}
		m := &ltMessage{seq: seq, q: c.questions[seq%len(c.questions)], done: make(chan struct{})}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.unreplied = append(c.unreplied, m)
		c.mu.Unlock()
		cl.send(ctx, c, m)
		if m.refused != "" {
			c.mu.Lock()
			c.unreplied = slices.DeleteFunc(c.unreplied, func(u *ltMessage) bool { return u == m })
			c.mu.Unlock()
			continue
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-m.done:
			t.Stop()
		case <-t.C:
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// ltPlan is the usable questions of one channel and locale.
type ltPlan struct {
	channel, locale string
	questions       []ltQuestion
}

// probe asks every FAQ's standard question once per channel and locale
// and keeps those answered with exactly one message, the entry's answer:
// the load run then knows the reply each message must get. Questions that
// open a ticket, ask to clarify or send more than one message are left
// out, because their replies depend on the conversation so far.
func probe(ctx context.Context, cl *ltClient, tr *ltTracker, entries []knowledge.Entry, chans []string) ([]ltPlan, error) {
	// A question that reads as even slightly negative adds up over a
	// conversation until the bot apologises and opens a ticket, so only
	// calm ones are asked (scored as the server does, with the defaults).
	cfg, err := configs.Load("", func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	scorer, err := bot.NewEmotionScorer(cfg)
	if err != nil {
		return nil, fmt.Errorf("emotion scorer: %w", err)
	}
	calm := func(q string) bool { return scorer.Score(q).Value >= 0 }
	var plans []ltPlan
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(chans)*len(ltLocales))
	i := 0
	for _, ch := range chans {
		for _, loc := range ltLocales {
			c := newCustomer(ch, loc, i, true)
			i++
			tr.add(c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				qs, err := probeCustomer(ctx, cl, c, entries, calm)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				plans = append(plans, ltPlan{channel: ch, locale: loc, questions: qs})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	sort.Slice(plans, func(a, b int) bool {
		if plans[a].channel != plans[b].channel {
			return plans[a].channel < plans[b].channel
		}
		return plans[a].locale < plans[b].locale
	})
	for _, p := range plans {
		if len(p.questions) < 10 {
			return nil, fmt.Errorf("probe: only %d questions on %s in %s got exactly one FAQ answer (want at least 10); is the server using the demo knowledge base?", len(p.questions), p.channel, p.locale)
		}
	}
	return plans, nil
}

func probeCustomer(ctx context.Context, cl *ltClient, c *ltCustomer, entries []knowledge.Entry, calm func(string) bool) ([]ltQuestion, error) {
	var out []ltQuestion
	bad := map[int]bool{}
	var asked []int
	for ei, e := range entries {
		qs := e.Questions[c.locale]
		if len(qs) == 0 || !calm(qs[0]) {
			continue
		}
		answers := map[string]bool{}
		for _, a := range e.Answer {
			answers[a] = true
		}
		m := &ltMessage{q: ltQuestion{Text: qs[0]}, done: make(chan struct{})}
		cl.send(ctx, c, m)
		if m.refused != "" {
			return nil, fmt.Errorf("probe on %s: webhook refused: %s", c.channel, m.refused)
		}
		asked = append(asked, ei)
		// Wait for the answer; once something else came, only briefly for
		// whatever follows it.
		timeout := time.NewTimer(10 * time.Second)
	wait:
		for {
			select {
			case text := <-c.learn:
				if answers[text] && !bad[ei] {
					out = append(out, ltQuestion{Text: qs[0], Entry: e.ID})
					break wait
				}
				// Something else came first: a greeting, a ticket notice,
				// or the tail of the previous answer. Neither is usable.
				bad[ei] = true
				if len(asked) > 1 {
					bad[asked[len(asked)-2]] = true
				}
				timeout.Reset(300 * time.Millisecond)
			case <-timeout.C:
				bad[ei] = true
				break wait
			case <-ctx.Done():
				timeout.Stop()
				return nil, ctx.Err()
			}
		}
		timeout.Stop()
	}
	// A last extra message would come right after the last answer.
	select {
	case <-c.learn:
		if len(asked) > 0 {
			bad[asked[len(asked)-1]] = true
		}
	case <-time.After(300 * time.Millisecond):
	}
	keep := out[:0]
	for _, q := range out {
		ok := true
		for ei := range bad {
			if slices.Contains(entries[ei].Questions[c.locale], q.Text) {
				ok = false
			}
		}
		if ok {
			keep = append(keep, q)
		}
	}
	return keep, nil
}

// ---------------------------------------------------------------- fakes

// ltFakes are the fake platform APIs, each behind a front that notes the
// time a reply arrives and which message it answers.
type ltFakes struct {
	tracker  *ltTracker
	telegram *telegramtest.Server
	line     *linetest.Server
	tgURL    string // the front's base URL, for the server's api_base
	lineURL  string
	servers  []*http.Server
	accepted atomic.Int64
	refused  atomic.Int64
	conns    atomic.Int64 // connections the bot opened to the fakes
}

func startFakes(f loadtestFlags, chans []string, tr *ltTracker) (*ltFakes, error) {
	fk := &ltFakes{tracker: tr}
	listen := func(addr string, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("fake platform API: %w", err)
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				fk.conns.Add(1)
			}
		}}
		fk.servers = append(fk.servers, s)
		go func() { _ = s.Serve(ln) }()
		return "http://" + ln.Addr().String(), nil
	}
	var err error
	if slices.Contains(chans, "telegram") {
		fk.telegram = telegramtest.NewServer(f.tgToken, "CarebotLoadBot")
		if fk.tgURL, err = listen(f.telegramAPI, http.HandlerFunc(fk.serveTelegram)); err != nil {
			fk.close()
			return nil, err
		}
	}
	if slices.Contains(chans, "line") {
		fk.line = linetest.NewServer(f.lineToken)
		if fk.lineURL, err = listen(f.lineAPI, http.HandlerFunc(fk.serveLine)); err != nil {
			fk.close()
			return nil, err
		}
	}
	return fk, nil
}

func (fk *ltFakes) close() {
	for _, s := range fk.servers {
		_ = s.Close()
	}
	if fk.telegram != nil {
		fk.telegram.Close()
	}
	if fk.line != nil {
		fk.line.Close()
	}
}

// serveTelegram hands a Bot API call to the fake's handler and, when the
// fake accepted a sendMessage, records the reply from the fake's answer
// (which carries the chat and the text), so the request's form is parsed
// once.
func (fk *ltFakes) serveTelegram(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	if !strings.HasSuffix(r.URL.Path, "/sendMessage") {
		fk.telegram.Handler().ServeHTTP(w, r)
		return
	}
	rec := &ltStatus{ResponseWriter: w, keep: true}
	fk.telegram.Handler().ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		fk.refused.Add(1)
		return
	}
	var ans struct {
		Result struct {
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
			Text string `json:"text"`
		} `json:"result"`
	}
	if json.Unmarshal(rec.body.Bytes(), &ans) != nil {
		return
	}
	fk.accepted.Add(1)
	fk.tracker.reply("telegram", strconv.FormatInt(ans.Result.Chat.ID, 10), "", ans.Result.Text, at)
}

// serveLine calls the LINE fake's handler directly (it is an exported
// httptest.Server) and records accepted replies and pushes by their reply
// token, or by recipient and text.
func (fk *ltFakes) serveLine(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "read request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &ltStatus{ResponseWriter: w}
	fk.line.Config.Handler.ServeHTTP(rec, r)
	if r.URL.Path != linetest.PathReply && r.URL.Path != linetest.PathPush {
		return
	}
	if rec.status/100 != 2 {
		fk.refused.Add(1)
		return
	}
	var req struct {
		ReplyToken string `json:"replyToken"`
		To         string `json:"to"`
		Messages   []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Messages) == 0 {
		return
	}
	fk.accepted.Add(1)
	texts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		texts[i] = m.Text
	}
	// One request is one reply, whatever number of message objects it has.
	fk.tracker.reply("line", req.To, req.ReplyToken, strings.Join(texts, "\n"), at)
}

func (fk *ltFakes) summary() ltFakeSummary {
	return ltFakeSummary{Accepted: fk.accepted.Load(), Refused: fk.refused.Load(), Connections: fk.conns.Load()}
}

// ltStatus remembers the status a handler wrote and, with keep, the body.
type ltStatus struct {
	http.ResponseWriter
	status int
	keep   bool
	body   bytes.Buffer
}

func (s *ltStatus) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *ltStatus) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if s.keep {
		s.body.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// ---------------------------------------------------------------- server

// ltServer is the carebot server under test.
type ltServer interface {
	baseURL() string
	describe() string
	// cpu is the server's CPU time so far, when it can be told apart
	// from this process's.
	cpu() (time.Duration, bool)
	cpuNote() string
	peakRSSMB() float64
	// stopAndDeadLetters stops a server this command started (after its
	// deliveries in flight) and lists the dead letters.
	stopAndDeadLetters() (ltDeadLetters, error)
	stop()
}

// ltDeadLetters are the outbox's dead letters: the rows when they can be
// read, else only their number.
type ltDeadLetters struct {
	rows  []bot.OutboxRow
	count int
}

// writeLoadtestConfig writes the server's configuration: the embedded
// demo defaults, the channels pointed at the fakes, and the two limits a
// load test must lift: flood control (these customers write faster than
// people) and the platforms' published sending rates (Telegram's 30
// messages/s would otherwise be what is measured).
func writeLoadtestConfig(path, addr, dataDir string, f loadtestFlags, fakes *ltFakes) error {
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  addr: %q\n  shutdown_timeout: 30s\ndata:\n  dir: %q\nlog:\n  level: warn\n", addr, dataDir)
	b.WriteString("dialog:\n  flood_burst: 0\noutbox:\n  rate_limits:\n    telegram: {}\n    line: {}\n")
	if f.concurrency > 0 {
		fmt.Fprintf(&b, "  concurrency: %d\n", f.concurrency)
	}
	b.WriteString("channels:\n")
	if fakes.telegram != nil {
		fmt.Fprintf(&b, "  telegram:\n    token: %q\n    webhook_secret: %q\n    mode: webhook\n    api_base: %q\n", f.tgToken, f.tgSecret, fakes.tgURL)
	}
	if fakes.line != nil {
		fmt.Fprintf(&b, "  line:\n    channel_secret: %q\n    channel_token: %q\n    api_base: %q\n", f.lineSecret, f.lineToken, fakes.lineURL)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write server configuration: %w", err)
	}
	return nil
}

// inprocServer is a server in this process: the CPU figures cannot tell
// it from the load generator, but a --cpuprofile covers both.
type inprocServer struct {
	app    *bot.App
	base   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startInprocess(f loadtestFlags, fakes *ltFakes, tmp string, stderr io.Writer) (*inprocServer, error) {
	path := filepath.Join(tmp, "carebot.yaml")
	if err := writeLoadtestConfig(path, "127.0.0.1:0", filepath.Join(tmp, "data"), f, fakes); err != nil {
		return nil, err
	}
	cfg, err := configs.Load(path, func(string) string { return "" })
	if err != nil {
		return nil, fmt.Errorf("server configuration: %w", err)
	}
	app, err := bot.New(cfg, bot.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		app.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &inprocServer{app: app, base: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- app.Serve(ctx, ln) }()
	return s, nil
}

func (s *inprocServer) baseURL() string            { return s.base }
func (s *inprocServer) describe() string           { return "in this process at " + s.base }
func (s *inprocServer) cpu() (time.Duration, bool) { return 0, false }
func (s *inprocServer) cpuNote() string {
	return "server in this process: the load generator figure includes it"
}
func (s *inprocServer) peakRSSMB() float64 { return peakRSS("self") }

func (s *inprocServer) stopAndDeadLetters() (ltDeadLetters, error) {
	var dl ltDeadLetters
	var err error
	s.once.Do(func() {
		s.cancel()
		<-s.done
		dl.rows, err = s.app.Outbox().DeadLetters(1 << 20)
		dl.count = len(dl.rows)
		if cerr := s.app.Close(); err == nil && cerr != nil {
			err = cerr
		}
	})
	return dl, err
}

func (s *inprocServer) stop() { _, _ = s.stopAndDeadLetters() }

// procServer is a child 'carebot serve': its CPU and memory are its own.
type procServer struct {
	cmd     *exec.Cmd
	base    string
	dataDir string
	logPath string
	exited  chan struct{}
	waitErr error
	rssMB   float64
	once    sync.Once
}

func startProcess(f loadtestFlags, fakes *ltFakes, tmp string) (*procServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the carebot binary: %w", err)
	}
	// The port is chosen here so the configuration can name it; another
	// process taking it in between makes the server fail to start, which
	// is reported.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("choose a port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &procServer{base: "http://" + addr, dataDir: filepath.Join(tmp, "data"), logPath: filepath.Join(tmp, "server.log"), exited: make(chan struct{})}
	path := filepath.Join(tmp, "carebot.yaml")
	if err := writeLoadtestConfig(path, addr, s.dataDir, f, fakes); err != nil {
		return nil, err
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	// Not tied to a context: an interrupted run stops the server
	// gracefully (stopAndDeadLetters), never with a kill.
	s.cmd = exec.Command(exe, "serve", "--config", path)
	// CAREBOT_* variables of this shell would change the server under
	// test; the configuration file says everything.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAREBOT_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

func (s *procServer) baseURL() string { return s.base }
func (s *procServer) describe() string {
	return fmt.Sprintf("child process %d ('carebot serve', temporary data directory) at %s", s.cmd.Process.Pid, s.base)
}
func (s *procServer) cpu() (time.Duration, bool) { return procCPU(strconv.Itoa(s.cmd.Process.Pid)) }
func (s *procServer) cpuNote() string {
	return "load generator = customers' HTTP clients + the fake platform APIs and their fronts"
}
func (s *procServer) peakRSSMB() float64 {
	if s.rssMB == 0 {
		s.rssMB = peakRSS(strconv.Itoa(s.cmd.Process.Pid))
	}
	return s.rssMB
}

// logTail is the end of the server's log, for errors.
func (s *procServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (s *procServer) stopAndDeadLetters() (ltDeadLetters, error) {
	var dl ltDeadLetters
	var err error
	s.once.Do(func() {
		s.peakRSSMB() // before it exits
		var early error
		select {
		case <-s.exited:
			// A Ctrl-C reaches the server too; anything else is news.
			if s.waitErr != nil {
				early = fmt.Errorf("the server stopped by itself: %w", s.waitErr)
			}
		default:
			_ = s.cmd.Process.Signal(os.Interrupt)
			select {
			case <-s.exited:
			case <-time.After(60 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
				err = errors.New("server did not stop within 60 s; killed")
				return
			}
		}
		defer func() { err = errors.Join(early, err) }()
		st, oerr := store.Open(filepath.Join(s.dataDir, bot.DBFile), store.Options{ReadOnly: true})
		if oerr != nil {
			err = fmt.Errorf("open the server's database: %w", oerr)
			return
		}
		defer st.Close()
		dl.rows, err = bot.ReadDeadLetters(st, 1<<20)
		dl.count = len(dl.rows)
	})
	return dl, err
}

func (s *procServer) stop() { _, _ = s.stopAndDeadLetters() }

// externalServer is a server someone else runs (--addr).
type externalServer struct{ base string }

func (s *externalServer) baseURL() string            { return s.base }
func (s *externalServer) describe() string           { return "running server at " + s.base }
func (s *externalServer) cpu() (time.Duration, bool) { return 0, false }
func (s *externalServer) cpuNote() string            { return "external server: only this process is measured" }
func (s *externalServer) peakRSSMB() float64         { return 0 }
func (s *externalServer) stop()                      {}

// stopAndDeadLetters leaves the server running; its database is locked,
// so the dead letters are counted from /metrics, without their reasons.
func (s *externalServer) stopAndDeadLetters() (ltDeadLetters, error) {
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		return ltDeadLetters{}, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ltDeadLetters{}, fmt.Errorf("read /metrics: %w", err)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "carebot_outbox_dead_letters_total") {
			if i := strings.LastIndexByte(line, ' '); i > 0 {
				v, _ := strconv.ParseFloat(line[i+1:], 64)
				n += int(v)
			}
		}
	}
	return ltDeadLetters{count: n}, errors.New("external server: dead letters counted from /metrics, not matched to messages")
}

// waitHealthy waits for GET /healthz to answer 200, or for the server
// process to exit.
func waitHealthy(ctx context.Context, base string, limit time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s not healthy after %s: %v", base, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("the server exited while starting (its log follows the report)")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cpuSample is the CPU time used so far by the server, this process and
// the whole machine.
type cpuSample struct {
	at         time.Time
	server     time.Duration
	serverOK   bool
	self       time.Duration
	machine    time.Duration // busy time of all cores
	machineOK  bool
	pressure   time.Duration // time some task waited for a core (PSI)
	pressureOK bool
}

func sampleCPU(srv ltServer) cpuSample {
	s := cpuSample{at: time.Now(), self: selfCPU()}
	s.server, s.serverOK = srv.cpu()
	s.machine, s.machineOK = machineBusy()
	s.pressure, s.pressureOK = cpuPressure()
	return s
}

// cpuBetween is the CPU used between two samples, in cores. What the
// machine used beyond the server and this process is other programs': on
// a shared machine they take cores from the test.
func cpuBetween(a, b cpuSample) ltCPU {
	c := ltCPU{Cores: runtime.NumCPU()}
	win := b.at.Sub(a.at).Seconds()
	if win <= 0 {
		return c
	}
	cores := func(d time.Duration) float64 { return math.Round(d.Seconds()/win*100) / 100 }
	c.LoadgenCores = cores(b.self - a.self)
	ours := b.self - a.self
	if a.serverOK && b.serverOK {
		c.ServerCores = cores(b.server - a.server)
		ours += b.server - a.server
	}
	if a.machineOK && b.machineOK {
		c.OtherCores = max(0, cores(b.machine-a.machine-ours))
	}
	if a.pressureOK && b.pressureOK {
		c.PressurePct = math.Round((b.pressure-a.pressure).Seconds()/win*1000) / 10
	}
	return c
}

// machineBusy is the time all cores spent on anything but idling, from
// /proc/stat (in clock ticks of 1/100 s).
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * 10 * time.Millisecond, true
}

// cpuPressure is the total time some runnable task waited for a core,
// from /proc/pressure/cpu (Linux PSI), when the kernel has it.
func cpuPressure() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	_, total, ok := strings.Cut(line, "total=")
	if !ok || !strings.HasPrefix(line, "some") {
		return 0, false
	}
	us, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(us) * time.Microsecond, true
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's user and system CPU time from /proc (Linux;
// clock ticks are 1/100 s there).
func procCPU(pid string) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// peakRSS is a process's peak resident memory in MB (VmHWM), 0 when
// unknown.
func peakRSS(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// ---------------------------------------------------------------- report

// loadReport is what the load test found.
type loadReport struct {
	Server     string         `json:"server"`
	Channels   []string       `json:"channels"`
	Customers  int            `json:"customers"`
	DurationS  float64        `json:"duration_s"`
	WarmupS    float64        `json:"warmup_s"`
	TargetRate float64        `json:"target_rate"`
	Questions  map[string]int `json:"questions"`
	// Sent counts every message posted; Acknowledged those the webhook
	// answered 2xx; Refused those it never did.
	Sent         int `json:"sent"`
	Acknowledged int `json:"acknowledged"`
	Refused      int `json:"refused"`
	// RepliedOnce counts messages whose reply reached the platform API
	// exactly once; Duplicated those that got it more than once and
	// Duplicates the extra copies; Dead those in the dead letters; Lost
	// the acknowledged ones with neither.
	RepliedOnce int `json:"replied_once"`
	Duplicated  int `json:"duplicated"`
	Duplicates  int `json:"duplicates"`
	Dead        int `json:"dead"`
	Lost        int `json:"lost"`
	// Unexpected counts messages the bot sent that answer none of the
	// customers' messages (a greeting, a ticket notice).
	Unexpected int `json:"unexpected"`
	// DeadLetters are the dead letters of the run with their reasons;
	// DeadLettersTotal also counts those not matched to a message.
	DeadLetters      []ltDead       `json:"dead_letters,omitempty"`
	DeadLettersTotal int            `json:"dead_letters_total"`
	Samples          []string       `json:"samples,omitempty"`
	Window           ltWindow       `json:"window"`
	Latency          ltPercentiles  `json:"latency_ms"`
	AckLatency       ltPercentiles  `json:"ack_latency_ms"`
	CPU              ltCPU          `json:"cpu"`
	ServerPeakRSSMB  float64        `json:"server_peak_rss_mb,omitempty"`
	Fakes            ltFakeSummary  `json:"fake_apis"`
	Notes            []string       `json:"notes,omitempty"`
	byChannel        map[string]int // messages sent per channel
}

// ltDead is a dead letter of the run.
type ltDead struct {
	Channel string `json:"channel"`
	ChatID  string `json:"chat_id"`
	Reason  string `json:"reason"`
}

// ltWindow is the measured window: the run after the warm-up until the
// customers stop writing.
type ltWindow struct {
	Seconds       float64 `json:"seconds"`
	Sent          int     `json:"sent"`
	Replied       int     `json:"replied"`
	SentPerSec    float64 `json:"sent_per_s"`
	RepliedPerSec float64 `json:"replied_per_s"`
}

// ltPercentiles summarises latencies in milliseconds.
type ltPercentiles struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// ltCPU is the CPU used over the window, in cores.
type ltCPU struct {
	Cores        int     `json:"machine_cores"`
	ServerCores  float64 `json:"server_cores,omitempty"`
	LoadgenCores float64 `json:"loadgen_cores"`
	// OtherCores is what other programs on the machine used meanwhile.
	OtherCores float64 `json:"other_cores"`
	// PressurePct is the share of the window in which some task waited
	// for a core: above a few percent the machine was contended.
	PressurePct float64 `json:"cpu_pressure_pct"`
	Note        string  `json:"note"`
}

// ltFakeSummary counts the fake APIs' answers to the bot's messages.
type ltFakeSummary struct {
	Accepted int64 `json:"accepted"`
	Refused  int64 `json:"refused"`
	// Connections counts the TCP connections the bot opened to the fake
	// APIs: many more than its delivery concurrency means its HTTP client
	// does not keep them alive.
	Connections int64 `json:"connections"`
}

func percentiles(ds []time.Duration) ltPercentiles {
	if len(ds) == 0 {
		return ltPercentiles{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return ms(ds[max(0, min(i, len(ds)-1))])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return ltPercentiles{N: len(ds), Mean: ms(sum / time.Duration(len(ds))), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(ds[len(ds)-1])}
}

// report accounts for every message of the run.
func (t *ltTracker) report(custs []*ltCustomer, from, to time.Time, dead ltDeadLetters) *loadReport {
	rep := &loadReport{byChannel: map[string]int{}}
	// Dead letters are matched to messages by chat and text.
	deadBy := map[string][]bot.OutboxRow{}
	for _, r := range dead.rows {
		k := r.Channel + "\x00" + r.ChatID + "\x00" + t.answerOf[r.Text]
		deadBy[k] = append(deadBy[k], r)
	}
	sample := func(format string, args ...any) {
		if len(rep.Samples) < 20 {
			rep.Samples = append(rep.Samples, fmt.Sprintf(format, args...))
		}
	}
	var lat, ack []time.Duration
	for _, c := range custs {
		c.mu.Lock()
		for _, m := range c.msgs {
			rep.Sent++
			rep.byChannel[c.channel]++
			if m.refused != "" {
				rep.Refused++
				sample("refused: %s chat %s message %d: %s", c.channel, c.chat, m.seq, m.refused)
				continue
			}
			rep.Acknowledged++
			switch {
			case m.replies == 0:
				k := c.channel + "\x00" + c.chat + "\x00" + m.q.Entry
				if rows := deadBy[k]; len(rows) > 0 {
					rep.Dead++
					rep.DeadLetters = append(rep.DeadLetters, ltDead{Channel: c.channel, ChatID: c.chat, Reason: rows[0].LastError})
					deadBy[k] = rows[1:]
				} else {
					rep.Lost++
					sample("lost: %s chat %s message %d %q (sent %s)", c.channel, c.chat, m.seq, m.q.Text, m.sent.Format(time.StampMilli))
				}
			case m.replies == 1:
				rep.RepliedOnce++
			default:
				rep.Duplicated++
				rep.Duplicates += m.replies - 1
				sample("duplicated: %s chat %s message %d %q replied %d times", c.channel, c.chat, m.seq, m.q.Text, m.replies)
			}
			inWindow := !m.sent.Before(from) && m.sent.Before(to)
			if inWindow {
				rep.Window.Sent++
				ack = append(ack, m.acked.Sub(m.sent))
				if m.replies > 0 {
					lat = append(lat, m.replied.Sub(m.sent))
				}
			}
			if m.replies > 0 && !m.replied.Before(from) && m.replied.Before(to) {
				rep.Window.Replied++
			}
		}
		rep.Unexpected += len(c.extras)
		for _, e := range c.extras {
			sample("unexpected message to %s chat %s: %.60q", c.channel, c.chat, e)
		}
		c.mu.Unlock()
	}
	rep.Unexpected += int(t.extra.Load())
	rep.DeadLettersTotal = max(dead.count, len(dead.rows))
	rep.Window.Seconds = to.Sub(from).Seconds()
	if rep.Window.Seconds > 0 {
		rep.Window.SentPerSec = math.Round(float64(rep.Window.Sent)/rep.Window.Seconds*10) / 10
		rep.Window.RepliedPerSec = math.Round(float64(rep.Window.Replied)/rep.Window.Seconds*10) / 10
	}
	rep.Latency = percentiles(lat)
	rep.AckLatency = percentiles(ack)
	return rep
}

func (r *loadReport) print(w io.Writer) {
	rate := "as fast as replies come"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("target %.0f messages/s", r.TargetRate)
	}
	fmt.Fprintf(w, "carebot load test: %s, %d customers, %.0f s (first %.0f s warm-up), %s\n", strings.Join(r.Channels, " + "), r.Customers, r.DurationS, r.WarmupS, rate)
	fmt.Fprintf(w, "server: %s", r.Server)
	if r.ServerPeakRSSMB > 0 {
		fmt.Fprintf(w, ", peak RSS %.0f MB", r.ServerPeakRSSMB)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(r.Questions))
	for k := range r.Questions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, r.Questions[k])
	}
	fmt.Fprintf(w, "questions answered with one FAQ message in the probe: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "messages: %d sent, %d acknowledged, %d refused\n", r.Sent, r.Acknowledged, r.Refused)
	fmt.Fprintf(w, "replies: %d exactly once, %d duplicated (%d extra copies), %d dead letters, %d lost; %d unexpected messages\n",
		r.RepliedOnce, r.Duplicated, r.Duplicates, r.Dead, r.Lost, r.Unexpected)
	for _, d := range r.DeadLetters {
		fmt.Fprintf(w, "  dead letter: %s chat %s: %s\n", d.Channel, d.ChatID, d.Reason)
	}
	if r.DeadLettersTotal > len(r.DeadLetters) {
		fmt.Fprintf(w, "  dead letters in the outbox: %d\n", r.DeadLettersTotal)
	}
	for _, s := range r.Samples {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "measured window %.1f s: %.0f messages/s sent, %.0f messages/s replied\n", r.Window.Seconds, r.Window.SentPerSec, r.Window.RepliedPerSec)
	l := r.Latency
	fmt.Fprintf(w, "latency, webhook POST → reply at the platform API: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)\n", l.P50, l.P95, l.P99, l.Max, l.N)
	a := r.AckLatency
	fmt.Fprintf(w, "webhook acknowledged (turn stored): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", a.P50, a.P95, a.P99, a.Max)
	if r.CPU.ServerCores > 0 {
		fmt.Fprintf(w, "CPU over the window (%d cores): server %.2f cores, load generator %.2f cores (%s)", r.CPU.Cores, r.CPU.ServerCores, r.CPU.LoadgenCores, r.CPU.Note)
	} else {
		fmt.Fprintf(w, "CPU over the window (%d cores): this process %.2f cores (%s)", r.CPU.Cores, r.CPU.LoadgenCores, r.CPU.Note)
	}
	fmt.Fprintf(w, "; other programs %.2f cores, CPU pressure %.0f%%\n", r.CPU.OtherCores, r.CPU.PressurePct)
	fmt.Fprintf(w, "fake APIs: %d messages accepted, %d refused, over %d connections from the bot\n", r.Fakes.Accepted, r.Fakes.Refused, r.Fakes.Connections)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
