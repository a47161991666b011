package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace"
)

// TestParseArgsLikeGetopt: nethogs's getopt rules: options after devices,
// combined flags, attached or separate arguments, "--".
func TestParseArgsLikeGetopt(t *testing.T) {
	o, err := parseArgs([]string{"eth0", "-tCd2", "-v", "3", "lo", "-P", "12", "-P13", "-s", "--", "-x"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.trace || !o.udp || o.delay != 2*time.Second || o.view != trace.ViewTotalMB || !o.bySent || o.bughunt {
		t.Errorf("options %+v", o)
	}
	if strings.Join(o.devices, ",") != "eth0,lo,-x" || len(o.pids) != 2 || o.pids[1] != 13 {
		t.Errorf("devices %q pids %v", o.devices, o.pids)
	}
	o, err = parseArgs([]string{"-x", "-d", "0.25", "--duration=90s", "--output", "/tmp/%H.log", "--rotate", "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.trace || o.delay != 250*time.Millisecond || o.duration != 90*time.Second || o.output != "/tmp/%H.log" || o.rotate != time.Hour {
		t.Errorf("options %+v", o)
	}
	for val, want := range map[string]capture.Backend{"afpacket": capture.BackendAFPacket, "pcap": capture.BackendPcap} {
		if o, err := parseArgs([]string{"--backend", val}); err != nil || o.backend != want {
			t.Errorf("--backend %s: %v, %v", val, o, err)
		}
	}
	if o, _ := parseArgs(nil); o.backend != capture.BackendDefault {
		t.Errorf("default backend %v", o.backend)
	}
}

// TestCommandLineErrors: each error a user can cause gives one clear line
// (nethogs's where nethogs has one) and nethogs's exit status.
func TestCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args       []string
		code       int
		stdout     string // a prefix
		stderrLine string // the first line of stderr
		usage      bool   // usage follows on stderr
	}{
		{[]string{"-h"}, 0, "usage: gohogs [-V] [-h]", "", false},
		{[]string{"-V"}, 0, " version " + version + "\n", "", false},
		{[]string{"-Z"}, 1, "", "gohogs: invalid option -- 'Z'", true},
		{[]string{"-t", "-d"}, 1, "", "gohogs: option requires an argument -- 'd'", true},
		{[]string{"--bogus"}, 1, "", "gohogs: unrecognized option '--bogus'", true},
		{[]string{"-t", "-d", "0"}, 1, "", `gohogs: -d: delay "0" out of range: want at least 0.001 seconds`, false},
		{[]string{"-t", "-d", "abc"}, 1, "", `gohogs: -d: invalid delay "abc": want a number of seconds such as 1 or 0.5`, false},
		{[]string{"-t", "-v", "6"}, 1, "", `gohogs: -v: invalid value "6": want a view mode from 0 to 5 (0 KB/s, 1 total KB, 2 total B, 3 total MB, 4 MB/s, 5 GB/s)`, false},
		{[]string{"-t", "-c", "-1"}, 1, "", `gohogs: -c: invalid value "-1": want a number of refreshes, 0 for no limit`, false},
		{[]string{"-t", "-P", "x"}, 1, "", `gohogs: -P: invalid value "x": want a process id`, false},
		{[]string{"-t", "--duration", "soon"}, 1, "", `gohogs: --duration: invalid duration "soon": want a Go duration such as 90s, 15m or 1h`, false},
		{[]string{"-t", "--backend", "bpf"}, 1, "", `gohogs: --backend: unknown backend "bpf": want ebpf, afpacket or pcap`, false},
		{[]string{"-t", "--rotate", "1h"}, 1, "", "gohogs: --rotate needs --output: there is no file to rotate when writing to stdout", false},
		{[]string{"-t", "lo"}, 1, "", noDevices, false},
		{[]string{"-t", "no-such-if0"}, 1, "", `gohogs: interface "no-such-if0" does not exist (ip link lists the interfaces)`, false},
		{[]string{"-t", "--web.config.file", "web.yml"}, 1, "", "gohogs: --web.config.file needs --listen: it configures the metrics server", false},
		{[]string{"--web.config.file="}, 1, "", "gohogs: --web.config.file: empty file name", false},
		{[]string{"--completion", "zsh"}, 1, "", `gohogs: --completion: unknown shell "zsh": want bash`, false},
		{[]string{"--completion"}, 1, "", "gohogs: option '--completion' requires an argument", true},
		{[]string{"--man=1"}, 1, "", "gohogs: option '--man' doesn't allow an argument", true},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, strings.NewReader(""), &out, &errb)
		first, rest, _ := strings.Cut(errb.String(), "\n")
		if code != c.code || !strings.HasPrefix(out.String(), c.stdout) || first != c.stderrLine ||
			(c.usage != strings.HasPrefix(rest, "usage: gohogs")) || (!c.usage && rest != "") {
			t.Errorf("gohogs %q: exit %d, stdout %.60q, stderr %q", c.args, code, out.String(), errb.String())
		}
	}
}

// TestNoPermission: run as an unprivileged user, gohogs says that capture
// needs CAP_NET_RAW or root, and exits 1.
func TestNoPermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop to another user")
	}
	cmd := exec.Command(gohogsBin, "-t", "-a", "-c", "1", "lo")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, stderr %q", err, errb.String())
	}
	if !strings.Contains(errb.String(), "CAP_NET_RAW") || strings.Contains(errb.String(), "panic") {
		t.Errorf("stderr %q does not say what permission is missing", errb.String())
	}
	t.Logf("stderr: %s", errb.String())
}

// TestLongAliases: --help and --version are -h and -V.
func TestLongAliases(t *testing.T) {
	for _, c := range []struct{ args []string }{{[]string{"--help"}}, {[]string{"--version"}}} {
		o, err := parseArgs(c.args)
		if err != nil || o.help != (c.args[0] == "--help") || o.version != (c.args[0] == "--version") {
			t.Errorf("%q: %+v, %v", c.args, o, err)
		}
	}
	if _, err := parseArgs([]string{"--help=x"}); err == nil {
		t.Error("--help=x accepted")
	}
}

// TestUsageIsNethogs: gohogs -h is nethogs -h, byte for byte but for the
// program's name, with gohogs's own options between the list and the keys.
func TestUsageIsNethogs(t *testing.T) {
	if _, err := exec.LookPath("nethogs"); err != nil {
		t.Skip("nethogs is not installed (.ci/run installs it)")
	}
	// nethogs -h exits 0 (Debian's 0.8.7); its usage goes to stdout.
	want, err := exec.Command("nethogs", "-h").Output()
	if err != nil {
		t.Fatalf("nethogs -h: %v", err)
	}
	var out bytes.Buffer
	if code := run([]string{"-h"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("gohogs -h: exit %d", code)
	}
	got := out.String()
	own := strings.Index(got, "\ngohogs's own options:\n")
	keys := strings.Index(got, "\nWhen gohogs is running, press:\n")
	if own < 0 || keys < own {
		t.Fatalf("gohogs -h has no own options before the keys:\n%s", got)
	}
	if nethogsPart := got[:own] + got[keys:]; nethogsPart != strings.ReplaceAll(string(want), "nethogs", "gohogs") {
		t.Errorf("gohogs -h without its own options:\n%s\nnethogs -h:\n%s", nethogsPart, want)
	}
	// Every gohogs flag of the table is in its section.
	for i := range flagTable {
		if f := &flagTable[i]; f.section == sectionGohogs && f.long != "" && !strings.Contains(got[own:keys], "\t\t--"+f.long+" ") {
			t.Errorf("gohogs -h does not list --%s among its own options", f.long)
		}
	}
}

// TestFlagTable: each entry of the tables is whole: one kind of name,
// unique, a setter in the command's table, help, and choices that the
// flag accepts (each word of a completion is tried on the flag itself).
func TestFlagTable(t *testing.T) {
	for _, table := range []struct {
		name    string
		defs    []flagDef
		setters bool
	}{{"gohogs", flagTable, true}, {"gohogs report", reportFlagTable, false}} {
		seen := map[string]bool{}
		for i := range table.defs {
			f := &table.defs[i]
			id := fmt.Sprintf("%s: %q%v", table.name, f.operand, f.names())
			if (f.operand != "") == (len(f.names()) > 0) {
				t.Errorf("%s: wants either names or an operand", id)
			}
			for _, n := range append(f.names(), f.operand) {
				if n != "" && seen[n] {
					t.Errorf("%s: %s twice", id, n)
				}
				seen[n] = true
			}
			if f.help == "" || strings.ContainsAny(f.help+f.man, "\t") || strings.Contains(f.help, " \n") {
				t.Errorf("%s: help %q", id, f.help)
			}
			if table.setters && (f.set == nil) != (f.operand != "") {
				t.Errorf("%s: a flag needs a setter, an operand none", id)
			}
			if (f.complete == argWords) != (f.words != nil) || (f.complete != argNone && f.arg == "" && f.operand == "") {
				t.Errorf("%s: completion %v with words %v and argument %q", id, f.complete, f.words != nil, f.arg)
			}
			if f.words == nil || !table.setters {
				continue
			}
			words := f.words()
			if len(words) < 2 && f.long != "completion" {
				t.Errorf("%s: choices %q", id, words)
			}
			for _, w := range words {
				if err := f.set(&options{}, w); err != nil {
					t.Errorf("%s: choice %q refused: %v", id, w, err)
				}
			}
		}
	}
	for _, c := range []byte(synopsisOrder) {
		if f := lookupShort(flagTable, c); f == nil || f.section != sectionNethogs {
			t.Errorf("synopsis names -%c, which is not one of nethogs's flags", c)
		}
	}
	if got := strings.Join(backendNames(), " "); got != "afpacket pcap" && !strings.HasPrefix(got, "afpacket pcap ") {
		t.Errorf("backends %q", got)
	}
	if got := strings.Join(groupByNames(), " "); !strings.HasPrefix(got, "name pid user") {
		t.Errorf("report groupings %q", got)
	}
}
