package wechat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/channels"
)

func TestSendLinkButtons(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	m := out(5, "订单已发货。")
	m.Buttons = []channels.Button{
		{Label: "查物流", Payload: "track"},
		{Label: `物流 <详情> & "更多"`, URL: `https://example.com/t?a=1&b="x"`},
		{Label: "转人工", Payload: "agent"},
		{Label: "不安全", URL: "http://example.com/"},
		{Label: "脚本", URL: "javascript:alert(1)"},
		{Label: "帮助", URL: "https://example.com/help"},
	}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sent := e.api.customSent()
	want := "订单已发货。\n\n" +
		`<a href="https://example.com/t?a=1&amp;b=&#34;x&#34;">物流 &lt;详情&gt; &amp; &#34;更多&#34;</a>` + "\n" +
		`<a href="https://example.com/help">帮助</a>` + "\n\n" +
		"回复数字：\n1. 查物流\n2. 转人工"
	if len(sent) != 1 || sent[0].Text.Content != want {
		t.Fatalf("sent %+v\nwant %q", sent, want)
	}
	// Only payload buttons are numbered: "2" is the second payload button.
	serve(e.ch.Handler(), plainRequest(testToken, textXML("2", 9001)))
	if got := e.rec.got(); len(got) != 1 || got[0].Payload != "agent" {
		t.Errorf("\"2\" after the menu → %+v, want payload agent", got)
	}
}

func TestSendOnlyLinksClearsMenu(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	m := out(1, "请选择：")
	m.Buttons = []channels.Button{{Label: "积分", Payload: "points"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(2, "")
	m.Buttons = []channels.Button{{Label: "Help", URL: "https://example.com/help"}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	sent := e.api.customSent()
	if got := sent[len(sent)-1].Text.Content; got != `<a href="https://example.com/help">Help</a>` {
		t.Errorf("links only: %q", got)
	}
	serve(e.ch.Handler(), plainRequest(testToken, textXML("1", 9002)))
	if got := e.rec.got(); len(got) != 1 || got[0].Payload != "" || got[0].Text != "1" {
		t.Errorf("\"1\" after a message without a menu → %+v, want plain text", got)
	}
}

func TestSendImageURL(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	m := out(3, "这是您的会员卡。")
	m.ImageURL = "https://cdn.example.com/card.png?s=1&t=2"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(4, "")
	m.ImageURL = "https://cdn.example.com/only.png"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatalf("picture only: %v", err)
	}
	sent := e.api.customSent()
	if len(sent) != 2 ||
		sent[0].Text.Content != "🖼 https://cdn.example.com/card.png?s=1&t=2\n\n这是您的会员卡。" ||
		sent[1].Text.Content != "🖼 https://cdn.example.com/only.png" {
		t.Errorf("sent %+v", sent)
	}
	// A picture that is not https is dropped; with no text left the
	// message is empty.
	m = out(5, "")
	m.ImageURL = "http://cdn.example.com/x.png"
	if err := e.ch.Send(context.Background(), m); !errorIsPermanent(err) {
		t.Errorf("plain-http picture only: %v, want permanent (empty)", err)
	}
	m = out(6, "hi")
	m.ImageURL = "ftp://cdn.example.com/x.png"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := e.api.customSent(); len(got) != 3 || got[2].Text.Content != "hi" {
		t.Errorf("bad picture not dropped: %+v", got[len(got)-1])
	}
	// Overlong links would be cut through by the split: dropped too.
	m = out(7, "hi")
	m.ImageURL = "https://cdn.example.com/" + strings.Repeat("a", maxLinkLine)
	m.Buttons = []channels.Button{{Label: "x", URL: "https://example.com/" + strings.Repeat("b", maxLinkLine)}}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := e.api.customSent(); got[len(got)-1].Text.Content != "hi" {
		t.Errorf("overlong links not dropped: %q", got[len(got)-1].Text.Content)
	}
}

func TestSendTemplateURL(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.TemplateIDs = map[string]string{"care": "TPL_1"}
	})
	e.openWindow(testOpenID, 49*time.Hour)
	m := out(8, "您的优惠券")
	m.Kind = "care"
	m.ImageURL = "https://cdn.example.com/coupon.png"
	m.Buttons = []channels.Button{
		{Label: "领取", Payload: "claim"},
		{Label: "bad", URL: "http://example.com/"},
		{Label: "详情", URL: "https://example.com/coupon"},
		{Label: "更多", URL: "https://example.com/more"},
	}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(9, "您的优惠券")
	m.Kind = "care"
	m.ImageURL = "https://cdn.example.com/coupon.png"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = out(10, "您的优惠券")
	m.Kind = "care"
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := e.api.templatesSent()
	if len(got) != 3 || got[0].URL != "https://example.com/coupon" || got[1].URL != "https://cdn.example.com/coupon.png" || got[2].URL != "" {
		t.Errorf("template urls %+v", got)
	}
}

func TestSendLongTextWithLinksResumesAfterFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.openWindow(testOpenID, time.Hour)
	long := strings.Repeat("感谢您的耐心等待，我们已经为您核实了订单信息。", 150)
	m := out(78, long)
	m.ImageURL = "https://cdn.example.com/order.png"
	m.Buttons = []channels.Button{{Label: "订单", URL: "https://example.com/order"}, {Label: "好的", Payload: "ok"}}
	e.api.answer(pathCustom, 0, 0, -1) // parts 1 and 2 arrive, part 3 fails
	if err := e.ch.Send(context.Background(), m); err == nil || errorIsPermanent(err) {
		t.Fatalf("first attempt: %v, want a temporary error", err)
	}
	if err := e.ch.Send(context.Background(), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	sent := e.api.customSent()
	var joined strings.Builder
	for _, b := range sent {
		joined.WriteString(b.Text.Content)
	}
	// The parts lose the line breaks they were cut at.
	want := "🖼 https://cdn.example.com/order.png" + long + `<a href="https://example.com/order">订单</a>` + "回复数字：1. 好的"
	if got := strings.ReplaceAll(joined.String(), "\n", ""); got != want || len(sent) < 4 {
		t.Errorf("parts do not add up to the message: a part was lost or repeated")
	}
}
