package procmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
)

// Process connector (linux/cn_proc.h): fork, exec and exit events of every
// process, multicast on NETLINK_CONNECTOR to root listeners of the initial
// namespaces.
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	cnMsgLen          = 20 // struct cn_msg
	maxFresh          = 1024
)

// procEvents reads the process connector on its own goroutine and hands
// new and exec'd processes to the Resolver.
type procEvents struct {
	fd, efd int
	done    sync.WaitGroup
}

// startProcEvents subscribes to the process connector; on events it calls
// onFirst, if not nil, for every fork (of a thread too) and exec of a batch
// (see eachProcEvent), then onEvent(pid, exec) for those of processes.
//
// The connector exists in the initial network namespace only: from another
// one (gohogs run with "ip netns exec"), the socket is opened in the
// namespace of pid 1 or of kthreadd (pid 2), the initial one unless in a
// container.
func startProcEvents(onEvent func(pid int, exec bool), onFirst func(pid, tgid int, exec bool), onError func(), nice bool) (*procEvents, error) {
	fd, err := openProcConnector()
	for _, pid := range []string{"1", "2"} {
		if !errors.Is(err, unix.ECONNREFUSED) {
			break
		}
		if nerr := netns.DoPath("/proc/"+pid+"/ns/net", func() error {
			fd, err = openProcConnector()
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
	p := &procEvents{fd: fd, efd: efd}
	p.done.Add(1)
	go p.loop(onEvent, onFirst, onError, nice)
	return p, nil
}

// openProcConnector opens a socket of the process connector and subscribes
// to its events.
func openProcConnector() (int, error) {
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

func (p *procEvents) loop(onEvent func(pid int, exec bool), onFirst func(pid, tgid int, exec bool), onError func(), nice bool) {
	defer p.done.Done()
	// A thread of its own, woken before the others when new processes
	// keep every CPU busy: an exec'd process is read (onFirst) before it
	// exits. The thread ends with the goroutine (never unlocked), and its
	// priority with it. Without CAP_SYS_NICE it keeps the default.
	runtime.LockOSThread()
	if nice {
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -10)
	}
	buf := make([]byte, 64*1024)
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			onError()
			return
		}
		if fds[1].Revents != 0 {
			return // Close
		}
		n, err := unix.Read(p.fd, buf)
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			// ENOBUFS: events were lost; the /proc listing still finds
			// the processes.
			onError()
			continue
		}
		// Everything first that must not wait for the Resolver's lock
		// (held during a scan), then the Resolver.
		if onFirst != nil {
			eachProcEvent(buf[:n], onFirst)
		}
		eachProcEvent(buf[:n], func(pid, tgid int, exec bool) {
			if exec || pid == tgid { // a process, not a thread
				onEvent(tgid, exec)
			}
		})
	}
}

// eachProcEvent calls fn for each fork (pid is the new task's, tgid its
// process's: equal for a new process) and exec (of process tgid) in buf.
func eachProcEvent(buf []byte, fn func(pid, tgid int, exec bool)) {
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
		ev := data[cnMsgLen:]
		switch binary.NativeEndian.Uint32(ev[0:]) {
		case procEventFork:
			fn(int(binary.NativeEndian.Uint32(ev[24:])), int(binary.NativeEndian.Uint32(ev[28:])), false)
		case procEventExec:
			tgid := int(binary.NativeEndian.Uint32(ev[20:]))
			fn(tgid, tgid, true)
		}
	}
}

// Close stops the goroutine and closes the sockets.
func (p *procEvents) Close() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.efd, one[:])
	p.done.Wait()
	unix.Close(p.fd)
	unix.Close(p.efd)
}

// onProcEvent records a new or exec'd process: it is scanned first on the
// next miss, and an exec'd process's identity is read again.
func (r *Resolver) onProcEvent(pid int, exec bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.ProcEvents++
	if exec {
		if e := r.procs[pid]; e != nil {
			e.execd = true
		}
	}
	if n := len(r.fresh); n > 0 && r.fresh[n-1] == pid {
		return
	}
	if len(r.fresh) >= maxFresh {
		r.fresh = r.fresh[:copy(r.fresh, r.fresh[maxFresh/2:])]
	}
	r.fresh = append(r.fresh, pid)
}

func (r *Resolver) onProcEventError() {
	r.mu.Lock()
	r.stats.ProcEventErrors++
	r.mu.Unlock()
}

// scanFresh scans the processes reported by the connector, newest first,
// until target is found; those scanned are forgotten.
func (r *Resolver) scanFresh(target uint64) bool {
	for len(r.fresh) > 0 {
		pid := r.fresh[len(r.fresh)-1]
		r.fresh = r.fresh[:len(r.fresh)-1]
		if e, ok := r.procs[pid]; ok && e.scanned && !e.execd && !r.young(e) {
			continue
		}
		if r.scanProc(pid, target, scanComplete) {
			return true
		}
	}
	return false
}
