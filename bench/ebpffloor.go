package main

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// floorProgram is a tcx program that returns at once, attached beside
// gohogs's on the egress of interface ifc in namespace ns: its
// kernel.bpf_stats_enabled run time per run is what the measurement itself
// costs on this machine (two clock reads a run), the floor under the
// figure for gohogs's programs.
type floorProgram struct {
	prog *ebpf.Program
	lk   link.Link
}

func attachFloor(ns, ifc string) (*floorProgram, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bench_floor", Type: ebpf.SchedCLS, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()}}) // TCX_NEXT
	if err != nil {
		return nil, fmt.Errorf("load the floor program: %w", err)
	}
	f := &floorProgram{prog: prog}
	if err := netnstest.Do(ns, func() error {
		ifi, err := net.InterfaceByName(ifc)
		if err != nil {
			return err
		}
		f.lk, err = link.AttachTCX(link.TCXOptions{Interface: ifi.Index, Program: prog, Attach: ebpf.AttachTCXEgress})
		return err
	}); err != nil {
		prog.Close()
		return nil, fmt.Errorf("attach the floor program: %w", err)
	}
	return f, nil
}

// cost is the program's run time and run count so far.
func (f *floorProgram) cost() progCost {
	st, err := f.prog.Stats()
	if err != nil {
		return progCost{}
	}
	return progCost{ns: uint64(st.Runtime), runs: st.RunCount}
}

func (f *floorProgram) close() {
	f.lk.Close()
	f.prog.Close()
}
