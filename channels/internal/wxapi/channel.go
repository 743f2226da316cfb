package wxapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/carebot/carebot/channels"
)

// Setup fills in a channel's optional collaborators: nil log means
// slog.Default() and nil now means time.Now. It points the SDK's
// process-wide HTTP client at base for host (see InstallHTTP) and returns
// the channel's logger (tagged with its name), its clock and a token
// cache on that clock.
func Setup(name string, log *slog.Logger, now func() time.Time, client *http.Client, host string, base *url.URL) (*slog.Logger, func() time.Time, *TokenCache) {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	InstallHTTP(client, host, base)
	return log.With("channel", name), now, NewTokenCache(now)
}

// ValidAESKey reports whether k is an EncodingAESKey as WeChat and WeCom
// generate it: 43 characters, base64 of 32 bytes.
func ValidAESKey(k string) bool {
	if len(k) != 43 {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(k + "=")
	return err == nil && len(key) == 32
}

// MethodHandler routes GET to get and POST to post, and answers any other
// method 405.
func MethodHandler(get, post http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			get(w, r)
		case http.MethodPost:
			post(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// Refuse answers status and logs msg with why; the body says no more
// than the status, so a prober learns nothing about the check that failed.
func Refuse(log *slog.Logger, msg string, w http.ResponseWriter, r *http.Request, status int, reason string, err error) {
	attrs := []any{"status", status, "reason", reason, "remote", r.RemoteAddr}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	log.Warn(msg, attrs...)
	http.Error(w, http.StatusText(status), status)
}

// SignatureOK reports whether got, a request's signature, is non-empty
// and equals sha1(sort(token, parts...)), compared in constant time.
func SignatureOK(got, token string, parts ...string) bool {
	want := util.Signature(append([]string{token}, parts...)...)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// PartsSent returns how many parts of outbox row id the KV record at key
// says already reached the customer; 0 when kv is nil, id is 0 or the
// record is missing, unreadable or about another row.
func PartsSent(kv channels.KV, key string, id uint64) int {
	if kv == nil || id == 0 {
		return 0
	}
	v, err := kv.Get(key)
	if err != nil || v == "" {
		return 0
	}
	row, n, ok := strings.Cut(v, ":")
	if !ok || row != strconv.FormatUint(id, 10) {
		return 0
	}
	sent, err := strconv.Atoi(n)
	if err != nil || sent < 0 {
		return 0
	}
	return sent
}

// SetPartsSent records at key that n parts of outbox row id were sent,
// logging a failure to log under msg; it does nothing when kv is nil or
// id is 0.
func SetPartsSent(kv channels.KV, log *slog.Logger, msg, key string, id uint64, n int) {
	if kv == nil || id == 0 {
		return
	}
	if err := kv.Set(key, fmt.Sprintf("%d:%d", id, n)); err != nil {
		log.Warn(msg, "id", id, "err", err)
	}
}

// ReadBody reads r's body, at most max bytes. When that fails it returns
// the status and reason to refuse the request with: 413 for a body over
// max, 400 with the error for one that cannot be read.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) (body []byte, status int, reason string, err error) {
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", max), nil
		}
		return nil, http.StatusBadRequest, "cannot read body", err
	}
	return body, 0, "", nil
}

// WriteText answers s as plain text (the echostr of a URL verification).
func WriteText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, s)
}

// Call runs fn unless ctx has ended. When fn fails because the platform
// rejected the access token (stale reports that, with the errcode), it
// logs msg, clears cache and runs fn once more: another server may have
// fetched a new token (which revokes the cached one), and the SDK never
// evicts a cached token itself.
func Call(ctx context.Context, log *slog.Logger, msg string, cache *TokenCache, stale func(error) (int64, bool), fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := fn()
	if code, ok := stale(err); ok {
		log.Info(msg, "errcode", code)
		cache.Clear()
		if err := ctx.Err(); err != nil {
			return err
		}
		err = fn()
	}
	return err
}
