package configs

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// loyaltyDefaults mirrors the loyalty section of carebot.yaml, with a
// campaign so that campaign checks have something to test.
const loyaltyDefaults = `
enabled: true
time_zone: Asia/Shanghai
rewards: ""
tiers:
  - {name: regular, label: {zh-Hans: 普通, zh-Hant: 普通, en: Regular}, threshold: 0, multiplier: 1.0, discount: 0, handoff_priority: 0}
  - {name: silver, label: {zh-Hans: 银卡, zh-Hant: 銀卡, en: Silver}, threshold: 2000, multiplier: 1.2, discount: 0.05, handoff_priority: 1}
  - {name: gold, label: {zh-Hans: 金卡, zh-Hant: 金卡, en: Gold}, threshold: 8000, multiplier: 1.5, discount: 0.1, handoff_priority: 2}
  - {name: diamond, label: {zh-Hans: 钻石, zh-Hant: 鑽石, en: Diamond}, threshold: 20000, multiplier: 2.0, discount: 0.15, handoff_priority: 3}
keep_ratio: 0.8
qualify_months: 12
points_per_unit: 1
currency: ""
category_multipliers: {}
campaigns:
  - {name: double-11, from: 2026-11-11, to: 2026-11-11, multiplier: 2}
check_in_points: 10
streak_days: 7
streak_bonus: 100
referrer_points: 200
referee_points: 100
survey_points: 20
lot_months: 12
balance_floor: 0
expiry_notice: 720h
link_code_ttl: 10m
at_risk_after: 1440h
dormant_after: 2160h
new_for: 720h
core_orders: 5
`

func decodeLoyalty(t *testing.T, body string) Loyalty {
	t.Helper()
	var l Loyalty
	dec := yaml.NewDecoder(strings.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return l
}

func TestLoyaltyDefaultsValid(t *testing.T) {
	l := decodeLoyalty(t, loyaltyDefaults)
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(l.Tiers) != 4 || l.Tiers[3].Label["zh-Hant"] != "鑽石" || l.DormantAfter.D().Hours() != 90*24 {
		t.Fatalf("unexpected decode: %+v", l)
	}
	// Once the section is wired into carebot.yaml it must validate too.
	def, err := FS.ReadFile("carebot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(def, &doc); err != nil {
		t.Fatal(err)
	}
	if n, ok := doc["loyalty"]; ok {
		var emb Loyalty
		if err := n.Decode(&emb); err != nil {
			t.Fatal(err)
		}
		if err := emb.Validate(); err != nil {
			t.Fatalf("embedded carebot.yaml loyalty section: %v", err)
		}
	}
}

func TestLoyaltyValidateNamesKeys(t *testing.T) {
	tests := []struct {
		name, replace, with, want string
	}{
		{"zone", "time_zone: Asia/Shanghai", "time_zone: Mars/Olympus", "loyalty.time_zone"},
		{"thresholds", "threshold: 8000", "threshold: 1000", "loyalty.tiers[2].threshold"},
		{"multiplier", "multiplier: 1.2", "multiplier: 0", "loyalty.tiers[1].multiplier"},
		{"discount", "discount: 0.15", "discount: 1.5", "loyalty.tiers[3].discount"},
		{"duplicate tier", "name: gold", "name: silver", `loyalty.tiers[2].name: "silver" is used twice`},
		{"keep", "keep_ratio: 0.8", "keep_ratio: 1.8", "loyalty.keep_ratio"},
		{"campaign date", "to: 2026-11-11", "to: 2026-11-31", "loyalty.campaigns[0].to"},
		{"campaign order", "from: 2026-11-11", "from: 2026-11-12", "is before from"},
		{"floor", "balance_floor: 0", "balance_floor: 100", "loyalty.balance_floor"},
		{"dormant", "dormant_after: 2160h", "dormant_after: 100h", "loyalty.dormant_after"},
		{"ttl", "link_code_ttl: 10m", "link_code_ttl: 0s", "loyalty.link_code_ttl"},
		{"rewards file", `rewards: ""`, "rewards: /nonexistent/rewards.yaml", "loyalty.rewards"},
		{"negative points", "check_in_points: 10", "check_in_points: -1", "loyalty.check_in_points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(loyaltyDefaults, tt.replace) {
				t.Fatalf("defaults lack %q", tt.replace)
			}
			l := decodeLoyalty(t, strings.Replace(loyaltyDefaults, tt.replace, tt.with, 1))
			err := l.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoyaltyUnknownKeyIsReported(t *testing.T) {
	var problems []error
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("loyalty:\n  check_in_pionts: 5\n"), &root); err != nil {
		t.Fatal(err)
	}
	type wrapper struct {
		Loyalty Loyalty `yaml:"loyalty"`
	}
	checkNode(root.Content[0], reflect.TypeFor[wrapper](), "", "test.yaml", &problems)
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), `did you mean "check_in_points"`) {
		t.Fatalf("problems = %v", problems)
	}
}
