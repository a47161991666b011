package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// strftimeLayouts are the strftime fields --output knows, as time.Format
// layouts.
var strftimeLayouts = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'j': "002",
	'H': "15", 'I': "03", 'M': "04", 'S': "05", 'p': "PM",
	'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
	'Z': "MST", 'z': "-0700", 'F': "2006-01-02", 'T': "15:04:05",
}

// strftime expands the strftime-style fields of pattern for t (%s is the
// Unix time, %% a percent sign). Unknown fields are kept as they are.
func strftime(pattern string, t time.Time) string {
	var b []byte
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b = append(b, c)
			continue
		}
		i++
		f := pattern[i]
		switch layout, ok := strftimeLayouts[f]; {
		case ok:
			b = t.AppendFormat(b, layout)
		case f == 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case f == '%':
			b = append(b, '%')
		default:
			b = append(b, '%', f)
		}
	}
	return string(b)
}

// logFile is the --output destination: a file named by a strftime pattern,
// switched for a new one by rotate (between two refreshes) or reopened under
// the same name by reopen (SIGHUP, logrotate's convention).
type logFile struct {
	pattern string
	f       *os.File
	name    string
}

// open opens the file the pattern names at t, creating its directory, and
// appending if it exists.
func (l *logFile) open(t time.Time) error {
	name := strftime(l.pattern, t)
	if dir := filepath.Dir(name); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating the output directory: %w", err)
		}
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the output file: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.name = f, name
	return nil
}

// reopen closes the file and opens the same name again (it may have been
// moved away by logrotate).
func (l *logFile) reopen() error {
	f, err := os.OpenFile(l.name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("reopening the output file: %w", err)
	}
	l.f.Close()
	l.f = f
	return nil
}

// Write writes to the current file.
func (l *logFile) Write(p []byte) (int, error) {
	n, err := l.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("%s: %w", l.name, err)
	}
	return n, nil
}

// Close closes the current file.
func (l *logFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
