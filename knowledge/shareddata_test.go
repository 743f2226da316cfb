package knowledge

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedFAQ finds the benchmark FAQ sets (see /work/shared/data/README.md)
// and skips the test when they are absent: they are public data sets that
// must not be copied into this repository.
func sharedFAQ(t testing.TB) string {
	t.Helper()
	for _, dir := range []string{"../../shared/data/faq", "/work/shared/data/faq"} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Skip("shared FAQ data not found (../../shared/data/faq)")
	return ""
}

func readShared(t testing.TB, dir, name string) []LabeledQuestion {
	t.Helper()
	qs, err := ReadLabeledCSVFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestSharedDataEval guards the matcher's accuracy on the dev splits of
// the benchmark sets. The floors are what the default scoring reached when
// it was chosen, less about 1.5 points; the numbers are in
// docs/knowledge-base.md.
func TestSharedDataEval(t *testing.T) {
	dir := sharedFAQ(t)
	if testing.Short() {
		t.Skip("-short")
	}
	sets := []struct {
		name, kb, dev, oos string
		top1, oosRejected  float64
		big                bool // skipped under -race
	}{
		// Reached: 0.927, 0.797, 0.926 with 76% of out-of-scope rejected,
		// and 0.365 (before function words weighed 0.7 in the classifier:
		// 0.928, 0.781, 0.928 with 75%, and 0.368).
		{"banking77", "banking77/kb.csv", "banking77/dev.csv", "", 0.915, 0, true},
		{"banking77-kb10", "banking77/kb10.csv", "banking77/dev.csv", "", 0.78, 0, false},
		{"clinc150", "clinc150/kb.csv", "clinc150/dev.csv", "clinc150/oos_dev.csv", 0.915, 0.72, true},
		{"atec-zh", "atec-zh/kb.csv", "atec-zh/dev.csv", "", 0.353, 0, false},
	}
	seg := sharedSeg(t)
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			if s.big && raceEnabled {
				t.Skip("large knowledge base under -race")
			}
			kb, dev := readShared(t, dir, s.kb), readShared(t, dir, s.dev)
			var oos []LabeledQuestion
			if s.oos != "" {
				oos = readShared(t, dir, s.oos)
			}
			res, _, err := EvaluateCSV(seg, kb, dev, oos, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("top-1 %.3f top-3 %.3f answered %.3f (wrong %.3f) clarified %.3f rejected %.3f oos rejected %.2f build %.0f ms",
				res.Top1, res.Top3, res.Answered, res.AnsweredWrong, res.Clarified, res.Rejected, res.OOSRejected, res.BuildMs)
			if res.Top1 < s.top1 {
				t.Errorf("top-1 %.3f is below the floor %.3f", res.Top1, s.top1)
			}
			if len(oos) > 0 && res.OOSRejected < s.oosRejected {
				t.Errorf("out-of-scope rejected %.2f, below the floor %.2f", res.OOSRejected, s.oosRejected)
			}
		})
	}
}

// loadClinc builds the 15,000-question clinc150 knowledge base.
func loadClinc(b *testing.B) ([]Entry, []LabeledQuestion) {
	dir := sharedFAQ(b)
	kb := readShared(b, dir, "clinc150/kb.csv")
	return EntriesFromLabeled(kb), readShared(b, dir, "clinc150/dev.csv")
}

func BenchmarkSearchClinc(b *testing.B) {
	entries, dev := loadClinc(b)
	base, err := NewBase(sharedSeg(b), entries, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		base.Search(dev[i%len(dev)].Text, 3)
		i++
	}
}

func BenchmarkBuildClinc(b *testing.B) {
	entries, _ := loadClinc(b)
	seg := sharedSeg(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewBase(seg, entries, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
