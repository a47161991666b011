package report

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsonDayStart is when the generated day of JSON logs begins.
var jsonDayStart = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// busyJSON generates the --json log of a busy host, written as
// cmd/gohogs/json.go writes it (jsonMirror below is a copy of its types;
// TestBusyJSONSchema checks the generated lines against it). What a busy
// host is, assumed:
//
//   - 300 processes with traffic in the last 150 s (the process timeout)
//     and the unknown TCP and UDP rows, in every refresh; a third of the
//     processes are replaced by new pids every 10 minutes.
//   - Command lines as ps shows them: most short (worker pools, 10-60
//     bytes of arguments), some services (60-300), a few agents (300-1500)
//     and 1 in 100 a JVM with a 6 KB classpath; each is written twice, in
//     args and in cmdline, a mean of 200 bytes of arguments.
//   - A third of the processes in 30 containers (docker and kubepods
//     cgroups, 64-hex ids), the rest in 40 systemd services or a session.
//   - Every flow seen in the last 50 s is listed under its process (closed
//     TCP flows for 2 s): 1 for most, 3, 10 or 40 for some, 200 for the
//     three front-end workers, a mean of 6 a row, about 1,800 a refresh, most of
//     them idle in a given second. A front end's clients come from 4,000
//     addresses, new ports every 10 minutes; outgoing flows go to 150
//     names, each given as remote_name (the DNS names of issue 17, not yet
//     written by json.go: the field is assumed to follow remote, left out
//     when empty).
//   - A row's bytes are the sum of its flows' bytes; 10 unknown
//     connections.
//
// Lines are about 410 KB (1.4 KB a row), an hour 1.5 GB, a day 36 GB. Refresh i of the day is written
// as the 4 variants of its 10-minute epoch, built once, cycle: the bytes
// differ from second to second, the processes and flows from epoch to
// epoch. Building them is a few percent of the cost of reading them.
type busyJSON struct {
	first, n int // the refreshes of the day this stream gives: first..first+n-1
	i        int
	epoch    int
	bodies   [][]byte // the variants of epoch's rows, from "rows":[ to the end of the line
	head     []byte
	cur      []byte // what is left of the refresh being read: head, then body
	body     []byte
}

const (
	busyRows     = 300
	busyVariants = 4
	busyEpoch    = 600 // seconds
)

// busyJSONHour returns hour h (0..23) of the generated day: 3600 refreshes.
func busyJSONHour(h int) io.Reader { return &busyJSON{first: h * 3600, n: 3600, epoch: -1} }

func (g *busyJSON) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.cur) == 0 {
			if g.body != nil {
				g.cur, g.body = g.body, nil
				continue
			}
			if g.i == g.n {
				break
			}
			g.refresh(g.first + g.i)
			g.i++
		}
		m := copy(p[n:], g.cur)
		g.cur = g.cur[m:]
		n += m
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// refresh sets cur and body to refresh sec of the day (taken at the end of
// second sec+1).
func (g *busyJSON) refresh(sec int) {
	if e := sec / busyEpoch; e != g.epoch {
		g.epoch = e
		g.bodies = g.bodies[:0]
		for v := range busyVariants {
			g.bodies = append(g.bodies, busyBody(e, v, nil))
		}
	}
	// The refresh is cut a little after the second, its interval a
	// little more or less than one.
	jitter := time.Duration(sec*7919%4000) * time.Microsecond
	at := jsonDayStart.Add(time.Duration(sec+1)*time.Second + jitter)
	b := append(g.head[:0], `{"timestamp":"`...)
	b = at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","interval":`...)
	b = strconv.AppendFloat(b, (time.Second + jitter - time.Duration((sec+86399)%86400*7919%4000)*time.Microsecond).Seconds(), 'f', -1, 64)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(sec+1), 10)
	g.head, g.cur, g.body = b, b, g.bodies[sec%busyVariants]
}

// busyProc is what stays of a process over the day.
type busyProc struct {
	name, args string
	cmdline    []string
	uid        int
	cgroup     string
	unit       string
	container  [3]string // runtime, id, name; id empty when none
	conns      int
	front      bool // a front end: its flows are from clients
}

var busyProcs = func() []busyProc {
	procs := make([]busyProc, busyRows)
	for p := range procs {
		bp := &procs[p]
		argLen := 10 + p*7%50
		switch {
		case p%100 == 0:
			argLen = 6000
		case p%100 < 9:
			argLen = 300 + p*37%1200
		case p%100 < 39:
			argLen = 60 + p*13%240
		}
		bp.name = "/usr/lib/busy/svc-" + strconv.Itoa(p%97) + "/bin/worker"
		bp.cmdline = []string{bp.name}
		var args []string
		for l := 0; l < argLen; {
			w := "--opt" + strconv.Itoa(len(args)) + "=/var/lib/busy/" + strconv.Itoa(p) + "/data"
			if argLen == 6000 && len(args) == 1 {
				w = "-cp"
			}
			if l+len(w)+1 > argLen && len(args) > 0 {
				break
			}
			args = append(args, w)
			l += len(w) + 1
		}
		bp.args = strings.Join(args, " ")
		bp.cmdline = append(bp.cmdline, args...)
		bp.uid = []int{0, 33, 1000, 1001, 998, 65534}[p%6]
		switch c := p / 3 % 30; {
		case p%3 == 1 && c%2 == 0:
			id := hex64(c)
			bp.cgroup = "/system.slice/docker-" + id + ".scope"
			bp.unit = "docker-" + id + ".scope"
			bp.container = [3]string{"docker", id, "app-" + strconv.Itoa(c)}
		case p%3 == 1:
			id := hex64(c)
			pod := "pod" + strings.ReplaceAll(id[:36], "-", "_")
			bp.cgroup = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" + pod + ".slice/cri-containerd-" + id + ".scope"
			bp.unit = "cri-containerd-" + id + ".scope"
			bp.container = [3]string{"containerd", id, "k8s_app_" + strconv.Itoa(c)}
		case p%9 == 2:
			bp.cgroup = "/user.slice/user-1000.slice/session-" + strconv.Itoa(p%4+2) + ".scope"
			bp.unit = "session-" + strconv.Itoa(p%4+2) + ".scope"
		default:
			bp.cgroup = "/system.slice/svc-" + strconv.Itoa(p%40) + ".service"
			bp.unit = "svc-" + strconv.Itoa(p%40) + ".service"
		}
		switch {
		case p%100 == 50:
			bp.conns, bp.front = 200, true
		case p%25 == 7:
			bp.conns, bp.front = 40, true
		case p%10 == 3:
			bp.conns = 10
		case p%4 == 1:
			bp.conns = 3
		default:
			bp.conns = 1
		}
	}
	return procs
}()

// hex64 returns a container id of 64 hex digits made from n.
func hex64(n int) string {
	const digits = "0123456789abcdef"
	var b [64]byte
	x := uint64(n)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = digits[x&15]
	}
	return string(b[:])
}

// busyBody appends variant v of epoch e's rows to b: from `,"rows":[` to
// the end of the line.
func busyBody(e, v int, b []byte) []byte {
	b = append(b, `,"rows":[`...)
	var unkS, unkR uint64
	for p := range busyRows {
		bp := &busyProcs[p]
		pid := 1000 + p
		if p%3 == 0 {
			pid += e * busyRows // new pids every epoch
		}
		// The flows and their bytes: most idle in this second.
		type flow struct {
			proto, local, remote, name string
			sent, recv                 uint64
		}
		flows := make([]flow, bp.conns)
		var sent, recv uint64
		for k := range flows {
			f := &flows[k]
			f.proto = "tcp"
			if k%5 == 4 {
				f.proto = "udp"
			}
			h := uint64(e*7919+p*104729+k*1299709) * 0x9e3779b97f4a7c15
			port := 32768 + int(h>>40)%28000
			if bp.front {
				f.local = "10.0.0.1:443"
				ip := int(h>>20) % 4000
				if k%5 == 0 {
					f.remote = "[2001:db8:" + strconv.FormatInt(int64(ip), 16) + "::" + strconv.FormatInt(int64(h>>48), 16) + "]:" + strconv.Itoa(port)
					f.local = "[2001:db8::1]:443"
				} else {
					f.remote = "198.51." + strconv.Itoa(100+ip/250) + "." + strconv.Itoa(ip%250+1) + ":" + strconv.Itoa(port)
				}
			} else {
				f.local = "10.0.0.1:" + strconv.Itoa(port)
				n := (p*31 + k) % 150
				f.remote = "203.0." + strconv.Itoa(113+n/250) + "." + strconv.Itoa(n%250+1) + ":443"
				f.name = "api-" + strconv.Itoa(n) + ".svc.example.test"
				if f.proto == "udp" {
					f.remote, f.name = "10.0.0.53:53", ""
				}
			}
			if (k+v+p)%4 == 0 {
				f.sent = uint64((p*k+v*131)%9000 + 60)
				f.recv = uint64((p+k*v)%150000 + 60)
			}
			sent += f.sent
			recv += f.recv
		}
		b = append(b, `{"name":`...)
		b = strconv.AppendQuote(b, bp.name)
		b = append(b, `,"args":`...)
		b = strconv.AppendQuote(b, bp.args)
		b = append(b, `,"cmdline":[`...)
		for i, a := range bp.cmdline {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, a)
		}
		b = append(b, `],"pid":`...)
		b = strconv.AppendInt(b, int64(pid), 10)
		b = append(b, `,"start_time":`...)
		b = strconv.AppendInt(b, int64(4_000_000+pid*37), 10)
		b = append(b, `,"uid":`...)
		b = strconv.AppendInt(b, int64(bp.uid), 10)
		b = append(b, `,"kind":"process","cgroup":`...)
		b = strconv.AppendQuote(b, bp.cgroup)
		b = append(b, `,"unit":`...)
		b = strconv.AppendQuote(b, bp.unit)
		if bp.container[1] != "" {
			b = append(b, `,"container":{"runtime":"`+bp.container[0]+`","id":"`+bp.container[1]+`","name":"`+bp.container[2]+`"}`...)
		}
		b = appendCounts(b, sent, recv, uint64(e*600+v)*sent*97+123456789, uint64(e*600+v)*recv*89+987654321)
		b = append(b, `,"connections":[`...)
		for k, f := range flows {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"proto":"`+f.proto+`","local":"`+f.local+`","remote":"`+f.remote+`"`...)
			if f.name != "" {
				b = append(b, `,"remote_name":"`+f.name+`"`...)
			}
			b = append(b, `,"sent":`...)
			b = strconv.AppendUint(b, f.sent, 10)
			b = append(b, `,"recv":`...)
			b = strconv.AppendUint(b, f.recv, 10)
			b = append(b, '}')
		}
		b = append(b, "]},"...)
		unkS, unkR = unkS+sent/200, unkR+recv/300
	}
	for _, u := range []struct{ name, kind string }{{"unknown UDP", "unknown_udp"}, {"unknown TCP", "unknown_tcp"}} {
		b = append(b, `{"name":"`+u.name+`","args":"","cmdline":[],"pid":0,"start_time":0,"uid":0,"kind":"`+u.kind+`"`...)
		b = appendCounts(b, unkS, unkR, unkS*uint64(e*600+v+1), unkR*uint64(e*600+v+1))
		b = append(b, `,"connections":[]},`...)
	}
	b = append(b[:len(b)-1], `],"unknown_connections":[`...)
	for k := range 10 {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `"10.0.0.1:`+strconv.Itoa(40000+k*17+v)+`-192.0.2.`+strconv.Itoa(k+1)+`:`+strconv.Itoa(5000+e)+`"`...)
	}
	return append(b, "]}\n"...)
}

func appendCounts(b []byte, sent, recv, totalSent, totalRecv uint64) []byte {
	b = append(b, `,"sent":`...)
	b = strconv.AppendUint(b, sent, 10)
	b = append(b, `,"recv":`...)
	b = strconv.AppendUint(b, recv, 10)
	b = append(b, `,"total_sent":`...)
	b = strconv.AppendUint(b, totalSent, 10)
	b = append(b, `,"total_recv":`...)
	return strconv.AppendUint(b, totalRecv, 10)
}

var (
	jsonDayDir   = flag.String("jsonday.dir", "", "TestWriteJSONDay writes the busy host's JSON log here, one file an hour")
	jsonDayHours = flag.Int("jsonday.hours", 24, "how many hours TestWriteJSONDay writes")
)

// TestWriteJSONDay writes the generated JSON day to files (-jsonday.dir),
// to time `gohogs report` on them; without the flag it is skipped.
func TestWriteJSONDay(t *testing.T) {
	if *jsonDayDir == "" {
		t.Skip("no -jsonday.dir")
	}
	for h := range *jsonDayHours {
		p := filepath.Join(*jsonDayDir, fmt.Sprintf("gohogs-%02d.json", h))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(f, busyJSONHour(h))
		if err := errors.Join(err, f.Close()); err != nil {
			t.Fatal(err)
		}
		if n < 1<<30 {
			t.Fatalf("%s: %d bytes", p, n)
		}
	}
}
