package handoff

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carebot/carebot/store"
	"golang.org/x/crypto/bcrypt"
)

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "carebot_session"

// CSRFHeader carries the session's CSRF token on cookie-authenticated
// writes. A cross-site form cannot set a header, so a request that has it
// came from the console's own script.
const CSRFHeader = "X-CSRF-Token"

// maxAuthBody caps request bodies: a login is a few dozen bytes.
const maxAuthBody = 64 << 10

// ConfigAccount is an account defined in the configuration file rather
// than the database. It takes precedence over a stored account of the same
// name and cannot be changed through the CLI or the API.
type ConfigAccount struct {
	Name         string
	Role         Role
	PasswordHash string // bcrypt
}

// AuthOptions configures NewAuth; zero values take the defaults.
type AuthOptions struct {
	// SessionTTL is how long a login lasts; 12 h (a shift) by default.
	// Sessions end at a fixed time, not after inactivity, so a stolen
	// cookie is useful for at most this long.
	SessionTTL time.Duration
	// CookieSecure marks the cookie Secure: set it when the console is
	// served over HTTPS (also behind a TLS-terminating proxy).
	CookieSecure bool
	// Accounts are the accounts from the configuration file.
	Accounts []ConfigAccount
	// MaxFailures is how many failed logins for one name, within
	// FailureWindow, lock that name for Lockout; 5 by default.
	MaxFailures int
	// MaxFailuresPerIP is the same limit for one client address; 20 by
	// default, higher than per name because colleagues behind one NAT
	// share an address.
	MaxFailuresPerIP int
	// FailureWindow is how long failures are remembered; 15 min by default.
	FailureWindow time.Duration
	// Lockout is how long a locked name or address is refused; 1 min by
	// default.
	Lockout time.Duration
	// Log receives failed logins and lockouts; slog.Default() when nil.
	Log *slog.Logger
}

// Auth authenticates HTTP requests by Bearer token or session cookie and
// manages the accounts, tokens and sessions behind them.
type Auth struct {
	st       *store.Store
	now      func() time.Time
	opts     AuthOptions
	log      *slog.Logger
	config   map[string]configEntry
	throttle *loginThrottle

	dummyOnce sync.Once
	dummyHash []byte
}

type configEntry struct {
	acct Account
	hash []byte
}

// NewAuth returns an Auth over st. Configuration accounts with an unknown
// role are ignored (configs.Console.Validate reports them at start).
func NewAuth(st *store.Store, now func() time.Time, opts AuthOptions) *Auth {
	if now == nil {
		now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.MaxFailuresPerIP <= 0 {
		opts.MaxFailuresPerIP = 20
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 15 * time.Minute
	}
	if opts.Lockout <= 0 {
		opts.Lockout = time.Minute
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	a := &Auth{st: st, now: now, opts: opts, log: log, config: map[string]configEntry{}, throttle: newLoginThrottle()}
	for _, c := range opts.Accounts {
		if c.Role.rank() == 0 || ValidateName(c.Name) != nil {
			log.Warn("ignoring invalid console account from the configuration", "name", c.Name, "role", c.Role)
			continue
		}
		a.config[c.Name] = configEntry{acct: Account{Name: c.Name, Role: c.Role, Config: true}, hash: []byte(c.PasswordHash)}
	}
	return a
}

// lookup finds an account and its hash; configuration accounts win.
func (a *Auth) lookup(tx store.Tx, name string) (Account, []byte, bool, error) {
	if c, ok := a.config[name]; ok {
		return c.acct, c.hash, true, nil
	}
	rec, ok, err := getRecord(tx, name)
	if err != nil || !ok {
		return Account{}, nil, false, err
	}
	return rec.account(), []byte(rec.Hash), true, nil
}

// sessionRecord is stored under the SHA-256 of the cookie's value.
type sessionRecord struct {
	Name    string    `json:"name"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Stamp fingerprints the password hash at login. A new password (also
	// a changed hash in the configuration file) no longer matches, which
	// ends the sessions opened with the old one.
	Stamp string `json:"stamp"`
}

// passwordStamp is a short fingerprint of a password hash; it reveals
// nothing a backup of the accounts bucket would not.
func passwordStamp(hash []byte) string {
	sum := sha256.Sum256(hash)
	return hex.EncodeToString(sum[:8])
}

// credential is who sent a request and, for a cookie, the session.
type credential struct {
	who     Account
	session *sessionRecord
}

// errNoCredential means 401; its text is shown to the client.
type errNoCredential string

func (e errNoCredential) Error() string { return string(e) }

// identify authenticates r. An Authorization header, when present, is the
// only credential looked at: a bad token is refused rather than silently
// falling back to a cookie.
func (a *Auth) identify(r *http.Request) (credential, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return credential{}, errNoCredential("Authorization must be 'Bearer TOKEN'")
		}
		return a.identifyToken(strings.TrimSpace(tok))
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return credential{}, errNoCredential("log in or send 'Authorization: Bearer TOKEN'")
	}
	return a.identifySession(c.Value)
}

// identifyToken finds the account of an API token.
func (a *Auth) identifyToken(tok string) (credential, error) {
	var cred credential
	err := a.st.View(func(tx store.Tx) error {
		name, ok, err := tokenOwner(tx, tok)
		if err != nil || !ok {
			return err
		}
		acct, _, ok, err := a.lookup(tx, name)
		if ok {
			cred.who = acct
		}
		return err
	})
	if err != nil {
		return credential{}, fmt.Errorf("check token: %w", err)
	}
	if cred.who.Name == "" {
		return credential{}, errNoCredential("invalid or revoked API token")
	}
	return cred, nil
}

// identifySession finds the session of a cookie value and its account,
// which must still exist with the password the session was opened with.
func (a *Auth) identifySession(sid string) (credential, error) {
	key := secretKey(sid)
	var cred credential
	var sess sessionRecord
	var found bool
	err := a.st.View(func(tx store.Tx) error {
		ok, err := store.GetJSON(tx, bucketSessions, key, &sess)
		if err != nil || !ok {
			return err
		}
		found = true
		acct, hash, ok, err := a.lookup(tx, sess.Name)
		if ok && subtle.ConstantTimeCompare([]byte(passwordStamp(hash)), []byte(sess.Stamp)) == 1 {
			cred.who = acct
		}
		return err
	})
	if err != nil {
		return credential{}, fmt.Errorf("check session: %w", err)
	}
	if found && !a.now().Before(sess.Expires) {
		// Expired: forget it now rather than wait for the next login's sweep.
		_ = a.st.Update(func(tx store.Tx) error { return tx.Delete(bucketSessions, key) })
		return credential{}, errNoCredential("session expired; log in again")
	}
	if !found || cred.who.Name == "" {
		return credential{}, errNoCredential("session ended; log in again")
	}
	cred.session = &sess
	return cred, nil
}

// csrfExempt reports whether a request cannot change state and so needs
// no CSRF token.
func csrfExempt(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Require wraps h so that it runs only for a request authenticated with a
// role of at least min: 401 without valid credentials, 403 with too low a
// role, and 403 for a cookie-authenticated write without the session's
// X-CSRF-Token header. Bearer requests need no CSRF token: a browser never
// adds an Authorization header on its own.
func (a *Auth) Require(min Role, h func(w http.ResponseWriter, r *http.Request, who Account)) http.HandlerFunc {
	return a.require(min, func(w http.ResponseWriter, r *http.Request, c credential) { h(w, r, c.who) })
}

func (a *Auth) require(min Role, h func(w http.ResponseWriter, r *http.Request, c credential)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, err := a.identify(r)
		var nc errNoCredential
		if errors.As(err, &nc) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebot"`)
			authError(w, http.StatusUnauthorized, nc.Error())
			return
		}
		if err != nil {
			a.log.Error("authentication failed", "err", err)
			authError(w, http.StatusInternalServerError, "cannot check credentials")
			return
		}
		if cred.session != nil && !csrfExempt(r.Method) &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(cred.session.CSRF)) != 1 {
			authError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header (GET /api/v1/auth/me returns it)")
			return
		}
		if !cred.who.Role.AtLeast(min) {
			authError(w, http.StatusForbidden, fmt.Sprintf("this needs the %s role; %s is %s", min, cred.who.Name, cred.who.Role))
			return
		}
		h(w, r, cred)
	}
}

// Routes registers the login API:
//
//	POST /api/v1/auth/login   {"name","password"} → session cookie and {"name","role","csrf","expires"}
//	POST /api/v1/auth/logout  ends the session (needs X-CSRF-Token)
//	GET  /api/v1/auth/me      {"name","role","csrf","expires"} of the caller
func (a *Auth) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/auth/login", a.handleLogin)
	mux.HandleFunc("POST /api/v1/auth/logout", a.require(RoleAgent, a.handleLogout))
	mux.HandleFunc("GET /api/v1/auth/me", a.require(RoleAgent, a.handleMe))
}

// meResponse describes the caller; CSRF and Expires are empty for tokens.
type meResponse struct {
	Name    string     `json:"name"`
	Role    Role       `json:"role"`
	CSRF    string     `json:"csrf,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func (a *Auth) handleMe(w http.ResponseWriter, _ *http.Request, c credential) {
	out := meResponse{Name: c.who.Name, Role: c.who.Role}
	if c.session != nil {
		out.CSRF, out.Expires = c.session.CSRF, &c.session.Expires
	}
	authJSON(w, http.StatusOK, out)
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (a *Auth) handleLogin(w http.ResponseWriter, r *http.Request) {
	// Only a JSON body is accepted: a cross-site HTML form cannot send one
	// without a CORS preflight, which closes login CSRF.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		authError(w, http.StatusUnsupportedMediaType, "send the login as Content-Type: application/json")
		return
	}
	var req loginRequest
	if !decodeAuthBody(w, r, &req) {
		return
	}
	if req.Name == "" || req.Password == "" {
		authError(w, http.StatusBadRequest, `fields "name" and "password" are required`)
		return
	}
	ip := remoteIP(r)
	now := a.now()
	// Names that cannot exist are not counted per name: a spray of huge
	// made-up names must not fill the throttle's memory.
	nameKey := req.Name
	if ValidateName(req.Name) != nil {
		nameKey = ""
	}
	if wait := a.throttle.blocked(nameKey, ip, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		authError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins; try again in %d seconds", secs))
		return
	}
	acct, hash, ok, err := a.checkPassword(req.Name, req.Password)
	if err != nil {
		a.log.Error("login failed", "err", err)
		authError(w, http.StatusInternalServerError, "cannot check credentials")
		return
	}
	if !ok {
		a.loginFailed(w, nameKey, ip, now)
		return
	}
	a.throttle.succeed(nameKey)
	sid, sess, err := a.newSession(acct.Name, hash, now)
	if err != nil {
		a.log.Error("create session", "err", err)
		authError(w, http.StatusInternalServerError, "cannot create a session")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sid, Path: "/",
		Expires: sess.Expires, MaxAge: int(a.opts.SessionTTL / time.Second),
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode,
	})
	authJSON(w, http.StatusOK, meResponse{Name: acct.Name, Role: acct.Role, CSRF: sess.CSRF, Expires: &sess.Expires})
}

// loginFailed counts a failed login, logs it and answers 401. The same
// answer for a wrong password and an unknown name reveals no names.
func (a *Auth) loginFailed(w http.ResponseWriter, nameKey, ip string, now time.Time) {
	logged := nameKey
	if logged == "" {
		logged = "(not a valid name)"
	}
	if locked := a.throttle.fail(nameKey, ip, now, a.opts); locked {
		a.log.Warn("console login locked after repeated failures", "name", logged, "ip", ip, "for", a.opts.Lockout)
	} else {
		a.log.Warn("console login failed", "name", logged, "ip", ip)
	}
	authError(w, http.StatusUnauthorized, "wrong name or password")
}

// checkPassword verifies a login. An unknown name is checked against a
// dummy hash so that the answer takes as long as for a real account and
// does not reveal which names exist.
func (a *Auth) checkPassword(name, password string) (Account, []byte, bool, error) {
	var acct Account
	var hash []byte
	var found bool
	if err := a.st.View(func(tx store.Tx) error {
		var err error
		acct, hash, found, err = a.lookup(tx, name)
		hash = append([]byte(nil), hash...)
		return err
	}); err != nil {
		return Account{}, nil, false, err
	}
	if !found {
		a.dummyOnce.Do(func() {
			a.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("carebot-no-such-account"), bcryptCost)
		})
		hash = a.dummyHash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	return acct, hash, ok && found, nil
}

// newSession stores a session for name and sweeps expired ones, which
// keeps the bucket small without a background job.
func (a *Auth) newSession(name string, hash []byte, now time.Time) (string, sessionRecord, error) {
	sid, err := randomSecret()
	if err != nil {
		return "", sessionRecord{}, err
	}
	csrf, err := randomSecret()
	if err != nil {
		return "", sessionRecord{}, err
	}
	sess := sessionRecord{Name: name, CSRF: csrf, Created: now.UTC(), Expires: now.Add(a.opts.SessionTTL).UTC(), Stamp: passwordStamp(hash)}
	err = a.st.Update(func(tx store.Tx) error {
		if _, err := sweepSessions(tx, func(s sessionRecord) bool { return !now.Before(s.Expires) }); err != nil {
			return err
		}
		return store.PutJSON(tx, bucketSessions, secretKey(sid), sess)
	})
	if err != nil {
		return "", sessionRecord{}, fmt.Errorf("store session: %w", err)
	}
	return sid, sess, nil
}

// ExpireSessions deletes expired sessions and returns how many; logins
// already sweep, this is for a periodic janitor.
func (a *Auth) ExpireSessions() (int, error) {
	now := a.now()
	var n int
	err := a.st.Update(func(tx store.Tx) error {
		var err error
		n, err = sweepSessions(tx, func(s sessionRecord) bool { return !now.Before(s.Expires) })
		return err
	})
	return n, err
}

// sweepSessions deletes the sessions drop selects, and undecodable ones.
func sweepSessions(tx store.Tx, drop func(sessionRecord) bool) (int, error) {
	var keys [][]byte
	err := tx.Scan(bucketSessions, nil, func(k, v []byte) error {
		var s sessionRecord
		if err := store.DecodeJSON(v, &s); err != nil || drop(s) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep sessions: %w", err)
	}
	for _, k := range keys {
		if err := tx.Delete(bucketSessions, k); err != nil {
			return 0, fmt.Errorf("sweep sessions: %w", err)
		}
	}
	return len(keys), nil
}

func deleteSessionsOf(tx store.Tx, name string) (int, error) {
	return sweepSessions(tx, func(s sessionRecord) bool { return s.Name == name })
}

func (a *Auth) handleLogout(w http.ResponseWriter, r *http.Request, c credential) {
	if c.session == nil {
		authError(w, http.StatusBadRequest, "logout ends a browser session; revoke API tokens with 'carebot agent token NAME --revoke'")
		return
	}
	cookie, _ := r.Cookie(SessionCookie)
	if err := a.st.Update(func(tx store.Tx) error { return tx.Delete(bucketSessions, secretKey(cookie.Value)) }); err != nil {
		a.log.Error("logout", "err", err)
		authError(w, http.StatusInternalServerError, "cannot end the session")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode,
	})
	authJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// remoteIP is the connection's address. X-Forwarded-For is not trusted:
// any client can set it to dodge the per-address limit.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decodeAuthBody decodes a JSON body of at most 64 KiB into v, answering
// 413 or 400 itself when it cannot.
func decodeAuthBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAuthBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			authError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxAuthBody))
		} else {
			authError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		}
		return false
	}
	return true
}

func authJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func authError(w http.ResponseWriter, status int, msg string) {
	authJSON(w, status, map[string]string{"error": msg})
}

// loginThrottle counts failed logins per name and per client address in
// memory. Losing the counts on restart is acceptable: a restart takes
// longer than a lockout.
type loginThrottle struct {
	mu        sync.Mutex
	entries   map[string]*loginFailures
	pruneAt   int
	pruneSize int
}

type loginFailures struct {
	count int
	since time.Time // first failure counted
	until time.Time // locked until
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{entries: map[string]*loginFailures{}, pruneAt: 4096, pruneSize: 4096}
}

// loginThrottleKeys are the throttle's keys for a name ("" for none) and an address.
func loginThrottleKeys(name, ip string) []string {
	keys := []string{"i:" + ip}
	if name != "" {
		keys = append(keys, "n:"+name)
	}
	return keys
}

// blocked returns how long name or ip stays locked, or 0.
func (t *loginThrottle) blocked(name, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range loginThrottleKeys(name, ip) {
		if f := t.entries[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// fail records a failure for name and ip and reports whether it locked
// either of them.
func (t *loginThrottle) fail(name, ip string, now time.Time, o AuthOptions) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(now, o.FailureWindow)
	locked := false
	for _, k := range loginThrottleKeys(name, ip) {
		limit := o.MaxFailuresPerIP
		if strings.HasPrefix(k, "n:") {
			limit = o.MaxFailures
		}
		f := t.entries[k]
		if f == nil || now.Sub(f.since) > o.FailureWindow {
			f = &loginFailures{since: now}
			t.entries[k] = f
		}
		f.count++
		if f.count >= limit {
			f.count, f.since, f.until = 0, now, now.Add(o.Lockout)
			locked = true
		}
	}
	return locked
}

// succeed forgets the failures of name. The address keeps its count, so
// an attacker with one valid account cannot reset the per-address limit.
func (t *loginThrottle) succeed(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, "n:"+name)
}

// prune drops stale entries once the map has grown, bounding memory
// under a spray of names or addresses.
func (t *loginThrottle) prune(now time.Time, window time.Duration) {
	if len(t.entries) < t.pruneAt {
		return
	}
	for k, f := range t.entries {
		if now.Sub(f.since) > window && !now.Before(f.until) {
			delete(t.entries, k)
		}
	}
	t.pruneAt = max(t.pruneSize, 2*len(t.entries))
}

// secure reports whether the session cookie must be Secure: always with
// console.cookie_secure, and whenever the request came over TLS, directly
// or through a proxy that says so (X-Forwarded-Proto). A forged header can
// only make the cookie stricter.
func (a *Auth) secure(r *http.Request) bool {
	return a.opts.CookieSecure || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
