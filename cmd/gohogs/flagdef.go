package main

// flagDef is one entry of a flag table (flagTable, reportFlagTable): a flag
// with its names, argument and help, or an operand.
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
