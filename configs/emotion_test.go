package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmotionValidate(t *testing.T) {
	dir := t.TempDir()
	lex := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(lex, []byte("words: {给力: 0.8}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := Emotion{
		Lexicons:        []string{lex},
		ModelWeight:     0.4,
		HalfLife:        Duration(10 * time.Minute),
		TurnDecay:       0.6,
		MildBelow:       -0.2,
		ModerateBelow:   -0.7,
		PositiveAbove:   0.2,
		RecentQuestions: 8,
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	for _, tt := range []struct {
		key    string
		change func(*Emotion)
	}{
		{"lexicons[0]", func(e *Emotion) { e.Lexicons = []string{filepath.Join(dir, "missing.yaml")} }},
		{"lexicons[0]", func(e *Emotion) { e.Lexicons = []string{dir} }},
		{"model", func(e *Emotion) { e.Model = filepath.Join(dir, "missing.model") }},
		{"model_weight", func(e *Emotion) { e.ModelWeight = 1.5 }},
		{"model_weight", func(e *Emotion) { e.Model, e.ModelWeight = lex, 0 }},
		{"half_life", func(e *Emotion) { e.HalfLife = 0 }},
		{"turn_decay", func(e *Emotion) { e.TurnDecay = 1 }},
		{"mild_below", func(e *Emotion) { e.MildBelow, e.ModerateBelow = -0.8, -0.5 }},
		{"positive_above", func(e *Emotion) { e.PositiveAbove = 0 }},
		{"recent_questions", func(e *Emotion) { e.RecentQuestions = 0 }},
	} {
		e := good
		tt.change(&e)
		err := e.Validate()
		if err == nil || !strings.Contains(err.Error(), "emotion."+tt.key) {
			t.Errorf("%s: error %v does not name the key", tt.key, err)
		}
	}
}

func TestEmotionLexiconsEmbedded(t *testing.T) {
	entries, err := FS.ReadDir(EmotionDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"zh.yaml", "en.yaml", "emoji.yaml", "zh-hant.yaml"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("embedded %s lacks %s", EmotionDir, want)
		}
	}
}
