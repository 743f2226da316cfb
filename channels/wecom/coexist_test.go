package wecom_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/wechat"
	"github.com/carebot/carebot/channels/wecom"
)

// TestWithWeChat starts both WeChat-family channels, each with its own
// api_base, in both orders: the SDK's HTTP client is process-wide, and
// the second channel must not undo the first one's route.
func TestWithWeChat(t *testing.T) {
	for _, wechatFirst := range []bool{true, false} {
		var mu sync.Mutex
		hits := map[string]int{}
		fake := func(name string) *httptest.Server {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits[name+" "+r.URL.Path]++
				mu.Unlock()
				_, _ = io.Copy(io.Discard, r.Body)
				if strings.HasSuffix(r.URL.Path, "token") {
					_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200}`)
					return
				}
				_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
			}))
			t.Cleanup(srv.Close)
			return srv
		}
		oa, qy := fake("oa"), fake("qy")
		dispatch := func(context.Context, channels.Event) error { return nil }
		var wc *wechat.Channel
		var kc *wecom.Channel
		newOA := func() {
			var err error
			wc, err = wechat.New(wechat.Config{AppID: "wx1", AppSecret: "s", Token: "t", APIBase: oa.URL}, dispatch, wechat.Options{})
			if err != nil {
				t.Fatal(err)
			}
		}
		newQY := func() {
			var err error
			kc, err = wecom.New(wecom.Config{CorpID: "ww1", Secret: "s", Token: "t",
				EncodingAESKey: "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", OpenKfID: "wk1", APIBase: qy.URL}, dispatch, wecom.Options{})
			if err != nil {
				t.Fatal(err)
			}
		}
		if wechatFirst {
			newOA()
			newQY()
		} else {
			newQY()
			newOA()
		}
		t.Cleanup(kc.Close)
		if err := wc.Send(context.Background(), channels.Outbound{ChatID: "o1", Text: "hi"}); err != nil {
			t.Fatalf("wechat: %v", err)
		}
		// No KV: WeCom's quota is left to WeCom, so the send goes out.
		if err := kc.Send(context.Background(), channels.Outbound{ChatID: "wk1/wm1", Text: "hi"}); err != nil {
			t.Fatalf("wecom: %v", err)
		}
		if hits["oa /cgi-bin/message/custom/send"] != 1 || hits["qy /cgi-bin/kf/send_msg"] != 1 {
			t.Errorf("wechat first %v: requests %v", wechatFirst, hits)
		}
	}
}
