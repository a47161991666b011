// Package username names user ids for display (the USER column, the user
// label of the metrics): the name in the user database, or the uid in
// decimal when it has none. Lookups go through os/user and can be slow
// (NSS, LDAP), so the views keep a Cache.
package username

import (
	"os/user"
	"strconv"
)

// Lookup returns the user name of uid from the user database, or the uid in
// decimal when it has none.
func Lookup(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return u.Username
	}
	return id
}

// Cache remembers the names a lookup function gave. It is not safe for
// concurrent use.
type Cache struct {
	lookup func(uint32) string
	names  map[uint32]string
}

// NewCache returns a Cache asking lookup, or Lookup when lookup is nil.
func NewCache(lookup func(uid uint32) string) *Cache {
	if lookup == nil {
		lookup = Lookup
	}
	return &Cache{lookup: lookup, names: make(map[uint32]string)}
}

// Name returns the name of uid, asking the lookup function the first time.
func (c *Cache) Name(uid uint32) string {
	n, ok := c.names[uid]
	if !ok {
		n = c.lookup(uid)
		c.names[uid] = n
	}
	return n
}
