package bot

import (
	"fmt"
	"testing"
	"time"

	"github.com/carebot/carebot/channels/telegram/telegramtest"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// The tests of this file fill the disk under a running app with
// store.InjectDiskFull: from then on every commit to the database fails as
// on a full disk (ENOSPC), while reads go on. A webhook must then answer
// 5xx, so that the platform delivers the update again, and leave nothing
// behind; once the disk has room the redelivery is answered once.

// diskFull fills the disk under st's database until the returned function
// frees it; the test skips where the fault cannot be injected.
func diskFull(t *testing.T, st *store.Store) func() {
	t.Helper()
	restore, err := store.InjectDiskFull(st)
	if err != nil {
		t.Skipf("cannot fill the disk here: %v", err)
	}
	freed := false
	free := func() {
		if !freed {
			freed = true
			if err := restore(); err != nil {
				t.Fatalf("free the disk: %v", err)
			}
		}
	}
	t.Cleanup(free) // before the app closes the database (cleanups run last first)
	return free
}

func TestStorageFaultWebhookAnswers5xxAndLeavesNothingBehind(t *testing.T) {
	r := startPlatformRig(t)
	fay := telegramtest.User{ID: 5201, FirstName: "Fay", LanguageCode: "zh-hans"}
	// Fay has talked before: her conversation exists, with one turn.
	if code := r.update(telegramtest.TextUpdate(52001, 5201, fay, "你好")); code != 200 {
		t.Fatalf("first webhook: %d", code)
	}
	r.quiet()
	before := len(sentToChat(r.tg, "5201"))
	convBefore, logBefore, _ := r.app.Engine().Conversation("telegram", "5201", 100)

	free := diskFull(t, r.app.Store())
	update := telegramtest.TextUpdate(52002, 5201, fay, "退款多久能到账")
	for try := 1; try <= 3; try++ { // Telegram keeps redelivering
		if code := r.update(update); code < 500 || code > 599 {
			t.Fatalf("webhook %d on a full disk: %d, want 5xx so that Telegram redelivers", try, code)
		}
	}
	// A webhook of a new chat fails the same way.
	if code := r.update(telegramtest.TextUpdate(52003, 5202, telegramtest.User{ID: 5202, FirstName: "Gil"}, "运费怎么算")); code < 500 {
		t.Fatalf("webhook of a new chat on a full disk: %d", code)
	}
	// Nothing of the failed turns was kept: conversation, log, outbox.
	conv, log, err := r.app.Engine().Conversation("telegram", "5201", 100)
	if err != nil {
		t.Fatalf("reading on a full disk: %v", err)
	}
	if conv.Messages != convBefore.Messages || len(log) != len(logBefore) || conv.State.Turns != convBefore.State.Turns {
		t.Fatalf("a failed turn left a trace: %d messages and %d log entries, before %d and %d", conv.Messages, len(log), convBefore.Messages, len(logBefore))
	}
	if newConv, newLog, _ := r.app.Engine().Conversation("telegram", "5202", 100); newConv.ChatID != "" || len(newLog) != 0 {
		t.Fatalf("the new chat was stored: %+v, %d log entries", newConv, len(newLog))
	}
	if d := r.app.Outbox().Depth(); d != 0 {
		t.Fatalf("%d replies queued on a full disk", d)
	}
	for range 5 {
		r.app.Outbox().Wake()
		time.Sleep(30 * time.Millisecond)
	}
	if got := len(sentToChat(r.tg, "5201")); got != before {
		t.Fatalf("replies went out for a turn that was not stored: %d, before %d", got, before)
	}

	free()
	// Telegram's next redelivery is answered, once, however often it comes.
	for range 2 {
		if code := r.update(update); code != 200 {
			t.Fatalf("redelivery after the disk was freed: %d", code)
		}
	}
	r.quiet()
	conv, log, _ = r.app.Engine().Conversation("telegram", "5201", 100)
	in := 0
	for _, e := range log {
		if e.EventID == "u52002" {
			in++
		}
	}
	if in != 1 || conv.State.Turns != convBefore.State.Turns+1 {
		t.Fatalf("the redelivered update was stored %d times (turns %d, before %d)", in, conv.State.Turns, convBefore.State.Turns)
	}
	deliveredOnce(t, r.rows("telegram", "5201"), sentToChat(r.tg, "5201"))
	if !r.metric(`carebot_events_duplicate_total{channel="telegram"} 1`) {
		t.Error("the second redelivery was not counted as a duplicate")
	}
}

func TestStorageFaultOrderFailsThenIsCreditedOnce(t *testing.T) {
	r := startPlatformRig(t)
	admin := bearer(r.app.admin)
	order := `{"order_id":"disk-full-1","channel":"telegram","user":"5203","amount":88,"currency":"CNY"}`
	lr := &loyaltyServer{server: r.server}

	free := diskFull(t, r.app.Store())
	for range 2 {
		if code, out := lr.agentCall("POST", "/api/v1/orders", order, admin); code < 500 || code > 599 {
			t.Fatalf("order on a full disk: %d %v, want 5xx", code, out)
		}
	}
	if err := r.app.Store().View(func(tx store.Tx) error {
		if _, found, err := r.app.Loyalty().MemberByIdentity(tx, "telegram", "5203"); err != nil || found {
			return fmt.Errorf("member of the failed order: found %v, %v", found, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	free()
	first := lr.call(admin, "POST", "/api/v1/orders", order, 200)
	again := lr.call(admin, "POST", "/api/v1/orders", order, 200)
	if first["duplicate"] != false || again["duplicate"] != true || num(first, "entry", "points") != 88 {
		t.Fatalf("after the disk was freed: %v, then %v", first, again)
	}
	member := str(first, "entry", "member")
	var ledger []loyalty.Entry
	var balance loyalty.Balance
	if err := r.app.Store().View(func(tx store.Tx) error {
		var err error
		if ledger, err = r.app.Loyalty().Ledger(tx, member, 100); err != nil {
			return err
		}
		balance, err = r.app.Loyalty().Balance(tx, member)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var sum int64
	credits := 0
	for _, e := range ledger {
		sum += e.Points
		if e.Order == "disk-full-1" {
			credits++
		}
	}
	if credits != 1 || sum != 88 || balance.Points != 88 {
		t.Fatalf("order credited %d times; ledger sums to %d, balance %d, want once, 88, 88", credits, sum, balance.Points)
	}
}

// TestStorageFaultUnrecordedDeliveryIsNotRepeated fills the disk while a
// reply is due. The outbox may send it but cannot record that it did; it
// must not send it again and again while the disk stays full (at least
// once means one more copy after the disk has room, not a flood), and once
// the disk has room the row is delivered and recorded without a restart.
func TestStorageFaultUnrecordedDeliveryIsNotRepeated(t *testing.T) {
	r := startPlatformRig(t)
	hal := telegramtest.User{ID: 5204, FirstName: "Hal", LanguageCode: "zh-hans"}
	// The API fails the reply once; its retry falls due while the disk is
	// full.
	r.tg.FailNext("sendMessage", telegramtest.Failure{Code: 500, Description: "Internal Server Error"})
	r.update(telegramtest.TextUpdate(52004, 5204, hal, "运费怎么算"))
	row := r.attempt(r.head("telegram", "5204").ID, 1)

	free := diskFull(t, r.app.Store())
	r.retryAt(row)
	time.Sleep(500 * time.Millisecond) // 25 poll intervals of the outbox
	whileFull := len(sentToChat(r.tg, "5204"))
	free()
	r.quiet()
	got, _, _ := r.app.Outbox().Row(row.ID)
	if got.Status != StatusDelivered {
		t.Fatalf("row after the disk was freed: %+v", got)
	}
	if whileFull > 1 {
		t.Fatalf("the reply went out %d times in 0.5 s while its delivery could not be recorded, want at most once (%d in all)", whileFull, len(sentToChat(r.tg, "5204")))
	}
	if n := len(sentToChat(r.tg, "5204")); n < 1 || n > whileFull+1 {
		t.Fatalf("the chat got the reply %d times, %d of them while the disk was full; want it, and at most one more copy after the disk was freed", n, whileFull)
	}
	if code := r.update(telegramtest.TextUpdate(52005, 5204, hal, "退款多久能到账")); code != 200 {
		t.Fatalf("a new turn after the disk was freed: %d", code)
	}
	r.quiet()
}
