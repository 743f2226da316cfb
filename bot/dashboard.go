package bot

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carebot/carebot/chart"
	"github.com/carebot/carebot/dialog"
	"github.com/carebot/carebot/dialog/emotion"
	"github.com/carebot/carebot/handoff"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/outreach"
	"github.com/carebot/carebot/stats"
	"github.com/carebot/carebot/store"
)

// The manager's dashboard: every figure comes from the daily aggregates
// (package stats) and the loyalty census, never from scanning messages or
// tickets, so a query stays fast however long the history.
//
//	GET /api/v1/dashboard/summary?from=&to=          key figures and the top unanswered questions (JSON)
//	GET /api/v1/dashboard/charts/{name}.svg?from=&to= a chart as a picture
//	GET /api/v1/dashboard/charts/{name}.csv?from=&to= the same numbers as CSV
//
// from and to are local days (YYYY-MM-DD, care.time_zone), inclusive; the
// default is the 28 days up to today.
func (a *App) dashboardRoutes(mux *http.ServeMux) {
	manager := a.loyaltyAuth(handoff.RoleManager)
	mux.HandleFunc("GET /api/v1/dashboard/summary", manager(a.handleDashboardSummary))
	mux.HandleFunc("GET /api/v1/dashboard/charts/{file}", manager(a.handleDashboardChart))
}

// dashRange is a dashboard query's local days.
type dashRange struct {
	from, to string   // YYYY-MM-DD, inclusive
	days     []string // every day of the range
}

// maxDashDays bounds a dashboard range (two years of daily bars).
const maxDashDays = 731

func (a *App) dashRange(r *http.Request) (dashRange, error) {
	q := r.URL.Query()
	today := a.stats.Day(a.now())
	to := q.Get("to")
	if to == "" {
		to = today
	}
	from := q.Get("from")
	if from == "" {
		t, err := time.Parse(stats.DayLayout, to)
		if err != nil {
			return dashRange{}, fmt.Errorf("to %q is not a day such as 2026-11-23", to)
		}
		from = t.AddDate(0, 0, -27).Format(stats.DayLayout)
	}
	days, err := stats.Days(from, to)
	if err != nil {
		return dashRange{}, fmt.Errorf("from %q and to %q must be days such as 2026-11-23, from not after to", from, to)
	}
	if len(days) > maxDashDays {
		return dashRange{}, fmt.Errorf("a range of at most %d days", maxDashDays)
	}
	return dashRange{from: from, to: to, days: days}, nil
}

// chartFunc builds one chart of the dashboard.
type chartFunc func(a *App, tx store.Tx, rg dashRange) (chart.Chart, error)

// dashboardCharts are the dashboard's charts by name, in page order.
var dashboardCharts = []struct {
	name string
	fn   chartFunc
}{
	{"emotion", chartEmotion},
	{"tickets", chartTickets},
	{"causes", chartCauses},
	{"faq", chartFAQRate},
	{"service", chartService},
	{"sla", chartSLA},
	{"times", chartTimes},
	{"satisfaction", chartSatisfaction},
	{"members-tier", chartMembersTier},
	{"members-stage", chartMembersStage},
	{"points", chartPoints},
	{"coupons", chartCoupons},
	{"care", chartCare},
}

func findChart(name string) (chartFunc, bool) {
	for _, c := range dashboardCharts {
		if c.name == name {
			return c.fn, true
		}
	}
	return nil, false
}

func (a *App) handleDashboardChart(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	file := r.PathValue("file")
	name, ext, ok := strings.Cut(file, ".")
	fn, found := findChart(name)
	if !ok || !found || (ext != "svg" && ext != "csv") {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no chart %q (charts: %s; .svg or .csv)", file, strings.Join(chartNames(), ", ")))
		return
	}
	rg, err := a.dashRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var c chart.Chart
	err = a.store.View(func(tx store.Tx) error {
		var err error
		c, err = fn(a, tx, rg)
		return err
	})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if title := chartTitles[name][r.URL.Query().Get("lang")]; title != "" {
		c.Title = title
	}
	var buf bytes.Buffer
	if ext == "svg" {
		err = c.SVG(&buf)
		w.Header().Set("Content-Type", "image/svg+xml; charset=utf-8")
		// An SVG opened on its own must not run anything.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	} else {
		// A byte-order mark, so spreadsheet programs read Chinese labels
		// as UTF-8.
		buf.WriteString("\uFEFF")
		err = c.CSV(&buf)
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="carebot-%s-%s-%s.csv"`, name, rg.from, rg.to))
	}
	if err != nil {
		w.Header().Del("Content-Disposition")
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("chart %s: %v", name, err))
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}

// chartTitles are the charts' titles in Chinese (?lang=zh); the English
// ones are set where each chart is built.
var chartTitles = map[string]map[string]string{
	"emotion":       {"zh": "客户消息情绪占比（每日 %）"},
	"tickets":       {"zh": "每日新工单（按等级）"},
	"causes":        {"zh": "负面原因前三：本周对比上周"},
	"faq":           {"zh": "FAQ 自助解答率（%）"},
	"service":       {"zh": "每日问题：已解答、澄清、未解答、转人工"},
	"sla":           {"zh": "SLA 内接单比例（%）"},
	"times":         {"zh": "接单与解决用时中位数（分钟）"},
	"satisfaction":  {"zh": "每周 CSAT（满意 %）与 NPS"},
	"members-tier":  {"zh": "会员等级分布"},
	"members-stage": {"zh": "会员生命周期分布"},
	"points":        {"zh": "每周积分：发放、兑换、过期"},
	"coupons":       {"zh": "优惠券发放与核销（按权益）"},
	"care":          {"zh": "生日与召回：发送与用券"},
}

func chartNames() []string {
	out := make([]string, len(dashboardCharts))
	for i, c := range dashboardCharts {
		out[i] = c.name
	}
	return out
}

// shortDays labels days "11-23" (the year is in the range picker).
func shortDays(days []string) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = strings.TrimPrefix(d[4:], "-")
	}
	return out
}

func floats(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// values returns the series' counts for dim, zeros when it has none.
func values(s stats.Series, dim string) []int64 {
	if v := s.Values[dim]; v != nil {
		return v
	}
	return make([]int64, len(s.Days))
}

// Colours that mean something on every chart: the console's emotion
// colours and the tiers.
const (
	colourGreen  = "#16a34a"
	colourYellow = "#eab308"
	colourRed    = "#dc2626"
	colourBrand  = "#4f46e5"
	colourGrey   = "#94a3b8"
)

var tierColours = map[emotion.Tier]string{emotion.TierMild: colourYellow, emotion.TierModerate: "#f97316", emotion.TierSevere: colourRed}

var tiers = []emotion.Tier{emotion.TierMild, emotion.TierModerate, emotion.TierSevere}

// chartEmotion: the share of green, yellow and red customer messages per day.
func chartEmotion(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	s, err := stats.Read(tx, metricEmotion, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	c := chart.Chart{Title: "Customer messages by emotion (% per day)", Kind: chart.StackedBar, Labels: shortDays(s.Days), Unit: "%", Min: 0, Max: 100}
	total := make([]int64, len(s.Days))
	for _, d := range []string{emotion.ColourGreen, emotion.ColourYellow, emotion.ColourRed} {
		for i, v := range values(s, d) {
			total[i] += v
		}
	}
	for _, d := range []struct{ dim, name, colour string }{
		{emotion.ColourGreen, "green", colourGreen}, {emotion.ColourYellow, "yellow", colourYellow}, {emotion.ColourRed, "red", colourRed},
	} {
		c.Series = append(c.Series, chart.Series{Name: d.name, Values: shares(values(s, d.dim), total), Color: d.colour})
	}
	return c, nil
}

// shares is part/total in percent per day, NaN on days without messages.
func shares(part, total []int64) []float64 {
	out := make([]float64, len(part))
	for i := range part {
		if total[i] == 0 {
			out[i] = math.NaN()
			continue
		}
		out[i] = round1(100 * float64(part[i]) / float64(total[i]))
	}
	return out
}

// chartTickets: tickets opened per day by tier.
func chartTickets(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	s, err := stats.Read(tx, metricTicketsOpened, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	c := chart.Chart{Title: "Tickets opened per day by tier", Kind: chart.StackedBar, Labels: shortDays(s.Days)}
	for _, t := range tiers {
		c.Series = append(c.Series, chart.Series{Name: string(t), Values: floats(values(s, string(t))), Color: tierColours[t]})
	}
	return c, nil
}

// weekBefore returns the 7 days ending at to and the 7 days before them.
func weekBefore(to string) (thisFrom, thisTo, lastFrom, lastTo string) {
	t, _ := time.Parse(stats.DayLayout, to)
	f := func(d int) string { return t.AddDate(0, 0, d).Format(stats.DayLayout) }
	return f(-6), to, f(-13), f(-7)
}

// chartCauses: the top three negative causes of the last 7 days of the
// range against the 7 days before.
func chartCauses(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	tf, tt, lf, lt := weekBefore(rg.to)
	this, err := stats.Read(tx, metricTicketCause, tf, tt)
	if err != nil {
		return chart.Chart{}, err
	}
	last, err := stats.Read(tx, metricTicketCause, lf, lt)
	if err != nil {
		return chart.Chart{}, err
	}
	causes := this.Dims()
	slices.SortStableFunc(causes, func(x, y string) int { return int(this.Total(y) - this.Total(x)) })
	causes = slices.DeleteFunc(causes, func(c string) bool { return this.Total(c) == 0 })
	causes = causes[:min(3, len(causes))]
	c := chart.Chart{Title: "Top negative causes: this week against last week", Kind: chart.Bar, Labels: causes}
	thisV, lastV := make([]float64, len(causes)), make([]float64, len(causes))
	for i, cause := range causes {
		thisV[i], lastV[i] = float64(this.Total(cause)), float64(last.Total(cause))
	}
	c.Series = []chart.Series{
		{Name: "this week (" + tf[5:] + "–" + tt[5:] + ")", Values: thisV, Color: colourRed},
		{Name: "last week", Values: lastV, Color: colourGrey},
	}
	return c, nil
}

// faqOutcomes are the turn outcomes of an FAQ question.
var faqOutcomes = []dialog.Outcome{dialog.OutcomeAnswered, dialog.OutcomeClarify, dialog.OutcomeUnanswered}

// chartFAQRate: the share of FAQ questions answered at once per day,
// against the 80% goal.
func chartFAQRate(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	s, err := stats.Read(tx, metricTurns, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	total := make([]int64, len(s.Days))
	for _, o := range faqOutcomes {
		for i, v := range values(s, string(o)) {
			total[i] += v
		}
	}
	target := 80.0
	return chart.Chart{Title: "FAQ questions answered by the bot (%)", Kind: chart.Line, Labels: shortDays(s.Days), Unit: "%", Min: 0, Max: 100, Target: &target,
		Series: []chart.Series{{Name: "answered", Values: shares(values(s, string(dialog.OutcomeAnswered)), total), Color: colourBrand}}}, nil
}

// chartService: customer turns per day by what the bot did.
func chartService(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	s, err := stats.Read(tx, metricTurns, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	c := chart.Chart{Title: "Questions per day: answered, clarified, unanswered, handed over", Kind: chart.StackedBar, Labels: shortDays(s.Days)}
	for _, o := range []struct {
		o      dialog.Outcome
		colour string
	}{{dialog.OutcomeAnswered, colourGreen}, {dialog.OutcomeClarify, colourYellow}, {dialog.OutcomeUnanswered, colourGrey}, {dialog.OutcomeHandoff, colourRed}} {
		c.Series = append(c.Series, chart.Series{Name: string(o.o), Values: floats(values(s, string(o.o))), Color: o.colour})
	}
	return c, nil
}

// slaByTier returns the share of tickets claimed within their SLA per
// tier, with the counts.
func slaByTier(tx store.Tx, rg dashRange) (map[emotion.Tier][2]int64, error) {
	s, err := stats.Read(tx, metricTicketsSLA, rg.from, rg.to)
	if err != nil {
		return nil, err
	}
	out := map[emotion.Tier][2]int64{}
	for _, t := range tiers {
		out[t] = [2]int64{s.Total(string(t) + ":met"), s.Total(string(t) + ":missed")}
	}
	return out, nil
}

// chartSLA: SLA attainment by tier over the range.
func chartSLA(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	sla, err := slaByTier(tx, rg)
	if err != nil {
		return chart.Chart{}, err
	}
	c := chart.Chart{Title: "Tickets claimed within their SLA (%)", Kind: chart.Bar, Unit: "%", Min: 0, Max: 100}
	var vals []float64
	for _, t := range tiers {
		c.Labels = append(c.Labels, string(t))
		met, missed := sla[t][0], sla[t][1]
		if met+missed == 0 {
			vals = append(vals, math.NaN())
			continue
		}
		vals = append(vals, round1(100*float64(met)/float64(met+missed)))
	}
	c.Series = []chart.Series{{Name: "within SLA", Values: vals, Color: colourBrand}}
	return c, nil
}

// medians returns the median minutes to claim and to resolve per tier.
func medians(tx store.Tx, rg dashRange) (claim, resolve map[emotion.Tier]float64, err error) {
	cs, err := stats.Read(tx, metricClaimSeconds, rg.from, rg.to)
	if err != nil {
		return nil, nil, err
	}
	rs, err := stats.Read(tx, metricSolveSeconds, rg.from, rg.to)
	if err != nil {
		return nil, nil, err
	}
	claim, resolve = map[emotion.Tier]float64{}, map[emotion.Tier]float64{}
	for _, t := range tiers {
		v, _ := cs.Quantile(string(t), 0.5)
		claim[t] = round1(v / 60)
		v, _ = rs.Quantile(string(t), 0.5)
		resolve[t] = round1(v / 60)
	}
	return claim, resolve, nil
}

// chartTimes: median minutes to claim and to resolve, by tier.
func chartTimes(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	claim, resolve, err := medians(tx, rg)
	if err != nil {
		return chart.Chart{}, err
	}
	c := chart.Chart{Title: "Median minutes to claim and to resolve", Kind: chart.Bar, Unit: " min"}
	var cv, rv []float64
	for _, t := range tiers {
		c.Labels = append(c.Labels, string(t))
		cv, rv = append(cv, claim[t]), append(rv, resolve[t])
	}
	c.Series = []chart.Series{{Name: "to claim", Values: cv, Color: colourBrand}, {Name: "to resolve", Values: rv, Color: colourGrey}}
	return c, nil
}

// weeks groups the range's days into ISO weeks, returning each week's
// label and day indexes.
func weeks(days []string) ([]string, [][]int) {
	var labels []string
	var idx [][]int
	for i, d := range days {
		t, _ := time.Parse(stats.DayLayout, d)
		y, w := t.ISOWeek()
		label := fmt.Sprintf("%d-W%02d", y, w)
		if len(labels) == 0 || labels[len(labels)-1] != label {
			labels = append(labels, label)
			idx = append(idx, nil)
		}
		idx[len(idx)-1] = append(idx[len(idx)-1], i)
	}
	return labels, idx
}

func sumAt(v []int64, idx []int) int64 {
	var n int64
	for _, i := range idx {
		n += v[i]
	}
	return n
}

// chartSatisfaction: CSAT (% of 4s and 5s) and NPS per week.
func chartSatisfaction(_ *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	cs, err := stats.Read(tx, metricCSAT, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	ns, err := stats.Read(tx, metricNPS, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	labels, idx := weeks(rg.days)
	csat, nps := make([]float64, len(labels)), make([]float64, len(labels))
	for w, days := range idx {
		var all, happy int64
		for score := 1; score <= 5; score++ {
			n := sumAt(values(cs, strconv.Itoa(score)), days)
			all += n
			if score >= 4 {
				happy += n
			}
		}
		csat[w] = math.NaN()
		if all > 0 {
			csat[w] = round1(100 * float64(happy) / float64(all))
		}
		p, d := sumAt(values(ns, "promoter"), days), sumAt(values(ns, "detractor"), days)
		n := p + d + sumAt(values(ns, "passive"), days)
		nps[w] = math.NaN()
		if n > 0 {
			nps[w] = round1(100 * float64(p-d) / float64(n))
		}
	}
	return chart.Chart{Title: "CSAT (% satisfied) and NPS per week", Kind: chart.Line, Labels: labels, Min: -100, Max: 100,
		Series: []chart.Series{{Name: "CSAT %", Values: csat, Color: colourGreen}, {Name: "NPS", Values: nps, Color: colourBrand}}}, nil
}

// DashboardSummary is the dashboard's key figures for a range.
type DashboardSummary struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Messages by emotion colour.
	Messages map[string]int64 `json:"messages"`
	// Turns by outcome, and the FAQ answer rate (answered without a
	// person, of answered + clarified + unanswered), with its goal.
	Turns      map[string]int64 `json:"turns"`
	FAQRate    float64          `json:"faq_rate"`
	FAQGoal    float64          `json:"faq_goal"`
	Handoffs   int64            `json:"handoffs"`
	Tickets    map[string]int64 `json:"tickets"`
	SLA        map[string]any   `json:"sla"`
	ClaimMin   map[string]any   `json:"claim_minutes"`
	ResolveMin map[string]any   `json:"resolve_minutes"`
	CSAT       float64          `json:"csat"`
	CSATCount  int64            `json:"csat_count"`
	NPS        float64          `json:"nps"`
	NPSCount   int64            `json:"nps_count"`
	// Unanswered are the questions the bot could not answer, most asked
	// first (all time: the list a manager works through).
	Unanswered []knowledge.UnansweredStat `json:"unanswered"`
	Charts     []string                   `json:"charts"`
}

func (a *App) handleDashboardSummary(w http.ResponseWriter, r *http.Request, _ handoff.Account) {
	rg, err := a.dashRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var sum DashboardSummary
	err = a.store.View(func(tx store.Tx) error {
		var err error
		sum, err = a.dashboardSummary(tx, rg)
		return err
	})
	if err == nil {
		sum.Unanswered, err = a.Unanswered(20)
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if sum.Unanswered == nil {
		sum.Unanswered = []knowledge.UnansweredStat{}
	}
	writeJSONStatus(w, http.StatusOK, sum)
}

func (a *App) dashboardSummary(tx store.Tx, rg dashRange) (DashboardSummary, error) {
	sum := DashboardSummary{From: rg.from, To: rg.to, FAQGoal: 80, Charts: chartNames(),
		Messages: map[string]int64{}, Turns: map[string]int64{}, Tickets: map[string]int64{},
		SLA: map[string]any{}, ClaimMin: map[string]any{}, ResolveMin: map[string]any{}}
	totals := func(metric string, into map[string]int64) error {
		s, err := stats.Read(tx, metric, rg.from, rg.to)
		if err != nil {
			return err
		}
		for _, d := range s.Dims() {
			into[d] = s.Total(d)
		}
		return nil
	}
	if err := totals(metricEmotion, sum.Messages); err != nil {
		return sum, err
	}
	if err := totals(metricTurns, sum.Turns); err != nil {
		return sum, err
	}
	if err := totals(metricTicketsOpened, sum.Tickets); err != nil {
		return sum, err
	}
	var faq int64
	for _, o := range faqOutcomes {
		faq += sum.Turns[string(o)]
	}
	if faq > 0 {
		sum.FAQRate = round1(100 * float64(sum.Turns[string(dialog.OutcomeAnswered)]) / float64(faq))
	}
	sum.Handoffs = sum.Turns[string(dialog.OutcomeHandoff)]
	sla, err := slaByTier(tx, rg)
	if err != nil {
		return sum, err
	}
	claim, resolve, err := medians(tx, rg)
	if err != nil {
		return sum, err
	}
	for _, t := range tiers {
		met, missed := sla[t][0], sla[t][1]
		sum.SLA[string(t)] = nil
		if met+missed > 0 {
			sum.SLA[string(t)] = round1(100 * float64(met) / float64(met+missed))
		}
		sum.ClaimMin[string(t)], sum.ResolveMin[string(t)] = jsonNumber(claim[t]), jsonNumber(resolve[t])
	}
	csat := map[string]int64{}
	if err := totals(metricCSAT, csat); err != nil {
		return sum, err
	}
	for score, n := range csat {
		sum.CSATCount += n
		if score == "4" || score == "5" {
			sum.CSAT += float64(n)
		}
	}
	if sum.CSATCount > 0 {
		sum.CSAT = round1(100 * sum.CSAT / float64(sum.CSATCount))
	}
	nps := map[string]int64{}
	if err := totals(metricNPS, nps); err != nil {
		return sum, err
	}
	sum.NPSCount = nps["promoter"] + nps["passive"] + nps["detractor"]
	if sum.NPSCount > 0 {
		sum.NPS = round1(100 * float64(nps["promoter"]-nps["detractor"]) / float64(sum.NPSCount))
	}
	return sum, nil
}

// jsonNumber is v, or nil for NaN (which JSON cannot carry).
func jsonNumber(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// noLoyalty is the chart shown when the programme is off.
func noLoyalty(title string) chart.Chart {
	return chart.Chart{Title: title + " (loyalty is off)", Kind: chart.Bar}
}

// chartMembersTier: members by tier today.
func chartMembersTier(a *App, tx store.Tx, _ dashRange) (chart.Chart, error) {
	var tiers []string
	if a.loyaltyChat != nil {
		for _, t := range a.loyaltyChat.opts.Tiers {
			tiers = append(tiers, t.Name)
		}
	}
	return censusChart(a, tx, "Members by tier (today)", tiers, func(c loyalty.Census) map[string]int { return c.Tiers })
}

// chartMembersStage: members by lifecycle stage today.
func chartMembersStage(a *App, tx store.Tx, _ dashRange) (chart.Chart, error) {
	stages := []string{loyalty.StageNew, loyalty.StageGrowing, loyalty.StageCore, loyalty.StageAtRisk, loyalty.StageDormant}
	return censusChart(a, tx, "Members by lifecycle stage (today)", stages, func(c loyalty.Census) map[string]int { return c.Stages })
}

// censusChart draws one of the census's counts over labels.
func censusChart(a *App, tx store.Tx, title string, labels []string, counts func(loyalty.Census) map[string]int) (chart.Chart, error) {
	if a.loyalty == nil {
		return noLoyalty(title), nil
	}
	c, err := a.loyalty.Census(tx)
	if err != nil {
		return chart.Chart{}, err
	}
	by := counts(c)
	v := make([]float64, len(labels))
	for i, l := range labels {
		v[i] = float64(by[l])
	}
	return chart.Chart{Title: title, Kind: chart.Bar, Labels: labels, Series: []chart.Series{{Name: "members", Values: v, Color: colourBrand}}}, nil
}

// chartPoints: points earned, redeemed and expired per week.
func chartPoints(a *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	const title = "Points per week: earned, redeemed, expired"
	if a.loyalty == nil {
		return noLoyalty(title), nil
	}
	s, err := stats.Read(tx, loyalty.MetricPoints, rg.from, rg.to)
	if err != nil {
		return chart.Chart{}, err
	}
	labels, idx := weeks(rg.days)
	out := chart.Chart{Title: title, Kind: chart.Bar, Labels: labels}
	for _, d := range []struct{ dim, colour string }{
		{loyalty.PointsEarned, colourGreen}, {loyalty.PointsRedeemed, colourBrand}, {loyalty.PointsExpired, colourGrey},
	} {
		v := make([]float64, len(labels))
		for w, days := range idx {
			v[w] = float64(sumAt(values(s, d.dim), days))
		}
		out.Series = append(out.Series, chart.Series{Name: d.dim, Values: v, Color: d.colour})
	}
	return out, nil
}

// couponTotals sums a coupon metric by right (or by origin) over the range.
func couponTotals(tx store.Tx, metric string, rg dashRange, byOrigin bool) (map[string]int64, error) {
	s, err := stats.Read(tx, metric, rg.from, rg.to)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, d := range s.Dims() {
		right, origin := loyalty.SplitCouponDim(d)
		if byOrigin {
			out[origin] += s.Total(d)
		} else {
			out[right] += s.Total(d)
		}
	}
	return out, nil
}

// chartCoupons: coupons issued and used by right (the ten most issued).
func chartCoupons(a *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	const title = "Coupons issued and used, by right"
	if a.loyalty == nil {
		return noLoyalty(title), nil
	}
	issued, err := couponTotals(tx, loyalty.MetricCouponsIssued, rg, false)
	if err != nil {
		return chart.Chart{}, err
	}
	used, err := couponTotals(tx, loyalty.MetricCouponsUsed, rg, false)
	if err != nil {
		return chart.Chart{}, err
	}
	rights := make([]string, 0, len(issued))
	for r := range issued {
		rights = append(rights, r)
	}
	for r := range used {
		if _, ok := issued[r]; !ok {
			rights = append(rights, r)
		}
	}
	slices.SortFunc(rights, func(x, y string) int {
		if d := issued[y] - issued[x]; d != 0 {
			return int(d)
		}
		return strings.Compare(x, y)
	})
	rights = rights[:min(10, len(rights))]
	iv, uv := make([]float64, len(rights)), make([]float64, len(rights))
	for i, r := range rights {
		iv[i], uv[i] = float64(issued[r]), float64(used[r])
	}
	return chart.Chart{Title: title, Kind: chart.Bar, Labels: rights,
		Series: []chart.Series{{Name: "issued", Values: iv, Color: colourBrand}, {Name: "used", Values: uv, Color: colourGreen}}}, nil
}

// chartCare: birthday greetings and recall offers sent in the range, and
// how many of their coupons were used (the conversion).
func chartCare(a *App, tx store.Tx, rg dashRange) (chart.Chart, error) {
	const title = "Birthday and recall messages sent, and their coupons used"
	if a.loyalty == nil {
		return noLoyalty(title), nil
	}
	used, err := couponTotals(tx, loyalty.MetricCouponsUsed, rg, true)
	if err != nil {
		return chart.Chart{}, err
	}
	from, _ := time.ParseInLocation(stats.DayLayout, rg.from, a.stats.Location())
	to, _ := time.ParseInLocation(stats.DayLayout, rg.to, a.stats.Location())
	kinds := []string{outreach.KindBirthday, outreach.KindRecall}
	sent, uv := make([]float64, len(kinds)), make([]float64, len(kinds))
	for i, k := range kinds {
		err := outreach.SentOfKind(tx, k, from, to.AddDate(0, 0, 1), func(string, time.Time) error {
			sent[i]++
			return nil
		})
		if err != nil {
			return chart.Chart{}, err
		}
		uv[i] = float64(used[k])
	}
	return chart.Chart{Title: title, Kind: chart.Bar, Labels: kinds,
		Series: []chart.Series{{Name: "sent", Values: sent, Color: colourBrand}, {Name: "coupons used", Values: uv, Color: colourGreen}}}, nil
}
