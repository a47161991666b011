package capture

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// arpHardwareType returns the ARPHRD_* type of interface name.
func arpHardwareType(name string) (uint16, error) {
	ifr, err := ioctlIfreq(name, unix.SIOCGIFHWADDR)
	if err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

// ioctlIfreq runs the interface ioctl req on name and returns its answer.
func ioctlIfreq(name string, req uint) (*unix.Ifreq, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		return nil, fmt.Errorf("ioctl %#x on %q: %w", req, name, err)
	}
	return ifr, nil
}

// stateOf looks interface name up in the current thread's network
// namespace: whether it exists and is up, and its index when it is up.
func stateOf(name string) (linkState, int, error) {
	ifr, err := ioctlIfreq(name, unix.SIOCGIFFLAGS)
	if errors.Is(err, unix.ENODEV) {
		return linkMissing, 0, nil
	}
	if err != nil {
		return linkUnknown, 0, err
	}
	if ifr.Uint16()&unix.IFF_UP == 0 {
		return linkDown, 0, nil
	}
	index, err := ifindexOf(name)
	if errors.Is(err, unix.ENODEV) {
		return linkMissing, 0, nil
	}
	if err != nil {
		return linkUnknown, 0, err
	}
	return linkUp, index, nil
}

// dltOf maps an ARPHRD type to the DLT libpcap reports for it, and says
// whether frames are read without a link header (as raw IP).
func dltOf(arphrd uint16) (LinkType, bool) {
	switch arphrd {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return LinkEthernet, false
	case unix.ARPHRD_NONE, unix.ARPHRD_RAWIP, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_SIT:
		return LinkRaw, true
	}
	// PPP and everything libpcap has no direct mapping for: libpcap falls
	// back to a cooked socket (DLT_LINUX_SLL). We read those links with a
	// SOCK_DGRAM socket, which gives the packet from its network header.
	return LinkLinuxSLL, true
}

// ifindexOf returns the index of interface name.
func ifindexOf(name string) (int, error) {
	ifr, err := ioctlIfreq(name, unix.SIOCGIFINDEX)
	if err != nil {
		return 0, err
	}
	return int(ifr.Uint32()), nil
}
