package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const emotionReviews = `label,review
1,很好吃，下次还来
1,好吃又实惠
1,味道好吃，送得快
1,超级好吃
0,太难吃了
0,难吃，再也不点了
0,难吃还送晚了
0,真难吃
`

const emotionTiers = `text,tier
请问什么时候发货,none
物流有点慢,mild
质量太差了，我要投诉,moderate
再不处理我就打12315,severe
`

func TestEmotionEval(t *testing.T) {
	dir := writeFiles(t, map[string]string{"reviews.csv": emotionReviews, "tiers.csv": emotionTiers})
	code, out, errOut := runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "reviews.csv"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"accuracy", "macro_f1", "neg_precision", "neg_recall", "tier_accuracy", "tier_recall", "msgs_per_sec"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if res["accuracy"].(float64) < 0.75 || res["tier_accuracy"] != nil {
		t.Errorf("binary results %v", res)
	}

	code, out, errOut = runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "tiers.csv"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res = nil
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res["tier_accuracy"].(float64) != 1 || res["tier_recall"].(map[string]any)["severe"].(float64) != 1 || res["accuracy"] != nil {
		t.Errorf("tier results %v", res)
	}

	code, out, _ = runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "tiers.csv"), "--errors")
	for _, want := range []string{"tier accuracy", "100.0%", "severe", "msgs/s"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("text output lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if code, _, errOut = runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errOut, "missing.csv") {
		t.Errorf("missing file: exit %d %s", code, errOut)
	}
	if code, _, _ = runCLI(t, "emotion", "eval"); code != 2 {
		t.Errorf("no --data: exit %d, want 2", code)
	}
	if code, _, _ = runCLI(t, "emotion"); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
	if code, _, _ = runCLI(t, "emotion", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}

func TestEmotionTrainThenEvalAndScore(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"reviews.csv": emotionReviews,
		"tiers.csv":   emotionTiers,
		"shop.yaml":   "complaints: {发货这么慢: -0.6}\n",
	})
	model := filepath.Join(dir, "model.gz")
	code, _, errOut := runCLI(t, "emotion", "train", "--data", filepath.Join(dir, "reviews.csv"), "--out", model, "--min-count", "1")
	if code != 0 || !strings.Contains(errOut, "trained on 8 reviews (4 positive)") {
		t.Fatalf("train: exit %d %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "reviews.csv"), "--model", model, "--json")
	if code != 0 {
		t.Fatalf("eval with model: exit %d %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["accuracy"].(float64) != 1 {
		t.Errorf("eval with model: %v %s", err, out)
	}
	code, out, errOut = runCLI(t, "emotion", "score", "--model", model, "--lexicon", filepath.Join(dir, "shop.yaml"), "这家难吃", "发货这么慢")
	if code != 0 {
		t.Fatalf("score: exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"model"`) || !strings.Contains(lines[1], `"tier":"moderate"`) {
		t.Errorf("score output:\n%s", out)
	}
	if code, _, errOut = runCLI(t, "emotion", "train", "--data", filepath.Join(dir, "tiers.csv"), "--out", model); code != 2 || !strings.Contains(errOut, "label,review") {
		t.Errorf("training on tier data: exit %d %s", code, errOut)
	}
	if code, _, errOut = runCLI(t, "emotion", "eval", "--data", filepath.Join(dir, "tiers.csv"), "--model", filepath.Join(dir, "reviews.csv")); code != 1 || !strings.Contains(errOut, "model") {
		t.Errorf("a CSV as model: exit %d %s", code, errOut)
	}
}
