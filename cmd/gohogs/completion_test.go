package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// complete sources the script in a bash of its own and calls _gohogs as
// bash would with the words of a command line, the last being the word
// under the cursor; it returns COMPREPLY, sorted.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	const call = `source "$1" || exit 9
shift
complete -p gohogs >/dev/null || exit 8
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_gohogs
printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", append([]string{"--norc", "--noprofile", "-c", call, "bash", script}, words...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() != 0 {
		t.Fatalf("completing %q: %v\n%s", words, err, errb.String())
	}
	got := strings.Fields(out.String())
	slices.Sort(got)
	return got
}

// TestBashCompletion: the script that gohogs --completion bash prints,
// run by bash: flags after a dash, the choices of -v, --backend and
// report's --by (also as --by=), file names, and the interfaces of
// /sys/class/net where a device goes.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"--completion", "bash"}, strings.NewReader(""), &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("gohogs --completion bash: exit %d, %s", code, errb.String())
	}
	script := filepath.Join(dir, "gohogs.bash")
	if err := os.WriteFile(script, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web.yml", "web-old.yml", "other.log"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, e := range ents {
		ifaces = append(ifaces, e.Name())
	}
	slices.Sort(ifaces)
	if !slices.Contains(ifaces, "lo") {
		t.Fatalf("/sys/class/net has no lo: %v", ifaces)
	}

	// Every flag of the table after a dash, and only those.
	var flags []string
	for i := range flagTable {
		flags = append(flags, flagTable[i].names()...)
	}
	slices.Sort(flags)
	var reportFlags []string
	for i := range reportFlagTable {
		reportFlags = append(reportFlags, reportFlagTable[i].names()...)
	}
	slices.Sort(reportFlags)
	withReport := slices.Sorted(slices.Values(append(slices.Clone(ifaces), "report")))

	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"gohogs", "-"}, flags},
		{[]string{"gohogs", "--web"}, []string{"--web.config.file"}},
		{[]string{"gohogs", "--du"}, []string{"--duration"}},
		{[]string{"gohogs", "-t", "--me"}, []string{"--metrics-container", "--metrics-pid"}},
		{[]string{"gohogs", ""}, withReport},
		{[]string{"gohogs", "-t", ""}, ifaces},
		{[]string{"gohogs", "-a", "-t", "lo", "l"}, withPrefix(ifaces, "l")},
		{[]string{"gohogs", "-v", ""}, []string{"0", "1", "2", "3", "4", "5"}},
		{[]string{"gohogs", "--backend", ""}, []string{"afpacket", "ebpf", "pcap"}},
		{[]string{"gohogs", "--backend", "=", "p"}, []string{"pcap"}},
		{[]string{"gohogs", "--completion", ""}, []string{"bash"}},
		{[]string{"gohogs", "-d", ""}, nil},
		{[]string{"gohogs", "--listen", ""}, nil},
		{[]string{"gohogs", "--web.config.file", filepath.Join(dir, "web")},
			[]string{filepath.Join(dir, "web-old.yml"), filepath.Join(dir, "web.yml")}},
		{[]string{"gohogs", "--output", filepath.Join(dir, "o")}, []string{filepath.Join(dir, "other.log")}},
		{[]string{"gohogs", "report", "-"}, reportFlags},
		{[]string{"gohogs", "report", "--by", ""}, groupByNames()},
		{[]string{"gohogs", "report", "--by", "=", ""}, groupByNames()},
		{[]string{"gohogs", "report", "--by", "=", "p"}, []string{"pid"}},
		{[]string{"gohogs", "report", "-by", "u"}, []string{"unit", "user"}},
		{[]string{"gohogs", "report", "--format", ""}, []string{"csv", "json", "table"}},
		{[]string{"gohogs", "report", "--top", ""}, nil},
		{[]string{"gohogs", "report", filepath.Join(dir, "o")}, []string{filepath.Join(dir, "other.log")}},
	} {
		got := complete(t, script, c.words...)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("completing %q: %q, want %q", c.words, got, want)
		}
	}
	// report's keys are the report package's: at least nethogs-like ones.
	if by := complete(t, script, "gohogs", "report", "--by", ""); !slices.Contains(by, "name") || !slices.Contains(by, "pid") || !slices.Contains(by, "user") {
		t.Errorf("report --by completes %q", by)
	}
}

func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}
