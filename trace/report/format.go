package report

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is an output format of the report.
type Format int

// The output formats.
const (
	FormatTable Format = iota // aligned columns, human units
	FormatCSV                 // one header line, then one line per row, exact bytes
	FormatJSON                // {"group_by":..., "rows":[...]}, exact bytes
)

// ParseFormat parses "table", "csv" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table":
		return FormatTable, nil
	case "csv":
		return FormatCSV, nil
	case "json":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("report: unknown format %q (want table, csv or json)", s)
}

// HumanBytes formats a byte count with binary units and 3 significant
// digits: "512 B", "1.50 KiB", "12.3 MiB", "993 GiB".
func HumanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if b < 1024 {
		return strconv.FormatFloat(max(b, 0), 'f', 0, 64) + " B"
	}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	// Round first so that 1023.9 KiB reads "1.00 MiB", not "1024 KiB".
	if b >= 999.5 && i < len(units)-1 {
		b /= 1024
		i++
	}
	prec := 0
	switch {
	case b < 9.995:
		prec = 2
	case b < 99.95:
		prec = 1
	}
	return strconv.FormatFloat(b, 'f', prec, 64) + " " + units[i]
}

// HumanRate formats bytes per second like HumanBytes, with "/s".
func HumanRate(bps float64) string { return HumanBytes(bps) + "/s" }

// fmtTime formats t in UTC, RFC 3339 with the fraction of a second when
// there is one; "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtUID(uid int64) string {
	if uid < 0 {
		return "-"
	}
	return strconv.FormatInt(uid, 10)
}

// printable escapes control characters and invalid UTF-8 so that a name
// logged from an untrusted argv[0] cannot drive the terminal.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// finite clamps v to a finite number, as JSON has no infinities.
func finite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > math.MaxFloat64:
		return math.MaxFloat64
	}
	return v
}
