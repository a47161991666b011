package netnstest

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// Conn is a TCP connection that ConnectTCP made: its ends as each side
// sees them.
type Conn struct {
	// Client is the client's own address and port.
	Client netip.AddrPort
	// Server is the address and port the server listens on.
	Server netip.AddrPort
	// Seen is the client as the server sees it (after any NAT).
	Seen netip.AddrPort
}

// ConnectTCP listens on at in namespace srv, connects from namespace cli to
// dial (to the listener's own address when dial is the zero AddrPort),
// holds both ends open until tb ends, and returns the connection's ends,
// IPv4 addresses unmapped. It waits at most 3 s for each step.
func ConnectTCP(tb testing.TB, srv string, at netip.AddrPort, cli string, dial netip.AddrPort) Conn {
	tb.Helper()
	var ln net.Listener
	if err := Do(srv, func() (err error) {
		ln, err = net.Listen("tcp", at.String())
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	server := unmap(ln.Addr().(*net.TCPAddr).AddrPort())
	if !dial.IsValid() {
		dial = server
	}
	peer := make(chan netip.AddrPort, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peer <- netip.AddrPort{}
			return
		}
		tb.Cleanup(func() { c.Close() })
		peer <- unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort())
	}()
	var c net.Conn
	if err := Do(cli, func() (err error) {
		c, err = net.DialTimeout("tcp", dial.String(), 3*time.Second)
		return err
	}); err != nil {
		tb.Fatalf("dial %v from %s: %v", dial, cli, err)
	}
	tb.Cleanup(func() { c.Close() })
	out := Conn{Client: unmap(c.LocalAddr().(*net.TCPAddr).AddrPort()), Server: server}
	select {
	case out.Seen = <-peer:
	case <-time.After(3 * time.Second):
		tb.Fatalf("no connection accepted on %v", server)
	}
	return out
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
