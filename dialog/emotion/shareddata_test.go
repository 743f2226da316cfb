package emotion

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedEmotion finds the benchmark review sets (see
// /work/shared/data/README.md) and skips the test when they are absent:
// they are public data sets that must not be copied into this repository.
func sharedEmotion(t testing.TB) string {
	t.Helper()
	for _, dir := range []string{"../../../shared/data/emotion", "/work/shared/data/emotion"} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Skip("shared emotion data not found (../../../shared/data/emotion)")
	return ""
}

func readSharedReviews(t testing.TB, dir, name string) []Example {
	t.Helper()
	d, err := ReadDatasetFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return d.Binary
}

// TestSharedDataEval guards binary accuracy on the review sets, lexicon
// alone and with a model trained on the other set (the cross-domain case).
// The floors are the reached accuracies less about 1.5 points; the numbers
// and commands are in docs/emotion.md.
func TestSharedDataEval(t *testing.T) {
	dir := sharedEmotion(t)
	if testing.Short() {
		t.Skip("-short")
	}
	waimai := readSharedReviews(t, dir, "waimai_10k.csv")
	shopping := readSharedReviews(t, dir, "shopping_5cats.csv")
	// The first 3,851 reviews are the books category, the domain furthest
	// from the others (docs/emotion.md, leave-one-domain-out).
	books := shopping[:3851]
	lexOnly := newTestScorer(t, Options{})
	for _, tt := range []struct {
		name  string
		train []Example
		test  []Example
		floor float64
	}{
		// Reached 0.870, 0.904 and 0.760 with the lexicon alone.
		{"waimai lexicon", nil, waimai, 0.855},
		{"shopping lexicon", nil, shopping, 0.89},
		{"books lexicon", nil, books, 0.745},
		// Reached 0.875 and 0.901 with the default model weight, 0.4.
		{"waimai model from shopping", shopping, waimai, 0.86},
		{"shopping model from waimai", waimai, shopping, 0.885},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := lexOnly
			if tt.train != nil {
				m, err := TrainModel(nil, tt.train, TrainOptions{})
				if err != nil {
					t.Fatal(err)
				}
				s = newTestScorer(t, Options{Model: m})
			}
			ev := s.Evaluate(Dataset{Binary: tt.test})
			t.Logf("accuracy %.4f macro-F1 %.4f neg P %.3f R %.3f, %.0f msgs/s", *ev.Accuracy, *ev.MacroF1, *ev.NegPrecision, *ev.NegRecall, ev.MsgsPerSec)
			if *ev.Accuracy < tt.floor {
				t.Errorf("accuracy %.4f below the floor %.2f", *ev.Accuracy, tt.floor)
			}
		})
	}
}
