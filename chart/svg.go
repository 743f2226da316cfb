package chart

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
)

// palette is the Okabe–Ito palette, ordered so that the first colours are
// the ones with most contrast on white (yellow, the weakest, comes late).
// It stays distinguishable with the common forms of colour blindness.
var palette = [...]string{
	"#0072B2", // blue
	"#E69F00", // orange
	"#009E73", // bluish green
	"#D55E00", // vermillion
	"#56B4E9", // sky blue
	"#CC79A7", // reddish purple
	"#F0E442", // yellow
	"#000000", // black
}

// lineDashes tell apart lines that share a palette colour: the ninth series
// without a Color is blue again, but dashed.
var lineDashes = [...]string{"8 4", "2 3"}

// Colours of the chart furniture: dark enough on white for WCAG AA text.
const (
	colText  = "#222"
	colMuted = "#555"
	colGrid  = "#e3e3e3"
	colZero  = "#888"
	colTgt   = "#333"
)

// Base sizes in viewBox units for a 640-wide chart. 13 units are 7.3 px on
// a 360 px phone, the smallest that stays readable; axis text is larger.
const (
	defaultWidth  = 640
	defaultHeight = 320
	sizeTitle     = 19
	sizeAxis      = 15
	sizeValue     = 13
	sizeNoData    = 18
	unitPad       = 12
	hbarRow       = 30
	maxValueBars  = 12 // value labels on bars only when they are this few
	maxXLabels    = 8  // x labels drawn at most, whatever the width
	lineMarkerMax = 31 // points get a marker only when they are this few
)

// SVG writes the chart as a standalone SVG document (UTF-8, no external
// resources, no script) after checking it with Validate, whose error it
// returns without writing anything. The document is built in memory and
// written with one Write call, so a failed Write leaves at most a prefix.
func (c Chart) SVG(w io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := newRenderer(c)
	r.render()
	_, err := w.Write(r.b.Bytes())
	return err
}

// renderer holds the geometry of one chart while it is drawn.
type renderer struct {
	c      Chart
	b      bytes.Buffer
	w, h   float64
	u      float64  // scale of every size: 1 up to 640 wide, then w/640
	labels []string // labels as drawn
	colors []string // one per series
	dashes []string // per series: a dash pattern for lines whose palette colour repeats
	sc     valueScale
	dates  bool // every label is a date "2006-01-02"
	// plot area
	left, right, top, bottom float64
	legend                   []legendItem
	showValues               bool
}

type legendItem struct {
	name, color, dash string
	x, y, w           float64 // top-left and width of the swatch
}

func newRenderer(c Chart) *renderer {
	r := &renderer{c: c, w: defaultWidth}
	if c.Width != 0 {
		r.w = float64(c.Width)
	}
	r.u = math.Max(1, r.w/defaultWidth)
	r.labels = displayLabels(c.Labels)
	r.dates = len(c.Labels) > 0
	for _, l := range c.Labels {
		r.dates = r.dates && isDate(l)
	}
	k := 0
	for _, s := range c.Series {
		col, dash := strings.TrimSpace(s.Color), ""
		if col == "" {
			col = palette[k%len(palette)]
			if cycle := k / len(palette); cycle > 0 {
				dash = lineDashes[(cycle-1)%len(lineDashes)]
			}
			k++
		}
		r.colors = append(r.colors, col)
		r.dashes = append(r.dashes, dash)
	}
	return r
}

func (r *renderer) px(v float64) float64 { return v * r.u }

// dash scales a dash pattern like "8 4" with the chart.
func (r *renderer) dash(pattern string) string {
	parts := strings.Fields(pattern)
	for i, p := range parts {
		v, _ := strconv.ParseFloat(p, 64)
		parts[i] = fmtNum(r.px(v))
	}
	return strings.Join(parts, " ")
}

// empty reports whether there is nothing to draw.
func (c Chart) empty() bool {
	if len(c.Labels) == 0 {
		return true
	}
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				return false
			}
		}
	}
	return true
}

func (r *renderer) render() {
	switch {
	case r.c.empty():
		r.renderEmpty()
	case r.c.Kind == HBar:
		r.renderHBar()
	default:
		r.renderVertical()
	}
	r.b.WriteString("</svg>\n")
}

// title returns the accessible name: the title, or the kind when untitled.
func (r *renderer) title() string {
	if t := clean(r.c.Title); t != "" {
		return t
	}
	return strings.ToUpper(r.c.Kind.String()[:1]) + r.c.Kind.String()[1:] + " chart"
}

func (r *renderer) header(desc string) {
	b := &r.b
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 `)
	r.num(r.w)
	b.WriteByte(' ')
	r.num(r.h)
	b.WriteString(`" preserveAspectRatio="xMidYMid meet" role="img" aria-label="`)
	r.esc(r.title())
	b.WriteString(`" font-family="system-ui, sans-serif">` + "\n<title>")
	r.esc(r.title())
	b.WriteString("</title>\n<desc>")
	r.esc(desc)
	b.WriteString("</desc>\n")
	b.WriteString(`<rect class="bg" width="`)
	r.num(r.w)
	b.WriteString(`" height="`)
	r.num(r.h)
	b.WriteString(`" fill="#fff"/>` + "\n")
}

// drawTitle draws the title, cut to the width (the full title is in <title>).
func (r *renderer) drawTitle() {
	pad := r.px(unitPad)
	t := clean(r.c.Title)
	if t == "" {
		return
	}
	size := r.px(sizeTitle)
	t = truncate(t, r.w-2*pad, size)
	r.text(pad, pad+size*0.85, size, "", colText, "title", `font-weight="600"`, t)
}

// titleBottom is the y below the title (or the top padding when untitled).
// Layout needs it before drawing: the header, which needs the final height,
// comes first.
func (r *renderer) titleBottom() float64 {
	pad := r.px(unitPad)
	if clean(r.c.Title) == "" {
		return pad
	}
	return pad + r.px(sizeTitle)*1.25
}

func (r *renderer) renderEmpty() {
	r.h = float64(r.c.Height)
	if r.h == 0 {
		r.h = defaultHeight
		if r.c.Kind == HBar {
			r.h = defaultHeight / 2
		}
	}
	r.header("No data.")
	r.drawTitle()
	size := r.px(sizeNoData)
	r.text(r.w/2, r.h/2+size*0.35, size, "middle", colMuted, "nodata", "", "No data")
}

// ---- vertical charts: Line, Bar, StackedBar ----

func (r *renderer) renderVertical() {
	c := r.c
	r.h = float64(c.Height)
	if r.h == 0 {
		r.h = defaultHeight
	}
	pad := r.px(unitPad)
	axis := r.px(sizeAxis)

	// Domain of the data, and for bars of the baseline 0.
	lo, hi := math.Inf(1), math.Inf(-1)
	if c.Kind == StackedBar {
		for j := range c.Labels {
			pos, neg := 0.0, 0.0
			for _, s := range c.Series {
				if v := s.Values[j]; v > 0 {
					pos += v
				} else if v < 0 {
					neg += v
				}
			}
			lo, hi = math.Min(lo, neg), math.Max(hi, pos)
		}
	} else {
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if c.Kind != Line {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if c.Target != nil {
		lo, hi = math.Min(lo, *c.Target), math.Max(hi, *c.Target)
	}
	if c.Min != 0 || c.Max != 0 {
		r.sc = fixedScale(c.Min, c.Max)
	} else {
		r.sc = autoScale(lo, hi)
	}

	// Top: title, legend.
	y := r.titleBottom()
	if len(c.Series) >= 2 {
		y = r.layoutLegend(y + r.px(4))
	}
	r.top = y + axis*0.6 + r.px(4)

	// Left: the widest tick label.
	tickW := 0.0
	for _, t := range r.sc.ticks {
		tickW = math.Max(tickW, textWidth(r.tickLabel(t), axis))
	}
	r.left = pad + tickW + r.px(8)
	r.right = r.w - pad
	r.bottom = r.h - pad - r.px(6) - axis
	if r.bottom-r.top < r.px(20) {
		r.bottom = r.top + r.px(20)
	}

	// Value labels on few grouped bars, with room above (below) the
	// highest (lowest) bar so the label stays inside the plot.
	n := len(c.Labels)
	band := (r.right - r.left) / float64(n)
	padTop, padBottom := 0.0, 0.0
	if c.Kind == Bar {
		count, maxW, anyPos, anyNeg := 0, 0.0, false, false
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					count++
					anyPos = anyPos || v >= 0
					anyNeg = anyNeg || v < 0
				}
			}
		}
		if count <= maxValueBars {
			for _, s := range c.Series {
				for _, v := range s.Values {
					if !math.IsNaN(v) {
						maxW = math.Max(maxW, textWidth(r.valueLabel(v), r.px(sizeValue)))
					}
				}
			}
		}
		// Neighbouring labels are a slot apart within a group, a band
		// apart between groups.
		room := band
		if len(c.Series) > 1 {
			room = r.groupWidth(band) / float64(len(c.Series))
		}
		if count <= maxValueBars && maxW <= room-r.px(4) {
			r.showValues = true
			if anyPos {
				padTop = r.px(sizeValue + 4)
			}
			if anyNeg {
				padBottom = r.px(sizeValue + 4)
			}
		}
	}
	if c.Kind == StackedBar && n <= maxValueBars {
		r.showValues = true
	}
	r.sc.p0, r.sc.p1 = r.bottom-padBottom, r.top+padTop

	r.header(r.describe())
	r.drawTitle()
	r.drawLegend(c.Kind == Line)
	r.drawHGrid()
	switch c.Kind {
	case Line:
		r.drawLines(band)
	case Bar:
		r.drawBars(band)
	case StackedBar:
		r.drawStacks(band)
	}
	if r.sc.contains(0) && (c.Kind != Line || r.sc.lo < 0) {
		r.hline(r.sc.pos(0), "zero", colZero, r.px(1.2), "")
	}
	r.drawTarget()
	r.drawXLabels(band)
}

// tickLabel writes an axis tick: all ticks share the step's decimals, so
// they line up ("2.5", "5.0", "7.5").
func (r *renderer) tickLabel(v float64) string {
	return formatNumber(v, r.sc.decimals) + r.c.Unit
}

// valueLabel writes a data value (bar labels, target, description) with
// one decimal more than the ticks, trailing zeros dropped.
func (r *renderer) valueLabel(v float64) string {
	return formatValue(v, r.sc.decimals) + r.c.Unit
}

// groupWidth is the width of the bars of one label: most of the band, but no
// bar wider than 48 units, which looks bloated rather than bold.
func (r *renderer) groupWidth(band float64) float64 {
	return math.Min(band*0.8, float64(len(r.c.Series))*r.px(48))
}

// layoutLegend places one entry per series from y down, wrapping onto new
// lines at the right edge, and returns the y below the legend.
func (r *renderer) layoutLegend(y float64) float64 {
	pad := r.px(unitPad)
	size := r.px(sizeAxis)
	sw, gap, rowH := r.px(12), r.px(16), r.px(20)
	if r.c.Kind == Line {
		sw = r.px(20) // long enough to show a dash pattern
	}
	x := pad
	for i, s := range r.c.Series {
		name := clean(s.Name)
		if name == "" {
			name = "Series " + strconv.Itoa(i+1)
		}
		name = truncate(name, r.w-2*pad-sw-r.px(6), size)
		itemW := sw + r.px(6) + textWidth(name, size)
		if x > pad && x+itemW > r.w-pad {
			x = pad
			y += rowH
		}
		r.legend = append(r.legend, legendItem{name: name, color: r.colors[i], dash: r.dashes[i], x: x, y: y + r.px(3), w: sw})
		x += itemW + gap
	}
	return y + rowH
}

func (r *renderer) drawLegend(lines bool) {
	if len(r.legend) == 0 {
		return
	}
	size := r.px(sizeAxis)
	h := r.px(12)
	r.b.WriteString(`<g class="legend">` + "\n")
	for _, it := range r.legend {
		r.b.WriteString(`<g class="legend-item">`)
		if lines {
			extra := ""
			if it.dash != "" {
				extra = `stroke-dasharray="` + r.dash(it.dash) + `"`
			}
			r.line(it.x, it.y+h/2, it.x+it.w, it.y+h/2, "swatch", it.color, r.px(3), extra)
		} else {
			r.rect(it.x, it.y, it.w, h, "swatch", it.color)
		}
		r.text(it.x+it.w+r.px(6), it.y+h/2+size*0.35, size, "", colText, "", "", it.name)
		r.b.WriteString("</g>\n")
	}
	r.b.WriteString("</g>\n")
}

// drawHGrid draws a light grid line and a label at each tick.
func (r *renderer) drawHGrid() {
	axis := r.px(sizeAxis)
	for _, t := range r.sc.ticks {
		y := r.sc.pos(t)
		r.hline(y, "grid", colGrid, r.px(1), "")
		r.text(r.left-r.px(6), y+axis*0.35, axis, "end", colMuted, "tick", "", r.tickLabel(t))
	}
}

func (r *renderer) hline(y float64, class, color string, width float64, extra string) {
	r.line(r.left, y, r.right, y, class, color, width, extra)
}

// drawLines draws each series as polylines over its runs of present values;
// a NaN ends a run, and a run of one value is drawn as a dot so it is seen.
func (r *renderer) drawLines(band float64) {
	n := len(r.c.Labels)
	markers := n <= lineMarkerMax
	xs := make([]float64, n)
	for j := range xs {
		xs[j] = r.left + band*(float64(j)+0.5)
	}
	for i, s := range r.c.Series {
		col := r.colors[i]
		r.b.WriteString(`<g class="series">` + "\n")
		for j := 0; j < n; {
			if math.IsNaN(s.Values[j]) {
				j++
				continue
			}
			k := j
			for k < n && !math.IsNaN(s.Values[k]) {
				k++
			}
			if k-j == 1 {
				r.circle(xs[j], r.sc.pos(s.Values[j]), r.px(3.5), "marker", col)
			} else {
				r.b.WriteString(`<polyline class="line" fill="none" stroke="`)
				r.esc(col)
				r.b.WriteString(`" stroke-width="`)
				r.num(r.px(2.5))
				r.b.WriteString(`" stroke-linejoin="round" stroke-linecap="round"`)
				if d := r.dashes[i]; d != "" {
					r.b.WriteString(` stroke-dasharray="` + r.dash(d) + `"`)
				}
				r.b.WriteString(` points="`)
				for p := j; p < k; p++ {
					if p > j {
						r.b.WriteByte(' ')
					}
					r.num(xs[p])
					r.b.WriteByte(',')
					r.num(r.sc.pos(s.Values[p]))
				}
				r.b.WriteString(`"/>` + "\n")
				if markers {
					for p := j; p < k; p++ {
						r.circle(xs[p], r.sc.pos(s.Values[p]), r.px(3), "marker", col)
					}
				}
			}
			j = k
		}
		r.b.WriteString("</g>\n")
	}
}

// drawBars draws grouped bars from the baseline, with their values when
// showValues is set: above a positive bar, below a negative one.
func (r *renderer) drawBars(band float64) {
	ns := len(r.c.Series)
	group := r.groupWidth(band)
	slot := group / float64(ns)
	gap := 0.0
	if ns > 1 {
		gap = math.Min(r.px(2), slot*0.15)
	}
	base := r.sc.pos(r.sc.base())
	size := r.px(sizeValue)
	for i, s := range r.c.Series {
		r.b.WriteString(`<g class="series">` + "\n")
		for j, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			x := r.left + band*float64(j) + (band-group)/2 + slot*float64(i) + gap/2
			y := r.sc.pos(v)
			r.rect(x, math.Min(y, base), slot-gap, math.Abs(base-y), "bar", r.colors[i])
		}
		r.b.WriteString("</g>\n")
	}
	if !r.showValues {
		return
	}
	for i, s := range r.c.Series {
		for j, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			x := r.left + band*float64(j) + (band-group)/2 + slot*(float64(i)+0.5)
			y := r.sc.pos(v) - r.px(4)
			if v < 0 {
				y = r.sc.pos(v) + r.px(4) + size*0.75
			}
			r.text(x, y, size, "middle", colText, "value", "", r.valueLabel(v))
		}
	}
}

// drawStacks stacks positive values up and negative values down from zero.
// Segment edges are rounded before heights are taken, so the drawn heights
// of a bar add up exactly to the drawn total.
func (r *renderer) drawStacks(band float64) {
	barW := math.Min(band*0.7, r.px(48))
	gap := (band - barW) / 2
	size := r.px(sizeValue)
	type label struct {
		x, y  float64
		color string
		text  string
	}
	var values []label
	posCum := make([]float64, len(r.c.Labels))
	negCum := make([]float64, len(r.c.Labels))
	for i, s := range r.c.Series {
		r.b.WriteString(`<g class="series">` + "\n")
		for j, v := range s.Values {
			if math.IsNaN(v) || v == 0 {
				continue
			}
			var from, to float64
			if v > 0 {
				from = posCum[j]
				posCum[j] += v
				to = posCum[j]
			} else {
				from = negCum[j]
				negCum[j] += v
				to = negCum[j]
			}
			y0, y1 := round2(r.sc.pos(from)), round2(r.sc.pos(to))
			x := r.left + band*float64(j) + gap
			top, h := math.Min(y0, y1), round2(math.Abs(y0-y1))
			r.rect(x, top, barW, h, "bar", r.colors[i])
			if !r.showValues || h < size+r.px(4) {
				continue
			}
			if text := r.valueLabel(v); textWidth(text, size) <= barW-r.px(4) {
				values = append(values, label{x + barW/2, top + h/2 + size*0.35, r.colors[i], text})
			}
		}
		r.b.WriteString("</g>\n")
	}
	for _, l := range values {
		fill, extra := "#fff", ""
		if lum, ok := luminance(l.color); !ok {
			fill, extra = colText, halo(r.px(3))
		} else if lum > 0.3 {
			fill = colText
		}
		r.text(l.x, l.y, size, "middle", fill, "value", extra, l.text)
	}
}

// halo is a white outline behind text, so it reads on any colour.
func halo(width float64) string {
	return `stroke="#fff" stroke-width="` + fmtNum(width) + `" stroke-linejoin="round" paint-order="stroke"`
}

// drawTarget draws the dashed target line with its value at the right end,
// above the line, or below it when the line is near the top.
func (r *renderer) drawTarget() {
	t := r.c.Target
	if t == nil || !r.sc.contains(*t) {
		return
	}
	size := r.px(sizeAxis)
	y := r.sc.pos(*t)
	r.hline(y, "target", colTgt, r.px(1.5), `stroke-dasharray="`+r.dash("6 4")+`"`)
	ly := y - r.px(5)
	if ly-size < r.top {
		ly = y + r.px(5) + size*0.75
	}
	r.text(r.right-r.px(2), ly, size, "end", colTgt, "target-label", `font-weight="600" `+halo(r.px(3)), r.valueLabel(*t))
}

// drawXLabels draws the labels under the bands. When they do not fit side
// by side, either each is cut to its band (few, long labels: categories) or
// only evenly spaced ones are drawn, always the first and the last (many
// short labels: dates).
func (r *renderer) drawXLabels(band float64) {
	n := len(r.labels)
	size := r.px(sizeAxis)
	gap := r.px(10)
	pad := r.px(unitPad)
	texts := make([]string, n)
	copy(texts, r.labels)
	maxW := 0.0
	for _, t := range texts {
		maxW = math.Max(maxW, textWidth(t, size))
	}
	show := allIndexes(n)
	if maxW > band-gap {
		if band-gap >= 3.2*size {
			for i := range texts {
				texts[i] = truncate(texts[i], band-gap, size)
			}
		} else {
			maxW = 0
			for i := range texts {
				texts[i] = truncate(texts[i], 10*size, size)
				maxW = math.Max(maxW, textWidth(texts[i], size))
			}
			show = thin(n, band, maxW+gap, r.dates)
		}
	}
	// Labels at the ends are pulled inside the chart, which can bring them
	// onto their neighbour: then the neighbour goes, never the first or last.
	type placed struct {
		j    int
		x, w float64
	}
	var kept []placed
	for _, j := range show {
		w := textWidth(texts[j], size)
		x := r.left + band*(float64(j)+0.5)
		x = math.Max(pad+w/2, math.Min(r.w-pad-w/2, x))
		p := placed{j, x, w}
		fits := func() bool {
			last := kept[len(kept)-1]
			return p.x-last.x >= (p.w+last.w)/2+gap/2
		}
		if len(kept) > 0 && !fits() {
			if j != show[len(show)-1] {
				continue
			}
			for len(kept) > 1 && !fits() {
				kept = kept[:len(kept)-1]
			}
			if !fits() {
				continue // even first and last collide: keep the first
			}
		}
		kept = append(kept, p)
	}
	y := r.bottom + r.px(6) + size*0.8
	for _, p := range kept {
		r.text(p.x, y, size, "middle", colMuted, "xlabel", "", texts[p.j])
	}
}

// thin returns the indexes of the labels to draw: every k-th label from the
// first, with k the smallest step that keeps need units between label
// centres and at most maxXLabels labels, plus the last label (dropping the
// k-th one before it if the two would be too close). For dates a step above
// 4 is rounded up to whole weeks, so the labels fall on one weekday.
func thin(n int, band, need float64, dates bool) []int {
	if n <= 1 {
		return allIndexes(n)
	}
	k := max(int(math.Ceil(need/band)), (n-2)/(maxXLabels-1)+1, 1)
	if dates && k > 4 {
		k = (k + 6) / 7 * 7
	}
	var out []int
	for j := 0; j < n-1; j += k {
		out = append(out, j)
	}
	if len(out) > 1 && float64(n-1-out[len(out)-1])*band < need {
		out = out[:len(out)-1]
	}
	return append(out, n-1)
}

// allIndexes returns 0…n-1.
func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// ---- horizontal bars ----

func (r *renderer) renderHBar() {
	c := r.c
	pad := r.px(unitPad)
	axis := r.px(sizeAxis)
	vsize := r.px(sizeValue)
	n := len(c.Labels)
	vals := c.Series[0].Values

	lo, hi := 0.0, 0.0
	count, maxValW, anyPos, anyNeg := 0, 0.0, false, false
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		count++
		anyPos = anyPos || v >= 0
		anyNeg = anyNeg || v < 0
	}
	if c.Target != nil {
		lo, hi = math.Min(lo, *c.Target), math.Max(hi, *c.Target)
	}
	if c.Min != 0 || c.Max != 0 {
		r.sc = fixedScale(c.Min, c.Max)
	} else {
		r.sc = autoScale(lo, hi)
	}
	r.showValues = count <= maxValueBars
	if r.showValues {
		for _, v := range vals {
			if !math.IsNaN(v) {
				maxValW = math.Max(maxValW, textWidth(r.valueLabel(v), vsize))
			}
		}
	}

	top := r.titleBottom()
	if c.Target != nil {
		top += axis + r.px(6)
	}
	top += r.px(4)
	bottomRoom := r.px(8) + axis + pad
	rowH := r.px(hbarRow)
	if c.Height != 0 {
		r.h = float64(c.Height)
		rowH = math.Max(1, (r.h-top-bottomRoom)/float64(n))
	} else {
		r.h = math.Ceil(top + float64(n)*rowH + bottomRoom)
	}
	r.top, r.bottom = top, top+float64(n)*rowH

	// Row labels on the left, cut at 40% of the width.
	labels := make([]string, n)
	labelW := 0.0
	for i, l := range r.labels {
		labels[i] = truncate(l, r.w*0.4, axis)
		labelW = math.Max(labelW, textWidth(labels[i], axis))
	}
	r.left = pad + labelW + r.px(8)
	r.right = r.w - pad
	padL, padR := 0.0, 0.0
	if r.showValues {
		if anyPos {
			padR = maxValW + r.px(6)
		}
		if anyNeg {
			padL = maxValW + r.px(6)
		}
	}
	// Tick labels are centred under their lines: keep the outer ones inside.
	tickW := 0.0
	for _, t := range r.sc.ticks {
		tickW = math.Max(tickW, textWidth(r.tickLabel(t), axis))
	}
	padR = math.Max(padR, tickW/2-pad)
	r.sc.p0, r.sc.p1 = r.left+padL, r.right-padR

	r.header(r.describe())
	r.drawTitle()

	// Grid, with every other tick label dropped if they would touch.
	step := 1
	if len(r.sc.ticks) > 1 {
		spacing := math.Abs(r.sc.pos(r.sc.ticks[1]) - r.sc.pos(r.sc.ticks[0]))
		for float64(step)*spacing < tickW+r.px(8) && step < len(r.sc.ticks) {
			step++
		}
	}
	ty := r.bottom + r.px(6) + axis*0.8
	for i, t := range r.sc.ticks {
		x := r.sc.pos(t)
		r.line(x, r.top, x, r.bottom, "grid", colGrid, r.px(1), "")
		if i%step == 0 {
			r.text(x, ty, axis, "middle", colMuted, "tick", "", r.tickLabel(t))
		}
	}

	base := r.sc.pos(r.sc.base())
	barH := rowH * 0.64
	r.b.WriteString(`<g class="series">` + "\n")
	for j, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		y := r.top + rowH*float64(j) + (rowH-barH)/2
		x := r.sc.pos(v)
		r.rect(math.Min(x, base), y, math.Abs(x-base), barH, "bar", r.colors[0])
	}
	r.b.WriteString("</g>\n")
	for j, l := range labels {
		cy := r.top + rowH*(float64(j)+0.5)
		r.text(r.left-r.px(8), cy+axis*0.35, axis, "end", colText, "rowlabel", "", l)
	}
	if r.sc.contains(0) {
		x := r.sc.pos(0)
		r.line(x, r.top, x, r.bottom, "zero", colZero, r.px(1.2), "")
	}
	if r.showValues {
		for j, v := range vals {
			if math.IsNaN(v) {
				continue
			}
			cy := r.top + rowH*(float64(j)+0.5) + vsize*0.35
			if v < 0 {
				r.text(r.sc.pos(v)-r.px(4), cy, vsize, "end", colText, "value", "", r.valueLabel(v))
			} else {
				r.text(r.sc.pos(v)+r.px(4), cy, vsize, "", colText, "value", "", r.valueLabel(v))
			}
		}
	}
	if t := c.Target; t != nil && r.sc.contains(*t) {
		x := r.sc.pos(*t)
		r.line(x, r.top-r.px(4), x, r.bottom, "target", colTgt, r.px(1.5), `stroke-dasharray="`+r.dash("6 4")+`"`)
		label := r.valueLabel(*t)
		w := textWidth(label, axis)
		lx := math.Max(pad+w/2, math.Min(r.w-pad-w/2, x))
		r.text(lx, r.top-r.px(8), axis, "middle", colTgt, "target-label", `font-weight="600"`, label)
	}
}

// ---- description ----

// describe summarises the data for screen readers: the span of the labels,
// and per series its latest value, minimum and maximum (HBar: the rows).
func (r *renderer) describe() string {
	c := r.c
	var b strings.Builder
	n := len(c.Labels)
	name := func(i int) string {
		if s := clean(c.Series[i].Name); s != "" {
			return s
		}
		return "Series " + strconv.Itoa(i+1)
	}
	if c.Kind == HBar {
		b.WriteString("Horizontal bar chart of " + name(0) + ", " + plural(n, "row") + ":")
		for j := 0; j < n && j < 10; j++ {
			if j > 0 {
				b.WriteString(";")
			}
			b.WriteString(" " + clean(c.Labels[j]) + " ")
			if v := c.Series[0].Values[j]; math.IsNaN(v) {
				b.WriteString("no data")
			} else {
				b.WriteString(r.valueLabel(v))
			}
		}
		if n > 10 {
			b.WriteString("; and " + plural(n-10, "more row"))
		}
		b.WriteString(".")
	} else {
		kind := c.Kind.String()
		b.WriteString(strings.ToUpper(kind[:1]) + kind[1:] + " chart, " + plural(n, "label"))
		if n == 1 {
			b.WriteString(": " + clean(c.Labels[0]) + ".")
		} else {
			b.WriteString(" from " + clean(c.Labels[0]) + " to " + clean(c.Labels[n-1]) + ".")
		}
		for i, s := range c.Series {
			b.WriteString(" " + name(i) + ": ")
			last := -1
			lo, hi := math.Inf(1), math.Inf(-1)
			for j, v := range s.Values {
				if !math.IsNaN(v) {
					last = j
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			if last < 0 {
				b.WriteString("no data.")
				continue
			}
			b.WriteString("latest " + r.valueLabel(s.Values[last]) + " (" + clean(c.Labels[last]) + ")")
			b.WriteString(", min " + r.valueLabel(lo) + ", max " + r.valueLabel(hi) + ".")
		}
	}
	if c.Target != nil {
		b.WriteString(" Target " + r.valueLabel(*c.Target) + ".")
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// ---- SVG primitives ----

// esc writes s escaped for XML text and attributes. Characters XML cannot
// hold (control characters, invalid UTF-8) become U+FFFD, so a label pasted
// with garbage still gives a well-formed document.
func (r *renderer) esc(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || strings.IndexByte(`<>&'"`, c) >= 0 {
			_ = xml.EscapeText(&r.b, []byte(s)) // writes to a bytes.Buffer: cannot fail
			return
		}
	}
	r.b.WriteString(s) // plain ASCII: the common case, without a copy
}

func (r *renderer) num(v float64) {
	r.b.Write(strconv.AppendFloat(r.b.AvailableBuffer(), round2(v), 'f', -1, 64))
}

// round2 rounds a coordinate to 0.01 unit: finer than any screen, and
// short, stable output.
func round2(v float64) float64 {
	v = math.Round(v*100) / 100
	if v == 0 {
		return 0
	}
	return v
}

func fmtNum(v float64) string { return strconv.FormatFloat(round2(v), 'f', -1, 64) }

func (r *renderer) rect(x, y, w, h float64, class, fill string) {
	r.b.WriteString(`<rect class="` + class + `" x="`)
	r.num(x)
	r.b.WriteString(`" y="`)
	r.num(y)
	r.b.WriteString(`" width="`)
	r.num(w)
	r.b.WriteString(`" height="`)
	r.num(h)
	r.b.WriteString(`" fill="`)
	r.esc(fill)
	r.b.WriteString(`"/>` + "\n")
}

func (r *renderer) line(x1, y1, x2, y2 float64, class, stroke string, width float64, extra string) {
	r.b.WriteString(`<line class="` + class + `" x1="`)
	r.num(x1)
	r.b.WriteString(`" y1="`)
	r.num(y1)
	r.b.WriteString(`" x2="`)
	r.num(x2)
	r.b.WriteString(`" y2="`)
	r.num(y2)
	r.b.WriteString(`" stroke="`)
	r.esc(stroke)
	r.b.WriteString(`" stroke-width="`)
	r.num(width)
	r.b.WriteString(`"`)
	if extra != "" {
		r.b.WriteString(" " + extra)
	}
	r.b.WriteString("/>\n")
}

func (r *renderer) circle(cx, cy, rad float64, class, fill string) {
	r.b.WriteString(`<circle class="` + class + `" cx="`)
	r.num(cx)
	r.b.WriteString(`" cy="`)
	r.num(cy)
	r.b.WriteString(`" r="`)
	r.num(rad)
	r.b.WriteString(`" fill="`)
	r.esc(fill)
	r.b.WriteString(`"/>` + "\n")
}

// text draws s (escaped) at x, y (the baseline); anchor "" is "start".
func (r *renderer) text(x, y, size float64, anchor, fill, class, extra, s string) {
	r.b.WriteString(`<text`)
	if class != "" {
		r.b.WriteString(` class="` + class + `"`)
	}
	r.b.WriteString(` x="`)
	r.num(x)
	r.b.WriteString(`" y="`)
	r.num(y)
	r.b.WriteString(`" font-size="`)
	r.num(size)
	r.b.WriteString(`" fill="` + fill + `"`)
	if anchor != "" {
		r.b.WriteString(` text-anchor="` + anchor + `"`)
	}
	if extra != "" {
		r.b.WriteString(" " + extra)
	}
	r.b.WriteString(">")
	r.esc(s)
	r.b.WriteString("</text>\n")
}
