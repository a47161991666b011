package podmantest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Service starts podman's API service on a socket in a directory of the
// test's own, DIR/podman/podman.sock (where a program whose
// XDG_RUNTIME_DIR is DIR looks for it), and returns the socket's path once
// it is there; the service is stopped with t.Cleanup.
func (p *Podman) Service(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman", "podman.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := p.Command(ctx, "system", "service", "--time=0", "unix://"+sock)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	// Wait for the socket (bounded): the service makes it once it serves.
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode().Type() == os.ModeSocket {
			return sock
		}
		select {
		case <-exited:
			t.Fatalf("podman system service exited: %v: %s", werr, out.String())
		case <-deadline.C:
			cancel()
			<-exited
			t.Fatalf("podman system service made no socket %s in 30 s: %s", sock, out.String())
		case <-tick.C:
		}
	}
}
