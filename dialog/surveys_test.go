package dialog

import "testing"

func TestParseSurvey(t *testing.T) {
	cases := []struct {
		payload string
		want    SurveyAnswer
		ok      bool
	}{
		{"nps:2026Q4:0", SurveyAnswer{Kind: SurveyNPS, Period: "2026Q4", Score: 0}, true},
		{"nps:2026Q4:10", SurveyAnswer{Kind: SurveyNPS, Period: "2026Q4", Score: 10}, true},
		{"nps:2026Q4:11", SurveyAnswer{}, false},
		{"nps:2026Q4:-1", SurveyAnswer{}, false},
		{"nps:2026Q4", SurveyAnswer{}, false},
		{"nps::5", SurveyAnswer{}, false},
		{"nps:2026q4;DROP:5", SurveyAnswer{}, false},
		{"welcome:2026-11-20:help", SurveyAnswer{Kind: SurveyNewMember, Period: "2026-11-20", Choice: ChoiceHelp}, true},
		{"welcome:2026-11-20:good", SurveyAnswer{Kind: SurveyNewMember, Period: "2026-11-20", Choice: ChoiceGood}, true},
		{"welcome:2026-11-20:maybe", SurveyAnswer{}, false},
		{"csat:1:5", SurveyAnswer{}, false},
		{"", SurveyAnswer{}, false},
	}
	for _, c := range cases {
		got, ok := parseSurvey(c.payload)
		if ok != c.ok || got != c.want {
			t.Errorf("parseSurvey(%q) = %+v, %v; want %+v, %v", c.payload, got, ok, c.want, c.ok)
		}
	}
	bs := NPSButtons("2026Q4")
	if len(bs) != 11 || bs[0].Payload != "nps:2026Q4:0" || bs[10].Label != "10" {
		t.Fatalf("NPS buttons = %+v", bs)
	}
	for _, b := range bs {
		if _, ok := parseSurvey(b.Payload); !ok || len(b.Payload) > 64 {
			t.Errorf("button %q does not parse or is over Telegram's 64 bytes", b.Payload)
		}
	}
}
