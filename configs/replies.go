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
	"csat_prompt", "csat_thanks", "followup", "staff_alert",
	"loyalty_balance", "loyalty_progress", "loyalty_top_tier", "loyalty_expiring", "loyalty_frozen", "loyalty_checkin", "loyalty_checkin_bonus", "loyalty_checkin_already", "loyalty_rewards", "loyalty_rewards_empty", "loyalty_rewards_item", "loyalty_rewards_hint", "loyalty_redeem_confirm", "loyalty_redeemed", "loyalty_redeem_cancelled", "loyalty_redeem_failed", "loyalty_reason_insufficient", "loyalty_reason_out_of_stock", "loyalty_reason_limit", "loyalty_reason_not_eligible", "loyalty_reason_frozen", "loyalty_reason_unknown", "loyalty_coupons", "loyalty_coupon_item", "loyalty_coupons_empty", "loyalty_membership", "loyalty_not_joined", "loyalty_refer", "loyalty_referred", "loyalty_referral_bad", "loyalty_link_code", "loyalty_linked", "loyalty_link_bad", "loyalty_unsubscribed", "loyalty_subscribed", "loyalty_join_name", "loyalty_join_name_bad", "loyalty_join_birthday", "loyalty_join_birthday_bad", "loyalty_join_consent", "loyalty_joined", "loyalty_join_cancelled", "loyalty_already_joined", "loyalty_invalid", "loyalty_private_only", "loyalty_upgrade", "loyalty_compensation", "button_yes", "button_no", "button_confirm", "button_cancel", "button_join",
	"loyalty_reason_birthday", "loyalty_reason_link_code", "loyalty_reason_invalid", "loyalty_welcome",
	"unsupported", "group_hello", "group_welcome",
	"care_name_fallback", "care_unsubscribe", "care_birthday", "care_birthday_plain", "care_recall", "care_recall_second", "care_recall_plain",
	"care_recall_reason", "care_recall_reason_category", "care_nps", "care_nps_thanks", "care_survey_sorry", "care_survey_points",
	"care_new_member", "care_new_member_good", "care_new_member_help", "care_expiry", "button_all_good", "button_need_help",
	"staff_followup_failed", "staff_weekly_report", "flood_notice"}

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
