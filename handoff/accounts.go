package handoff

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carebot/carebot/store"
	"golang.org/x/crypto/bcrypt"
)

// Buckets of the console's accounts. Token and session records are keyed
// by the SHA-256 of the secret, so a copy of the database (a backup) holds
// no usable credential.
var (
	bucketAccounts = store.RegisterBucket("handoff", "handoff_accounts")
	bucketTokens   = store.RegisterBucket("handoff", "handoff_tokens")
	bucketSessions = store.RegisterBucket("handoff", "handoff_sessions")
)

// bcryptCost is the work factor of new password hashes. Tests lower it so
// the suite stays fast; production keeps bcrypt's default (10).
var bcryptCost = bcrypt.DefaultCost

// Sentinel errors that callers (the HTTP layer, the CLI) branch on.
var (
	// ErrAccountExists: AddAccount with a name that is taken.
	ErrAccountExists = errors.New("account already exists")
	// ErrNoAccount: the named account does not exist.
	ErrNoAccount = errors.New("no such account")
	// ErrConfigAccount: the account is defined in the configuration file,
	// which the CLI and the API cannot change.
	ErrConfigAccount = errors.New("account is defined in the configuration (console.accounts); change it there")
	// ErrInvalidAccount: a bad name, role or password.
	ErrInvalidAccount = errors.New("invalid account")
)

// Role is what an account may do in the console. Roles are ordered: an
// admin can do everything a manager can, a manager everything a
// supervisor can, a supervisor everything an agent can.
type Role string

// The roles, from least to most privileged.
const (
	// RoleAgent works the agent queue: claims, replies, resolves.
	RoleAgent Role = "agent"
	// RoleSupervisor also sees every queue and takes escalations.
	RoleSupervisor Role = "supervisor"
	// RoleManager (a community manager) also runs the programme: the
	// dashboard, the knowledge base, the rewards catalogue and campaigns,
	// broadcasts and member profiles.
	RoleManager Role = "manager"
	// RoleAdmin also manages accounts and settings.
	RoleAdmin Role = "admin"
)

// rank orders the roles; an unknown role ranks 0 and so passes no check.
func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleManager:
		return 3
	case RoleAdmin:
		return 4
	}
	return 0
}

// AtLeast reports whether r has min's rights or more. An unknown role has
// none, so a corrupt record can never grant access.
func (r Role) AtLeast(min Role) bool {
	return r.rank() > 0 && min.rank() > 0 && r.rank() >= min.rank()
}

// ParseRole parses "agent", "supervisor", "manager" or "admin".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("%w: role %q is not one of agent, supervisor, manager, admin", ErrInvalidAccount, s)
	}
	return r, nil
}

// Account is a console user as the API shows it. The password hash is kept
// in a separate record type so it can never be serialised to a client.
type Account struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
	// Updated is when the password or role last changed.
	Updated time.Time `json:"updated"`
	// Config is true for accounts defined in the configuration file.
	Config bool `json:"config,omitempty"`
}

// accountRecord is the stored form of an Account.
type accountRecord struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

func (r accountRecord) account() Account {
	return Account{Name: r.Name, Role: r.Role, Created: r.Created, Updated: r.Updated}
}

// tokenRecord is stored under the SHA-256 of an API token.
type tokenRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// MaxNameLen and the password bounds are the account rules; bcrypt reads
// only the first 72 bytes of a password, so a longer one is refused
// rather than silently truncated.
const (
	MaxNameLen        = 64
	MinPasswordLen    = 8
	MaxPasswordLength = 72
)

// ValidateName checks an account name: 1 to 64 characters, each a letter,
// a digit, '.', '_' or '-', starting with a letter or digit. Names appear
// in URLs, logs, ticket records and command lines, so spaces, punctuation
// and a leading '-' (read as a flag) are kept out.
func ValidateName(name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxNameLen {
		return fmt.Errorf("%w: name must be 1 to %d characters, got %d", ErrInvalidAccount, MaxNameLen, n)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalidAccount)
	}
	if strings.EqualFold(name, "admin-token") {
		// Audit records name the server's admin token so; an account of the
		// same name would make them ambiguous.
		return fmt.Errorf("%w: the name %q is reserved", ErrInvalidAccount, name)
	}
	for i, c := range name {
		alnum := unicode.IsLetter(c) || unicode.IsDigit(c)
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w: name %q may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit", ErrInvalidAccount, name)
		}
	}
	return nil
}

// ValidatePassword checks a new password's length (8 to 72 bytes).
func ValidatePassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return fmt.Errorf("%w: password must be at least %d characters", ErrInvalidAccount, MinPasswordLen)
	}
	if len(password) > MaxPasswordLength {
		return fmt.Errorf("%w: password must be at most %d bytes (bcrypt ignores the rest)", ErrInvalidAccount, MaxPasswordLength)
	}
	return nil
}

// HashPassword validates password and returns its bcrypt hash, the form
// console.accounts[].password_hash takes.
func HashPassword(password string) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// AddAccount creates an account with a bcrypt hash of password. A taken
// name is ErrAccountExists; use SetPassword to reset one.
func AddAccount(tx store.Tx, name string, role Role, password string, now time.Time) (Account, error) {
	if err := checkAccountFields(name, role); err != nil {
		return Account{}, err
	}
	if tx.Get(bucketAccounts, []byte(name)) != nil {
		return Account{}, fmt.Errorf("add account %q: %w (to set a new password, use --reset)", name, ErrAccountExists)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	rec := accountRecord{Name: name, Role: role, Hash: hash, Created: now.UTC(), Updated: now.UTC()}
	if err := store.PutJSON(tx, bucketAccounts, []byte(name), rec); err != nil {
		return Account{}, fmt.Errorf("add account %q: %w", name, err)
	}
	return rec.account(), nil
}

// SetPassword gives an existing account a new password and role and ends
// its sessions, so whoever knew the old password is logged out. API tokens
// stay valid; RevokeTokens ends them.
func SetPassword(tx store.Tx, name string, role Role, password string, now time.Time) (Account, error) {
	if err := checkAccountFields(name, role); err != nil {
		return Account{}, err
	}
	rec, ok, err := getRecord(tx, name)
	if err != nil {
		return Account{}, err
	}
	if !ok {
		return Account{}, fmt.Errorf("reset account %q: %w", name, ErrNoAccount)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	rec.Role, rec.Hash, rec.Updated = role, hash, now.UTC()
	if err := store.PutJSON(tx, bucketAccounts, []byte(name), rec); err != nil {
		return Account{}, fmt.Errorf("reset account %q: %w", name, err)
	}
	if _, err := deleteSessionsOf(tx, name); err != nil {
		return Account{}, err
	}
	return rec.account(), nil
}

func checkAccountFields(name string, role Role) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if role.rank() == 0 {
		return fmt.Errorf("%w: role %q is not one of agent, supervisor, manager, admin", ErrInvalidAccount, role)
	}
	return nil
}

// DeleteAccount removes an account with its API tokens and sessions, so
// access ends at once.
func DeleteAccount(tx store.Tx, name string) error {
	if tx.Get(bucketAccounts, []byte(name)) == nil {
		return fmt.Errorf("remove account %q: %w", name, ErrNoAccount)
	}
	if err := tx.Delete(bucketAccounts, []byte(name)); err != nil {
		return fmt.Errorf("remove account %q: %w", name, err)
	}
	if _, err := RevokeTokens(tx, name); err != nil {
		return err
	}
	_, err := deleteSessionsOf(tx, name)
	return err
}

func getRecord(tx store.Tx, name string) (accountRecord, bool, error) {
	var rec accountRecord
	ok, err := store.GetJSON(tx, bucketAccounts, []byte(name), &rec)
	if err != nil {
		return accountRecord{}, false, fmt.Errorf("read account %q: %w", name, err)
	}
	return rec, ok, nil
}

// GetAccount returns the stored account called name.
func GetAccount(tx store.Tx, name string) (Account, bool, error) {
	rec, ok, err := getRecord(tx, name)
	if err != nil || !ok {
		return Account{}, ok, err
	}
	return rec.account(), true, nil
}

// ListAccounts returns the stored accounts sorted by name.
func ListAccounts(tx store.Tx) ([]Account, error) {
	var out []Account
	err := tx.Scan(bucketAccounts, nil, func(k, v []byte) error {
		var rec accountRecord
		if err := store.DecodeJSON(v, &rec); err != nil {
			return fmt.Errorf("account %q: %w", k, err)
		}
		out = append(out, rec.account())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// TokenPrefix starts every API token, so a leaked one is recognisable in
// logs and by secret scanners.
const TokenPrefix = "cbt_"

// NewToken issues an API token for the stored account name and returns it.
// Only its SHA-256 is stored: the token is shown once.
func NewToken(tx store.Tx, name string, now time.Time) (string, error) {
	if tx.Get(bucketAccounts, []byte(name)) == nil {
		return "", fmt.Errorf("new token for %q: %w", name, ErrNoAccount)
	}
	return putToken(tx, name, now)
}

// putToken stores a new token for name without checking the account, for
// accounts defined in the configuration.
func putToken(tx store.Tx, name string, now time.Time) (string, error) {
	secret, err := randomSecret()
	if err != nil {
		return "", err
	}
	tok := TokenPrefix + secret
	if err := store.PutJSON(tx, bucketTokens, secretKey(tok), tokenRecord{Name: name, Created: now.UTC()}); err != nil {
		return "", fmt.Errorf("new token for %q: %w", name, err)
	}
	return tok, nil
}

// tokenOwner returns the account name a token belongs to.
func tokenOwner(tx store.Tx, tok string) (string, bool, error) {
	if !strings.HasPrefix(tok, TokenPrefix) {
		return "", false, nil
	}
	var rec tokenRecord
	ok, err := store.GetJSON(tx, bucketTokens, secretKey(tok), &rec)
	if err != nil {
		return "", false, fmt.Errorf("read token: %w", err)
	}
	return rec.Name, ok, nil
}

// RevokeTokens deletes every API token of name and returns how many there
// were.
func RevokeTokens(tx store.Tx, name string) (int, error) {
	var keys [][]byte
	err := tx.Scan(bucketTokens, nil, func(k, v []byte) error {
		var rec tokenRecord
		if err := store.DecodeJSON(v, &rec); err == nil && rec.Name != name {
			return nil
		}
		// Undecodable records are dropped too: they can never authenticate.
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("revoke tokens of %q: %w", name, err)
	}
	for _, k := range keys {
		if err := tx.Delete(bucketTokens, k); err != nil {
			return 0, fmt.Errorf("revoke tokens of %q: %w", name, err)
		}
	}
	return len(keys), nil
}

// randomSecret returns 32 random bytes in unpadded base64url.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretKey is the storage key of a token or session id. A plain SHA-256
// suffices: the secrets are 256 random bits, not guessable passwords.
func secretKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// AddAccount creates a stored account, or with reset gives an existing one
// a new password and role (ending its sessions).
func (a *Auth) AddAccount(name string, role Role, password string, reset bool) (Account, error) {
	if _, ok := a.config[name]; ok {
		return Account{}, fmt.Errorf("account %q: %w", name, ErrConfigAccount)
	}
	var acct Account
	err := a.st.Update(func(tx store.Tx) error {
		var err error
		if reset {
			acct, err = SetPassword(tx, name, role, password, a.now())
		} else {
			acct, err = AddAccount(tx, name, role, password, a.now())
		}
		return err
	})
	return acct, err
}

// RemoveAccount deletes a stored account with its tokens and sessions.
func (a *Auth) RemoveAccount(name string) error {
	if _, ok := a.config[name]; ok {
		return fmt.Errorf("account %q: %w", name, ErrConfigAccount)
	}
	return a.st.Update(func(tx store.Tx) error { return DeleteAccount(tx, name) })
}

// NewToken issues an API token for name, stored or from the configuration.
func (a *Auth) NewToken(name string) (string, error) {
	var tok string
	err := a.st.Update(func(tx store.Tx) error {
		var err error
		if _, ok := a.config[name]; ok {
			tok, err = putToken(tx, name, a.now())
		} else {
			tok, err = NewToken(tx, name, a.now())
		}
		return err
	})
	return tok, err
}

// RevokeTokens deletes every API token of name and returns how many.
func (a *Auth) RevokeTokens(name string) (int, error) {
	var n int
	err := a.st.Update(func(tx store.Tx) error {
		var err error
		if n, err = RevokeTokens(tx, name); err != nil {
			return err
		}
		if _, _, ok, err := a.lookup(tx, name); err != nil {
			return err
		} else if !ok && n == 0 {
			return fmt.Errorf("revoke tokens of %q: %w", name, ErrNoAccount)
		}
		return nil
	})
	return n, err
}

// Accounts lists every account, from the configuration and the database,
// sorted by name; a configuration account hides a stored one of its name.
func (a *Auth) Accounts() ([]Account, error) {
	var stored []Account
	if err := a.st.View(func(tx store.Tx) error {
		var err error
		stored, err = ListAccounts(tx)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(stored)+len(a.config))
	for _, acct := range stored {
		if _, ok := a.config[acct.Name]; !ok {
			out = append(out, acct)
		}
	}
	for _, c := range a.config {
		out = append(out, c.acct)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
