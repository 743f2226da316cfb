package emotion

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallReviews is a made-up training set, enough for the model to learn
// that 好吃 and 难吃 differ.
const smallReviews = `label,review
1,很好吃，下次还来
1,好吃又实惠
1,味道好吃，送得快
1,超级好吃
1,"好吃,分量足"
0,太难吃了
0,难吃，再也不点了
0,"难吃,还送晚了"
0,真难吃
0,难吃得要命
`

func TestModelRoundTrip(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "reviews.csv")
	if err := os.WriteFile(csvPath, []byte(smallReviews), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDatasetFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainModel(nil, d.Binary, TrainOptions{MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.gz")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Examples != 10 || loaded.Positives != 5 || len(loaded.Weights) != len(m.Weights) || loaded.Scale != m.Scale {
		t.Fatalf("loaded %+v", loaded)
	}
	for _, tt := range []struct {
		text string
		pos  bool
	}{{"好吃", true}, {"難吃", false}, {"这家真好吃", true}, {"这家真难吃", false}} {
		v := loaded.Value(nil, tt.text)
		if (v > 0) != tt.pos || v != m.Value(nil, tt.text) {
			t.Errorf("Value(%q) = %.3f, want positive %v", tt.text, v, tt.pos)
		}
	}
	// Blended into a scorer: a text the lexicon cannot read gets the
	// model's polarity and a model cue, but no tier.
	s := newTestScorer(t, Options{Model: loaded, ModelWeight: 0.5})
	r := s.Score("这家难吃")
	if !hasCue(r, "model") || r.Value >= 0 {
		t.Errorf("blended: %+v", r)
	}
	if r := s.Score("我的订单号是123"); r.Tier != TierNone {
		t.Errorf("the model set a tier: %+v", r)
	}
}

func TestTrainModelErrors(t *testing.T) {
	if _, err := TrainModel(nil, []Example{{Text: "好", Positive: true}}, TrainOptions{}); err == nil {
		t.Error("one class accepted")
	}
	ex := []Example{{Text: "好", Positive: true}, {Text: "差"}}
	if _, err := TrainModel(nil, ex, TrainOptions{NGrams: 9}); err == nil {
		t.Error("9-grams accepted")
	}
	if _, err := TrainModel(nil, ex, TrainOptions{Words: true}); err == nil {
		t.Error("word features without a segmenter accepted")
	}
}

func TestReadModelRejects(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	for name, data := range map[string][]byte{
		"not gzip":    []byte("hello"),
		"not json":    gz("hello"),
		"version":     gz(`{"version":99,"kind":"naive-bayes","ngrams":2,"scale":1,"weights":{"好":1}}`),
		"kind":        gz(`{"version":1,"kind":"svm","ngrams":2,"scale":1,"weights":{"好":1}}`),
		"scale":       gz(`{"version":1,"kind":"naive-bayes","ngrams":2,"scale":0,"weights":{"好":1}}`),
		"no weights":  gz(`{"version":1,"kind":"naive-bayes","ngrams":2,"scale":1}`),
		"bad n-grams": gz(`{"version":1,"kind":"naive-bayes","ngrams":0,"scale":1,"weights":{"好":1}}`),
	} {
		if _, err := ReadModel(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadModel(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEachGram(t *testing.T) {
	var got []string
	eachGram("很好吃, not bad!", 2, func(g string) { got = append(got, g) })
	want := []string{"很", "好", "很好", "吃", "好吃", "not", "bad", "not bad"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("grams %q, want %q", got, want)
	}
}
