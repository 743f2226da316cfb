package wechat

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// otherRouter stands for channels/wecom's router: a different type with
// the same WithRoute method.
type otherRouter struct{ router }

func (o *otherRouter) WithRoute(host string, base *url.URL, next http.RoundTripper) http.RoundTripper {
	return &otherRouter{*o.router.WithRoute(host, base, next).(*router)}
}

func TestInstallHTTPKeepsOtherRoutes(t *testing.T) {
	saved := util.DefaultHTTPClient
	t.Cleanup(func() { util.DefaultHTTPClient = saved })

	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.Path+"?"+r.URL.RawQuery)
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	qy, _ := url.Parse(srv.URL + "/qy")
	api, _ := url.Parse(srv.URL + "/api/")

	// WeCom started first and routed its host.
	util.DefaultHTTPClient = &http.Client{Transport: &otherRouter{router{routes: map[string]*url.URL{"qyapi.weixin.qq.com": qy}}}}
	installHTTP(&http.Client{Timeout: 3 * time.Second}, apiHost, api)

	if util.DefaultHTTPClient.Timeout != 3*time.Second {
		t.Errorf("timeout %v", util.DefaultHTTPClient.Timeout)
	}
	for _, u := range []string{
		"https://api.weixin.qq.com/cgi-bin/token?appid=a",
		"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=c",
	} {
		if _, err := util.HTTPGet(u); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	want := []string{"/api/cgi-bin/token?appid=a", "/qy/cgi-bin/gettoken?corpid=c"}
	if fmt.Sprint(hits) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", hits, want)
	}

	// No api_base: WeChat itself, the other route stays, a timeout is set.
	installHTTP(nil, apiHost, nil)
	r := util.DefaultHTTPClient.Transport.(*otherRouter)
	if _, ok := r.routes[apiHost]; ok || r.routes["qyapi.weixin.qq.com"] == nil {
		t.Errorf("routes %v", r.routes)
	}
	if util.DefaultHTTPClient.Timeout != 3*time.Second {
		t.Errorf("timeout %v after a second install", util.DefaultHTTPClient.Timeout)
	}
}

func TestInstallHTTPDefaultTimeout(t *testing.T) {
	saved := util.DefaultHTTPClient
	t.Cleanup(func() { util.DefaultHTTPClient = saved })
	util.DefaultHTTPClient = http.DefaultClient
	installHTTP(nil, apiHost, nil)
	if util.DefaultHTTPClient.Timeout != defaultHTTPTimeout {
		t.Errorf("timeout %v, want %v: the SDK's default client has none", util.DefaultHTTPClient.Timeout, defaultHTTPTimeout)
	}
}

func TestParseBase(t *testing.T) {
	for raw, ok := range map[string]bool{
		"": true, "https://api.weixin.qq.com": true, "https://api.weixin.qq.com/": true,
		"http://127.0.0.1:8080": true, "https://proxy.example.com/wx/": true,
		"ftp://x": false, "api.example.com": false, "https://x/?a=1": false, "http://": false,
	} {
		if _, err := parseBase(raw, DefaultAPIBase); (err == nil) != ok {
			t.Errorf("parseBase(%q): %v", raw, err)
		}
	}
}

func TestTokenCache(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := newTokenCache(clk.Now)
	_ = c.Set("k", "tok", 5700*time.Second)
	if c.Get("k") != "tok" || !c.IsExist("k") {
		t.Fatal("fresh value missing")
	}
	clk.Advance(5700 * time.Second)
	if c.Get("k") != nil {
		t.Error("expired value returned")
	}
	_ = c.Set("k", "tok2", -100*time.Second)
	clk.Advance(100 * time.Hour)
	if c.Get("k") != "tok2" {
		t.Error("a value with a non-positive timeout must stay until evicted")
	}
	c.clear()
	if c.IsExist("k") {
		t.Error("clear left the token")
	}
}

func TestRedact(t *testing.T) {
	err := fmt.Errorf("get: %w", errors.New(`Get "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t": timeout; uri=https://x/send?access_token=AT_123`))
	got := redact(err)
	if s := got.Error(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "AT_123") || !strings.Contains(s, "appid=wx1") {
		t.Errorf("redacted: %s", s)
	}
	if !errors.Is(got, errors.Unwrap(err)) {
		t.Error("redact broke the chain")
	}
	plain := errors.New("no secrets")
	if redact(plain) != plain {
		t.Error("an error without secrets should pass through")
	}
}

func TestErrcode(t *testing.T) {
	for in, want := range map[error]int64{
		errors.New("customer msg send error : errcode=45015 , errmsg=x"):  45015,
		errors.New("get access_token error : errcode=-1 , errormsg=busy"): -1,
		util.NewCommonError("SendTypingStatus", 40001, "x"):               40001,
		fmt.Errorf("wrapped: %w", util.NewCommonError("a", 43004, "x")):   43004,
	} {
		if got, ok := errcode(in); !ok || got != want {
			t.Errorf("errcode(%v) = %d %v, want %d", in, got, ok, want)
		}
	}
	if _, ok := errcode(errors.New("http get error : uri=x , statusCode=502")); ok {
		t.Error("an HTTP error has no errcode")
	}
}

func TestUntilChinaMidnight(t *testing.T) {
	if d := untilChinaMidnight(time.Date(2025, 3, 14, 15, 30, 0, 0, time.UTC)); d != 30*time.Minute {
		t.Errorf("23:30 in Beijing: %v", d)
	}
	if d := untilChinaMidnight(time.Date(2025, 3, 14, 15, 59, 59, 0, time.UTC)); d != time.Minute {
		t.Errorf("a second before midnight: %v, want the one-minute floor", d)
	}
}
