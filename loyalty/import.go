package loyalty

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/carebot/carebot/store"
)

// ImportRow is one member from a shop's existing programme (the columns of
// `carebot member import`).
type ImportRow struct {
	ID       string
	Name     string
	Phone    string
	Birthday string // YYYY-MM-DD or empty
	// Tier is a tier name or any of its labels (金卡, Gold); empty is the
	// lowest tier.
	Tier   string
	Points int64
	// Channel and ChannelUser, both or neither, link the member to a chat
	// identity (a web chat session, a LINE user id).
	Channel     string
	ChannelUser string
	// Zone is the member's IANA time zone (Asia/Tokyo), optional.
	Zone string
	// Consent is true when the brand's own records hold the member's
	// consent to care messages (birthday greetings, recall offers,
	// surveys); it is never assumed.
	Consent bool
}

// ImportMember creates a member from a row. It is idempotent on the row's
// id (key "import:<id>"): a re-run reports created false and changes
// nothing. The member counts as joined; consent to care messages is not
// assumed (it is asked for in chat) unless the row says so. Points become one lot (reason import)
// expiring LotMonths after the import; they do not qualify for tiers, but
// the imported tier is kept until the next yearly review. When the chat
// identity already has a member (created on first contact), that member is
// merged into the imported one, as Link does; if it belongs to another
// imported member, the row is refused (ErrExists). Errors wrap ErrInvalid (the
// message names the column) or ErrExists.
func (p *Program) ImportMember(tx store.Tx, row ImportRow) (bool, error) {
	row, tier, err := p.checkImport(row)
	if err != nil {
		return false, err
	}
	marker := store.Key("import", row.ID)
	if tx.Get(bucketMeta, marker) != nil {
		return false, nil
	}
	if tx.Get(bucketMembers, []byte(row.ID)) != nil {
		return false, fmt.Errorf("import %s: %w: a member with this id exists (not from an import)", row.ID, ErrExists)
	}
	m, err := p.newMember(tx, row.ID)
	if err != nil {
		return false, err
	}
	m.Name, m.Phone, m.Birthday, m.Zone = row.Name, row.Phone, row.Birthday, row.Zone
	m.Joined, m.JoinedAt = true, m.Created
	if row.Consent {
		m.Consent, m.ConsentAt = true, m.Created
	}
	if err := p.save(tx, m); err != nil {
		return false, err
	}
	if tier != m.Tier {
		if _, err := p.changeTier(tx, m, tier, TierImport); err != nil {
			return false, err
		}
	}
	if row.Points > 0 {
		if _, err := p.credit(tx, m, Entry{Kind: KindEarn, Reason: ReasonImport, Points: row.Points, Key: "import:" + row.ID}); err != nil {
			return false, err
		}
	}
	if row.Channel != "" {
		s, known, err := p.MemberByIdentity(tx, row.Channel, row.ChannelUser)
		switch {
		case err != nil:
			return false, err
		case known && tx.Get(bucketMeta, store.Key("import", s.ID)) != nil:
			// Two rows naming one chat account is a mistake in the file,
			// not a person with two accounts.
			err = fmt.Errorf("%w: channel_user %s/%s already belongs to imported member %s", ErrExists, row.Channel, row.ChannelUser, s.ID)
		case known:
			err = p.merge(tx, s, m)
		default:
			if err = p.addIdentity(tx, m, row.Channel, row.ChannelUser); err == nil {
				err = p.save(tx, m)
			}
		}
		if err != nil {
			return false, fmt.Errorf("import %s: %w", row.ID, err)
		}
	}
	return true, tx.Put(bucketMeta, marker, []byte{1})
}

// checkImport validates and normalises a row and resolves its tier.
func (p *Program) checkImport(row ImportRow) (ImportRow, string, error) {
	bad := func(col, format string, args ...any) (ImportRow, string, error) {
		return row, "", fmt.Errorf("import %q: %s: %w: %s", row.ID, col, ErrInvalid, fmt.Sprintf(format, args...))
	}
	row.ID = strings.TrimSpace(row.ID)
	if row.ID == "" || len(row.ID) > 64 || strings.IndexFunc(row.ID, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return bad("id", "must be 1 to 64 printable characters without spaces")
	}
	row.Name = strings.TrimSpace(row.Name) // a blank name is no name
	if row.Name != "" {
		name, err := checkName(row.Name)
		if err != nil {
			return bad("name", "%v", err)
		}
		row.Name = name
	}
	row.Phone = strings.TrimSpace(row.Phone)
	if d := onlyDigits(row.Phone); row.Phone != "" && (len(d) < 5 || len(d) > 20 || strings.Trim(row.Phone, "+0123456789 -()") != "") {
		return bad("phone", "%q is not a phone number", row.Phone)
	}
	row.Birthday = strings.TrimSpace(row.Birthday)
	if err := p.checkBirthday(row.Birthday); err != nil {
		return bad("birthday", "%v", err)
	}
	zone, err := checkZone(row.Zone)
	if err != nil {
		return bad("zone", "%v", err)
	}
	row.Zone = zone
	tier, ok := p.tierByNameOrLabel(strings.TrimSpace(row.Tier))
	if !ok {
		return bad("tier", "%q is not a tier", row.Tier)
	}
	if row.Points < 0 || row.Points > maxPoints {
		return bad("points", "must be 0 to %d, got %d", int64(maxPoints), row.Points)
	}
	row.Channel, row.ChannelUser = strings.TrimSpace(row.Channel), strings.TrimSpace(row.ChannelUser)
	if (row.Channel == "") != (row.ChannelUser == "") {
		return bad("channel", "give channel and channel_user together")
	}
	if row.Channel != "" {
		if err := checkIdentity(row.Channel, row.ChannelUser); err != nil {
			return bad("channel_user", "%v", err)
		}
	}
	return row, tier, nil
}

func (p *Program) tierByNameOrLabel(s string) (string, bool) {
	if s == "" {
		return p.opts.Tiers[0].Name, true
	}
	for _, t := range p.opts.Tiers {
		if strings.EqualFold(s, t.Name) {
			return t.Name, true
		}
		for _, l := range t.Label {
			if strings.EqualFold(s, l) {
				return t.Name, true
			}
		}
	}
	return "", false
}
