package bot

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the Prometheus series carebot exports on /metrics.
type Metrics struct {
	registry        *prometheus.Registry
	messagesIn      *prometheus.CounterVec
	messagesOut     *prometheus.CounterVec
	duplicates      *prometheus.CounterVec
	dispatchSeconds prometheus.Histogram
	retries         *prometheus.CounterVec
	deadLetters     *prometheus.CounterVec
	faq             *prometheus.CounterVec
	emotion         *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	tickets         *prometheus.CounterVec
}

// newMetrics registers every series on a registry of its own (not the
// global one), so tests and several engines in one process do not collide.
func newMetrics(outboxDepth func() float64) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_messages_in_total", Help: "Customer messages and button presses dispatched, by channel.",
		}, []string{"channel"}),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_messages_out_total", Help: "Outbound messages delivered, by channel.",
		}, []string{"channel"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_events_duplicate_total", Help: "Redelivered events dropped by dedupe, by channel.",
		}, []string{"channel"}),
		dispatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "carebot_dispatch_seconds",
			Help:    "Time to dispatch one event: dedupe, dialog, FAQ search and the store transaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_outbox_retries_total", Help: "Delivery attempts that failed and were scheduled again, by channel.",
		}, []string{"channel"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_outbox_dead_letters_total", Help: "Messages given up on after the last attempt or a permanent error, by channel.",
		}, []string{"channel"}),
		faq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_faq_total", Help: "Turns by outcome: answered (FAQ hit), clarify, unanswered (miss), chat.",
		}, []string{"outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_outbox_rate_limited_total", Help: "Deliveries held back by a platform's rate limit, by channel.",
		}, []string{"channel"}),
		emotion: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_emotion_messages_total", Help: "Customer messages scored, by emotion tier (none, mild, moderate, severe).",
		}, []string{"tier"}),
		tickets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebot_handoff_tickets_total", Help: "Ticket changes made by the bot, by kind (open, raise, reopen, relapse).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.rateLimited, m.emotion, m.tickets, m.messagesIn, m.messagesOut, m.duplicates, m.dispatchSeconds, m.retries, m.deadLetters, m.faq,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "carebot_outbox_depth", Help: "Outbound messages waiting for delivery (including scheduled ones).",
		}, outboxDepth),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Show the outcome series at zero from the start, so a dashboard's
	// hit rate is defined before the first message.
	for _, o := range []string{"answered", "clarify", "unanswered", "chat", "handoff"} {
		m.faq.WithLabelValues(o)
	}
	for _, t := range []string{"none", "mild", "moderate", "severe"} {
		m.emotion.WithLabelValues(t)
	}
	return m
}
