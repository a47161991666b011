package main

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The man page gohogs(8), in roff with the man macros, made from the flag
// tables (flagTable, reportFlagTable) and the interactive keys, as -h is:
// `gohogs --man` prints it, and go generate writes the copy committed
// beside this file (TestManPageCommitted keeps the two equal).

//go:generate sh -c "go run . --man > gohogs.8"

// writeDocs prints what --man or --completion asks for.
func writeDocs(o *options, stdout, stderr io.Writer) int {
	text := manPage()
	if o.completion != "" {
		text = completionScript(o.completion)
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		return outputError(stderr, err)
	}
	return 0
}

// manPage returns gohogs(8).
func manPage() string {
	var b strings.Builder
	b.WriteString(`.\" gohogs(8), made by "gohogs --man" from the flag tables of cmd/gohogs: do not
.\" edit; "go generate ./cmd/gohogs" writes cmd/gohogs/gohogs.8 again.
.TH GOHOGS 8 "" "gohogs ` + version + `" "System Manager's Manual"
.nh
.ad l
.SH NAME
gohogs \- per\-process network bandwidth monitor, a drop\-in for nethogs
.SH SYNOPSIS
.B gohogs
`)
	manSynopsis(&b, flagTable, "[\\fIdevice\\fR ...]")
	b.WriteString(".br\n.B gohogs report\n")
	manSynopsis(&b, reportFlagTable, "\\fIFILE\\fR ...")
	b.WriteString(`.SH DESCRIPTION
.B gohogs
shows which processes use the network: the bytes that each sends and receives on the
watched interfaces, grouped by process, as
.BR nethogs (8)
does, with nethogs's flags, trace format, exit codes and messages (existing log readers
keep working), and with rates that are right: each refresh reports the bytes of exactly
one interval, over that interval.
.PP
Without
.B \-t
it shows nethogs's full\-screen view (see INTERACTIVE KEYS). With
.B \-t
it prints nethogs's trace lines, one block per refresh;
.B \-\-json
prints one JSON object per refresh instead, and
.B \-\-listen
serves Prometheus metrics (see EXPORTER).
.B gohogs report
sums the logs (see REPORT).
.PP
Capturing needs root, or the capability CAP_NET_RAW.
.SH OPTIONS
Options may follow the device names; one\-letter options combine
.RB ( \-tC ),
and an option's argument is attached
.RB ( \-d2 )
or the next word
.RB ( "\-d 2" ).
.B \-\-
ends the options.
.SS nethogs's options
`)
	manFlags(&b, flagTable, sectionNethogs)
	b.WriteString(".SS gohogs's own options\n")
	manFlags(&b, flagTable, sectionGohogs)
	b.WriteString(`.SH REPORT
.B gohogs report
sums trace logs written by gohogs
.RB ( \-t ,
.BR \-\-output )
or nethogs
.RB ( \-t )
into per\-process totals: bytes sent and received, peak and mean rate, the refreshes
and time each was seen. Totals are bytes, not a sum of rates. Files written by
.B \-\-output
begin with a header line that gives their delay and view mode; nethogs's logs have
none: give
.B \-d
and
.B \-v
as nethogs had them. Many files (a day of hourly logs) make one report; a file given
twice is counted once; a line that is not understood is reported on standard error as
FILE:LINE: reason and skipped. Its flags take one dash or two and may follow the files:
`)
	manFlags(&b, reportFlagTable, sectionNethogs)
	b.WriteString(`.SH INTERACTIVE KEYS
`)
	for _, k := range interactiveKeys {
		b.WriteString(".TP\n" + manBold(k.keys) + "\n" + manText(capitalize(k.help)) + ".\n")
	}
	b.WriteString(`.SH EXPORTER
With
.B \-\-listen
.I ADDR
gohogs serves Prometheus metrics at http://ADDR/metrics; a bare port (:9750) binds
127.0.0.1 only. Byte counters, per program and user (and pid with
.BR \-\-metrics\-pid ):
gohogs_process_sent_bytes_total, gohogs_process_received_bytes_total; the traffic
without a known owner counts under the programs "unknown TCP", "unknown UDP" and
"unknown socket". gohogs's health: gohogs_packets_total, gohogs_unknown_bytes_total,
gohogs_capture_kernel_drops_total, gohogs_lookup_queue_drops_total,
gohogs_resolver_misses_total, gohogs_refreshes_total and more.
.PP
To expose the metrics beyond the host, give
.B \-\-web.config.file
the web configuration file that Prometheus's own exporters read (exporter\-toolkit):
TLS with a certificate and key, and users whose passwords are bcrypt hashes. Then a
request without a user and password that match gets 401 Unauthorized. For example:
.PP
.RS
.nf
tls_server_config:
  cert_file: gohogs.crt
  key_file: gohogs.key
basic_auth_users:
  prometheus: $2y$10$ (the bcrypt hash of the password)
.fi
.RE
.PP
Relative file names are relative to the file's directory. gohogs checks the file at
start (a file that cannot be read or used stops it with one line and exit status 1)
and the exporter reads it again for each request, so a changed file applies without a
restart. Alerting and recording rules, with their tests, are in gohogs's source
(contrib/prometheus).
.SH EXIT STATUS
gohogs exits 0 when it stopped as asked (\fB\-c\fR, \fB\-\-duration\fR, SIGINT,
SIGTERM, q), and 1 on a command line error, when no device could be opened, when
capture failed on every device, or when the output cannot be written.
.B gohogs report
exits 0 when it printed the report and read every line, 1 on a usage error or a file
that cannot be read (no report), and 3 when it printed the report but skipped lines.
.SH EXAMPLES
.nf
gohogs \-t eth0
gohogs \-t eth1 \-\-duration 1h \-\-output '/var/log/gohogs/%b_%d_%Y_%H_%M_%S.log'
gohogs \-\-listen 0.0.0.0:9750 \-\-web.config.file /etc/gohogs/web.yml eth0
gohogs report \-\-by user \-\-top 10 /var/log/gohogs/*.log
.fi
.SH SEE ALSO
.BR nethogs (8),
.BR pcap\-filter (7),
.BR promtool (1)
`)
	return b.String()
}

// manSynopsis writes a command's flags and operands for SYNOPSIS.
func manSynopsis(b *strings.Builder, table []flagDef, operands string) {
	for i := range table {
		f := &table[i]
		if f.operand != "" {
			continue
		}
		name := f.names()[0]
		if f.arg != "" {
			b.WriteString("[" + manBold(name) + " " + manItalic(f.arg) + "]\n")
		} else {
			b.WriteString("[" + manBold(name) + "]\n")
		}
	}
	b.WriteString(operands + "\n")
}

// manFlags writes one tagged paragraph for each flag and operand of table
// in section sec.
func manFlags(b *strings.Builder, table []flagDef, sec section) {
	for i := range table {
		f := &table[i]
		if f.section != sec {
			continue
		}
		var tag string
		if f.operand != "" {
			tag = manOperand(f.operand)
		} else {
			var names []string
			for _, n := range f.names() {
				names = append(names, manBold(n))
			}
			tag = strings.Join(names, ", ")
			if f.arg != "" {
				tag += " " + manItalic(f.arg)
			}
		}
		text := f.man
		if text == "" {
			text = capitalize(strings.ReplaceAll(f.help, "\n", " "))
		}
		b.WriteString(".TP\n" + tag + "\n" + manText(text) + "\n")
	}
}

// manOperand is an operand in italics, "..." when it may repeat ("device
// ...", "FILE..."), or a subcommand's name in bold before its operands
// ("report FILE...").
func manOperand(s string) string {
	cmd, args, ok := strings.Cut(s, " ")
	if ok {
		return manBold(cmd) + " " + manOperand(args)
	}
	if name, ok := strings.CutSuffix(s, "..."); ok {
		return manItalic(name) + "..."
	}
	return manItalic(s) + " ..."
}

func manBold(s string) string   { return `\fB` + roffEscape(s) + `\fR` }
func manItalic(s string) string { return `\fI` + roffEscape(s) + `\fR` }

// manText is a paragraph's text: escaped, and kept from starting a line
// with a control character.
func manText(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffEscape escapes roff's escape character and writes every '-' as a
// minus sign, so that options copied from the page work.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
