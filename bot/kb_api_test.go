package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
)

// kbServer is a running app with a manager (mia), a supervisor (sam) and
// an agent (al), each with an API token.
type kbServer struct {
	*server
	mia, sam, al map[string]string
}

func startKBServer(t *testing.T) *kbServer {
	t.Helper()
	s := &kbServer{server: startServer(t, testConfig(t, t.TempDir()))}
	now := time.Now()
	s.mia = bearer(newAgent(t, s.app.Store(), "mia", handoff.RoleManager, now))
	s.sam = bearer(newAgent(t, s.app.Store(), "sam", handoff.RoleSupervisor, now))
	s.al = bearer(newAgent(t, s.app.Store(), "al", handoff.RoleAgent, now))
	return s
}

// call sends body (a value to encode, a string as is, or nil) and wants
// the status; it returns the answer decoded into out when given.
func (s *kbServer) call(hdr map[string]string, method, path string, body any, want int, out any) {
	s.t.Helper()
	var raw string
	switch b := body.(type) {
	case nil:
	case string:
		raw = b
	default:
		j, _ := json.Marshal(b)
		raw = string(j)
	}
	got, m := s.agentCall(method, path, raw, hdr)
	if got != want {
		s.t.Fatalf("%s %s %s: %d %v, want %d", method, path, raw, got, m, want)
	}
	if got >= 400 && m["error"] == nil {
		s.t.Fatalf("%s %s: %d without an error message", method, path, got)
	}
	if out != nil {
		j, _ := json.Marshal(m)
		if err := json.Unmarshal(j, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

type kbEntryAnswer struct {
	Entry    kbEntry                 `json:"entry"`
	Version  uint64                  `json:"version"`
	Source   string                  `json:"source"`
	Warnings []knowledge.LintProblem `json:"warnings"`
	Summary  string                  `json:"summary"`
	Problems []knowledge.LintProblem `json:"problems"`
	Error    string                  `json:"error"`
}

// reply is the text of the bot's first reply to text in a new
// conversation: asking one thing twice in a conversation is a sign of
// frustration, which these tests are not about.
func (s *kbServer) reply(text, locale string) string {
	s.t.Helper()
	return s.ask(fmt.Sprintf("kb-%d", time.Now().UnixNano()), "", text, locale)[0].Text
}

func TestKBManagerEditIsAnsweredAtOnce(t *testing.T) {
	s := startKBServer(t)
	const question = "运费怎么算"
	old, _ := s.app.Knowledge().Entry("shipping-fee")
	oldAnswer := old.AnswerFor("zh-Hans")
	if got := s.reply(question, "zh-Hans"); got != oldAnswer {
		t.Fatalf("before the edit the bot says %q", got)
	}

	// Only managers and admins.
	for _, path := range []string{"/api/v1/kb/entries", "/api/v1/kb/entries/shipping-fee", "/api/v1/kb/entries/shipping-fee/history", "/api/v1/kb/unanswered"} {
		s.call(nil, "GET", path, nil, 401, nil)
		s.call(s.al, "GET", path, nil, 403, nil)
		s.call(s.sam, "GET", path, nil, 403, nil)
		s.call(s.mia, "GET", path, nil, 200, nil)
		s.call(bearer(s.app.admin), "GET", path, nil, 200, nil)
	}
	s.call(s.al, "PUT", "/api/v1/kb/entries/shipping-fee", `{"entry":{},"version":0}`, 403, nil)
	s.call(s.al, "POST", "/api/v1/kb/try", `{"text":"x"}`, 403, nil)

	// The list finds it by its words, with its version and source.
	var list struct {
		Entries []kbSummary `json:"entries"`
		Total   int         `json:"total"`
	}
	s.call(s.mia, "GET", "/api/v1/kb/entries?q=%E8%BF%90%E8%B4%B9&limit=5", nil, 200, &list) // q=运费
	if list.Total == 0 || len(list.Entries) > 5 || list.Entries[0].ID != "shipping-fee" || list.Entries[0].Source != "file" || list.Entries[0].Version != 0 ||
		list.Entries[0].Questions["zh-Hans"] != old.StandardQuestion("zh-Hans") || list.Entries[0].Counts["zh-Hans"] != len(old.Questions["zh-Hans"]) {
		t.Fatalf("list: %+v", list)
	}
	s.call(s.mia, "GET", "/api/v1/kb/entries?limit=0", nil, 400, nil)
	s.call(s.mia, "GET", "/api/v1/kb/entries/no-such-entry", nil, 404, nil)

	// The manager changes the Simplified answer; the next customer gets it.
	var got kbEntryAnswer
	s.call(s.mia, "GET", "/api/v1/kb/entries/shipping-fee", nil, 200, &got)
	if got.Version != 0 || got.Source != "file" || got.Entry.Answer["zh-Hans"] != oldAnswer {
		t.Fatalf("entry: %+v", got)
	}
	const newAnswer = "即日起全场满 59 元包邮，不满 59 元收取 6 元运费。"
	edit := got.Entry
	edit.Answer["zh-Hans"] = newAnswer
	var saved kbEntryAnswer
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", map[string]any{"entry": edit, "version": 0}, 200, &saved)
	if saved.Version != 1 || saved.Source != "edited" || saved.Entry.Answer["zh-Hans"] != newAnswer || saved.Summary != "answer zh-Hans changed" || saved.Warnings == nil {
		t.Fatalf("saved: %+v", saved)
	}
	if got := s.reply(question, "zh-Hans"); got != newAnswer {
		t.Fatalf("after the edit the bot says %q", got)
	}

	// A second manager who loaded version 0 is refused, told the version.
	var conflict struct {
		Error   string `json:"error"`
		Version uint64 `json:"version"`
	}
	stale := got.Entry
	stale.Answer = map[string]string{"zh-Hans": "别的答案", "zh-Hant": "別的答案", "en": "Another answer."}
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", map[string]any{"entry": stale, "version": 0}, 409, &conflict)
	if conflict.Version != 1 || !strings.Contains(conflict.Error, "version 0") {
		t.Fatalf("conflict: %+v", conflict)
	}
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", map[string]any{"entry": stale}, 400, nil)
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", `{"entry":{},"version":1,"extra":1}`, 400, nil)

	// Lint errors refuse the change and name the problem.
	noEn := saved.Entry
	noEn.Answer = map[string]string{"zh-Hans": newAnswer, "zh-Hant": old.AnswerFor("zh-Hant")}
	var refused kbEntryAnswer
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", map[string]any{"entry": noEn, "version": 1}, 422, &refused)
	if len(refused.Problems) != 1 || refused.Problems[0].Kind != "missing-answer" || !strings.Contains(refused.Problems[0].Message, "en") {
		t.Fatalf("refused: %+v", refused)
	}
	delivery, _ := s.app.Knowledge().Entry("delivery-time")
	dup := saved.Entry
	dup.Questions = map[string][]string{"zh-Hans": append(dup.Questions["zh-Hans"], delivery.Questions["zh-Hans"][0])}
	s.call(s.mia, "PUT", "/api/v1/kb/entries/shipping-fee", map[string]any{"entry": dup, "version": 1}, 422, &refused)
	if refused.Problems[0].Kind != "duplicate-question" {
		t.Fatalf("duplicate refused as %+v", refused)
	}
	if got := s.reply(question, "zh-Hans"); got != newAnswer {
		t.Fatalf("a refused change reached the bot: %q", got)
	}

	// History, newest first, with who; restoring the files' text is a new
	// version and the bot answers with it again.
	var hist struct {
		Versions []struct {
			Version uint64   `json:"version"`
			Action  string   `json:"action"`
			By      string   `json:"by"`
			Summary string   `json:"summary"`
			Entry   *kbEntry `json:"entry"`
		} `json:"versions"`
	}
	s.call(s.mia, "GET", "/api/v1/kb/entries/shipping-fee/history", nil, 200, &hist)
	if len(hist.Versions) != 2 || hist.Versions[0].Version != 1 || hist.Versions[0].By != "mia" || hist.Versions[0].Action != "update" ||
		hist.Versions[1].Version != 0 || hist.Versions[1].Action != "file" || hist.Versions[1].Entry.Answer["zh-Hans"] != oldAnswer {
		t.Fatalf("history: %+v", hist)
	}
	s.call(s.mia, "POST", "/api/v1/kb/entries/shipping-fee/restore", map[string]any{"version": 0, "current": 0}, 409, nil)
	s.call(s.mia, "POST", "/api/v1/kb/entries/shipping-fee/restore", map[string]any{"version": 0, "current": 1}, 200, &saved)
	if saved.Version != 2 || saved.Source != "file" || saved.Entry.Answer["zh-Hans"] != oldAnswer {
		t.Fatalf("restored: %+v", saved)
	}
	if got := s.reply(question, "zh-Hans"); got != oldAnswer {
		t.Fatalf("after the restore the bot says %q", got)
	}

	// Edits are stored: they survive a restart.
	s.call(s.mia, "POST", "/api/v1/kb/entries/shipping-fee/restore", map[string]any{"version": 1}, 200, &saved)
	dir := s.app.cfg.Data.Dir
	s.stop()
	s.server = startServer(t, testConfig(t, dir))
	if got := s.reply(question, "zh-Hans"); got != newAnswer {
		t.Fatalf("after a restart the bot says %q", got)
	}
}

func TestKBCreateDeleteTryAndUnanswered(t *testing.T) {
	s := startKBServer(t)
	const ask = "可以在商品上刻字吗"
	if d := s.app.Knowledge().Decide(ask, 3); d.Outcome == knowledge.OutcomeAnswer {
		t.Fatalf("the demo answers %q already: %+v", ask, d.Matches[0].Entry.ID)
	}

	// A new entry, answered at once.
	engraving := kbEntry{
		ID: "engraving",
		Questions: map[string][]string{
			"zh-Hans": {"可以在商品上刻字吗", "能刻名字吗", "提供刻字服务吗"},
			"zh-Hant": {"可以在商品上刻字嗎", "能刻名字嗎"},
			"en":      {"Can you engrave my product?", "Do you offer engraving?"},
		},
		Answer: map[string]string{"zh-Hans": "部分金属饰品支持免费刻字，下单时在备注中写明即可。", "zh-Hant": "部分金屬飾品支援免費刻字，下單時在備註中寫明即可。", "en": "Metal jewellery can be engraved for free: add the text in the order note."},
		Tags:   []string{"services"},
	}
	var saved kbEntryAnswer
	s.call(s.mia, "POST", "/api/v1/kb/entries", map[string]any{"entry": engraving}, 201, &saved)
	if saved.Version != 1 || saved.Source != "new" || saved.Entry.ID != "engraving" {
		t.Fatalf("created: %+v", saved)
	}
	if got := s.reply(ask, "zh-Hans"); got != engraving.Answer["zh-Hans"] {
		t.Fatalf("the new entry is not answered: %q", got)
	}
	var refused kbEntryAnswer
	s.call(s.mia, "POST", "/api/v1/kb/entries", map[string]any{"entry": engraving}, 422, &refused)
	if refused.Problems[0].Kind != "duplicate-id" {
		t.Fatalf("second create: %+v", refused)
	}
	bad := engraving
	bad.ID = "Engraving!"
	s.call(s.mia, "POST", "/api/v1/kb/entries", map[string]any{"entry": bad}, 422, &refused)
	if refused.Problems[0].Kind != "bad-id" {
		t.Fatalf("bad id: %+v", refused)
	}
	s.call(s.mia, "POST", "/api/v1/kb/entries", `{}`, 400, nil)

	// Try: the outcome the bot would choose, with the three best entries.
	type tryAnswer struct {
		Outcome string `json:"outcome"`
		Matches []struct {
			ID       string  `json:"id"`
			Score    float64 `json:"score"`
			Standard string  `json:"standard"`
		} `json:"matches"`
		Answer *struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"answer"`
		Choices    []string           `json:"choices"`
		Thresholds map[string]float64 `json:"thresholds"`
	}
	var try tryAnswer
	s.call(s.mia, "POST", "/api/v1/kb/try", map[string]string{"text": "能刻名字嗎", "locale": "zh-Hant"}, 200, &try)
	if try.Outcome != "answer" || try.Answer == nil || try.Answer.ID != "engraving" || try.Answer.Text != engraving.Answer["zh-Hant"] ||
		len(try.Matches) != 3 || try.Matches[0].ID != "engraving" || try.Matches[0].Score < try.Matches[1].Score || try.Matches[0].Standard != "可以在商品上刻字嗎" ||
		try.Thresholds["min_score"] != s.app.Knowledge().MinScore() || try.Thresholds["clarify_score"] != s.app.Knowledge().ClarifyScore() || try.Thresholds["suggestions"] != 3 {
		t.Fatalf("try an engraving question: %+v", try)
	}
	try = tryAnswer{}
	s.call(s.mia, "POST", "/api/v1/kb/try", map[string]string{"text": "invoice"}, 200, &try)
	if try.Outcome != "clarify" || len(try.Choices) < 2 || try.Answer != nil {
		t.Fatalf("try invoice: %+v", try)
	}
	try = tryAnswer{}
	s.call(s.mia, "POST", "/api/v1/kb/try", map[string]string{"text": "你们的包裹能寄到南极科考站吗"}, 200, &try)
	if try.Outcome != "reject" || try.Answer != nil || try.Matches[0].Score >= try.Thresholds["min_score"] {
		t.Fatalf("try out of domain: %+v", try)
	}
	s.call(s.mia, "POST", "/api/v1/kb/try", map[string]string{"text": "  "}, 400, nil)

	// Delete needs the current version; then the bot no longer answers
	// from the entry.
	s.call(s.mia, "DELETE", "/api/v1/kb/entries/engraving", nil, 400, nil)
	s.call(s.mia, "DELETE", "/api/v1/kb/entries/engraving?version=7", nil, 409, nil)
	s.call(s.mia, "DELETE", "/api/v1/kb/entries/engraving?version=1", nil, 200, nil)
	if got := s.reply(ask, "zh-Hans"); got == engraving.Answer["zh-Hans"] {
		t.Fatal("a deleted entry is still answered")
	}
	if _, ok := s.app.Knowledge().Entry("engraving"); ok {
		t.Fatal("deleted entry still in the live knowledge base")
	}
	var got kbEntryAnswer
	s.call(s.mia, "GET", "/api/v1/kb/entries/engraving", nil, 200, &got)
	if got.Source != "deleted" || got.Version != 2 {
		t.Fatalf("deleted entry: %+v", got)
	}
	s.call(s.mia, "PUT", "/api/v1/kb/entries/engraving", map[string]any{"entry": engraving, "version": 2}, 404, nil)
	// An entry a button answers cannot go: shipping-fee's button answers
	// delivery-time.
	s.call(s.mia, "DELETE", "/api/v1/kb/entries/delivery-time?version=0", nil, 422, &refused)
	if refused.Problems[0].Kind != "broken-button" {
		t.Fatalf("delete of a linked entry: %+v", refused)
	}

	// Unanswered: the manager's list, and adding a question from it.
	const mars = "你们的包裹能寄到南极科考站吗"
	s.reply(mars, "zh-Hans")
	var un struct {
		Unanswered []knowledge.UnansweredStat `json:"unanswered"`
	}
	s.call(s.mia, "GET", "/api/v1/kb/unanswered?limit=20", nil, 200, &un)
	if len(un.Unanswered) == 0 || un.Unanswered[0].Query != mars || len(un.Unanswered[0].Nearest) == 0 {
		t.Fatalf("unanswered: %+v", un)
	}
	s.call(s.al, "POST", "/api/v1/kb/unanswered/add", map[string]string{"text": mars, "entry": "shipping-regions"}, 403, nil)
	s.call(s.mia, "POST", "/api/v1/kb/unanswered/add", map[string]string{"text": mars, "entry": "nope"}, 404, nil)
	var added struct {
		Added   bool   `json:"added"`
		Locale  string `json:"locale"`
		Version uint64 `json:"version"`
	}
	s.call(s.mia, "POST", "/api/v1/kb/unanswered/add", map[string]string{"text": mars, "entry": "shipping-regions", "locale": "zh-Hans"}, 200, &added)
	if !added.Added || added.Locale != "zh-Hans" || added.Version != 1 {
		t.Fatalf("added: %+v", added)
	}
	regions, _ := s.app.Knowledge().Entry("shipping-regions")
	if got := s.reply(mars, "zh-Hans"); got != regions.AnswerFor("zh-Hans") {
		t.Fatalf("the added question is not answered: %q", got)
	}
	s.call(s.mia, "GET", "/api/v1/kb/unanswered", nil, 200, &un)
	for _, u := range un.Unanswered {
		if u.Query == mars {
			t.Fatalf("added question still unanswered: %+v", u)
		}
	}
	// The addition is a change of the entry: the editor sees it, with the
	// version it made.
	s.call(s.mia, "GET", "/api/v1/kb/entries/shipping-regions", nil, 200, &got)
	if qs := got.Entry.Questions["zh-Hans"]; got.Version != 1 || qs[len(qs)-1] != mars {
		t.Fatalf("entry after the addition: %+v", got)
	}
}
