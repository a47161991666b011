package trace

import "github.com/gohogs/gohogs/procmap"

// ContainerNamer is implemented by a Resolver that learns container names
// after it read the processes (*procmap.Resolver, with
// procmap.Options.ContainerNames): a row whose container had no name when
// its process was read gets it at a later refresh.
type ContainerNamer interface {
	// ContainerName returns c's name, "" while unknown; it must answer
	// at once (from a cache).
	ContainerName(c procmap.Container) string
}

// nameContainers fills in the names of the rows' containers that the
// Resolver has learnt since their processes were read; it runs after
// Refresh let go of the lock, once per container row.
func (a *Accountant) nameContainers(rows []Row) {
	n, ok := a.cfg.Resolver.(ContainerNamer)
	if !ok {
		return
	}
	for i := range rows {
		if c := &rows[i].Container; c.ID != "" && c.Name == "" {
			c.Name = n.ContainerName(*c)
		}
	}
}
