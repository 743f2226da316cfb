package bot

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
)

// loyaltyRoutes registers the loyalty programme's HTTP API (when
// loyalty.enabled is on).
//
// For the shop's backend (the admin token, or an API token of an admin
// account):
//
//	POST   /api/v1/orders                {"order_id","member"|"channel"+"user","amount","currency","category","items"} → {"entry","duplicate","balance","upgrade"}
//	POST   /api/v1/orders/{id}/refund    → {"entry","duplicate","balance"}: the reversal
//	POST   /api/v1/coupons/{code}/use    {"ref"} → {"coupon"}; a retry with the same ref → {"coupon","duplicate":true}
//
// For the programme's managers (admin token, or a manager or admin account):
//
//	GET    /api/v1/members?q=&limit=     search by name, phone, member, referral or channel user id (no q: the first members) → {"members"}
//	GET    /api/v1/members/{id}          MemberDetail
//	POST   /api/v1/members/{id}/adjust   {"points","reason"} [Idempotency-Key header] → {"entry","balance"}
//	POST   /api/v1/members/{id}/freeze   {"frozen","reason"} → {"member"}
//	GET    /api/v1/rights                → {"rights"}
//	POST   /api/v1/rights                a new right → the right (201)
//	PUT    /api/v1/rights/{id}           replace a right → the right
//	DELETE /api/v1/rights/{id}           withdraw a right
//	GET    /api/v1/campaigns             → {"campaigns"}
//	POST   /api/v1/campaigns             create or replace a campaign → the campaign
//	GET    /api/v1/category-multipliers  → {"multipliers": {"beauty": 1.5}}
//	PUT    /api/v1/category-multipliers  {"multipliers"} replaces them (the configured ones no longer apply)
//	PUT    /api/v1/members/{id}/zone     {"zone"} the member's time zone for scheduled care → {"member"}
//	PUT    /api/v1/members/{id}/tags     {"tags"} the labels segment messages select by → {"member"}
//
// For agents too (any console account; an agent only for a ticket it can
// work):
//
//	POST   /api/v1/members/{id}/coupons  {"right","ticket"} or {"right","key","note"} (supervisors up) → {"coupon"}: a coupon free of points
func (a *App) loyaltyRoutes(mux *http.ServeMux) {
	// The shop's backend (orders, coupons at checkout) is admin business;
	// the programme itself is run by community managers.
	admin := a.loyaltyAuth(handoff.RoleAdmin)
	manager := a.loyaltyAuth(handoff.RoleManager)
	mux.HandleFunc("POST /api/v1/orders", admin(a.handleOrder))
	mux.HandleFunc("POST /api/v1/orders/{id}/refund", admin(a.handleRefund))
	mux.HandleFunc("POST /api/v1/coupons/{code}/use", admin(a.handleUseCoupon))
	mux.HandleFunc("GET /api/v1/members", manager(a.handleSearchMembers))
	mux.HandleFunc("GET /api/v1/members/{id}", manager(a.handleMember))
	mux.HandleFunc("POST /api/v1/members/{id}/adjust", manager(a.handleAdjust))
	mux.HandleFunc("POST /api/v1/members/{id}/freeze", manager(a.handleFreeze))
	mux.HandleFunc("PUT /api/v1/members/{id}/zone", manager(a.handleZone))
	mux.HandleFunc("PUT /api/v1/members/{id}/tags", manager(a.handleTags))
	mux.HandleFunc("POST /api/v1/members/{id}/coupons", a.loyaltyAuth(handoff.RoleAgent)(a.handleGrant))
	mux.HandleFunc("GET /api/v1/rights", manager(a.handleRights))
	mux.HandleFunc("POST /api/v1/rights", manager(a.handlePutRight))
	mux.HandleFunc("PUT /api/v1/rights/{id}", manager(a.handlePutRight))
	mux.HandleFunc("DELETE /api/v1/rights/{id}", manager(a.handleDeleteRight))
	mux.HandleFunc("GET /api/v1/campaigns", manager(a.handleCampaigns))
	mux.HandleFunc("POST /api/v1/campaigns", manager(a.handlePutCampaign))
	mux.HandleFunc("GET /api/v1/category-multipliers", manager(a.handleCategoryMultipliers))
	mux.HandleFunc("PUT /api/v1/category-multipliers", manager(a.handleCategoryMultipliers))
}

// adminTokenAccount stands for the server's admin token in audit records
// (an adjustment's By, a grant's By).
var adminTokenAccount = handoff.Account{Name: "admin-token", Role: handoff.RoleAdmin}

// loyaltyHandler is a loyalty API handler; who is the caller's account, or
// adminTokenAccount.
type loyaltyHandler func(w http.ResponseWriter, r *http.Request, who handoff.Account)

// loyaltyAuth is requireAccountAdmin (agents.go) for handlers that need to
// know who called: the server's admin token passes as adminTokenAccount,
// anything else goes through the console's authentication with role min.
func (a *App) loyaltyAuth(min handoff.Role) func(loyaltyHandler) http.HandlerFunc {
	return func(h loyaltyHandler) http.HandlerFunc {
		viaAccount := a.auth.Require(min, h)
		return func(w http.ResponseWriter, r *http.Request) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if ok && subtle.ConstantTimeCompare([]byte(tok), []byte(a.admin)) == 1 {
				h(w, r, adminTokenAccount)
				return
			}
			viaAccount(w, r)
		}
	}
}

// orderRequest is the body of POST /api/v1/orders.
type orderRequest struct {
	OrderID  string              `json:"order_id"`
	Member   string              `json:"member"`
	Channel  string              `json:"channel"`
	User     string              `json:"user"`
	Amount   *float64            `json:"amount"`
	Currency string              `json:"currency"`
	Category string              `json:"category"`
	Items    []loyalty.OrderItem `json:"items"`
}

// maxOrderID bounds order ids (bytes): they become ledger keys.
const maxOrderID = 128

// validate checks the request and returns the order to credit.
func (req orderRequest) validate() (loyalty.Order, error) {
	switch {
	case req.OrderID == "" || len(req.OrderID) > maxOrderID || strings.TrimSpace(req.OrderID) != req.OrderID:
		return loyalty.Order{}, fmt.Errorf("order_id must be 1 to %d bytes without surrounding spaces", maxOrderID)
	case !utf8.ValidString(req.OrderID) || strings.ContainsFunc(req.OrderID, unicode.IsControl):
		return loyalty.Order{}, errors.New("order_id must be printable text")
	case req.Member == "" && (req.Channel == "" || req.User == ""):
		return loyalty.Order{}, errors.New(`give the customer as "member", or as "channel" and "user"`)
	case req.Member != "" && (req.Channel != "" || req.User != ""):
		return loyalty.Order{}, errors.New(`give either "member" or "channel" and "user", not both`)
	case req.Amount == nil:
		return loyalty.Order{}, errors.New(`"amount" is required`)
	case *req.Amount <= 0 || math.IsNaN(*req.Amount) || math.IsInf(*req.Amount, 0):
		// An order of nothing earns nothing; refusing it says so instead of
		// recording an empty entry under a real order id.
		return loyalty.Order{}, fmt.Errorf("amount must be a finite number above 0, got %v", *req.Amount)
	case !isCurrency(req.Currency):
		return loyalty.Order{}, fmt.Errorf("currency must be 3 letters (ISO 4217, such as CNY), got %q", req.Currency)
	}
	return loyalty.Order{
		ID: req.OrderID, Member: req.Member, Channel: req.Channel, User: req.User,
		Amount: *req.Amount, Currency: strings.ToUpper(req.Currency), Category: req.Category, Items: req.Items,
	}, nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// earnResponse answers an order or a refund.
type earnResponse struct {
	Entry     loyalty.Entry       `json:"entry"`
	Duplicate bool                `json:"duplicate"`
	Balance   loyalty.Balance     `json:"balance"`
	Upgrade   *loyalty.TierChange `json:"upgrade,omitempty"`
	// Bonus lists the referral entries the order paid, or its refund took
	// back.
	Bonus []loyalty.Entry `json:"bonus,omitempty"`
}

func (a *App) handleOrder(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	var req orderRequest
	if !decodeBody(w, r, &req) {
		return
	}
	order, err := req.validate()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var out earnResponse
	err = a.store.Update(func(tx store.Tx) error {
		res, err := a.loyalty.CreditOrder(tx, order)
		if err != nil {
			return err
		}
		out = earnResponse{Entry: res.Entry, Duplicate: res.Duplicate, Upgrade: res.Upgrade, Bonus: res.Bonus}
		if res.Upgrade != nil && !res.Duplicate {
			if err := a.notifyUpgrade(tx, res.Upgrade); err != nil {
				return err
			}
		}
		out.Balance, err = a.loyalty.Balance(tx, res.Entry.Member)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("order %s: %w", order.ID, err))
		return
	}
	if out.Upgrade != nil {
		a.outbox.Wake() // the congratulation is queued: send it now
	}
	writeJSONStatus(w, http.StatusOK, out)
}

func (a *App) handleRefund(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	id := r.PathValue("id")
	var out earnResponse
	err := a.store.Update(func(tx store.Tx) error {
		res, err := a.loyalty.RefundOrder(tx, id)
		if err != nil {
			return err
		}
		out = earnResponse{Entry: res.Entry, Duplicate: res.Duplicate, Bonus: res.Bonus}
		out.Balance, err = a.loyalty.Balance(tx, res.Entry.Member)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("refund order %s: %w", id, err))
		return
	}
	writeJSONStatus(w, http.StatusOK, out)
}

type useCouponRequest struct {
	// Ref is the shop's reference for the use (its order number).
	Ref string `json:"ref"`
}

func (a *App) handleUseCoupon(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	var req useCouponRequest
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	code := r.PathValue("code")
	var c *loyalty.Coupon
	err := a.store.Update(func(tx store.Tx) error {
		var err error
		c, err = a.loyalty.UseCoupon(tx, code, req.Ref)
		return err
	})
	if errors.Is(err, loyalty.ErrCouponUsed) && c != nil && req.Ref != "" && c.UsedRef == req.Ref {
		// The checkout retried its own use (same ref): the same answer.
		writeJSONStatus(w, http.StatusOK, map[string]any{"coupon": c, "duplicate": true})
		return
	}
	if c != nil && (errors.Is(err, loyalty.ErrCouponUsed) || errors.Is(err, loyalty.ErrCouponExpired)) {
		// The coupon tells a retrying checkout whether the earlier use was
		// its own (used_ref).
		writeJSONStatus(w, http.StatusConflict, map[string]any{"error": err.Error(), "coupon": c})
		return
	}
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("use coupon %s: %w", code, err))
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"coupon": c})
}

// queryLimit parses the limit query parameter: def when absent, else 1 to hi.
func queryLimit(r *http.Request, def, hi int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > hi {
		return 0, fmt.Errorf("limit must be a number from 1 to %d", hi)
	}
	return n, nil
}

func (a *App) handleSearchMembers(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	limit, err := queryLimit(r, 20, 200)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeList(a, w, "members", func(tx store.Tx) ([]*loyalty.Member, error) { return a.loyalty.Search(tx, q, limit) })
}

// writeList answers {key: [...]} from one read transaction.
func writeList[T any](a *App, w http.ResponseWriter, key string, list func(store.Tx) ([]T, error)) {
	var out []T
	err := a.store.View(func(tx store.Tx) error {
		var err error
		out, err = list(tx)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("list %s: %w", key, err))
		return
	}
	if out == nil {
		out = []T{}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{key: out})
}

// DetailLedger is how many ledger entries a MemberDetail carries.
const DetailLedger = 100

// MemberDetail is what the admin API (GET /api/v1/members/{id}) and
// 'carebot member show' tell about one member.
type MemberDetail struct {
	Member  *loyalty.Member `json:"member"`
	Balance loyalty.Balance `json:"balance"`
	// Stage is the lifecycle stage (loyalty.StageNew …).
	Stage   string           `json:"stage"`
	Coupons []loyalty.Coupon `json:"coupons"`
	// Ledger holds the latest DetailLedger entries, newest first.
	Ledger []loyalty.Entry `json:"ledger"`
	// Tickets are the member's latest tickets on all their chats, newest
	// first: the emotion archive (tier, trigger, cues, cause, outcome,
	// CSAT).
	Tickets []*handoff.Ticket `json:"tickets"`
}

// detailTickets bounds the tickets of a member profile.
const detailTickets = 20

// MemberDetail returns the profile of the member with id; the error wraps
// loyalty.ErrNoMember when there is none.
func (a *App) MemberDetail(id string) (*MemberDetail, error) {
	if a.loyalty == nil {
		return nil, errors.New("the loyalty programme is off (loyalty.enabled in the configuration)")
	}
	var p MemberDetail
	err := a.store.View(func(tx store.Tx) error {
		m, err := a.loyalty.Member(tx, id)
		if err != nil {
			return err
		}
		p.Member, p.Stage = m, a.loyalty.Stage(m)
		if p.Balance, err = a.loyalty.Balance(tx, id); err != nil {
			return err
		}
		if p.Coupons, err = a.loyalty.Coupons(tx, id); err != nil {
			return err
		}
		if p.Ledger, err = a.loyalty.Ledger(tx, id, DetailLedger); err != nil {
			return err
		}
		for _, ident := range m.Identities {
			ts, err := handoff.ByChat(tx, ident.Channel, ident.User, detailTickets)
			if err != nil {
				return err
			}
			p.Tickets = append(p.Tickets, ts...)
		}
		slices.SortFunc(p.Tickets, func(x, y *handoff.Ticket) int { return y.Created.Compare(x.Created) })
		p.Tickets = p.Tickets[:min(len(p.Tickets), detailTickets)]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", id, err)
	}
	if p.Coupons == nil {
		p.Coupons = []loyalty.Coupon{}
	}
	if p.Ledger == nil {
		p.Ledger = []loyalty.Entry{}
	}
	if p.Tickets == nil {
		p.Tickets = []*handoff.Ticket{}
	}
	return &p, nil
}

func (a *App) handleMember(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	p, err := a.MemberDetail(r.PathValue("id"))
	if err != nil {
		a.loyaltyError(w, err)
		return
	}
	writeJSONStatus(w, http.StatusOK, p)
}

// maxIdempotencyKey bounds the Idempotency-Key header of an adjustment.
const maxIdempotencyKey = 100

type adjustRequest struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
}

func (a *App) handleAdjust(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req adjustRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Points == 0 || strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, `"points" (not 0) and "reason" are required`)
		return
	}
	// A retried adjustment with the same Idempotency-Key header is
	// recorded once.
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, unicode.IsControl) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Idempotency-Key must be at most %d printable bytes", maxIdempotencyKey))
		return
	}
	id := r.PathValue("id")
	var out struct {
		Entry   loyalty.Entry   `json:"entry"`
		Balance loyalty.Balance `json:"balance"`
	}
	err := a.store.Update(func(tx store.Tx) error {
		var err error
		if out.Entry, err = a.loyalty.AdjustKey(tx, id, req.Points, req.Reason, who.Name, key); err != nil {
			return err
		}
		out.Balance, err = a.loyalty.Balance(tx, id)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("adjust member %s: %w", id, err))
		return
	}
	a.log.Info("loyalty points adjusted", "member", id, "points", req.Points, "reason", req.Reason, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, out)
}

type freezeRequest struct {
	Frozen *bool  `json:"frozen"`
	Reason string `json:"reason"`
}

func (a *App) handleFreeze(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req freezeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Frozen == nil || strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, `"frozen" (true or false) and "reason" are required`)
		return
	}
	id := r.PathValue("id")
	var m *loyalty.Member
	err := a.store.Update(func(tx store.Tx) error {
		if err := a.loyalty.Freeze(tx, id, *req.Frozen, req.Reason, who.Name); err != nil {
			return err
		}
		var err error
		m, err = a.loyalty.Member(tx, id)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("freeze member %s: %w", id, err))
		return
	}
	a.log.Info("loyalty points frozen", "member", id, "frozen", *req.Frozen, "reason", req.Reason, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, map[string]any{"member": m})
}

// zoneRequest is the body of PUT /api/v1/members/{id}/zone.
type zoneRequest struct {
	// Zone is an IANA time zone (Asia/Tokyo); empty forgets it.
	Zone *string `json:"zone"`
}

// handleZone sets the member's time zone, whose quiet hours and days
// scheduled care then follows (docs/care.md).
func (a *App) handleZone(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req zoneRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Zone == nil {
		writeError(w, http.StatusBadRequest, `field "zone" is required (an IANA zone such as Asia/Tokyo, or "" to forget it)`)
		return
	}
	id := r.PathValue("id")
	var m *loyalty.Member
	err := a.store.Update(func(tx store.Tx) error {
		if err := a.loyalty.SetZone(tx, id, strings.TrimSpace(*req.Zone)); err != nil {
			return err
		}
		var err error
		m, err = a.loyalty.Member(tx, id)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("zone of member %s: %w", id, err))
		return
	}
	a.log.Info("member time zone set", "member", id, "zone", m.Zone, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, map[string]any{"member": m})
}

// tagsRequest is the body of PUT /api/v1/members/{id}/tags.
type tagsRequest struct {
	Tags *[]string `json:"tags"`
}

// handleTags replaces the member's tags.
func (a *App) handleTags(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req tagsRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Tags == nil {
		writeError(w, http.StatusBadRequest, `field "tags" is required (a list, [] to clear)`)
		return
	}
	id := r.PathValue("id")
	var m *loyalty.Member
	err := a.store.Update(func(tx store.Tx) error {
		if err := a.loyalty.SetTags(tx, id, *req.Tags); err != nil {
			return err
		}
		var err error
		m, err = a.loyalty.Member(tx, id)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("tags of member %s: %w", id, err))
		return
	}
	a.log.Info("member tags set", "member", id, "tags", m.Tags, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, map[string]any{"member": m})
}

type grantRequest struct {
	Right  string `json:"right"`
	Ticket uint64 `json:"ticket"`
	// Key makes a grant without a ticket idempotent (a retry with the same
	// key gives the same coupon); Note says why.
	Key  string `json:"key"`
	Note string `json:"note"`
}

// handleGrant gives a member a coupon without points, recorded in the
// ledger with the caller. With a ticket it is the ticket's compensation
// (once per ticket and right); the caller must be able to work the ticket
// (handoff.CanWork: an agent its own or an open agent-queue ticket) and
// the ticket's customer must be the member. Without a ticket it is a
// goodwill gesture, for supervisors and admins only, keyed by "key".
func (a *App) handleGrant(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req grantRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case strings.TrimSpace(req.Right) == "":
		writeError(w, http.StatusBadRequest, `"right" is required`)
		return
	case req.Ticket == 0 && !who.Role.AtLeast(handoff.RoleSupervisor):
		writeError(w, http.StatusForbidden, `an agent grants a coupon for a ticket it works: give "ticket"`)
		return
	case req.Ticket == 0 && strings.TrimSpace(req.Key) == "":
		writeError(w, http.StatusBadRequest, `give "ticket", or an idempotency "key" for a grant without a ticket`)
		return
	}
	id := r.PathValue("id")
	var c *loyalty.Coupon
	err := a.store.Update(func(tx store.Tx) error {
		var err error
		if req.Ticket == 0 {
			c, _, err = a.loyalty.GrantWith(tx, loyalty.GrantParams{Member: id, Right: req.Right, Key: "api:" + req.Key, By: who.Name, Note: req.Note})
			return err
		}
		t, err := handoff.Get(tx, req.Ticket)
		if err != nil {
			return err
		}
		if !handoff.CanWork(who, t) {
			return fmt.Errorf("ticket %d is not yours to work: %w", t.ID, handoff.ErrForbidden)
		}
		if t.Member != "" && t.Member != id {
			return fmt.Errorf("ticket %d is about member %s, not %s: %w", t.ID, t.Member, id, loyalty.ErrInvalid)
		}
		c, err = a.loyalty.Grant(tx, id, req.Right, req.Ticket, who.Name)
		return err
	})
	if err != nil {
		a.loyaltyError(w, fmt.Errorf("grant %s to member %s: %w", req.Right, id, err))
		return
	}
	a.log.Info("coupon granted", "member", id, "right", req.Right, "ticket", req.Ticket, "by", who.Name)
	writeJSONStatus(w, http.StatusCreated, map[string]any{"coupon": c})
}

// rightView is a right with how many of its coupons were issued, so the
// console shows what is left of a limited stock.
type rightView struct {
	loyalty.Right
	Issued int64 `json:"issued"`
}

func (a *App) handleRights(w http.ResponseWriter, _ *http.Request, _ handoff.Account) {
	writeList(a, w, "rights", func(tx store.Tx) ([]rightView, error) {
		rights, err := a.loyalty.Rights(tx)
		out := make([]rightView, len(rights))
		for i, r := range rights {
			out[i] = rightView{Right: r, Issued: a.loyalty.Issued(tx, r.ID)}
		}
		return out, err
	})
}

// handlePutRight creates a right (POST, 409 when the id is taken) or
// replaces one (PUT, whose path names it; 404 when there is none). The
// body is a whole right, in the format of rewards.yaml.
func (a *App) handlePutRight(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	// Omitted stock and active mean what they mean in rewards.yaml:
	// unlimited, and offered in chat.
	right := loyalty.Right{Stock: -1, Active: true}
	if !decodeBody(w, r, &right) {
		return
	}
	create := r.Method == http.MethodPost
	if !create {
		id := r.PathValue("id")
		if right.ID != "" && right.ID != id {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("the body's id %q differs from the path's %q", right.ID, id))
			return
		}
		right.ID = id
	}
	err := a.store.Update(func(tx store.Tx) error {
		_, err := a.loyalty.Right(tx, right.ID)
		exists := err == nil
		switch {
		case err != nil && !errors.Is(err, loyalty.ErrNoRight):
			return err
		case create && exists:
			return fmt.Errorf("right %q: %w (change it with PUT /api/v1/rights/%s)", right.ID, loyalty.ErrExists, right.ID)
		case !create && !exists:
			return fmt.Errorf("right %q: %w (create it with POST /api/v1/rights)", right.ID, loyalty.ErrNoRight)
		}
		return a.loyalty.PutRight(tx, right)
	})
	if err != nil {
		a.loyaltyError(w, err)
		return
	}
	a.log.Info("loyalty right saved", "right", right.ID, "created", create, "by", who.Name)
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	writeJSONStatus(w, status, right)
}

func (a *App) handleDeleteRight(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	id := r.PathValue("id")
	if err := a.store.Update(func(tx store.Tx) error { return a.loyalty.DeleteRight(tx, id) }); err != nil {
		a.loyaltyError(w, fmt.Errorf("delete right %s: %w", id, err))
		return
	}
	a.log.Info("loyalty right deleted", "right", id, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, map[string]string{"deleted": id})
}

func (a *App) handleCampaigns(w http.ResponseWriter, _ *http.Request, _ handoff.Account) {
	writeList(a, w, "campaigns", a.loyalty.Campaigns)
}

func (a *App) handlePutCampaign(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var c loyalty.Campaign
	if !decodeBody(w, r, &c) {
		return
	}
	if err := a.store.Update(func(tx store.Tx) error { return a.loyalty.PutCampaign(tx, c) }); err != nil {
		a.loyaltyError(w, fmt.Errorf("save campaign %s: %w", c.Name, err))
		return
	}
	a.log.Info("loyalty campaign saved", "campaign", c.Name, "multiplier", c.Multiplier, "by", who.Name)
	writeJSONStatus(w, http.StatusOK, c)
}

// categoryMultipliersBody is the body of the category multiplier routes.
type categoryMultipliersBody struct {
	Multipliers map[string]float64 `json:"multipliers"`
}

// handleCategoryMultipliers reads (GET) or replaces (PUT) the points
// multipliers per order category.
func (a *App) handleCategoryMultipliers(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var out categoryMultipliersBody
	var err error
	if r.Method == http.MethodPut {
		var req categoryMultipliersBody
		if !decodeBody(w, r, &req) {
			return
		}
		if req.Multipliers == nil {
			writeError(w, http.StatusBadRequest, `field "multipliers" is required (an object, {} for none)`)
			return
		}
		err = a.store.Update(func(tx store.Tx) error {
			if err := a.loyalty.SetCategoryMultipliers(tx, req.Multipliers); err != nil {
				return err
			}
			out.Multipliers, err = a.loyalty.CategoryMultipliers(tx)
			return err
		})
		if err == nil {
			a.log.Info("category multipliers set", "multipliers", out.Multipliers, "by", who.Name)
		}
	} else {
		err = a.store.View(func(tx store.Tx) error {
			out.Multipliers, err = a.loyalty.CategoryMultipliers(tx)
			return err
		})
	}
	if err != nil {
		a.loyaltyError(w, err)
		return
	}
	if out.Multipliers == nil {
		out.Multipliers = map[string]float64{}
	}
	writeJSONStatus(w, http.StatusOK, out)
}

// loyaltyError maps the programme's errors to HTTP statuses; the message
// says what happened (its sentinel wrapped with the context).
func (a *App) loyaltyError(w http.ResponseWriter, err error) {
	is := func(targets ...error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
	switch {
	case is(loyalty.ErrNoMember, loyalty.ErrNoCoupon, loyalty.ErrNoRight, loyalty.ErrNoCampaign, loyalty.ErrNoOrder, handoff.ErrNoTicket):
		writeError(w, http.StatusNotFound, err.Error())
	case is(loyalty.ErrInvalid, loyalty.ErrLinkCode):
		writeError(w, http.StatusBadRequest, err.Error())
	case is(handoff.ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	case is(loyalty.ErrExists, loyalty.ErrCouponUsed, loyalty.ErrCouponExpired, loyalty.ErrInsufficient,
		loyalty.ErrOutOfStock, loyalty.ErrLimit, loyalty.ErrNotEligible, loyalty.ErrFrozen):
		writeError(w, http.StatusConflict, err.Error())
	default:
		a.log.Error("loyalty API failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}
