package dialog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/segment"
)

// Locales the dialog speaks; the first is the fallback of last resort.
var Locales = []string{"zh-Hans", "zh-Hant", "en"}

// mentionRe matches an @mention in a group message.
var mentionRe = regexp.MustCompile(`@[^\s@]+`)

// maxQueryRunes bounds how much of a message goes into the FAQ search: a
// pasted essay should still get an answer about its opening, in bounded time.
const maxQueryRunes = 500

// Turn is one customer input.
type Turn struct {
	Text    string
	Payload string
	// Locale is what the channel knows of the customer's locale, or "".
	Locale string
	Time   time.Time
	// MemberTier is the customer's loyalty tier, "" when unknown; VIP tiers
	// get a person sooner.
	MemberTier string
	// Group is true when the message was written in a group chat, where
	// points and coupons are never shown.
	Group bool
	// Mentioned is true when a group message mentions or replies to the
	// bot; in groups the bot answers questions only then (or on a keyword).
	Mentioned bool
	// Event is what happened when it is not a message: EventFollow,
	// EventUnsupported, EventMemberJoined … ("" for a message).
	Event string
}

// Events other than messages that the dialog answers.
const (
	EventUnsupported  = "unsupported"   // a sticker, photo, voice …
	EventFollow       = "follow"        // the customer added the bot
	EventJoin         = "join"          // the bot was added to a group
	EventMemberJoined = "member_joined" // someone joined a group the bot is in
)

// State is what the dialog remembers of a conversation between turns.
type State struct {
	Locale string    `json:"locale"`
	Turns  int       `json:"turns"`
	Start  time.Time `json:"start"`
	Last   time.Time `json:"last"`
	// Unanswered counts consecutive turns the bot could not answer; the
	// handoff rules read it.
	Unanswered int `json:"unanswered"`
	// LastFAQ is the id of the entry answered last.
	LastFAQ string `json:"last_faq,omitempty"`
	// Emotion is the conversation's running emotion.
	Emotion emotion.Conversation `json:"emotion"`
	// Handoff is the conversation's ticket state.
	Handoff HandoffState `json:"handoff"`
	// Join is the progress of the 注册会员 conversation.
	Join JoinState `json:"join,omitzero"`
	// Flood is the conversation's flood control bucket.
	Flood FloodState `json:"flood,omitzero"`
}

// Button is a quick reply attached to a Reply.
type Button struct {
	Label   string `json:"label"`
	Payload string `json:"payload"`
	// URL makes the button a link; Payload is then empty.
	URL string `json:"url,omitempty"`
}

// Reply is one message the bot sends.
type Reply struct {
	Text    string   `json:"text"`
	Buttons []Button `json:"buttons,omitempty"`
	// Image is the https URL of a picture sent before the text.
	Image string `json:"image,omitempty"`
}

// Outcome says how a turn was handled, for logs, metrics and the
// unanswered-question log.
type Outcome string

// Outcomes of a turn.
const (
	OutcomeAnswered   Outcome = "answered"   // an FAQ answer
	OutcomeClarify    Outcome = "clarify"    // offered likely entries to choose from
	OutcomeUnanswered Outcome = "unanswered" // nothing matched
	OutcomeChat       Outcome = "chat"       // greeting, help and other bot talk
)

// Result is the outcome of Respond.
type Result struct {
	Replies []Reply
	State   State
	// Route is the name of the route that handled the turn.
	Route   string
	Outcome Outcome
	// Match is the answered FAQ entry, when Outcome is OutcomeAnswered.
	Match *knowledge.Match
	// Query is the normalised text that was searched, for the unanswered log.
	Query string
	// Nearest are the entries closest to an FAQ question, best first, for
	// the unanswered log.
	Nearest []knowledge.Match
	// Emotion is the score of the customer's message, nil for buttons and
	// when no scorer is configured.
	Emotion *emotion.Result
	// Handoff asks for a ticket change, nil when none.
	Handoff *HandoffAction
	// CSAT is a satisfaction rating the customer just gave.
	CSAT *CSATAnswer
	// Survey is an answer to a care survey (NPS, new-member check); bot
	// records it and replies.
	Survey *SurveyAnswer
	// Loyalty asks for a loyalty command, nil when none.
	Loyalty *LoyaltyAction
}

// Context is what a route sees and changes while handling a turn.
type Context struct {
	Turn   Turn
	State  *State
	Locale string
	// Text is the customer's text, trimmed and cut to a searchable length.
	Text string
	// Norm is Text normalised (Simplified, half-width, lower case).
	Norm   string
	Result *Result
	router *Router
	view   *kbView
}

// Say appends the reply text stored under key in the context's locale.
func (c *Context) Say(key string, buttons ...Button) {
	c.Result.Replies = append(c.Result.Replies, Reply{Text: c.router.text(key, c.Locale), Buttons: buttons})
}

// Reply appends a reply with the given text.
func (c *Context) Reply(text string, buttons ...Button) {
	c.Result.Replies = append(c.Result.Replies, Reply{Text: text, Buttons: buttons})
}

// Knowledge is the router's knowledge base.
func (c *Context) Knowledge() *knowledge.Base { return c.view.kb }

// Route is one row of the routing table.
type Route struct {
	Name   string
	Match  func(*Context) bool
	Handle func(*Context)
}

// Options configure a Router.
type Options struct {
	// Replies holds the bot's own texts: key → locale → text.
	Replies map[string]map[string]string
	// DefaultLocale is used until a customer's locale is known.
	DefaultLocale string
	// Suggestions is how many entries a clarifying question offers.
	Suggestions int
	// FeaturedFAQ lists entry ids offered as buttons with the greeting;
	// empty picks entries tagged "popular".
	FeaturedFAQ []string
	// Emotion scores every customer message; nil scores nothing.
	Emotion *emotion.Scorer
	// Handoff are the rules that bring in people; nil never does.
	Handoff *handoff.Rules
	// WaitingNotice is the least time between two "a person will be with
	// you" notes while people have the conversation.
	WaitingNotice time.Duration
	// Loyalty turns on the loyalty commands (积分, 签到, 权益 …).
	Loyalty bool
	// GroupKeywords make the bot answer a group message that contains one
	// even without a mention.
	GroupKeywords []string
	// GroupWelcome greets new members of a group; "" uses the reply text
	// group_welcome, "-" greets nobody.
	GroupWelcome string
	// FloodBurst messages in a row are answered, then FloodRate per
	// second; faster ones are logged but not answered (one notice per
	// flood). FloodBurst 0 turns flood control off.
	FloodBurst int
	FloodRate  float64
}

// Router routes turns through its table.
type Router struct {
	kb     atomic.Pointer[kbView]
	opts   Options
	routes []Route
}

// kbView is a knowledge base with the entries the greeting features; it is
// swapped as a whole when the knowledge base is reloaded, and a turn uses
// the one it started with.
type kbView struct {
	kb       *knowledge.Base
	featured []string
	// human is the entry that tells customers how to reach a person
	// (tagged "human"), offered when the bot cannot answer; nil if none.
	human *knowledge.Entry
}

// New builds a Router with the standard routes over kb.
func New(kb *knowledge.Base, opts Options) (*Router, error) {
	if !slices.Contains(Locales, opts.DefaultLocale) {
		return nil, fmt.Errorf("dialog: default locale %q is not one of %s", opts.DefaultLocale, strings.Join(Locales, ", "))
	}
	keys := []string{"greeting", "help", "clarify", "fallback", "empty", "unknown_button", "button_help"}
	if opts.Loyalty {
		keys = append(keys, "loyalty_join_name", "loyalty_join_name_bad", "loyalty_join_birthday", "loyalty_join_birthday_bad", "loyalty_join_consent", "loyalty_join_cancelled", "button_yes", "button_no")
	}
	if opts.Handoff != nil {
		keys = append(keys, "handoff_mild", "handoff_mild_followup", "handoff_moderate", "handoff_severe", "handoff_waiting", "csat_thanks")
	}
	for _, key := range keys {
		if opts.Replies[key][opts.DefaultLocale] == "" {
			return nil, fmt.Errorf("dialog: reply %q has no %s text", key, opts.DefaultLocale)
		}
	}
	r := &Router{opts: opts, routes: standardRoutes()}
	if err := r.SetKnowledge(kb); err != nil {
		return nil, err
	}
	return r, nil
}

// SetKnowledge makes kb the knowledge base of every later turn; turns in
// progress finish with the previous one. It fails, changing nothing, when
// kb lacks a featured entry.
func (r *Router) SetKnowledge(kb *knowledge.Base) error {
	if kb == nil {
		return fmt.Errorf("dialog: knowledge base is nil")
	}
	featured := r.opts.FeaturedFAQ
	if len(featured) == 0 {
		for _, e := range kb.Entries() {
			if slices.Contains(e.Tags, "popular") {
				featured = append(featured, e.ID)
			}
		}
	}
	for _, id := range featured {
		if _, ok := kb.Entry(id); !ok {
			return fmt.Errorf("dialog: featured FAQ %q is not in the knowledge base", id)
		}
	}
	if len(featured) > 4 {
		featured = featured[:4]
	}
	view := &kbView{kb: kb, featured: featured}
	for _, e := range kb.Entries() {
		if slices.Contains(e.Tags, "human") {
			view.human = e
			break
		}
	}
	r.kb.Store(view)
	return nil
}

// Knowledge returns the current knowledge base.
func (r *Router) Knowledge() *knowledge.Base { return r.kb.Load().kb }

// Prepend puts routes before the standard ones, so that a feature such as
// handoff sees a turn before the FAQ does.
func (r *Router) Prepend(routes ...Route) {
	r.routes = append(slices.Clone(routes), r.routes...)
}

// Routes returns the names of the routes in the order they are tried.
func (r *Router) Routes() []string {
	names := make([]string, len(r.routes))
	for i, rt := range r.routes {
		names[i] = rt.Name
	}
	return names
}

// Respond handles one turn given the conversation's state.
func (r *Router) Respond(state State, turn Turn) Result {
	if turn.Time.IsZero() {
		turn.Time = time.Now()
	}
	if state.Start.IsZero() {
		state.Start = turn.Time
	}
	text := strings.TrimSpace(strings.ToValidUTF8(turn.Text, "\uFFFD"))
	if turn.Group {
		// "@carebot 运费多少" asks about shipping, not about "@carebot".
		text = strings.TrimSpace(mentionRe.ReplaceAllString(text, " "))
	}
	if utf8.RuneCountInString(text) > maxQueryRunes {
		text = string([]rune(text)[:maxQueryRunes])
	}
	state.Locale = r.locale(state.Locale, turn.Locale, text)
	state.Turns++
	state.Last = turn.Time
	ctx := &Context{
		Turn:   turn,
		State:  &state,
		Locale: state.Locale,
		Text:   text,
		Norm:   segment.Normalize(text),
		Result: &Result{},
		router: r,
		view:   r.kb.Load(),
	}
	if r.floodTurn(ctx) {
		ctx.Result.State = state
		return *ctx.Result
	}
	handled, mild := r.eventTurn(ctx), false
	if !handled {
		handled, mild = r.careTurn(ctx)
	}
	if !handled && !mild {
		handled = r.loyaltyTurn(ctx)
	}
	if !handled {
		for _, rt := range r.routes {
			if rt.Match(ctx) {
				ctx.Result.Route = rt.Name
				rt.Handle(ctx)
				break
			}
		}
	}
	if mild {
		r.mildFollowUp(ctx)
	}
	if ctx.Result.Outcome == "" {
		ctx.Result.Outcome = OutcomeChat
	}
	if ctx.Result.Outcome == OutcomeClarify || ctx.Result.Outcome == OutcomeUnanswered {
		state.Unanswered++
	} else if ctx.Result.Outcome == OutcomeAnswered {
		state.Unanswered = 0
	}
	ctx.Result.State = state
	return *ctx.Result
}

// mildFollowUp ends a mild turn: the apology came first, then the answer;
// when the bot had no answer its "ask me in other words" is replaced by the
// promise that a colleague follows up.
func (r *Router) mildFollowUp(c *Context) {
	if c.Result.Outcome == OutcomeUnanswered {
		c.Result.Replies = c.Result.Replies[:1]
	}
	wait := HumanDuration(c.Result.Handoff.Decision.Action.SLA, c.Locale)
	c.Reply(strings.ReplaceAll(r.text("handoff_mild_followup", c.Locale), "{wait}", wait))
}

// locale picks the reply locale: what the channel says, else what the text
// is written in, else what the conversation used before, else the default.
// Text in Simplified characters only does not switch a zh-Hant customer,
// because short Traditional phrases ("你好") often look Simplified.
func (r *Router) locale(prev, channel, text string) string {
	if slices.Contains(Locales, channel) {
		return channel
	}
	detected := segment.DetectLocale(text)
	switch {
	case detected == "zh-Hans" && prev == "zh-Hant":
		return prev
	case detected == "en" && prev != "" && !isMostlyLatinWords(text):
		// A model number or "OK" inside Chinese chat is not a switch to English.
		return prev
	case detected != "":
		return detected
	case prev != "":
		return prev
	}
	return r.opts.DefaultLocale
}

// isMostlyLatinWords reports whether text holds at least two latin words,
// enough to believe the customer writes English.
func isMostlyLatinWords(text string) bool {
	words := 0
	for _, f := range strings.Fields(text) {
		letters := 0
		for _, c := range f {
			if c < 128 && (c|0x20) >= 'a' && (c|0x20) <= 'z' {
				letters++
			}
		}
		if letters >= 2 {
			words++
		}
	}
	return words >= 2
}

// Text returns the reply text stored under key in locale ("" for the
// default locale), for messages the bot sends outside a turn.
func (r *Router) Text(key, locale string) string { return r.text(key, locale) }

// text returns the reply text for key in locale, falling back through the
// other locales so a missing translation never yields an empty message.
func (r *Router) text(key, locale string) string {
	texts := r.opts.Replies[key]
	if t := texts[locale]; t != "" {
		return t
	}
	if t := texts[r.opts.DefaultLocale]; t != "" {
		return t
	}
	for _, l := range Locales {
		if t := texts[l]; t != "" {
			return t
		}
	}
	return key
}
