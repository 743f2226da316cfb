package chart_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/carebot/carebot/chart"
)

// A week of the FAQ answer rate against its 80% goal, with a day whose data
// is missing. An HTTP handler would write the SVG to the response with
// Content-Type image/svg+xml, and offer the CSV next to it.
func Example() {
	goal := 80.0
	c := chart.Chart{
		Title:  "FAQ answer rate",
		Kind:   chart.Line,
		Labels: []string{"2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"},
		Series: []chart.Series{
			{Name: "Answered by the bot", Values: []float64{74, 78.5, math.NaN(), 81, 83.2}},
		},
		Unit:   "%",
		Target: &goal,
	}

	var svg bytes.Buffer
	if err := c.SVG(&svg); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(svg.String(), "\n")[1:3] {
		fmt.Println(line) // the <title> and <desc> screen readers get
	}

	if err := c.CSV(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <title>FAQ answer rate</title>
	// <desc>Line chart, 5 labels from 2026-11-16 to 2026-11-20. Answered by the bot: latest 83.2% (2026-11-20), min 74%, max 83.2%. Target 80%.</desc>
	// label,Answered by the bot
	// 2026-11-16,74
	// 2026-11-17,78.5
	// 2026-11-18,
	// 2026-11-19,81
	// 2026-11-20,83.2
}
