package wecom

import (
	"context"
	"strings"
	"testing"

	"github.com/carebot/carebot/channels"
)

func TestSendLinkButtonsAsViewItems(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	m := out(1, "订单已发货。")
	m.Buttons = []channels.Button{
		{Label: "查物流", Payload: "track"},
		{Label: "物流详情", URL: "https://example.com/t?a=1&b=2"},
		{Label: "不安全", URL: "http://example.com/"},
		{Label: "", URL: "https://example.com/help"},
	}
	items := e.sendMenu(t, m, 3)
	type want struct{ typ, key, content, value string }
	for i, w := range []want{
		{"click", "id", "查物流", "track"},
		{"view", "url", "物流详情", "https://example.com/t?a=1&b=2"},
		{"view", "url", "https://example.com/help", "https://example.com/help"},
	} {
		it := items[i].(map[string]any)
		body, _ := it[w.typ].(map[string]any)
		if it["type"] != w.typ || body == nil || body["content"] != w.content || body[w.key] != w.value {
			t.Errorf("item %d: %v, want %+v", i, it, w)
		}
	}
}

func TestSendImageURLAsLinkLine(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	m := out(1, "您的会员卡：")
	m.ImageURL = "https://cdn.example.com/card.png"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(2, "")
	m.ImageURL = "https://cdn.example.com/only.png"
	m.Buttons = []channels.Button{{Label: "好的", Payload: "ok"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(3, "")
	m.ImageURL = "http://cdn.example.com/x.png"
	if err := e.ch.Send(context.Background(), m); !errorIsPermanent(err) {
		t.Errorf("plain-http picture only: %v, want permanent (empty)", err)
	}
	sent := e.api.sentMsgs()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages, want 2 (one per Send: the picture costs no message)", len(sent))
	}
	if c := sent[0]["text"].(map[string]any)["content"]; c != "🖼 https://cdn.example.com/card.png\n\n您的会员卡：" {
		t.Errorf("text %q", c)
	}
	if h := sent[1]["msgmenu"].(map[string]any)["head_content"]; h != "🖼 https://cdn.example.com/only.png" {
		t.Errorf("menu head %q", h)
	}
}

func TestSendLongTextWithImageResumes(t *testing.T) {
	e := newEnv(t, nil)
	e.customerWrote(t, "m1")
	mid := strings.Repeat("您的积分将在月底到期，请及时兑换。", 100) // 3 parts with the picture's line
	m := out(10, mid)
	m.ImageURL = "https://cdn.example.com/points.png"
	m.Buttons = []channels.Button{{Label: "积分商城", URL: "https://example.com/mall"}}
	e.api.answer(pathSend, 0, -1)
	if err := e.ch.Send(context.Background(), m); err == nil || errorIsPermanent(err) {
		t.Fatalf("busy on part 2: %v, want a temporary error", err)
	}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	sent := e.api.sentMsgs()
	var joined strings.Builder
	for _, s := range sent[:len(sent)-1] {
		joined.WriteString(s["text"].(map[string]any)["content"].(string))
	}
	last := sent[len(sent)-1]
	menu := last["msgmenu"].(map[string]any)
	joined.WriteString(menu["head_content"].(string))
	if want := "🖼 https://cdn.example.com/points.png\n\n" + mid; joined.String() != want {
		t.Errorf("parts do not add up to the message: one was lost or repeated")
	}
	if item := menu["list"].([]any)[0].(map[string]any); item["type"] != "view" {
		t.Errorf("menu item %v", item)
	}
	if _, n, _ := e.ch.window(testChat); n != len(sent) {
		t.Errorf("counted %d messages, sent %d", n, len(sent))
	}
}
