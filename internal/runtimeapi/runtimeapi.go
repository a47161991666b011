// Package runtimeapi names containers by asking their runtime: Docker's and
// podman's REST API (GET /containers/ID/json, podman serving Docker's
// compatible one) on their unix sockets, when they are there.
//
// No runtime is required: a socket that is absent costs one stat per
// container looked up, and nothing per process. A Namer answers from a
// cache (Name never waits) and asks the runtimes on a goroutine of its own,
// one container at a time, each request bounded by a timeout; a container
// no runtime could name is asked again after Options.Retry. It is a small
// client of net/http rather than the runtimes' Go clients, which would
// bring hundreds of packages for one field of one call.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gohogs/gohogs/internal/cgroup"
)

// Ref is a container to be named.
type Ref struct {
	Runtime cgroup.Runtime
	ID      string
	// User is the uid whose systemd user manager runs the container (a
	// rootless one, whose API is that user's socket) when Rootless is set.
	User     uint32
	Rootless bool
}

// Options configures a Namer. Its zero value asks the usual sockets.
type Options struct {
	// Docker and Podman are the API sockets tried for each runtime's
	// containers, in order; nil means DockerSockets and PodmanSockets
	// (plus, for a rootless container, its user's socket).
	Docker, Podman []string
	// Timeout bounds one request, connecting included; default 1 s.
	Timeout time.Duration
	// Retry is how long a container that no runtime named (no socket, not
	// found, an error) stays unnamed before it is asked for again;
	// default 30 s.
	Retry time.Duration
}

// The sockets tried by default. $XDG_RUNTIME_DIR's podman socket is added
// when that variable is set, and a rootless container's owner's
// /run/user/UID sockets.
var (
	DockerSockets = []string{"/run/docker.sock", "/var/run/docker.sock"}
	PodmanSockets = []string{"/run/podman/podman.sock"}
)

// maxEntries bounds the cache; beyond it, it starts anew.
const maxEntries = 4096

// maxBody bounds what is read of an answer; the name comes early in it.
const maxBody = 1 << 20

// maxName bounds a name kept.
const maxName = 255

// key is a container in the cache: a rootless container's owner is
// known from its cgroup path, which a later Name may not have.
type key struct {
	rt cgroup.Runtime
	id string
}

type entry struct {
	ref     Ref
	name    string
	pending bool      // queued or being asked
	retry   time.Time // when an unnamed container may be asked again
}

// Namer names containers. Its methods are safe for concurrent use.
type Namer struct {
	opts  Options
	queue chan key
	stop  context.CancelFunc
	ctx   context.Context
	wg    sync.WaitGroup
	now   func() time.Time
	// asked, if set (tests), hears of every answer.
	asked func(Ref, string, error)

	mu    sync.Mutex
	cache map[key]*entry

	tmu        sync.Mutex
	transports map[string]*http.Transport // per socket path
}

// New starts a Namer; Close stops it.
func New(opts Options) *Namer {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = 30 * time.Second
	}
	ctx, stop := context.WithCancel(context.Background())
	n := &Namer{opts: opts, queue: make(chan key, 256), ctx: ctx, stop: stop, now: time.Now,
		cache: make(map[key]*entry), transports: make(map[string]*http.Transport)}
	n.wg.Add(1)
	go n.worker()
	return n
}

// Close stops the Namer, aborting a request in flight.
func (n *Namer) Close() error {
	n.stop()
	n.wg.Wait()
	n.tmu.Lock()
	defer n.tmu.Unlock()
	for _, t := range n.transports {
		t.CloseIdleConnections()
	}
	return nil
}

// Name returns the container's name if it is known, else "" (and, unless
// it was asked for lately, asks its runtime in the background). Only
// Docker's and podman's containers can be named. The cache is keyed by
// runtime and id: a later Name of the same container need not say it is
// rootless.
func (n *Namer) Name(ref Ref) string {
	if ref.ID == "" || (ref.Runtime != cgroup.Docker && ref.Runtime != cgroup.Podman) {
		return ""
	}
	k := key{ref.Runtime, ref.ID}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.cache[k]
	if e != nil && ref.Rootless && !e.ref.Rootless {
		e.ref = ref
	}
	if e != nil && (e.name != "" || e.pending || n.now().Before(e.retry)) {
		return e.name
	}
	if e == nil {
		if len(n.cache) >= maxEntries {
			clear(n.cache)
		}
		e = &entry{ref: ref}
		n.cache[k] = e
	}
	select {
	case n.queue <- k:
		e.pending = true
	default: // full: asked at a later call
	}
	return ""
}

func (n *Namer) worker() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case k := <-n.queue:
			n.mu.Lock()
			ref := Ref{Runtime: k.rt, ID: k.id}
			if e := n.cache[k]; e != nil {
				ref = e.ref
			}
			n.mu.Unlock()
			name, err := n.Lookup(n.ctx, ref)
			n.mu.Lock()
			if e := n.cache[k]; e != nil {
				e.name, e.pending = name, false
				if name == "" {
					e.retry = n.now().Add(n.opts.Retry)
				}
			}
			n.mu.Unlock()
			if n.asked != nil {
				n.asked(ref, name, err)
			}
		}
	}
}

// ErrNotFound is Lookup's error when no runtime's socket knows the
// container (or none is there).
var ErrNotFound = errors.New("runtimeapi: no runtime API names the container")

// Lookup asks the runtime's sockets, in order, for the container's name,
// and returns the first answer. Errors of the sockets that failed are
// joined to ErrNotFound.
func (n *Namer) Lookup(ctx context.Context, ref Ref) (string, error) {
	if !isID(ref.ID) {
		return "", fmt.Errorf("runtimeapi: %q is no container id: %w", ref.ID, ErrNotFound)
	}
	errs := []error{ErrNotFound}
	for _, sock := range n.sockets(ref) {
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode().Type() != fs.ModeSocket {
			continue // absent: the usual case, not an error
		}
		name, err := n.ask(ctx, sock, ref.ID)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, errNoSuch) {
			errs = append(errs, err)
		}
	}
	return "", errors.Join(errs...)
}

// sockets are the sockets to ask for ref, without repeats.
func (n *Namer) sockets(ref Ref) []string {
	var out []string
	add := func(paths ...string) {
		for _, p := range paths {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	user := ""
	if ref.Rootless {
		user = filepath.Join("/run/user", strconv.FormatUint(uint64(ref.User), 10))
	}
	switch ref.Runtime {
	case cgroup.Docker:
		if n.opts.Docker != nil {
			add(n.opts.Docker...)
			break
		}
		add(DockerSockets...)
		if user != "" {
			add(filepath.Join(user, "docker.sock"))
		}
	case cgroup.Podman:
		if n.opts.Podman != nil {
			add(n.opts.Podman...)
			break
		}
		add(PodmanSockets...)
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
			add(filepath.Join(x, "podman", "podman.sock"))
		}
		if user != "" {
			add(filepath.Join(user, "podman", "podman.sock"))
		}
	}
	return out
}

// errNoSuch is a runtime's 404: that socket's runtime does not know the id.
var errNoSuch = errors.New("no such container")

// ask sends GET /containers/ID/json to the API on sock and reads .Name.
func (n *Namer) ask(ctx context.Context, sock, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://runtime/containers/"+id+"/json", nil)
	if err != nil {
		return "", fmt.Errorf("runtimeapi: %s: %w", sock, err)
	}
	resp, err := n.transport(sock).RoundTrip(req)
	if err != nil {
		return "", fmt.Errorf("runtimeapi: %s: %w", sock, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxBody)
	defer io.Copy(io.Discard, body) // the connection can be reused
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return "", errNoSuch
	default:
		return "", fmt.Errorf("runtimeapi: %s: GET /containers/%.12s/json: %s", sock, id, resp.Status)
	}
	name, err := readName(body)
	if err != nil {
		return "", fmt.Errorf("runtimeapi: %s: container %.12s: %w", sock, id, err)
	}
	return name, nil
}

// readName reads the top-level "Name" of a container's JSON, stopping
// there: "/web" (Docker's spelling, which podman's compatible API keeps)
// is "web".
func readName(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", err
		}
		if k, _ := t.(string); k == "Name" {
			var name string
			if err := dec.Decode(&name); err != nil {
				return "", fmt.Errorf("Name: %w", err)
			}
			name = strings.TrimPrefix(name, "/")
			if len(name) > maxName {
				name = name[:maxName]
			}
			if name == "" {
				return "", errors.New("empty Name")
			}
			return name, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	return "", errors.New("no Name")
}

// transport is the HTTP transport of the socket sock.
func (n *Namer) transport(sock string) *http.Transport {
	n.tmu.Lock()
	defer n.tmu.Unlock()
	t := n.transports[sock]
	if t == nil {
		d := net.Dialer{Timeout: n.opts.Timeout}
		t = &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", sock)
			},
			MaxIdleConns:          1,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: n.opts.Timeout,
			DisableCompression:    true,
		}
		n.transports[sock] = t
	}
	return t
}

// isID tells whether s is a container id (64 lower-case hex digits): what
// goes into a request's path.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
