package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/metrics"
	"github.com/gohogs/gohogs/trace"
)

// setListen sets --listen.
func setListen(o *options, val string) error {
	addr, err := listenAddr(val)
	if err != nil {
		return &valueError{"gohogs: --listen: " + err.Error()}
	}
	o.listen = addr
	return nil
}

// exportModes settles the modes the export flags imply: --json is a trace
// mode (no full screen); --listen alone runs headless, exporting metrics
// without printing the trace (with -t or --json the output is printed as
// usual, and with --output it goes to the file).
func (o *options) exportModes() {
	if o.json {
		o.trace = true
	}
	if o.listen != "" && !o.trace {
		o.trace = true
		o.headless = o.output == ""
	}
}

// listenAddr completes a --listen address: a bare port (":9090" or "9090")
// binds the loopback address 127.0.0.1 only; an explicit host ("0.0.0.0:9090",
// "[::]:9090", "myhost:9090") is kept.
func listenAddr(val string) (string, error) {
	if val == "" {
		return "", errors.New(`empty address: want [HOST]:PORT such as ":9090"`)
	}
	host, port, err := net.SplitHostPort(val)
	if err != nil {
		if strings.Trim(val, "0123456789") != "" {
			return "", fmt.Errorf("invalid address %q: want [HOST]:PORT such as \":9090\"", val)
		}
		host, port = "", val
	}
	if port == "" {
		return "", fmt.Errorf("invalid address %q: no port", val)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// metricsServer is the --listen exporter: bound before capture starts (so
// that a busy port fails at once), serving once the Monitor is open. Its
// methods do nothing on a nil *metricsServer (no --listen).
type metricsServer struct {
	ln        net.Listener
	webConfig string // --web.config.file, "" for plain HTTP
	exp       *metrics.Exporter
	srv       *http.Server
	done      chan struct{}
	once      sync.Once
}

// listenMetrics checks the --web.config.file and binds o.listen; nil
// without --listen.
func listenMetrics(o *options) (*metricsServer, error) {
	if o.listen == "" {
		return nil, nil
	}
	if err := checkWebConfig(o.webConfig); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("gohogs: --listen %s: %w", o.listen, err)
	}
	return &metricsServer{ln: ln, webConfig: o.webConfig}, nil
}

// serve starts serving /metrics for m, with the TLS and basic auth of the
// --web.config.file (exporter-toolkit re-reads it for each connection and
// request, so a changed file applies without a restart); errors after start
// go to stderr.
func (s *metricsServer) serve(m *gohogs.Monitor, o *options, stderr io.Writer) error {
	if s == nil {
		return nil
	}
	s.exp = metrics.New(metrics.Options{PIDLabel: o.pidLabel, ContainerLabel: o.ctrLabel, Stats: m.Stats})
	h, err := s.exp.Handler()
	if err != nil {
		return fmt.Errorf("gohogs: --listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "gohogs exporter: metrics at /metrics\n")
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(stderr, fmt.Sprintf("gohogs: --listen %s: ", s.ln.Addr()), 0)} // TLS handshake errors
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := serveWeb(s.ln, s.srv, s.webConfig, stderr); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "gohogs: --listen %s: %v\n", s.ln.Addr(), oneLine(err.Error()))
		}
	}()
	return nil
}

// observe counts a refresh.
func (s *metricsServer) observe(snap *trace.Snapshot) {
	if s == nil || s.exp == nil {
		return
	}
	s.exp.Observe(snap)
}

// close stops serving and releases the port; later calls do nothing.
func (s *metricsServer) close() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		if s.srv == nil {
			s.ln.Close()
			return
		}
		s.srv.Close()
		<-s.done
	})
}
