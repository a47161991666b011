package report

import (
	"math/rand/v2"
	"testing"
)

// TestAggStorage: cells found again by group and bucket whatever the order
// they came in, over several pages, after merges (renumbered or not) and in
// a clone; members counted once each, the first in the cell, the rest in
// the map.
func TestAggStorage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type key struct {
		g int32
		b int64
	}
	want := map[key]float64{}
	wantMembers := map[key]map[int32]bool{}
	a, b := newAgg(), newAgg()
	for i := range 3 * cellPage {
		k := key{int32(rng.IntN(300)), int64(rng.IntN(40)) * 60e9}
		into := a
		if i%3 == 0 {
			into = b
		}
		c := into.cellOf(k.g, k.b)
		into.cell(c).sent += float64(i)
		p := int32(rng.IntN(4))
		into.addMember(c, p)
		want[k] += float64(i)
		if wantMembers[k] == nil {
			wantMembers[k] = map[int32]bool{}
		}
		wantMembers[k][p] = true
	}
	a.merge(b)
	c := a.clone()
	for _, x := range []*agg{a, c} {
		if x.n != int32(len(want)) {
			t.Fatalf("%d cells, want %d", x.n, len(want))
		}
		counts := x.memberCounts()
		for k, sent := range want {
			i := x.cellOf(k.g, k.b)
			if got := x.cell(i); got.sent != sent || got.group != k.g || got.bucket != k.b || int(counts[i]) != len(wantMembers[k]) {
				t.Fatalf("cell %+v: %+v with %d members, want %v and %d", k, *got, counts[i], sent, len(wantMembers[k]))
			}
		}
		for g, l := range x.byGroup {
			for j := 1; j < len(l); j++ {
				if l[j-1].bucket >= l[j].bucket {
					t.Fatalf("group %d out of order: %v", g, l)
				}
			}
		}
	}
	// Renumbered: group g becomes 1000+g, process p 10+p.
	d := newAgg()
	d.cellOf(5, 0)
	groups, procs := make([]int32, 300), make([]int32, 4)
	for i := range groups {
		groups[i] = 1000 + int32(i)
	}
	for i := range procs {
		procs[i] = 10 + int32(i)
	}
	d.mergeMapped(a, groups, procs)
	for k, sent := range want {
		i := d.cellOf(1000+k.g, k.b)
		if d.cell(i).sent != sent || d.cell(i).proc1 < 11 {
			t.Fatalf("renumbered %+v: %+v", k, *d.cell(i))
		}
	}
}
