package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestManPageCommitted: the gohogs.8 beside the code is what the flag
// tables make now (go generate ./cmd/gohogs writes it again), and
// gohogs --man prints the same.
func TestManPageCommitted(t *testing.T) {
	committed, err := os.ReadFile("gohogs.8")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != manPage() {
		t.Error("cmd/gohogs/gohogs.8 is not what the flag tables make: run go generate ./cmd/gohogs")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--man"}, strings.NewReader(""), &out, &errb); code != 0 || out.String() != manPage() || errb.Len() != 0 {
		t.Errorf("gohogs --man: exit %d, %d bytes (want %d), stderr %q", code, out.Len(), len(manPage()), errb.String())
	}
}

// renderMan formats the page as man(1) shows it, 80 columns, in ASCII,
// failing the test on any warning of man or groff.
func renderMan(t *testing.T, args ...string) string {
	t.Helper()
	for _, tool := range []string{"man", "groff"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs man-db and groff-base)", tool)
		}
	}
	cmd := exec.Command("man", append([]string{"--warnings"}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C", "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() != 0 {
		t.Fatalf("man %q: %v, warnings:\n%s", args, err, errb.String())
	}
	return out.String()
}

// TestManPageRenders: groff reads the page without a single warning (all
// of them enabled), man -l shows it, and every flag that -h lists (and
// every flag of gohogs report) is the tag of a paragraph of its own.
func TestManPageRenders(t *testing.T) {
	page := filepath.Join(t.TempDir(), "gohogs.8")
	if err := os.WriteFile(page, []byte(manPage()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("groff"); err == nil {
		out, err := exec.Command("groff", "-man", "-ww", "-z", page).CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("groff -man -ww: %v\n%s", err, out)
		}
	}
	text := renderMan(t, "-l", page)
	for _, want := range []string{"GOHOGS(8)", "NAME\n       gohogs - per-process network bandwidth monitor", "SYNOPSIS", "EXPORTER", "basic_auth_users:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	// The flags -h lists (a tab-indented "-x :" or "--name ARG :").
	listed := regexp.MustCompile(`(?m)^\t\t(--?[\w.-]+)[ :]`).FindAllStringSubmatch(usageText, -1)
	if len(listed) < 25 {
		t.Fatalf("found %d flags in -h", len(listed))
	}
	var names []string
	for _, m := range listed {
		names = append(names, m[1])
	}
	for i := range reportFlagTable {
		names = append(names, reportFlagTable[i].names()...)
	}
	for _, n := range names {
		// A tag line: 7 spaces, maybe other names and ", ", then the flag.
		tag := regexp.MustCompile(`(?m)^ {7}(?:\S+, )*` + regexp.QuoteMeta(n) + `(?:[ ,]|$)`)
		if !tag.MatchString(text) {
			t.Errorf("the man page has no paragraph for %s", n)
		}
	}
	for _, k := range interactiveKeys {
		if !strings.Contains(text, "\n       "+k.keys) {
			t.Errorf("the man page does not list the key %q", k.keys)
		}
	}
}

// TestManInstalled: installed as the README says, `man gohogs` finds and
// shows the page in section 8.
func TestManInstalled(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "man8")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if code := run([]string{"--man"}, strings.NewReader(""), &page, &page); code != 0 {
		t.Fatalf("gohogs --man: exit %d: %s", code, page.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "gohogs.8"), page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if where := strings.TrimSpace(renderMan(t, "-M", root, "-w", "gohogs")); where != filepath.Join(dir, "gohogs.8") {
		t.Errorf("man -w gohogs: %q", where)
	}
	if text := renderMan(t, "-M", root, "8", "gohogs"); !strings.HasPrefix(text, "GOHOGS(8)") || !strings.Contains(text, "--web.config.file FILE") {
		t.Errorf("man 8 gohogs:\n%.300s", text)
	}
}
