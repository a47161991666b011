// Package proccon follows the kernel's process connector (linux/cn_proc.h):
// the fork and exec of every task, multicast on NETLINK_CONNECTOR to the
// root listeners of the initial namespaces.
//
// The events are read on a goroutine locked to a thread of its own, which
// may be given a higher priority (Options.Nice): a reader woken by the
// kernel then runs before the processes it is told about, which matters
// when the handler must read a new process's /proc files before it exits.
// The socket is read with poll(2) and a plain read, not through the Go
// runtime's poller, so that the thread the kernel wakes is the one that
// handles the events.
package proccon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
)

// linux/cn_proc.h and linux/connector.h.
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	cnMsgLen          = 20 // struct cn_msg
)

// Event is a fork or an exec.
type Event struct {
	// PID is the new task's id for a fork (a thread's or a process's), the
	// process's for an exec.
	PID int
	// TGID is the id of the task's process: PID for a new process or an
	// exec, another for a new thread.
	TGID int
	// Exec is set for an exec, clear for a fork.
	Exec bool
	// Parent is, for a fork, the id of the process that forked (its
	// tgid): a new process has its parent's name, command line and uid
	// until it execs or changes them.
	Parent int
	// Time is when the kernel sent the event, in nanoseconds of
	// CLOCK_MONOTONIC: for a fork, microseconds after the task started.
	Time uint64
}

// Options configures a Conn.
type Options struct {
	// Nice, if not 0, is the nice value of the reader's thread (it needs
	// CAP_SYS_NICE to be below 0; without it the thread keeps the
	// default). The thread is the reader's alone and ends with it.
	Nice int
}

// Conn reads the process connector until Close.
type Conn struct {
	fd, efd int
	tid     atomic.Int32
	done    sync.WaitGroup
	closed  bool
}

// Start subscribes to the process connector and calls handle, on the
// reader's goroutine, with the events of each message batch the kernel
// sends (the slice is reused), and onError when events were lost or the
// socket failed (the reader stops after a failure of poll).
//
// The connector exists in the initial network namespace only: from another
// one (a program run with "ip netns exec"), the socket is opened in the
// namespace of pid 1, else of kthreadd (pid 2), the initial one unless in
// a container.
func Start(handle func([]Event), onError func(error), opts Options) (*Conn, error) {
	fd, err := open()
	for _, pid := range []string{"1", "2"} {
		if !errors.Is(err, unix.ECONNREFUSED) {
			break
		}
		if nerr := netns.DoPath("/proc/"+pid+"/ns/net", func() error {
			fd, err = open()
			return nil
		}); nerr != nil {
			err = fmt.Errorf("process connector: %w (from pid %s's network namespace: %v)", unix.ECONNREFUSED, pid, nerr)
		}
	}
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process connector eventfd: %w", err)
	}
	c := &Conn{fd: fd, efd: efd}
	started := make(chan struct{})
	c.done.Add(1)
	go c.loop(handle, onError, opts, started)
	<-started
	return c, nil
}

// open opens a socket of the process connector and subscribes to its
// events.
func open() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return -1, fmt.Errorf("process connector socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("process connector bind: %w", err)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	c := msg[unix.NLMSG_HDRLEN:]
	binary.NativeEndian.PutUint32(c[0:], cnIdxProc)
	binary.NativeEndian.PutUint32(c[4:], cnValProc)
	binary.NativeEndian.PutUint16(c[16:], 4)
	binary.NativeEndian.PutUint32(c[cnMsgLen:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("process connector listen: %w", err)
	}
	return fd, nil
}

// ThreadID is the id of the reader's thread.
func (c *Conn) ThreadID() int { return int(c.tid.Load()) }

func (c *Conn) loop(handle func([]Event), onError func(error), opts Options, started chan<- struct{}) {
	defer c.done.Done()
	// The thread is never unlocked: it ends with the goroutine, unless it
	// is the main thread, which the runtime keeps (parked): its priority
	// is put back first.
	runtime.LockOSThread()
	tid := unix.Gettid()
	c.tid.Store(int32(tid))
	if opts.Nice != 0 {
		// getpriority(2)'s raw value is 20 - nice.
		if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil &&
			unix.Setpriority(unix.PRIO_PROCESS, tid, opts.Nice) == nil {
			defer unix.Setpriority(unix.PRIO_PROCESS, tid, 20-prio)
		}
	}
	close(started)
	buf := make([]byte, 64*1024)
	var evs []Event
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}, {Fd: int32(c.efd), Events: unix.POLLIN}}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			onError(fmt.Errorf("process connector poll: %w", err))
			return
		}
		if fds[1].Revents != 0 {
			return // Close
		}
		n, err := unix.Read(c.fd, buf)
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			// ENOBUFS: events were lost.
			onError(fmt.Errorf("process connector read: %w", err))
			continue
		}
		evs = Parse(buf[:n], evs[:0])
		if len(evs) > 0 {
			handle(evs)
		}
	}
}

// Parse appends to out the forks and execs in buf, the messages of one
// read of the connector's socket.
func Parse(buf []byte, out []Event) []Event {
	for r := buf; len(r) >= unix.NLMSG_HDRLEN; {
		l := int(binary.NativeEndian.Uint32(r[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(r) {
			break
		}
		data := r[unix.NLMSG_HDRLEN:l]
		r = r[min((l+3)&^3, len(r)):]
		if len(data) < cnMsgLen+32 {
			continue
		}
		// struct proc_event: what, cpu, timestamp_ns, then the event's.
		ev := data[cnMsgLen:]
		ts := binary.NativeEndian.Uint64(ev[8:])
		switch binary.NativeEndian.Uint32(ev[0:]) {
		case procEventFork:
			// struct fork_proc_event: parent pid, tgid, child pid, tgid.
			out = append(out, Event{PID: int(binary.NativeEndian.Uint32(ev[24:])), TGID: int(binary.NativeEndian.Uint32(ev[28:])),
				Parent: int(binary.NativeEndian.Uint32(ev[20:])), Time: ts})
		case procEventExec:
			// struct exec_proc_event: process pid, tgid.
			tgid := int(binary.NativeEndian.Uint32(ev[20:]))
			out = append(out, Event{PID: tgid, TGID: tgid, Exec: true, Time: ts})
		}
	}
	return out
}

// Close stops the reader, waits for it and closes the sockets.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, werr := unix.Write(c.efd, one[:])
	if werr == nil {
		c.done.Wait()
	} else {
		werr = fmt.Errorf("process connector: stop the reader: %w", werr)
	}
	return errors.Join(werr, unix.Close(c.fd), unix.Close(c.efd))
}
