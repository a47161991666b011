package tracefs

import (
	"bytes"
	"testing"
)

const (
	fibLine     = `         python3-4869    (   4869) [001] .....  3810.212425: fib_table_lookup: tb_id=0xfe (254) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) proto=(17) tos=(0) scope=(0) flags=(0) src=0x0 (0) dst=0x100007f (16777343) gw4=0x0 (0) gw6=<INVALID-SIZE> sport=0x8976 (35190) dport=0x270f (9999) name=lo`
	fib6NoTgid  = `           <...>-16518   (-------) [000] .....  9757.233388: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0xe0c7 (57543) dport=0xebf8 (60408) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>`
	stateNoTgid = `           <...>-28961   [001] ..s2.  3387.942607: inet_sock_set_state: skaddr=0xffff8881c4691280 (-131384049331584) oldstate=0xa (10) newstate=0x2 (3) sport=0x1c24 (7204) dport=0x8db8 (36280) family=0xa (10) protocol=0x6 (6) saddr=0x0 (0) daddr=0x0 (0) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line           string
		comm, event    string
		pid, tgid, cpu int
		inProcess      bool
		fieldsPrefix   string
	}{
		{fibLine, "python3", "fib_table_lookup", 4869, 4869, 1, true, "tb_id=0xfe"},
		{fib6NoTgid, "<...>", "fib6_table_lookup", 16518, 0, 0, true, "tb_id=0xff"},
		{stateNoTgid, "<...>", "inet_sock_set_state", 28961, 0, 1, false, "skaddr="},
		// A comm made to look like another task's head: the pid is read
		// where the kernel prints it.
		{`  evil-1 (1) [0]-12345   (  12345) [001] .....  3810.212425: fib_table_lookup: sport=0x8976 (35190)`,
			"evil-1 (1) [0]", "fib_table_lookup", 12345, 12345, 1, true, "sport="},
		// No irq-info flags, an event without fields.
		{`            sshd-7       [003]  12.5: sched_wakeup:`, "sshd", "sched_wakeup", 7, 0, 3, false, ""},
	} {
		l, ok := ParseLine([]byte(tc.line))
		if !ok || string(l.Comm) != tc.comm || string(l.Event) != tc.event || l.PID != tc.pid || l.TGID != tc.tgid ||
			l.CPU != tc.cpu || l.InProcess() != tc.inProcess || !bytes.HasPrefix(l.Fields, []byte(tc.fieldsPrefix)) {
			t.Errorf("%q:\n got %+v (in process %v) %v", tc.line, l, l.InProcess(), ok)
		}
	}
	for _, bad := range []string{
		"", "garbage", "x-1 [000] ..... 1: inet_sock_set_state: skaddr=0xzz", "a: inet_sock_set_state: ",
		"CPU:1 [LOST 12 EVENTS]",
		`         python3-     [001] .....  3810.2: fib_table_lookup: x`,     // no pid
		`         python3-12x  [001] .....  3810.2: fib_table_lookup: x`,     // not a pid
		`         python3-12   (  1a2) [001] ..... 3.2: fib_table_lookup: x`, // not a tgid
		`         python3-12   (  12 [001] ..... 3.2: fib_table_lookup: x`,
		`         python3-12   001] ..... 3.2: fib_table_lookup: x`,
		`         python3-12   [0x1] ..... 3.2: fib_table_lookup: x`,
		`         python3-12   [001 ..... 3.2: fib_table_lookup: x`,
		`         python3-12   [001] ..... 3.2 fib_table_lookup: x`, // no ':' after the time
		`         python3-12   [001] ..... 3.2.1: fib_table_lookup: x`,
		`         python3-12   [001] ..... 3.2: : x`,
		`         python3-12   [001] ..... 3.2: two words: x`,
	} {
		if l, ok := ParseLine([]byte(bad)); ok {
			t.Errorf("%q parsed: %+v", bad, l)
		}
	}
	b := []byte(fibLine)
	if a := testing.AllocsPerRun(100, func() { ParseLine(b) }); a != 0 {
		t.Errorf("ParseLine: %v allocations, want 0", a)
	}
}

func TestHexKey(t *testing.T) {
	l, _ := ParseLine([]byte(stateNoTgid))
	for _, tc := range []struct {
		name string
		v    uint64
		ok   bool
	}{
		{"skaddr", 0xffff8881c4691280, true},
		{"oldstate", 10, true},
		{"sport", 0x1c24, true},
		{"saddr", 0, true}, // not saddr_v6's
		{"addr", 0, false}, // only whole names
		{"protocol", 6, true},
		{"nothere", 0, false},
		{"saddr_v6", 0, false}, // <INVALID-SIZE>: no digits
	} {
		if v, ok := NewHexKey(tc.name).In(l.Fields); v != tc.v || ok != tc.ok {
			t.Errorf("%s = %#x %v, want %#x %v", tc.name, v, ok, tc.v, tc.ok)
		}
	}
	k := NewHexKey("sport")
	if a := testing.AllocsPerRun(100, func() { k.In(l.Fields) }); a != 0 {
		t.Errorf("HexKey.In: %v allocations, want 0", a)
	}
}

func TestParseLost(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  uint64
		ok bool
	}{
		{"CPU:1 [LOST 123 EVENTS]", 123, true},
		{"CPU:12 [LOST 1 EVENTS]", 1, true},
		{"CPU: [LOST 1 EVENTS]", 0, false},
		{"CPU:1 [LOST EVENTS]", 0, false},
		{"CPU:1 [LOST 5 EVENT]", 0, false},
		{fibLine, 0, false},
	} {
		if n, ok := ParseLost([]byte(tc.in)); n != tc.n || ok != tc.ok {
			t.Errorf("ParseLost(%q) = %d %v", tc.in, n, ok)
		}
	}
}

// FuzzParseLine: any line from trace_pipe (its comm is any task's choice)
// parses without panicking, into slices of the line, the pid read where
// the kernel prints it.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{fibLine, fib6NoTgid, stateNoTgid} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseLost(b)
		l, ok := ParseLine(b)
		if !ok {
			return
		}
		if b[commWidth] != '-' || b[commWidth+1] < '0' || b[commWidth+1] > '9' {
			t.Fatalf("parsed without the '-' at %d: %q", commWidth, b)
		}
		if len(l.Event) == 0 || bytes.IndexByte(l.Event, ' ') >= 0 {
			t.Fatalf("event %q", l.Event)
		}
		for _, s := range [][]byte{l.Comm, l.Flags, l.Event, l.Fields} {
			if len(s) > 0 && !bytes.Contains(b, s) {
				t.Fatalf("%q is not in the line", s)
			}
		}
		NewHexKey("sport").In(l.Fields)
	})
}
