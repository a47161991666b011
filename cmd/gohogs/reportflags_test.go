package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReportFlagTable: reportFlagTable (the man page's and the
// completion's view of gohogs report) and runReport's own parser agree:
// runReport takes every flag of the table, in each spelling, with each of
// its choices; and every flag that report -h lists is in the table.
func TestReportFlagTable(t *testing.T) {
	const missing = "/nonexistent/gohogs-report.log"
	try := func(args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := runReport(append(args, missing), strings.NewReader(""), &out, &errb)
		// Every flag accepted: the report fails on the missing file only.
		if code != reportFailed || !strings.Contains(errb.String(), missing+": no such file") {
			t.Errorf("gohogs report %q: exit %d, %q", args, code, errb.String())
		}
	}
	for i := range reportFlagTable {
		f := &reportFlagTable[i]
		if f.operand != "" {
			continue
		}
		if f.arg == "" {
			if f.long != "help" {
				t.Errorf("%v: a switch the test does not know", f.names())
			}
			var out bytes.Buffer
			if code := runReport(f.names()[:1], strings.NewReader(""), &out, &out); code != reportOK || out.String() != reportUsage {
				t.Errorf("gohogs report %s: exit %d", f.names()[0], code)
			}
			continue
		}
		values := []string{"1"}
		if f.words != nil {
			values = f.words()
		} else if v, ok := map[string]string{
			"name-time": "%Y%m%d",
			"every":     "1h",
			"since":     "2026-11-28",
			"until":     "2026-11-28T03:00:00Z",
			"plot":      filepath.Join(t.TempDir(), "day.svg"),
		}[f.long]; ok {
			values = []string{v}
		}
		name := f.long
		if name == "" {
			name = string(f.short)
		}
		for _, v := range values {
			try("-"+name, v)
			try("--" + name + "=" + v)
		}
	}
	// The flags of report -h: "  -d SECONDS", "  --by ...", "  -h, --help".
	listed := regexp.MustCompile(`(?m)^  (--?[\w-]+)(?:, (--?[\w-]+))?`).FindAllStringSubmatch(reportUsage, -1)
	if len(listed) < 7 {
		t.Fatalf("found %d flags in report -h", len(listed))
	}
	for _, m := range listed {
		for _, n := range m[1:] {
			if n == "" {
				continue
			}
			n = strings.TrimLeft(n, "-")
			if lookupLong(reportFlagTable, n) == nil && (len(n) != 1 || lookupShort(reportFlagTable, n[0]) == nil) {
				t.Errorf("report -h lists %s, which reportFlagTable (the man page, the completion) does not have", m[0])
			}
		}
	}
}
