package bot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/knowledge"
)

func (s *server) admin(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.app.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

func TestUnansweredQuestionBecomesAnAnswer(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))
	q := "你们的包裹能寄到南极科考站吗"
	for i := 0; i < 2; i++ {
		if r := s.ask("session-unanswered", "", q, "zh-Hans"); strings.Contains(r[0].Text, "99 元") {
			t.Fatalf("out-of-domain question answered: %q", r[0].Text)
		}
	}
	status, body := s.admin(http.MethodGet, "/api/v1/admin/kb/unanswered?limit=5", nil)
	var list struct {
		Unanswered []knowledge.UnansweredStat `json:"unanswered"`
	}
	if status != 200 || json.Unmarshal(body, &list) != nil || len(list.Unanswered) != 1 {
		t.Fatalf("unanswered: %d %s", status, body)
	}
	u := list.Unanswered[0]
	if u.Count != 2 || u.Query != q || len(u.Nearest) == 0 {
		t.Fatalf("aggregate %+v", u)
	}

	// The manager files it under shipping regions; the next customer who
	// asks it gets that answer, with no restart.
	status, body = s.admin(http.MethodPost, "/api/v1/admin/kb/questions", map[string]string{"entry": "shipping-regions", "text": q})
	if status != 200 || !strings.Contains(string(body), `"added":true`) || !strings.Contains(string(body), `"locale":"zh-Hans"`) {
		t.Fatalf("add question: %d %s", status, body)
	}
	e, _ := s.app.Knowledge().Entry("shipping-regions")
	if r := s.ask("session-unanswered-2", "", q, "zh-Hans"); r[0].Text != e.AnswerFor("zh-Hans") {
		t.Fatalf("added question not answered: %q", r[0].Text)
	}
	status, body = s.admin(http.MethodGet, "/api/v1/admin/kb/unanswered", nil)
	if status != 200 || strings.Contains(string(body), q) {
		t.Fatalf("added question still listed as unanswered: %s", body)
	}
	// Adding it again adds nothing; unknown entries and empty text are refused.
	if _, body = s.admin(http.MethodPost, "/api/v1/admin/kb/questions", map[string]string{"entry": "shipping-regions", "text": q}); !strings.Contains(string(body), `"added":false`) {
		t.Fatalf("second add: %s", body)
	}
	if status, _ = s.admin(http.MethodPost, "/api/v1/admin/kb/questions", map[string]string{"entry": "nope", "text": q}); status != 404 {
		t.Fatalf("unknown entry: %d", status)
	}
	if status, _ = s.admin(http.MethodPost, "/api/v1/admin/kb/questions", map[string]string{"entry": "shipping-regions", "text": " "}); status != 400 {
		t.Fatalf("empty text: %d", status)
	}
	if status, _ = s.get("/api/v1/admin/kb/unanswered"); status != 401 {
		t.Fatalf("unanswered without token: %d", status)
	}

	// The addition is stored: it survives a restart.
	dir := s.app.cfg.Data.Dir
	s.stop()
	s = startServer(t, testConfig(t, dir))
	if r := s.ask("session-unanswered-3", "", q, "zh-Hans"); r[0].Text != e.AnswerFor("zh-Hans") {
		t.Fatalf("addition lost in restart: %q", r[0].Text)
	}
}

const kbV1 = `entries:
  - id: opening-hours
    questions:
      en: [When are you open, what are your opening hours, what time do you open]
    answer:
      en: We are open 9 to 21.
`

const kbV2 = kbV1 + `  - id: parking
    questions:
      en: [Is there parking, where can I park my car, do you have a car park]
    answer:
      en: Free parking behind the shop.
`

func TestKnowledgeReloadsOnFileChangeAndKeepsOldOnError(t *testing.T) {
	kbDir := t.TempDir()
	file := filepath.Join(kbDir, "shop.yaml")
	if err := os.WriteFile(file, []byte(kbV1), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Knowledge.Dir = kbDir
	cfg.Knowledge.WatchInterval = configs.Duration(20 * time.Millisecond)
	s := startServer(t, cfg)
	if s.app.Knowledge().Len() != 1 {
		t.Fatalf("entries %d", s.app.Knowledge().Len())
	}
	if err := os.WriteFile(file, []byte(kbV2), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.app.Knowledge().Len() == 2 })
	if r := s.ask("session-reload", "", "where can I park?", "en"); r[0].Text != "Free parking behind the shop." {
		t.Fatalf("new entry not answered: %q", r[0].Text)
	}
	// A broken file is reported and the working knowledge base stays.
	if err := os.WriteFile(file, []byte(kbV2+"  - id: parking\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := s.admin(http.MethodPost, "/api/v1/admin/kb/reload", nil); status != 422 || !strings.Contains(string(body), "shop.yaml:12") {
		t.Fatalf("reload of a broken file: %d %s", status, body)
	}
	// Another conversation: asking the same question again in one is a
	// sign of frustration, which this test is not about.
	if r := s.ask("session-reload-2", "", "where can I park?", "en"); r[0].Text != "Free parking behind the shop." {
		t.Fatalf("broken file replaced the knowledge base: %q", r[0].Text)
	}
}
