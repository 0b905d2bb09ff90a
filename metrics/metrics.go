// Package metrics is the server's Prometheus instrumentation: it owns the
// registry, the metrics and the /metrics handler. The packages it observes
// do not import Prometheus: queue and handler each declare the small
// observer interface they call, and *Metrics implements both; the store is
// observed by wrapping it (Store).
package metrics

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zivro/zivro/queue"
)

// namespace prefixes every metric of the server's own.
const namespace = "zivro"

// Metrics holds the server's metrics. Its methods are safe for concurrent
// use, and cheap: an atomic add, or a histogram observation.
type Metrics struct {
	reg *prometheus.Registry

	matches      prometheus.Counter
	timeToMatch  prometheus.Histogram
	callDuration *prometheus.HistogramVec
	nexts        prometheus.Counter
	leaves       *prometheus.CounterVec
	disconnects  *prometheus.CounterVec
	resumes      *prometheus.CounterVec
	signals      prometheus.Counter
	chats        prometheus.Counter
	refused      *prometheus.CounterVec
	storeCalls   *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	eventLag     prometheus.Histogram
	moderation   *prometheus.CounterVec
}

// New returns the metrics, registered with the Go runtime and process
// collectors on a registry of their own.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}

	m.matches = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "matches_total",
		Help: "Pairs formed, counted by the instance of the user who waited longer (the initiator).",
	})
	m.timeToMatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "time_to_match_seconds",
		Help:    "How long a user of this instance waited in the queue before being matched, from its join or requeue.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	})
	m.callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "call_duration_seconds",
		Help:    "How long a call lasted until one side pressed Next, left or disconnected (reason), counted by the instance of the partner who was told.",
		Buckets: []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	}, []string{"reason"})
	m.nexts = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "nexts_total",
		Help: "Nexts (and blocks, which end the call as Next does) that took effect, by users of this instance.",
	})
	m.leaves = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "leaves_total",
		Help: "Users of this instance taken out of the queue or their call: by leave-queue (reason leave) or by disconnecting (reason disconnect).",
	}, []string{"reason"})
	m.disconnects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "disconnects_total",
		Help: "Socket.IO connections of this instance that ended, by the library's reason.",
	}, []string{"reason"})
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "relayed_total",
		Help: "Events relayed to a partner: WebRTC signals (kind signal) and chat messages (kind chat).",
	}, []string{"kind"})
	m.signals, m.chats = relayed.WithLabelValues("signal"), relayed.WithLabelValues("chat")
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "refused_total",
		Help: "Client events refused (error ack, or dropped over the rate limit), by reason.",
	}, []string{"reason"})
	m.storeCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "store_call_duration_seconds",
		Help:    "Latency of the store's calls, by operation (refusals and failures included).",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	}, []string{"op"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "store_errors_total",
		Help: "Store calls that failed (timeouts, an unreachable or full store), by operation; refusals such as busy or not joined are not failures.",
	}, []string{"op"})
	m.eventLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "store_event_lag_seconds",
		Help:    "Time from the store recording a state change's event to this instance handling it (with Redis, includes the clock offset between Redis and this host).",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
	})
	m.resumes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "resumes_total",
		Help: "Sessions of resumable clients: held after a drop (held), not held (refused: the store failed or the address holds too many), taken back by a reconnect (resumed).",
	}, []string{"outcome"})
	m.moderation = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "moderation_actions_total",
		Help: "Moderator actions taken through this instance's admin API: ban, lift (a ban), dismiss (reports), lift-cool-down.",
	}, []string{"action"})
	reg.MustRegister(m.matches, m.timeToMatch, m.callDuration, m.nexts, m.leaves,
		m.disconnects, m.resumes, relayed, m.refused, m.storeCalls, m.storeErrors, m.eventLag, m.moderation)
	// Known label values exist from the start, at zero: a rate over a
	// series that appears with its first increment misses that increment.
	for _, r := range []queue.Reason{queue.ReasonNext, queue.ReasonLeave, queue.ReasonDisconnect} {
		m.callDuration.WithLabelValues(string(r))
	}
	for _, r := range []queue.Reason{queue.ReasonLeave, queue.ReasonDisconnect} {
		m.leaves.WithLabelValues(string(r))
	}
	for _, op := range storeOps {
		m.storeCalls.WithLabelValues(op)
		m.storeErrors.WithLabelValues(op)
	}
	for _, o := range ResumeOutcomes {
		m.resumes.WithLabelValues(o)
	}
	for _, a := range []string{"ban", "lift", "dismiss", "lift-cool-down"} {
		m.moderation.WithLabelValues(a)
	}
	return m
}

// Moderated counts a moderator's action: ban, lift, dismiss or
// lift-cool-down.
func (m *Metrics) Moderated(action string) { m.moderation.WithLabelValues(action).Inc() }

// Handler serves the metrics in Prometheus's text format, to anyone: the
// caller puts it behind a token (web.RequireToken) or on a private
// listener.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Matched counts a user of this instance matched after waiting waited (0
// when unknown: not observed); an initiator also counts the pair.
func (m *Metrics) Matched(initiator bool, waited time.Duration) {
	if initiator {
		m.matches.Inc()
	}
	if waited > 0 {
		m.timeToMatch.Observe(waited.Seconds())
	}
}

// CallEnded observes a call that lasted lasted, ended by the partner for
// reason.
func (m *Metrics) CallEnded(reason queue.Reason, lasted time.Duration) {
	m.callDuration.WithLabelValues(string(reason)).Observe(lasted.Seconds())
}

// Nexted counts a Next that took effect.
func (m *Metrics) Nexted() { m.nexts.Inc() }

// Left counts a user taken out of the queue or its call, for reason.
func (m *Metrics) Left(reason queue.Reason) { m.leaves.WithLabelValues(string(reason)).Inc() }

// EventHandled observes the lag of an event the store recorded at at.
func (m *Metrics) EventHandled(at time.Time) {
	if at.IsZero() {
		return
	}
	m.eventLag.Observe(max(0, time.Since(at).Seconds()))
}

// SignalRelayed counts a signal relayed to a partner.
func (m *Metrics) SignalRelayed() { m.signals.Inc() }

// ChatRelayed counts a chat message relayed to a partner.
func (m *Metrics) ChatRelayed() { m.chats.Inc() }

// Refused counts a refused event. reason must come from a fixed set (the
// server's own refusal messages), never from the client.
func (m *Metrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// disconnectReasons are the Socket.IO library's reasons; any other counts
// as "other", so that the label stays bounded.
var disconnectReasons = []string{
	"transport close", "transport error", "ping timeout", "parse error", "forced close",
	"forced server close", "server namespace disconnect", "client namespace disconnect",
	"server shutting down",
}

// ResumeOutcomes are the outcomes Resume counts.
var ResumeOutcomes = []string{"held", "refused", "resumed"}

// Resume counts an outcome of a resumable session (one of ResumeOutcomes).
func (m *Metrics) Resume(outcome string) { m.resumes.WithLabelValues(outcome).Inc() }

// Disconnected counts a connection that ended for reason.
func (m *Metrics) Disconnected(reason string) {
	label := "other"
	for _, r := range disconnectReasons {
		if strings.EqualFold(r, reason) {
			label = r
			break
		}
	}
	m.disconnects.WithLabelValues(label).Inc()
}

// WatchSockets reports, at each scrape, the connected sockets by transport
// as count returns them.
func (m *Metrics) WatchSockets(count func() map[string]int) {
	desc := prometheus.NewDesc(namespace+"_connected_sockets", "Socket.IO connections to this instance, by transport.", []string{"transport"}, nil)
	m.reg.MustRegister(collectorFunc{desc: desc, collect: func(ch chan<- prometheus.Metric) {
		byTransport := count()
		if n, ok := byTransport[""]; ok { // between transports
			delete(byTransport, "")
			byTransport["unknown"] += n
		}
		for _, t := range []string{"polling", "websocket"} {
			if _, ok := byTransport[t]; !ok {
				byTransport[t] = 0
			}
		}
		for t, n := range byTransport {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), t)
		}
	}})
}

// countsTimeout bounds the store read behind a scrape.
const countsTimeout = time.Second

// WatchCounts reports, at each scrape, the figures across every instance
// that counts reads from the store: users online, waiting, and pairs in a
// call. A failed read reports none of them (and counts a census error).
func (m *Metrics) WatchCounts(counts func(context.Context) (queue.Counts, error)) {
	online := prometheus.NewDesc(namespace+"_users_online", "Users connected to every instance sharing the store (the store's census).", nil, nil)
	waiting := prometheus.NewDesc(namespace+"_users_waiting", "Users in the queue, across every instance (the store's figure).", nil, nil)
	pairs := prometheus.NewDesc(namespace+"_pairs_in_call", "Pairs in a call, across every instance (the store's figure).", nil, nil)
	m.reg.MustRegister(collectorFunc{desc: online, also: []*prometheus.Desc{waiting, pairs}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), countsTimeout)
		defer cancel()
		c, err := counts(ctx)
		if err != nil {
			return // the store call's error is counted by the store wrapper
		}
		ch <- prometheus.MustNewConstMetric(online, prometheus.GaugeValue, float64(c.Online))
		ch <- prometheus.MustNewConstMetric(waiting, prometheus.GaugeValue, float64(c.Waiting))
		ch <- prometheus.MustNewConstMetric(pairs, prometheus.GaugeValue, float64(c.InCall/2))
	}})
}

// collectorFunc is a collector of metrics computed at scrape time.
type collectorFunc struct {
	desc    *prometheus.Desc
	also    []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	for _, d := range c.also {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
