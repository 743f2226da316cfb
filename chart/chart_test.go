package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

var nan = math.NaN()

// node is a generic XML element, enough to inspect the SVG as a tree.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("<%s> attribute %s=%q: %v", n.XMLName.Local, name, n.attr(name), err)
	}
	return v
}

// find returns the elements named tag and of class class (either "": any)
// in document order.
func (n *node) find(tag, class string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(x *node) {
		if (tag == "" || x.XMLName.Local == tag) && (class == "" || x.attr("class") == class) {
			out = append(out, x)
		}
		for i := range x.Nodes {
			walk(&x.Nodes[i])
		}
	}
	walk(n)
	return out
}

func texts(ns []*node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Text)
	}
	return out
}

// render draws c, checks that the output is one well-formed XML document
// (strict decoding, nothing after the root) and returns it with its tree.
func render(t *testing.T, c Chart) (string, *node) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.SVG(&buf); err != nil {
		t.Fatalf("SVG: %v", err)
	}
	var root node
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after root: %v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || strings.TrimSpace(string(cd)) != "" {
			t.Fatalf("content after the root element: %#v", tok)
		}
	}
	return buf.String(), &root
}

func days(from string, n int) []string {
	d, err := time.Parse("2006-01-02", from)
	if err != nil {
		panic(err)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.AddDate(0, 0, i).Format("2006-01-02")
	}
	return out
}

func ramp(n int, start, step float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start + step*float64(i)
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// emotion90 is the benchmark's chart: 90 days of green/yellow/red shares.
func emotion90() Chart {
	g, y, r := make([]float64, 90), make([]float64, 90), make([]float64, 90)
	for i := range g {
		g[i] = math.Round((60+8*math.Sin(float64(i)/5))*10) / 10
		y[i] = math.Round((25+5*math.Cos(float64(i)/7))*10) / 10
		r[i] = math.Round((100-g[i]-y[i])*10) / 10
	}
	return Chart{
		Title: "Emotion of customer messages", Kind: StackedBar, Unit: "%",
		Labels: days("2026-09-01", 90),
		Series: []Series{
			{Name: "Calm", Values: g, Color: "#009E73"},
			{Name: "Tense", Values: y, Color: "#F0E442"},
			{Name: "Angry", Values: r, Color: "#D55E00"},
		},
	}
}

func TestWellFormedAndAccessible(t *testing.T) {
	tests := []struct {
		name string
		c    Chart
	}{
		{"line", Chart{Title: "Answer rate", Kind: Line, Labels: days("2026-11-01", 30), Unit: "%", Target: ptr(80),
			Series: []Series{{Name: "FAQ", Values: ramp(30, 60, 1)}, {Name: "Agent", Values: ramp(30, 20, -0.5)}}}},
		{"bar", Chart{Title: "NPS", Kind: Bar, Labels: []string{"WeChat", "LINE"}, Series: []Series{{Name: "NPS", Values: []float64{-20, 35}}}}},
		{"stacked", emotion90()},
		{"hbar", Chart{Title: "原因", Kind: HBar, Labels: []string{"物流延误", "退款"}, Series: []Series{{Values: []float64{12, 7}}}}},
		{"untitled", Chart{Kind: Bar, Labels: []string{"a"}, Series: []Series{{Values: []float64{1}}}}},
		{"empty", Chart{Title: "Nothing", Kind: Line}},
		{"control characters", Chart{Title: "a\x00b\x1bc\nd", Kind: Bar, Labels: []string{"x\x01y"}, Series: []Series{{Name: "\ufffe", Values: []float64{1}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, root := render(t, tt.c)
			if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root %v", root.XMLName)
			}
			for attr, want := range map[string]string{"width": "100%", "role": "img", "font-family": "system-ui, sans-serif", "preserveAspectRatio": "xMidYMid meet"} {
				if got := root.attr(attr); got != want {
					t.Errorf("%s=%q, want %q", attr, got, want)
				}
			}
			if vb := strings.Fields(root.attr("viewBox")); len(vb) != 4 || vb[0] != "0" || vb[1] != "0" {
				t.Errorf("viewBox %q", root.attr("viewBox"))
			}
			if root.attr("height") != "" {
				t.Error("a fixed height would stop the chart from scaling")
			}
			titles := root.find("title", "")
			if len(titles) != 1 || titles[0].Text == "" || titles[0].Text != root.attr("aria-label") {
				t.Errorf("<title> %q must match aria-label %q", texts(titles), root.attr("aria-label"))
			}
			if d := root.find("desc", ""); len(d) != 1 || d[0].Text == "" {
				t.Error("missing <desc>")
			}
			if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
				t.Error("a NaN or Inf leaked into the output")
			}
		})
	}
}

func TestDescSummarises(t *testing.T) {
	c := Chart{Title: "Answer rate", Kind: Line, Labels: []string{"2026-11-01", "2026-11-02", "2026-11-03"}, Unit: "%", Target: ptr(80),
		Series: []Series{{Name: "FAQ", Values: []float64{60, 82.46, nan}}}}
	_, root := render(t, c)
	desc := root.find("desc", "")[0].Text
	for _, want := range []string{"2026-11-01 to 2026-11-03", "FAQ: latest 82.5% (2026-11-02)", "min 60%", "max 82.5%", "Target 80%"} {
		if !strings.Contains(desc, want) {
			t.Errorf("desc %q lacks %q", desc, want)
		}
	}
}

func TestBarCount(t *testing.T) {
	tests := []struct {
		name string
		c    Chart
		want int
	}{
		{"grouped", Chart{Kind: Bar, Labels: []string{"a", "b", "c"},
			Series: []Series{{Values: []float64{1, 2, 3}}, {Values: []float64{4, nan, 6}}}}, 5},
		{"stacked skips NaN and 0", Chart{Kind: StackedBar, Labels: []string{"a", "b"},
			Series: []Series{{Values: []float64{1, 2}}, {Values: []float64{0, 3}}, {Values: []float64{nan, 4}}}}, 4},
		{"stacked 90 days", emotion90(), 270},
		{"hbar", Chart{Kind: HBar, Labels: []string{"a", "b", "c", "d"}, Series: []Series{{Values: []float64{4, 3, nan, 1}}}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := render(t, tt.c)
			if got := len(root.find("rect", "bar")); got != tt.want {
				t.Errorf("%d bars, want %d", got, tt.want)
			}
		})
	}
}

func polylinePoints(t *testing.T, n *node) [][2]float64 {
	t.Helper()
	var pts [][2]float64
	for _, p := range strings.Fields(n.attr("points")) {
		x, y, ok := strings.Cut(p, ",")
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad point %q", p)
		}
		pts = append(pts, [2]float64{fx, fy})
	}
	return pts
}

func TestLinePoints(t *testing.T) {
	c := Chart{Kind: Line, Labels: days("2026-01-01", 60), Series: []Series{
		{Name: "a", Values: ramp(60, 0, 1)}, {Name: "b", Values: ramp(60, 100, -1)}}}
	_, root := render(t, c)
	lines := root.find("polyline", "")
	if len(lines) != 2 {
		t.Fatalf("%d polylines, want one per series", len(lines))
	}
	for i, l := range lines {
		pts := polylinePoints(t, l)
		if len(pts) != 60 {
			t.Errorf("series %d: %d points, want 60", i, len(pts))
		}
		for j := 1; j < len(pts); j++ {
			if pts[j][0] <= pts[j-1][0] {
				t.Fatalf("x not increasing at %d", j)
			}
		}
	}
	// Series a rises (y falls in SVG), series b falls.
	a, b := polylinePoints(t, lines[0]), polylinePoints(t, lines[1])
	if a[59][1] >= a[0][1] || b[59][1] <= b[0][1] {
		t.Error("values not mapped upwards")
	}
	if got := len(root.find("circle", "marker")); got != 0 {
		t.Errorf("%d markers on 60 points, want none", got)
	}
}

func TestLineNaNBreaks(t *testing.T) {
	tests := []struct {
		name     string
		values   []float64
		segments []int // points per polyline
		dots     int   // isolated values drawn as a dot
	}{
		{"one gap", []float64{1, 2, nan, 4, 5}, []int{2, 2}, 0},
		{"long gap", []float64{1, 2, 3, nan, nan, nan, 7, 8}, []int{3, 2}, 0},
		{"isolated value", []float64{1, nan, 3, 4, 5}, []int{3}, 1},
		{"leading and trailing NaN", []float64{nan, 2, 3, nan}, []int{2}, 0},
		{"only isolated values", []float64{1, nan, 3, nan, 5}, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 40 labels: no markers on every point, so circles are the dots.
			values := make([]float64, 40)
			for i := range values {
				values[i] = nan
			}
			copy(values, tt.values)
			c := Chart{Kind: Line, Labels: days("2026-01-01", 40), Series: []Series{{Values: values}}}
			_, root := render(t, c)
			var got []int
			for _, l := range root.find("polyline", "") {
				got = append(got, len(polylinePoints(t, l)))
			}
			if len(got) != len(tt.segments) {
				t.Fatalf("segments %v, want %v", got, tt.segments)
			}
			for i := range got {
				if got[i] != tt.segments[i] {
					t.Fatalf("segments %v, want %v", got, tt.segments)
				}
			}
			if dots := len(root.find("circle", "marker")); dots != tt.dots {
				t.Errorf("%d dots, want %d", dots, tt.dots)
			}
		})
	}
}

func TestLineMarkersWhenFewPoints(t *testing.T) {
	c := Chart{Kind: Line, Labels: days("2026-01-01", 7), Series: []Series{{Values: []float64{1, 2, nan, 4, 5, 6, 7}}}}
	_, root := render(t, c)
	if got := len(root.find("circle", "marker")); got != 6 {
		t.Errorf("%d markers, want one per value (6)", got)
	}
}

func TestLegend(t *testing.T) {
	many := make([]Series, 12)
	for i := range many {
		many[i] = Series{Name: "Series with a rather long name " + strconv.Itoa(i), Values: []float64{float64(i)}}
	}
	tests := []struct {
		name    string
		c       Chart
		entries int
		minRows int
	}{
		{"one series: none", Chart{Kind: Line, Labels: []string{"a", "b"}, Series: []Series{{Name: "x", Values: []float64{1, 2}}}}, 0, 0},
		{"three series", Chart{Kind: Bar, Labels: []string{"a"}, Series: []Series{{Name: "x", Values: []float64{1}}, {Name: "y", Values: []float64{2}}, {Name: "z", Values: []float64{3}}}}, 3, 1},
		{"twelve long names wrap", Chart{Kind: StackedBar, Labels: []string{"a"}, Series: many}, 12, 4},
		{"hbar: never", Chart{Kind: HBar, Labels: []string{"a"}, Series: []Series{{Name: "x", Values: []float64{1}}}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := render(t, tt.c)
			items := root.find("g", "legend-item")
			if len(items) != tt.entries {
				t.Fatalf("%d legend entries, want %d", len(items), tt.entries)
			}
			rows := map[string]bool{}
			for _, it := range items {
				sw := it.find("", "swatch")
				if len(sw) != 1 {
					t.Fatal("legend entry without one swatch")
				}
				txt := it.find("text", "")
				if len(txt) != 1 || txt[0].num(t, "x")+textWidth(txt[0].Text, txt[0].num(t, "font-size")) > 640 {
					t.Errorf("legend entry %q runs off the chart", texts(txt))
				}
				rows[txt[0].attr("y")] = true
			}
			if len(rows) < tt.minRows {
				t.Errorf("legend on %d rows, want at least %d", len(rows), tt.minRows)
			}
		})
	}
}

// tickScale reads the value axis back from the tick labels and grid lines
// (drawn in pairs): value → coordinate is a + b·value.
func tickScale(t *testing.T, root *node, unit, coord string) (a, b float64) {
	t.Helper()
	grid := root.find("line", "grid")
	ticks := root.find("text", "tick")
	if len(grid) < 2 || len(grid) != len(ticks) {
		t.Fatalf("%d grid lines, %d tick labels", len(grid), len(ticks))
	}
	parse := func(s string) float64 {
		s = strings.TrimSuffix(s, unit)
		s = strings.ReplaceAll(strings.ReplaceAll(s, "−", "-"), ",", "")
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("tick label %q: %v", s, err)
		}
		return v
	}
	v0, v1 := parse(ticks[0].Text), parse(ticks[len(ticks)-1].Text)
	c0, c1 := grid[0].num(t, coord), grid[len(grid)-1].num(t, coord)
	b = (c1 - c0) / (v1 - v0)
	return c0 - b*v0, b
}

func TestStackedHeightsAddUp(t *testing.T) {
	c := Chart{Kind: StackedBar, Unit: "%", Labels: []string{"a", "b", "c", "d"}, Series: []Series{
		{Values: []float64{60.1, 50, 33.3, nan}},
		{Values: []float64{29.9, 30, 33.3, 10}},
		{Values: []float64{10, 20, 33.4, 5}},
		{Values: []float64{-5, nan, 0, -12.5}},
	}}
	_, root := render(t, c)
	a, b := tickScale(t, root, "%", "y1")
	type stack struct{ pos, neg float64 }
	sums := map[string]*stack{}
	var order []string
	for _, r := range root.find("rect", "bar") {
		x := r.attr("x")
		if sums[x] == nil {
			sums[x] = &stack{}
			order = append(order, x)
		}
		y, h := r.num(t, "y"), r.num(t, "height")
		if y+h <= a+1e-9 { // above zero
			sums[x].pos += h
		} else {
			sums[x].neg += h
		}
	}
	want := []stack{{100, 5}, {100, 0}, {100, 0}, {15, 12.5}}
	if len(order) != len(want) {
		t.Fatalf("%d stacks, want %d", len(order), len(want))
	}
	for i, x := range order {
		gotPos, gotNeg := sums[x].pos/-b, sums[x].neg/-b
		if math.Abs(gotPos-want[i].pos) > 0.05 || math.Abs(gotNeg-want[i].neg) > 0.05 {
			t.Errorf("stack %d: heights add up to +%.3f/−%.3f, want +%v/−%v", i, gotPos, gotNeg, want[i].pos, want[i].neg)
		}
	}
}

func TestStackedSegmentsTouch(t *testing.T) {
	c := emotion90()
	c.Labels, c.Series[0].Values, c.Series[1].Values, c.Series[2].Values = c.Labels[:5], c.Series[0].Values[:5], c.Series[1].Values[:5], c.Series[2].Values[:5]
	_, root := render(t, c)
	tops := map[string]float64{} // x → y of the top of the stack so far
	for _, r := range root.find("rect", "bar") {
		x := r.attr("x")
		y, h := r.num(t, "y"), r.num(t, "height")
		if top, ok := tops[x]; ok && math.Abs(y+h-top) > 1e-6 {
			t.Errorf("segment at x=%s ends at %v, the one below starts at %v", x, y+h, top)
		}
		tops[x] = y
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>&"'`
	for _, kind := range []Kind{Line, Bar, StackedBar, HBar} {
		t.Run(kind.String(), func(t *testing.T) {
			c := Chart{Title: evil, Kind: kind, Unit: evil, Labels: []string{evil, "b"},
				Series: []Series{{Name: evil, Values: []float64{1, 2}}}}
			if kind != HBar {
				c.Series = append(c.Series, Series{Name: "x", Values: []float64{3, 4}})
			}
			out, root := render(t, c)
			if strings.Contains(strings.ToLower(out), "<script") {
				t.Fatal("raw <script in output")
			}
			if !strings.Contains(out, "&lt;script&gt;&amp;&#34;&#39;") {
				t.Error("escaped label not found")
			}
			// Escaped, not dropped: the decoded text is the original.
			found := false
			for _, tx := range root.find("text", "") {
				if tx.Text == evil {
					found = true
				}
			}
			if !found {
				t.Error("no text element reads the original label")
			}
			if root.attr("aria-label") != evil {
				t.Errorf("aria-label %q", root.attr("aria-label"))
			}
		})
	}
}

func TestCJKVerbatim(t *testing.T) {
	c := Chart{Title: "转人工原因", Kind: HBar, Labels: []string{"物流延误", "退款"}, Series: []Series{{Name: "工单", Values: []float64{9, 4}}}}
	out, root := render(t, c)
	for _, want := range []string{"转人工原因", "物流延误", "退款"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing", want)
		}
	}
	if got := texts(root.find("text", "rowlabel")); len(got) != 2 || got[0] != "物流延误" {
		t.Errorf("row labels %q", got)
	}
}

func TestNegativeValuesZeroLineInside(t *testing.T) {
	tests := []struct {
		name  string
		c     Chart
		coord string
	}{
		{"bar NPS", Chart{Kind: Bar, Labels: []string{"Q1", "Q2", "Q3"}, Series: []Series{{Values: []float64{-20, 10, 45}}}}, "y1"},
		{"line", Chart{Kind: Line, Labels: days("2026-01-01", 4), Series: []Series{{Values: []float64{-3, -1, 2, 5}}}}, "y1"},
		{"stacked", Chart{Kind: StackedBar, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{5, 6}}, {Values: []float64{-4, -2}}}}, "y1"},
		{"hbar", Chart{Kind: HBar, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{-30, 70}}}}, "x1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := render(t, tt.c)
			zero := root.find("line", "zero")
			if len(zero) != 1 {
				t.Fatalf("%d zero lines", len(zero))
			}
			grid := root.find("line", "grid")
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, g := range grid {
				v := g.num(t, tt.coord)
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			z := zero[0].num(t, tt.coord)
			if !(z > lo && z < hi) {
				t.Errorf("zero line at %v, not strictly inside the axis %v…%v", z, lo, hi)
			}
			// Bars of negative values lie on the other side of zero.
			for _, r := range root.find("rect", "bar") {
				if tt.coord == "y1" && r.num(t, "height") > 0 && r.num(t, "y") < z && r.num(t, "y")+r.num(t, "height") > z+0.01 {
					t.Error("a bar crosses the zero line")
				}
			}
			a, b := tickScale(t, root, "", tt.coord)
			if math.Abs(a-z) > 0.02 {
				t.Errorf("zero line at %v, the axis puts 0 at %v (scale %v)", z, a, b)
			}
		})
	}
}

func TestXLabelsThinned(t *testing.T) {
	for _, kind := range []Kind{Line, Bar, StackedBar} {
		for _, width := range []int{0, 360, 1280} {
			t.Run(kind.String()+"/"+strconv.Itoa(width), func(t *testing.T) {
				c := Chart{Kind: kind, Width: width, Labels: days("2026-09-01", 90),
					Series: []Series{{Values: ramp(90, 1, 1)}}}
				_, root := render(t, c)
				xl := root.find("text", "xlabel")
				if len(xl) > 8 || len(xl) < 2 {
					t.Fatalf("%d x labels drawn for 90 dates: %q", len(xl), texts(xl))
				}
				if xl[0].Text != "09-01" || xl[len(xl)-1].Text != "11-29" {
					t.Errorf("first/last labels %q, %q; want 09-01, 11-29", xl[0].Text, xl[len(xl)-1].Text)
				}
				for i := 1; i < len(xl); i++ {
					size := xl[i].num(t, "font-size")
					need := (textWidth(xl[i-1].Text, size) + textWidth(xl[i].Text, size)) / 2
					if xl[i].num(t, "x")-xl[i-1].num(t, "x") < need {
						t.Errorf("labels %q and %q overlap", xl[i-1].Text, xl[i].Text)
					}
				}
				vb := strings.Fields(root.attr("viewBox"))
				w, _ := strconv.ParseFloat(vb[2], 64)
				for _, l := range xl {
					half := textWidth(l.Text, l.num(t, "font-size")) / 2
					if l.num(t, "x")-half < 0 || l.num(t, "x")+half > w {
						t.Errorf("label %q sticks out of the chart", l.Text)
					}
				}
			})
		}
	}
}

func TestXLabelsFewAreAllDrawn(t *testing.T) {
	labels := []string{"WeChat", "LINE", "Telegram", "Web chat", "WeCom"}
	c := Chart{Kind: Bar, Labels: labels, Series: []Series{{Values: []float64{1, 2, 3, 4, 5}}}}
	_, root := render(t, c)
	got := texts(root.find("text", "xlabel"))
	if strings.Join(got, "|") != strings.Join(labels, "|") {
		t.Errorf("x labels %q, want %q", got, labels)
	}
}

func TestXLabelsLongCategoriesCut(t *testing.T) {
	labels := []string{"How do I change my delivery address after ordering", "退款什么时候到账", "c", "d", "e", "f"}
	c := Chart{Kind: Bar, Labels: labels, Series: []Series{{Values: ramp(6, 1, 1)}}}
	_, root := render(t, c)
	got := texts(root.find("text", "xlabel"))
	if len(got) != 6 {
		t.Fatalf("%d labels drawn, want all 6 (cut): %q", len(got), got)
	}
	if !strings.HasSuffix(got[0], "…") || !strings.HasPrefix(labels[0], strings.TrimSuffix(got[0], "…")) {
		t.Errorf("long label drawn as %q", got[0])
	}
}

func TestDateLabels(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"2026-11-23", "2026-11-24"}, []string{"11-23", "11-24"}},
		{[]string{"2026-12-31", "2027-01-01"}, []string{"2026-12-31", "2027-01-01"}}, // years differ: keep them
		{[]string{"2026-11-23", "total"}, []string{"2026-11-23", "total"}},
		{[]string{"  two\n words "}, []string{"two words"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		got := displayLabels(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("displayLabels(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHBarCutsLongLabels(t *testing.T) {
	long := "How can I change the delivery address of an order that has already been shipped to the wrong city?"
	longZH := "退款进度查询很久没有回复客服也不理人真的太慢了我要投诉你们"
	c := Chart{Kind: HBar, Labels: []string{long, longZH, "Short"}, Series: []Series{{Values: []float64{30, 20, 10}}}}
	_, root := render(t, c)
	rows := root.find("text", "rowlabel")
	if len(rows) != 3 {
		t.Fatalf("%d row labels", len(rows))
	}
	for i, full := range []string{long, longZH} {
		got := rows[i].Text
		if !strings.HasSuffix(got, "…") || !strings.HasPrefix(full, strings.TrimSuffix(got, "…")) || len(got) >= len(full) {
			t.Errorf("row %d drawn as %q", i, got)
		}
		if w := textWidth(got, rows[i].num(t, "font-size")); w > 640*0.4+0.01 {
			t.Errorf("row %d label %.0f wide, over 40%% of the chart", i, w)
		}
	}
	if rows[2].Text != "Short" {
		t.Errorf("short label drawn as %q", rows[2].Text)
	}
	// Labels end left of the bars.
	for _, r := range rows {
		for _, b := range root.find("rect", "bar") {
			if r.num(t, "x") > b.num(t, "x") {
				t.Error("row label overlaps the bars")
			}
		}
	}
	if desc := root.find("desc", "")[0].Text; !strings.Contains(desc, long) {
		t.Error("desc should carry the full label")
	}
}

func TestHBarHeightGrowsWithRows(t *testing.T) {
	height := func(n int) float64 {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = "cause " + strconv.Itoa(i)
		}
		_, root := render(t, Chart{Kind: HBar, Labels: labels, Series: []Series{{Values: ramp(n, 50, -1)}}})
		vb := strings.Fields(root.attr("viewBox"))
		h, _ := strconv.ParseFloat(vb[3], 64)
		return h
	}
	h5, h20 := height(5), height(20)
	if h20-h5 < 15*20 {
		t.Errorf("5 rows: %v high, 20 rows: %v high", h5, h20)
	}
	_, root := render(t, Chart{Kind: HBar, Height: 200, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{1, 2}}}})
	if vb := root.attr("viewBox"); vb != "0 0 640 200" {
		t.Errorf("explicit height ignored: viewBox %q", vb)
	}
}

func TestValueLabels(t *testing.T) {
	tests := []struct {
		name string
		c    Chart
		want []string
	}{
		{"few bars", Chart{Kind: Bar, Unit: "%", Labels: []string{"a", "b", "c"}, Series: []Series{{Values: []float64{12.5, nan, -3}}}}, []string{"12.5%", "−3%"}},
		{"13 bars: none", Chart{Kind: Bar, Labels: days("2026-01-01", 13), Series: []Series{{Values: ramp(13, 1, 1)}}}, nil},
		{"hbar", Chart{Kind: HBar, Unit: " min", Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{1234, 5}}}}, []string{"1,234 min", "5 min"}},
		{"stacked 90 days: none", emotion90(), nil},
		{"line: none", Chart{Kind: Line, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{1, 2}}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := render(t, tt.c)
			got := texts(root.find("text", "value"))
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("value labels %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStackedValueLabelsFitTheirSegment(t *testing.T) {
	c := Chart{Kind: StackedBar, Unit: "%", Labels: []string{"Mon", "Tue"}, Series: []Series{
		{Values: []float64{70, 60}, Color: "green"}, {Values: []float64{28, 30}, Color: "#F0E442"}, {Values: []float64{2, 10}, Color: "red"}}}
	_, root := render(t, c)
	got := texts(root.find("text", "value"))
	// 2% is too thin a segment for a label; the others get theirs.
	want := []string{"70%", "60%", "28%", "30%", "10%"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("segment labels %q, want %q", got, want)
	}
	for _, v := range root.find("text", "value") {
		if v.Text == "28%" && v.attr("fill") != colText {
			t.Error("dark text expected on yellow")
		}
		if v.Text == "70%" && v.attr("fill") != "#fff" {
			t.Error("white text expected on green")
		}
	}
}

func TestTarget(t *testing.T) {
	base := Chart{Kind: Line, Unit: "%", Labels: days("2026-01-01", 5), Series: []Series{{Values: []float64{50, 60, 55, 70, 65}}}}
	t.Run("drawn and in range", func(t *testing.T) {
		c := base
		c.Target = ptr(80) // above the data: the axis must reach it
		_, root := render(t, c)
		lines := root.find("line", "target")
		if len(lines) != 1 || lines[0].attr("stroke-dasharray") == "" {
			t.Fatalf("want one dashed target line, got %d", len(lines))
		}
		if l := texts(root.find("text", "target-label")); len(l) != 1 || l[0] != "80%" {
			t.Errorf("target label %q", l)
		}
		a, b := tickScale(t, root, "%", "y1")
		if y := lines[0].num(t, "y1"); math.Abs(a+b*80-y) > 0.02 {
			t.Errorf("target at y=%v, 80%% is at %v", y, a+b*80)
		}
	})
	t.Run("none", func(t *testing.T) {
		_, root := render(t, base)
		if len(root.find("line", "target")) != 0 {
			t.Error("target drawn without Target")
		}
	})
	t.Run("outside a fixed axis", func(t *testing.T) {
		c := base
		c.Min, c.Max, c.Target = 0, 50, ptr(80)
		_, root := render(t, c)
		if len(root.find("line", "target")) != 0 {
			t.Error("target drawn outside the axis")
		}
	})
	t.Run("hbar: vertical", func(t *testing.T) {
		c := Chart{Kind: HBar, Labels: []string{"a", "b"}, Target: ptr(5), Series: []Series{{Values: []float64{3, 8}}}}
		_, root := render(t, c)
		l := root.find("line", "target")
		if len(l) != 1 || l[0].attr("x1") != l[0].attr("x2") {
			t.Fatal("want one vertical target line")
		}
	})
}

func TestFixedAxis(t *testing.T) {
	c := Chart{Kind: Bar, Unit: "%", Min: 0, Max: 100, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{40, 120}}}}
	_, root := render(t, c)
	ticks := texts(root.find("text", "tick"))
	if strings.Join(ticks, " ") != "0% 20% 40% 60% 80% 100%" {
		t.Errorf("ticks %q", ticks)
	}
	// 120 is clamped to the top of the axis, not drawn over the title.
	top := root.find("line", "grid")[len(ticks)-1].num(t, "y1")
	for _, r := range root.find("rect", "bar") {
		if r.num(t, "y") < top-0.01 {
			t.Errorf("bar rises to %v, above the axis top %v", r.num(t, "y"), top)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	nice := func(step float64) bool {
		m := step / math.Pow10(int(math.Floor(math.Log10(step))))
		for _, n := range []float64{1, 2, 2.5, 5, 10} {
			if math.Abs(m-n) < 1e-6 {
				return true
			}
		}
		return false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][2]float64{{0, 1}, {0, 7}, {0, 100}, {-20, 60}, {3.2, 6}, {0, 0}, {5, 5}, {-5, -5}, {0.001, 0.0013}, {1e6, 3.3e6}, {-1e15, 1e15}}
	for i := 0; i < 2000; i++ {
		a := (rng.Float64() - 0.3) * math.Pow10(rng.IntN(12)-4)
		// Spans down to 1e-4 of the values: ticks then have up to 9
		// significant digits, well inside a float64.
		b := a + math.Max(rng.Float64()*math.Pow10(rng.IntN(12)-4), math.Abs(a)*1e-4)
		cases = append(cases, [2]float64{a, b})
	}
	for _, cs := range cases {
		s := autoScale(cs[0], cs[1])
		n := len(s.ticks)
		if n < 4 || n > 6 {
			t.Fatalf("%v: %d ticks %v", cs, n, s.ticks)
		}
		if tol := 1e-6 * (s.hi - s.lo); s.lo > cs[0]+tol || s.hi < cs[1]-tol {
			t.Fatalf("%v: axis %v…%v does not cover the data", cs, s.lo, s.hi)
		}
		step := s.ticks[1] - s.ticks[0]
		if !nice(step) {
			t.Fatalf("%v: step %v is not 1, 2, 2.5 or 5 × 10^n (ticks %v)", cs, step, s.ticks)
		}
		for _, tk := range s.ticks {
			if formatNumber(tk, s.decimals) == "" || strings.Contains(formatNumber(tk, s.decimals), "e") {
				t.Fatalf("%v: tick %v formats badly", cs, tk)
			}
		}
	}
	for _, cs := range [][2]float64{{0, 100}, {0, 1}, {-7, 3}, {10, 10.5}, {0.5, 2000}} {
		s := fixedScale(cs[0], cs[1])
		if len(s.ticks) < 2 || len(s.ticks) > 6 || s.lo != cs[0] || s.hi != cs[1] {
			t.Errorf("fixed %v: ticks %v, axis %v…%v", cs, s.ticks, s.lo, s.hi)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v    float64
		d    int
		want string
	}{
		{0, 0, "0"}, {-0.001, 1, "0.0"}, {-0.4, 0, "0"}, {1234567, 0, "1,234,567"}, {-20, 0, "−20"}, {2.5, 1, "2.5"}, {999.96, 1, "1,000.0"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.v, tt.d); got != tt.want {
			t.Errorf("formatNumber(%v, %d) = %q, want %q", tt.v, tt.d, got, tt.want)
		}
	}
	if got := formatValue(82.46, 0); got != "82.5" {
		t.Errorf("formatValue(82.46, 0) = %q", got)
	}
	if got := formatValue(45, 0); got != "45" {
		t.Errorf("formatValue(45, 0) = %q", got)
	}
}

func TestFontSizesReadable(t *testing.T) {
	for _, width := range []int{0, 640, 1280} {
		minSize := 13.0 * math.Max(1, float64(width)/640)
		for _, c := range []Chart{emotion90(),
			{Kind: HBar, Width: width, Title: "t", Target: ptr(1), Labels: []string{"a"}, Series: []Series{{Values: []float64{2}}}},
			{Kind: Bar, Width: width, Title: "t", Labels: []string{"a", "b"}, Series: []Series{{Name: "x", Values: []float64{1, 2}}, {Name: "y", Values: []float64{3, 4}}}},
			{Kind: Line, Width: width, Title: "empty"}} {
			c.Width = width
			_, root := render(t, c)
			for _, tx := range root.find("text", "") {
				if fs := tx.num(t, "font-size"); fs < minSize {
					t.Errorf("width %d, %s: text %q at font-size %v < %v", width, c.Kind, tx.Text, fs, minSize)
				}
			}
		}
	}
}

func TestEmptyData(t *testing.T) {
	tests := []struct {
		name string
		c    Chart
	}{
		{"no labels", Chart{Title: "Answer rate", Kind: Line}},
		{"no series", Chart{Title: "Answer rate", Kind: Bar, Labels: []string{"a", "b"}}},
		{"all NaN", Chart{Title: "Answer rate", Kind: StackedBar, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{nan, nan}}, {Values: []float64{nan, nan}}}}},
		{"hbar", Chart{Title: "Answer rate", Kind: HBar, Labels: []string{"a"}, Series: []Series{{Values: []float64{nan}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := render(t, tt.c)
			nd := root.find("text", "nodata")
			if len(nd) != 1 || nd[0].Text != "No data" || nd[0].attr("text-anchor") != "middle" {
				t.Fatalf("no centred No data text: %v", texts(nd))
			}
			vb := strings.Fields(root.attr("viewBox"))
			w, _ := strconv.ParseFloat(vb[2], 64)
			h, _ := strconv.ParseFloat(vb[3], 64)
			if x := nd[0].num(t, "x"); x != w/2 {
				t.Errorf("No data at x=%v, not centred in %v", x, w)
			}
			if y := nd[0].num(t, "y"); math.Abs(y-h/2) > h/10 {
				t.Errorf("No data at y=%v, not centred in %v", y, h)
			}
			if tl := texts(root.find("text", "title")); len(tl) != 1 || tl[0] != "Answer rate" {
				t.Errorf("title %q", tl)
			}
			if len(root.find("rect", "bar"))+len(root.find("polyline", ""))+len(root.find("line", "")) != 0 {
				t.Error("marks drawn for empty data")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	two := []string{"a", "b"}
	tests := []struct {
		name string
		c    Chart
		want []string // substrings of the error; nil: valid
	}{
		{"valid", Chart{Kind: Line, Labels: two, Series: []Series{{Values: []float64{1, nan}}}}, nil},
		{"empty is valid", Chart{Kind: HBar}, nil},
		{"fixed axis", Chart{Kind: Bar, Min: -100, Max: 100, Labels: two, Series: []Series{{Values: []float64{1, 2}}}}, nil},
		{"short series", Chart{Kind: Line, Labels: two, Series: []Series{{Name: "FAQ", Values: []float64{1}}}}, []string{`series 0 ("FAQ") has 1 values for 2 labels`}},
		{"long series", Chart{Kind: Bar, Labels: two, Series: []Series{{Values: []float64{1, 2}}, {Values: []float64{1, 2, 3}}}}, []string{"series 1", "3 values for 2 labels"}},
		{"values without labels", Chart{Kind: Bar, Series: []Series{{Values: []float64{1}}}}, []string{"1 values for 0 labels"}},
		{"unknown kind", Chart{Kind: Kind(9)}, []string{"unknown kind 9"}},
		{"too many labels", Chart{Kind: HBar, Labels: make([]string, 61), Series: []Series{{Values: make([]float64, 61)}}}, []string{"61 labels", "at most 60"}},
		{"too many bar labels", Chart{Kind: Bar, Labels: make([]string, 201)}, []string{"201 labels"}},
		{"hbar two series", Chart{Kind: HBar, Labels: two, Series: []Series{{Values: []float64{1, 2}}, {Values: []float64{1, 2}}}}, []string{"takes one"}},
		{"too many series", Chart{Kind: Line, Series: make([]Series, 13)}, []string{"13 series"}},
		{"NaN Min", Chart{Kind: Line, Min: nan}, []string{"must be finite"}},
		{"Inf Max", Chart{Kind: Line, Max: math.Inf(1)}, []string{"must be finite"}},
		{"Min above Max", Chart{Kind: Line, Min: 10, Max: 5}, []string{"below Max"}},
		{"NaN target", Chart{Kind: Line, Target: ptr(nan)}, []string{"Target"}},
		{"infinite value", Chart{Kind: Line, Labels: two, Series: []Series{{Values: []float64{1, math.Inf(-1)}}}}, []string{"value 1"}},
		{"huge value", Chart{Kind: Line, Labels: two, Series: []Series{{Values: []float64{1, 1e300}}}}, []string{"value 1"}},
		{"bad colour", Chart{Kind: Line, Labels: two, Series: []Series{{Values: []float64{1, 2}, Color: `red" onload="x`}}}, []string{"colour"}},
		{"url colour", Chart{Kind: Line, Labels: two, Series: []Series{{Values: []float64{1, 2}, Color: "url(#x)"}}}, []string{"colour"}},
		{"tiny width", Chart{Kind: Line, Width: 50}, []string{"Width 50"}},
		{"several at once", Chart{Kind: Line, Min: 3, Max: 1, Labels: two, Series: []Series{{Values: nil}}}, []string{"below Max", "0 values for 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var buf bytes.Buffer
			if serr := tt.c.SVG(&buf); serr == nil || serr.Error() != err.Error() || buf.Len() != 0 {
				t.Errorf("SVG: %v, %d bytes written; want Validate's error and nothing written", serr, buf.Len())
			}
			if cerr := tt.c.CSV(&buf); cerr == nil || buf.Len() != 0 {
				t.Errorf("CSV: %v, %d bytes written", cerr, buf.Len())
			}
		})
	}
}

func TestCSV(t *testing.T) {
	c := Chart{Kind: Bar, Labels: []string{"2026-11-23", "退款, 换货", "=HYPERLINK(\"x\")"},
		Series: []Series{
			{Name: "Calm", Values: []float64{0.5, nan, 1e6}},
			{Name: `He said "hi"`, Values: []float64{-2, 33.333, 0}},
		}}
	var buf bytes.Buffer
	if err := c.CSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := "label,Calm,\"He said \"\"hi\"\"\"\n" +
		"2026-11-23,0.5,-2\n" +
		"\"退款, 换货\",,33.333\n" +
		"\"'=HYPERLINK(\"\"x\"\")\",1000000,0\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := (Chart{Kind: Line}).CSV(&buf); err != nil || buf.String() != "label\n" {
		t.Errorf("empty chart CSV %q, %v", buf.String(), err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	c := Chart{Kind: Line, Labels: []string{"a"}, Series: []Series{{Values: []float64{1}}}}
	if err := c.SVG(failWriter{}); err == nil || err.Error() != "disk full" {
		t.Errorf("SVG: %v", err)
	}
	if err := c.CSV(failWriter{}); err == nil {
		t.Error("CSV: no error")
	}
}

func TestDeterministic(t *testing.T) {
	charts := []Chart{
		emotion90(),
		{Kind: Line, Title: "x", Target: ptr(3), Labels: days("2026-01-01", 40), Series: []Series{{Name: "a", Values: ramp(40, 0, 0.37)}, {Name: "b", Values: ramp(40, 9, -0.21)}}},
		{Kind: Bar, Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{1, -1}}, {Values: []float64{2, nan}}}},
		{Kind: HBar, Labels: []string{"物流", "退款"}, Series: []Series{{Values: []float64{3, 1}}}},
		{Kind: Line},
	}
	for _, c := range charts {
		var a, b bytes.Buffer
		if err := c.SVG(&a); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			b.Reset()
			if err := c.SVG(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("%s chart: output differs between runs", c.Kind)
			}
		}
	}
}

func TestPalette(t *testing.T) {
	c := Chart{Kind: Bar, Labels: []string{"a"}, Series: []Series{
		{Values: []float64{1}}, {Values: []float64{1}, Color: "red"}, {Values: []float64{1}}, {Values: []float64{1}}}}
	_, root := render(t, c)
	var got []string
	for _, r := range root.find("rect", "bar") {
		got = append(got, r.attr("fill"))
	}
	// An explicit colour does not use up a palette slot.
	want := []string{palette[0], "red", palette[1], palette[2]}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fills %q, want %q", got, want)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		maxW float64
		want string
	}{
		{"short", 100, "short"},
		{"abcdeabcde", 10 * 0.6 * 10, "abcdeabcde"},
		{"abcdeabcde", 50, "abcdea…"},
		{"退款进度查询", 4 * 10, "退款进…"},
		{"ab cdefgh", 28, "ab…"}, // no space before the ellipsis
		{"abc", 5, "…"},
	}
	for _, tt := range tests {
		got := truncate(tt.s, tt.maxW, 10)
		if got != tt.want {
			t.Errorf("truncate(%q, %v) = %q, want %q", tt.s, tt.maxW, got, tt.want)
		}
		if got != tt.s && textWidth(got, 10) > math.Max(tt.maxW, 10) {
			t.Errorf("truncate(%q, %v) = %q is %v wide", tt.s, tt.maxW, got, textWidth(got, 10))
		}
	}
}

func BenchmarkSVG(b *testing.B) {
	c := emotion90()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.SVG(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
