package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/channels/telegram/telegramtest"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// Figures of the crash test.
const (
	crashKills     = 22 // SIGKILLs
	crashWorkers   = 4  // goroutines driving load
	crashCustomers = 8  // Telegram users
	crashToken     = "424242:CRASH-token_xyz"
	crashSecret    = "crash-hook-secret"
	// crashRight is the right redeemed in chat: cheap and without limits.
	crashRight = "free-shipping"
	// orderBudget keeps each member's purchases under the silver
	// threshold (2000 qualifying points), so every order earns exactly
	// its amount: no tier multiplier depends on the order of events.
	orderBudget = 1900
)

// Buckets the test reads after the server stopped. They belong to package
// bot, which has no read-only accessor for a stopped database.
const (
	bucketConversationLog = store.Bucket("conversation_log") // channel\0chat\0 seq(8) → LogEntry
	bucketOutbox          = store.Bucket("outbox")           // id(8) → OutboxRow
)

// crashUpdate is a webhook update the driver delivered.
type crashUpdate struct {
	id   int64
	chat string
	text string
}

// crashOrder is an order the driver got a 2xx for.
type crashOrder struct {
	id     string
	user   int64
	amount int64
}

// crashRedeem is one redemption request: a confirm button pressed twice.
type crashRedeem struct {
	user  int64
	nonce int64
}

// crashRun drives a carebot process under SIGKILLs.
type crashRun struct {
	t      *testing.T
	bin    string
	config string
	addr   string
	data   string
	client *http.Client

	// abort ends the drivers' retries when the test ends early.
	abort context.Context

	procMu sync.Mutex
	proc   *proc

	admin      atomic.Value // string
	nextUpdate atomic.Int64
	nextOrder  atomic.Int64
	nextNonce  atomic.Int64
	retries    atomic.Int64 // requests that got no 2xx and were sent again

	mu      sync.Mutex
	kills   []time.Time
	updates []crashUpdate
	orders  []crashOrder
	redeems []crashRedeem
	budget  map[int64]int64 // order amounts left per customer
}

// TestCrashRecoveryUnderSIGKILL runs 'carebot serve' with Telegram (a fake
// Bot API in this process, over loopback) and the loyalty programme,
// drives customers' messages, loyalty commands, orders and redemptions at
// it from several goroutines, and SIGKILLs it at random moments, starting
// it again on the same data each time. The drivers behave like Telegram
// and the shop's backend: whatever got no 2xx is sent again. At the end
// every update is answered exactly once (a message Telegram accepted just
// before a kill may come twice: the Bot API has no idempotency key), every
// order is credited once, every redemption request issued at most one
// coupon, every balance is the sum of its ledger, and bbolt's check finds
// the file sound.
func TestCrashRecoveryUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of SIGKILLs; skipped with -short")
	}
	began := time.Now()
	bin := binary(t)
	built := time.Now()
	api := telegramtest.NewServer(crashToken, "CarebotCrashBot")
	front := telegramtest.NewFront(api) // records when each message went out
	t.Cleanup(api.Close)
	t.Cleanup(front.Close)

	dir := t.TempDir()
	r := &crashRun{
		t: t, bin: bin, addr: freeAddr(t), data: filepath.Join(dir, "data"),
		config: filepath.Join(dir, "carebot.yaml"),
		client: &http.Client{Timeout: 10 * time.Second},
		budget: map[int64]int64{},
	}
	for c := range crashCustomers {
		r.budget[customer(c)] = orderBudget
	}
	r.nextUpdate.Store(700000)
	yaml := fmt.Sprintf(`server:
  addr: %s
data:
  dir: %s
  lock_timeout: 200ms
log:
  level: warn
outbox:
  base_backoff: 100ms
  max_backoff: 1s
  poll_interval: 100ms
  send_timeout: 5s
  rate_limits:
    telegram: {overall: 1000/s}
loyalty:
  enabled: true
channels:
  telegram:
    token: %q
    webhook_secret: %q
    api_base: %s
`, r.addr, r.data, crashToken, crashSecret, front.URL)
	if err := os.WriteFile(r.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	r.start()
	tok, err := os.ReadFile(filepath.Join(r.data, bot.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	r.admin.Store(strings.TrimSpace(string(tok)))

	ctx, stop := context.WithCancel(context.Background())
	abort, cancel := context.WithCancel(context.Background())
	r.abort = abort
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() }) // the drivers stop when the test ends, even early
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(began.UnixNano())))
			for ctx.Err() == nil && !t.Failed() {
				r.step(rng)
			}
		}()
	}
	// The kills, in the test's goroutine: a restart that fails stops it.
	for len(r.kills) < crashKills && !t.Failed() {
		time.Sleep(50*time.Millisecond + rand.N(400*time.Millisecond))
		r.kill()
		r.start()
	}
	stop()
	wg.Wait()
	driven := time.Now()
	if t.Failed() {
		t.FailNow()
	}

	// With the server up until the outbox is drained, the live view of
	// the members; then a graceful stop.
	r.drain(api)
	live := map[int64]bot.MemberDetail{}
	for c := range crashCustomers {
		live[customer(c)] = r.memberShow(customer(c))
	}
	r.terminate()
	drained := time.Now()

	r.checkFile()
	st, err := store.Open(filepath.Join(r.data, bot.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("database does not open after the crashes: %v", err)
	}
	defer st.Close()
	prog, err := loyalty.New(loyalty.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dups := r.checkReplies(st, api, front)
	coupons := r.checkLoyalty(st, prog, live)

	t.Logf("%d SIGKILLs while driving for %s; %d webhook updates (%d of them redemption presses), %d orders, %d redemption requests (%d coupons issued); %d requests sent again after no 2xx; %d replies delivered, %d of them a second time across a kill",
		len(r.kills), driven.Sub(built).Round(100*time.Millisecond), len(r.updates), 2*len(r.redeems), len(r.orders), len(r.redeems), coupons,
		r.retries.Load(), len(api.SentMessages()), dups)
	t.Logf("times: build %s, drive %s, drain and member show %s, checks %s; %s in all",
		built.Sub(began).Round(100*time.Millisecond), driven.Sub(built).Round(100*time.Millisecond), drained.Sub(driven).Round(100*time.Millisecond),
		time.Since(drained).Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
}

// customer is the Telegram user id of customer c.
func customer(c int) int64 { return 9100 + int64(c) }

// start starts the server and waits until it is ready.
func (r *crashRun) start() {
	r.t.Helper()
	p := agentServe(r.t, r.bin, r.config)
	waitReady(r.t, p, r.addr)
	r.procMu.Lock()
	r.proc = p
	r.procMu.Unlock()
}

// kill SIGKILLs the server and waits for it to be gone.
func (r *crashRun) kill() {
	r.procMu.Lock()
	p := r.proc
	r.procMu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		r.t.Fatal(err)
	}
	err := <-p.done
	p.done <- err // for agentServe's cleanup
	// The moment the process is known dead: it may still have sent
	// something between the signal and its death.
	r.mu.Lock()
	r.kills = append(r.kills, time.Now())
	r.mu.Unlock()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		r.t.Fatalf("server did not die of the SIGKILL: %v\n%s", err, p.stderr.String())
	}
}

// terminate stops the server with SIGTERM; it must exit cleanly.
func (r *crashRun) terminate() {
	r.t.Helper()
	p := r.proc
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		r.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			r.t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		r.t.Fatal("no exit 30s after SIGTERM")
	}
}

// step does one thing a customer or the shop does.
func (r *crashRun) step(rng *rand.Rand) {
	user := customer(rng.IntN(crashCustomers))
	switch n := rng.IntN(10); {
	case n < 5:
		texts := []string{"签到", "积分", "我的优惠券", "权益", "运费怎么算", "退款多久能到账", "可以开发票吗", "怎么退货"}
		r.message(user, texts[rng.IntN(len(texts))])
	case n < 8:
		r.order(user, 10+rng.Int64N(51))
	default:
		r.redeem(user)
	}
}

// webhook delivers an update the way Telegram does: again and again until
// it gets a 2xx.
func (r *crashRun) webhook(u crashUpdate, body []byte) {
	r.send(fmt.Sprintf("update %d", u.id), "/webhook/telegram", map[string]string{"X-Telegram-Bot-Api-Secret-Token": crashSecret}, body)
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.mu.Unlock()
}

// message sends a customer's text from a chat of its own, so that the
// replies it gets are told apart from every other update's.
func (r *crashRun) message(user int64, text string) {
	id := r.nextUpdate.Add(1)
	chat := 1_000_000 + id
	from := telegramtest.User{ID: user, FirstName: "Crash", LanguageCode: "zh-hans"}
	r.webhook(crashUpdate{id: id, chat: strconv.FormatInt(chat, 10), text: text}, telegramtest.TextUpdate(id, chat, from, text))
}

// redeem presses the confirm button of one redemption twice at once, as
// an impatient customer does.
func (r *crashRun) redeem(user int64) {
	nonce := r.nextNonce.Add(1)
	payload := fmt.Sprintf("loyalty:redeem:%s:%d", crashRight, 900000+nonce)
	from := telegramtest.User{ID: user, FirstName: "Crash", LanguageCode: "zh-hans"}
	var wg sync.WaitGroup
	for range 2 {
		id := r.nextUpdate.Add(1)
		chat := 1_000_000 + id
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.webhook(crashUpdate{id: id, chat: strconv.FormatInt(chat, 10), text: payload},
				telegramtest.CallbackUpdate(id, chat, from, fmt.Sprintf("q-%d", id), payload))
		}()
	}
	wg.Wait()
	r.mu.Lock()
	r.redeems = append(r.redeems, crashRedeem{user: user, nonce: 900000 + nonce})
	r.mu.Unlock()
}

// order reports an order of the customer with a fixed id until it gets a
// 2xx, within the customer's budget.
func (r *crashRun) order(user, amount int64) {
	r.mu.Lock()
	if r.budget[user] < amount {
		r.mu.Unlock()
		return
	}
	r.budget[user] -= amount
	r.mu.Unlock()
	o := crashOrder{id: fmt.Sprintf("crash-order-%d", r.nextOrder.Add(1)), user: user, amount: amount}
	body := fmt.Sprintf(`{"order_id":%q,"channel":"telegram","user":"%d","amount":%d,"currency":"CNY"}`, o.id, user, amount)
	r.send("order "+o.id, "/api/v1/orders", map[string]string{"Authorization": "Bearer " + r.admin.Load().(string)}, []byte(body))
	r.mu.Lock()
	r.orders = append(r.orders, o)
	r.mu.Unlock()
}

// send POSTs body until it gets a 2xx: a refused connection, a reset, a 5xx
// are what a crash looks like from outside. A 4xx is a bug of the test or
// of carebot and fails the test.
func (r *crashRun) send(what, path string, hdr map[string]string, body []byte) {
	deadline := time.Now().Add(90 * time.Second)
	for try := 0; ; try++ {
		if try > 0 {
			r.retries.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
		if r.abort.Err() != nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Errorf("%s: no 2xx within 90s", what)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			continue
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			return
		case resp.StatusCode/100 == 4:
			r.t.Errorf("%s: %d %s", what, resp.StatusCode, answer)
			return
		}
	}
}

// drain waits until the outbox is empty and the fake API has stopped
// receiving messages.
func (r *crashRun) drain(api *telegramtest.Server) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last, stable := -1, 0
	for stable < 5 {
		if time.Now().After(deadline) {
			r.t.Fatalf("outbox not drained within 60s (depth %q)", r.metric("carebot_outbox_depth"))
		}
		time.Sleep(100 * time.Millisecond)
		n := len(api.SentMessages())
		if r.metric("carebot_outbox_depth") == "0" && n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
}

// metric returns the value of an unlabelled metric, "" when missing.
func (r *crashRun) metric(name string) string {
	resp, err := r.client.Get("http://" + r.addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// memberShow returns a customer's member as the running server shows it:
// through 'carebot member show --json' for the first two customers (each
// run starts a CLI process), through the admin API it calls for the rest.
func (r *crashRun) memberShow(user int64) bot.MemberDetail {
	r.t.Helper()
	auth := map[string]string{"Authorization": "Bearer " + r.admin.Load().(string)}
	st, out, _ := agentAPI(r.t, "GET", fmt.Sprintf("http://%s/api/v1/members?q=%d", r.addr, user), "", auth)
	members, _ := out["members"].([]any)
	if st != 200 || len(members) != 1 {
		r.t.Fatalf("search member of user %d: %d %v", user, st, out)
	}
	id, _ := members[0].(map[string]any)["id"].(string)
	var raw []byte
	if user < customer(2) {
		raw = []byte(agentOK(r.t, r.bin, "", "member", "show", id, "--json", "--ledger", "100", "--config", r.config))
	} else {
		resp, err := r.client.Do(authGet("http://"+r.addr+"/api/v1/members/"+id, auth))
		if err != nil {
			r.t.Fatal(err)
		}
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	var d bot.MemberDetail
	if err := json.Unmarshal(raw, &d); err != nil {
		r.t.Fatalf("member %s: %v\n%s", id, err, raw)
	}
	return d
}

// authGet is a GET request with headers.
func authGet(url string, hdr map[string]string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

// checkFile runs bbolt's full consistency check on the stopped database,
// then opens it as carebot does.
func (r *crashRun) checkFile() {
	r.t.Helper()
	path := filepath.Join(r.data, bot.DBFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		r.t.Fatalf("bbolt open: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	db.Close()
	if err != nil {
		r.t.Fatalf("bbolt check after %d kills: %v", len(r.kills), err)
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		r.t.Fatalf("store.Open after the crashes: %v", err)
	}
	if err := st.Close(); err != nil {
		r.t.Fatal(err)
	}
}

// checkReplies checks that every update was stored once and answered once,
// and every queued message delivered once. A message sent again because
// its delivery was in flight at a kill is allowed and counted; it returns
// how many there were.
func (r *crashRun) checkReplies(st *store.Store, api *telegramtest.Server, front *telegramtest.Front) int {
	r.t.Helper()
	got := map[string][]string{}
	for _, m := range api.SentMessages() {
		got[m.ChatID] = append(got[m.ChatID], m.Text)
	}
	// Every queued message is delivered; none is pending or dead.
	want := map[string][]string{}
	if err := st.View(func(tx store.Tx) error {
		return tx.Scan(bucketOutbox, nil, func(_, v []byte) error {
			var row bot.OutboxRow
			if err := store.DecodeJSON(v, &row); err != nil {
				return err
			}
			if row.Status != bot.StatusDelivered {
				r.t.Errorf("outbox row %d to %s is %s after the drain: %s", row.ID, row.ChatID, row.Status, row.LastError)
			}
			if row.Channel == "telegram" {
				want[row.ChatID] = append(want[row.ChatID], row.Text)
			}
			return nil
		})
	}); err != nil {
		r.t.Fatal(err)
	}
	// Every update is in its chat's log once, and has an answer.
	for _, u := range r.updates {
		in, out := 0, 0
		err := st.View(func(tx store.Tx) error {
			return tx.Scan(bucketConversationLog, store.Prefix("telegram", u.chat), func(_, v []byte) error {
				var e bot.LogEntry
				if err := store.DecodeJSON(v, &e); err != nil {
					return err
				}
				switch {
				case e.Dir == "in" && e.EventID == fmt.Sprintf("u%d", u.id):
					in++
				case e.Dir == "out":
					out++
				}
				return nil
			})
		})
		if err != nil {
			r.t.Fatal(err)
		}
		if in != 1 || out == 0 || out != len(want[u.chat]) {
			r.t.Errorf("update %d (%q): stored %d times, %d replies logged, %d queued", u.id, u.text, in, out, len(want[u.chat]))
		}
	}
	// Each chat got exactly its queued messages; a second copy only of a
	// message whose first copy was accepted around a kill.
	sends := map[string][]telegramtest.FrontCall{}
	for _, c := range front.Calls("sendMessage") {
		if c.Status == http.StatusOK {
			k := c.Params["chat_id"] + "\x00" + c.Params["text"]
			sends[k] = append(sends[k], c)
		}
	}
	dups := 0
	for chat := range mergeKeys(want, got) {
		w, g := slices.Sorted(slices.Values(want[chat])), slices.Sorted(slices.Values(got[chat]))
		extra, missing := diff(w, g)
		for _, text := range missing {
			r.t.Errorf("chat %s never received %q", chat, text)
		}
		for _, text := range extra {
			if r.acrossKill(sends[chat+"\x00"+text]) {
				dups++
				continue
			}
			r.t.Errorf("chat %s received %q once too often, with no kill to explain it (queued %d, received %d)%s", chat, text, len(w), len(g), r.timeline(sends[chat+"\x00"+text]))
		}
	}
	return dups
}

// acrossKill reports whether two sends of one message are separated by a
// kill (the moment the process was dead) that came at most 2 s after the
// first was accepted: the delivery was in flight, or not yet recorded,
// when the process died.
func (r *crashRun) acrossKill(calls []telegramtest.FrontCall) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 1; i < len(calls); i++ {
		first, second := calls[i-1], calls[i]
		for _, k := range r.kills {
			if k.After(first.Start) && k.Before(second.Start) && k.Sub(first.End) < 2*time.Second {
				return true
			}
		}
	}
	return false
}

// timeline describes sends and the kills near them, for a failure.
func (r *crashRun) timeline(calls []telegramtest.FrontCall) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n\tsent %s to %s", c.Start.Format("15:04:05.000"), c.End.Format("15:04:05.000"))
		for _, k := range r.kills {
			if d := k.Sub(c.Start); d > -5*time.Second && d < 5*time.Second {
				fmt.Fprintf(&b, "; kill at %s", k.Format("15:04:05.000"))
			}
		}
	}
	return b.String()
}

// checkLoyalty checks orders, redemptions and balances in the stopped
// database against what the drivers got 2xx for, and against the live
// view the CLI printed before the stop. It returns the coupons issued.
func (r *crashRun) checkLoyalty(st *store.Store, prog *loyalty.Program, live map[int64]bot.MemberDetail) int {
	r.t.Helper()
	expected := map[int64]map[string]int64{} // user → order → amount
	for _, o := range r.orders {
		if expected[o.user] == nil {
			expected[o.user] = map[string]int64{}
		}
		expected[o.user][o.id] = o.amount
	}
	nonces := map[int64]map[string]bool{} // user → redemption keys asked
	for _, rd := range r.redeems {
		if nonces[rd.user] == nil {
			nonces[rd.user] = map[string]bool{}
		}
		nonces[rd.user][strconv.FormatInt(rd.nonce, 10)] = true
	}
	issued := 0
	err := st.View(func(tx store.Tx) error {
		for c := range crashCustomers {
			user := customer(c)
			m, found, err := prog.MemberByIdentity(tx, "telegram", strconv.FormatInt(user, 10))
			if err != nil {
				return err
			}
			if !found {
				r.t.Errorf("customer %d has no member", user)
				continue
			}
			ledger, err := prog.Ledger(tx, m.ID, 1<<30)
			if err != nil {
				return err
			}
			slices.Reverse(ledger) // oldest first
			var sum int64
			credited := map[string]int{}
			redeemed := map[string]int{}
			codes := map[string]bool{}
			for _, e := range ledger {
				sum += e.Points
				if e.Balance != sum {
					r.t.Errorf("member %s: entry %d says balance %d, the entries up to it sum to %d", m.ID, e.Seq, e.Balance, sum)
				}
				switch {
				case e.Reason == loyalty.ReasonOrder:
					credited[e.Order]++
					if want, ok := expected[user][e.Order]; !ok || e.Points != want {
						r.t.Errorf("member %s: order %s credited %d points, want %d (sent: %v)", m.ID, e.Order, e.Points, want, ok)
					}
				case e.Kind == loyalty.KindRedeem:
					key := strings.TrimPrefix(e.Key, fmt.Sprintf("redeem:%s:chat:%s:%s:", m.ID, m.ID, crashRight))
					redeemed[key]++
					codes[e.Coupon] = true
					if !nonces[user][key] {
						r.t.Errorf("member %s: redemption with key %q nobody asked for", m.ID, e.Key)
					}
				}
			}
			for id := range expected[user] {
				if credited[id] != 1 {
					r.t.Errorf("member %s: order %s credited %d times", m.ID, id, credited[id])
				}
			}
			for key, n := range redeemed {
				if n != 1 {
					r.t.Errorf("member %s: redemption %s debited %d times", m.ID, key, n)
				}
			}
			if sum != m.Points {
				r.t.Errorf("member %s: balance %d, ledger sums to %d", m.ID, m.Points, sum)
			}
			coupons, err := prog.Coupons(tx, m.ID)
			if err != nil {
				return err
			}
			n := 0
			for _, cp := range coupons {
				if cp.Right == crashRight {
					n++
					if !codes[cp.Code] {
						r.t.Errorf("member %s: coupon %s has no redemption in the ledger", m.ID, cp.Code)
					}
				}
			}
			if n != len(redeemed) {
				r.t.Errorf("member %s: %d %s coupons for %d redemptions", m.ID, n, crashRight, len(redeemed))
			}
			issued += n
			if l := live[user]; l.Balance.Points != m.Points || l.Member == nil || l.Member.ID != m.ID {
				r.t.Errorf("member %s: 'member show' printed balance %d, the database holds %d", m.ID, l.Balance.Points, m.Points)
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if issued == 0 && len(r.redeems) > 0 {
		r.t.Error("no redemption succeeded: the coupon checks checked nothing")
	}
	return issued
}

// mergeKeys returns the union of the maps' keys.
func mergeKeys(a, b map[string][]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// diff compares two sorted lists: what got has beyond want, and what want
// has that got lacks.
func diff(want, got []string) (extra, missing []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return extra, missing
}
