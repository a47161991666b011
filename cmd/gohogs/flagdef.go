package main

import (
	"fmt"
	"strconv"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace"
	"github.com/gohogs/gohogs/trace/report"
)

// flagDef is one entry of a flag table (flagTable, reportFlagTable): a flag
// with its names, argument, help and completion, or an operand.
type flagDef struct {
	short   byte   // the one-letter name (-d), 0 if none
	long    string // the long name without dashes (duration), "" if none
	operand string // instead of a flag: an operand or a subcommand ("device", "report FILE...")
	arg     string // the argument's name in the help ("seconds", "D"); "" for a switch
	// help is the -h text; a "\n" starts a continuation line.
	help string
	// man is the man page's text when it says more than help does.
	man     string
	section section
	// complete says what the shell completes for the argument (or the
	// operand); words gives the choices of argWords.
	complete argKind
	words    func() []string
	// set applies the flag to the options; nil in tables that only
	// describe a parser of their own (reportFlagTable).
	set func(o *options, val string) error
}

// section is where -h and the man page list a flag.
type section uint8

const (
	sectionNethogs section = iota // nethogs's flags, listed as nethogs lists them
	sectionGohogs                 // "gohogs's own options"
)

// argKind is what the shell completes for an argument.
type argKind uint8

const (
	argNone       argKind = iota // a free value: nothing
	argWords                     // one of flagDef.words
	argFiles                     // a file name
	argInterfaces                // a network interface name
)

// names returns the flag's names as typed: "-h", "--help".
func (f *flagDef) names() []string {
	var n []string
	if f.short != 0 {
		n = append(n, "-"+string(f.short))
	}
	if f.long != "" {
		n = append(n, "--"+f.long)
	}
	return n
}

// lookupShort returns the entry of table named -c, nil if none.
func lookupShort(table []flagDef, c byte) *flagDef {
	for i := range table {
		if table[i].short == c && c != 0 {
			return &table[i]
		}
	}
	return nil
}

// lookupLong returns the entry of table named --name, nil if none.
func lookupLong(table []flagDef, name string) *flagDef {
	for i := range table {
		if table[i].long == name && name != "" {
			return &table[i]
		}
	}
	return nil
}

// enumWords returns the names of an enumeration's values, counting up from
// first for as long as parsing a value's name gives the value back: the
// choices of a flag follow the package that defines them.
func enumWords[T interface {
	~int | ~uint8
	fmt.Stringer
}](first T, parse func(string) (T, error)) []string {
	var words []string
	for v := first; ; v++ {
		got, err := parse(v.String())
		if err != nil || got != v {
			return words
		}
		words = append(words, v.String())
	}
}

func viewModes() []string {
	w := make([]string, trace.NumViewModes)
	for i := range w {
		w[i] = strconv.Itoa(i)
	}
	return w
}

// backendNames starts after BackendDefault, which is afpacket's second name.
func backendNames() []string {
	return enumWords(capture.BackendDefault+1, capture.ParseBackend)
}

func groupByNames() []string { return enumWords(report.ByName, report.ParseGroupBy) }

// formatNames are report.ParseFormat's names (report.Format has no String).
func formatNames() []string { return []string{"table", "csv", "json"} }
