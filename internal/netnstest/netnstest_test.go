package netnstest

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestPairCarriesTraffic checks that a pair is usable end to end: a TCP
// connection from A to B moves known bytes, and B's veth counters grow.
func TestPairCarriesTraffic(t *testing.T) {
	p := NewPair(t)
	var ln net.Listener
	if err := Do(p.NSB, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(p.AddrB4.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	before, err := ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if err := Do(p.NSA, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case m := <-got:
		if m != n {
			t.Fatalf("received %d bytes, want %d", m, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
	}
	after, err := ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.RxBytes - before.RxBytes; d < n {
		t.Fatalf("rx_bytes grew by %d, want at least %d", d, n)
	}
}
