package report

import "strings"

// ids numbers the processes and the groups seen, so that cells and members
// hold small integers. A Report has one; each worker reading a JSON log
// has one of its own, renumbered into the report's when the log is merged.
type ids struct {
	by         GroupBy
	procs      []procKey
	procIndex  map[procKey]int32
	groups     []groupKey
	groupIndex map[groupKey]int32
	procGroup  []int32 // proc -> 1 + its group, for the groupings that follow from the process
}

func newIDs(by GroupBy) ids {
	return ids{by: by, procIndex: make(map[procKey]int32), groupIndex: make(map[groupKey]int32)}
}

// procOf returns the index of the process, adding it when new.
func (r *ids) procOf(name string, pid int, uid uint32) int32 {
	k := procKey{name, pid, uid}
	if i, ok := r.procIndex[k]; ok {
		return i
	}
	k.name = strings.Clone(name) // name may point into the input's buffer
	i := int32(len(r.procs))
	r.procs = append(r.procs, k)
	r.procIndex[k] = i
	return i
}

// groupOf returns the index of group k, adding it when new.
func (r *ids) groupOf(k groupKey) int32 {
	if i, ok := r.groupIndex[k]; ok {
		return i
	}
	i := int32(len(r.groups))
	r.groups = append(r.groups, k)
	r.groupIndex[k] = i
	return i
}

// procGroup returns the group of a process's row in the groupings that
// follow from the process (name, pid, user).
func (r *ids) procGroupOf(proc int32) int32 {
	if int(proc) < len(r.procGroup) && r.procGroup[proc] > 0 {
		return r.procGroup[proc] - 1
	}
	pk := r.procs[proc]
	var gk groupKey
	switch r.by {
	case ByPID:
		gk = groupKey{name: pk.name, pid: pk.pid, uid: int64(pk.uid)}
	case ByUser:
		gk = groupKey{uid: int64(pk.uid)}
		if pk.pid == 0 {
			gk.uid = -1
		}
	default:
		gk = groupKey{name: pk.name, uid: -1}
	}
	g := r.groupOf(gk)
	for int(proc) >= len(r.procGroup) {
		r.procGroup = append(r.procGroup, 0)
	}
	r.procGroup[proc] = g + 1
	return g
}

// placeholder returns the group of the rows without the fact grouped by.
func (r *ids) placeholder(label string) int32 {
	gk := groupKey{uid: -1}
	switch r.by {
	case ByUnit:
		gk.unit = label
	case ByContainer:
		gk.container.Name = label
	default:
		gk.remote = label
	}
	return r.groupOf(gk)
}
