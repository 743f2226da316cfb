package wechat

import "testing"

func TestParseChoice(t *testing.T) {
	for in, want := range map[string]int{
		"1": 1, " 2 ": 2, "３": 3, "12": 12, "2.": 2, "2、": 2, "2）": 2,
		"": 0, "0": 0, "123": 0, "a": 0, "1a": 0, "二": 0, "-1": 0, "1 2": 0,
	} {
		if got := parseChoice(in); got != want {
			t.Errorf("parseChoice(%q) = %d, want %d", in, got, want)
		}
	}
}
