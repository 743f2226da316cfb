package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/carebot/carebot/cron"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/store"
)

// careRoutes registers the scheduler and care report API:
//
//	GET  /api/v1/admin/cron               the jobs, specs, last and next runs (admin)
//	POST /api/v1/admin/cron/{job}/run     {"at": RFC 3339, "dry_run": bool} → the result and the planned messages (admin)
//	GET  /api/v1/reports/weekly?limit=N   the stored weekly reports, newest first (supervisors up)
//	GET  /api/v1/surveys/nps/{period}     NPS of a quarter such as 2026Q4 (supervisors up)
//	GET  /api/v1/surveys/csat?from=&to=   CSAT of the ratings given in [from, to) (supervisors up)
func (a *App) careRoutes(mux *http.ServeMux) {
	admin := a.loyaltyAuth(handoff.RoleAdmin)
	sup := a.loyaltyAuth(handoff.RoleSupervisor)
	mux.HandleFunc("GET /api/v1/admin/cron", admin(a.handleCronList))
	mux.HandleFunc("POST /api/v1/admin/cron/{job}/run", admin(a.handleCronRun))
	mux.HandleFunc("GET /api/v1/reports/weekly", sup(a.handleWeeklyReports))
	mux.HandleFunc("GET /api/v1/surveys/nps/{period}", sup(a.handleNPS))
	mux.HandleFunc("GET /api/v1/surveys/csat", sup(a.handleCSAT))
}

func (a *App) handleCronList(w http.ResponseWriter, _ *http.Request, _ handoff.Account) {
	list, err := a.cron.List()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"zone": a.cron.Location().String(), "jobs": list})
}

// CronRunRequest is the body of POST /api/v1/admin/cron/{job}/run.
type CronRunRequest struct {
	// At is the time the run is for (RFC 3339); empty is now.
	At     string `json:"at"`
	DryRun bool   `json:"dry_run"`
}

// CronRunResponse is the answer of a manual run.
type CronRunResponse struct {
	Job    string         `json:"job"`
	At     time.Time      `json:"at"`
	DryRun bool           `json:"dry_run"`
	Result cron.Result    `json:"result"`
	Plan   []cron.Planned `json:"plan"`
	// Truncated is true when the plan had more than maxPlan lines.
	Truncated bool `json:"truncated,omitempty"`
}

// maxPlan bounds the plan returned over HTTP; the counts stay exact.
const maxPlan = 10000

func (a *App) handleCronRun(w http.ResponseWriter, r *http.Request, who handoff.Account) {
	var req CronRunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	name := r.PathValue("job")
	at := time.Time{}
	if req.At != "" {
		t, err := time.Parse(time.RFC3339, req.At)
		if err != nil {
			writeError(w, http.StatusBadRequest, `field "at" must be an RFC 3339 time such as 2026-12-01T09:00:00+08:00`)
			return
		}
		at = t
	}
	res, err := a.RunJob(r.Context(), name, at, req.DryRun, maxPlan)
	switch {
	case errors.Is(err, cron.ErrUnknownJob):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("cron job run by hand", "job", name, "by", who.Name, "at", res.At, "dry_run", req.DryRun, "queued", res.Result.Queued)
	writeJSONStatus(w, http.StatusOK, res)
}

// RunJob runs a scheduled job by hand as if at (zero: now), keeping at
// most maxPlan lines of its plan.
func (a *App) RunJob(ctx context.Context, name string, at time.Time, dry bool, maxPlan int) (CronRunResponse, error) {
	if at.IsZero() {
		at = a.now()
	}
	out := CronRunResponse{Job: name, At: at.In(a.cron.Location()), DryRun: dry, Plan: []cron.Planned{}}
	run := cron.Run{At: out.At, DryRun: dry, Plan: func(p cron.Planned) {
		if len(out.Plan) < maxPlan {
			out.Plan = append(out.Plan, p)
		} else {
			out.Truncated = true
		}
	}}
	var err error
	out.Result, err = a.cron.RunWith(ctx, name, run)
	return out, err
}

func (a *App) handleWeeklyReports(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 520 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 520")
			return
		}
		limit = n
	}
	reps, err := a.WeeklyReports(limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if reps == nil {
		reps = []WeeklyReport{}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"reports": reps})
}

var quarterRe = regexp.MustCompile(`^[0-9]{4}Q[1-4]$`)

func (a *App) handleNPS(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	period := r.PathValue("period")
	if !quarterRe.MatchString(period) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("period %q is not a quarter such as 2026Q4", period))
		return
	}
	var n outreach.NPS
	err := a.store.View(func(tx store.Tx) error {
		var err error
		n, err = outreach.NPSOf(tx, period)
		return err
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, n)
}

func (a *App) handleCSAT(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	q := r.URL.Query()
	// By default the last 7 days, up to and including this second.
	to := a.now().Truncate(time.Second).Add(time.Second)
	from := to.AddDate(0, 0, -7)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, f.name+" must be an RFC 3339 time such as 2026-11-16T00:00:00+08:00")
				return
			}
			*f.dst = t
		}
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, "from must be before to")
		return
	}
	var c outreach.CSAT
	err := a.store.View(func(tx store.Tx) error {
		var err error
		c, err = outreach.CSATBetween(tx, from, to)
		return err
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSONStatus(w, http.StatusOK, c)
}
