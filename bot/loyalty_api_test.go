package bot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// loyaltyServer is a running app with the programme on, a movable clock
// and API tokens for an admin (boss), a supervisor (sam) and two agents
// (alice, bob).
type loyaltyServer struct {
	*server
	clock               *fakeClock
	admin               map[string]string // the admin token
	boss, sam, alice, b map[string]string
}

func startLoyaltyServer(t *testing.T) *loyaltyServer {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.Loyalty.Enabled = true
	clock := &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := &loyaltyServer{server: startServer(t, cfg, WithClock(clock.Now)), clock: clock}
	s.admin = bearer(s.app.admin)
	for _, a := range []struct {
		name string
		role handoff.Role
		hdr  *map[string]string
	}{{"boss", handoff.RoleAdmin, &s.boss}, {"sam", handoff.RoleSupervisor, &s.sam}, {"alice", handoff.RoleAgent, &s.alice}, {"bob", handoff.RoleAgent, &s.b}} {
		*a.hdr = bearer(newAgent(t, s.app.Store(), a.name, a.role, clock.Now()))
	}
	return s
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// call sends a JSON body and wants the status; it returns the answer.
func (s *loyaltyServer) call(hdr map[string]string, method, path, body string, want int) map[string]any {
	s.t.Helper()
	got, out := s.agentCall(method, path, body, hdr)
	if got != want {
		s.t.Fatalf("%s %s %s: %d %v, want %d", method, path, body, got, out, want)
	}
	if got >= 400 && out["error"] == nil {
		s.t.Fatalf("%s %s: %d without an error message", method, path, got)
	}
	return out
}

// num reads a number at a path of nested JSON objects.
func num(v any, path ...string) float64 {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	f, _ := v.(float64)
	return f
}

func str(v any, path ...string) string {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

func TestOrdersCreditOnceAndRefundReverses(t *testing.T) {
	s := startLoyaltyServer(t)
	order := func(id string, amount float64) string {
		return fmt.Sprintf(`{"order_id":%q,"channel":"webchat","user":"sess-order-1","amount":%g,"currency":"cny","category":"shoes"}`, id, amount)
	}
	out := s.call(s.admin, "POST", "/api/v1/orders", order("A-1", 120.5), 200)
	member := str(out, "entry", "member")
	if num(out, "entry", "points") != 120 || out["duplicate"] != false || num(out, "balance", "points") != 120 || member == "" || out["upgrade"] != nil {
		t.Fatalf("first order: %v", out)
	}
	// The same order again, even with another amount, credits nothing.
	out = s.call(s.admin, "POST", "/api/v1/orders", order("A-1", 999), 200)
	if out["duplicate"] != true || num(out, "entry", "points") != 120 || num(out, "balance", "points") != 120 {
		t.Fatalf("repeated order: %v", out)
	}

	// 20 shop retries of one order at once: one credit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 20 {
		wg.Go(func() {
			st, out := s.agentCall("POST", "/api/v1/orders", order("A-2", 50), s.boss)
			if st != 200 {
				t.Errorf("concurrent order: %d %v", st, out)
				return
			}
			if out["duplicate"] == false {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Errorf("%d of 20 concurrent posts credited, want 1", fresh)
	}
	detail := s.call(s.admin, "GET", "/api/v1/members/"+member, "", 200)
	ledger, _ := detail["ledger"].([]any)
	if num(detail, "balance", "points") != 170 || len(ledger) != 2 {
		t.Fatalf("after 22 posts of two orders: balance %v, %d entries", num(detail, "balance", "points"), len(ledger))
	}

	// Crossing the silver threshold upgrades at once, in the answer.
	out = s.call(s.admin, "POST", "/api/v1/orders", `{"order_id":"A-3","member":"`+member+`","amount":1900,"currency":"CNY"}`, 200)
	if str(out, "upgrade", "to") != "silver" || str(out, "upgrade", "from") != "regular" || num(out, "balance", "points") != 2070 {
		t.Fatalf("upgrade: %v", out)
	}
	// The member hears of it in the chat, once: a retried order does not
	// congratulate again.
	congratulations := func() int {
		msgs, err := webJournal{s.app.Store()}.Recent("sess-order-1", 20)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			if m.Dir == "out" && strings.Contains(m.Text, "银卡") {
				n++
			}
		}
		return n
	}
	waitFor(t, func() bool { return congratulations() == 1 })
	if out = s.call(s.admin, "POST", "/api/v1/orders", `{"order_id":"A-3","member":"`+member+`","amount":1900,"currency":"CNY"}`, 200); out["upgrade"] != nil {
		t.Errorf("a repeated order reports the upgrade again: %v", out)
	}
	s.app.Outbox().Wake()
	time.Sleep(100 * time.Millisecond) // several outbox polls
	if n := congratulations(); n != 1 {
		t.Errorf("%d congratulations, want 1", n)
	}

	// A refund reverses the order's points once.
	out = s.call(s.admin, "POST", "/api/v1/orders/A-1/refund", "", 200)
	if str(out, "entry", "kind") != "reverse" || num(out, "entry", "points") != -120 || num(out, "balance", "points") != 1950 || out["duplicate"] != false {
		t.Fatalf("refund: %v", out)
	}
	out = s.call(s.admin, "POST", "/api/v1/orders/A-1/refund", "", 200)
	if out["duplicate"] != true || num(out, "balance", "points") != 1950 {
		t.Fatalf("second refund: %v", out)
	}
	s.call(s.admin, "POST", "/api/v1/orders/NOPE/refund", "", 404)
}

func TestOrderValidation(t *testing.T) {
	s := startLoyaltyServer(t)
	for _, tc := range []struct {
		what, body string
		want       int
		msg        string
	}{
		{"no order id", `{"member":"M1","amount":1,"currency":"CNY"}`, 400, "order_id"},
		{"long order id", `{"order_id":"` + strings.Repeat("x", 129) + `","member":"M1","amount":1,"currency":"CNY"}`, 400, "order_id"},
		{"spaces around the id", `{"order_id":" A ","member":"M1","amount":1,"currency":"CNY"}`, 400, "order_id"},
		{"control character", `{"order_id":"A\u0007","member":"M1","amount":1,"currency":"CNY"}`, 400, "order_id"},
		{"no customer", `{"order_id":"A","amount":1,"currency":"CNY"}`, 400, "member"},
		{"channel without user", `{"order_id":"A","channel":"webchat","amount":1,"currency":"CNY"}`, 400, "member"},
		{"both customers", `{"order_id":"A","member":"M1","channel":"webchat","user":"u","amount":1,"currency":"CNY"}`, 400, "not both"},
		{"no amount", `{"order_id":"A","member":"M1","currency":"CNY"}`, 400, "amount"},
		{"negative amount", `{"order_id":"A","member":"M1","amount":-5,"currency":"CNY"}`, 400, "amount"},
		{"huge amount", `{"order_id":"A","member":"M1","amount":1e400,"currency":"CNY"}`, 400, "malformed JSON"},
		{"amount as text", `{"order_id":"A","member":"M1","amount":"12","currency":"CNY"}`, 400, "malformed JSON"},
		{"no currency", `{"order_id":"A","member":"M1","amount":1}`, 400, "currency"},
		{"long currency", `{"order_id":"A","member":"M1","amount":1,"currency":"YUAN"}`, 400, "currency"},
		{"digits for currency", `{"order_id":"A","member":"M1","amount":1,"currency":"C1Y"}`, 400, "currency"},
		{"unknown field", `{"order_id":"A","member":"M1","amount":1,"currency":"CNY","points":1000}`, 400, "unknown field"},
		{"unknown member", `{"order_id":"A","member":"M404","amount":1,"currency":"CNY"}`, 404, "no such member"},
		{"negative item price", `{"order_id":"A","channel":"webchat","user":"u","amount":1,"currency":"CNY","items":[{"sku":"x","price":-1}]}`, 400, "items"},
	} {
		st, out := s.agentCall("POST", "/api/v1/orders", tc.body, s.admin)
		if st != tc.want || !strings.Contains(str(out, "error"), tc.msg) {
			t.Errorf("%s: %d %v, want %d and %q", tc.what, st, out, tc.want, tc.msg)
		}
	}
}

// grantCoupon gives member a coupon of right through the admin API
// (a goodwill grant, no ticket) and returns its code.
func (s *loyaltyServer) grantCoupon(member, right, key string) string {
	s.t.Helper()
	out := s.call(s.admin, "POST", "/api/v1/members/"+member+"/coupons", fmt.Sprintf(`{"right":%q,"key":%q,"note":"test"}`, right, key), 201)
	code := str(out, "coupon", "code")
	if code == "" {
		s.t.Fatalf("grant: no code in %v", out)
	}
	return code
}

// newMember creates a member through an order of 1 and returns its id.
func (s *loyaltyServer) newMember(user string) string {
	s.t.Helper()
	out := s.call(s.admin, "POST", "/api/v1/orders", `{"order_id":"first-`+user+`","channel":"webchat","user":"`+user+`","amount":1,"currency":"CNY"}`, 200)
	return str(out, "entry", "member")
}

func TestCouponIsUsedOnce(t *testing.T) {
	s := startLoyaltyServer(t)
	s.call(s.admin, "POST", "/api/v1/rights", `{"id":"test-sorry-10","kind":"amount_off","name":{"en":"¥10 off"},"value":10,"cost":0,"valid_days":7,"active":false}`, 201)
	member := s.newMember("sess-coupon")
	code := s.grantCoupon(member, "test-sorry-10", "k1")
	// A retried grant with the same key gives the same coupon.
	if again := s.grantCoupon(member, "test-sorry-10", "k1"); again != code {
		t.Errorf("retried grant: %s, then %s", code, again)
	}

	out := s.call(s.boss, "POST", "/api/v1/coupons/"+code+"/use", `{"ref":"SO-77"}`, 200)
	if str(out, "coupon", "status") != "used" || str(out, "coupon", "used_ref") != "SO-77" {
		t.Fatalf("use: %v", out)
	}
	// The checkout retrying its own use gets the same answer.
	out = s.call(s.boss, "POST", "/api/v1/coupons/"+code+"/use", `{"ref":"SO-77"}`, 200)
	if out["duplicate"] != true || str(out, "coupon", "used_ref") != "SO-77" {
		t.Fatalf("retried use: %v", out)
	}
	out = s.call(s.admin, "POST", "/api/v1/coupons/"+code+"/use", `{"ref":"SO-78"}`, 409)
	if !strings.Contains(str(out, "error"), "already used") || str(out, "coupon", "used_ref") != "SO-77" {
		t.Errorf("second use: %v", out)
	}
	s.call(s.admin, "POST", "/api/v1/coupons/NOSUCHCODE/use", "", 404)

	// Valid to the end of the seventh day: on the eighth it is refused.
	late := s.grantCoupon(member, "test-sorry-10", "k2")
	s.clock.Add(8 * 24 * time.Hour)
	out = s.call(s.admin, "POST", "/api/v1/coupons/"+late+"/use", "", 409)
	if !strings.Contains(str(out, "error"), "expired") || str(out, "coupon", "status") != "expired" {
		t.Errorf("expired coupon: %v", out)
	}

	// The checkout is the shop's backend: agents and anonymous callers
	// cannot mark coupons used.
	s.call(s.alice, "POST", "/api/v1/coupons/"+late+"/use", "", 403)
	s.call(nil, "POST", "/api/v1/coupons/"+late+"/use", "", 401)
}

func TestAgentsGrantCompensationForTheirTickets(t *testing.T) {
	s := startLoyaltyServer(t)
	s.call(s.admin, "POST", "/api/v1/rights", `{"id":"sorry-5","kind":"amount_off","name":{"en":"¥5 off"},"value":5,"cost":0,"stock":2,"active":false}`, 201)
	member := s.newMember("sess-upset")
	var ticket, other uint64
	err := s.app.Store().Update(func(tx store.Tx) error {
		d := handoff.Decision{Open: true, Action: handoff.Action{Queue: handoff.QueueAgent, SLA: time.Hour}}
		t1, err := handoff.Open(tx, handoff.OpenParams{Decision: d, Channel: "webchat", ChatID: "sess-upset", UserID: "sess-upset", Member: member}, s.clock.Now())
		if err != nil {
			return err
		}
		t2, err := handoff.Open(tx, handoff.OpenParams{Decision: d, Channel: "webchat", ChatID: "sess-other", Member: "M999999"}, s.clock.Now())
		ticket, other = t1.ID, t2.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.ClaimTicket(handoff.Account{Name: "bob", Role: handoff.RoleAgent}, ticket); err != nil {
		t.Fatal(err)
	}
	grant := func(hdr map[string]string, body string, want int) map[string]any {
		return s.call(hdr, "POST", "/api/v1/members/"+member+"/coupons", body, want)
	}
	// alice cannot compensate on bob's ticket, nor without a ticket, nor on
	// a ticket about someone else.
	grant(s.alice, fmt.Sprintf(`{"right":"sorry-5","ticket":%d}`, ticket), 403)
	grant(s.alice, `{"right":"sorry-5","key":"x"}`, 403)
	grant(s.sam, fmt.Sprintf(`{"right":"sorry-5","ticket":%d}`, other), 400)
	grant(s.b, `{"right":"sorry-5","ticket":999}`, 404)
	grant(s.b, `{"right":"nope","ticket":`+fmt.Sprint(ticket)+`}`, 404)
	out := grant(s.b, fmt.Sprintf(`{"right":"sorry-5","ticket":%d}`, ticket), 201)
	code := str(out, "coupon", "code")
	if num(out, "coupon", "ticket") != float64(ticket) || code == "" {
		t.Fatalf("bob's grant: %v", out)
	}
	// Once per ticket and right.
	if again := grant(s.b, fmt.Sprintf(`{"right":"sorry-5","ticket":%d}`, ticket), 201); str(again, "coupon", "code") != code {
		t.Errorf("second grant on the ticket: %v", again)
	}
	// The ledger records it, free, with the ticket and the agent.
	detail := s.call(s.admin, "GET", "/api/v1/members/"+member, "", 200)
	ledger, _ := detail["ledger"].([]any)
	if len(ledger) == 0 || str(ledger[0], "by") != "bob" || num(ledger[0], "ticket") != float64(ticket) || num(ledger[0], "points") != 0 || num(detail, "balance", "points") != 1 {
		t.Errorf("ledger after the grant: %v", ledger)
	}
	if coupons, _ := detail["coupons"].([]any); len(coupons) != 1 {
		t.Errorf("coupons: %v", detail["coupons"])
	}
	// Stock counts: the second of two, then none left.
	grant(s.sam, `{"right":"sorry-5","key":"goodwill-1"}`, 201)
	out = grant(s.sam, `{"right":"sorry-5","key":"goodwill-2"}`, 409)
	if !strings.Contains(str(out, "error"), "out of stock") {
		t.Errorf("out of stock: %v", out)
	}
}

func TestLoyaltyAPIAccess(t *testing.T) {
	s := startLoyaltyServer(t)
	member := s.newMember("sess-admin-1")

	for _, path := range []string{"/api/v1/members?q=x", "/api/v1/members/" + member, "/api/v1/rights", "/api/v1/campaigns"} {
		s.call(nil, "GET", path, "", 401)
		s.call(bearer("not-a-token"), "GET", path, "", 401)
		s.call(s.alice, "GET", path, "", 403)
		s.call(s.sam, "GET", path, "", 403)
		s.call(s.boss, "GET", path, "", 200)
		s.call(s.admin, "GET", path, "", 200)
	}
	for _, path := range []string{"/api/v1/orders", "/api/v1/orders/X/refund", "/api/v1/members/" + member + "/adjust", "/api/v1/members/" + member + "/freeze", "/api/v1/rights"} {
		s.call(nil, "POST", path, `{}`, 401)
		s.call(s.alice, "POST", path, `{}`, 403)
	}
	s.call(nil, "POST", "/api/v1/members/"+member+"/coupons", `{}`, 401)

	// A console session reads, and writes with its CSRF token.
	resp, err := http.Post(s.base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"name":"boss","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ CSRF string }
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	session := map[string]string{"Cookie": resp.Cookies()[0].String()}
	s.call(session, "GET", "/api/v1/members/"+member, "", 200)
	s.call(session, "POST", "/api/v1/members/"+member+"/adjust", `{"points":5,"reason":"x"}`, 403)
	session[handoff.CSRFHeader] = login.CSRF
	if out := s.call(session, "POST", "/api/v1/members/"+member+"/adjust", `{"points":5,"reason":"x"}`, 200); str(out, "entry", "by") != "boss" {
		t.Errorf("adjust from the console: %v", out)
	}
}

func TestMemberAdminAPI(t *testing.T) {
	s := startLoyaltyServer(t)
	member := s.newMember("sess-admin-1")

	// Adjustments are audited with who made them.
	out := s.call(s.admin, "POST", "/api/v1/members/"+member+"/adjust", `{"points":50,"reason":"missed order 881"}`, 200)
	if str(out, "entry", "by") != "admin-token" || str(out, "entry", "note") != "missed order 881" || num(out, "balance", "points") != 51 {
		t.Errorf("adjust with the admin token: %v", out)
	}
	out = s.call(s.boss, "POST", "/api/v1/members/"+member+"/adjust", `{"points":-11,"reason":"duplicate credit"}`, 200)
	if str(out, "entry", "by") != "boss" || num(out, "balance", "points") != 40 {
		t.Errorf("adjust by boss: %v", out)
	}
	// With an Idempotency-Key, a retried adjustment counts once.
	retry := map[string]string{"Authorization": s.boss["Authorization"], "Idempotency-Key": "ticket-77-goodwill"}
	for range 2 {
		out = s.call(retry, "POST", "/api/v1/members/"+member+"/adjust", `{"points":10,"reason":"goodwill"}`, 200)
		if num(out, "balance", "points") != 50 {
			t.Errorf("adjust with an idempotency key: %v", out)
		}
	}
	s.call(s.admin, "POST", "/api/v1/members/"+member+"/adjust", `{"points":-1000,"reason":"too much"}`, 409)
	s.call(s.admin, "POST", "/api/v1/members/"+member+"/adjust", `{"points":0,"reason":"nothing"}`, 400)
	s.call(s.admin, "POST", "/api/v1/members/"+member+"/adjust", `{"points":5}`, 400)
	s.call(s.admin, "POST", "/api/v1/members/M404/adjust", `{"points":5,"reason":"x"}`, 404)

	// Freeze and unfreeze.
	s.call(s.admin, "POST", "/api/v1/members/"+member+"/freeze", `{"reason":"abuse"}`, 400)
	out = s.call(s.boss, "POST", "/api/v1/members/"+member+"/freeze", `{"frozen":true,"reason":"abuse report 12"}`, 200)
	if out["member"].(map[string]any)["frozen"] != true || str(out, "member", "frozen_by") != "boss" {
		t.Errorf("freeze: %v", out)
	}
	detail := s.call(s.admin, "GET", "/api/v1/members/"+member, "", 200)
	if detail["balance"].(map[string]any)["frozen"] != true || str(detail, "stage") == "" || num(detail, "balance", "points") != 50 {
		t.Errorf("detail of a frozen member: %v", detail)
	}
	out = s.call(s.admin, "POST", "/api/v1/members/"+member+"/freeze", `{"frozen":false,"reason":"reviewed"}`, 200)
	if out["member"].(map[string]any)["frozen"] != false {
		t.Errorf("unfreeze: %v", out)
	}

	// Search by name, phone, member id and chat id.
	err := s.app.Store().Update(func(tx store.Tx) error {
		_, err := s.app.loyalty.Join(tx, member, "林小美", "1990-02-03", true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"小美", member, "sess-admin-1"} {
		out = s.call(s.admin, "GET", "/api/v1/members?q="+q, "", 200)
		if list, _ := out["members"].([]any); len(list) != 1 || str(list[0], "id") != member {
			t.Errorf("search %q: %v", q, out)
		}
	}
	out = s.call(s.admin, "GET", "/api/v1/members?q=nobody-like-this", "", 200)
	if list, ok := out["members"].([]any); !ok || len(list) != 0 {
		t.Errorf("search without hits: %v", out)
	}
	s.call(s.admin, "GET", "/api/v1/members?limit=0", "", 400)
	s.call(s.admin, "GET", "/api/v1/members/M404", "", 404)
}

func TestCatalogueAdminAPI(t *testing.T) {
	s := startLoyaltyServer(t)
	member := s.newMember("sess-admin-1")

	// The rights catalogue.
	right := `{"id":"tea","kind":"perk","name":{"en":"A cup of tea"},"cost":100}`
	out := s.call(s.admin, "POST", "/api/v1/rights", right, 201)
	if num(out, "stock") != -1 || out["active"] != true {
		t.Errorf("defaults of a new right: %v", out)
	}
	s.call(s.admin, "POST", "/api/v1/rights", right, 409)
	s.call(s.admin, "POST", "/api/v1/rights", `{"id":"Bad Id","kind":"perk","name":{"en":"x"}}`, 400)
	s.call(s.admin, "PUT", "/api/v1/rights/tea", `{"kind":"perk","name":{"en":"Tea"},"cost":80,"stock":5}`, 200)
	s.call(s.admin, "PUT", "/api/v1/rights/tea", `{"id":"coffee","kind":"perk","name":{"en":"Tea"}}`, 400)
	s.call(s.admin, "PUT", "/api/v1/rights/coffee", `{"kind":"perk","name":{"en":"Coffee"}}`, 404)
	out = s.call(s.admin, "GET", "/api/v1/rights", "", 200)
	found := false
	for _, r := range out["rights"].([]any) {
		found = found || (str(r, "id") == "tea" && num(r, "cost") == 80 && num(r, "stock") == 5)
	}
	if !found {
		t.Errorf("rights after PUT: %v", out)
	}
	s.call(s.admin, "DELETE", "/api/v1/rights/tea", "", 200)
	s.call(s.admin, "DELETE", "/api/v1/rights/tea", "", 404)

	// Campaigns double the points on their dates.
	s.call(s.admin, "POST", "/api/v1/campaigns", `{"name":"spring","from":"2026-03-01","to":"2026-03-31","multiplier":2}`, 200)
	s.call(s.admin, "POST", "/api/v1/campaigns", `{"name":"bad","from":"2026-03-31","to":"2026-03-01","multiplier":2}`, 400)
	out = s.call(s.admin, "GET", "/api/v1/campaigns", "", 200)
	if list, _ := out["campaigns"].([]any); len(list) == 0 {
		t.Errorf("campaigns: %v", out)
	}
	out = s.call(s.admin, "POST", "/api/v1/orders", `{"order_id":"spring-1","member":"`+member+`","amount":10,"currency":"CNY"}`, 200)
	if num(out, "entry", "points") != 20 {
		t.Errorf("order during the campaign: %v", out)
	}
}
