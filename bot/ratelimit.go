package bot

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/carebot/carebot/configs"
)

// Rate is a sending rate written as "1/s", "20/m" or "30/s" in config.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads "N/s", "N/m" or "N/h"; "" means unlimited (zero Rate).
func ParseRate(s string) (Rate, error) {
	if s == "" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: want N/s, N/m or N/h with N ≥ 1", s)
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return Rate{}, fmt.Errorf("rate %q: the unit must be s, m or h", s)
	}
	return Rate{N: count, Per: per}, nil
}

func (r Rate) limiter() *rate.Limiter {
	// The burst is the whole allowance of one period, capped so a slow
	// rate (20/m) cannot fire 20 messages in the same second.
	burst := min(r.N, max(1, int(float64(r.N)*float64(time.Second)/float64(r.Per))+1))
	return rate.NewLimiter(rate.Every(r.Per/time.Duration(r.N)), burst)
}

// channelRates are one channel's limits.
type channelRates struct {
	perChat, perGroup, overall Rate
}

// rateLimits holds token buckets per channel and per chat, in memory: the
// platforms' limits are about the traffic of this process.
type rateLimits struct {
	mu      sync.Mutex
	rates   map[string]channelRates
	buckets map[string]*rate.Limiter
}

// DefaultRateLimits are the platforms' published limits (Telegram: about
// 1 message/s per chat, 20/min per group, 30/s overall; LINE: 2,000
// requests/s per channel for reply and push).
var DefaultRateLimits = map[string]configs.RateLimit{
	"telegram": {PerChat: "1/s", PerGroup: "20/m", Overall: "30/s"},
	"line":     {Overall: "2000/s"},
}

func newRateLimits(cfg map[string]configs.RateLimit) (*rateLimits, error) {
	l := &rateLimits{rates: map[string]channelRates{}, buckets: map[string]*rate.Limiter{}}
	merged := map[string]configs.RateLimit{}
	for k, v := range DefaultRateLimits {
		merged[k] = v
	}
	for k, v := range cfg {
		merged[k] = v
	}
	for ch, rl := range merged {
		var r channelRates
		var err error
		if r.perChat, err = ParseRate(rl.PerChat); err != nil {
			return nil, fmt.Errorf("outbox.rate_limits.%s.per_chat: %w", ch, err)
		}
		if r.perGroup, err = ParseRate(rl.PerGroup); err != nil {
			return nil, fmt.Errorf("outbox.rate_limits.%s.per_group: %w", ch, err)
		}
		if r.overall, err = ParseRate(rl.Overall); err != nil {
			return nil, fmt.Errorf("outbox.rate_limits.%s.overall: %w", ch, err)
		}
		l.rates[ch] = r
	}
	return l, nil
}

// reserve takes a token for a message to chat on channel and returns how
// long to wait before sending it; a wait above zero takes nothing, so the
// message can try again later.
func (l *rateLimits) reserve(channel, chat string, group bool, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.rates[channel]
	if !ok {
		return 0
	}
	chatRate := r.perChat
	if group && r.perGroup.N > 0 {
		chatRate = r.perGroup
	}
	var lims []*rate.Limiter
	if r.overall.N > 0 {
		lims = append(lims, l.bucket(channel, r.overall))
	}
	if chatRate.N > 0 {
		lims = append(lims, l.bucket(channel+"\x00"+chat, chatRate))
	}
	var wait time.Duration
	var taken []*rate.Reservation
	for _, lim := range lims {
		res := lim.ReserveN(now, 1)
		taken = append(taken, res)
		wait = max(wait, res.DelayFrom(now))
	}
	if wait > 0 {
		for _, res := range taken {
			res.CancelAt(now)
		}
	}
	return wait
}

func (l *rateLimits) bucket(key string, r Rate) *rate.Limiter {
	b := l.buckets[key]
	if b == nil {
		b = r.limiter()
		l.buckets[key] = b
	}
	return b
}
