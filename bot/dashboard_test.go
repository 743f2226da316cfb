package bot

import (
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/handoff"
)

// get fetches path with a bearer token and returns status, content type
// and body.
func (s *careServer) get(token, path string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestDashboardFiguresComeFromTheDay(t *testing.T) {
	s := startCareServer(t)
	manager := s.addAgent("mia", handoff.RoleManager)
	day := time.Date(2026, 11, 23, 11, 0, 0, 0, cst)
	s.clock.Set(day)
	s.say("session-dash-1", "退款多久能到账")    // answered
	s.say("session-dash-2", "量子纠缠的原理是什么") // not in the knowledge base
	s.say("session-dash-3", "质量太差了，我要投诉") // a moderate ticket
	tk := s.ticketOf("session-dash-3")
	s.clock.Add(12 * time.Minute)
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/claim", tk.ID), nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	s.clock.Add(48 * time.Minute)
	if code := s.api(s.agentTok, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]string{"cause": "质量问题"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	s.clock.Add(time.Hour)
	s.waitDelivered("session-dash-3", "打个分")
	s.press("session-dash-3", s.buttonPayload("session-dash-3", "csat:", ":4"))

	var sum DashboardSummary
	if code := s.api(manager, "GET", "/api/v1/dashboard/summary?from=2026-11-20&to=2026-11-23", nil, &sum); code != 200 {
		t.Fatalf("summary: %d", code)
	}
	if sum.Turns["answered"] < 1 || sum.Turns["unanswered"]+sum.Turns["clarify"] < 1 || sum.Turns["handoff"] != 1 {
		t.Fatalf("turns = %v", sum.Turns)
	}
	if sum.Tickets["moderate"] != 1 || sum.SLA["moderate"] != 100.0 || sum.CSAT != 100 || sum.CSATCount != 1 {
		t.Fatalf("tickets %v sla %v csat %v/%d", sum.Tickets, sum.SLA, sum.CSAT, sum.CSATCount)
	}
	// 12 minutes to claim, an hour to resolve: medians within the
	// histogram's 10%.
	if m, _ := sum.ClaimMin["moderate"].(float64); m < 10.8 || m > 13.2 {
		t.Fatalf("median minutes to claim = %v", sum.ClaimMin)
	}
	if m, _ := sum.ResolveMin["moderate"].(float64); m < 54 || m > 66 {
		t.Fatalf("median minutes to resolve = %v", sum.ResolveMin)
	}
	if sum.Messages["red"] < 1 || sum.Messages["green"] < 1 {
		t.Fatalf("messages by colour = %v", sum.Messages)
	}
	if len(sum.Unanswered) == 0 {
		t.Fatal("no unanswered questions in the summary")
	}
	// The day before holds nothing.
	var before DashboardSummary
	s.api(manager, "GET", "/api/v1/dashboard/summary?from=2026-11-20&to=2026-11-22", nil, &before)
	if len(before.Turns) != 0 || len(before.Tickets) != 0 {
		t.Fatalf("figures leaked to the day before: %+v", before)
	}

	for _, name := range sum.Charts {
		code, ctype, body := s.get(manager, "/api/v1/dashboard/charts/"+name+".svg?from=2026-11-17&to=2026-11-23")
		if code != 200 || !strings.HasPrefix(ctype, "image/svg+xml") {
			t.Fatalf("%s.svg: %d %s %s", name, code, ctype, body)
		}
		dec := xml.NewDecoder(strings.NewReader(body))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s.svg is not well-formed XML: %v", name, err)
			}
		}
		code, ctype, body = s.get(manager, "/api/v1/dashboard/charts/"+name+".csv?from=2026-11-17&to=2026-11-23")
		if code != 200 || !strings.HasPrefix(ctype, "text/csv") {
			t.Fatalf("%s.csv: %d %s", name, code, ctype)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 1 || strings.TrimPrefix(rows[0][0], "\ufeff") != "label" {
			t.Fatalf("%s.csv: %v %q", name, err, body)
		}
	}
	// The charts' CSVs have the day's numbers: tickets by tier, members by
	// tier (the test's customers are regular members).
	_, _, tiers := s.get(manager, "/api/v1/dashboard/charts/members-tier.csv")
	if !strings.Contains(tiers, "regular,3") {
		t.Fatalf("members-tier.csv = %q", tiers)
	}
	_, _, body := s.get(manager, "/api/v1/dashboard/charts/tickets.csv?from=2026-11-23&to=2026-11-23")
	if !strings.Contains(body, "11-23,0,1,0") {
		t.Fatalf("tickets.csv = %q", body)
	}
	for _, bad := range []string{"/api/v1/dashboard/charts/nope.svg", "/api/v1/dashboard/charts/faq.png"} {
		if code, _, _ := s.get(manager, bad); code != 404 {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}
	if code, _, _ := s.get(manager, "/api/v1/dashboard/summary?from=2026-11-23&to=2026-11-01"); code != 400 {
		t.Errorf("reversed range: %d, want 400", code)
	}
	if code, _, _ := s.get(s.supervisTok, "/api/v1/dashboard/summary"); code != 403 {
		t.Errorf("a supervisor read the dashboard: %d, want 403", code)
	}
}
