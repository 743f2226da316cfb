package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/carebot/carebot/configs"
)

// Masks written in place of what must not reach the logs.
const (
	// secretMask replaces a configured secret wherever it appears.
	secretMask = "***"
	// minSecretLen is the shortest value masked as a secret: a shorter
	// one would mask ordinary words all over the log, and is no secret.
	minSecretLen = 6
)

// MaskHandler is a slog.Handler that keeps secrets and personal data out
// of the log before handing records to the handler it wraps:
//
//   - every occurrence of a known secret (the configured tokens, secrets,
//     AES keys and password hashes, the admin token; also URL-escaped) in
//     the message and in any attribute value becomes "***" (values shorter
//     than 6 bytes are not masked: they would hide ordinary words);
//   - phone numbers, a mainland China mobile number (1[3-9] and nine more
//     digits, not part of a longer number) or an international one (+ and
//     8 to 15 digits), keep their last four digits: "*******5678";
//   - the value of an attribute named name or member_name (a member's or
//     an account's name) is cut to its first character and "*".
//
// Values that are not strings are masked through their text (an error's
// message, a Stringer, fmt's %+v); when that text changes, the value is
// logged as the masked text. Handlers derived with WithAttrs and
// WithGroup share the secrets, so AddSecrets reaches them too.
type MaskHandler struct {
	inner slog.Handler
	m     *masker
}

// NewMaskHandler wraps inner so that it never sees secrets, nor the
// personal data described at MaskHandler.
func NewMaskHandler(inner slog.Handler, secrets ...string) *MaskHandler {
	m := &masker{}
	m.add(secrets)
	return &MaskHandler{inner: inner, m: m}
}

// AddSecrets adds values to mask from now on, in h and in every handler
// derived from it (a secret only known later, such as a generated admin
// token).
func (h *MaskHandler) AddSecrets(secrets ...string) { h.m.add(secrets) }

// Enabled reports whether the wrapped handler handles level.
func (h *MaskHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle masks the record's message and attributes and passes it on.
func (h *MaskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.m.text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.m.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs masks attrs once, when they are attached.
func (h *MaskHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.m.attr(a)
	}
	return &MaskHandler{inner: h.inner.WithAttrs(masked), m: h.m}
}

// WithGroup opens a group in the wrapped handler; group names are the
// program's own words and are not masked.
func (h *MaskHandler) WithGroup(name string) slog.Handler {
	return &MaskHandler{inner: h.inner.WithGroup(name), m: h.m}
}

// MaskLogger returns a logger whose output goes through a MaskHandler
// masking secrets. When log already masks, its handler learns secrets
// and log itself is returned, so that wrapping twice costs nothing.
func MaskLogger(log *slog.Logger, secrets ...string) *slog.Logger {
	if h, ok := log.Handler().(*MaskHandler); ok {
		h.AddSecrets(secrets...)
		return log
	}
	return slog.New(NewMaskHandler(log.Handler(), secrets...))
}

// addLogSecrets makes log mask secrets, when it is a masking logger.
func addLogSecrets(log *slog.Logger, secrets ...string) {
	if h, ok := log.Handler().(*MaskHandler); ok {
		h.AddSecrets(secrets...)
	}
}

// ConfigSecrets lists the non-empty values of cfg's fields tagged
// secret:"true" (the ones 'carebot config check' prints as "***"),
// including those in lists such as console.accounts.
func ConfigSecrets(cfg *configs.Config) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f, fv := t.Field(i), v.Field(i)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(fv)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				for j := 0; j < fv.Len(); j++ {
					walk(fv.Index(j))
				}
			case f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "":
				out = append(out, fv.String())
			}
		}
	}
	if cfg != nil {
		walk(reflect.ValueOf(cfg).Elem())
	}
	return out
}

// masker holds the secrets of a MaskHandler and its derived handlers.
type masker struct {
	mu sync.Mutex // serialises add
	// secrets are the values to mask, longest first so that a secret
	// containing another is masked whole; swapped as a whole by add.
	secrets atomic.Pointer[[]string]
}

// add adds secrets, and their URL-escaped forms, to the set.
func (m *masker) add(secrets []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur []string
	if p := m.secrets.Load(); p != nil {
		cur = *p
	}
	next := slices.Clone(cur)
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if !slices.Contains(next, v) {
				next = append(next, v)
			}
		}
	}
	slices.SortFunc(next, func(a, b string) int { return len(b) - len(a) })
	m.secrets.Store(&next)
}

// text masks secrets and phone numbers in s.
func (m *masker) text(s string) string {
	if p := m.secrets.Load(); p != nil {
		for _, sec := range *p {
			if strings.Contains(s, sec) {
				s = strings.ReplaceAll(s, sec, secretMask)
			}
		}
	}
	return maskPhones(s)
}

// attr masks one attribute, descending into groups.
func (m *masker) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if isNameKey(a.Key) {
			return slog.String(a.Key, maskName(v.String()))
		}
		return slog.String(a.Key, m.text(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = m.attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindInt64:
		if s := strconv.FormatInt(v.Int64(), 10); maskPhones(s) != s {
			return slog.String(a.Key, maskPhones(s))
		}
	case slog.KindUint64:
		if s := strconv.FormatUint(v.Uint64(), 10); maskPhones(s) != s {
			return slog.String(a.Key, maskPhones(s))
		}
	case slog.KindAny:
		val := v.Any()
		if val == nil {
			break
		}
		var s string
		switch x := val.(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprintf("%+v", x)
		}
		masked := m.text(s)
		if isNameKey(a.Key) {
			masked = maskName(s)
		}
		if masked != s {
			return slog.String(a.Key, masked)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// isNameKey reports whether an attribute holds a person's name.
func isNameKey(key string) bool {
	return strings.EqualFold(key, "name") || strings.EqualFold(key, "member_name")
}

// maskName keeps the first character of a name: "王小明" → "王*".
func maskName(s string) string {
	if s == "" {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return "*"
	}
	return s[:size] + "*"
}

// maskPhones replaces all but the last four digits of every phone number
// in s with '*': a run of exactly 11 digits 1[3-9]… (a mainland China
// mobile number), or '+' and 8 to 15 digits (an international one). A
// run of digits inside a longer one (an order number, a timestamp) is
// not a phone number.
func maskPhones(s string) string {
	// Fast path: a phone number needs at least 8 digits.
	digits := 0
	for i := 0; i < len(s) && digits < 8; i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	if digits < 8 {
		return s
	}
	var b []byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		n := i - start
		intl := start > 0 && s[start-1] == '+' && n >= 8 && n <= 15
		mobile := n == 11 && s[start] == '1' && s[start+1] >= '3' && s[start+1] <= '9'
		if !intl && !mobile {
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		for j := start; j < i-4; j++ {
			b[j] = '*'
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
