package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// buildFilter returns the BPF program attached to an AF_PACKET socket: on
// loopback, a check that drops the outgoing copy of each packet; then the
// user's filter compiled by libpcap (pcap build only), or an accept of
// snapLen bytes.
func buildFilter(loopback bool, link LinkType, snapLen int, expr string) ([]bpf.RawInstruction, error) {
	var prog []bpf.RawInstruction
	if loopback {
		pre, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
			bpf.RetConstant{Val: 0},
		})
		if err != nil {
			return nil, fmt.Errorf("assemble loopback filter: %w", err)
		}
		prog = append(prog, pre...)
	}
	if expr == "" {
		return append(prog, bpf.RawInstruction{Op: unix.BPF_RET | unix.BPF_K, K: uint32(snapLen)}), nil
	}
	user, err := compileFilter(link, snapLen, expr)
	if err != nil {
		return nil, err
	}
	// Jumps in classic BPF are relative, so the user's program runs
	// unchanged after the prefix.
	return append(prog, user...), nil
}

// attachFilter attaches a classic BPF program to socket fd.
func attachFilter(fd int, prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return nil
	}
	ins := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		ins[i] = unix.SockFilter{Code: p.Op, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	fp := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return fmt.Errorf("attach BPF filter: %w", err)
	}
	return nil
}
