package knowledge

import (
	"slices"
	"strings"
)

// The locales a knowledge base may use. They match what
// segment.DetectLocale returns.
const (
	LocaleHans = "zh-Hans" // Simplified Chinese
	LocaleHant = "zh-Hant" // Traditional Chinese
	LocaleEn   = "en"      // English
)

// locales lists the allowed locales in the order used when nothing closer
// to the wanted locale exists.
var locales = [...]string{LocaleHans, LocaleHant, LocaleEn}

func isLocale(s string) bool { return slices.Contains(locales[:], s) }

// Button is a quick reply offered with an answer.
type Button struct {
	// Label is the button text per locale.
	Label map[string]string `yaml:"label"`
	// Payload is what the channel sends back when the button is pressed;
	// "faq:<id>" answers the entry with that id. Empty for a link.
	Payload string `yaml:"payload,omitempty"`
	// URL makes the button a link (https) that opens in the browser.
	URL string `yaml:"url,omitempty"`
}

// Entry is one FAQ: the ways customers ask it, per locale, and the answer.
type Entry struct {
	// ID is unique in the knowledge base, matching ^[a-z0-9][a-z0-9-]*$.
	ID string `yaml:"id"`
	// Tags group entries for reports; retrieval ignores them.
	Tags []string `yaml:"tags,omitempty"`
	// Questions lists phrasings per locale; the first of a locale is the
	// standard question shown on buttons.
	Questions map[string][]string `yaml:"questions"`
	// Answer is the reply per locale.
	Answer map[string]string `yaml:"answer"`
	// Buttons are quick replies and links sent with the answer.
	Buttons []Button `yaml:"buttons,omitempty"`
	// Image is the https URL of a picture sent with the answer (a size
	// chart, a map to the shop).
	Image string `yaml:"image,omitempty"`
}

// AnswerFor returns the answer in locale, or the closest one there is (see
// pickLocale).
func (e *Entry) AnswerFor(locale string) string {
	return pickLocale(e.Answer, locale, func(s string) bool { return s != "" })
}

// LabelFor returns the button's label in locale, or the closest one there
// is (see pickLocale).
func (b Button) LabelFor(locale string) string {
	return pickLocale(b.Label, locale, func(s string) bool { return s != "" })
}

// StandardQuestion returns the first question of locale, or of the closest
// locale there is (see pickLocale).
func (e *Entry) StandardQuestion(locale string) string {
	qs := pickLocale(e.Questions, locale, func(qs []string) bool { return len(qs) > 0 && qs[0] != "" })
	if len(qs) == 0 {
		return ""
	}
	return qs[0]
}

// pickLocale returns the first usable value in this order: locale itself;
// its canonical form (zh-CN→zh-Hans, zh-TW→zh-Hant, en-GB→en…); the other
// Chinese script, because a reader of one script reads the other far better
// than English; English; then zh-Hans, zh-Hant and any other key in sorted
// order, so that the result never depends on map iteration.
func pickLocale[V any](m map[string]V, locale string, usable func(V) bool) V {
	var zero V
	if len(m) == 0 {
		return zero
	}
	try := func(l string) (V, bool) {
		v, ok := m[l]
		return v, ok && usable(v)
	}
	if v, ok := try(locale); ok {
		return v
	}
	canon := canonicalLocale(locale)
	order := make([]string, 0, 8)
	order = append(order, canon)
	switch canon {
	case LocaleHant:
		order = append(order, LocaleHans)
	case LocaleHans:
		order = append(order, LocaleHant)
	}
	order = append(order, locales[:]...)
	for _, l := range order {
		if v, ok := try(l); ok {
			return v
		}
	}
	rest := make([]string, 0, len(m))
	for l := range m {
		rest = append(rest, l)
	}
	slices.Sort(rest)
	for _, l := range rest {
		if v, ok := try(l); ok {
			return v
		}
	}
	return zero
}

// canonicalLocale maps common BCP 47 tags to the knowledge base locales;
// channels report what the customer's device says (zh-CN, zh_TW, en-US),
// not carebot's three locales. Unknown tags are returned unchanged.
func canonicalLocale(tag string) string {
	t := strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
	switch {
	case t == "zh-hans" || strings.HasPrefix(t, "zh-hans-"),
		t == "zh" || t == "zh-cn" || t == "zh-sg" || t == "zh-my":
		return LocaleHans
	case t == "zh-hant" || strings.HasPrefix(t, "zh-hant-"),
		t == "zh-tw" || t == "zh-hk" || t == "zh-mo":
		return LocaleHant
	case t == "en" || strings.HasPrefix(t, "en-"):
		return LocaleEn
	}
	return tag
}
