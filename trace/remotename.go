package trace

// RemoteNamer names the remote ends of connections, from the DNS answers
// the host received (the gohogs Monitor's, with Options.RemoteNames).
type RemoteNamer interface {
	// RemoteName returns the name c's remote end was resolved from, ""
	// when unknown; it must answer at once (from memory).
	RemoteName(c Conn) string
}

// nameRemotes fills in the rows' connections' RemoteName; it runs after
// Refresh let go of the lock, once per connection.
func (a *Accountant) nameRemotes(rows []Row) {
	n := a.cfg.RemoteNames
	if n == nil {
		return
	}
	for i := range rows {
		for j := range rows[i].Conns {
			c := &rows[i].Conns[j]
			c.RemoteName = n.RemoteName(*c)
		}
	}
}
