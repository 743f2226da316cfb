package configs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Console configures the agent console's logins. Accounts are normally
// created with 'carebot agent add' and kept in the database; Accounts
// here are for deployments that keep everything in files (and for a first
// admin). See docs/agents.md.
type Console struct {
	// SessionTTL is how long a console login lasts before the agent must
	// log in again; a shift (12h) by default.
	SessionTTL Duration `yaml:"session_ttl"`
	// CookieSecure marks the session cookie Secure, so browsers send it
	// only over HTTPS. Turn it on whenever the console is reached over
	// HTTPS, including behind a TLS-terminating proxy.
	CookieSecure bool `yaml:"cookie_secure"`
	// Accounts defined in configuration. They take precedence over an
	// account of the same name in the database and cannot be changed with
	// the CLI or the API.
	Accounts []ConsoleAccount `yaml:"accounts"`
}

// ConsoleAccount is one account defined in configuration.
type ConsoleAccount struct {
	// Name is the login name: 1 to 64 letters, digits, '.', '_' or '-',
	// starting with a letter or digit.
	Name string `yaml:"name"`
	// Role is agent, supervisor, manager or admin.
	Role string `yaml:"role"`
	// PasswordHash is the bcrypt hash of the password, as printed by
	// 'carebot agent hash'; never the password itself.
	PasswordHash string `yaml:"password_hash" secret:"true"`
}

// consoleRoles are the roles handoff knows (configs imports no domain
// package, so the list is repeated here).
var consoleRoles = []string{"agent", "supervisor", "manager", "admin"}

// maxSessionTTL bounds session_ttl: a session that never ends is a stolen
// cookie that never stops working.
const maxSessionTTL = 30 * 24 * time.Hour

// Validate checks the console settings, naming each bad key.
func (c Console) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.SessionTTL <= 0 {
		bad("console.session_ttl", "must be a positive duration such as 12h")
	} else if c.SessionTTL.D() > maxSessionTTL {
		bad("console.session_ttl", "must be at most %s, got %s", maxSessionTTL, c.SessionTTL.D())
	}
	seen := map[string]int{}
	for i, a := range c.Accounts {
		key := fmt.Sprintf("console.accounts[%d]", i)
		if err := checkAccountName(a.Name); err != nil {
			bad(key+".name", "%v", err)
		} else if j, dup := seen[a.Name]; dup {
			bad(key+".name", "%q is already console.accounts[%d]", a.Name, j)
		} else {
			seen[a.Name] = i
		}
		if !slices.Contains(consoleRoles, a.Role) {
			bad(key+".role", "%q is not one of %s", a.Role, strings.Join(consoleRoles, ", "))
		}
		if !looksLikeBcrypt(a.PasswordHash) {
			bad(key+".password_hash", "want a bcrypt hash ($2a$10$… or $2b$…, 60 characters) as printed by 'carebot agent hash', not a password")
		}
	}
	return errors.Join(errs...)
}

// checkAccountName repeats handoff's rule for account names.
func checkAccountName(name string) error {
	if n := utf8.RuneCountInString(name); n == 0 || n > 64 {
		return fmt.Errorf("must be 1 to 64 characters, got %d", n)
	}
	for i, r := range name {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !alnum && (i == 0 || r != '.' && r != '_' && r != '-') {
			return fmt.Errorf("%q may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit", name)
		}
	}
	return nil
}

// looksLikeBcrypt checks the modular crypt format bcrypt writes:
// $2a$ (or $2b$, $2y$), a two-digit cost from 04 to 31, '$', and 53
// characters of bcrypt's base64 (22 of salt, 31 of hash).
func looksLikeBcrypt(h string) bool {
	if len(h) != 60 || h[0] != '$' || h[1] != '2' || !strings.ContainsRune("aby", rune(h[2])) || h[3] != '$' || h[6] != '$' {
		return false
	}
	if h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' {
		return false
	}
	if cost := int(h[4]-'0')*10 + int(h[5]-'0'); cost < 4 || cost > 31 {
		return false
	}
	for _, r := range h[7:] {
		if !(r == '.' || r == '/' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
