package main

import (
	"fmt"
	"slices"
	"strings"
)

// The shell completion script, made from the flag tables: flags after a
// dash, each argument's choices (view modes, backends, report's --by
// keys), file names, and the interfaces of /sys/class/net where a device
// goes.

func completionShells() []string { return []string{"bash"} }

func setCompletion(o *options, val string) error {
	if !slices.Contains(completionShells(), val) {
		return &valueError{fmt.Sprintf("gohogs: --completion: unknown shell %q: want %s", val, strings.Join(completionShells(), " or "))}
	}
	o.completion = val
	return nil
}

// completionScript returns the script for shell (one of completionShells).
func completionScript(shell string) string {
	if shell != "bash" {
		return ""
	}
	var b strings.Builder
	b.WriteString(`# bash completion for gohogs(8), made by "gohogs --completion bash" from its
# flag table. Install it with
#   gohogs --completion bash > /usr/share/bash-completion/completions/gohogs
# or load it in a shell with: source <(gohogs --completion bash)

_gohogs() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
	# bash splits --flag=value at the "=" (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi
	COMPREPLY=()
	if [[ ${COMP_WORDS[1]} == report ]] && ((COMP_CWORD > 1)); then
`)
	// report's FlagSet takes every flag with one dash or two.
	bashCommand(&b, "\t\t", reportFlagTable, func(f *flagDef) []string {
		name := f.long
		if name == "" {
			name = string(f.short)
		}
		return []string{"-" + name, "--" + name}
	})
	b.WriteString("\t\treturn\n\tfi\n")
	bashCommand(&b, "\t", flagTable, (*flagDef).names)
	b.WriteString(`	((COMP_CWORD == 1)) && _gohogs_words report
}

# _gohogs_words adds those of its arguments that begin with $cur.
_gohogs_words() {
	local w
	for w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

_gohogs_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_gohogs_interfaces() {
	local d
	for d in /sys/class/net/*; do
		[[ -e $d ]] && _gohogs_words "${d##*/}"
	done
}

complete -F _gohogs gohogs
`)
	return b.String()
}

// bashCommand writes the completion of one command's table: a flag's
// argument, then flags after a dash, then the operand. spellings gives the
// forms a flag is typed in; each line begins with indent.
func bashCommand(b *strings.Builder, indent string, table []flagDef, spellings func(*flagDef) []string) {
	var flags []string
	var operand argKind
	b.WriteString(indent + "case $prev in\n")
	for i := range table {
		f := &table[i]
		if f.operand != "" {
			if !strings.Contains(f.operand, " ") { // not a subcommand
				operand = f.complete
			}
			continue
		}
		flags = append(flags, f.names()...)
		if f.arg != "" {
			fmt.Fprintf(b, "%s%s) %s; return ;;\n", indent, strings.Join(spellings(f), "|"), bashComplete(f))
		}
	}
	b.WriteString(indent + "esac\n")
	fmt.Fprintf(b, "%[1]sif [[ $cur == -* ]]; then\n%[1]s\t_gohogs_words %[2]s\n%[1]s\treturn\n%[1]sfi\n", indent, strings.Join(flags, " "))
	fmt.Fprintf(b, "%s%s\n", indent, bashComplete(&flagDef{complete: operand}))
}

// bashComplete is the command that completes f's argument (or operand).
func bashComplete(f *flagDef) string {
	switch f.complete {
	case argWords:
		return "_gohogs_words " + strings.Join(f.words(), " ")
	case argFiles:
		return "_gohogs_files"
	case argInterfaces:
		return "_gohogs_interfaces"
	}
	return ":" // a free value: nothing to offer
}
