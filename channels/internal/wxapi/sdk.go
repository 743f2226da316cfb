package wxapi

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// The SDK sends every request through util.DefaultHTTPClient to hard-coded
// https://api.weixin.qq.com (Official Account) and
// https://qyapi.weixin.qq.com (WeCom) URLs, and both are process-wide.
// Rather than util.SetURIModifier, which has no getter and so lets the last
// adapter to start silently undo the other's rewrite, carebot installs one
// client whose transport routes each SDK host to its configured base: each
// channel calls InstallHTTP with its own host, and the routes the other
// installed are kept.

// DefaultHTTPTimeout bounds every SDK call: the SDK takes no context, so the
// client's timeout is the only thing that ends a hung request.
const DefaultHTTPTimeout = 10 * time.Second

// sdkRouter is implemented by the transports InstallHTTP installs; WithRoute
// returns a copy that also sends requests for host to base (nil base
// removes the route), over next when next is not nil. InstallHTTP extends
// any transport of this shape, not only its own type.
type sdkRouter interface {
	WithRoute(host string, base *url.URL, next http.RoundTripper) http.RoundTripper
}

// router rewrites requests for routed hosts to their base URL.
type router struct {
	routes map[string]*url.URL
	next   http.RoundTripper
}

// WithRoute implements sdkRouter.
func (r *router) WithRoute(host string, base *url.URL, next http.RoundTripper) http.RoundTripper {
	n := &router{routes: maps.Clone(r.routes), next: r.next}
	if n.routes == nil {
		n.routes = map[string]*url.URL{}
	}
	if next != nil {
		n.next = next
	}
	if base == nil {
		delete(n.routes, host)
	} else {
		n.routes[host] = base
	}
	return n
}

// RoundTrip implements http.RoundTripper.
func (r *router) RoundTrip(req *http.Request) (*http.Response, error) {
	next := r.next
	if next == nil {
		next = http.DefaultTransport
	}
	base, ok := r.routes[req.URL.Host]
	if !ok {
		return next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = base.Scheme, base.Host
	u.Path = strings.TrimSuffix(base.Path, "/") + req.URL.Path
	u.RawPath = ""
	out.URL, out.Host = &u, ""
	return next.RoundTrip(out)
}

// sdkMu serialises changes to the SDK's globals made by InstallHTTP.
var sdkMu sync.Mutex

// InstallHTTP points the SDK's process-wide HTTP client at client (or a
// default one with a timeout) and routes host to base (nil base: host
// itself). Routes another adapter installed are kept.
func InstallHTTP(client *http.Client, host string, base *url.URL) {
	sdkMu.Lock()
	defer sdkMu.Unlock()
	var next http.RoundTripper
	timeout := DefaultHTTPTimeout
	if client != nil {
		next = client.Transport
		if client.Timeout > 0 {
			timeout = client.Timeout
		}
	} else if cur := util.DefaultHTTPClient; cur != nil && cur.Timeout > 0 {
		timeout = cur.Timeout
	}
	var rt http.RoundTripper
	if cur := util.DefaultHTTPClient; cur != nil {
		if r, ok := cur.Transport.(sdkRouter); ok {
			rt = r.WithRoute(host, base, next)
		}
	}
	if rt == nil {
		rt = (&router{next: next}).WithRoute(host, base, nil)
	}
	util.DefaultHTTPClient = &http.Client{Transport: rt, Timeout: timeout}
}

// ParseBase checks an api_base value; empty or official (WeChat's own URL)
// means no rewrite.
func ParseBase(raw, official string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.TrimSuffix(raw, "/") == official {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", raw)
	}
	return u, nil
}

// TokenCache is the SDK's cache.Cache for one channel's access token. The
// SDK's own cache.NewMemory reads its map without the lock, so it races
// when several outbox workers send at once.
type TokenCache struct {
	now func() time.Time

	mu    sync.Mutex
	items map[string]cacheItem
}

type cacheItem struct {
	val     any
	expires time.Time // zero: no expiry
}

// NewTokenCache returns an empty cache that reads the time from now.
func NewTokenCache(now func() time.Time) *TokenCache {
	return &TokenCache{now: now, items: map[string]cacheItem{}}
}

// Get returns the value under key, or nil when it is missing or expired.
func (c *TokenCache) Get(key string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	if !ok {
		return nil
	}
	if !it.expires.IsZero() && !c.now().Before(it.expires) {
		delete(c.items, key)
		return nil
	}
	return it.val
}

// Set stores val for timeout. A timeout that is not positive (the SDK
// subtracts 1,500 s from expires_in, so a short-lived token from a proxy
// gives one) keeps the value until it is evicted: a stale token is
// rejected with 40001/42001, which evicts it, whereas expiring at once
// would fetch a token per call and burn the daily token quota.
func (c *TokenCache) Set(key string, val any, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := cacheItem{val: val}
	if timeout > 0 {
		it.expires = c.now().Add(timeout)
	}
	c.items[key] = it
	return nil
}

// IsExist reports whether key holds a live value.
func (c *TokenCache) IsExist(key string) bool { return c.Get(key) != nil }

// Delete removes key.
func (c *TokenCache) Delete(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, key)
	return nil
}

// Clear evicts everything, which for this cache means the access token.
// The SDK does not evict a token WeChat rejected, so the adapter does.
func (c *TokenCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
}

// secretParam matches credentials the SDK puts in URLs; its errors (and
// net/http's) quote those URLs, and they would reach logs and the console.
var secretParam = regexp.MustCompile(`((?:access_token|secret|corpsecret)=)[^&\s"',]+`)

// Redact hides credentials in err's message and keeps err in the chain.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := secretParam.ReplaceAllString(msg, "${1}REDACTED")
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// errcodeRe finds WeChat's errcode in the SDK's string errors, which is
// the only place most SDK calls keep it (WeCom's token fetch keeps it
// there too; its kf calls lose it).
var errcodeRe = regexp.MustCompile(`errcode\s*=\s*(-?\d+)`)

// Errcode returns WeChat's (or WeCom's) error code carried by err.
func Errcode(err error) (int64, bool) {
	if err == nil {
		return 0, false
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode, true
	}
	m := errcodeRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	var code int64
	if _, err := fmt.Sscan(m[1], &code); err != nil {
		return 0, false
	}
	return code, true
}
