package ctlookup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// ctnetlink's message and attribute numbers
// (<linux/netfilter/nfnetlink_conntrack.h>).
const (
	ctMsgNew = 0 // IPCTNL_MSG_CT_NEW: a reply's entry
	ctMsgGet = 1 // IPCTNL_MSG_CT_GET

	ctaTupleOrig  = 1 // CTA_TUPLE_ORIG
	ctaTupleReply = 2 // CTA_TUPLE_REPLY

	ctaTupleIP    = 1 // CTA_TUPLE_IP
	ctaTupleProto = 2 // CTA_TUPLE_PROTO

	ctaIPv4Src = 1 // CTA_IP_V4_SRC
	ctaIPv4Dst = 2 // CTA_IP_V4_DST
	ctaIPv6Src = 3 // CTA_IP_V6_SRC
	ctaIPv6Dst = 4 // CTA_IP_V6_DST

	ctaProtoNum        = 1 // CTA_PROTO_NUM
	ctaProtoSrcPort    = 2 // CTA_PROTO_SRC_PORT
	ctaProtoDstPort    = 3 // CTA_PROTO_DST_PORT
	ctaProtoICMPID     = 4 // CTA_PROTO_ICMP_ID
	ctaProtoICMPType   = 5 // CTA_PROTO_ICMP_TYPE
	ctaProtoICMPCode   = 6 // CTA_PROTO_ICMP_CODE
	ctaProtoICMPv6ID   = 7 // CTA_PROTO_ICMPV6_ID
	ctaProtoICMPv6Type = 8 // CTA_PROTO_ICMPV6_TYPE
	ctaProtoICMPv6Code = 9 // CTA_PROTO_ICMPV6_CODE

	nfgenLen = 4 // struct nfgenmsg
	attrHdr  = 4 // struct nlattr
	// maxRequest is the longest request: the headers and an IPv6 tuple
	// (an echo's: the protocol, the identifier, the type and the code).
	maxRequest = unix.NLMSG_HDRLEN + nfgenLen + attrHdr + (attrHdr + 2*(attrHdr+16)) + (attrHdr + 4*(attrHdr+4))
)

// errNoEntry is the kernel's answer for a tuple of no connection.
var errNoEntry = errors.New("ctlookup: no such connection")

// appendRequest appends to b the request for the entry that has tuple t
// of protocol proto; the kernel answers one message: the entry, or an
// error.
func appendRequest(b []byte, seq uint32, proto uint8, t Tuple) []byte {
	family := byte(unix.AF_INET6)
	srcType, dstType := uint16(ctaIPv6Src), uint16(ctaIPv6Dst)
	var src, dst []byte
	s16, d16 := t.Src.Addr().As16(), t.Dst.Addr().As16()
	src, dst = s16[:], d16[:]
	if t.Src.Addr().Is4() {
		family, srcType, dstType = unix.AF_INET, ctaIPv4Src, ctaIPv4Dst
		src, dst = s16[12:], d16[12:]
	}
	start := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set below
	b = binary.NativeEndian.AppendUint16(b, unix.NFNL_SUBSYS_CTNETLINK<<8|ctMsgGet)
	b = binary.NativeEndian.AppendUint16(b, unix.NLM_F_REQUEST)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id
	b = append(b, family, 0, 0, 0)             // nfgenmsg: family, version 0, res_id 0
	tuple := len(b)
	b = appendAttr(b, ctaTupleOrig|unix.NLA_F_NESTED, nil)
	ip := len(b)
	b = appendAttr(b, ctaTupleIP|unix.NLA_F_NESTED, nil)
	b = appendAttr(b, srcType, src)
	b = appendAttr(b, dstType, dst)
	b = endNested(b, ip)
	pr := len(b)
	b = appendAttr(b, ctaTupleProto|unix.NLA_F_NESTED, nil)
	b = appendAttr(b, ctaProtoNum, []byte{proto})
	var port [2]byte
	if isICMP(proto) {
		// An echo: the identifier and the type, the request's when the
		// identifier is the source's port, the reply's when the
		// destination's; code 0.
		id, reply := t.Src.Port(), t.Src.Port() == 0
		if reply {
			id = t.Dst.Port()
		}
		idAttr, typeAttr, codeAttr := uint16(ctaProtoICMPID), uint16(ctaProtoICMPType), uint16(ctaProtoICMPCode)
		if proto == unix.IPPROTO_ICMPV6 {
			idAttr, typeAttr, codeAttr = ctaProtoICMPv6ID, ctaProtoICMPv6Type, ctaProtoICMPv6Code
		}
		typ := echoType(proto, reply)
		binary.BigEndian.PutUint16(port[:], id)
		b = appendAttr(b, idAttr, port[:])
		b = appendAttr(b, typeAttr, []byte{typ})
		b = appendAttr(b, codeAttr, []byte{0})
	} else {
		binary.BigEndian.PutUint16(port[:], t.Src.Port())
		b = appendAttr(b, ctaProtoSrcPort, port[:])
		binary.BigEndian.PutUint16(port[:], t.Dst.Port())
		b = appendAttr(b, ctaProtoDstPort, port[:])
	}
	b = endNested(b, pr)
	b = endNested(b, tuple)
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// echoType is the ICMP (or ICMPv6, by proto) type of an echo request, or
// of its reply.
func echoType(proto uint8, reply bool) byte {
	switch {
	case proto == unix.IPPROTO_ICMPV6 && reply:
		return 129
	case proto == unix.IPPROTO_ICMPV6:
		return 128
	case reply:
		return 0
	}
	return 8
}

// isICMP says whether proto is ICMP or ICMPv6, whose tuples carry an
// echo's identifier and type instead of ports.
func isICMP(proto uint8) bool { return proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6 }

// appendAttr appends an attribute and pads it to 4 bytes.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(attrHdr+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// endNested sets the length of the nested attribute that starts at at.
func endNested(b []byte, at int) []byte {
	binary.NativeEndian.PutUint16(b[at:], uint16(len(b)-at))
	return b
}

// parseReply reads the netlink messages of one datagram; done is set once
// the answer to request seq is in it: the entry, or errNoEntry, or another
// error. It allocates nothing.
func parseReply(r []byte, seq uint32) (e Entry, done bool, err error) {
	for len(r) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(r[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(r) {
			return Entry{}, true, errors.New("ctlookup: bad message length")
		}
		typ := binary.NativeEndian.Uint16(r[4:])
		mseq := binary.NativeEndian.Uint32(r[8:])
		data := r[unix.NLMSG_HDRLEN:l]
		r = r[min((l+3)&^3, len(r)):]
		if mseq != seq {
			continue // the answer to an earlier request that timed out
		}
		switch typ {
		case unix.NLMSG_ERROR:
			if len(data) < 4 {
				return Entry{}, true, errors.New("ctlookup: short error message")
			}
			errno := -int32(binary.NativeEndian.Uint32(data))
			if errno == int32(unix.ENOENT) {
				return Entry{}, true, errNoEntry
			}
			return Entry{}, true, fmt.Errorf("ctlookup: %w", unix.Errno(errno))
		case unix.NFNL_SUBSYS_CTNETLINK<<8 | ctMsgNew:
			e, err := parseEntry(data)
			return e, true, err
		}
	}
	return Entry{}, false, nil
}

// parseEntry decodes the two tuples of an entry message (nfgenmsg and
// attributes).
func parseEntry(b []byte) (Entry, error) {
	if len(b) < nfgenLen {
		return Entry{}, errors.New("ctlookup: short entry")
	}
	var e Entry
	var seen uint8
	err := walk(b[nfgenLen:], func(typ uint16, v []byte) error {
		switch typ {
		case ctaTupleOrig, ctaTupleReply:
			t, err := parseTuple(v)
			if err != nil {
				return err
			}
			if typ == ctaTupleOrig {
				e.Orig = t
			} else {
				e.Reply = t
			}
			seen |= 1 << typ
		}
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	if seen != 1<<ctaTupleOrig|1<<ctaTupleReply {
		return Entry{}, errors.New("ctlookup: entry without both tuples")
	}
	return e, nil
}

// parseTuple decodes a CTA_TUPLE_* attribute's payload.
func parseTuple(b []byte) (Tuple, error) {
	var src, dst netip.Addr
	var sport, dport uint16
	var ports uint8
	err := walk(b, func(typ uint16, v []byte) error {
		switch typ {
		case ctaTupleIP:
			return walk(v, func(typ uint16, v []byte) error {
				switch {
				case (typ == ctaIPv4Src || typ == ctaIPv4Dst) && len(v) == 4:
					a := netip.AddrFrom4([4]byte(v))
					if typ == ctaIPv4Src {
						src = a
					} else {
						dst = a
					}
				case (typ == ctaIPv6Src || typ == ctaIPv6Dst) && len(v) == 16:
					a := netip.AddrFrom16([16]byte(v)).Unmap()
					if typ == ctaIPv6Src {
						src = a
					} else {
						dst = a
					}
				}
				return nil
			})
		case ctaTupleProto:
			var id uint16
			var icmpType byte
			var icmp uint8
			err := walk(v, func(typ uint16, v []byte) error {
				switch {
				case (typ == ctaProtoSrcPort || typ == ctaProtoDstPort) && len(v) == 2:
					if typ == ctaProtoSrcPort {
						sport = binary.BigEndian.Uint16(v)
					} else {
						dport = binary.BigEndian.Uint16(v)
					}
					ports++
				case (typ == ctaProtoICMPID || typ == ctaProtoICMPv6ID) && len(v) == 2:
					id = binary.BigEndian.Uint16(v)
					icmp |= 1
				case (typ == ctaProtoICMPType || typ == ctaProtoICMPv6Type) && len(v) == 1:
					icmpType = v[0]
					icmp |= 2
				}
				return nil
			})
			if icmp == 3 {
				// An echo's identifier is the port of the side that sent
				// the request: the source of a request, the destination
				// of a reply (as Lookup takes it).
				sport, dport, ports = id, 0, 2
				if icmpType == echoType(unix.IPPROTO_ICMP, true) || icmpType == echoType(unix.IPPROTO_ICMPV6, true) {
					sport, dport = 0, id
				}
			}
			return err
		}
		return nil
	})
	if err != nil {
		return Tuple{}, err
	}
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() || ports != 2 {
		return Tuple{}, errors.New("ctlookup: incomplete tuple")
	}
	return Tuple{Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(dst, dport)}, nil
}

// walk calls fn for each netlink attribute in b (its type without the
// nested and byte-order flags, and its payload).
func walk(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) >= attrHdr {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < attrHdr || l > len(b) {
			return errors.New("ctlookup: bad attribute length")
		}
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if err := fn(typ, b[attrHdr:l]); err != nil {
			return err
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return nil
}
