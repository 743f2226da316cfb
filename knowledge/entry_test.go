package knowledge

import "testing"

func TestLocaleFallback(t *testing.T) {
	all := map[string]string{LocaleHans: "简", LocaleHant: "繁", LocaleEn: "en"}
	tests := []struct {
		name   string
		m      map[string]string
		locale string
		want   string
	}{
		{"exact", all, LocaleHant, "繁"},
		{"hant falls back to hans", map[string]string{LocaleHans: "简", LocaleEn: "en"}, LocaleHant, "简"},
		{"hans falls back to hant", map[string]string{LocaleHant: "繁", LocaleEn: "en"}, LocaleHans, "繁"},
		{"en falls back to hans first", map[string]string{LocaleHans: "简", LocaleHant: "繁"}, LocaleEn, "简"},
		{"chinese falls back to en", map[string]string{LocaleEn: "en"}, LocaleHant, "en"},
		{"device tag zh-TW", all, "zh-TW", "繁"},
		{"device tag zh_CN", all, "zh_CN", "简"},
		{"device tag en-GB", all, "en-GB", "en"},
		{"unknown locale takes the first known", all, "fr", "简"},
		{"empty value is skipped", map[string]string{LocaleHant: "", LocaleHans: "简"}, LocaleHant, "简"},
		{"only an unknown key", map[string]string{"ja": "日"}, LocaleEn, "日"},
		{"nothing", nil, LocaleEn, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entry{Answer: tt.m}
			if got := e.AnswerFor(tt.locale); got != tt.want {
				t.Errorf("AnswerFor(%q) = %q, want %q", tt.locale, got, tt.want)
			}
			if got := (Button{Label: tt.m}).LabelFor(tt.locale); got != tt.want {
				t.Errorf("LabelFor(%q) = %q, want %q", tt.locale, got, tt.want)
			}
		})
	}
}

func TestStandardQuestion(t *testing.T) {
	e := &Entry{Questions: map[string][]string{
		LocaleHans: {"运费怎么算？", "包邮吗"},
		LocaleEn:   {"How much is shipping?"},
		LocaleHant: {},
	}}
	tests := []struct{ locale, want string }{
		{LocaleHans, "运费怎么算？"},
		{LocaleHant, "运费怎么算？"}, // empty list falls back
		{LocaleEn, "How much is shipping?"},
		{"", "运费怎么算？"},
	}
	for _, tt := range tests {
		if got := e.StandardQuestion(tt.locale); got != tt.want {
			t.Errorf("StandardQuestion(%q) = %q, want %q", tt.locale, got, tt.want)
		}
	}
	if got := (&Entry{}).StandardQuestion(LocaleEn); got != "" {
		t.Errorf("StandardQuestion of an entry without questions = %q", got)
	}
}
