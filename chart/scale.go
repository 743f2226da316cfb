package chart

import (
	"math"
	"strconv"
	"strings"
)

// valueScale maps values to viewBox coordinates along the value axis.
type valueScale struct {
	lo, hi   float64   // the domain: values at the two ends of the axis
	ticks    []float64 // values that get a grid line and a label
	decimals int       // digits after the point in tick labels
	p0, p1   float64   // coordinates of lo and hi (p1 < p0 on a vertical axis)
}

// pos is the coordinate of v, clamped to the axis so that a value outside a
// fixed Min/Max touches the edge instead of running over the legend.
func (s valueScale) pos(v float64) float64 {
	v = math.Max(s.lo, math.Min(s.hi, v))
	return s.p0 + (v-s.lo)/(s.hi-s.lo)*(s.p1-s.p0)
}

// contains reports whether v lies on the axis.
func (s valueScale) contains(v float64) bool { return v >= s.lo && v <= s.hi }

// base is where bars start: zero, or the end of the axis nearest to it.
func (s valueScale) base() float64 { return math.Max(s.lo, math.Min(s.hi, 0)) }

// niceMantissas are the tick steps people read without effort, times 10^n.
var niceMantissas = [...]float64{1, 2, 2.5, 5}

// niceSteps calls f with the nice steps from well below span/10 upwards,
// until f returns true.
func niceSteps(span float64, f func(step float64) bool) {
	e := int(math.Floor(math.Log10(span))) - 2
	for ; e < 310; e++ {
		for _, m := range niceMantissas {
			if f(m * math.Pow10(e)) {
				return
			}
		}
	}
}

// autoScale picks the smallest nice step that covers [lo, hi] with at most 6
// ticks, extending the domain outwards to whole steps. Because consecutive
// nice steps differ by a factor of at most 2, the first step with ≤ 6 ticks
// still has ≥ 4.
func autoScale(lo, hi float64) valueScale {
	if lo == hi {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = lo-d, hi+d
		}
	}
	var s valueScale
	niceSteps(hi-lo, func(step float64) bool {
		a := math.Floor(lo/step + 1e-9)
		b := math.Ceil(hi/step - 1e-9)
		if b-a+1 > 6 {
			return false
		}
		s = valueScale{lo: a * step, hi: b * step, decimals: stepDecimals(step)}
		for k := a; k <= b; k++ {
			s.ticks = append(s.ticks, roundTo(k*step, s.decimals))
		}
		s.lo, s.hi = s.ticks[0], s.ticks[len(s.ticks)-1]
		return true
	})
	return s
}

// fixedScale keeps the caller's domain and puts ticks on the multiples of
// the smallest nice step that gives at most 6 of them inside it.
func fixedScale(lo, hi float64) valueScale {
	s := valueScale{lo: lo, hi: hi}
	niceSteps(hi-lo, func(step float64) bool {
		a := math.Ceil(lo/step - 1e-9)
		b := math.Floor(hi/step + 1e-9)
		if b-a+1 > 6 {
			return false
		}
		s.decimals = stepDecimals(step)
		for k := a; k <= b; k++ {
			s.ticks = append(s.ticks, roundTo(k*step, s.decimals))
		}
		return true
	})
	return s
}

// stepDecimals is the number of decimals that writes every multiple of step
// exactly (0.25 → 2, 2.5 → 1, 20 → 0).
func stepDecimals(step float64) int {
	for d := 0; d < 15; d++ {
		x := step * math.Pow10(d)
		if math.Abs(x-math.Round(x)) < 1e-6*math.Max(1, x) {
			return d
		}
	}
	return 15
}

func roundTo(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // no "-0"
	}
	return r
}

// formatNumber writes v with the given decimals, a thousands separator and a
// true minus sign (U+2212, as wide as a digit and easier to see than a hyphen).
func formatNumber(v float64, decimals int) string {
	v = roundTo(v, decimals)
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if v < 0 {
		b.WriteString("−")
	}
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	b.WriteString(frac)
	return b.String()
}

// formatValue writes a data value with one decimal more than the ticks, but
// without trailing zeros: 82.46 on a 0–100 axis reads "82.5", 45 reads "45".
func formatValue(v float64, tickDecimals int) string {
	d := min(tickDecimals+1, 6)
	s := formatNumber(v, d)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "−0" {
		s = "0"
	}
	return s
}
