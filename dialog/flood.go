package dialog

import "time"

// OutcomeFlood is a turn dropped by flood control: the customer writes
// faster than a person can, and the bot does not answer every message.
const OutcomeFlood Outcome = "flood"

// FloodState is a conversation's token bucket for flood control, kept in
// the conversation state so that it survives restarts and holds however
// many processes serve the chat.
type FloodState struct {
	Tokens float64   `json:"tokens"`
	At     time.Time `json:"at,omitzero"`
	// Noticed is true once the customer was told to slow down in the
	// current flood, so the notice is sent once, not per message.
	Noticed bool `json:"noticed,omitempty"`
}

// allow takes a token for a turn at t: the bucket holds burst tokens and
// gains rate per second. A conversation never seen starts full.
func (f *FloodState) allow(t time.Time, burst int, rate float64) bool {
	if f.At.IsZero() {
		f.Tokens, f.At = float64(burst), t
	}
	if el := t.Sub(f.At).Seconds(); el > 0 {
		f.Tokens = min(float64(burst), f.Tokens+el*rate)
		f.At = t
	}
	if f.Tokens >= 1 {
		f.Tokens--
		f.Noticed = false
		return true
	}
	return false
}

// floodTurn applies flood control to a private customer turn; it reports
// whether the turn is dropped (with, the first time, a notice).
func (r *Router) floodTurn(c *Context) bool {
	if r.opts.FloodBurst <= 0 || c.Turn.Group || c.Turn.Event != "" {
		return false
	}
	f := &c.State.Flood
	if f.allow(c.Turn.Time, r.opts.FloodBurst, r.opts.FloodRate) {
		return false
	}
	c.Result.Route, c.Result.Outcome = "flood", OutcomeFlood
	if !f.Noticed {
		f.Noticed = true
		c.Say("flood_notice")
	}
	return true
}
