package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// writeCert makes a CA and a certificate for 127.0.0.1 that it signs,
// writes the certificate and its key as dir/server.crt and
// dir/server.key, and returns the CA and a pool that trusts only it.
func writeCert(t *testing.T, dir string) (*x509.Certificate, *x509.CertPool) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gohogs test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	repWrite(t, dir, "server.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})))
	repWrite(t, dir, "server.key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return ca, pool
}

// get GETs url with the user and password if user is not "", and returns
// the response and its body.
func get(c *http.Client, url, user, pass string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// TestWebConfigTLSAndAuth: two gohogs serve their metrics on the loopback
// of a namespace, one with TLS and basic auth, one with basic auth alone,
// from web config files with a bcrypt-hashed user. Without credentials,
// with a wrong password, an unknown user or an empty password: 401, on
// /metrics and on /. With the right ones: 200 and the metrics. The TLS
// server's certificate verifies against the test's CA (a client that
// does not trust it fails the handshake), plain HTTP on the TLS port gets
// no metrics, and the only lines on stderr are the handshake errors.
func TestWebConfigTLSAndAuth(t *testing.T) {
	netnstest.Skip(t)
	dir := t.TempDir()
	ca, pool := writeCert(t, dir)
	const user, pass = "prometheus", "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	users := "basic_auth_users:\n  " + user + ": " + string(hash) + "\n"
	// Relative paths: from the config file's directory.
	tlsConfig := repWrite(t, dir, "tls.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"+users)
	authConfig := repWrite(t, dir, "auth.yml", users)
	ns := netnstest.NewLoopback(t, "ghw")
	withTLS := startGohogs(t, ns, "-a", "-d", "0.5", "--listen", ":9100", "--web.config.file", tlsConfig, "lo")
	authOnly := startGohogs(t, ns, "-a", "-d", "0.5", "--listen", ":9101", "--web.config.file", authConfig, "lo")
	c := nsClientTLS(ns, &tls.Config{RootCAs: pool})

	for _, url := range []string{"https://127.0.0.1:9100/metrics", "http://127.0.0.1:9101/metrics"} {
		// Up once it answers at all.
		var resp *http.Response
		if !poll(10*time.Second, func() bool { resp, _, err = get(c, url, "", ""); return err == nil }) {
			t.Fatalf("%s not answering after 10 s: %v\nstderr: %s %s", url, err, withTLS.stderr, authOnly.stderr)
		}
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Basic" {
			t.Errorf("%s without credentials: %s, WWW-Authenticate %q", url, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
		for _, bad := range [][3]string{{url, user, "wrong"}, {url, "root", pass}, {url, user, ""}, {strings.TrimSuffix(url, "metrics"), "", ""}} {
			resp, body, err := get(c, bad[0], bad[1], bad[2])
			if err != nil || resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "gohogs_") {
				t.Errorf("%s as %q/%q: %v %v %.80q, want 401", bad[0], bad[1], bad[2], resp, err, body)
			}
		}
		resp, body, err := get(c, url, user, pass)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s with the right credentials: %v %v, want 200", url, resp, err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil || mfs["gohogs_refreshes_total"] == nil || mfs["gohogs_packets_total"] == nil {
			t.Errorf("%s: metrics %v, %v", url, len(mfs), err)
		}
		if strings.HasPrefix(url, "https:") {
			if resp.TLS == nil || len(resp.TLS.VerifiedChains) == 0 {
				t.Fatalf("%s: no verified chain: %+v", url, resp.TLS)
			}
			chain := resp.TLS.VerifiedChains[0]
			if !chain[len(chain)-1].Equal(ca) || chain[0].Subject.CommonName != "127.0.0.1" {
				t.Errorf("%s: verified chain %v, want the server certificate under the test's CA", url, chain)
			}
		} else if resp.TLS != nil {
			t.Errorf("%s: TLS without a tls_server_config", url)
		}
	}
	// A client that trusts only the system's CAs: the handshake fails.
	_, _, err = get(nsClientTLS(ns, &tls.Config{}), "https://127.0.0.1:9100/metrics", user, pass)
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("a client without the test's CA: %v, want an unknown authority", err)
	}
	// Plain HTTP to the TLS port: refused (400), no metrics.
	if resp, body, err := get(c, "http://127.0.0.1:9100/metrics", user, pass); err == nil && (resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "gohogs_")) {
		t.Errorf("plain HTTP to the TLS port: %s %.80q", resp.Status, body)
	}

	for _, r := range []*gohogsRun{withTLS, authOnly} {
		r.cmd.Process.Signal(syscall.SIGTERM)
		if out := r.wait(t, 5*time.Second); out != "" {
			t.Errorf("headless --listen printed %q", out)
		}
	}
	// The refused handshake is the TLS server's only line, with its prefix.
	lines := strings.Split(strings.TrimSuffix(withTLS.stderr.String(), "\n"), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "gohogs: --listen 127.0.0.1:9100: http: TLS handshake error from 127.0.0.1:") {
			t.Errorf("TLS server's stderr: %q", l)
		}
	}
	if len(lines) > 2 {
		t.Errorf("TLS server's stderr has %d lines: %q", len(lines), lines)
	}
	if s := authOnly.stderr.String(); s != "" {
		t.Errorf("basic auth server's stderr: %q", s)
	}
}

// TestWebConfigErrors: a web config file that cannot be used (missing,
// unreadable, bad YAML, an unknown key, a certificate that is not there,
// a password that is not a bcrypt hash) stops gohogs with one line naming
// the file and the cause, exit 1, before it binds the port or opens a
// device (the device here does not exist: its error would come first
// otherwise).
func TestWebConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content string // content "" : name as it is
		want          string
	}{
		{"missing.yml", "", "no such file or directory"},
		{".", "", "is a directory"},
		{"syntax.yml", "tls_server_config: [\n", "yaml: line"},
		{"unknown-key.yml", "basic_auth_user:\n  a: b\n", "field basic_auth_user not found"},
		{"no-cert.yml", "tls_server_config:\n  cert_file: nosuch.crt\n  key_file: nosuch.key\n", "cert_file"},
		{"no-key.yml", "tls_server_config:\n  cert_file: server.crt\n", "missing one of key or key_file"},
		{"bad-hash.yml", "basic_auth_users:\n  a: secret\n", "bcrypt"},
	} {
		path := filepath.Join(dir, c.name)
		if c.content != "" {
			repWrite(t, dir, c.name, c.content)
		}
		var out, errb bytes.Buffer
		code := run([]string{"--listen", "127.0.0.1:0", "--web.config.file", path, "no-such-if0"}, strings.NewReader(""), &out, &errb)
		msg := errb.String()
		if code != 1 || out.Len() != 0 || strings.Count(msg, "\n") != 1 ||
			!strings.HasPrefix(msg, "gohogs: --web.config.file "+path+": ") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line with %q", c.name, code, out.String(), msg, c.want)
		}
	}
	// An empty file is a valid one: plain HTTP, no users. Then the device
	// is what fails.
	var out, errb bytes.Buffer
	empty := repWrite(t, dir, "empty.yml", "")
	if code := run([]string{"--listen", "127.0.0.1:0", "--web.config.file", empty, "no-such-if0"}, strings.NewReader(""), &out, &errb); code != 1 ||
		errb.String() != "gohogs: interface \"no-such-if0\" does not exist (ip link lists the interfaces)\n" {
		t.Errorf("empty web config: exit %d, %q", code, errb.String())
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"open x: no such file": "open x: no such file",
		"yaml: unmarshal errors:\n  line 1: field a not found\n  line 3: field b not found\n": "yaml: unmarshal errors: line 1: field a not found; line 3: field b not found",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWebConfigExample: contrib/prometheus/web-config.yml, beside the
// certificate and key it names, is a file gohogs takes, and its user's
// hash is that of the password its comment gives.
func TestWebConfigExample(t *testing.T) {
	example, err := os.ReadFile("../../contrib/prometheus/web-config.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeCert(t, dir)
	for _, f := range [][2]string{{"server.crt", "gohogs.crt"}, {"server.key", "gohogs.key"}} {
		if err := os.Rename(filepath.Join(dir, f[0]), filepath.Join(dir, f[1])); err != nil {
			t.Fatal(err)
		}
	}
	path := repWrite(t, dir, "web-config.yml", string(example))
	if err := checkWebConfig(path); err != nil {
		t.Fatal(err)
	}
	_, hash, ok := strings.Cut(string(example), "\n  prometheus: ")
	if hash, _, _ = strings.Cut(hash, "\n"); !ok || bcrypt.CompareHashAndPassword([]byte(hash), []byte("change me")) != nil {
		t.Errorf("the example's hash %q is not that of %q", hash, "change me")
	}
}
