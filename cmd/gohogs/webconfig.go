package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
)

// --web.config.file: TLS and basic auth of the metrics server in the web
// configuration format of Prometheus's exporter-toolkit, the library (and
// the file) of every official exporter, so that an operator's file for
// node_exporter works here as it is and /metrics can be exposed beyond
// loopback safely.

func setWebConfig(o *options, val string) error {
	if val == "" {
		return &valueError{"gohogs: --web.config.file: empty file name"}
	}
	o.webConfig = val
	return nil
}

// checkWebConfig reads the file as the server will (its YAML, the users'
// bcrypt hashes, the certificate and key it names), so that a file that
// cannot be used stops gohogs with one line before capture starts. ""
// (no file) is plain HTTP.
func checkWebConfig(path string) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("gohogs: --web.config.file %s: %s", path, oneLine(err.Error()))
	}
	return nil
}

// serveWeb serves srv on ln as the web config file at path says (plain
// HTTP when path is ""). The toolkit's errors at run time (the file made
// unreadable since start) go to stderr, one line each; its notes that all
// is well are left out.
func serveWeb(ln net.Listener, srv *http.Server, path string, stderr io.Writer) error {
	w := &prefixWriter{w: stderr, prefix: "gohogs: --web.config.file " + path + ": "}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	return web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &path}, logger)
}

// prefixWriter writes each Write (a slog handler writes a whole record in
// one) after a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// oneLine joins a multi-line message into one: YAML's errors list each
// field on its own line after "unmarshal errors:".
func oneLine(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if i > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(strings.TrimSpace(l))
	}
	return b.String()
}
