//go:build !pcap

package capture

import (
	"errors"

	"golang.org/x/net/bpf"
)

// PcapAvailable reports whether this build has the libpcap backend and
// filter expressions (the `pcap` build tag).
const PcapAvailable = false

// compileFilter needs libpcap, which this build does not have.
func compileFilter(LinkType, int, string) ([]bpf.RawInstruction, error) {
	return nil, errors.New("filter expressions need a build with libpcap (go build -tags pcap)")
}

// openPcap needs libpcap, which this build does not have.
func openPcap(string, bool, *Options) (source, LinkType, error) {
	return nil, 0, errors.New("the pcap backend needs a build with libpcap (go build -tags pcap)")
}
