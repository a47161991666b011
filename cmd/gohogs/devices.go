package main

import (
	"fmt"
	"net"
	"slices"
)

// selectDevices picks the interfaces to monitor as nethogs does: the named
// ones (or, with none named, all of them) that are up, running and not
// loopback, unless all is set; in nethogs's order, which is the reverse of
// the kernel's interface order. Named interfaces that do not exist are
// returned in missing.
func selectDevices(named []string, all bool) (devs, missing []string, err error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("list network interfaces: %w", err)
	}
	exists := make(map[string]bool, len(ifs))
	for _, ifc := range ifs {
		exists[ifc.Name] = true
		if len(named) > 0 && !slices.Contains(named, ifc.Name) {
			continue
		}
		upRunning := ifc.Flags&net.FlagLoopback == 0 && ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagRunning != 0
		if !all && !upRunning {
			continue
		}
		devs = append(devs, ifc.Name)
	}
	for _, n := range named {
		if !exists[n] && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	slices.Reverse(devs)
	return devs, missing, nil
}
