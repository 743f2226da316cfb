package emotion

import (
	"hash/fnv"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Conversation is the running emotion of one conversation. It is plain
// data, serialisable to JSON, and lives in the dialog state; Observe
// updates it.
type Conversation struct {
	// Value is the running emotion from -1 to 1 as of Last: an average of
	// the messages' values in which each older message counts less, by
	// Options.TurnDecay per message and by half every Options.HalfLife.
	Value float64 `json:"value"`
	// Negatives counts consecutive negative messages; a message that is
	// not negative resets it.
	Negatives int `json:"negatives"`
	// Turns counts the messages observed.
	Turns int `json:"turns"`
	// Last is when the last message was observed.
	Last time.Time `json:"last"`
	// Recent holds hashes of the customer's recent questions, oldest
	// first, to notice a question asked again.
	Recent []uint64 `json:"recent,omitempty"`
}

// repeatWeight is how much a question asked again adds to the value: the
// customer did not get an answer and is losing patience.
const repeatWeight = -0.3

// Observe scores text as the next message of conversation c at time now
// and updates c: a question the customer already asked adds a repeat cue
// (tier at least mild, moderate from the third time), the running value
// decays and takes in the message, and the count of consecutive negative
// messages grows or resets. It returns the message's result.
func (s *Scorer) Observe(c *Conversation, text string, now time.Time) Result {
	r, norm := s.score(text)
	if h, ok := questionHash(norm); ok && r.Label != LabelPositive {
		n := 0
		for _, x := range c.Recent {
			if x == h {
				n++
			}
		}
		if n > 0 {
			r = s.repeated(r, n)
		}
		c.Recent = append(c.Recent, h)
		if over := len(c.Recent) - s.opts.RecentQuestions; over > 0 {
			c.Recent = append(c.Recent[:0], c.Recent[over:]...)
		}
	}
	c.Value = s.runningAt(c, now)*s.opts.TurnDecay + r.Value*(1-s.opts.TurnDecay)
	if c.Turns == 0 || c.Last.IsZero() {
		c.Value = r.Value // nothing to average with yet
	}
	c.Value = round3(max(-1, min(1, c.Value)))
	if r.Label == LabelNegative {
		c.Negatives++
	} else {
		c.Negatives = 0
	}
	c.Turns++
	if now.After(c.Last) {
		c.Last = now
	}
	return r
}

// repeated adds the repeat cue to r for a question asked n times before.
func (s *Scorer) repeated(r Result, n int) Result {
	cues := append(r.Cues[:len(r.Cues):len(r.Cues)], Cue{Text: "asked again", Kind: "repeat", Weight: repeatWeight * float64(n)})
	tier := r.Tier
	want := TierMild
	if n >= 2 {
		want = TierModerate
	}
	if tier.Rank() < want.Rank() {
		tier = want
	}
	return s.result(math.Tanh(math.Atanh(max(-0.999, r.Value))+repeatWeight*float64(n)), tier, cues)
}

// Running returns c's running value as of now: the stored value halved
// for every Options.HalfLife since the last message.
func (s *Scorer) Running(c *Conversation, now time.Time) float64 {
	return round3(s.runningAt(c, now))
}

func (s *Scorer) runningAt(c *Conversation, now time.Time) float64 {
	if c.Last.IsZero() || s.opts.HalfLife <= 0 {
		return c.Value
	}
	dt := now.Sub(c.Last)
	if dt <= 0 {
		return c.Value
	}
	return c.Value * math.Exp2(-dt.Seconds()/s.opts.HalfLife.Seconds())
}

// questionHash hashes the gist of a message — letters and digits only,
// without greetings and sentence-final particles — so that 还没发货吗？
// and 还没发货吗 meet. Messages with fewer than four such characters (好的,
// ok, 嗯嗯) are not questions worth tracking.
func questionHash(norm string) (uint64, bool) {
	for _, p := range []string{"你好", "您好", "请问", "hello", "hi ", "hey ", "please "} {
		norm = strings.TrimPrefix(strings.TrimLeft(norm, " ,.!?，。"), p)
	}
	// end is where the gist ends: after its last letter or digit that is
	// not a sentence-final particle.
	end := 0
	for i, r := range norm {
		if (unicode.IsLetter(r) || unicode.IsNumber(r)) && !strings.ContainsRune("吗呢啊呀吧哦啦嘛么", r) {
			end = i + utf8.RuneLen(r)
		}
	}
	h := fnv.New64a()
	var buf [utf8.UTFMax]byte
	n := 0
	for _, r := range norm[:end] {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			k := utf8.EncodeRune(buf[:], r)
			h.Write(buf[:k])
			n++
		}
	}
	if n < 4 {
		return 0, false
	}
	return h.Sum64(), true
}
