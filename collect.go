package gohogs

import (
	"time"

	"github.com/gohogs/gohogs/capture"
)

// collector is a source that counts in the kernel (a *capture.Capture
// with the ebpf backend): its counts are taken out at each cut.
type collector interface {
	Collect(now time.Time, fn func([]capture.FlowCount)) error
}

// collect hands what the sources counted in the kernel since the previous
// cut to the accountant, once per cut: a failure to read the counts is
// reported to Options.OnError.
func (m *Monitor) collect(cut time.Time) {
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	if m.collected.Equal(cut) {
		return
	}
	m.collected = cut
	for i, src := range m.srcs {
		c, ok := src.(collector)
		if !ok {
			continue
		}
		if err := c.Collect(cut, m.acct.Counts); err != nil && m.opts.OnError != nil {
			m.opts.OnError(m.names[i], err)
		}
	}
}
