package configs

import (
	"errors"
	"fmt"
	"strings"
)

// Handoff configures when a conversation goes to a person and what happens
// then. Tiers come from the emotion scorer; see docs/handoff.md.
type Handoff struct {
	// Enabled turns emotion-driven handoff on; off, the bot never opens
	// tickets (emotion is still scored and logged).
	Enabled  bool       `yaml:"enabled"`
	Mild     TierAction `yaml:"mild"`
	Moderate TierAction `yaml:"moderate"`
	Severe   TierAction `yaml:"severe"`
	// ConsecutiveNegatives negative messages in a row alert a supervisor;
	// 0 turns the rule off.
	ConsecutiveNegatives int `yaml:"consecutive_negatives"`
	// UnansweredLimit failed answers in a row, then a negative message,
	// make the turn moderate; 0 turns the rule off.
	UnansweredLimit int `yaml:"unanswered_limit"`
	// RunningThreshold: a conversation whose running emotion falls to it
	// (-1..0) gets a person; 0 turns the rule off.
	RunningThreshold float64 `yaml:"running_threshold"`
	// VIPTiers are loyalty tiers that get a human one tier earlier.
	VIPTiers []string `yaml:"vip_tiers"`
	// ReopenWindow: a negative message this long after a resolution reopens
	// (or is linked to) the resolved ticket.
	ReopenWindow Duration `yaml:"reopen_window"`
	// RequestWords replace the built-in words that ask for a person.
	RequestWords []string `yaml:"request_words"`
	// Causes are the cause tags an agent picks from at resolution.
	Causes []string `yaml:"causes"`
	// CheckInterval is how often overdue tickets are escalated.
	CheckInterval Duration `yaml:"check_interval"`
	// WaitingNotice is the least time between two "a colleague will be with
	// you" notes while the bot is silent and the customer keeps writing.
	WaitingNotice Duration `yaml:"waiting_notice"`
	// CSAT asks the customer for a 1–5 rating after a resolution.
	CSAT bool `yaml:"csat"`
	// CSATDelay is how long after the resolution the rating is asked
	// (quiet hours then apply in the customer's zone); 0 asks at once.
	CSATDelay Duration `yaml:"csat_delay"`
	// CompensationRight is the catalogue right (a coupon) given with a mild
	// apology when the tier has compensate on and the loyalty programme
	// runs; empty gives none.
	CompensationRight string `yaml:"compensation_right"`
	// Staff lists chats (on any channel) told about supervisor alerts and
	// missed SLAs, e.g. a LINE group of supervisors.
	Staff []StaffChat `yaml:"staff"`
}

// TierAction configures what a tier does.
type TierAction struct {
	// Queue is agent or supervisor.
	Queue string `yaml:"queue"`
	// SLA is how long the ticket may wait for an agent before escalation.
	SLA Duration `yaml:"sla"`
	// Silence keeps the bot quiet while the ticket is open.
	Silence bool `yaml:"silence"`
	// Compensate offers a small compensation with the apology (filled by
	// the loyalty programme's coupon hook).
	Compensate bool `yaml:"compensate"`
	// FollowUps are delays after resolution for follow-up messages.
	FollowUps []Duration `yaml:"follow_ups"`
}

// StaffChat is a chat that receives staff notifications.
type StaffChat struct {
	Channel string `yaml:"channel"`
	ChatID  string `yaml:"chat_id"`
}

// Validate checks the handoff section, naming the key.
func (h Handoff) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("handoff.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for name, a := range map[string]TierAction{"mild": h.Mild, "moderate": h.Moderate, "severe": h.Severe} {
		if a.Queue != "agent" && a.Queue != "supervisor" {
			bad(name+".queue", "%q is neither agent nor supervisor", a.Queue)
		}
		if a.SLA <= 0 {
			bad(name+".sla", "must be a positive duration")
		}
		for i, f := range a.FollowUps {
			if f <= 0 {
				bad(fmt.Sprintf("%s.follow_ups[%d]", name, i), "must be a positive duration")
			}
		}
	}
	if h.ConsecutiveNegatives < 0 {
		bad("consecutive_negatives", "must be 0 (off) or more, got %d", h.ConsecutiveNegatives)
	}
	if h.UnansweredLimit < 0 {
		bad("unanswered_limit", "must be 0 (off) or more, got %d", h.UnansweredLimit)
	}
	if h.RunningThreshold < -1 || h.RunningThreshold > 0 {
		bad("running_threshold", "must be between -1 and 0 (off), got %g", h.RunningThreshold)
	}
	if h.ReopenWindow < 0 {
		bad("reopen_window", "must not be negative")
	}
	if h.CheckInterval <= 0 {
		bad("check_interval", "must be a positive duration")
	}
	if h.WaitingNotice < 0 {
		bad("waiting_notice", "must not be negative")
	}
	for i, c := range h.Causes {
		if strings.TrimSpace(c) == "" {
			bad(fmt.Sprintf("causes[%d]", i), "must not be empty")
		}
	}
	for i, s := range h.Staff {
		if s.Channel == "" || s.ChatID == "" {
			bad(fmt.Sprintf("staff[%d]", i), "needs a channel and a chat_id")
		}
	}
	return errors.Join(errs...)
}
