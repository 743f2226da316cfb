package dialog

import (
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

const testKB = `
entries:
  - id: shipping-fee
    tags: [popular]
    questions:
      zh-Hans: [运费怎么算, 包邮吗, 满多少包邮, 邮费多少钱]
      zh-Hant: [運費怎麼算, 有免運嗎]
      en: [How much is shipping, Do you offer free shipping, what does delivery cost]
    answer:
      zh-Hans: 满 99 元包邮。
      zh-Hant: 滿 99 元免運。
      en: Orders over 99 ship free.
    buttons:
      - label: {zh-Hans: 配送要多久, zh-Hant: 配送要多久, en: Delivery time}
        payload: faq:delivery-time
  - id: delivery-time
    questions:
      zh-Hans: [多久能到, 几天到货, 发货后多久送到, 配送需要几天]
      en: [How long does delivery take, when will my order arrive, how many days to deliver]
    answer:
      zh-Hans: 一般 2 到 4 天送达。
      en: Usually 2 to 4 days.
  - id: invoice
    questions:
      zh-Hans: [可以开发票吗, 怎么开发票, 电子发票在哪下载, 发票抬头怎么改]
      en: [Can I get an invoice, how do I get a receipt]
    answer:
      zh-Hans: 下单时选择开具发票即可。
      en: Choose an invoice at checkout.
`

func newRouter(t *testing.T, tune ...func(*Options)) *Router {
	t.Helper()
	seg, err := segment.Shared("")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := knowledge.Parse([]byte(testKB), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := knowledge.NewBase(seg, entries, knowledge.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	replies, err := configs.LoadReplies()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Replies: replies, DefaultLocale: "zh-Hans", Suggestions: 3}
	for _, f := range tune {
		f(&opts)
	}
	r, err := New(kb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRespondRoutes(t *testing.T) {
	r := newRouter(t)
	tests := []struct {
		name, text, payload, locale string
		route                       string
		outcome                     Outcome
		replyHas                    string
		replyLocale                 string
	}{
		{"greeting zh", "您好！", "", "", "greeting", OutcomeChat, "carebot", "zh-Hans"},
		{"greeting en", "Hello!!", "", "", "greeting", OutcomeChat, "carebot", "en"},
		{"help", "你能做什么？", "", "", "help", OutcomeChat, "我可以帮您", "zh-Hans"},
		{"help en", "what can you do", "", "", "help", OutcomeChat, "I can help", "en"},
		{"faq zh", "满多少钱包邮", "", "", "faq", OutcomeAnswered, "满 99 元包邮", "zh-Hans"},
		{"faq zh-Hant text", "請問有免運嗎", "", "", "faq", OutcomeAnswered, "滿 99 元免運", "zh-Hant"},
		{"faq en", "when will my order arrive?", "", "", "faq", OutcomeAnswered, "2 to 4 days", "en"},
		{"locale from channel wins", "运费怎么算", "", "en", "faq", OutcomeAnswered, "ship free", "en"},
		{"fallback", "火星上能种土豆吗", "", "", "faq", OutcomeUnanswered, "抱歉", "zh-Hans"},
		{"empty", "   ", "", "", "empty", OutcomeChat, "还没有输入", "zh-Hans"},
		{"punctuation only", "？？？", "", "", "empty", OutcomeChat, "还没有输入", "zh-Hans"},
		{"faq button", "", "faq:invoice", "", "faq-button", OutcomeAnswered, "开具发票", "zh-Hans"},
		{"help button", "", "help", "", "help-button", OutcomeChat, "我可以帮您", "zh-Hans"},
		{"stale button", "", "faq:gone-entry", "", "unknown-button", OutcomeChat, "失效", "zh-Hans"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r.Respond(State{}, Turn{Text: tt.text, Payload: tt.payload, Locale: tt.locale, Time: time.Now()})
			if res.Route != tt.route || res.Outcome != tt.outcome {
				t.Fatalf("route %s outcome %s, want %s %s (%+v)", res.Route, res.Outcome, tt.route, tt.outcome, res.Replies)
			}
			if len(res.Replies) == 0 || !strings.Contains(res.Replies[0].Text, tt.replyHas) {
				t.Fatalf("reply %+v does not contain %q", res.Replies, tt.replyHas)
			}
			if res.State.Locale != tt.replyLocale {
				t.Fatalf("locale %s, want %s", res.State.Locale, tt.replyLocale)
			}
		})
	}
}

func TestAnswerCarriesEntryButtonsAndGreetingOffersPopular(t *testing.T) {
	r := newRouter(t)
	res := r.Respond(State{}, Turn{Text: "运费怎么算"})
	if len(res.Replies[0].Buttons) != 1 || res.Replies[0].Buttons[0].Payload != "faq:delivery-time" || res.Replies[0].Buttons[0].Label != "配送要多久" {
		t.Fatalf("answer buttons: %+v", res.Replies[0].Buttons)
	}
	if res.Match == nil || res.Match.Entry.ID != "shipping-fee" || res.State.LastFAQ != "shipping-fee" {
		t.Fatalf("match not reported: %+v", res)
	}
	g := r.Respond(State{}, Turn{Text: "hi"})
	b := g.Replies[0].Buttons
	if len(b) != 2 || b[0].Payload != "faq:shipping-fee" || b[0].Label != "How much is shipping" || b[1].Payload != PayloadHelp {
		t.Fatalf("greeting buttons: %+v", b)
	}
}

func TestStateCarriesLocaleAndCounts(t *testing.T) {
	r := newRouter(t)
	s := r.Respond(State{}, Turn{Text: "請問有免運嗎"}).State
	if s.Locale != "zh-Hant" || s.Turns != 1 {
		t.Fatalf("state %+v", s)
	}
	// Text that is the same in both scripts keeps the customer in zh-Hant.
	s = r.Respond(s, Turn{Text: "你好"}).State
	if s.Locale != "zh-Hant" {
		t.Fatalf("zh-Hant customer switched to %s by a neutral text", s.Locale)
	}
	// A model number inside Chinese chat does not switch to English.
	s = r.Respond(s, Turn{Text: "A123"}).State
	if s.Locale != "zh-Hant" {
		t.Fatalf("switched to %s by a model number", s.Locale)
	}
	s = r.Respond(s, Turn{Text: "火星上能种土豆吗"}).State
	s = r.Respond(s, Turn{Text: "量子计算机的原理"}).State
	if s.Unanswered != 3 || s.Turns != 5 { // "A123" was not understood either
		t.Fatalf("unanswered %d turns %d", s.Unanswered, s.Turns)
	}
	s = r.Respond(s, Turn{Text: "运费怎么算"}).State
	if s.Unanswered != 0 {
		t.Fatalf("an answer did not reset the unanswered count: %d", s.Unanswered)
	}
}

func TestLongAndBrokenTextIsHandled(t *testing.T) {
	r := newRouter(t)
	res := r.Respond(State{}, Turn{Text: "运费怎么算" + strings.Repeat("啊", 20000)})
	if len(res.Replies) != 1 {
		t.Fatalf("long text: %+v", res)
	}
	res = r.Respond(State{}, Turn{Text: "运费\xff\xfe怎么算"})
	if res.Outcome != OutcomeAnswered {
		t.Fatalf("invalid UTF-8 inside a question: %+v", res)
	}
}

func TestPrependRunsFirst(t *testing.T) {
	r := newRouter(t)
	r.Prepend(Route{Name: "human", Match: func(c *Context) bool { return c.Norm == "转人工" }, Handle: func(c *Context) { c.Reply("agent coming") }})
	if got := r.Routes(); got[0] != "human" || got[len(got)-1] != "faq" {
		t.Fatalf("routes %v", got)
	}
	res := r.Respond(State{}, Turn{Text: "轉人工"})
	if res.Route != "human" || res.Replies[0].Text != "agent coming" {
		t.Fatalf("prepended route not used: %+v", res)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	r := newRouter(t)
	if _, err := New(r.Knowledge(), Options{Replies: r.opts.Replies, DefaultLocale: "fr"}); err == nil {
		t.Error("locale fr accepted")
	}
	if _, err := New(r.Knowledge(), Options{Replies: map[string]map[string]string{}, DefaultLocale: "en"}); err == nil {
		t.Error("missing replies accepted")
	}
	if _, err := New(r.Knowledge(), Options{Replies: r.opts.Replies, DefaultLocale: "en", FeaturedFAQ: []string{"nope"}}); err == nil {
		t.Error("unknown featured entry accepted")
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil knowledge base accepted")
	}
}
