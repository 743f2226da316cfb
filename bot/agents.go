package bot

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/store"
)

// newAuth builds the console's authentication from the configuration.
func newAuth(cfg *configs.Config, st *store.Store, now func() time.Time, log *slog.Logger) *handoff.Auth {
	accounts := make([]handoff.ConfigAccount, 0, len(cfg.Console.Accounts))
	for _, c := range cfg.Console.Accounts {
		// configs.Console.Validate has checked the role; a bad one is
		// dropped by NewAuth.
		role, _ := handoff.ParseRole(c.Role)
		accounts = append(accounts, handoff.ConfigAccount{Name: c.Name, Role: role, PasswordHash: c.PasswordHash})
	}
	return handoff.NewAuth(st, now, handoff.AuthOptions{
		SessionTTL:   cfg.Console.SessionTTL.D(),
		CookieSecure: cfg.Console.CookieSecure,
		Accounts:     accounts,
		Log:          log,
	})
}

// Auth returns the console's authentication: accounts, tokens, sessions.
func (a *App) Auth() *handoff.Auth { return a.auth }

// agentRoutes registers the console login API and the account admin API
// that 'carebot agent' uses while the server holds the database:
//
//	POST   /api/v1/auth/login                   {"name","password"} → session cookie
//	POST   /api/v1/auth/logout                  end the session
//	GET    /api/v1/auth/me                      the caller's name, role and CSRF token
//	GET    /api/v1/admin/agents                 {"agents":[…]}
//	POST   /api/v1/admin/agents                 {"name","role","password","reset"} → the account
//	DELETE /api/v1/admin/agents/{name}          remove an account
//	POST   /api/v1/admin/agents/{name}/tokens   → {"token"}
//	DELETE /api/v1/admin/agents/{name}/tokens   revoke all → {"revoked":N}
//
// The admin routes take the server's admin token or an admin account.
func (a *App) agentRoutes(mux *http.ServeMux) {
	a.auth.Routes(mux)
	mux.HandleFunc("GET /api/v1/admin/agents", a.requireAccountAdmin(a.handleListAgents))
	mux.HandleFunc("POST /api/v1/admin/agents", a.requireAccountAdmin(a.handleAddAgent))
	mux.HandleFunc("DELETE /api/v1/admin/agents/{name}", a.requireAccountAdmin(a.handleRemoveAgent))
	mux.HandleFunc("POST /api/v1/admin/agents/{name}/tokens", a.requireAccountAdmin(a.handleNewToken))
	mux.HandleFunc("DELETE /api/v1/admin/agents/{name}/tokens", a.requireAccountAdmin(a.handleRevokeTokens))
}

// requireAccountAdmin admits the server's admin token (the CLI's way in)
// or, through the console's authentication, an account with the admin
// role (including its CSRF check for a browser session).
func (a *App) requireAccountAdmin(next http.HandlerFunc) http.HandlerFunc {
	viaAccount := a.auth.Require(handoff.RoleAdmin, func(w http.ResponseWriter, r *http.Request, _ handoff.Account) { next(w, r) })
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(tok), []byte(a.admin)) == 1 {
			next(w, r)
			return
		}
		viaAccount(w, r)
	}
}

func (a *App) handleListAgents(w http.ResponseWriter, _ *http.Request) {
	list, err := a.auth.Accounts()
	if err != nil {
		a.agentError(w, err)
		return
	}
	if list == nil {
		list = []handoff.Account{}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"agents": list})
}

type addAgentRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
	// Reset gives an existing account a new password and role.
	Reset bool `json:"reset"`
}

func (a *App) handleAddAgent(w http.ResponseWriter, r *http.Request) {
	var req addAgentRequest
	if !decodeBody(w, r, &req) {
		return
	}
	role, err := handoff.ParseRole(req.Role)
	if err != nil {
		a.agentError(w, err)
		return
	}
	acct, err := a.auth.AddAccount(req.Name, role, req.Password, req.Reset)
	if err != nil {
		a.agentError(w, err)
		return
	}
	status := http.StatusCreated
	if req.Reset {
		status = http.StatusOK
	}
	a.log.Info("console account saved", "account", acct.Name, "role", acct.Role, "reset", req.Reset)
	writeJSONStatus(w, status, acct)
}

func (a *App) handleRemoveAgent(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.auth.RemoveAccount(name); err != nil {
		a.agentError(w, err)
		return
	}
	a.log.Info("console account removed", "name", name)
	writeJSONStatus(w, http.StatusOK, map[string]string{"removed": name})
}

func (a *App) handleNewToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tok, err := a.auth.NewToken(name)
	if err != nil {
		a.agentError(w, err)
		return
	}
	a.log.Info("console API token issued", "name", name)
	w.Header().Set("Cache-Control", "no-store")
	writeJSONStatus(w, http.StatusCreated, map[string]string{"name": name, "token": tok})
}

func (a *App) handleRevokeTokens(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := a.auth.RevokeTokens(name)
	if err != nil {
		a.agentError(w, err)
		return
	}
	a.log.Info("console API tokens revoked", "name", name, "count", n)
	writeJSONStatus(w, http.StatusOK, map[string]any{"name": name, "revoked": n})
}

// agentError maps handoff's account errors to HTTP statuses.
func (a *App) agentError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, handoff.ErrInvalidAccount):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, handoff.ErrNoAccount):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, handoff.ErrAccountExists), errors.Is(err, handoff.ErrConfigAccount):
		writeError(w, http.StatusConflict, err.Error())
	default:
		a.log.Error("console accounts", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}
