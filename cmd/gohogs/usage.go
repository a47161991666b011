package main

import "strings"

// usageText is -h, made from flagTable: nethogs's usage line and list (the
// same bytes as nethogs -h but for the name), gohogs's own options, then
// nethogs's keys.
var usageText = usage(flagTable)

// interactiveKey is a key of the interactive view; nethogs's are listed by
// -h too, the others only in the man page.
type interactiveKey struct {
	keys, help string
	nethogs    bool
}

var interactiveKeys = []interactiveKey{
	{"q", "quit", true},
	{"s", "sort by SENT traffic", true},
	{"r", "sort by RECEIVED traffic", true},
	{"l", "display command line", true},
	{"b", "display the program basename instead of the fullpath", true},
	{"m", "switch between total (KB, B, MB) and throughput (KB/s, MB/s, GB/s) mode", true},
	{"up, down, PgUp, PgDn, Home, End, j, k, g, G", "select a process: its command line, totals, connections and a 60-second sparkline show below the list", false},
	{"/", "filter the list by name (Enter keeps the filter, Esc clears it)", false},
	{"p, space", "pause the view (capture goes on)", false},
	{"Esc", "clear the filter, or else the selection", false},
}

// continuation indents the second and later lines of a gohogs option's help.
const continuation = "\t\t         "

func usage(table []flagDef) string {
	var b strings.Builder
	b.WriteString("usage: gohogs")
	for _, c := range []byte(synopsisOrder) {
		b.WriteString(" [-" + string(c))
		if f := lookupShort(table, c); f != nil && f.arg != "" {
			b.WriteString(" " + f.arg)
		}
		b.WriteString("]")
	}
	b.WriteString(" [device [device [device ...]]]\n")
	for i := range table {
		if f := &table[i]; f.section == sectionNethogs {
			label := f.operand
			if f.short != 0 {
				label = "-" + string(f.short)
			}
			b.WriteString("\t\t" + label + " : " + f.help + "\n")
		}
	}
	b.WriteString("\ngohogs's own options:\n")
	for i := range table {
		f := &table[i]
		if f.section != sectionGohogs {
			continue
		}
		label := f.operand
		if f.long != "" {
			label = "--" + f.long
			if f.arg != "" {
				label += " " + f.arg
			}
		}
		for j, line := range strings.Split(f.help, "\n") {
			if j == 0 {
				b.WriteString("\t\t" + label + " : " + line + "\n")
			} else {
				b.WriteString(continuation + line + "\n")
			}
		}
	}
	b.WriteString("\nWhen gohogs is running, press:\n")
	for _, k := range interactiveKeys {
		if k.nethogs {
			b.WriteString(" " + k.keys + ": " + k.help + "\n")
		}
	}
	return b.String()
}
