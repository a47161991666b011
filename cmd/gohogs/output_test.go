package main

import (
	"testing"
	"time"
)

// TestStrftime: the fields --output expands, padded as strftime pads them;
// unknown fields and a trailing % are kept.
func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 2, 5, 13, 7, 9, 0, time.FixedZone("XYZ", -(3*3600+1800)))
	for pattern, want := range map[string]string{
		"%Y %y %m %d %e %j":        "2026 26 02 05  5 036",
		"%H %I %M %S %p":           "13 01 07 09 PM",
		"%b %h %B %a %A":           "Feb Feb February Thu Thursday",
		"%Z %z %s":                 "XYZ -0330 1770309429",
		"%F %T":                    "2026-02-05 13:07:09",
		"%b_%d_%Y_%H_%M_%S.log":    "Feb_05_2026_13_07_09.log",
		"100%% %q %":               "100% %q %",
		"/var/log/gohogs/%H/x.log": "/var/log/gohogs/13/x.log",
	} {
		if got := strftime(pattern, tm); got != want {
			t.Errorf("strftime(%q) = %q, want %q", pattern, got, want)
		}
	}
}
