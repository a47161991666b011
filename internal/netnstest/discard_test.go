package netnstest

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestDiscardN: DiscardN says n once n bytes arrived while the sender
// still holds the connection open, and reads on (a second write is taken,
// the close seen) until EOF.
func TestDiscardN(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 50000
	got := DiscardN(ln, n, 10*time.Second)
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != n {
			t.Fatalf("DiscardN said %d, want %d", m, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("DiscardN said nothing within 5 s of the bytes being sent, connection open")
	}
	// The rest is read, and the connection closed once the sender closes.
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if k, err := c.Read(make([]byte, 1)); k != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the sender's close: read %d, %v; want EOF from DiscardN's close", k, err)
	}
}
