package procmap

import (
	"github.com/gohogs/gohogs/internal/cgroup"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/runtimeapi"
)

// readCgroup sets p's cgroup, unit and container from the cgroup file of
// the process behind dir (buf is the buffer: at most cgroup.MaxFile bytes
// of it are read), naming the container from names' cache (nil: no
// names). An unreadable file leaves them empty. It is the one file of a
// process's identity read beyond stat, cmdline and status, once per
// identity read.
func readCgroup(dir procfs.Dir, buf []byte, names *runtimeapi.Namer, p *Process) {
	if len(buf) > cgroup.MaxFile {
		buf = buf[:cgroup.MaxFile]
	}
	b, err := dir.ReadFile("cgroup", buf)
	if err != nil {
		return
	}
	info := cgroup.Read(b)
	p.Cgroup, p.Unit = info.Path, info.Unit
	p.Container = Container{Runtime: info.Runtime, ID: info.ID, PodUID: info.PodUID}
	if names != nil && info.ID != "" {
		p.Container.Name = names.Name(refOf(info))
	}
}

// refOf is the container of info as the runtimes' API is asked for it.
func refOf(info cgroup.Info) runtimeapi.Ref {
	ref := runtimeapi.Ref{Runtime: info.Runtime, ID: info.ID}
	ref.User, ref.Rootless = info.UserManager()
	return ref
}

// ContainerName returns the name of container c as its runtime's API said
// it, "" while it is not known (it is then asked for in the background, at
// most once per Options.ContainerNames retry period): a Process read
// before its container's name was known keeps an empty Container.Name,
// and callers that show it later ask here. It takes no lock of the
// Resolver's, and answers from a cache.
func (r *Resolver) ContainerName(c Container) string {
	if r.names == nil || c.ID == "" {
		return c.Name
	}
	if c.Name != "" {
		return c.Name
	}
	return r.names.Name(runtimeapi.Ref{Runtime: c.Runtime, ID: c.ID})
}
