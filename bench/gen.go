package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The traffic generators run as child processes of the suite (the bench
// binary re-executed with -gen MODE inside a namespace), so that their pids
// and names are known. Every loop is bounded by a count or a deadline. The
// generators pace their traffic with a pacer or a ticker: those timers
// shape the load; nothing here sleeps to wait for readiness.

// Server ports, all dual-stack (the server listens on every address of B).
const (
	portDiscard = 5001 // TCP: read and discard until EOF, then close
	portUDP     = 5002 // UDP: read and discard
	portHold    = 5004 // TCP: read and discard, for many concurrent flows
	portStorm   = 5010 // TCP: stormPorts ports from here: read the request, write 1 KB, close
	stormPorts  = 8

	udpPayload  = 1000 // bytes of payload per datagram
	tcpChunk    = 16384
	replyBytes  = 1024
	serverLimit = 30 * time.Minute // the server exits by itself after this
)

// genMain runs generator mode args[0] with the rest as its arguments and
// returns the exit status.
func genMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "bench -gen: no mode")
		return 2
	}
	var err error
	switch args[0] {
	case "server":
		err = genServer()
	case "send":
		err = genSend(args[1:])
	case "storm":
		err = genStorm(args[1:])
	case "upload":
		err = genUpload(args[1:])
	case "hold":
		err = genHold(args[1:])
	case "tick":
		err = genTick(args[1:])
	case "flood":
		err = genFlood(args[1:])
	case "raw":
		err = genRaw(args[1:])
	case "pktflood":
		err = genPktFlood(args[1:])
	default:
		err = fmt.Errorf("unknown mode %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench -gen %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// pacer spreads units of work (bytes, connections, rounds) evenly at rate
// units per second from start: wait(n) returns when unit n is due, at once
// if it is late, so a generator that stalls catches up. It is a timer that
// paces traffic, not a wait for anything.
type pacer struct {
	start time.Time
	rate  float64
}

func newPacer(rate float64) pacer { return pacer{start: time.Now(), rate: rate} }

func (p pacer) wait(n int) {
	due := p.start.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// genServer serves every server port until stdin closes (the suite ended)
// or serverLimit passes.
func genServer() error {
	var lns []net.Listener
	listen := func(port int, handle func(net.Conn)) error {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			return fmt.Errorf("listen tcp :%d: %w", port, err)
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					// EMFILE and the like: back off a little before
					// the next Accept (a pause, not a wait for anything).
					time.Sleep(time.Millisecond)
					continue
				}
				go handle(c)
			}
		}()
		return nil
	}
	discard := func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
		_, _ = io.Copy(io.Discard, c)
	}
	reply := make([]byte, replyBytes)
	storm := func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil {
			return
		}
		_, _ = c.Write(reply)
	}
	if err := listen(portDiscard, discard); err != nil {
		return err
	}
	if err := listen(portHold, discard); err != nil {
		return err
	}
	for i := range stormPorts {
		if err := listen(portStorm+i, storm); err != nil {
			return err
		}
	}
	pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", portUDP))
	if err != nil {
		return fmt.Errorf("listen udp: %w", err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	fmt.Println("ready")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(serverLimit):
	}
	for _, ln := range lns {
		ln.Close()
	}
	pc.Close()
	return nil
}

// genSend: PROTO ADDR BYTES RATE [MAXDUR]. Sends BYTES of payload at RATE
// bytes of payload per second (0: as fast as it can), stopping early after
// MAXDUR, and prints "sent N".
func genSend(a []string) error {
	if len(a) != 4 && len(a) != 5 {
		return fmt.Errorf("want PROTO ADDR BYTES RATE [MAXDUR], got %q", a)
	}
	total, rate := atoi(a[2]), atoi(a[3])
	limit := time.Hour
	if len(a) == 5 {
		d, err := time.ParseDuration(a[4])
		if err != nil {
			return fmt.Errorf("MAXDUR: %w", err)
		}
		limit = d
	}
	c, err := net.DialTimeout(a[0], a[1], 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	chunk := tcpChunk
	if a[0] != "tcp" {
		chunk = udpPayload
	}
	buf := make([]byte, chunk)
	pace := newPacer(float64(rate))
	sent := 0
	stop := pace.start.Add(limit)
	for i := 0; sent < total; i++ {
		if i%64 == 0 && time.Now().After(stop) {
			break
		}
		n := min(chunk, total-sent)
		if _, err := c.Write(buf[:n]); err != nil {
			if a[0] != "tcp" { // ECONNREFUSED from an ICMP: keep the pace
				sent += n
				continue
			}
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
		sent += n
		if rate > 0 {
			pace.wait(sent)
		}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	}
	fmt.Printf("sent %d\n", sent)
	return nil
}

// genUpload: ADDR BYTES. One connection, BYTES uploaded, then exit (a
// short-lived process).
func genUpload(a []string) error {
	if len(a) != 2 {
		return fmt.Errorf("want ADDR BYTES, got %q", a)
	}
	return genSend([]string{"tcp", a[0], a[1], "0"})
}

// genStorm: HOST RATE DURATION WORKERS. Short connections at RATE per second
// for DURATION: connect, a small request, read the 1 KB reply, close. The
// ports rotate over the stormPorts server ports. Prints "conns N fails M".
func genStorm(a []string) error {
	if len(a) != 4 {
		return fmt.Errorf("want HOST RATE DURATION WORKERS, got %q", a)
	}
	host, rate, workers := a[0], atoi(a[1]), atoi(a[3])
	dur, err := time.ParseDuration(a[2])
	if err != nil || rate <= 0 || workers <= 0 {
		return fmt.Errorf("bad storm arguments %q", a)
	}
	tokens := make(chan int, workers*4)
	var conns, fails atomic.Int64
	var wg sync.WaitGroup
	req := []byte("GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for i := range tokens {
				addr := net.JoinHostPort(host, strconv.Itoa(portStorm+i%stormPorts))
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					fails.Add(1)
					continue
				}
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				got := 0
				if _, err := c.Write(req); err == nil {
					for got < replyBytes {
						n, err := c.Read(buf)
						got += n
						if err != nil {
							break
						}
					}
				}
				c.Close()
				if got == replyBytes {
					conns.Add(1)
				} else {
					fails.Add(1)
				}
			}
		}()
	}
	// Every millisecond, hand the workers the connections that are due.
	start := time.Now()
	end := start.Add(dur)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	issued := 0
	for now := start; now.Before(end); now = <-tick.C {
		due := int(now.Sub(start).Seconds() * float64(rate))
		for ; issued < due; issued++ {
			select {
			case tokens <- issued:
			case <-time.After(time.Until(end)):
				issued = due
			}
		}
	}
	close(tokens)
	wg.Wait()
	fmt.Printf("conns %d fails %d\n", conns.Load(), fails.Load())
	return nil
}

// genHold: ADDR N DURATION. Opens N connections (about 2000 a second), then
// until DURATION has passed since the start sends 64 bytes on each of them
// in turn, spread so that each connection talks every 10 s. Prints
// "open N".
func genHold(a []string) error {
	if len(a) != 3 {
		return fmt.Errorf("want ADDR N DURATION, got %q", a)
	}
	n := atoi(a[1])
	dur, err := time.ParseDuration(a[2])
	if err != nil || n <= 0 {
		return fmt.Errorf("bad hold arguments %q", a)
	}
	dial := newPacer(2000)
	end := dial.start.Add(dur)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n && time.Now().Before(end); i++ {
		c, err := net.DialTimeout("tcp", a[0], 2*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		dial.wait(i + 1)
	}
	fmt.Printf("open %d\n", len(conns))
	msg := make([]byte, 64)
	perTick := max(1, len(conns)/100) // 100 ticks per 10 s round
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; time.Now().Before(end); <-tick.C {
		for range perTick {
			c := conns[i%len(conns)]
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(msg)
			i++
		}
	}
	return nil
}

// genTick: ADDR N INTERVAL. N 1-byte UDP datagrams, INTERVAL apart: they
// wake nethogs, which prints a refresh only when a packet arrives.
func genTick(a []string) error {
	if len(a) != 3 {
		return fmt.Errorf("want ADDR N INTERVAL, got %q", a)
	}
	d, err := time.ParseDuration(a[2])
	if err != nil || d <= 0 {
		return fmt.Errorf("bad INTERVAL %q", a[2])
	}
	c, err := net.Dial("udp", a[0])
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	tick := time.NewTicker(d)
	defer tick.Stop()
	for range atoi(a[1]) {
		_, _ = c.Write([]byte{0})
		<-tick.C
	}
	return nil
}
