package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/cgroup"
	"github.com/gohogs/gohogs/internal/podmantest"
)

const idA = "4d2e7c2f7d3b0d0a2e3f4c5b6a7988776655443322110099aabbccddeeff0011"

// fakeAPI serves h on a unix socket in a directory of the test's own and
// returns the socket's path.
func fakeAPI(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return sock
}

func TestLookup(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	docker := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/containers/"+idA+"/json" {
			http.NotFound(w, r)
			return
		}
		// The name after a long first field: read as a stream.
		fmt.Fprintf(w, `{"Id":%q,"Args":["%s"],"State":{"Pid":7},"Name":"/web-1","Config":{}}`, idA, strings.Repeat("x", 100000))
	})
	notFound := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	broken := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	regular := filepath.Join(t.TempDir(), "file.sock")
	os.WriteFile(regular, nil, 0o600)
	missing := filepath.Join(t.TempDir(), "none.sock")

	n := New(Options{Docker: []string{missing, regular, notFound, broken, docker}, Podman: []string{missing}})
	defer n.Close()
	ctx := context.Background()
	name, err := n.Lookup(ctx, Ref{Runtime: cgroup.Docker, ID: idA})
	if err != nil || name != "web-1" {
		t.Fatalf("Lookup = %q, %v; want web-1", name, err)
	}
	mu.Lock()
	if len(paths) != 1 || paths[0] != "GET /containers/"+idA+"/json" {
		t.Errorf("requests %q", paths)
	}
	mu.Unlock()

	// Not known anywhere: ErrNotFound, with the failing socket's error
	// (a 404 and an absent socket are not errors).
	_, err = New(Options{Docker: []string{missing, notFound, broken}}).Lookup(ctx, Ref{Runtime: cgroup.Docker, ID: idA})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), "none.sock") {
		t.Errorf("unknown everywhere: %v", err)
	}
	if _, err := n.Lookup(ctx, Ref{Runtime: cgroup.Podman, ID: idA}); !errors.Is(err, ErrNotFound) {
		t.Errorf("podman without a socket: %v", err)
	}
	// What is not an id never makes a request.
	if _, err := n.Lookup(ctx, Ref{Runtime: cgroup.Docker, ID: "../../version"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a path as id: %v", err)
	}
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string // "" for an error
	}{
		{"podman's compatible API", `{"Id":"x","Name":"/hcg","Config":{"Labels":{}}}`, "hcg"},
		{"no slash", `{"Name":"db"}`, "db"},
		{"no name", `{"Id":"x"}`, ""},
		{"empty name", `{"Name":"/"}`, ""},
		{"name not a string", `{"Name":5}`, ""},
		{"not an object", `["Name","x"]`, ""},
		{"not JSON", `<html>`, ""},
		{"cut short", `{"Id":"x","Na`, ""},
		{"beyond the limit", `{"Pad":"` + strings.Repeat("x", maxBody) + `","Name":"/late"}`, ""},
		{"long name", `{"Name":"/` + strings.Repeat("n", 300) + `"}`, strings.Repeat("n", maxName)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.body)) })
			n := New(Options{Docker: []string{sock}})
			defer n.Close()
			name, err := n.Lookup(context.Background(), Ref{Runtime: cgroup.Docker, ID: idA})
			if name != tc.want || (tc.want == "") != (err != nil) {
				t.Errorf("Lookup = %q, %v; want %q", name, err, tc.want)
			}
		})
	}
}

// TestTimeout: a runtime that never answers costs Options.Timeout, not
// more.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	sock := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	n := New(Options{Docker: []string{sock}, Timeout: 200 * time.Millisecond})
	defer n.Close()
	start := time.Now()
	_, err := n.Lookup(context.Background(), Ref{Runtime: cgroup.Docker, ID: idA})
	if took := time.Since(start); err == nil || took < 200*time.Millisecond || took > 3*time.Second {
		t.Errorf("a silent runtime: %v after %v; want an error after 200 ms", err, took)
	}
}

// TestName: Name answers at once, from the cache, and asks in the
// background; an unnamed container is asked again after Retry only.
func TestName(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	name := ""
	sock := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if name == "" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"Name":"/%s"}`, name)
	})
	n := New(Options{Docker: []string{sock}, Podman: []string{sock}, Retry: time.Minute})
	answers := make(chan string, 10)
	refs := make(chan Ref, 10)
	n.asked = func(ref Ref, name string, _ error) { refs <- ref; answers <- name }
	now := time.Now()
	n.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	defer n.Close()
	ref := Ref{Runtime: cgroup.Docker, ID: idA}
	wait := func() string {
		t.Helper()
		select {
		case a := <-answers:
			return a
		case <-time.After(10 * time.Second):
			t.Fatal("no answer in 10 s")
		}
		return ""
	}
	// cached checks that Name answers want from the cache, and that the
	// runtime was asked n times in all.
	cached := func(want string, n0 int) {
		t.Helper()
		for range 5 {
			if got := n.Name(ref); got != want {
				t.Fatalf("Name = %q, want %q from the cache", got, want)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if requests != n0 {
			t.Fatalf("%d requests, want %d", requests, n0)
		}
	}

	if got := n.Name(ref); got != "" {
		t.Fatalf("first Name = %q, want \"\" (asked in the background)", got)
	}
	if a := wait(); a != "" {
		t.Fatalf("answer %q from a runtime that does not know it", a)
	}
	<-refs
	mu.Lock()
	name = "api"
	mu.Unlock()
	cached("", 1) // not asked again before Retry passed
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	n.Name(ref)
	if a := wait(); a != "api" {
		t.Fatalf("answer %q after Retry, want api", a)
	}
	<-refs
	cached("api", 2)
	// A rootless container is one entry, whether or not a Name says so:
	// its owner's socket is asked.
	rootless := Ref{Runtime: cgroup.Podman, ID: strings.Repeat("b", 64), User: 1000, Rootless: true}
	n.Name(rootless)
	n.Name(Ref{Runtime: rootless.Runtime, ID: rootless.ID})
	if a := wait(); a != "api" {
		t.Fatalf("rootless: answer %q", a)
	}
	if ref := <-refs; ref != rootless {
		t.Errorf("asked for %+v, want %+v", ref, rootless)
	}
	if got := n.Name(Ref{Runtime: rootless.Runtime, ID: rootless.ID}); got != "api" {
		t.Errorf("rootless without its owner: %q from the cache, want api", got)
	}
	mu.Lock()
	if requests != 3 {
		t.Errorf("%d requests, want 3 (one for the rootless container)", requests)
	}
	mu.Unlock()
	// Runtimes without such an API are never asked.
	if got := n.Name(Ref{Runtime: cgroup.Containerd, ID: idA}); got != "" {
		t.Errorf("containerd: %q", got)
	}
	select {
	case a := <-answers:
		t.Errorf("a containerd container was asked for: %q", a)
	default:
	}
}

func TestSockets(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/0")
	n := New(Options{})
	defer n.Close()
	got := n.sockets(Ref{Runtime: cgroup.Podman, ID: idA, User: 1000, Rootless: true})
	want := []string{"/run/podman/podman.sock", "/run/user/0/podman/podman.sock", "/run/user/1000/podman/podman.sock"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("podman rootless: %q, want %q", got, want)
	}
	got = n.sockets(Ref{Runtime: cgroup.Docker, ID: idA})
	if strings.Join(got, " ") != "/run/docker.sock /var/run/docker.sock" {
		t.Errorf("docker: %q", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "relative")
	if got := n.sockets(Ref{Runtime: cgroup.Podman, ID: idA}); len(got) != 1 {
		t.Errorf("a relative XDG_RUNTIME_DIR used: %q", got)
	}
}

// TestPodman names a real container through a real podman API service.
func TestPodman(t *testing.T) {
	p := podmantest.New(t)
	img := p.Image(t, nil)
	c := p.Run(t, img, nil, "/bin/busybox", "sleep", "60")
	sock := p.Service(t)
	n := New(Options{Podman: []string{sock}})
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name, err := n.Lookup(ctx, Ref{Runtime: cgroup.Podman, ID: c.ID})
	if err != nil || name != c.Name {
		t.Fatalf("Lookup(%s) = %q, %v; want %q", c.ID, name, err, c.Name)
	}
	// An id podman does not know: its 404.
	other := strings.Repeat("0", 64)
	if _, err := n.Lookup(ctx, Ref{Runtime: cgroup.Podman, ID: other}); !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), sock) {
		t.Errorf("unknown id: %v, want ErrNotFound alone", err)
	}
}
