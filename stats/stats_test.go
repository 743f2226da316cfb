package stats

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "carebot.db"), store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var cst = time.FixedZone("CST", 8*3600)

func TestCountersByLocalDay(t *testing.T) {
	st := openStore(t)
	r := New(cst)
	// 23:30 UTC on the 22nd is 07:30 on the 23rd in Shanghai.
	events := []struct {
		at    time.Time
		dim   string
		delta int64
	}{
		{time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), "red", 1},
		{time.Date(2026, 11, 23, 9, 0, 0, 0, cst), "red", 2},
		{time.Date(2026, 11, 23, 9, 0, 0, 0, cst), "green", 5},
		{time.Date(2026, 11, 25, 9, 0, 0, 0, cst), "green", 1},
		{time.Date(2026, 11, 25, 9, 0, 0, 0, cst), "green", -1}, // a correction
		{time.Date(2026, 11, 26, 9, 0, 0, 0, cst), "green", 7},  // outside the range read
	}
	if err := st.Update(func(tx store.Tx) error {
		for _, e := range events {
			if err := r.Add(tx, "messages", e.dim, e.at, e.delta); err != nil {
				return err
			}
		}
		return r.Add(tx, "messages2", "red", events[0].at, 9) // a metric sharing the prefix
	}); err != nil {
		t.Fatal(err)
	}
	var s Series
	if err := st.View(func(tx store.Tx) error {
		var err error
		s, err = Read(tx, "messages", "2026-11-23", "2026-11-25")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(s.Days) != 3 || s.Days[0] != "2026-11-23" || s.Days[2] != "2026-11-25" {
		t.Fatalf("days %v", s.Days)
	}
	if got := s.Values["red"]; got[0] != 3 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("red %v", got)
	}
	if got := s.Values["green"]; got[0] != 5 || got[2] != 0 {
		t.Fatalf("green %v", got)
	}
	if s.Total("green") != 5 || len(s.Dims()) != 2 {
		t.Fatalf("total %d dims %v", s.Total("green"), s.Dims())
	}
	for _, bad := range [][2]string{{"2026-11-25", "2026-11-23"}, {"yesterday", "2026-11-23"}, {"2000-01-01", "2026-01-01"}} {
		if _, err := Days(bad[0], bad[1]); err == nil {
			t.Errorf("Days(%s, %s) accepted", bad[0], bad[1])
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	st := openStore(t)
	r := New(cst)
	day := time.Date(2026, 11, 23, 12, 0, 0, 0, cst)
	// 1..1000 seconds to claim: the median is 500, p90 900.
	if err := st.Update(func(tx store.Tx) error {
		for v := 1; v <= 1000; v++ {
			if err := r.Observe(tx, "claim", "mild", day, float64(v)); err != nil {
				return err
			}
		}
		return r.Observe(tx, "claim", "severe", day.AddDate(0, 0, 1), 60)
	}); err != nil {
		t.Fatal(err)
	}
	var s Series
	_ = st.View(func(tx store.Tx) error {
		var err error
		s, err = Read(tx, "claim", "2026-11-23", "2026-11-24")
		return err
	})
	for _, c := range []struct {
		q, want float64
	}{{0.5, 500}, {0.9, 900}} {
		got, n := s.Quantile("mild", c.q)
		if n != 1000 || math.Abs(got-c.want)/c.want > 0.1 {
			t.Errorf("q%.1f = %.0f (n %d), want %.0f ±10%%", c.q, got, n, c.want)
		}
	}
	if got, n := s.QuantileAt("severe", 0.5, 1); n != 1 || math.Abs(got-60)/60 > 0.1 {
		t.Errorf("severe median on day 2 = %.1f (n %d)", got, n)
	}
	if got, n := s.QuantileAt("severe", 0.5, 0); n != 0 || !math.IsNaN(got) {
		t.Errorf("no severe on day 1: %v %d", got, n)
	}
	if err := st.Update(func(tx store.Tx) error { return r.Observe(tx, "claim", "mild", day, -1) }); err == nil {
		t.Error("a negative duration was accepted")
	}
}

// BenchmarkReadYear reads a year of a metric with five dimensions, the
// size of a dashboard chart.
func BenchmarkReadYear(b *testing.B) {
	st := openStore(b)
	r := New(cst)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, cst)
	if err := st.Update(func(tx store.Tx) error {
		for d := range 365 {
			for _, dim := range []string{"green", "yellow", "red", "none", "x"} {
				if err := r.Add(tx, "messages", dim, start.AddDate(0, 0, d), int64(d+1)); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := st.View(func(tx store.Tx) error {
			_, err := Read(tx, "messages", "2026-01-01", "2026-12-31")
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
