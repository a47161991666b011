package capture

import (
	"errors"
	"time"
)

// errTimeout is returned by a source's read when nothing arrived in time.
var errTimeout = errors.New("capture: read timeout")

// source is one opened interface of one backend.
type source interface {
	// read fills fr with the next frame; fr.data is valid until the next
	// call. It returns errTimeout after a short time without packets.
	read(fr *frame) error
	// drops returns the kernel drops since the source was opened.
	drops() uint64
	close()
}

// frame is one captured frame as a source hands it over.
type frame struct {
	data    []byte     // the captured bytes
	ts      time.Time  // when the kernel saw it
	length  int        // its length on the wire
	ifindex int        // the interface it was seen on; 0 if unknown
	ptype   PacketType // the kernel's packet type, or PacketUnknown
}
