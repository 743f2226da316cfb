package emotion

import (
	"testing"
	"time"

	"github.com/carebot/carebot/segment"
)

// chatTexts returns the messages of our chat sets: realistic customer
// messages in the three locales, a quarter of them Traditional.
func chatTexts(b *testing.B) []string {
	b.Helper()
	var texts []string
	for _, f := range []string{"testdata/chat_tiers.csv", "testdata/chat_holdout.csv"} {
		d, err := ReadDatasetFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range d.Tiers {
			texts = append(texts, e.Text)
		}
	}
	return texts
}

// BenchmarkScore measures Score on chat messages with the lexicon alone;
// the goal is 50,000 messages per second per core, 20 µs a message.
func BenchmarkScore(b *testing.B) {
	s := newTestScorer(b, Options{})
	texts := chatTexts(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Score(texts[i%len(texts)])
		i++
	}
}

// BenchmarkScoreModel adds a bigram model trained on the chat messages
// themselves: its cost is a map lookup per n-gram whatever it learnt.
func BenchmarkScoreModel(b *testing.B) {
	texts := chatTexts(b)
	ex := make([]Example, len(texts))
	for i, t := range texts {
		ex[i] = Example{Text: t, Positive: i%2 == 0}
	}
	m, err := TrainModel(nil, ex, TrainOptions{MinCount: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := newTestScorer(b, Options{Model: m})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Score(texts[i%len(texts)])
		i++
	}
}

func BenchmarkObserve(b *testing.B) {
	s := newTestScorer(b, Options{})
	texts := chatTexts(b)
	var c Conversation
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Observe(&c, texts[i%len(texts)], now)
		i++
	}
}

// BenchmarkJiebaCut is the alternative the lexicon scan replaced: cutting
// the same messages into words with jieba, before any lexicon lookup.
func BenchmarkJiebaCut(b *testing.B) {
	seg, err := segment.Shared("")
	if err != nil {
		b.Skip("jieba dictionary not found:", err)
	}
	texts := chatTexts(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		seg.Cut(texts[i%len(texts)])
		i++
	}
}
