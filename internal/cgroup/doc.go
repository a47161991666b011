// Package cgroup tells which systemd unit and which container a process
// belongs to, from the text of its /proc/PID/cgroup.
//
// The path is the cgroup v2 one ("0::/system.slice/nginx.service"), or on a
// hybrid or legacy host, where v2's is the root, the v1 name=systemd
// hierarchy's. From its components it derives:
//   - the systemd unit, as systemd itself (and ps -o unit) names it: the
//     first component after the slices, when it is a unit name
//     (nginx.service, user@1000.service, session-3.scope,
//     docker-<id>.scope);
//   - the container runtime and the container's id, from the names the
//     runtimes give their cgroups: docker-<id>.scope and /docker/<id>
//     (Docker, systemd and cgroupfs drivers), libpod-<id>(.scope) and
//     /libpod_parent/libpod-<id> (podman), cri-containerd-<id>.scope and
//     nerdctl-<id>.scope (containerd), crio-<id>(.scope) (CRI-O), and the
//     bare <id> of a Kubernetes pod's cgroupfs layout, whose runtime the
//     path does not name (CRI);
//   - the Kubernetes pod's UID, from kubepods ... pod<UID> in both the
//     cgroupfs spelling (pod8f3c...-...) and the systemd one
//     (kubepods-burstable-pod8f3c..._....slice).
//
// The innermost container wins (a container in a container is the inner
// one). When neither the v2 nor the name=systemd path names a container,
// the v1 controllers' paths are looked at for one, as on a legacy host
// without systemd, where only they hold /docker/<id>.
//
// Parsing is by hand, on bytes the caller read: the text comes from every
// process on the host, and nothing in it is trusted (see the fuzz test).
package cgroup
