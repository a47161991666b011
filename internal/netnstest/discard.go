package netnstest

import (
	"io"
	"net"
	"time"
)

// Discard accepts one connection on ln, reads it until EOF or until limit
// has passed, closes it, and sends the number of bytes read on the returned
// channel (-1 if Accept failed): the receiving end of a test that moves
// known bytes between two namespaces.
func Discard(ln net.Listener, limit time.Duration) <-chan int64 {
	return discard(ln, -1, limit)
}

// DiscardN is Discard for a sender that keeps its connection open: it
// sends the count once n bytes are read (fewer at EOF or at limit), then
// goes on reading until EOF or limit.
func DiscardN(ln net.Listener, n int64, limit time.Duration) <-chan int64 {
	return discard(ln, n, limit)
}

// discard reads the connection to EOF and says how much, or, for n >= 0,
// says so after n bytes.
func discard(ln net.Listener, n int64, limit time.Duration) <-chan int64 {
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(limit))
		if n < 0 {
			all, _ := io.Copy(io.Discard, c)
			got <- all
			return
		}
		first, _ := io.CopyN(io.Discard, c, n)
		got <- first
		_, _ = io.Copy(io.Discard, c)
	}()
	return got
}
