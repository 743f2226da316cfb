// Package chart renders the manager's dashboard charts as standalone SVG
// documents, drawn on the server so that the console needs no JavaScript
// charting library and a chart can be cached, tested byte for byte and shown
// with a plain <img src="….svg">.
//
// The documents scale to their container (width="100%" and a viewBox), use
// font sizes that stay readable when a 640-unit-wide chart is shrunk onto a
// 360 px phone screen, and carry a <title> and <desc> for screen readers.
// Every chart can also be written as CSV, so the numbers behind a picture can
// be downloaded.
//
// The package uses the standard library only and has no state: the same
// Chart always gives the same bytes.
package chart

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Kind of chart. It decides how Labels and Series are read and drawn.
type Kind int

const (
	// Line draws one line per series over the labels (usually dates);
	// missing values (NaN) break the line, so a gap in the data shows as
	// a gap and is not bridged by a made-up slope.
	Line Kind = iota
	// Bar draws grouped vertical bars, one per series per label.
	Bar
	// StackedBar draws vertical bars stacked per label, for shares of a
	// whole (e.g. green/yellow/red message shares per day). Positive values
	// stack up from zero and negative values stack down from it.
	StackedBar
	// HBar draws horizontal bars of one series with the labels on the left,
	// for top-N lists (handoff causes, unanswered questions) whose labels are
	// too long to sit under a vertical bar; labels too long even there are
	// cut with "…".
	HBar
)

// String names the kind, for error messages and the SVG description.
func (k Kind) String() string {
	switch k {
	case Line:
		return "line"
	case Bar:
		return "bar"
	case StackedBar:
		return "stacked bar"
	case HBar:
		return "horizontal bar"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Series is one named row of values, drawn in one colour.
type Series struct {
	// Name is shown in the legend (when there are 2+ series), the
	// description and the CSV header.
	Name string
	// Values has one value per label; math.NaN() means "no data" and is
	// drawn as nothing (a gap in a line, a missing bar), never as zero.
	Values []float64
	// Color is a CSS colour ("#009E73", "green", "rgb(0 158 115)"); empty
	// takes the next colour of a colour-blind-safe palette (Okabe–Ito).
	// Callers set it when a colour carries meaning, such as green, yellow
	// and red for emotion tiers. Only letters, digits, spaces and
	// "#(),.%-/" are accepted, so a colour cannot break out of its
	// attribute.
	Color string
}

// Chart describes one chart. The zero values of the optional fields give a
// sensible default, so most callers set only Title, Kind, Labels, Series and
// perhaps Unit.
type Chart struct {
	// Title is drawn at the top and used for <title> and aria-label.
	Title string
	// Kind of chart; see the constants.
	Kind Kind
	// Labels are the x labels (Line, Bar, StackedBar) or row labels (HBar).
	// Dates written "2006-01-02" that all share a year are drawn as "01-02"
	// (the full dates stay in the description and the CSV).
	Labels []string
	// Series are the data; every Values slice has len(Labels) entries.
	Series []Series
	// Unit is appended to axis ticks and value labels ("%", " min");
	// empty: none.
	Unit string
	// Min and Max fix the value axis; both zero means automatic: nice round
	// ticks that cover the data and the target, always including 0 for the
	// bar kinds. Negative values are supported (an NPS of −20). With a fixed
	// axis, values outside it are clamped to its edge.
	Min, Max float64
	// Target draws a dashed reference line with its value (e.g. the 80% FAQ
	// answer-rate goal): horizontal for Line, Bar and StackedBar, vertical
	// for HBar; nil: none. A target outside a fixed axis is not drawn.
	Target *float64
	// Width and Height of the viewBox; zero: 640×320, and for HBar the
	// height grows with the number of rows. Fonts grow with widths above
	// 640 so the text keeps its size relative to the chart.
	Width, Height int
}

// Limits checked by Validate. They keep a chart legible: beyond them marks
// are thinner than a pixel on a phone, and they bound the work done for a
// request.
const (
	maxSeries      = 12
	maxLineLabels  = 2000
	maxBarLabels   = 200
	maxStackLabels = 400
	maxHBarRows    = 60
	minSide        = 100
	maxSide        = 8000
	maxAbs         = 1e15 // far above any count or duration, far below overflow
)

// Validate reports everything that is wrong with the chart, joined into one
// error (nil when it can be drawn): an unknown kind; a series whose length
// does not match the labels; a value that is infinite or beyond ±1e15; too
// many labels for the kind (Line 2000, Bar 200, StackedBar 400, HBar 60
// rows); more than 12 series (HBar: more than one); a NaN, infinite or huge
// Min, Max or Target; Min not below Max; a Width or Height outside 100–8000;
// an unsafe colour. Empty data (no labels, no series, only NaN) is valid: it
// is drawn as "No data". SVG and CSV return the same error.
func (c Chart) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("chart: "+format, args...))
	}
	limit := 0
	switch c.Kind {
	case Line:
		limit = maxLineLabels
	case Bar:
		limit = maxBarLabels
	case StackedBar:
		limit = maxStackLabels
	case HBar:
		limit = maxHBarRows
	default:
		add("unknown kind %d", int(c.Kind))
	}
	if limit > 0 && len(c.Labels) > limit {
		add("%d labels, a %s chart takes at most %d", len(c.Labels), c.Kind, limit)
	}
	if c.Kind == HBar && len(c.Series) > 1 {
		add("%d series, a horizontal bar chart takes one", len(c.Series))
	} else if len(c.Series) > maxSeries {
		add("%d series, at most %d can be told apart", len(c.Series), maxSeries)
	}
	for i, s := range c.Series {
		if len(s.Values) != len(c.Labels) {
			add("series %d (%q) has %d values for %d labels", i, s.Name, len(s.Values), len(c.Labels))
		}
		for j, v := range s.Values {
			if math.IsInf(v, 0) || math.Abs(v) > maxAbs {
				add("series %d (%q) value %d (%v) is beyond ±1e15", i, s.Name, j, v)
				break
			}
		}
		if !safeColor(s.Color) {
			add("series %d (%q) colour %q is not a plain CSS colour", i, s.Name, s.Color)
		}
	}
	if !finite(c.Min) || !finite(c.Max) {
		add("Min %v and Max %v must be finite (within ±1e15)", c.Min, c.Max)
	} else if (c.Min != 0 || c.Max != 0) && c.Min >= c.Max {
		add("Min %v must be below Max %v (both zero: automatic axis)", c.Min, c.Max)
	}
	if c.Target != nil && !finite(*c.Target) {
		add("Target %v must be finite", *c.Target)
	}
	if c.Width != 0 && (c.Width < minSide || c.Width > maxSide) {
		add("Width %d outside %d–%d", c.Width, minSide, maxSide)
	}
	if c.Height != 0 && (c.Height < minSide || c.Height > maxSide) {
		add("Height %d outside %d–%d", c.Height, minSide, maxSide)
	}
	return errors.Join(errs...)
}

// finite also rejects magnitudes beyond maxAbs, whose differences would
// overflow the axis arithmetic.
func finite(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= maxAbs }

// safeColor accepts the characters of hex, named, rgb()/hsl() colours and
// nothing that could end an XML attribute or start a url() fetch of
// something else: the value goes into a fill attribute verbatim (escaped).
func safeColor(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("#(),.%-/ ", r):
		default:
			return false
		}
	}
	return !strings.Contains(strings.ToLower(s), "url")
}

// CSV writes the same data as CSV: a header "label,<series names>", then one
// row per label with one cell per series, numbers in Go's shortest exact
// form, an empty cell for NaN. Quoting follows encoding/csv (RFC 4180).
//
// Labels and names come from users and the file is opened in spreadsheets,
// so a text cell starting with '=', '+', '-', '@', tab or carriage return is
// prefixed with a single quote to keep it from running as a formula. The
// output has no byte-order mark; write "\uFEFF" first if Excel must detect
// UTF-8 for Chinese labels.
func (c Chart) CSV(w io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	row := make([]string, 1+len(c.Series))
	row[0] = "label"
	for i, s := range c.Series {
		row[1+i] = csvText(s.Name)
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	for j, l := range c.Labels {
		row[0] = csvText(l)
		for i, s := range c.Series {
			row[1+i] = csvNumber(s.Values[j])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvNumber(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
