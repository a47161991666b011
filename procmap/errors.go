package procmap

import "errors"

// Why a flow has no owner, besides ErrNotFound. The Accountant (package
// trace) sorts the bytes of such flows into its reason buckets by these.
var (
	// ErrNamespaceUnreachable wraps the failure to locate or enter the
	// flow's network namespace (no process lives in it any more, no file
	// names it, or setns failed).
	ErrNamespaceUnreachable = errors.New("procmap: network namespace not reachable")
	// ErrForwarded says that neither end of the flow lives in a network
	// namespace of this host: the host only forwards it. (The Resolver
	// says more about a forwarded flow: an *EndError, whose Reason the
	// Accountant sorts into the same buckets.)
	ErrForwarded = errors.New("procmap: neither end of the flow is on this host")
)
