package loyalty

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carebot/carebot/store"
)

// Buckets. Keys are built with store.Key/Prefix/U64 so that a member's
// rows sort together and in time order.
var (
	bucketMembers    = store.RegisterBucket("loyalty", "loyalty_members")    // id → Member
	bucketIdentities = store.RegisterBucket("loyalty", "loyalty_identities") // channel, user → id
	bucketRefCodes   = store.RegisterBucket("loyalty", "loyalty_referral")   // referral code → id
	bucketLinks      = store.RegisterBucket("loyalty", "loyalty_links")      // "code", code → linkCode; "member", id → code
	bucketTierLog    = store.RegisterBucket("loyalty", "loyalty_tier_log")   // id, seq → TierChange
	bucketMeta       = store.RegisterBucket("loyalty", "loyalty_meta")       // seed and import markers
)

// Identity is one chat account of a member.
type Identity struct {
	Channel string    `json:"channel"`
	User    string    `json:"user"`
	Linked  time.Time `json:"linked,omitzero"`
}

// Member is one customer of the programme. Points is the balance, derived
// from the ledger and kept in step with it in the same transaction.
type Member struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Birthday is YYYY-MM-DD or empty.
	Birthday string `json:"birthday,omitempty"`
	// Consent to care messages (birthday greetings, recall coupons,
	// surveys); ConsentAt is when it was last given or withdrawn.
	Consent   bool      `json:"consent"`
	ConsentAt time.Time `json:"consent_at,omitzero"`
	// Joined: the member completed 注册会员 (or was imported).
	Joined   bool      `json:"joined"`
	JoinedAt time.Time `json:"joined_at,omitzero"`
	Tier     string    `json:"tier"`
	// TierSince is when the member reached (or kept) the current tier.
	TierSince  time.Time  `json:"tier_since,omitzero"`
	Identities []Identity `json:"identities,omitempty"`
	// ReferralCode is this member's code to share; ReferredBy is the
	// member whose code this one gave.
	ReferralCode string `json:"referral_code"`
	ReferredBy   string `json:"referred_by,omitempty"`
	Frozen       bool   `json:"frozen"`
	FrozenReason string `json:"frozen_reason,omitempty"`
	FrozenBy     string `json:"frozen_by,omitempty"`
	Points       int64  `json:"points"`
	Orders       int    `json:"orders"`
	// Streak is the run of consecutive check-in days ending LastCheckIn.
	Streak       int       `json:"streak,omitempty"`
	LastCheckIn  string    `json:"last_check_in,omitempty"`
	Created      time.Time `json:"created"`
	LastActive   time.Time `json:"last_active,omitzero"`
	LastPurchase time.Time `json:"last_purchase,omitzero"`
	// Reviewed is the last year whose yearly tier review saw this member.
	Reviewed int `json:"reviewed,omitempty"`
	// Tags are the community manager's labels (vip-event-2026, 宝妈群) that
	// segment messages select by.
	Tags []string `json:"tags,omitempty"`
	// MergedInto is set on a member whose identities and points were moved
	// to another by Link; lookups follow it.
	MergedInto string `json:"merged_into,omitempty"`
	// Zone is the member's IANA time zone where known (import, SetZone),
	// so that care messages go out in the member's morning; see Location.
	Zone string `json:"zone,omitempty"`
	// Categories counts the member's orders per (normalised) category; an
	// order counts once per distinct category it contains. Refunds do not
	// take it back: it describes taste, not spend.
	Categories map[string]int `json:"categories,omitempty"`
}

// Lifecycle stages returned by Stage.
const (
	StageNew     = "new"
	StageGrowing = "growing"
	StageCore    = "core"
	StageAtRisk  = "at-risk"
	StageDormant = "dormant"
)

// EnsureMember returns the member behind a chat identity, creating it on
// first contact (created is then true).
func (p *Program) EnsureMember(tx store.Tx, channel, user string) (*Member, bool, error) {
	m, ok, err := p.MemberByIdentity(tx, channel, user)
	if err != nil || ok {
		return m, false, err
	}
	m, err = p.newMember(tx, "")
	if err != nil {
		return nil, false, err
	}
	if err := p.addIdentity(tx, m, channel, user); err != nil {
		return nil, false, err
	}
	if err := p.save(tx, m); err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// MemberByIdentity returns the member linked to a chat identity.
func (p *Program) MemberByIdentity(tx store.Tx, channel, user string) (*Member, bool, error) {
	if err := checkIdentity(channel, user); err != nil {
		return nil, false, err
	}
	id := tx.Get(bucketIdentities, store.Key(channel, user))
	if id == nil {
		return nil, false, nil
	}
	m, err := p.Member(tx, string(id))
	if err != nil {
		return nil, false, fmt.Errorf("identity %s/%s: %w", channel, user, err)
	}
	return m, true, nil
}

// Member loads a member by id, following a merge to the surviving member.
func (p *Program) Member(tx store.Tx, id string) (*Member, error) {
	for range 8 { // merges chain rarely; the bound stops a corrupt cycle
		var m Member
		ok, err := store.GetJSON(tx, bucketMembers, []byte(id), &m)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", id, err)
		}
		if !ok || id == "" {
			return nil, fmt.Errorf("member %q: %w", id, ErrNoMember)
		}
		if m.MergedInto == "" {
			return &m, nil
		}
		id = m.MergedInto
	}
	return nil, fmt.Errorf("member %q: merge chain too long: %w", id, ErrNoMember)
}

// Touch records chat activity, which keeps the member out of at-risk and
// dormant.
func (p *Program) Touch(tx store.Tx, id string) error {
	m, err := p.Member(tx, id)
	if err != nil {
		return err
	}
	m.LastActive = p.now()
	return p.save(tx, m)
}

// Join completes 注册会员: name (1–40 characters, no control characters),
// birthday (YYYY-MM-DD, a real date, not in the future, age at most 120;
// empty when the customer declines) and consent to care messages. Joining
// again updates the profile.
func (p *Program) Join(tx store.Tx, id, name, birthday string, consent bool) (*Member, error) {
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	if err := p.checkBirthday(birthday); err != nil {
		return nil, err
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, err
	}
	now := p.now()
	m.Name, m.Birthday = name, birthday
	if !m.Joined {
		m.Joined, m.JoinedAt = true, now
	}
	if m.Consent != consent || m.ConsentAt.IsZero() {
		m.Consent, m.ConsentAt = consent, now
	}
	m.LastActive = now
	return m, p.save(tx, m)
}

// SetConsent gives or withdraws consent to care messages (退订 withdraws).
func (p *Program) SetConsent(tx store.Tx, id string, consent bool) error {
	m, err := p.Member(tx, id)
	if err != nil {
		return err
	}
	if m.Consent == consent && !m.ConsentAt.IsZero() {
		return nil
	}
	m.Consent, m.ConsentAt = consent, p.now()
	return p.save(tx, m)
}

// Freeze freezes or unfreezes a member's points (anti-abuse): a frozen
// member still earns but cannot redeem. The change is audited as a
// zero-point ledger entry with by and the reason.
func (p *Program) Freeze(tx store.Tx, id string, frozen bool, reason, by string) error {
	if strings.TrimSpace(reason) == "" || strings.TrimSpace(by) == "" {
		return fmt.Errorf("freeze %s: %w: a reason and the acting account are required", id, ErrInvalid)
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return err
	}
	if m.Frozen == frozen {
		return nil
	}
	m.Frozen = frozen
	why := ReasonUnfreeze
	m.FrozenReason, m.FrozenBy = "", ""
	if frozen {
		why = ReasonFreeze
		m.FrozenReason, m.FrozenBy = reason, by
	}
	_, err = p.record(tx, m, Entry{Kind: KindAdjust, Reason: why, By: by, Note: reason})
	return err
}

// Stage is the member's lifecycle stage: dormant or at-risk after
// DormantAfter / AtRiskAfter without a purchase or a chat; otherwise core
// from CoreOrders orders, new before the first order or during NewFor after
// joining, growing in between.
func (p *Program) Stage(m *Member) string {
	now := p.now()
	last := m.Created
	for _, t := range []time.Time{m.LastActive, m.LastPurchase} {
		if t.After(last) {
			last = t
		}
	}
	switch idle := now.Sub(last); {
	case idle >= p.opts.DormantAfter:
		return StageDormant
	case idle >= p.opts.AtRiskAfter:
		return StageAtRisk
	case m.Orders >= p.opts.CoreOrders:
		return StageCore
	case m.Orders == 0 || now.Sub(m.Created) < p.opts.NewFor:
		return StageNew
	}
	return StageGrowing
}

// Search finds members by exact id, referral code or channel user id, by
// phone digits or by a case-insensitive name substring; an empty query
// lists members. limit ≤ 0 means 20; at most 200. Search reads every member
// (an admin tool, not a hot path).
func (p *Program) Search(tx store.Tx, query string, limit int) ([]*Member, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 200)
	q := strings.TrimSpace(query)
	var out []*Member
	seen := map[string]bool{}
	if q != "" {
		if m, err := p.Member(tx, q); err == nil {
			out, seen[m.ID] = append(out, m), true
		}
	}
	lq, digits := strings.ToLower(q), onlyDigits(q)
	err := tx.Scan(bucketMembers, nil, func(k, v []byte) error {
		if len(out) >= limit {
			return store.ErrStop
		}
		var m Member
		if err := store.DecodeJSON(v, &m); err != nil {
			return fmt.Errorf("member %s: %w", k, err)
		}
		if m.MergedInto != "" || seen[m.ID] || !m.matches(q, lq, digits) {
			return nil
		}
		out, seen[m.ID] = append(out, &m), true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search members: %w", err)
	}
	return out, nil
}

func (m *Member) matches(q, lq, digits string) bool {
	if q == "" || strings.Contains(strings.ToLower(m.Name), lq) || strings.EqualFold(m.ReferralCode, q) {
		return true
	}
	if len(digits) >= 4 && strings.Contains(onlyDigits(m.Phone), digits) {
		return true
	}
	for _, id := range m.Identities {
		if id.User == q {
			return true
		}
	}
	return false
}

// TierHistory lists the member's tier changes, newest first.
func (p *Program) TierHistory(tx store.Tx, id string) ([]TierChange, error) {
	m, err := p.Member(tx, id)
	if err != nil {
		return nil, err
	}
	var out []TierChange
	err = tx.ScanReverse(bucketTierLog, store.Prefix(m.ID), func(_, v []byte) error {
		var c TierChange
		if err := store.DecodeJSON(v, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tier history of %s: %w", id, err)
	}
	return out, nil
}

// newMember creates a member with id, or the next free "M000001"-style id
// when id is empty. The caller adds identities and saves it.
func (p *Program) newMember(tx store.Tx, id string) (*Member, error) {
	for id == "" {
		n, err := tx.NextSequence(bucketMembers)
		if err != nil {
			return nil, fmt.Errorf("new member id: %w", err)
		}
		// Imported members bring their own ids, which may take a number of
		// the sequence: skip those.
		if c := fmt.Sprintf("M%06d", n); tx.Get(bucketMembers, []byte(c)) == nil {
			id = c
		}
	}
	code, err := uniqueCode(tx, bucketRefCodes, nil, referralLen)
	if err != nil {
		return nil, fmt.Errorf("referral code: %w", err)
	}
	if err := tx.Put(bucketRefCodes, []byte(code), []byte(id)); err != nil {
		return nil, err
	}
	now := p.now()
	return &Member{ID: id, Tier: p.opts.Tiers[0].Name, TierSince: now, ReferralCode: code, Created: now, LastActive: now}, nil
}

func (p *Program) addIdentity(tx store.Tx, m *Member, channel, user string) error {
	if err := checkIdentity(channel, user); err != nil {
		return err
	}
	if err := tx.Put(bucketIdentities, store.Key(channel, user), []byte(m.ID)); err != nil {
		return fmt.Errorf("link %s/%s: %w", channel, user, err)
	}
	m.Identities = append(m.Identities, Identity{Channel: channel, User: user, Linked: p.now()})
	return nil
}

// save writes m. It is the only writer of bucketMembers, so the indexes
// (index.go) it updates in the same transaction stay right whoever saves.
func (p *Program) save(tx store.Tx, m *Member) error {
	if err := store.PutJSON(tx, bucketMembers, []byte(m.ID), m); err != nil {
		return fmt.Errorf("save member %s: %w", m.ID, err)
	}
	if err := p.index(tx, m); err != nil {
		return fmt.Errorf("index member %s: %w", m.ID, err)
	}
	return nil
}

// SetZone sets the member's IANA time zone (Asia/Tokyo); an empty zone
// clears it. A name time.LoadLocation does not know, or "Local" (the
// server's zone, not the member's), is an ErrInvalid error.
func (p *Program) SetZone(tx store.Tx, id, zone string) error {
	zone, err := checkZone(zone)
	if err != nil {
		return fmt.Errorf("set zone of %s: %w", id, err)
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return err
	}
	if m.Zone == zone {
		return nil
	}
	m.Zone = zone
	return p.save(tx, m)
}

// Location returns the member's time zone, or def when it is unknown or
// no longer loads (a zone removed from a later tzdata).
func (m *Member) Location(def *time.Location) *time.Location {
	if m.Zone == "" {
		return def
	}
	loc, err := loadZone(m.Zone)
	if err != nil {
		return def
	}
	return loc
}

// FavouriteCategory is the category the member ordered most often, ties
// going to the alphabetically first; "" when there is none.
func (m *Member) FavouriteCategory() string {
	best, n := "", 0
	for c, k := range m.Categories {
		if k > n || (k == n && c < best) {
			best, n = c, k
		}
	}
	return best
}

// countCategories adds one to each distinct category of o (the order's
// and its items'), however many items share it.
func (m *Member) countCategories(o Order) {
	cats := make([]string, 0, len(o.Items)+1)
	cats = append(cats, normCategory(o.Category))
	for _, it := range o.Items {
		cats = append(cats, normCategory(it.Category))
	}
	slices.Sort(cats)
	for _, c := range slices.Compact(cats) {
		if c == "" {
			continue
		}
		if m.Categories == nil {
			m.Categories = map[string]int{}
		}
		m.Categories[c]++
	}
}

// zones caches loaded locations by name: time.LoadLocation reads and
// parses the tzdata file on every call, and a care job asks for the zone
// of thousands of members. Only names that loaded are kept, so the cache
// is bounded by the tz database.
var zones sync.Map // name → *time.Location

func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// checkZone trims a zone name and checks that it loads; "" is allowed
// (unknown).
func checkZone(zone string) (string, error) {
	zone = strings.TrimSpace(zone)
	if zone == "" {
		return "", nil
	}
	if zone == "Local" {
		return "", fmt.Errorf("zone %q: %w: give an IANA name such as Asia/Shanghai, not the server's zone", zone, ErrInvalid)
	}
	if _, err := loadZone(zone); err != nil {
		return "", fmt.Errorf("zone %q: %w: not an IANA time zone: %w", zone, ErrInvalid, err)
	}
	return zone, nil
}

func checkIdentity(channel, user string) error {
	if channel == "" || user == "" || strings.ContainsRune(channel, 0) || strings.ContainsRune(user, 0) ||
		len(channel) > 64 || len(user) > 256 {
		return fmt.Errorf("chat identity %q/%q: %w: want a channel and a user id", channel, user, ErrInvalid)
	}
	return nil
}

// checkName trims a display name and rejects empty, over-long and control
// characters (bidirectional overrides can disguise a name in the console).
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < 1 || n > 40 {
		return "", fmt.Errorf("name: %w: must be 1 to 40 characters", ErrInvalid)
	}
	for _, r := range name {
		if unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return "", fmt.Errorf("name: %w: must not contain control characters", ErrInvalid)
		}
	}
	return name, nil
}

func (p *Program) checkBirthday(b string) error {
	if b == "" {
		return nil
	}
	d, err := time.ParseInLocation(dateLayout, b, p.loc)
	if err != nil {
		return fmt.Errorf("birthday %q: %w: not a real date in the form YYYY-MM-DD", b, ErrInvalid)
	}
	today := p.startOfDay(p.now())
	if d.After(today) {
		return fmt.Errorf("birthday %s: %w: is in the future", b, ErrInvalid)
	}
	if d.Before(today.AddDate(-120, 0, 0)) {
		return fmt.Errorf("birthday %s: %w: more than 120 years ago", b, ErrInvalid)
	}
	return nil
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// removeIdentity drops one identity from a member's list.
func removeIdentity(ids []Identity, channel, user string) []Identity {
	return slices.DeleteFunc(ids, func(i Identity) bool { return i.Channel == channel && i.User == user })
}

// Tag limits: a tag is a short label, a member carries a handful.
const (
	maxTags   = 20
	maxTagLen = 32
)

// SetTags replaces the member's tags: each 1–32 printable characters
// without commas, at most 20, duplicates (ignoring case) dropped.
func (p *Program) SetTags(tx store.Tx, id string, tags []string) error {
	clean := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > maxTagLen || strings.ContainsAny(t, ",，") || strings.ContainsFunc(t, unicode.IsControl) {
			return fmt.Errorf("tag %q: %w: a tag is 1 to %d printable characters without commas", t, ErrInvalid, maxTagLen)
		}
		if !slices.ContainsFunc(clean, func(c string) bool { return strings.EqualFold(c, t) }) {
			clean = append(clean, t)
		}
	}
	if len(clean) > maxTags {
		return fmt.Errorf("tags of %s: %w: at most %d tags", id, ErrInvalid, maxTags)
	}
	m, err := p.Member(tx, id)
	if err != nil {
		return err
	}
	m.Tags = clean
	if len(clean) == 0 {
		m.Tags = nil
	}
	return p.save(tx, m)
}
