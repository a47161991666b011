// Package metrics exports what a gohogs Monitor measures as Prometheus
// metrics: byte counters per program and user, and gohogs's own health.
//
// Design. An Exporter is a prometheus.Collector that holds its own
// cumulative totals. Observe adds each refresh's interval bytes (Row.Sent,
// Row.Recv) to the series of the row's labels; a scrape reads those totals
// under a mutex and builds const metrics, so scraping never takes a refresh
// and never steals bytes from the program's own output. Adding intervals,
// rather than copying a row's totals, keeps each counter monotonic when
// processes of the same program come and go, when the monitor forgets an
// idle process, or when a pid is reused.
//
// Labels. The per-process counters are labelled by program (the row's name,
// argv[0] as nethogs shows it) and user (the user name of the uid, or the
// uid in decimal when it has no name). A pid label is opt-in
// (Options.PIDLabel): pids churn, and every pid is a new series; so are
// container and unit labels (Options.ContainerLabel). Traffic
// whose owner is unknown is counted under the programs "unknown TCP",
// "unknown UDP", "unknown ICMP", "unknown IP" and "unknown socket" (a
// socket whose process could not be seen; its trace name, the connection,
// would make one series per flow).
//
// Health counters (packets, kernel drops, unknown bytes, resolver misses,
// ...) are read at scrape time from Options.Stats. The bytes on no process
// row are counted by reason (trace.Reason) from the refreshes observed:
// gohogs_unaccounted_bytes_total{reason}.
//
// No global registry is used: Handler serves a new prometheus.Registry.
package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/internal/username"
	"github.com/gohogs/gohogs/trace"
)

// Options configures an Exporter.
type Options struct {
	// PIDLabel adds a "pid" label to the per-process counters. Each
	// process is then its own series; a series is dropped PIDExpiry after
	// its process last appeared in a refresh.
	PIDLabel bool
	// PIDExpiry is how long a pid-labelled series outlives its process's
	// last appearance; default 10 minutes. Series without a pid label are
	// kept for the exporter's lifetime (their number is bounded by the
	// programs and users seen).
	PIDExpiry time.Duration
	// ContainerLabel adds "container" and "unit" labels to the
	// per-process counters: the name of the process's container (its id's
	// first 12 digits while its runtime has not named it; "" outside one)
	// and its systemd unit. Containers and units (session scopes, a
	// container's scope) come and go: a series with either label set is
	// dropped PIDExpiry after it was last listed, as pid series are.
	ContainerLabel bool
	// Stats, if set, is called at each scrape for the health metrics
	// (typically (*gohogs.Monitor).Stats).
	Stats func() gohogs.Stats
	// UserName maps a uid to the user label. Default: the user database
	// (os/user), cached; the uid in decimal when the uid has no name.
	UserName func(uid uint32) string
}

// Program names of the rows that are not processes.
const (
	UnknownTCP    = "unknown TCP"
	UnknownUDP    = "unknown UDP"
	UnknownSocket = "unknown socket"
)

type seriesKey struct {
	program, user   string
	pid             int
	container, unit string
}

type series struct {
	sent, recv uint64
	seen       time.Time // time of the last refresh that listed it
}

// Exporter is a prometheus.Collector of a Monitor's refreshes. Its methods
// are safe for concurrent use.
type Exporter struct {
	opts Options

	mu        sync.Mutex
	series    map[seriesKey]*series
	users     *username.Cache // label values, made valid UTF-8
	refreshes uint64
	last      time.Time
	buckets   trace.Buckets // bytes on no process row, by reason

	sentDesc, recvDesc *prometheus.Desc
	refreshesDesc      *prometheus.Desc
	lastDesc           *prometheus.Desc
	unaccountedDesc    *prometheus.Desc
	packetsDesc        *prometheus.Desc
	bytesDesc          *prometheus.Desc
	ignoredDesc        *prometheus.Desc
	unknownDesc        *prometheus.Desc
	queueDropsDesc     *prometheus.Desc
	resolvedDesc       *prometheus.Desc
	failedDesc         *prometheus.Desc
	flowsDesc          *prometheus.Desc
	processesDesc      *prometheus.Desc
	capPacketsDesc     *prometheus.Desc
	capBytesDesc       *prometheus.Desc
	capMalformedDesc   *prometheus.Desc
	capDropsDesc       *prometheus.Desc
	lookupsDesc        *prometheus.Desc
	missesDesc         *prometheus.Desc
	noProcessDesc      *prometheus.Desc
	netlinkErrDesc     *prometheus.Desc
}

// New returns an Exporter with no series yet.
func New(opts Options) *Exporter {
	if opts.PIDExpiry <= 0 {
		opts.PIDExpiry = 10 * time.Minute
	}
	labels := []string{"program", "user"}
	if opts.PIDLabel {
		labels = append(labels, "pid")
	}
	if opts.ContainerLabel {
		labels = append(labels, "container", "unit")
	}
	lookup := opts.UserName
	if lookup == nil {
		lookup = username.Lookup
	}
	iface := []string{"interface"}
	d := func(name, help string, l []string) *prometheus.Desc {
		return prometheus.NewDesc("gohogs_"+name, help, l, nil)
	}
	return &Exporter{
		opts:   opts,
		series: make(map[seriesKey]*series),
		users:  username.NewCache(func(uid uint32) string { return strings.ToValidUTF8(lookup(uid), "\uFFFD") }),

		sentDesc:      d("process_sent_bytes_total", "Bytes sent (whole frames, link header included), per program and user.", labels),
		recvDesc:      d("process_received_bytes_total", "Bytes received (whole frames, link header included), per program and user.", labels),
		refreshesDesc: d("refreshes_total", "Refreshes taken.", nil),
		lastDesc:      d("last_refresh_timestamp_seconds", "Time of the last refresh, in seconds since the epoch.", nil),
		unaccountedDesc: d("unaccounted_bytes_total", "Bytes captured that are on no process row (whole frames), by reason: "+
			"no_socket, no_process, forwarded, netns_unreachable, not_ip, not_accounted, filtered, overflow.", []string{"reason"}),
		packetsDesc:      d("packets_total", "Packets accounted.", nil),
		bytesDesc:        d("bytes_total", "Bytes accounted (whole frames).", nil),
		ignoredDesc:      d("ignored_packets_total", "Packets of protocols not accounted.", nil),
		unknownDesc:      d("unknown_bytes_total", "Bytes credited to the unknown rows (no owner found).", nil),
		queueDropsDesc:   d("lookup_queue_drops_total", "Owner lookups not queued because the queue was full.", nil),
		resolvedDesc:     d("flows_resolved_total", "Flows whose owner was found.", nil),
		failedDesc:       d("flows_unresolved_total", "Flows whose owner lookup failed.", nil),
		flowsDesc:        d("flows", "Flows in the table.", nil),
		processesDesc:    d("processes", "Process rows held.", nil),
		capPacketsDesc:   d("capture_packets_total", "Packets captured.", iface),
		capBytesDesc:     d("capture_bytes_total", "Bytes captured (original frame lengths).", iface),
		capMalformedDesc: d("capture_malformed_packets_total", "Captured frames that did not decode.", iface),
		capDropsDesc:     d("capture_kernel_drops_total", "Packets the kernel dropped because the capture ring was full.", iface),
		lookupsDesc:      d("resolver_lookups_total", "Socket owner lookups.", nil),
		missesDesc:       d("resolver_misses_total", "Socket owner lookups that found no socket.", nil),
		noProcessDesc:    d("resolver_no_process_total", "Sockets found whose process could not be seen.", nil),
		netlinkErrDesc:   d("resolver_netlink_errors_total", "sock_diag failures (the /proc/net tables were read instead).", nil),
	}
}

// Observe adds a refresh's interval bytes to the counters. Call it with
// every refresh, in order (a refresh not observed is not counted).
func (e *Exporter) Observe(s *trace.Snapshot) {
	if s == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshes++
	e.last = s.Time
	for r, n := range s.Accounting.Buckets {
		e.buckets[r] += n
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		k := e.keyOf(r)
		se := e.series[k]
		if se == nil {
			if r.Sent|r.Recv == 0 && r.TotalSent|r.TotalRecv == 0 {
				continue // nothing to count yet: no series
			}
			se = &series{}
			e.series[k] = se
		}
		se.sent += r.Sent
		se.recv += r.Recv
		se.seen = s.Time
	}
	if e.opts.PIDLabel || e.opts.ContainerLabel {
		for k, se := range e.series {
			if (k.pid != 0 || k.container != "" || k.unit != "") && s.Time.Sub(se.seen) > e.opts.PIDExpiry {
				delete(e.series, k)
			}
		}
	}
}

// keyOf returns the series of row r. Called with e.mu held.
func (e *Exporter) keyOf(r *trace.Row) seriesKey {
	switch r.Kind {
	case trace.KindUnknownTCP:
		return seriesKey{program: UnknownTCP}
	case trace.KindUnknownUDP:
		return seriesKey{program: UnknownUDP}
	case trace.KindSocket:
		return seriesKey{program: UnknownSocket, user: e.users.Name(r.UID)}
	case trace.KindUnknownICMP, trace.KindUnknownIP:
		return seriesKey{program: r.Kind.RowName()}
	}
	k := seriesKey{program: strings.ToValidUTF8(r.Name, "\uFFFD"), user: e.users.Name(r.UID)}
	if e.opts.PIDLabel {
		k.pid = r.PID
	}
	if e.opts.ContainerLabel {
		k.container, k.unit = containerLabel(r), strings.ToValidUTF8(r.Unit, "\uFFFD")
	}
	return k
}

// containerLabel is the container label of row r: its container's name,
// else the first 12 digits of its id.
func containerLabel(r *trace.Row) string {
	c := r.Container
	if c.Name != "" {
		return strings.ToValidUTF8(c.Name, "\uFFFD")
	}
	return c.ID[:min(12, len(c.ID))]
}

// LookupUser returns the user name of uid from the user database, or the
// uid in decimal when it has none: the default Options.UserName.
func LookupUser(uid uint32) string { return username.Lookup(uid) }

// Describe sends the descriptors of every metric the Exporter can collect.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		e.sentDesc, e.recvDesc, e.refreshesDesc, e.lastDesc, e.unaccountedDesc,
		e.packetsDesc, e.bytesDesc, e.ignoredDesc, e.unknownDesc, e.queueDropsDesc,
		e.resolvedDesc, e.failedDesc, e.flowsDesc, e.processesDesc,
		e.capPacketsDesc, e.capBytesDesc, e.capMalformedDesc, e.capDropsDesc,
		e.lookupsDesc, e.missesDesc, e.noProcessDesc, e.netlinkErrDesc,
	} {
		ch <- d
	}
}

// Collect sends the current counters: the per-process totals observed so
// far and, with Options.Stats, the health counters read now.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	type point struct {
		k          seriesKey
		sent, recv uint64
	}
	e.mu.Lock()
	points := make([]point, 0, len(e.series))
	for k, s := range e.series {
		points = append(points, point{k, s.sent, s.recv})
	}
	refreshes, last, buckets := e.refreshes, e.last, e.buckets
	e.mu.Unlock()

	for _, p := range points {
		lv := []string{p.k.program, p.k.user}
		if e.opts.PIDLabel {
			lv = append(lv, strconv.Itoa(p.k.pid))
		}
		if e.opts.ContainerLabel {
			lv = append(lv, p.k.container, p.k.unit)
		}
		ch <- constMetric(e.sentDesc, prometheus.CounterValue, float64(p.sent), lv...)
		ch <- constMetric(e.recvDesc, prometheus.CounterValue, float64(p.recv), lv...)
	}
	ch <- constMetric(e.refreshesDesc, prometheus.CounterValue, float64(refreshes))
	for r, n := range buckets {
		ch <- constMetric(e.unaccountedDesc, prometheus.CounterValue, float64(n), trace.Reason(r).String())
	}
	if !last.IsZero() {
		ch <- constMetric(e.lastDesc, prometheus.GaugeValue, float64(last.UnixNano())/1e9)
	}
	if e.opts.Stats == nil {
		return
	}
	st := e.opts.Stats()
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- constMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	a := st.Accounting
	counter(e.packetsDesc, a.Packets)
	counter(e.bytesDesc, a.Bytes)
	counter(e.ignoredDesc, a.Ignored)
	counter(e.unknownDesc, a.UnknownBytes)
	counter(e.queueDropsDesc, a.Dropped)
	counter(e.resolvedDesc, a.Resolved)
	counter(e.failedDesc, a.Failed)
	ch <- constMetric(e.flowsDesc, prometheus.GaugeValue, float64(a.Flows))
	ch <- constMetric(e.processesDesc, prometheus.GaugeValue, float64(a.Processes))

	// One series per interface, even if it was opened twice.
	type capSum struct{ packets, bytes, malformed, drops uint64 }
	var names []string
	caps := make(map[string]*capSum)
	for _, c := range st.Capture {
		name := strings.ToValidUTF8(c.Interface, "\uFFFD")
		s := caps[name]
		if s == nil {
			s = &capSum{}
			caps[name] = s
			names = append(names, name)
		}
		s.packets += c.Packets
		s.bytes += c.Bytes
		s.malformed += c.Malformed
		s.drops += c.KernelDrops
	}
	for _, n := range names {
		s := caps[n]
		counter(e.capPacketsDesc, s.packets, n)
		counter(e.capBytesDesc, s.bytes, n)
		counter(e.capMalformedDesc, s.malformed, n)
		counter(e.capDropsDesc, s.drops, n)
	}
	r := st.Resolver
	counter(e.lookupsDesc, r.Lookups)
	counter(e.missesDesc, r.Misses)
	counter(e.noProcessDesc, r.NoProcess)
	counter(e.netlinkErrDesc, r.NetlinkErrors)
}

// constMetric is prometheus.MustNewConstMetric without the panic: a metric
// that cannot be made is reported to the registry as invalid.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, lv...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// Registry returns a new registry holding the Exporter and, when runtime is
// true, the Go runtime and process collectors of the exporting program.
func (e *Exporter) Registry(runtime bool) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{e}
	if runtime {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: registering a collector: %w", err)
		}
	}
	return reg, nil
}

// Handler returns an http.Handler serving the Exporter's metrics (and the
// Go runtime and process metrics) in the Prometheus exposition formats,
// from a registry of its own.
func (e *Exporter) Handler() (http.Handler, error) {
	reg, err := e.Registry(true)
	if err != nil {
		return nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}
