package configs

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"
)

// ReplyKeys are the reply texts the dialog needs; each must exist in every
// locale.
var ReplyKeys = []string{"greeting", "help", "clarify", "fallback", "empty", "unknown_button", "button_help",
	"handoff_mild", "handoff_mild_followup", "handoff_moderate", "handoff_severe", "handoff_waiting", "handoff_joined", "handoff_resolved",
	"csat_prompt", "csat_thanks", "followup", "staff_alert"}

// Replies maps a reply key to its text per locale.
type Replies map[string]map[string]string

// LoadReplies parses the embedded replies.yaml and checks that every key
// has a non-empty text in every locale.
func LoadReplies() (Replies, error) {
	data, err := FS.ReadFile(RepliesFile)
	if err != nil {
		return nil, fmt.Errorf("read embedded %s: %w", RepliesFile, err)
	}
	return ParseReplies(data, RepliesFile)
}

// ParseReplies parses reply texts from data; source names it in errors.
func ParseReplies(data []byte, source string) (Replies, error) {
	var r Replies
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var errs []error
	for _, key := range ReplyKeys {
		for _, loc := range Locales {
			if r[key][loc] == "" {
				errs = append(errs, fmt.Errorf("%s: %s.%s: missing text", source, key, loc))
			}
		}
	}
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(ReplyKeys, k) {
			errs = append(errs, fmt.Errorf("%s: unknown reply key %q", source, k))
		}
	}
	return r, errors.Join(errs...)
}
