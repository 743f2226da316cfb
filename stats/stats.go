// Package stats keeps daily aggregates as events happen, so that the
// manager's dashboard reads a few hundred counters instead of scanning
// millions of messages, tickets and ledger entries.
//
// A counter is (metric, local day, dimension) → int64, written in the
// transaction of the event it counts, so it can never disagree with the
// data. A histogram is a set of counters whose dimension carries a bucket
// of a geometric scale; quantiles (the median time to claim a ticket) are
// read from it with a relative error under 10%.
package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/store"
)

// metric \0 day \0 dim → int64 (big-endian two's complement).
var bucketDaily = store.RegisterBucket("stats", "stats_daily")

// DayLayout is how days are written.
const DayLayout = "2006-01-02"

// Recorder writes and reads counters in one zone's days.
type Recorder struct {
	loc *time.Location
}

// New returns a recorder whose days are local to loc (UTC when nil).
func New(loc *time.Location) *Recorder {
	if loc == nil {
		loc = time.UTC
	}
	return &Recorder{loc: loc}
}

// Location is the zone of the recorder's days.
func (r *Recorder) Location() *time.Location { return r.loc }

// Day is t's local day.
func (r *Recorder) Day(t time.Time) string { return t.In(r.loc).Format(DayLayout) }

func key(metric, day, dim string) []byte {
	return store.Key(metric, day, dim)
}

func checkName(metric, dim string) error {
	if metric == "" || strings.ContainsRune(metric, 0) || strings.ContainsRune(dim, 0) {
		return fmt.Errorf("stats: bad metric %q or dimension %q", metric, dim)
	}
	return nil
}

// Add adds delta to the counter (metric, t's day, dim).
func (r *Recorder) Add(tx store.Tx, metric, dim string, t time.Time, delta int64) error {
	if delta == 0 {
		return nil
	}
	if err := checkName(metric, dim); err != nil {
		return err
	}
	k := key(metric, r.Day(t), dim)
	var n int64
	if v := tx.Get(bucketDaily, k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n+delta))
	if err := tx.Put(bucketDaily, k, buf[:]); err != nil {
		return fmt.Errorf("stats %s: %w", metric, err)
	}
	return nil
}

// Series is a metric's counters over days: Days[i] is the local day and
// Values[dim][i] its count.
type Series struct {
	Days   []string
	Values map[string][]int64
}

// Dims returns the series' dimensions, sorted.
func (s Series) Dims() []string {
	out := make([]string, 0, len(s.Values))
	for d := range s.Values {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Total sums dim over all days.
func (s Series) Total(dim string) int64 {
	var n int64
	for _, v := range s.Values[dim] {
		n += v
	}
	return n
}

// Days lists the local days from from to to inclusive (at most 3660).
func Days(from, to string) ([]string, error) {
	f, err1 := time.Parse(DayLayout, from)
	t, err2 := time.Parse(DayLayout, to)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("stats: days %q to %q are not YYYY-MM-DD", from, to)
	}
	if t.Before(f) {
		return nil, errors.New("stats: the range ends before it starts")
	}
	if t.Sub(f) > 3660*24*time.Hour {
		return nil, errors.New("stats: a range of at most ten years")
	}
	var out []string
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(DayLayout))
	}
	return out, nil
}

// Read returns metric's counters for the days from to to (inclusive,
// "YYYY-MM-DD"); days without counts are zero.
func Read(tx store.Tx, metric, from, to string) (Series, error) {
	days, err := Days(from, to)
	if err != nil {
		return Series{}, err
	}
	s := Series{Days: days, Values: map[string][]int64{}}
	index := make(map[string]int, len(days))
	for i, d := range days {
		index[d] = i
	}
	prefix := store.Prefix(metric)
	start := append(append([]byte{}, prefix...), from...)
	end := append(append([]byte{}, prefix...), to...)
	end = append(end, 1) // past every dimension of the last day
	err = tx.ScanRange(bucketDaily, start, end, func(k, v []byte) error {
		rest := k[len(prefix):]
		day, dim, ok := strings.Cut(string(rest), "\x00")
		i, in := index[day]
		if !ok || !in || len(v) != 8 {
			return nil
		}
		vals := s.Values[dim]
		if vals == nil {
			vals = make([]int64, len(days))
			s.Values[dim] = vals
		}
		vals[i] += int64(binary.BigEndian.Uint64(v))
		return nil
	})
	if err != nil {
		return Series{}, fmt.Errorf("stats %s: %w", metric, err)
	}
	return s, nil
}

// Histograms: dim "<name>\x1f<bucket>", bucket b holding values in
// (base^(b-1), base^b]; values ≤ 1 go to bucket 0.
const (
	histSep  = "\x1f"
	histBase = 1.2
)

// Observe counts one value (≥ 0, e.g. seconds) in the histogram
// (metric, t's day, name).
func (r *Recorder) Observe(tx store.Tx, metric, name string, t time.Time, value float64) error {
	if math.IsNaN(value) || value < 0 {
		return fmt.Errorf("stats: observe %s: value %v", metric, value)
	}
	return r.Add(tx, metric, name+histSep+strconv.Itoa(bucketOf(value)), t, 1)
}

func bucketOf(v float64) int {
	if v <= 1 {
		return 0
	}
	return int(math.Ceil(math.Log(v) / math.Log(histBase)))
}

// bucketValue is a bucket's representative value (its geometric middle).
func bucketValue(b int) float64 {
	if b <= 0 {
		return 1
	}
	return math.Pow(histBase, float64(b)-0.5)
}

// Quantile reads the q-quantile (0–1) of histogram name over the series
// (from Read of the histogram's metric), with the count of values; NaN
// when there are none.
func (s Series) Quantile(name string, q float64) (float64, int64) {
	counts := map[int]int64{}
	var n int64
	for dim, vals := range s.Values {
		h, b, ok := strings.Cut(dim, histSep)
		if !ok || h != name {
			continue
		}
		bi, err := strconv.Atoi(b)
		if err != nil {
			continue
		}
		for _, v := range vals {
			counts[bi] += v
			n += v
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	buckets := make([]int, 0, len(counts))
	for b := range counts {
		buckets = append(buckets, b)
	}
	sort.Ints(buckets)
	rank := int64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen int64
	for _, b := range buckets {
		seen += counts[b]
		if seen >= rank {
			return bucketValue(b), n
		}
	}
	return bucketValue(buckets[len(buckets)-1]), n
}

// QuantileAt is Quantile over the single day i of the series.
func (s Series) QuantileAt(name string, q float64, i int) (float64, int64) {
	one := Series{Days: s.Days[i : i+1], Values: map[string][]int64{}}
	for dim, vals := range s.Values {
		one.Values[dim] = vals[i : i+1]
	}
	return one.Quantile(name, q)
}
