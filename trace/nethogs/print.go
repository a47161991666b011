package nethogs

import (
	"net/netip"
	"strconv"
)

// RefreshLine starts each refresh block, after an empty line.
const RefreshLine = "Refreshing:"

const (
	addressPrefix     = "Adding local address: "
	noLinkPrefix      = "No PPP or Ethernet link: "
	unknownConnPrefix = "Unknown connection: "
)

// AppendAddressLine appends the start-up line naming a local address of a
// device: "Adding local address: ADDR".
func AppendAddressLine(b []byte, addr string) []byte {
	return append(append(b, addressPrefix...), addr...)
}

// LinkLine is the start-up line naming the link type of a device, given as
// its pcap link type (DLT) number.
func LinkLine(dlt uint32) string {
	switch dlt {
	case 1: // DLT_EN10MB
		return "Ethernet link detected"
	case 9: // DLT_PPP
		return "PPP link detected"
	case 113: // DLT_LINUX_SLL
		return "Linux Cooked Socket link detected"
	}
	return noLinkPrefix + strconv.FormatUint(uint64(dlt), 10)
}

// AppendProc appends the process row p: NAME/PID/UID<TAB>SENT<TAB>RECV, the
// numbers as FormatValue prints them. ParseLine reads it back.
func AppendProc(b []byte, p Proc) []byte {
	b = append(b, p.Name...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(p.PID), 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(p.UID), 10)
	b = append(b, '\t')
	b = AppendValue(b, p.Sent)
	b = append(b, '\t')
	return AppendValue(b, p.Recv)
}

// AppendConn appends a connection as nethogs names it:
// LOCALIP:LPORT-REMOTEIP:RPORT, IPv6 addresses without brackets (as
// inet_ntop writes them). It is the name of the row of a socket whose
// process is not known, and of the unknown connection lines.
func AppendConn(b []byte, local, remote netip.AddrPort) []byte {
	b = local.Addr().AppendTo(b)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(local.Port()), 10)
	b = append(b, '-')
	b = remote.Addr().AppendTo(b)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(remote.Port()), 10)
}

// ConnName is AppendConn returning a string.
func ConnName(local, remote netip.AddrPort) string {
	var buf [96]byte
	return string(AppendConn(buf[:0], local, remote))
}

// AppendUnknownConn appends the line naming a flow of the unknown TCP row:
// "Unknown connection: LOCALIP:LPORT-REMOTEIP:RPORT".
func AppendUnknownConn(b []byte, local, remote netip.AddrPort) []byte {
	return AppendConn(append(b, unknownConnPrefix...), local, remote)
}
