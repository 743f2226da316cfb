package dialog

import (
	"slices"
	"strings"

	"github.com/carebot/carebot/knowledge"
)

// Button payloads the dialog understands.
const (
	PayloadHelp      = "help"
	PayloadFAQPrefix = "faq:"
)

// greetings and helpWords are compared with the normalised text (Simplified,
// lower case) stripped of punctuation, so "您好！" and "Hello!!" match.
var (
	greetings = []string{"你好", "您好", "你好呀", "您好呀", "在吗", "在不在", "在么", "哈喽", "嗨", "hi", "hello", "hey", "hi there", "hello there", "早上好", "下午好", "晚上好", "good morning", "good afternoon", "good evening", "/start", "哈啰", "客服", "客服在吗", "有人吗"}
	helpWords = []string{"帮助", "help", "/help", "菜单", "menu", "你能做什么", "你会什么", "你可以做什么", "能做什么", "功能", "what can you do", "what can you do for me", "?", "？", "帮忙", "使用说明", "怎么用"}
)

func standardRoutes() []Route {
	return []Route{
		{Name: "empty", Match: isEmpty, Handle: func(c *Context) { c.Say("empty", c.helpButton()) }},
		{Name: "faq-button", Match: isFAQButton, Handle: answerButton},
		{Name: "help-button", Match: func(c *Context) bool { return c.Turn.Payload == PayloadHelp }, Handle: help},
		{Name: "unknown-button", Match: func(c *Context) bool { return c.Turn.Payload != "" && c.Text == "" }, Handle: func(c *Context) { c.Say("unknown_button", c.helpButton()) }},
		{Name: "greeting", Match: func(c *Context) bool { return inList(greetings, c.Norm) }, Handle: greet},
		{Name: "help", Match: func(c *Context) bool { return inList(helpWords, c.Norm) }, Handle: help},
		{Name: "faq", Match: func(*Context) bool { return true }, Handle: answerFAQ},
	}
}

func isEmpty(c *Context) bool {
	return c.Turn.Payload == "" && strings.TrimFunc(c.Text, isSpaceOrPunct) == ""
}

func isFAQButton(c *Context) bool {
	id, ok := strings.CutPrefix(c.Turn.Payload, PayloadFAQPrefix)
	if !ok {
		return false
	}
	_, found := c.Knowledge().Entry(id)
	return found
}

func inList(list []string, norm string) bool {
	s := strings.TrimFunc(norm, isSpaceOrPunct)
	s = strings.Join(strings.Fields(s), " ")
	return slices.Contains(list, s)
}

func isSpaceOrPunct(r rune) bool {
	return strings.ContainsRune(" \t\r\n.,!?;:~…。，！？；：、~～·'\"“”‘’()（）[]【】<>《》-_—=+*/\\|@#$%^&", r)
}

func (c *Context) helpButton() Button {
	return Button{Label: c.router.text("button_help", c.Locale), Payload: PayloadHelp}
}

// faqButton offers entry as a quick reply labelled with its standard
// question in the customer's locale.
func (c *Context) faqButton(e *knowledge.Entry) Button {
	return Button{Label: e.StandardQuestion(c.Locale), Payload: PayloadFAQPrefix + e.ID}
}

func greet(c *Context) {
	var buttons []Button
	for _, id := range c.view.featured {
		if e, ok := c.Knowledge().Entry(id); ok {
			buttons = append(buttons, c.faqButton(e))
		}
	}
	c.Say("greeting", append(buttons, c.helpButton())...)
}

func help(c *Context) {
	c.Say("help")
}

func answerButton(c *Context) {
	id := strings.TrimPrefix(c.Turn.Payload, PayloadFAQPrefix)
	e, _ := c.Knowledge().Entry(id)
	answer(c, knowledge.Match{Entry: e, Score: 1, Question: e.StandardQuestion(c.Locale)})
}

func answer(c *Context, m knowledge.Match) {
	var buttons []Button
	for _, b := range m.Entry.Buttons {
		buttons = append(buttons, Button{Label: b.LabelFor(c.Locale), Payload: b.Payload, URL: b.URL})
	}
	c.Reply(m.Entry.AnswerFor(c.Locale), buttons...)
	if m.Entry.Image != "" {
		c.Result.Replies[len(c.Result.Replies)-1].Image = m.Entry.Image
	}
	c.Result.Outcome = OutcomeAnswered
	c.Result.Match = &m
	c.State.LastFAQ = m.Entry.ID
}

func answerFAQ(c *Context) {
	c.Result.Query = c.Norm
	d := c.Knowledge().Decide(c.Text, c.router.opts.Suggestions)
	c.Result.Nearest = d.Matches
	switch d.Outcome {
	case knowledge.OutcomeAnswer:
		answer(c, d.Matches[0])
	case knowledge.OutcomeClarify:
		buttons := make([]Button, 0, len(d.Matches))
		for _, m := range d.Matches {
			buttons = append(buttons, c.faqButton(m.Entry))
		}
		c.Say("clarify", buttons...)
		c.Result.Outcome = OutcomeClarify
	default:
		buttons := []Button{c.helpButton()}
		if h := c.view.human; h != nil {
			buttons = append(buttons, c.faqButton(h))
		}
		c.Say("fallback", buttons...)
		c.Result.Outcome = OutcomeUnanswered
	}
}
