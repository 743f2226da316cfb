package wxapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// The hosts the two WeChat-family channels route.
const (
	oaHost = "api.weixin.qq.com"
	qyHost = "qyapi.weixin.qq.com"
)

// otherRouter stands for a router of another type with the same WithRoute
// method: InstallHTTP must extend it rather than replace it.
type otherRouter struct{ router }

func (o *otherRouter) WithRoute(host string, base *url.URL, next http.RoundTripper) http.RoundTripper {
	return &otherRouter{*o.router.WithRoute(host, base, next).(*router)}
}

// recorder is a fake API that records the path and query of each request.
func recorder(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hits...)
	}
}

// get fetches each URL through the SDK's client.
func get(t *testing.T, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if _, err := util.HTTPGet(u); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
}

// saveClient restores the SDK's client when the test ends.
func saveClient(t *testing.T) {
	saved := util.DefaultHTTPClient
	t.Cleanup(func() { util.DefaultHTTPClient = saved })
}

func TestInstallHTTPKeepsOtherRoutes(t *testing.T) {
	saveClient(t)
	srv, hits := recorder(t)
	qy, _ := url.Parse(srv.URL + "/qy")
	api, _ := url.Parse(srv.URL + "/api/")

	// WeCom started first and routed its host.
	util.DefaultHTTPClient = &http.Client{Transport: &otherRouter{router{routes: map[string]*url.URL{qyHost: qy}}}}
	InstallHTTP(&http.Client{Timeout: 3 * time.Second}, oaHost, api)

	if util.DefaultHTTPClient.Timeout != 3*time.Second {
		t.Errorf("timeout %v", util.DefaultHTTPClient.Timeout)
	}
	get(t, "https://api.weixin.qq.com/cgi-bin/token?appid=a",
		"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=c")
	want := []string{"/api/cgi-bin/token?appid=a", "/qy/cgi-bin/gettoken?corpid=c"}
	if got := hits(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", got, want)
	}

	// No api_base: WeChat itself, the other route stays, a timeout is set.
	InstallHTTP(nil, oaHost, nil)
	r := util.DefaultHTTPClient.Transport.(*otherRouter)
	if _, ok := r.routes[oaHost]; ok || r.routes[qyHost] == nil {
		t.Errorf("routes %v", r.routes)
	}
	if util.DefaultHTTPClient.Timeout != 3*time.Second {
		t.Errorf("timeout %v after a second install", util.DefaultHTTPClient.Timeout)
	}
}

// TestInstallHTTPBothOrders installs both channels' routes, in both
// orders, over the SDK's own client: the second must keep the first.
func TestInstallHTTPBothOrders(t *testing.T) {
	for _, oaFirst := range []bool{true, false} {
		saveClient(t)
		util.DefaultHTTPClient = http.DefaultClient
		srv, hits := recorder(t)
		oa, _ := url.Parse(srv.URL + "/oa")
		qy, _ := url.Parse(srv.URL + "/qy/")
		installs := []func(){
			func() { InstallHTTP(nil, oaHost, oa) },
			func() { InstallHTTP(nil, qyHost, qy) },
		}
		if !oaFirst {
			installs[0], installs[1] = installs[1], installs[0]
		}
		for _, f := range installs {
			f()
		}
		get(t, "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=T",
			"https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token=T")
		want := []string{"/oa/cgi-bin/message/custom/send?access_token=T", "/qy/cgi-bin/kf/send_msg?access_token=T"}
		if got := hits(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("official account first %v: requests %v, want %v", oaFirst, got, want)
		}
		if util.DefaultHTTPClient.Timeout != DefaultHTTPTimeout {
			t.Errorf("timeout %v", util.DefaultHTTPClient.Timeout)
		}
	}
}

func TestInstallHTTPDefaultTimeout(t *testing.T) {
	saveClient(t)
	util.DefaultHTTPClient = http.DefaultClient
	InstallHTTP(nil, oaHost, nil)
	if util.DefaultHTTPClient.Timeout != DefaultHTTPTimeout {
		t.Errorf("timeout %v, want %v: the SDK's default client has none", util.DefaultHTTPClient.Timeout, DefaultHTTPTimeout)
	}
}

func TestParseBase(t *testing.T) {
	for _, official := range []string{"https://" + oaHost, "https://" + qyHost} {
		for raw, ok := range map[string]bool{
			"": true, official: true, official + "/": true,
			"http://127.0.0.1:8080": true, "https://proxy.example.com/wx/": true,
			"ftp://x": false, "api.example.com": false, "https://x/?a=1": false, "http://": false,
			"https://x/#f": false,
		} {
			u, err := ParseBase(raw, official)
			if (err == nil) != ok {
				t.Errorf("ParseBase(%q, %q): %v", raw, official, err)
			}
			if strings.HasPrefix(strings.TrimSpace(raw), official) && u != nil {
				t.Errorf("ParseBase(%q, %q) = %v, want no rewrite", raw, official, u)
			}
		}
	}
}

func TestTokenCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewTokenCache(func() time.Time { return now })
	_ = c.Set("k", "tok", 5700*time.Second)
	if c.Get("k") != "tok" || !c.IsExist("k") {
		t.Fatal("fresh value missing")
	}
	now = now.Add(5700 * time.Second)
	if c.Get("k") != nil {
		t.Error("expired value returned")
	}
	_ = c.Set("k", "tok2", -100*time.Second)
	now = now.Add(100 * time.Hour)
	if c.Get("k") != "tok2" {
		t.Error("a value with a non-positive timeout must stay until evicted")
	}
	_ = c.Delete("k")
	if c.IsExist("k") {
		t.Error("Delete left the token")
	}
	_ = c.Set("k", "tok3", time.Hour)
	c.Clear()
	if c.IsExist("k") {
		t.Error("Clear left the token")
	}
}

func TestRedact(t *testing.T) {
	err := fmt.Errorf("get: %w", errors.New(`Get "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t": timeout; uri=https://x/send?access_token=AT_123`))
	got := Redact(err)
	if s := got.Error(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "AT_123") || !strings.Contains(s, "appid=wx1") {
		t.Errorf("redacted: %s", s)
	}
	if !errors.Is(got, errors.Unwrap(err)) {
		t.Error("Redact broke the chain")
	}
	qy := errors.New(`Get "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=CS": EOF`)
	if s := Redact(qy).Error(); strings.Contains(s, "=CS") || !strings.Contains(s, "corpid=ww1") {
		t.Errorf("redacted: %s", s)
	}
	plain := errors.New("no secrets")
	if Redact(plain) != plain {
		t.Error("an error without secrets should pass through")
	}
	if Redact(nil) != nil {
		t.Error("Redact(nil) is not nil")
	}
}

func TestErrcode(t *testing.T) {
	for in, want := range map[error]int64{
		errors.New("customer msg send error : errcode=45015 , errmsg=x"):  45015,
		errors.New("get access_token error : errcode=-1 , errormsg=busy"): -1,
		util.NewCommonError("SendTypingStatus", 40001, "x"):               40001,
		fmt.Errorf("wrapped: %w", util.NewCommonError("a", 43004, "x")):   43004,
	} {
		if got, ok := Errcode(in); !ok || got != want {
			t.Errorf("Errcode(%v) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []error{nil, errors.New("http get error : uri=x , statusCode=502")} {
		if _, ok := Errcode(in); ok {
			t.Errorf("Errcode(%v): %v has no errcode", in, in)
		}
	}
}
