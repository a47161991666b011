// Package nethogs is the grammar of nethogs's trace output (nethogs -t), as
// gohogs writes it and reads it back: the view modes and what their numbers
// stand for, how the numbers are printed, and the lines of a log, printed by
// the Append functions and parsed by ParseLine.
//
// A log is start-up lines ("Adding local address: IP" for each local
// address of each device, then one link line), then one block per refresh:
// an empty line, "Refreshing:", one NAME/PID/UID<TAB>SENT<TAB>RECV line per
// process, and one "Unknown connection: LOCALIP:LPORT-REMOTEIP:RPORT" line
// per flow of the unknown TCP row. NAME is argv[0] (with the arguments after
// a space under -l) and may hold '/' and spaces, so readers split the first
// field on its last two '/'. Numbers are float32s printed as C++ iostream
// prints them (%g, 6 significant digits), in the unit of the view mode.
// Besides the trace, a log made with &> holds nethogs's diagnostics, and a
// log gohogs wrote starts with its header, a '#' comment (see HeaderPrefix;
// package report parses its fields).
//
// The package is hand-written: no library knows this format, and ParseLine
// must be strict where the format is (a row's three fields) and tolerant
// where logs are not (diagnostics, CRLF line ends), and allocate nothing for
// a process row, since package report reads days of logs through it. It
// imports only the standard library, so that package trace, package report
// and the bench harness share one definition.
package nethogs
