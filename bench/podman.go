package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/internal/podmantest"
)

// The podman scenario (issue 14): a real container on podman's default
// bridge network, whose runtime masquerades it, uploading to a namespace of
// the suite's own behind the host's namespace. Both monitors run in the
// host's namespace, on the veth to that namespace: the uplink.

// podmanEnv is the image, the peer namespace and its server, made at the
// first use.
type podmanEnv struct {
	pm    *podmantest.Podman
	image string
	peer  *netnstest.HostPeer
}

func (e *env) podmanTopology() (*podmanEnv, error) {
	if e.podman != nil {
		return e.podman, nil
	}
	if err := podmantest.Missing(); err != nil {
		return nil, err
	}
	pm, err := podmantest.Create("gohogs-bench-")
	if err != nil {
		return nil, err
	}
	e.cl.add(func() { e.removed("podman image and containers", pm.Remove()) })
	image, err := pm.CreateImage(nil)
	if err != nil {
		return nil, err
	}
	peer, err := netnstest.CreateHostPeer("gbp")
	if err != nil {
		return nil, err
	}
	e.cl.add(func() { e.removed("host peer namespace", peer.Remove()) })
	if _, err := e.server(peer.NS); err != nil {
		return nil, err
	}
	e.podman = &podmanEnv{pm: pm, image: image, peer: peer}
	return e.podman, nil
}

// podmanBytes is what the container uploads.
const podmanBytes = 20_000_000

func podmanUpload() *scenario {
	return &scenario{
		name:  "container-podman",
		title: "A podman container behind its runtime's NAT, upload out",
		desc: fmt.Sprintf("`podman --runtime runc run` of a busybox image imported from a directory (no registry), on podman's default "+
			"bridge network (masquerade): `busybox nc` uploads %d MB of zeros to the server in a namespace of the suite's own "+
			"behind the host's namespace, routed there. Both monitors run `-t -C -d 1 -v 2` in the host's namespace on the veth to "+
			"that namespace (the uplink). Truth: its frame counters (tx + rx). \"credited to nc\" is the rows named busybox "+
			"(the container's nc) over those bytes. One run of the container each time.", podmanBytes/1_000_000),
		place: onVeth,
		spot: func(e *env) (spot, error) {
			pe, err := e.podmanTopology()
			if err != nil {
				return spot{}, err
			}
			return spot{ns: "", ifc: pe.peer.IfHost, tick: net.JoinHostPort(pe.peer.AddrPeer4.String(), strconv.Itoa(portUDP))}, nil
		},
		view: "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			pe := e.podman
			// Removed when it exits, or by pe.pm.Remove at cleanup.
			_, cmd := pe.pm.Interactive(pe.image, "/bin/sh", "-c", fmt.Sprintf("busybox head -c %d /dev/zero | busybox nc %s %d",
				podmanBytes, pe.peer.AddrPeer4, portDiscard))
			out := &output{}
			cmd.Stdout, cmd.Stderr = out, out
			start := time.Now()
			if err := cmd.Start(); err != nil {
				return nil, fmt.Errorf("podman run: %w", err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					return nil, fmt.Errorf("podman run: %w: %s", err, out.String())
				}
			case <-time.After(90 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				return nil, fmt.Errorf("podman run: still running after 90 s: %s", out.String())
			case <-e.ctx.Done():
				_ = cmd.Process.Kill()
				<-done
				return nil, e.ctx.Err()
			}
			return &traffic{secs: time.Since(start).Seconds()}, nil
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			shareMetrics(r, s, "credited to nc in the container / wire bytes", 0.95, func(r row) bool { return r.Name == "busybox" })
			commonMetrics(r, s, run)
		},
	}
}
