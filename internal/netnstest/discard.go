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
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(limit))
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	return got
}
