// Package dnstest is a DNS server for tests: it answers A and AAAA
// questions from a fixed zone of A, AAAA and CNAME records, over UDP and
// TCP, inside a network namespace a test made (internal/netnstest), as a
// resolver the test's client is pointed at. Messages are built and read
// with gopacket's layers.DNS: another implementation than the one gohogs
// decodes answers with (x/net's dnsmessage), so that each checks the other.
package dnstest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// Record is one record of a zone: a CNAME (Target set) or an address (A
// for an IPv4 Addr, AAAA for an IPv6 one).
type Record struct {
	Name   string
	Target string
	Addr   netip.Addr
	TTL    uint32
}

// Reply returns the answer to a question for name of type qtype (A or
// AAAA) from zone, with id: the CNAME chain from name, then the records
// of its end of that type; NXDOMAIN when name is not in zone.
func Reply(id uint16, name string, qtype layers.DNSType, zone []Record) *layers.DNS {
	m := &layers.DNS{ID: id, QR: true, OpCode: layers.DNSOpCodeQuery, RD: true, RA: true,
		Questions: []layers.DNSQuestion{{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN}}}
	cur, found := name, false
	for range 8 {
		next := ""
		for _, r := range zone {
			if strings.EqualFold(r.Name, cur) && r.Target != "" {
				m.Answers = append(m.Answers, layers.DNSResourceRecord{Name: []byte(r.Name), Type: layers.DNSTypeCNAME,
					Class: layers.DNSClassIN, TTL: r.TTL, CNAME: []byte(r.Target)})
				next = r.Target
			}
		}
		if next == "" {
			break
		}
		cur = next
	}
	for _, r := range zone {
		if !strings.EqualFold(r.Name, cur) || !r.Addr.IsValid() {
			continue
		}
		found = true
		typ := layers.DNSTypeA
		if r.Addr.Is6() {
			typ = layers.DNSTypeAAAA
		}
		if typ == qtype {
			m.Answers = append(m.Answers, layers.DNSResourceRecord{Name: []byte(r.Name), Type: typ,
				Class: layers.DNSClassIN, TTL: r.TTL, IP: r.Addr.AsSlice()})
		}
	}
	if !found && len(m.Answers) == 0 {
		m.ResponseCode = layers.DNSResponseCodeNXDomain
	}
	return m
}

// Bytes serializes a message.
func Bytes(m *layers.DNS) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := m.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		return nil, fmt.Errorf("serialize DNS message: %w", err)
	}
	return buf.Bytes(), nil
}

// Server answers from a zone on UDP and TCP port 53 of one address.
type Server struct {
	// Addr is where it listens.
	Addr    netip.AddrPort
	zone    []Record
	udp     net.PacketConn
	tcp     net.Listener
	wg      sync.WaitGroup
	queries atomic.Int64
}

// Serve starts a server on addr port 53 inside namespace ns (created with
// netnstest) answering from zone, and stops it when t ends.
func Serve(t testing.TB, ns string, addr netip.Addr, zone []Record) *Server {
	t.Helper()
	s := &Server{Addr: netip.AddrPortFrom(addr, 53), zone: zone}
	err := netnstest.Do(ns, func() (err error) {
		if s.udp, err = net.ListenPacket("udp", s.Addr.String()); err != nil {
			return err
		}
		s.tcp, err = net.Listen("tcp", s.Addr.String())
		return err
	})
	if err != nil {
		if s.udp != nil {
			s.udp.Close()
		}
		t.Fatalf("dnstest: listen on %v in %s: %v", s.Addr, ns, err)
	}
	s.wg.Go(s.serveUDP)
	s.wg.Go(s.serveTCP)
	t.Cleanup(func() {
		s.udp.Close()
		s.tcp.Close()
		s.wg.Wait()
	})
	return s
}

// Queries is how many questions the server answered.
func (s *Server) Queries() int64 { return s.queries.Load() }

// answer returns the reply to a query message, or nil.
func (s *Server) answer(q []byte) []byte {
	var m layers.DNS
	if err := m.DecodeFromBytes(q, gopacket.NilDecodeFeedback); err != nil || m.QR || len(m.Questions) != 1 {
		return nil
	}
	b, err := Bytes(Reply(m.ID, string(m.Questions[0].Name), m.Questions[0].Type, s.zone))
	if err != nil {
		return nil
	}
	s.queries.Add(1)
	return b
}

func (s *Server) serveUDP() {
	buf := make([]byte, 65536)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if r := s.answer(buf[:n]); r != nil {
			s.udp.WriteTo(r, from)
		}
	}
}

func (s *Server) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for {
				var n [2]byte
				if _, err := io.ReadFull(c, n[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(n[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				r := s.answer(q)
				if r == nil {
					return
				}
				// The length and the message are written apart: two
				// segments (Go sets TCP_NODELAY), which a watcher joins.
				if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(r)))); err != nil {
					return
				}
				if _, err := c.Write(r); err != nil {
					return
				}
			}
		})
	}
}

// Resolver returns a Go resolver that asks s, over TCP if tcp is set, else
// over UDP, from inside namespace ns (the client's, made with netnstest).
func (s *Server) Resolver(ns string, tcp bool) *net.Resolver {
	network := "udp"
	if tcp {
		network = "tcp"
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (c net.Conn, err error) {
		err = netnstest.Do(ns, func() (err error) {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, s.Addr.String())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("dnstest: dial the server: %w", err)
		}
		return c, nil
	}}
}
