package dialog

import "strings"

// eventTurn answers what is not a customer's message (a follow, a sticker,
// a new group member) and keeps the bot quiet in groups unless it is
// addressed. It reports whether it handled the turn.
func (r *Router) eventTurn(c *Context) bool {
	switch c.Turn.Event {
	case "", "message":
	case EventFollow:
		c.Result.Route = "follow"
		greet(c)
		return true
	case EventUnsupported:
		c.Result.Route = "unsupported"
		if !c.Turn.Group || c.Turn.Mentioned {
			c.Say("unsupported", c.helpButton())
		}
		return true
	case EventJoin:
		c.Result.Route = "group-join"
		c.Say("group_hello")
		return true
	case EventMemberJoined:
		c.Result.Route = "group-welcome"
		switch r.opts.GroupWelcome {
		case "-":
		case "":
			c.Say("group_welcome")
		default:
			c.Reply(r.opts.GroupWelcome)
		}
		return true
	default:
		// unfollow, leave: nothing to say.
		c.Result.Route = c.Turn.Event
		return true
	}
	if !c.Turn.Group || c.Turn.Mentioned || c.Turn.Payload != "" {
		return false
	}
	// A group message not meant for the bot: loyalty commands (签到 is
	// a group habit) are answered in private; everything else only when a
	// keyword says the group asks the shop something.
	if r.opts.Loyalty && loyaltyCommand(c) != nil {
		return false
	}
	for _, k := range r.opts.GroupKeywords {
		if k != "" && strings.Contains(c.Norm, strings.ToLower(k)) {
			return false
		}
	}
	c.Result.Route = "group-silent"
	return true
}
